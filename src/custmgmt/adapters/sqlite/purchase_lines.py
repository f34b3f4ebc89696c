"""Order lines as columns, straight from SQLite (see
:class:`custmgmt.recommend.ports.OrderLineReader`).

One ``SELECT`` over the core ``order_lines`` table joined to ``orders`` on the indexed
``placed_us`` window; no entity objects are made. The reader owns no table.

>>> from custmgmt.adapters.sqlite import SQLiteStore
>>> store = SQLiteStore(":memory:")
>>> len(store.purchase_lines.line_columns())
0
>>> store.close()
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

import numpy as np

from custmgmt.adapters.sqlite.database import SQLiteDatabase
from custmgmt.domain.time import require_aware, to_epoch_micros
from custmgmt.errors import StorageError
from custmgmt.recommend.ports import LineColumns

__all__ = ["SQLiteOrderLineReader"]


class SQLiteOrderLineReader:
    """Reads order lines of an :class:`~custmgmt.adapters.sqlite.SQLiteStore` as columns.

    Args:
        store: the SQLite store (``store.purchase_lines``).
    """

    def __init__(self, store: SQLiteDatabase) -> None:
        self._store = store

    def line_columns(
        self, *, since: datetime | None = None, as_of: datetime | None = None
    ) -> LineColumns:
        """Lines of orders placed in ``[since, as_of]`` (see ``OrderLineReader.line_columns``)."""
        clauses: list[str] = []
        params: list[Any] = []
        if since is not None:
            clauses.append("o.placed_us >= ?")
            params.append(to_epoch_micros(require_aware("since", since)))
        if as_of is not None:
            clauses.append("o.placed_us <= ?")
            params.append(to_epoch_micros(require_aware("as_of", as_of)))
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        sql = (
            "SELECT l.order_id, l.sku, l.quantity FROM order_lines l "
            f"JOIN orders o ON o.id = l.order_id {where} ORDER BY l.order_id, l.line_no"
        )
        with self._store.lock:
            try:
                rows = self._store.connection.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise StorageError(f"sqlite: reading order lines failed: {exc}") from exc
        order_id = np.empty(len(rows), dtype=object)
        sku = np.empty(len(rows), dtype=object)
        order_id[:] = [r[0] for r in rows]
        sku[:] = [r[1] for r in rows]
        return LineColumns(
            order_id=order_id, sku=sku, quantity=np.array([r[2] for r in rows], dtype=np.int64)
        )
