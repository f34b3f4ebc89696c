"""Order lines as columns, straight from PostgreSQL (see
:class:`custmgmt.recommend.ports.OrderLineReader`).

One ``SELECT`` over the core ``order_lines`` table joined to ``orders`` on the indexed
``placed_at`` window, in the order the port promises: order id (``COLLATE "C"``, the
order Python compares strings in), then line number. No entity objects are made, and
the reader owns no table.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np

from custmgmt.adapters.postgres.database import PostgresDatabase
from custmgmt.domain.time import require_aware
from custmgmt.recommend.ports import LineColumns

__all__ = ["PostgresOrderLineReader"]


class PostgresOrderLineReader:
    """Reads order lines of a :class:`~custmgmt.adapters.postgres.PostgresStore` as columns.

    Args:
        store: the PostgreSQL store (``store.purchase_lines``).
    """

    def __init__(self, store: PostgresDatabase) -> None:
        self._store = store

    def line_columns(
        self, *, since: datetime | None = None, as_of: datetime | None = None
    ) -> LineColumns:
        """Lines of orders placed in ``[since, as_of]`` (see ``OrderLineReader.line_columns``).

        Raises:
            ValidationError: a naive ``since`` or ``as_of``.
            StorageError: the database failed.
        """
        clauses: list[str] = []
        params: list[Any] = []
        if since is not None:
            clauses.append("o.placed_at >= %s")
            params.append(require_aware("since", since))
        if as_of is not None:
            clauses.append("o.placed_at <= %s")
            params.append(require_aware("as_of", as_of))
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._store.fetch(
            "SELECT l.order_id, l.sku, l.quantity FROM order_lines l "
            f"JOIN orders o ON o.id = l.order_id {where} ORDER BY l.order_id, l.line_no",
            params,
            doing="reading order lines",
        )
        order_id = np.empty(len(rows), dtype=object)
        sku = np.empty(len(rows), dtype=object)
        order_id[:] = [r[0] for r in rows]
        sku[:] = [r[1] for r in rows]
        return LineColumns(
            order_id=order_id, sku=sku, quantity=np.array([r[2] for r in rows], dtype=np.int64)
        )
