"""Orders in PostgreSQL, their lines in ``order_lines``; batches loaded by COPY."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt
from psycopg.copy import QueuedLibpqWriter

from custmgmt.adapters._checks import check_chunk_size, check_range
from custmgmt.adapters.postgres.codecs import line_rows, order_from_rows, order_row
from custmgmt.adapters.postgres.database import Connection, PostgresDatabase
from custmgmt.adapters.postgres.repository import _PostgresRepository, copy_rows
from custmgmt.adapters.postgres.schema import (
    LINE_COLUMNS,
    ORDER_COLUMNS,
    ORDER_WRITE_COLUMNS,
    PAGE,
    Row,
    select_list,
)
from custmgmt.analytics.batches import STEP_COLUMNS, OrderBatch
from custmgmt.analytics.frames import STATUS_CODES
from custmgmt.domain import CURRENCY_DIGITS, Order
from custmgmt.errors import ValidationError
from custmgmt.ports import DEFAULT_CHUNK_SIZE

__all__ = ["PostgresOrderRepository", "batch_copy_text"]

_SELECT = select_list(ORDER_COLUMNS)
_LINES = "l.sku, l.category, l.quantity, l.unit_price"
#: Rows per block of COPY text sent to the server (about 2 MB of text).
COPY_BLOCK = 10_000
_NULL = "\\N"
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _decimal_texts(minor: npt.NDArray[np.int64], currency: str) -> list[str]:
    """``str(Money.from_minor(m, currency).amount)`` of each value (``"19.90"``)."""
    digits = CURRENCY_DIGITS[currency]
    if digits == 0:
        return [str(m) for m in minor.tolist()]
    # PostgreSQL reads "1990e-2" as 19.90, scale 2: the same numeric as "19.90", built
    # without a divmod and two formats per value.
    exponent = f"e-{digits}"
    return [f"{m}{exponent}" for m in minor.tolist()]


def _timestamps(micros: npt.NDArray[np.int64]) -> list[str]:
    """COPY text of µs since the epoch as ``timestamptz`` without a zone: the store's
    sessions run with ``TimeZone=UTC``, so PostgreSQL reads them as UTC, exactly."""
    text: list[str] = np.datetime_as_string(micros.astype("datetime64[us]"), unit="us").tolist()
    return text


def _texts(values: list[Any]) -> list[str]:
    """COPY text of a column of ``str`` or None: escaped only where needed."""
    present = [v for v in values if v is not None]
    joined = "".join(present)
    if "\\" in joined or "\t" in joined or "\n" in joined or "\r" in joined:
        return [_NULL if v is None else v.translate(_ESCAPES) for v in values]
    if len(present) == len(values):
        return values
    return [_NULL if v is None else v for v in values]


_STEPS = ("paid_at", "shipped_at", "delivered_at", "cancelled_at", "returned_at")


def _step_segments(batch: OrderBatch) -> list[str]:
    """Per order, the COPY text of the ten step columns (``paid_at, paid_off, ...,
    returned_at, returned_off``): an order has at most one step, its status's."""
    n = len(batch)
    out = np.empty(n, dtype=object)
    empty = "\t".join([_NULL] * 10)
    for code in np.unique(batch.status).tolist():
        rows = np.flatnonzero(batch.status == code)
        column = STEP_COLUMNS[STATUS_CODES[code]]
        if column is None:
            out[rows] = empty
            continue
        k = _STEPS.index(column)
        before = "".join(f"{_NULL}\t{_NULL}\t" for _ in range(k))
        after = "".join(f"\t{_NULL}\t{_NULL}" for _ in range(len(_STEPS) - k - 1))
        out[rows] = [f"{before}{t}\t0{after}" for t in _timestamps(batch.status_at[rows])]
    segments: list[str] = out.tolist()
    return segments


def batch_copy_text(batch: OrderBatch) -> tuple[list[str], list[str]]:
    """The COPY text lines (no newline) of the ``orders`` rows (``ORDER_WRITE_COLUMNS``)
    and ``order_lines`` rows of a batch: the rows :meth:`add_many` writes for
    ``batch.to_orders()``, built column by column without an entity or a datetime."""
    ids = _texts(batch.order_id.tolist())
    n = len(ids)
    status_text = np.array([s.value for s in STATUS_CODES], dtype=object)[batch.status].tolist()
    refunds = batch.returned_amount
    refund_text: list[str] = [_NULL] * n
    if refunds.any():
        rows = np.flatnonzero(refunds)
        for row, text in zip(rows.tolist(), _decimal_texts(refunds[rows], batch.currency),
                             strict=True):  # fmt: skip
            refund_text[row] = text
    currency = batch.currency
    categories = _texts(batch.category.tolist())
    order_lines = [
        f"{i}\t1\t{c}\t{t}\t0\t{s}\t{currency}\t{steps}\t{r}\t{ch}\t{a}\t{rm}\t{cat}\t\\N"
        for i, c, t, s, steps, r, ch, a, rm, cat in zip(
            ids, _texts(batch.customer_id.tolist()), _timestamps(batch.placed_at),
            status_text, _step_segments(batch), refund_text, _texts(batch.channel.tolist()),
            batch.amount.tolist(), refunds.tolist(), categories,
            strict=True,
        )
    ]  # fmt: skip
    line_lines = [
        f"{i}\t0\t{sku}\t{cat}\t1\t{price}"
        for i, sku, cat, price in zip(
            ids, _texts(batch.sku.tolist()), categories,
            _decimal_texts(batch.amount, currency), strict=True,
        )
    ]  # fmt: skip
    return order_lines, line_lines


#: A batch at least this large, into tables holding no more rows than the batch, is
#: loaded with the tables' indexes dropped and rebuilt afterwards (see
#: :func:`_indexes_rebuilt`); smaller batches keep them, as rebuilding would cost more.
REBUILD_MIN_ROWS = 50_000


def _scalar(conn: Connection, sql: str, params: Sequence[Any]) -> Any:
    row = conn.execute(sql, params).fetchone()
    return None if row is None else row[0]


@contextmanager
def _indexes_rebuilt(conn: Connection, tables: Sequence[str], rows: int) -> Iterator[None]:
    """Drop ``tables``' indexes (primary keys included) for the block and rebuild them.

    Keeping a B-tree current row by row costs about as much as COPY's own parsing; one
    sort per index after the load costs less than half of it when the batch is at
    least as large as what is already stored (a first load, a nightly import). The
    drop, the load and the rebuild share the caller's transaction, under an ``ACCESS
    EXCLUSIVE`` lock, so other sessions never see the tables without their indexes and
    a failure (a duplicate id found by the rebuilt primary key included) undoes all of
    it. Constraints another table's foreign key depends on are kept.
    """
    if rows < REBUILD_MIN_ROWS:
        yield
        return
    names = [_scalar(conn, "SELECT to_regclass(%s)::oid", (t,)) for t in tables]
    if _scalar(conn, "SELECT EXISTS (SELECT 1 FROM orders OFFSET %s)", (rows,)):
        yield
        return
    conn.execute("LOCK TABLE " + ", ".join(tables) + " IN ACCESS EXCLUSIVE MODE")
    constraints = conn.execute(
        "SELECT c.conname, c.conrelid::regclass::text, pg_get_constraintdef(c.oid) "
        "FROM pg_constraint c WHERE c.conrelid = ANY(%s) AND c.contype IN ('p', 'u') "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' "
        "AND f.conindid = c.conindid) ORDER BY c.conname",
        (names,),
    ).fetchall()
    indexes = conn.execute(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) "
        "FROM pg_index i WHERE i.indrelid = ANY(%s) AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) ORDER BY 1",
        (names,),
    ).fetchall()
    for index, _ in indexes:
        conn.execute(f"DROP INDEX {index}")
    for name, table, _ in constraints:
        conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    yield
    for name, table, definition in constraints:
        conn.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    for _, definition in indexes:
        conn.execute(definition)


def _copy_text(conn: Connection, table: str, columns: str, blocks: Iterable[list[str]]) -> None:
    """COPY the text lines of each block. A writer thread sends each block while the
    next one is built (building holds the GIL, sending waits on the socket), so the
    server parses one block while this process encodes the next."""
    with (
        conn.cursor() as cursor,
        cursor.copy(
            f"COPY {table} ({columns}) FROM STDIN", writer=QueuedLibpqWriter(cursor)
        ) as copy,
    ):
        for block in blocks:
            if block:
                copy.write(("\n".join(block) + "\n").encode())


def _batch_blocks(batch: OrderBatch, lines: list[list[str]]) -> Iterator[list[str]]:
    """The ``orders`` COPY text of ``batch``, ``COPY_BLOCK`` rows at a time; the
    ``order_lines`` text of each block is appended to ``lines``."""
    columns = [f.name for f in attrs.fields(OrderBatch) if f.name != "currency"]
    for start in range(0, len(batch), COPY_BLOCK):
        part = slice(start, start + COPY_BLOCK)
        block = attrs.evolve(batch, **{name: getattr(batch, name)[part] for name in columns})
        order_text, line_text = batch_copy_text(block)
        lines.append(line_text)
        yield order_text


class PostgresOrderRepository(_PostgresRepository[Order]):
    """Orders in PostgreSQL, lines in ``order_lines`` (see
    :class:`custmgmt.ports.OrderRepository`)."""

    entity_name = "order"
    entity_type = Order
    table = "orders"
    columns = ORDER_WRITE_COLUMNS

    def __init__(self, store: PostgresDatabase) -> None:
        super().__init__(store)
        self._page_head = (
            f"WITH page AS (SELECT {ORDER_COLUMNS} FROM orders WHERE placed_at >= %s "
            "AND placed_at < %s"
        )
        self._page_tail = (
            " ORDER BY placed_at, id LIMIT %s) "
            f"SELECT {select_list('page.' + ORDER_COLUMNS.replace(', ', ', page.'))}, {_LINES} "
            "FROM page JOIN order_lines l ON l.order_id = page.id "
            "ORDER BY page.placed_at, page.id, l.line_no"
        )

    def load_batch(self, batch: OrderBatch) -> int:
        """Store the orders of a validated batch, all or nothing, by COPY from its columns.

        The rows are exactly those :meth:`add_many` writes for ``batch.to_orders()``
        (see :meth:`custmgmt.ports.ColumnarStore.load_orders`).

        Raises:
            Conflict: an order id is already stored; nothing is written.
            ValidationError: ``batch`` is not an OrderBatch.
            StorageError: the database failed; nothing is written.
        """
        if not isinstance(batch, OrderBatch):
            raise ValidationError("batch", type(batch).__name__, "an OrderBatch")

        def write(conn: Connection) -> None:
            with _indexes_rebuilt(conn, ("orders", "order_lines"), len(batch)):
                lines: list[list[str]] = []
                _copy_text(conn, "orders", ORDER_WRITE_COLUMNS, _batch_blocks(batch, lines))
                _copy_text(conn, "order_lines", LINE_COLUMNS, lines)

        return self._insert_encoded(batch.order_id.tolist(), write)

    def _encode(self, entity: Order) -> Row:
        return order_row(entity)

    def _write_children(self, conn: Connection, entities: Sequence[Order]) -> None:
        lines: list[Row] = []
        for order in entities:
            lines.extend(line_rows(order))
        copy_rows(conn, "order_lines", LINE_COLUMNS, lines)

    def _delete_children(self, conn: Connection, entity_id: str) -> None:
        conn.execute("DELETE FROM order_lines WHERE order_id = %s", (entity_id,))

    def _by_id_sql(self) -> str:
        return (
            f"SELECT {_SELECT}, {_LINES} FROM orders "
            "JOIN order_lines l ON l.order_id = orders.id WHERE orders.id = %s ORDER BY l.line_no"
        )

    def _query(self, sql: str, params: Sequence[Any]) -> list[Order]:
        orders: list[Order] = []
        group: list[Row] = []
        for row in self._fetch(sql, params):
            if group and row[0] != group[0][0]:
                orders.append(self._decode(order_from_rows, group))
                group = []
            group.append(row)
        if group:
            orders.append(self._decode(order_from_rows, group))
        return orders

    def for_customer(self, customer_id: str) -> list[Order]:
        """The customer's orders, oldest first (by ``placed_at``, then id)."""
        given: object = customer_id  # hosts call this untyped too
        if not isinstance(given, str):
            return []
        return self._query(
            f"SELECT {_SELECT}, {_LINES} FROM orders "
            "JOIN order_lines l ON l.order_id = orders.id WHERE orders.customer_id = %s "
            "ORDER BY orders.placed_at, orders.id, l.line_no",
            (customer_id,),
        )

    def between(self, start: datetime, end: datetime) -> Iterator[Order]:
        """Orders placed in ``[start, end)``, by ``placed_at`` then id, fetched page by page.

        Raises:
            ValidationError: ``start`` or ``end`` is naive, or ``end < start``.
        """
        check_range(start, end)
        return self._pages(start, end, PAGE, flatten=True)  # type: ignore[return-value]

    def iter_chunks(self, size: int = DEFAULT_CHUNK_SIZE) -> Iterator[Sequence[Order]]:
        """Every order by ``placed_at`` then id, in chunks of at most ``size``.

        Raises:
            ValidationError: ``size`` is not a positive integer.
        """
        check_chunk_size(size)
        return self._pages(None, None, size, flatten=False)  # type: ignore[return-value]

    def _pages(
        self, lo: datetime | None, hi: datetime | None, size: int, *, flatten: bool
    ) -> Iterator[Order | Sequence[Order]]:
        bounds = ["-infinity", "infinity"] if lo is None else [lo, hi]
        after: tuple[Any, str] | None = None
        while True:
            if after is None:
                sql = self._page_head + self._page_tail
                page = self._query(sql, (*bounds, size))
            else:
                sql = self._page_head + " AND (placed_at, id) > (%s, %s)" + self._page_tail
                page = self._query(sql, (*bounds, *after, size))
            if not page:
                return
            if flatten:
                yield from page
            else:
                yield page
            last = page[-1]
            after = (last.placed_at, last.id)
