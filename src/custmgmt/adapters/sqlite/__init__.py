"""The SQLite adapter: :class:`SQLiteStore`, on the standard library's :mod:`sqlite3`.

Capability repositories live beside the core store in this package (``ratings.py``,
``tickets.py``); each owns its tables through :meth:`SQLiteStore.apply_migrations`
and writes inside the store's transaction through :meth:`SQLiteStore.writing`.
"""

from custmgmt.adapters.sqlite.store import (
    CORE_MIGRATIONS,
    Migration,
    SQLiteCustomerRepository,
    SQLiteInteractionRepository,
    SQLiteOrderRepository,
    SQLiteStore,
)

__all__ = [
    "CORE_MIGRATIONS",
    "Migration",
    "SQLiteCustomerRepository",
    "SQLiteInteractionRepository",
    "SQLiteOrderRepository",
    "SQLiteStore",
]
