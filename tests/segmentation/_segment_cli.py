"""What the ``custmgmt segment`` command tests share: a small orders CSV and a store of
the bundled dataset."""

from __future__ import annotations

from pathlib import Path

from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.datasets import load_into, make_dataset

#: Three customers: 张三 buys every ten days then falls silent, li spends most.
ORDERS_CSV = """customer_id,placed_at,amount,category
张三,2025-01-01,100.00,tea
张三,2025-01-11,120.00,tea
张三,2025-01-21,90.50,tea
li,2025-01-05,5000,electronics
li,2025-03-01,4000,electronics
wang,2025-02-01,20,books
"""


def write_orders(tmp_path: Path, text: str = ORDERS_CSV) -> Path:
    """``text`` as ``orders.csv`` in ``tmp_path``."""
    path = tmp_path / "orders.csv"
    path.write_text(text, encoding="utf-8")
    return path


def store_of_60_customers(tmp_path: Path) -> Path:
    """An SQLite file in ``tmp_path`` holding the bundled dataset's 60 customers
    (seed 3), closed again for the command to open."""
    db = tmp_path / "store.sqlite3"
    store = SQLiteStore(db)
    try:
        load_into(store, make_dataset(n_customers=60, seed=3))
    finally:
        store.close()
    return db
