"""``custmgmt rate``: star ratings for analysts, from a CSV of orders or a store.

The CSV has a header row with the columns ``customer_id``, ``placed_at`` (ISO date or
datetime; naive values are in ``--tz``) and ``amount`` (major units, e.g. ``199.90``);
optional ``order_id``, ``currency``, ``category``, ``status``, ``returned_amount``,
``channel``. The command prints the star distribution and the top customers with
their explanations, and with ``--out`` writes one row per customer (id, score,
stars, each criterion's contribution). A malformed row is an error naming its line,
column and value; nothing is written then (outputs are written to a temporary file
and renamed into place only when complete).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import os
import tempfile
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from custmgmt.errors import ValidationError

__all__ = ["parse_as_of", "print_rating", "register", "run", "write_stars_csv"]


def register(subparsers: Any) -> None:
    """Add the ``rate`` command."""
    parser = subparsers.add_parser(
        "rate",
        help="rate customers with stars from a CSV of orders (or a store with --db)",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    parser.add_argument("orders", nargs="?", metavar="ORDERS.csv", help="the orders CSV file")
    parser.add_argument(
        "--as-of",
        metavar="DATE",
        help="rate as of this ISO date (its end) or datetime; naive values are in --tz "
        "(default: the last order in the file; with --db: now)",
    )
    parser.add_argument("--policy", metavar="POLICY.json", help="a rating policy as JSON")
    parser.add_argument("--currency", default="CNY", help="the currency (default: CNY)")
    parser.add_argument(
        "--tz", default="Asia/Shanghai", help="timezone of naive times (default: Asia/Shanghai)"
    )
    parser.add_argument("--out", metavar="STARS.csv", help="write one row per customer here")
    parser.add_argument("--top", type=int, default=10, help="how many top customers to show")
    parser.add_argument("--db", metavar="PATH", help="rate the customers of this SQLite store")
    parser.add_argument(
        "--save", action="store_true", help="with --db: keep the run in the store's ratings"
    )
    parser.set_defaults(func=run)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError("--tz", name, "an IANA time zone such as 'Asia/Shanghai'") from None


def parse_as_of(text: str, tz: ZoneInfo) -> datetime:
    """``--as-of``: a date means the end of that day in ``tz``; naive times are in ``tz``.

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
        raise ValidationError("--as-of", text, "an ISO date (2026-03-31) or datetime") from None
    return value if value.tzinfo is not None else value.replace(tzinfo=tz)


def _policy(path: str | None) -> Any:
    from custmgmt.rating import RatingPolicy

    if path is None:
        return RatingPolicy.default()
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError("--policy", path, f"a readable UTF-8 JSON file ({exc})") from None
    return RatingPolicy.from_json(text)


def run(args: argparse.Namespace) -> int:
    """Rate, print, and write ``--out`` when asked."""
    import sys

    from custmgmt.analytics.features import customer_features
    from custmgmt.analytics.frames import OrderFrame
    from custmgmt.domain.time import from_epoch_micros

    zone = _zone(args.tz)
    policy = _policy(args.policy)
    if args.top < 0:
        raise ValidationError("--top", args.top, "a non-negative number")
    if args.db is not None:
        if args.orders is not None:
            raise ValidationError("ORDERS.csv", args.orders, "no CSV file together with --db")
        rating = _rate_db(args, policy, zone)
    else:
        if args.orders is None:
            raise ValidationError("ORDERS.csv", None, "a CSV file of orders (or --db PATH)")
        if args.save:
            raise ValidationError("--save", True, "--save only with --db")
        frame = OrderFrame.from_csv(args.orders, currency=args.currency, tz=args.tz)
        if args.as_of is not None:
            as_of = parse_as_of(args.as_of, zone)
        elif len(frame):
            as_of = from_epoch_micros(int(frame.placed_at.max()), zone)
        else:
            raise ValidationError("ORDERS.csv", args.orders, "at least one order (or --as-of)")
        features = customer_features(frame, as_of=as_of, features=list(policy.features))
        rating = policy.rate(features, as_of=as_of)
    if args.out is not None:
        write_stars_csv(rating, args.out)
    print_rating(rating, sys.stdout, top=args.top)
    if args.out is not None:
        print(f"wrote {len(rating)} customers to {args.out}")
    return 0


def _rate_db(args: argparse.Namespace, policy: Any, zone: ZoneInfo) -> Any:
    from custmgmt.adapters.sqlite import SQLiteStore
    from custmgmt.domain import SystemClock
    from custmgmt.rating.services import rate_store

    if not Path(args.db).exists():
        raise ValidationError("--db", args.db, "an existing SQLite store")
    clock = SystemClock(zone)
    as_of = parse_as_of(args.as_of, zone) if args.as_of is not None else clock.now()
    store = SQLiteStore(args.db)
    try:
        rating, run = rate_store(
            store, policy, as_of=as_of, currency=args.currency, created_at=clock.now(),
            save=args.save,
        )
    finally:
        store.close()
    if run is not None:
        print(f"saved run {run.id}")
    return rating


def print_rating(rating: Any, out: TextIO, *, top: int = 10) -> None:
    """Print the star distribution and the ``top`` customers with explanations."""
    total = max(len(rating), 1)
    out.write(f"{len(rating)} customers rated as of {rating.as_of.isoformat()}\n")
    for stars, count in sorted(rating.distribution().items(), reverse=True):
        bar = "★" * stars + "☆" * (rating.policy.levels - stars)
        out.write(f"  {bar}  {count:>8}  {100 * count / total:5.1f}%\n")
    if top:
        out.write(f"top {min(top, len(rating))} customers:\n")
        for explanation in rating.top(top):
            out.write(f"  {explanation}\n")


def write_stars_csv(rating: Any, path: str | os.PathLike[str]) -> None:
    """Write one row per customer (id, score, stars, contributions), atomically.

    The rows go to a temporary file beside ``path`` that is renamed over it only when
    complete, so a failure leaves no partial file (and an older file untouched).

    Raises:
        ValidationError: the directory cannot be written.
    """
    target = Path(path)
    names = list(rating.contributions)
    directory = target.parent if str(target.parent) else Path(".")
    try:
        handle, temp = tempfile.mkstemp(prefix=f".{target.name}.", dir=directory)
    except OSError as exc:
        raise ValidationError("--out", str(path), f"a writable location ({exc})") from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            writer = csv.writer(stream)
            writer.writerow(["customer_id", "score", "stars", *names])
            columns = [rating.contributions[n].tolist() for n in names]
            for i, (ident, score, stars) in enumerate(
                zip(
                    rating.customer_ids.tolist(),
                    rating.score.tolist(),
                    rating.stars.tolist(),
                    strict=True,
                )
            ):
                writer.writerow(
                    [ident, f"{score:.6f}", stars, *(f"{c[i]:.6f}" for c in columns)]
                )
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
