"""Stores for the repository contract suites of the adapters, shared by the
capabilities' test folders: each repository is an attribute of a store of its own,
in memory, in an SQLite ``:memory:`` database or in an SQLite file (PostgreSQL's are
in ``tests/postgres/_pg_stores.py``).

Put the mixin before the contract and name the store's attribute::

    class TestSQLiteFileProspects(SQLiteFileStores, ProspectRepositoryContract):
        repository_attribute = "prospects"
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, ClassVar

import pytest

from custmgmt.adapters.memory import MemoryStore
from custmgmt.adapters.sqlite import SQLiteStore


class StoreRepositories:
    """Each repository from a store of its own (:meth:`open_store`), released with
    it (:meth:`close_store`); the store's transaction is the repository's."""

    #: The store's attribute holding the repository under test (``"prospects"`` ...).
    repository_attribute: ClassVar[str]
    stores: dict[int, Any]

    def open_store(self) -> Any:
        raise NotImplementedError("define open_store() in the subclass")

    def close_store(self, store: Any) -> None:
        store.close()

    def make_repository(self) -> Any:
        store = self.open_store()
        repository = getattr(store, self.repository_attribute)
        self.stores = {**getattr(self, "stores", {}), id(repository): store}
        return repository

    def close_repository(self, repository: Any) -> None:
        self.close_store(self.stores[id(repository)])

    def transaction(self, repository: Any) -> AbstractContextManager[None]:
        result: AbstractContextManager[None] = self.stores[id(repository)].transaction()
        return result


class MemoryStores(StoreRepositories):
    """A :class:`MemoryStore` per repository."""

    def open_store(self) -> Any:
        return MemoryStore()


class SQLiteMemoryStores(StoreRepositories):
    """An SQLite ``:memory:`` store per repository."""

    def open_store(self) -> Any:
        return SQLiteStore(":memory:")


class SQLiteFileStores(StoreRepositories):
    """An SQLite file per repository, in the test's temporary folder."""

    @pytest.fixture(autouse=True)
    def _folder(self, tmp_path: Path) -> None:
        self.folder = tmp_path

    def open_store(self) -> Any:
        return SQLiteStore(self.folder / f"s-{len(getattr(self, 'stores', {}))}.db")
