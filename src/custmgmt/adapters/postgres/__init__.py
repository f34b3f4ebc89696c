"""The PostgreSQL adapter: :class:`PostgresStore`, on psycopg 3 (the ``postgres`` extra).

One module per part, as in the SQLite adapter: ``schema`` (tables and migrations),
``codecs`` (entities to rows and back), ``database`` (connections, transactions,
retries and migrations every repository shares), ``repository`` (what the core
repositories share), ``customers``, ``orders``, ``interactions``, ``frames`` (the
columnar read port), and one module per capability (``ratings``, ``tickets`` and
each other one ``store`` registers; ``_engagement`` is what ``campaigns`` and
``followups`` share);
``store`` puts them together, registering each capability with one
``Capability(...)`` line.
"""

from custmgmt.adapters.postgres.customers import PostgresCustomerRepository
from custmgmt.adapters.postgres.database import PostgresDatabase
from custmgmt.adapters.postgres.interactions import PostgresInteractionRepository
from custmgmt.adapters.postgres.orders import PostgresOrderRepository
from custmgmt.adapters.postgres.schema import CORE_MIGRATIONS, Migration
from custmgmt.adapters.postgres.store import PostgresStore

__all__ = [
    "CORE_MIGRATIONS",
    "Migration",
    "PostgresCustomerRepository",
    "PostgresDatabase",
    "PostgresInteractionRepository",
    "PostgresOrderRepository",
    "PostgresStore",
]
