"""Orders in SQLite, their lines in ``order_lines``."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence

import numpy as np
import numpy.typing as npt

from custmgmt.adapters._sql_core_reads import OrderReads, Window, keyset_pages
from custmgmt.adapters.sqlite.codecs import _line_rows, _order_row, order_from_rows
from custmgmt.adapters.sqlite.database import SQLiteDatabase
from custmgmt.adapters.sqlite.repository import _SQLiteRepository
from custmgmt.adapters.sqlite.schema import (
    LINE_COLUMNS,
    MAX_US,
    MIN_US,
    ORDER_COLUMNS,
    ORDER_WRITE_COLUMNS,
    PAGE,
    Row,
    insert_sql,
)
from custmgmt.analytics.batches import OrderBatch
from custmgmt.analytics.frames import STATUS_CODES
from custmgmt.domain import CURRENCY_DIGITS, Order
from custmgmt.domain.time import to_epoch_micros as _micros
from custmgmt.errors import ValidationError

__all__ = ["SQLiteOrderRepository", "batch_rows"]


def _decimal_texts(minor: npt.NDArray[np.int64], currency: str) -> list[str]:
    """``str(Money.from_minor(m, currency).amount)`` of each value (``"19.90"``), as the
    entity codec writes prices, without building a Decimal per value."""
    digits = CURRENCY_DIGITS[currency]
    if digits == 0:
        return [str(m) for m in minor.tolist()]
    whole, part = np.divmod(minor, 10**digits)
    return [f"{w}.{p:0{digits}d}" for w, p in zip(whole.tolist(), part.tolist(), strict=True)]


def batch_rows(batch: OrderBatch) -> tuple[list[Row], list[Row]]:
    """The ``orders`` rows (``ORDER_WRITE_COLUMNS``) and ``order_lines`` rows of a
    batch: exactly what :func:`~custmgmt.adapters.sqlite.codecs.order_to_rows` gives
    for each of ``batch.to_orders()``, built column by column."""
    ids: list[str] = batch.order_id.tolist()
    n = len(ids)
    status_text = np.array([s.value for s in STATUS_CODES], dtype=object)[batch.status]
    prices = _decimal_texts(batch.amount, batch.currency)
    refunds = batch.returned_amount
    refund_text: list[str | None] = [None] * n
    if refunds.any():
        rows = np.flatnonzero(refunds)
        for row, text in zip(rows.tolist(), _decimal_texts(refunds[rows], batch.currency),
                             strict=True):  # fmt: skip
            refund_text[row] = text
    steps: list[list[int | None]] = []
    step_times = batch.step_times()
    for name in ("paid_at", "shipped_at", "delivered_at", "cancelled_at", "returned_at"):
        absent = step_times[name] == np.iinfo(np.int64).min
        micros = step_times[name].astype(object)
        micros[absent] = None
        offset = np.zeros(n, dtype=object)
        offset[absent] = None
        steps += [micros.tolist(), offset.tolist()]
    zeros = [0] * n
    customers = batch.customer_id.tolist()
    categories = batch.category.tolist()
    order_rows = list(
        zip(
            ids, [1] * n, customers, batch.placed_at.tolist(), zeros,
            status_text.tolist(), [batch.currency] * n, *steps, refund_text,
            batch.channel.tolist(), batch.amount.tolist(), refunds.tolist(),
            categories, [None] * n,
            strict=True,
        )
    )  # fmt: skip
    line_rows = list(zip(ids, zeros, batch.sku.tolist(), categories, [1] * n, prices, strict=True))
    return order_rows, line_rows


class SQLiteOrderRepository(OrderReads, _SQLiteRepository[Order]):
    """Orders in SQLite, lines in ``order_lines`` (see :class:`custmgmt.ports.OrderRepository`)."""

    entity_name = "order"
    entity_type = Order
    table = "orders"
    columns = ORDER_WRITE_COLUMNS
    page_size = PAGE

    def __init__(self, store: SQLiteDatabase) -> None:
        super().__init__(store)
        self._insert_lines = insert_sql("order_lines", LINE_COLUMNS)
        self._page_sql = (
            f"WITH page AS (SELECT {ORDER_COLUMNS} FROM orders "
            "WHERE (placed_us, id) > (?, ?) AND placed_us < ? ORDER BY placed_us, id LIMIT ?) "
            f"SELECT page.*, l.sku, l.category, l.quantity, l.unit_price FROM page "
            "JOIN order_lines l ON l.order_id = page.id "
            "ORDER BY page.placed_us, page.id, l.line_no"
        )

    def load_batch(self, batch: OrderBatch) -> int:
        """Store the orders of a validated batch, all or nothing, from its columns.

        The rows are exactly those :meth:`add_many` writes for ``batch.to_orders()``
        (see :meth:`custmgmt.ports.ColumnarStore.load_orders`), built column by column
        without creating an entity.

        Raises:
            Conflict: an order id is already stored; nothing is written.
            ValidationError: ``batch`` is not an OrderBatch.
            StorageError: the database failed; nothing is written.
        """
        if not isinstance(batch, OrderBatch):
            raise ValidationError("batch", type(batch).__name__, "an OrderBatch")
        order_rows, line_rows = batch_rows(batch)
        ids = [row[0] for row in order_rows]

        def write(conn: sqlite3.Connection) -> None:
            conn.executemany(self._insert, order_rows)
            conn.executemany(self._insert_lines, line_rows)

        return self._insert_encoded(ids, write)

    def _encode(self, entity: Order) -> Row:
        return _order_row(entity)

    def _write_children(self, conn: sqlite3.Connection, entities: Sequence[Order]) -> None:
        lines: list[Row] = []
        for order in entities:
            lines.extend(_line_rows(order))
        conn.executemany(self._insert_lines, lines)

    def _delete_children(self, conn: sqlite3.Connection, entity_id: str) -> None:
        conn.execute("DELETE FROM order_lines WHERE order_id = ?", (entity_id,))

    def _by_id_sql(self) -> str:
        return (
            f"SELECT o.*, l.sku, l.category, l.quantity, l.unit_price FROM "
            f"(SELECT {ORDER_COLUMNS} FROM orders WHERE id = ?) o "
            "JOIN order_lines l ON l.order_id = o.id ORDER BY l.line_no"
        )

    def _order_of(self, lines: list[Row]) -> Order:
        return self._decode(order_from_rows, lines)

    def _customer_sql(self) -> str:
        return (
            f"SELECT o.*, l.sku, l.category, l.quantity, l.unit_price FROM "
            f"(SELECT {ORDER_COLUMNS} FROM orders WHERE customer_id = ?) o "
            "JOIN order_lines l ON l.order_id = o.id ORDER BY o.placed_us, o.id, l.line_no"
        )

    def _pages(self, window: Window, size: int) -> Iterator[list[Order]]:
        lo, hi = (MIN_US, MAX_US) if window is None else (_micros(window[0]), _micros(window[1]))
        return keyset_pages(
            lambda after: self._query(self._page_sql, (*after, hi, size)),
            lambda last: (_micros(last.placed_at), last.id),
            (lo, ""),
        )
