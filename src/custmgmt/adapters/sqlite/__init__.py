"""The SQLite adapter: :class:`SQLiteStore`, on the standard library's :mod:`sqlite3`.

One module per part: ``schema`` (tables and migrations), ``codecs`` (entities to rows
and back), ``database`` (the connection, transactions and migrations every repository
shares), ``repository`` (what the core repositories share), ``customers``, ``orders``,
``interactions``, and one module per capability (``ratings``, ``tickets``); ``store``
puts them together, registering each capability with one ``Capability(...)`` line.
"""

from custmgmt.adapters.sqlite.customers import SQLiteCustomerRepository
from custmgmt.adapters.sqlite.database import SQLiteDatabase
from custmgmt.adapters.sqlite.interactions import SQLiteInteractionRepository
from custmgmt.adapters.sqlite.orders import SQLiteOrderRepository
from custmgmt.adapters.sqlite.schema import CORE_MIGRATIONS, Migration
from custmgmt.adapters.sqlite.store import SQLiteStore

__all__ = [
    "CORE_MIGRATIONS",
    "Migration",
    "SQLiteCustomerRepository",
    "SQLiteDatabase",
    "SQLiteInteractionRepository",
    "SQLiteOrderRepository",
    "SQLiteStore",
]
