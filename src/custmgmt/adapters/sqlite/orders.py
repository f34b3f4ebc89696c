"""Orders in SQLite, their lines in ``order_lines``."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from custmgmt.adapters._checks import check_chunk_size, check_range
from custmgmt.adapters.sqlite.codecs import _instant, _line_rows, _order_row, order_from_rows
from custmgmt.adapters.sqlite.database import SQLiteDatabase
from custmgmt.adapters.sqlite.repository import _SQLiteRepository
from custmgmt.adapters.sqlite.schema import (
    LINE_COLUMNS,
    MAX_US,
    MIN_US,
    ORDER_COLUMNS,
    PAGE,
    Row,
    insert_sql,
)
from custmgmt.domain import (
    Order,
)
from custmgmt.ports import DEFAULT_CHUNK_SIZE

__all__ = ["SQLiteOrderRepository"]



class SQLiteOrderRepository(_SQLiteRepository[Order]):
    """Orders in SQLite, lines in ``order_lines`` (see :class:`custmgmt.ports.OrderRepository`)."""

    entity_name = "order"
    entity_type = Order
    table = "orders"
    columns = ORDER_COLUMNS

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
            f"SELECT o.*, l.sku, l.category, l.quantity, l.unit_price FROM "
            f"(SELECT {ORDER_COLUMNS} FROM orders WHERE customer_id = ?) o "
            "JOIN order_lines l ON l.order_id = o.id ORDER BY o.placed_us, o.id, l.line_no",
            (customer_id,),
        )

    def between(self, start: datetime, end: datetime) -> Iterator[Order]:
        """Orders placed in ``[start, end)``, by ``placed_at`` then id, fetched page by page.

        Raises:
            ValidationError: ``start`` or ``end`` is naive, or ``end < start``.
        """
        lo, hi = check_range(start, end)
        return self._pages(lo, hi, PAGE, flatten=True)  # type: ignore[return-value]

    def iter_chunks(self, size: int = DEFAULT_CHUNK_SIZE) -> Iterator[Sequence[Order]]:
        """Every order by ``placed_at`` then id, in chunks of at most ``size``.

        Raises:
            ValidationError: ``size`` is not a positive integer.
        """
        check_chunk_size(size)
        return self._pages(MIN_US, MAX_US, size, flatten=False)  # type: ignore[return-value]

    def _pages(
        self, lo: int, hi: int, size: int, *, flatten: bool
    ) -> Iterator[Order | Sequence[Order]]:
        after: tuple[int, str] = (lo, "")
        while True:
            page = self._query(self._page_sql, (*after, hi, size))
            if not page:
                return
            if flatten:
                yield from page
            else:
                yield page
            last = page[-1]
            after = (_instant(last.placed_at)[0], last.id)
