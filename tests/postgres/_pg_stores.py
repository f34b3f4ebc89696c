"""Stores and repositories for the PostgreSQL contract suites: each store in a schema
of its own, dropped when the store is released."""

from __future__ import annotations

from typing import Any

from _pg_support import OnPostgres, drop_schema, new_schema

from _contract_stores import StoreRepositories
from custmgmt.adapters.postgres import PostgresStore


class SchemaStores(OnPostgres):
    """Mixin: :meth:`open_store` gives a store in a new schema, :meth:`release` closes
    it and drops the schema."""

    def open_store(self) -> PostgresStore:
        schema = new_schema()
        store = PostgresStore(self.dsn, schema=schema, pool_size=2)
        self.schemas = {**getattr(self, "schemas", {}), id(store): schema}
        return store

    def release(self, store: Any) -> None:
        store.close()
        drop_schema(self.dsn, self.schemas.pop(id(store)))


class PostgresRepositories(SchemaStores, StoreRepositories):
    """Mixin for a repository contract suite (put it before the contract, name the
    store's ``repository_attribute``): each repository from a store in a schema of
    its own, dropped when the repository is closed."""

    def close_store(self, store: Any) -> None:
        self.release(store)
