"""Orders in PostgreSQL, their lines in ``order_lines``; batches loaded by COPY."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import attrs
from psycopg.copy import QueuedLibpqWriter

from custmgmt.adapters._sql_core_reads import OrderReads, Window, keyset_pages
from custmgmt.adapters.postgres.binary_copy import (
    COPY_HEADER,
    COPY_TRAILER,
    PG_EPOCH_US,
    BinaryRows,
)
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

__all__ = ["PostgresOrderRepository", "line_tuples", "order_tuples"]

_SELECT = select_list(ORDER_COLUMNS)
_LINES = "l.sku, l.category, l.quantity, l.unit_price"
#: Rows per block of binary COPY data: small enough for its work arrays to stay in
#: the CPU caches (about 1 MB of tuples), large enough to amortise numpy's per-call costs.
COPY_BLOCK = 4096
_STEPS = ("paid_at", "shipped_at", "delivered_at", "cancelled_at", "returned_at")


def _status_templates(currency: str) -> tuple[list[bytes], list[int]]:
    """Per status code, the binary COPY fields ``status, currency, paid_at, paid_off,
    ..., returned_at, returned_off``: the status's own step column set (its time, a
    placeholder at the returned offset, and UTC offset 0), every other one NULL."""
    null = (-1).to_bytes(4, "big", signed=True)
    code = currency.encode()
    currency_field = len(code).to_bytes(4, "big") + code
    templates: list[bytes] = []
    value_at: list[int] = []
    for status in STATUS_CODES:
        name = status.value.encode()
        parts = [len(name).to_bytes(4, "big") + name, currency_field]
        at = -1
        for step in _STEPS:
            if step == STEP_COLUMNS[status]:
                at = len(b"".join(parts)) + 4
                parts.append((8).to_bytes(4, "big") + bytes(8))  # the step's time
                parts.append((4).to_bytes(4, "big") + bytes(4))  # its offset: UTC
            else:
                parts.append(null + null)
        templates.append(b"".join(parts))
        value_at.append(at)
    return templates, value_at


def order_tuples(batch: OrderBatch) -> bytes:
    """The binary COPY tuples (no header or trailer) of the ``orders`` rows
    (``ORDER_WRITE_COLUMNS``) of a batch: the rows :meth:`add_many` writes for
    ``batch.to_orders()``, built column by column without an entity, a datetime or a
    Decimal (see :mod:`.binary_copy`)."""
    n = len(batch)
    templates, value_at = _status_templates(batch.currency)
    orders = BinaryRows(n)
    orders.text(batch.order_id)
    orders.int8(1)  # version
    orders.text(batch.customer_id)
    orders.timestamptz(batch.placed_at)
    orders.int4(0)  # placed_off: a batch's times are UTC
    # status, currency and the ten step columns: 2 + 2 * 5
    orders.coded(batch.status, templates, 2 + 2 * len(_STEPS), batch.status_at - PG_EPOCH_US,
                 value_at)  # fmt: skip
    orders.numeric(batch.returned_amount, CURRENCY_DIGITS[batch.currency],
                   batch.returned_amount != 0)  # fmt: skip
    orders.text(batch.channel)
    orders.int8(batch.amount)  # total_minor
    orders.int8(batch.returned_amount)  # returned_minor
    orders.text(batch.category)  # main_category: the one line's
    orders.null()  # line_categories: one line, one category
    return orders.tobytes()


def line_tuples(batch: OrderBatch) -> bytes:
    """The binary COPY tuples of the ``order_lines`` rows (``LINE_COLUMNS``) of a
    batch, one per order (see :func:`order_tuples`)."""
    lines = BinaryRows(len(batch))
    lines.text(batch.order_id)
    lines.int4(0)  # line_no
    lines.text(batch.sku)
    lines.text(batch.category)
    lines.int8(1)  # quantity
    lines.numeric(batch.amount, CURRENCY_DIGITS[batch.currency])
    return lines.tobytes()


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
    with _sort_memory(conn, rows):
        for name, table, definition in constraints:
            conn.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        for _, definition in indexes:
            conn.execute(definition)


#: Sort memory per row of the batch while its indexes are rebuilt: enough for an
#: index's sort to stay in memory (a key, its heap pointer and the sort's own entry),
#: so no build spills to temporary files.
SORT_BYTES_PER_ROW = 256
#: The most sort memory a rebuild asks for, whatever the batch.
SORT_BYTES_MAX = 1 << 30


@contextmanager
def _sort_memory(conn: Connection, rows: int) -> Iterator[None]:
    """Raise ``maintenance_work_mem`` (never lower it) for the index builds of a batch of
    ``rows``, then set back the value it had. Only this transaction sees it: ``SET
    LOCAL``, undone at its end even when a build fails. With the default 64 MB the
    builds of a million orders spill to disk: 2.9 s with 256 MB against 3.5-4.5 s."""
    before = str(_scalar(conn, "SELECT current_setting('maintenance_work_mem')", ()))
    current = int(_scalar(conn, "SELECT pg_size_bytes(%s)", (before,)))
    wanted = min(rows * SORT_BYTES_PER_ROW, SORT_BYTES_MAX)
    if wanted <= current:
        yield
        return
    conn.execute(f"SET LOCAL maintenance_work_mem = '{wanted // 1024}kB'")
    yield
    conn.execute("SELECT set_config('maintenance_work_mem', %s, true)", (before,))


def _copy_binary(conn: Connection, table: str, columns: str, blocks: Iterable[bytes]) -> None:
    """COPY the binary tuples of each block. A writer thread sends each block while
    the next one is built (sending waits on the socket, not the GIL), so the server
    reads one block while this process builds the next."""
    with (
        conn.cursor() as cursor,
        cursor.copy(
            f"COPY {table} ({columns}) FROM STDIN (FORMAT binary)",
            writer=QueuedLibpqWriter(cursor),
        ) as copy,
    ):
        copy.write(COPY_HEADER)
        for block in blocks:
            if block:
                copy.write(block)
        copy.write(COPY_TRAILER)


def _blocks(batch: OrderBatch, tuples: Callable[[OrderBatch], bytes]) -> Iterator[bytes]:
    """``tuples`` of ``batch``, ``COPY_BLOCK`` rows at a time, each block built while
    the previous one is sent: memory stays bounded by a few blocks."""
    columns = [f.name for f in attrs.fields(OrderBatch) if f.name != "currency"]
    for start in range(0, len(batch), COPY_BLOCK):
        part = slice(start, start + COPY_BLOCK)
        yield tuples(attrs.evolve(batch, **{name: getattr(batch, name)[part] for name in columns}))


class PostgresOrderRepository(OrderReads, _PostgresRepository[Order]):
    """Orders in PostgreSQL, lines in ``order_lines`` (see
    :class:`custmgmt.ports.OrderRepository`)."""

    entity_name = "order"
    entity_type = Order
    table = "orders"
    columns = ORDER_WRITE_COLUMNS
    page_size = PAGE

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
                _copy_binary(conn, "orders", ORDER_WRITE_COLUMNS, _blocks(batch, order_tuples))
                _copy_binary(conn, "order_lines", LINE_COLUMNS, _blocks(batch, line_tuples))

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

    def _order_of(self, lines: list[Row]) -> Order:
        return self._decode(order_from_rows, lines)

    def _customer_sql(self) -> str:
        return (
            f"SELECT {_SELECT}, {_LINES} FROM orders "
            "JOIN order_lines l ON l.order_id = orders.id WHERE orders.customer_id = %s "
            "ORDER BY orders.placed_at, orders.id, l.line_no"
        )

    def _pages(self, window: Window, size: int) -> Iterator[list[Order]]:
        bounds: Sequence[Any] = ("-infinity", "infinity") if window is None else window
        first = self._page_head + self._page_tail
        later = self._page_head + " AND (placed_at, id) > (%s, %s)" + self._page_tail

        def page_after(after: tuple[datetime, str] | None) -> list[Order]:
            if after is None:
                return self._query(first, (*bounds, size))
            return self._query(later, (*bounds, *after, size))

        return keyset_pages(page_after, lambda last: (last.placed_at, last.id), None)
