"""The columnar port of the SQLite store: frames straight from SQL rows.

:func:`order_frame` and :func:`interaction_frame` implement
:meth:`ColumnarStore.order_frame <custmgmt.ports.ColumnarStore.order_frame>` and
:meth:`ColumnarStore.interaction_frame <custmgmt.ports.ColumnarStore.interaction_frame>`:
one ``SELECT`` whose ``WHERE`` holds the filters (on the indexed ``placed_us`` /
``at_us`` and ``customer_id`` columns), read in chunks of plain tuples into numpy
columns through :class:`~custmgmt.analytics.frames.OrderFrameBuilder`, without
creating an entity. A narrow window (or a customer filter) walks an index in frame
order; a wide one (more than :data:`SCAN_SHARE` of the rows, measured by two counts
on the time index) scans the table sequentially and sorts the columns in numpy, which
is several times faster than a random row lookup per index entry. Money comes from
the integer ``total_minor`` / ``returned_minor`` columns every order write fills in
(:mod:`custmgmt.adapters._columns`), status and kind codes from a ``CASE`` in SQL,
and the categories of an order with several from its ``line_categories`` column: the
lines themselves are never read.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from custmgmt.adapters._frame_rows import (
    INTERACTION_CODES,
    STATUS_CASE,
    add_interaction_rows,
    add_order_rows,
)
from custmgmt.adapters.sqlite.codecs import storage_error
from custmgmt.adapters.sqlite.database import SQLiteDatabase
from custmgmt.analytics.frames import (
    InteractionFrame,
    InteractionFrameBuilder,
    OrderFrame,
    OrderFrameBuilder,
    check_customers,
    check_kinds,
    check_window,
)
from custmgmt.domain import InteractionKind

__all__ = ["interaction_frame", "order_frame", "order_query"]

#: Rows fetched per ``fetchmany`` at most: large enough to amortise the call, small
#: enough that one chunk of Python tuples (about 500 bytes a row) stays a small part of
#: the frame (about 120 bytes a row); smaller tables are read in 16 chunks or more.
CHUNK = 32_768
MIN_CHUNK = 1024


def _chunk_size(total: int) -> int:
    return max(MIN_CHUNK, min(CHUNK, total // 16))


#: At most this many labels of a column are coded in SQL (a ``CASE`` compares them
#: one by one); the others come as text.
MAX_CODED_LABELS = 64

#: Above this share of a table's rows in the time window, one sequential scan of the
#: table (then a numpy sort) beats walking the time index, whose every entry costs a
#: random lookup of its row.
SCAN_SHARE = 0.25


def _selection(
    table: str,
    time_column: str,
    lo: int | None,
    hi: int | None,
    customers: frozenset[str] | None,
    *,
    scan: bool,
) -> tuple[str, list[Any]]:
    """``FROM ... WHERE ... [ORDER BY]`` (and its parameters) of the rows in the window
    of the customers.

    ``scan``: read the table in storage order (``NOT INDEXED``, no ``ORDER BY``; the
    caller sorts). Otherwise the rows come in frame order, from the time index, or,
    with ``customers``, from the ``(customer_id, time, id)`` index: ``CROSS JOIN``
    makes SQLite look each id up there (the time bounds narrow each lookup) instead
    of walking every row in time order; the matching rows are then sorted.
    """
    clauses: list[str] = []
    params: list[Any] = []
    source = f"{table} NOT INDEXED" if scan else table
    if customers is not None:
        # The subquery names its one column, so no column of json_each (``id``!) can
        # clash with the table's.
        source = (
            "(SELECT value AS wanted_id FROM json_each(?)) AS wanted "
            f"CROSS JOIN {table} ON {table}.customer_id = wanted.wanted_id"
        )
        params.append(json.dumps(sorted(customers), ensure_ascii=False))
    if lo is not None:
        clauses.append(f"{time_column} >= ?")
        params.append(lo)
    if hi is not None:
        clauses.append(f"{time_column} <= ?")
        params.append(hi)
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    order = "" if scan else f" ORDER BY {time_column}, {table}.id"
    return f" FROM {source}{where}{order}", params


def _plan(
    conn: sqlite3.Connection, table: str, time_column: str, lo: int | None, hi: int | None
) -> tuple[bool, int]:
    """(whether to scan the table, rows per fetch): scan when the window holds more
    than :data:`SCAN_SHARE` of the table's rows. Two counts that read only an index."""
    (total,) = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    if lo is None and hi is None:
        return True, _chunk_size(total)
    (inside,) = conn.execute(
        f"SELECT count(*) FROM {table} WHERE {time_column} BETWEEN ? AND ?",
        (-(2**63) if lo is None else lo, 2**63 - 1 if hi is None else hi),
    ).fetchone()
    return bool(inside > SCAN_SHARE * total), _chunk_size(inside)


def order_query(
    *,
    currency: str,
    as_of: datetime | None = None,
    since: datetime | None = None,
    customers: Collection[str] | None = None,
) -> tuple[str, list[Any]]:
    """The ``SELECT`` (and its parameters) that reads the orders of a frame in frame
    order through an index (narrow windows, customer filters).

    Columns: those of :func:`~custmgmt.adapters._frame_rows.add_order_rows`, the
    order's currency NULL when it is ``currency``.

    Raises:
        ValidationError: a naive ``as_of`` or ``since``, a bad ``customers``.
    """
    lo, hi = check_window(as_of, since)
    wanted = check_customers(customers)
    selection, params = _selection("orders", "placed_us", lo, hi, wanted, scan=False)
    sql = (
        f"SELECT customer_id, placed_us, total_minor, returned_minor, {STATUS_CASE}, "
        "NULLIF(currency, ?), main_category, channel, orders.id, line_categories"
        f"{selection}"
    )
    return sql, [currency, *params]


@contextmanager
def _reading(database: SQLiteDatabase, doing: str) -> Iterator[sqlite3.Connection]:
    """Hold the store's lock inside one read transaction (the open one, if any), so
    every query of a frame sees the same state; driver errors become StorageError."""
    with database.lock:
        conn = database.connection
        began = False
        try:
            if not conn.in_transaction:
                conn.execute("BEGIN")
                began = True
            yield conn
        except sqlite3.Error as exc:
            raise storage_error(doing, exc) from exc
        finally:
            if began and conn.in_transaction:
                try:
                    conn.execute("COMMIT")  # a read: nothing to keep or to lose
                except sqlite3.Error as exc:
                    raise storage_error(doing, exc) from exc


def order_frame(
    database: SQLiteDatabase,
    *,
    currency: str,
    as_of: datetime | None = None,
    since: datetime | None = None,
    customers: Collection[str] | None = None,
    rates: Mapping[str, Any] | None = None,
    customer_index: Any = None,
) -> OrderFrame:
    """The orders of ``database`` as an OrderFrame (see
    :meth:`custmgmt.ports.ColumnarStore.order_frame` for the contract and errors)."""
    builder = OrderFrameBuilder(currency=currency, rates=rates)
    lo, hi = check_window(as_of, since)
    wanted = check_customers(customers)
    with _reading(database, "reading orders into a frame") as conn:
        scan, chunk = _plan(conn, "orders", "placed_us", lo, hi)
        chunks: Iterator[list[Any]]
        if scan and wanted is None:
            chunks = _scan_orders(conn, builder, lo, hi, chunk)
        else:
            scan = False
            sql, params = order_query(currency=currency, as_of=as_of, since=since, customers=wanted)
            cursor = conn.execute(sql, params)
            chunks = iter(lambda: cursor.fetchmany(chunk), [])
        for rows in chunks:
            add_order_rows(builder, rows)
    return builder.build(customer_index, sort=scan)


def _coded(column: str, known: dict[str, int]) -> tuple[str, list[str]]:
    """``column``, or a ``CASE`` that gives the code of each label in ``known`` (the
    first :data:`MAX_CODED_LABELS`) and the text of any other: a small int per row
    instead of a new string. The labels are bound parameters."""
    labels = list(known.items())[:MAX_CODED_LABELS]
    if not labels:
        return column, []
    whens = " ".join(f"WHEN ? THEN {code}" for _, code in labels)
    return f"CASE {column} {whens} ELSE {column} END", [label for label, _ in labels]


def _rowid_ranges(conn: sqlite3.Connection, table: str, span: int) -> Iterator[tuple[int, int]]:
    first, last = conn.execute(f"SELECT min(rowid), max(rowid) FROM {table}").fetchone()
    if first is None:
        return
    for start in range(first, last + 1, span):
        yield start, start + span - 1


def _scan_orders(
    conn: sqlite3.Connection,
    builder: OrderFrameBuilder,
    lo: int | None,
    hi: int | None,
    chunk: int,
) -> Iterator[list[Any]]:
    """The orders in the window, table order, one rowid range per query: each query
    codes the categories and channels the builder has seen so far in SQL."""
    clauses, window = _window_clauses("placed_us", lo, hi)
    for start, stop in _rowid_ranges(conn, "orders", chunk):
        category, category_params = _coded("main_category", builder.known_categories())
        channel, channel_params = _coded("channel", builder.known_channels())
        yield conn.execute(
            f"SELECT customer_id, placed_us, total_minor, returned_minor, {STATUS_CASE}, "
            f"NULLIF(currency, ?), {category}, {channel}, id, line_categories "
            f"FROM orders NOT INDEXED WHERE rowid BETWEEN ? AND ?{clauses}",
            [builder.currency, *category_params, *channel_params, start, stop, *window],
        ).fetchall()


def _window_clauses(column: str, lo: int | None, hi: int | None) -> tuple[str, list[int]]:
    clauses = ""
    params: list[int] = []
    if lo is not None:
        clauses += f" AND {column} >= ?"
        params.append(lo)
    if hi is not None:
        clauses += f" AND {column} <= ?"
        params.append(hi)
    return clauses, params


def interaction_frame(
    database: SQLiteDatabase,
    *,
    as_of: datetime | None = None,
    since: datetime | None = None,
    customers: Collection[str] | None = None,
    kinds: Collection[InteractionKind] | None = None,
    customer_index: Any = None,
) -> InteractionFrame:
    """The interactions of ``database`` as an InteractionFrame (see
    :meth:`custmgmt.ports.ColumnarStore.interaction_frame`)."""
    lo, hi = check_window(as_of, since)
    wanted = check_customers(customers)
    wanted_kinds = check_kinds(kinds)
    builder = InteractionFrameBuilder()
    with _reading(database, "reading interactions into a frame") as conn:
        scan, chunk = _plan(conn, "interactions", "at_us", lo, hi)
        scan = scan and wanted is None
        selection, params = _selection("interactions", "at_us", lo, hi, wanted, scan=scan)
        if wanted_kinds is not None:
            kind_test = f"kind IN ({', '.join('?' * len(wanted_kinds))})" if wanted_kinds else "0"
            head, order, tail = selection.partition(" ORDER BY ")
            joiner = " AND " if " WHERE " in head else " WHERE "
            selection = f"{head}{joiner}{kind_test}{order}{tail}"
            params.extend(sorted(k.value for k in wanted_kinds))
        sql = (
            f"SELECT customer_id, at_us, {INTERACTION_CODES}, "
            "CASE WHEN kind = 'complaint' THEN resolved ELSE 0 END, channel, "
            f"interactions.id{selection}"
        )
        cursor = conn.execute(sql, params)
        while rows := cursor.fetchmany(chunk):
            add_interaction_rows(builder, rows, with_ids=scan)
    return builder.build(customer_index, sort=scan)
