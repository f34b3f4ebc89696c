"""Storage adapters implementing :mod:`custmgmt.ports`.

* :mod:`custmgmt.adapters.memory`: :class:`MemoryStore`, the default and the fast fake.
* :mod:`custmgmt.adapters.sqlite`: :class:`SQLiteStore`, on the standard library's sqlite3.
* :mod:`custmgmt.adapters.postgres`: :class:`PostgresStore`, on psycopg 3 (the
  ``postgres`` extra), for many concurrent writers.
"""

__all__: list[str] = []
