"""What the analyst commands share: reading orders, time options, writing CSVs safely.

``rate``, ``segment`` and ``clv`` take the same input: an orders CSV (columns documented
in :meth:`custmgmt.analytics.frames.OrderFrame.from_csv` and listed by ``--help``) or
``--db PATH`` for an SQLite store (``--db postgresql://...`` for a PostgreSQL one),
with ``--as-of``, ``--currency``, ``--tz`` and ``--encoding``. Defining the options and
their checks once keeps the commands consistent: the same option means the same thing.

``--out`` never destroys what it points at (:func:`check_output`, :func:`write_csv`):

* ``-`` is standard output;
* an existing regular file is replaced atomically (a temporary file beside it, renamed
  over it when complete) and keeps its permission bits (and, for root, its owner);
  another hard link to it keeps the old content;
* a symbolic link is followed: the file it points to is written by these rules (a
  dangling link creates its target), the link itself stays;
* a character device (``/dev/null``, a terminal) or a FIFO is written through, never
  replaced;
* a directory, a socket or block device, and any input of the command (the orders
  CSV, ``--db``, ``--policy``) are refused before anything is computed.

Every CSV the commands write neutralises spreadsheet formulas (OWASP's advice for CSV
injection): a text cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return, and is not a plain number, gets a leading ``'``; so does a cell that
already begins with ``'``, so that removing one leading ``'`` gives back every value.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import glob
import os
import re
import stat
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from custmgmt._files import write_file
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.adapters.sqlite._files import special_file_kind
from custmgmt.analytics.frames import InteractionFrame, OrderFrame
from custmgmt.cli.demo_context import DemoStore
from custmgmt.domain import SystemClock
from custmgmt.domain.time import from_epoch_micros, iana_zone
from custmgmt.errors import ValidationError

__all__ = [
    "CSV_HELP",
    "FIRST_DAY",
    "LAST_DAY",
    "OUT_HELP",
    "add_interactions_argument",
    "add_order_source_arguments",
    "as_of_or_now",
    "check_db_path",
    "check_output",
    "check_top",
    "frames_from_store",
    "inputs_of",
    "interactions_from_args",
    "is_parquet",
    "is_postgres_dsn",
    "neutralise",
    "open_existing_store",
    "open_postgres",
    "open_sqlite_store",
    "options_named",
    "orders_from_csv",
    "parse_as_of",
    "parse_day",
    "refuse_interactions_with_db",
    "schema_version",
    "write_csv",
    "write_output",
    "zone",
]

#: The ``--help`` epilog of the commands that read an orders CSV.
CSV_HELP = """\
ORDERS.csv: a header row, then one row per order (or per order line).
  Headers are matched case-insensitively; other columns are ignored.
  customer_id      required; kept exactly as written (" a" and "a" differ)
  placed_at        required; ISO date or datetime (2026-03-01, 2026-03-01 10:30,
                   2026-03-01T10:30:00+08:00); naive values are in --tz
                   (default Asia/Shanghai); years 1 to 9999
  amount           required; the order total in major units (199.90), exact
  order_id         optional; rows sharing one are the lines of one order
                   (amounts summed; customer, time, status, channel must agree)
  currency         optional; per row (default --currency, CNY)
  category         optional; the order's category
  status           optional; paid, delivered (default), cancelled, returned, ...
  returned_amount  optional; refunded, major units, at most the amount
  channel          optional; the sales channel
  The file is read as --encoding (default utf-8). A malformed cell is an error
  naming its line, column and value; nothing is written then.
ORDERS may also be Parquet: a .parquet file, a directory or a glob of them, with
  the same column names (see docs/scale-out.md; needs custmgmt[dask] for pyarrow).
  --scheduler tcp://host:8786 or --workers N runs the command on a Dask cluster."""

#: The ``--out`` rules, for ``--help``.
OUT_HELP = (
    "'-' for standard output; an existing file is replaced atomically, keeping its "
    "permissions; a symlink is followed; a device or FIFO is written through; the "
    "input files and directories are refused. Cells beginning with = + - @ tab or CR "
    "get a leading ' (CSV formula injection)"
)


def add_order_source_arguments(parser: argparse.ArgumentParser, *, as_of_help: str) -> None:
    """Add ``ORDERS.csv``, ``--as-of``, ``--currency``, ``--tz``, ``--encoding`` and ``--db``
    to ``parser``, and the CSV columns to its ``--help``."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = CSV_HELP
    parser.add_argument(
        "orders",
        nargs="?",
        metavar="ORDERS.csv",
        help="the orders CSV file (or Parquet: a .parquet file, directory or glob)",
    )
    parser.add_argument("--as-of", metavar="DATE", help=as_of_help)
    parser.add_argument("--currency", default="CNY", help="the currency (default: CNY)")
    parser.add_argument(
        "--tz", default="Asia/Shanghai", help="timezone of naive times (default: Asia/Shanghai)"
    )
    parser.add_argument(
        "--encoding",
        default="utf-8",
        help="the text encoding of ORDERS.csv, e.g. gb18030 (default: utf-8)",
    )
    parser.add_argument(
        "--db",
        metavar="PATH|DSN",
        help="read the orders of this existing custmgmt store: an SQLite file or a "
        "postgresql://... DSN",
    )


def add_interactions_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--interactions`` (Parquet interactions, for the features, schemes and
    churn rules that need them)."""
    parser.add_argument(
        "--interactions",
        metavar="INTERACTIONS.parquet",
        help="interactions as Parquet (a file, directory or glob; columns customer_id, "
        "at (a timestamp with a time zone), kind; optional rating, complaint_category, "
        "resolved, channel), for the features, schemes and churn rules that need them "
        "(needs custmgmt[dask]; not with --db, whose interactions are read)",
    )


def interactions_from_args(args: argparse.Namespace, orders: OrderFrame) -> InteractionFrame | None:
    """``--interactions`` read on this machine on ``orders``' customer index, or None.

    Raises:
        ValidationError: bad Parquet interactions (naming the file and the column).
    """
    source = getattr(args, "interactions", None)
    if source is None:
        return None
    from custmgmt.distributed.interactions import read_interactions_parquet

    return read_interactions_parquet(source, customer_index=orders)


def refuse_interactions_with_db(args: argparse.Namespace) -> None:
    """``--interactions`` is for file input; a store's own interactions are read.

    With a cluster and ``--save``, ``--db`` is where the run is kept, so Parquet
    interactions may come with it.

    Raises:
        ValidationError: ``--interactions`` together with ``--db`` (as a source).
    """
    source = getattr(args, "interactions", None)
    on_a_cluster = getattr(args, "workers", None) is not None or (
        getattr(args, "scheduler", None) is not None
    )
    if on_a_cluster and getattr(args, "save", False):
        return  # --db is where the cluster's run is kept, not where orders come from
    if source is not None and getattr(args, "db", None) is not None:
        raise ValidationError(
            "--interactions", source, "no --interactions with --db (the store's are read)"
        )


def zone(name: str) -> ZoneInfo:
    """``--tz`` as a time zone.

    Raises:
        ValidationError: not an IANA time zone name.
    """
    return iana_zone(name, "--tz")  # never the host's localtime: the same zone everywhere


#: The days a command accepts. Commands step back and forth from them (look-back
#: windows, baseline years, projections); near the ends of Python's calendar (year 1
#: and 9999) that arithmetic overflows, and no customer data lies there.
FIRST_DAY, LAST_DAY = date(1000, 1, 1), date(8999, 12, 31)
_DAY_RANGE = f"from {FIRST_DAY} to {LAST_DAY}"


def parse_day(text: str, option: str, example: str = "2026-03-31") -> date:
    """An ISO date given as ``option``, between :data:`FIRST_DAY` and :data:`LAST_DAY`.

    Raises:
        ValidationError: not an ISO date, or outside that range (naming ``option``).
    """
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise ValidationError(option, text, f"an ISO date such as {example}") from None
    _check_day(day, text, option)
    return day


def _check_day(day: date, text: str, option: str) -> None:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValidationError(option, text, f"a day {_DAY_RANGE}")


def parse_as_of(text: str, tz: ZoneInfo, *, option: str = "--as-of") -> datetime:
    """A date means the end of that day in ``tz``; naive datetimes are in ``tz``.

    >>> parse_as_of("2026-03-31", ZoneInfo("Asia/Shanghai")).isoformat()
    '2026-03-31T23:59:59.999999+08:00'
    >>> parse_as_of("20260331", ZoneInfo("Asia/Shanghai")).isoformat()
    '2026-03-31T23:59:59.999999+08:00'

    Raises:
        ValidationError: the text is neither an ISO date nor an ISO datetime, or its
            day is outside :data:`FIRST_DAY` .. :data:`LAST_DAY`.
    """
    stripped = text.strip()
    try:
        # Any ISO date form (2026-03-31, 20260331, 2026-W13-2) is a whole day; only
        # the 10-character form was taken as one, so 20260331 meant its first instant.
        value = datetime.combine(date.fromisoformat(stripped), time.max)
    except ValueError:
        try:
            value = datetime.fromisoformat(stripped)
        except ValueError:
            raise ValidationError(
                option, text, "an ISO date (2026-03-31) or datetime"
            ) from None
    _check_day(value.date(), text, option)
    if value.tzinfo is not None:
        return value
    # Through UTC and back: a wall time that a daylight-saving change skips (02:30 on
    # the spring-forward night) becomes the instant it names, shown as it really reads
    # (03:30 at the new offset), not a time that never existed on any clock.
    return value.replace(tzinfo=tz).astimezone(UTC).astimezone(tz)


def as_of_or_now(args: argparse.Namespace, tz: ZoneInfo) -> datetime:
    """``--as-of`` if given, else the system clock's now (the one place a command reads it)."""

    return parse_as_of(args.as_of, tz) if args.as_of is not None else SystemClock(tz).now()


def check_top(args: argparse.Namespace) -> None:
    """Refuse a negative ``--top``."""
    if args.top < 0:
        raise ValidationError("--top", args.top, "a non-negative number")


def is_postgres_dsn(target: str | Path | None) -> bool:
    """Whether ``--db`` names a PostgreSQL database (``postgresql://`` or ``postgres://``,
    in any case: URI schemes are case-insensitive, RFC 3986).

    >>> is_postgres_dsn("postgresql://shop@db.internal/crm"), is_postgres_dsn("crm.sqlite3")
    (True, False)
    >>> is_postgres_dsn("PostgreSQL://shop@db.internal/crm")
    True
    """
    return isinstance(target, str) and target[:13].lower().startswith(
        ("postgresql://", "postgres://")
    )


@contextlib.contextmanager
def options_named(options: Mapping[str, str]) -> Iterator[None]:
    """Re-raise a library ValidationError about one of ``options``' fields (the
    library's parameter names) naming the command's option instead, with the same
    value and expectation; other errors pass unchanged."""
    try:
        yield
    except ValidationError as exc:
        option = options.get(exc.field)
        if option is None:
            raise
        raise ValidationError(option, exc.value, exc.expected) from None


def check_db_path(path: str | Path | None) -> None:
    """Refuse a ``--db`` that names a folder, a device, a FIFO or a socket, in the same
    words for every command, before anything is opened or written.

    Each command said it its own way ("an existing SQLite store", "an existing
    database file", "to: ... a regular file"), or not at all why. A PostgreSQL DSN and
    a path with nothing at it pass (the command's own open says what it needs).

    Raises:
        ValidationError: ``--db`` names something other than a regular file.
    """
    if path is None or is_postgres_dsn(path):
        return
    kind = special_file_kind(path)
    if kind is not None:
        raise ValidationError("--db", str(path), f"an SQLite database file (it is {kind})")


def open_existing_store(path: str | Path, *, writable: bool = False) -> DemoStore:
    """Open ``--db``: an existing custmgmt store only, read-only unless ``writable``.

    A typo never creates a new database, someone else's SQLite file is refused
    untouched ("not a custmgmt store"), and a store on a read-only file or file system
    can be analysed. A ``postgresql://`` DSN opens a :class:`PostgresStore` (the
    ``postgres`` extra) on an existing custmgmt schema only.

    Raises:
        ValidationError: no file at ``path``, or a folder, device, FIFO or socket
            (:func:`check_db_path`).
        StorageError: not a custmgmt store, or it cannot be opened.
        MissingDependency: a DSN without the ``postgres`` extra installed.
    """
    if is_postgres_dsn(path):
        return open_postgres(str(path), create=False)
    check_db_path(path)
    if not Path(path).is_file():
        raise ValidationError("--db", str(path), "an existing SQLite store")
    return SQLiteStore(path, mode="existing" if writable else "read_only")


def schema_version(store: object, component: str) -> int:
    """``store``'s schema version of ``component`` (0: its tables do not exist yet);
    1 for a store without versioned schemas (in memory), which creates nothing.

    A command checks it before it touches a capability's repository, so that a store
    opened read-only is never asked to create tables.
    """
    version = getattr(store, "schema_version", None)
    return 1 if version is None else int(version(component))


def open_sqlite_store(path: str | Path, *, keeps: str, writable: bool = False) -> SQLiteStore:
    """Open ``--db`` for a command whose capability only the SQLite store keeps so far.

    Like :func:`open_existing_store`, but a PostgreSQL DSN is refused by name: the
    PostgreSQL store offers the core records, ratings, tickets, prospects, the service
    team, campaigns, follow-ups, loyalty points, risk records and purchase lines, not yet
    ``keeps``.

    Raises:
        ValidationError: a PostgreSQL DSN, no file at ``path``, or a folder, device,
            FIFO or socket (:func:`check_db_path`).
        StorageError: not a custmgmt store, or it cannot be opened.
    """
    if is_postgres_dsn(path):
        raise ValidationError(
            "--db",
            "postgresql://...",
            f"an SQLite store (the PostgreSQL store does not keep {keeps} yet)",
        )
    check_db_path(path)
    if not Path(path).is_file():
        raise ValidationError("--db", str(path), "an existing SQLite store")
    return SQLiteStore(path, mode="existing" if writable else "read_only")


def open_postgres(dsn: str, *, create: bool) -> DemoStore:
    """A :class:`~custmgmt.adapters.postgres.PostgresStore` on ``dsn`` (schema
    ``custmgmt``), imported only now: psycopg is the ``postgres`` extra."""
    from custmgmt._extras import require

    require("psycopg_pool", extra="postgres", purpose="a PostgreSQL --db")
    from custmgmt.adapters.postgres import PostgresStore

    return PostgresStore(dsn, create=create, pool_size=2)


def orders_from_csv(args: argparse.Namespace, tz: ZoneInfo) -> tuple[OrderFrame, datetime]:
    """Read ``ORDERS.csv``; ``--as-of`` defaults to the last order in the file.

    Raises:
        ValidationError: no CSV given, a CSV together with ``--db``, a malformed row
            (naming line, column and value), or an empty file without ``--as-of``.
    """

    if args.orders is None:
        raise ValidationError("ORDERS.csv", None, "a CSV file of orders (or --db PATH)")
    if is_parquet(args.orders):
        from custmgmt.distributed.parquet import read_orders_parquet

        frame = read_orders_parquet(args.orders, currency=args.currency, tz=args.tz)
    else:
        frame = OrderFrame.from_csv(
            args.orders,
            currency=args.currency,
            tz=args.tz,
            encoding=getattr(args, "encoding", "utf-8"),
        )
    if args.as_of is not None:
        return frame, parse_as_of(args.as_of, tz)
    if len(frame):
        return frame, from_epoch_micros(int(frame.placed_at.max()), tz)
    raise ValidationError("ORDERS.csv", args.orders, "at least one order (or --as-of)")


def is_parquet(orders: str) -> bool:
    """Whether ``ORDERS`` names Parquet (a ``.parquet`` file or glob, or a directory).

    >>> is_parquet("orders.csv"), is_parquet("orders/part-*.parquet")
    (False, True)
    """
    return orders.lower().endswith((".parquet", ".pq")) or os.path.isdir(orders)


def frames_from_store(
    args: argparse.Namespace, tz: ZoneInfo, *, interactions: bool
) -> tuple[OrderFrame, InteractionFrame | None, datetime]:
    """Read the orders (and interactions) of ``--db`` as of ``--as-of`` or now.

    Raises:
        ValidationError: a CSV given too, or no store at ``--db``.
    """

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


# -- output --------------------------------------------------------------------------
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "'")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def neutralise(cell: str) -> str:
    """``cell`` made safe to open in a spreadsheet (see the module docstring).

    >>> print(neutralise("=1+1"), neutralise("@SUM(A1)"), neutralise("-0.25"), neutralise("'a"))
    '=1+1 '@SUM(A1) -0.25 ''a
    """
    if cell.startswith(_FORMULA_START) and not _NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


def inputs_of(args: argparse.Namespace) -> list[tuple[str, str]]:
    """The (option, path) pairs of the files a command reads, for :func:`check_output`."""
    names = (
        ("orders", "ORDERS.csv"),
        ("db", "--db"),
        ("policy", "--policy"),
        ("interactions", "--interactions"),
    )
    return [(option, value) for attr, option in names if (value := getattr(args, attr, None))]


def check_output(
    path: str | None, inputs: Sequence[tuple[str, str]] = (), *, option: str = "--out"
) -> None:
    """Refuse an ``--out`` that cannot or must not be written, before any work is done.

    ``inputs`` are (option, path) pairs of the files the command reads; writing over
    one of them is refused, however it is named (a link, another relative path).
    ``option`` is how the output is named in errors (``--html`` ...).

    Raises:
        ValidationError: a directory, a socket or block device, an input file (a file
            of a Parquet directory or glob input included), a path whose directory
            does not exist, or a symlink loop.
    """
    if path is None or path == "-":
        return
    target = os.path.realpath(path)
    try:
        found = os.stat(target)
    except FileNotFoundError:
        if not os.path.isdir(os.path.dirname(target) or "."):
            raise ValidationError(option, path, "a file in an existing directory") from None
        return
    except OSError as e:
        raise ValidationError(option, path, f"a writable file ({e.strerror or e})") from None
    if stat.S_ISDIR(found.st_mode):
        raise ValidationError(option, path, "a file, not a directory")
    if not (
        stat.S_ISREG(found.st_mode) or stat.S_ISCHR(found.st_mode) or stat.S_ISFIFO(found.st_mode)
    ):
        raise ValidationError(
            option, path, "a regular file, a character device, a FIFO, or - for standard output"
        )
    for source_option, source in inputs:
        for each in _input_files(source):
            with contextlib.suppress(OSError):
                if os.path.samestat(found, os.stat(each)):
                    raise ValidationError(
                        option, path, f"a file other than the input {source_option} {source!r}"
                    )


def _input_files(source: str) -> list[str]:
    """The files an input names: itself, or for a Parquet directory or glob every file
    of the dataset (an ``--out`` must not land on one of them)."""
    if not (os.path.isdir(source) or glob.has_magic(source)):
        return [source]
    from custmgmt.distributed.parquet import dataset_files

    try:
        return dataset_files(source)
    except ValidationError:
        return []


def _write_rows(stream: Any, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    writer = csv.writer(stream)
    writer.writerow([neutralise(h) for h in header])
    for row in rows:
        writer.writerow([neutralise(c) if isinstance(c, str) else c for c in row])


def write_csv(
    path: str | os.PathLike[str],
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    inputs: Sequence[tuple[str, str]] = (),
) -> None:
    """Write a CSV to ``path`` by the ``--out`` rules of the module docstring
    (:func:`write_output`). Text cells are neutralised (:func:`neutralise`).

    Raises:
        ValidationError: ``path`` is refused by :func:`check_output`, or cannot be
            written (a full disk, no permission), naming the reason.
    """
    write_output(path, lambda stream: _write_rows(stream, header, rows), inputs=inputs)


def write_output(
    path: str | os.PathLike[str],
    write: Callable[[TextIO], object],
    *,
    inputs: Sequence[tuple[str, str]] = (),
    option: str = "--out",
) -> None:
    """Call ``write`` with a UTF-8 text stream for ``path``, by the ``--out`` rules of
    the module docstring: ``-`` is standard output; a link is followed; a character
    device or FIFO is written through; a regular file is written so that readers see
    the old file or the complete new one, never a part: on any failure the temporary
    file is removed and an older file stays untouched.

    Raises:
        ValidationError: ``path`` is refused by :func:`check_output` (named as
            ``option``), or cannot be written (a full disk, no permission).
    """
    text = os.fspath(path)
    check_output(text, inputs, option=option)
    if text == "-":
        write(sys.stdout)
        sys.stdout.flush()
        return
    try:
        write_file(text, write)
    except OSError as exc:
        raise ValidationError(option, text, f"a writable file ({exc.strerror or exc})") from None
