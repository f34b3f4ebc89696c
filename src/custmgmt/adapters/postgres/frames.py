"""The columnar port of the PostgreSQL store: frames straight from a server-side cursor.

:func:`order_frame` and :func:`interaction_frame` implement
:meth:`ColumnarStore.order_frame <custmgmt.ports.ColumnarStore.order_frame>` and
:meth:`ColumnarStore.interaction_frame <custmgmt.ports.ColumnarStore.interaction_frame>`:
one ``SELECT`` whose ``WHERE`` holds every filter (the time window on the indexed
``placed_at`` / ``at`` column, the customers as ``customer_id = ANY(...)``, the kinds),
read through a server-side cursor in chunks of :data:`CHUNK` rows (binary transfer),
so the memory a frame needs is the frame plus one chunk. No ``ORDER BY``: the server
sends rows as it finds them and the builder sorts the numpy columns (one stable sort
on the times), which is cheaper than a sort on the server and independent of the
database's collation.

Money comes from the exact ``total_minor`` / ``returned_minor`` columns every order
write fills in (:mod:`custmgmt.adapters._columns`), times as exact microseconds
(``extract(epoch ...)``), status and kind codes from a ``CASE`` in SQL, and the
categories of an order with several from its ``line_categories`` column: the lines
themselves are never read.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

import psycopg

from custmgmt.adapters._frame_rows import (
    INTERACTION_CODES,
    STATUS_CASE,
    add_interaction_rows,
    add_order_rows,
)
from custmgmt.adapters.postgres.database import PostgresDatabase, storage_error
from custmgmt.adapters.postgres.schema import micros
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

__all__ = ["CHUNK", "interaction_frame", "order_frame", "order_query"]

#: Rows per fetch from the server-side cursor.
CHUNK = 50_000
_cursors = itertools.count()


#: An exact instant from µs since the epoch, as (whole seconds, µs) parameters: a
#: float8 holds every whole second of years 1 to 9999 exactly.
_INSTANT = "(to_timestamp(%s::float8) + %s * interval '1 microsecond')"


def _where(
    time_column: str,
    lo: int | None,
    hi: int | None,
    customers: frozenset[str] | None,
) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if lo is not None:
        clauses.append(f"{time_column} >= {_INSTANT}")
        params.extend(divmod(lo, 1_000_000))
    if hi is not None:
        clauses.append(f"{time_column} <= {_INSTANT}")
        params.extend(divmod(hi, 1_000_000))
    if customers is not None:
        clauses.append("customer_id = ANY(%s::text[])")
        params.append(sorted(customers))
    return (f" WHERE {' AND '.join(clauses)}" if clauses else ""), params


def order_query(
    *,
    currency: str,
    as_of: datetime | None = None,
    since: datetime | None = None,
    customers: Collection[str] | None = None,
) -> tuple[str, list[Any]]:
    """The ``SELECT`` (and its parameters) that reads the orders of a frame, unsorted.

    Columns: those of :func:`~custmgmt.adapters._frame_rows.add_order_rows`, the
    order's currency NULL when it is ``currency``.

    Raises:
        ValidationError: a naive ``as_of`` or ``since``, a bad ``customers``.
    """
    lo, hi = check_window(as_of, since)
    where, params = _where("placed_at", lo, hi, check_customers(customers))
    sql = (
        f"SELECT customer_id, {micros('placed_at')}, total_minor, returned_minor, "
        f"{STATUS_CASE}, NULLIF(currency, %s), main_category, channel, id, line_categories "
        f"FROM orders{where}"
    )
    return sql, [currency, *params]


def _read(database: PostgresDatabase, sql: str, params: list[Any], doing: str) -> Any:
    """Yield chunks of rows of ``sql`` from a server-side cursor, in one transaction."""
    with database.writing() as conn:
        try:
            with conn.cursor(name=f"custmgmt_frame_{next(_cursors)}", binary=True) as cursor:
                cursor.itersize = CHUNK
                cursor.execute(sql, params)
                while rows := cursor.fetchmany(CHUNK):
                    yield rows
        except psycopg.Error as exc:
            raise storage_error(doing, exc) from exc


def order_frame(
    database: PostgresDatabase,
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
    sql, params = order_query(currency=currency, as_of=as_of, since=since, customers=customers)
    for rows in _read(database, sql, params, "reading orders into a frame"):
        add_order_rows(builder, rows)
    return builder.build(customer_index, sort=True)


def interaction_frame(
    database: PostgresDatabase,
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
    where, params = _where("at", lo, hi, wanted)
    if wanted_kinds is not None:
        where += (" AND " if where else " WHERE ") + "kind = ANY(%s::text[])"
        params.append(sorted(k.value for k in wanted_kinds))
    sql = (
        f"SELECT customer_id, {micros('at')}, {INTERACTION_CODES}, "
        "CASE WHEN kind = 'complaint' THEN coalesce(resolved, false) ELSE false END, "
        f"channel, id FROM interactions{where}"
    )
    for rows in _read(database, sql, params, "reading interactions into a frame"):
        add_interaction_rows(builder, rows)
    return builder.build(customer_index, sort=True)
