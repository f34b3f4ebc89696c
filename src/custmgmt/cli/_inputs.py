"""What the analyst commands share: reading orders, time options, writing CSVs safely.

``rate``, ``segment`` and ``clv`` take the same input: an orders CSV (columns documented
in :meth:`custmgmt.analytics.frames.OrderFrame.from_csv`) or ``--db PATH`` for an SQLite
store, with ``--as-of``, ``--currency`` and ``--tz``. Defining the options and their
checks once keeps the commands consistent: the same option means the same thing.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import os
import tempfile
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from custmgmt.errors import ValidationError

if TYPE_CHECKING:
    from custmgmt.adapters.sqlite import SQLiteStore
    from custmgmt.analytics.frames import InteractionFrame, OrderFrame

__all__ = [
    "add_order_source_arguments",
    "as_of_or_now",
    "check_top",
    "frames_from_store",
    "open_existing_store",
    "orders_from_csv",
    "parse_as_of",
    "write_csv_atomically",
    "zone",
]


def add_order_source_arguments(parser: argparse.ArgumentParser, *, as_of_help: str) -> None:
    """Add ``ORDERS.csv``, ``--as-of``, ``--currency``, ``--tz`` and ``--db`` to ``parser``."""
    parser.add_argument("orders", nargs="?", metavar="ORDERS.csv", help="the orders CSV file")
    parser.add_argument("--as-of", metavar="DATE", help=as_of_help)
    parser.add_argument("--currency", default="CNY", help="the currency (default: CNY)")
    parser.add_argument(
        "--tz", default="Asia/Shanghai", help="timezone of naive times (default: Asia/Shanghai)"
    )
    parser.add_argument("--db", metavar="PATH", help="read the orders of this SQLite store")


def zone(name: str) -> ZoneInfo:
    """``--tz`` as a time zone.

    Raises:
        ValidationError: not an IANA time zone name.
    """
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError("--tz", name, "an IANA time zone such as 'Asia/Shanghai'") from None


def parse_as_of(text: str, tz: ZoneInfo, *, option: str = "--as-of") -> datetime:
    """A date means the end of that day in ``tz``; naive datetimes are in ``tz``.

    >>> parse_as_of("2026-03-31", ZoneInfo("Asia/Shanghai")).isoformat()
    '2026-03-31T23:59:59.999999+08:00'

    Raises:
        ValidationError: the text is neither an ISO date nor an ISO datetime.
    """
    try:
        if len(text.strip()) == 10:
            day = date.fromisoformat(text.strip())
            return datetime.combine(day, time.max, tzinfo=tz)
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValidationError(option, text, "an ISO date (2026-03-31) or datetime") from None
    return value if value.tzinfo is not None else value.replace(tzinfo=tz)


def as_of_or_now(args: argparse.Namespace, tz: ZoneInfo) -> datetime:
    """``--as-of`` if given, else the system clock's now (the one place a command reads it)."""
    from custmgmt.domain import SystemClock

    return parse_as_of(args.as_of, tz) if args.as_of is not None else SystemClock(tz).now()


def check_top(args: argparse.Namespace) -> None:
    """Refuse a negative ``--top``."""
    if args.top < 0:
        raise ValidationError("--top", args.top, "a non-negative number")


def open_existing_store(path: str | Path) -> SQLiteStore:
    """Open ``--db``, refusing to create a new empty database by a typo.

    Raises:
        ValidationError: no file at ``path``.
    """
    from custmgmt.adapters.sqlite import SQLiteStore

    if not Path(path).exists():
        raise ValidationError("--db", str(path), "an existing SQLite store")
    return SQLiteStore(path)


def orders_from_csv(args: argparse.Namespace, tz: ZoneInfo) -> tuple[OrderFrame, datetime]:
    """Read ``ORDERS.csv``; ``--as-of`` defaults to the last order in the file.

    Raises:
        ValidationError: no CSV given, a CSV together with ``--db``, a malformed row
            (naming line, column and value), or an empty file without ``--as-of``.
    """
    from custmgmt.analytics.frames import OrderFrame
    from custmgmt.domain.time import from_epoch_micros

    if args.orders is None:
        raise ValidationError("ORDERS.csv", None, "a CSV file of orders (or --db PATH)")
    frame = OrderFrame.from_csv(args.orders, currency=args.currency, tz=args.tz)
    if args.as_of is not None:
        return frame, parse_as_of(args.as_of, tz)
    if len(frame):
        return frame, from_epoch_micros(int(frame.placed_at.max()), tz)
    raise ValidationError("ORDERS.csv", args.orders, "at least one order (or --as-of)")


def frames_from_store(
    args: argparse.Namespace, tz: ZoneInfo, *, interactions: bool
) -> tuple[OrderFrame, InteractionFrame | None, datetime]:
    """Read the orders (and interactions) of ``--db`` as of ``--as-of`` or now.

    Raises:
        ValidationError: a CSV given too, or no store at ``--db``.
    """
    from custmgmt.analytics.frames import InteractionFrame, OrderFrame

    if args.orders is not None:
        raise ValidationError("ORDERS.csv", args.orders, "no CSV file together with --db")
    as_of = as_of_or_now(args, tz)
    store = open_existing_store(args.db)
    try:
        orders = OrderFrame.from_store(store, currency=args.currency, as_of=as_of)
        found = (
            InteractionFrame.from_store(store, as_of=as_of, customer_index=orders)
            if interactions
            else None
        )
    finally:
        store.close()
    return orders, found, as_of


def write_csv_atomically(
    path: str | os.PathLike[str], header: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """Write a CSV so that readers see the old file or the complete new one, never a part.

    The rows go to a temporary file beside ``path``, renamed over it only when complete;
    on any failure the temporary file is removed and an older file stays untouched.

    Raises:
        ValidationError: the directory cannot be written.
    """
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    try:
        handle, temp = tempfile.mkstemp(prefix=f".{target.name}.", dir=directory)
    except OSError as exc:
        raise ValidationError("--out", str(path), f"a writable location ({exc})") from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            writer = csv.writer(stream)
            writer.writerow(header)
            writer.writerows(rows)
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
