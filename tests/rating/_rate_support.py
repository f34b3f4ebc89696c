"""A small SQLite store for the ``rate --db`` tests."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.testing import make_customer, make_order


def three_customer_store(db: Path) -> Path:
    """``db`` holding customers c0..c2 with one order each (June 2025)."""
    store = SQLiteStore(db)
    for k in range(3):
        store.customers.add(make_customer(id=f"c{k}"))
        store.orders.add(make_order(id=f"o{k}", customer_id=f"c{k}",
                                    placed_at=datetime(2025, 6, k + 1, tzinfo=UTC)))
    store.close()
    return db
