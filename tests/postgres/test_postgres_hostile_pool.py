"""A host's pool closed under an open store: a clear StorageError saying so (it once
said "the connection was lost"), and the store works again on an open pool."""

from __future__ import annotations

import pytest
from _pg_support import OnPostgres, drop_schema, new_schema
from psycopg_pool import ConnectionPool

from custmgmt.adapters.postgres import PostgresStore
from custmgmt.errors import NotFound, StorageError


class TestClosedHostPool(OnPostgres):
    def test_a_closed_host_pool_is_named(self) -> None:
        schema = new_schema()
        pool: ConnectionPool = ConnectionPool(self.dsn, min_size=1, max_size=2, open=True)
        try:
            store = PostgresStore(pool, schema=schema)
            pool.close()
            with pytest.raises(StorageError, match="the host's connection pool is closed") as e:
                store.customers.get("客户😀")
            assert "connection was lost" not in str(e.value)
            with (
                ConnectionPool(self.dsn, min_size=1, max_size=2, open=True) as again,
                pytest.raises(NotFound),
            ):
                PostgresStore(again, schema=schema).customers.get("客户😀")
        finally:
            pool.close()
            drop_schema(self.dsn, schema)
