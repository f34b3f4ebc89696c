"""Both bundled adapters pass the same StoreContract, in every way they can be opened."""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from pathlib import Path

from custmgmt.adapters.memory import MemoryStore
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.ports import Store
from custmgmt.testing import StoreContract


class TestMemoryStore(StoreContract):
    def make_store(self) -> Store:
        return MemoryStore()


class TestSQLiteStoreOnAFile(StoreContract):
    def make_store(self) -> Store:
        self.directory = Path(tempfile.mkdtemp(prefix="custmgmt-"))
        return SQLiteStore(self.directory / "store.sqlite3")

    def close_store(self, store: Store) -> None:
        store.close()
        shutil.rmtree(self.directory)


class TestSQLiteStoreInMemory(StoreContract):
    def make_store(self) -> Store:
        return SQLiteStore(":memory:")


class TestSQLiteStoreVerifyingReads(StoreContract):
    def make_store(self) -> Store:
        return SQLiteStore(":memory:", verify_reads=True)


class TestSQLiteStoreOnAHostOwnedConnection(StoreContract):
    # sqlite3's default connection may only be used by the thread that made it.
    threads_share_the_store = False

    def make_store(self) -> Store:
        # The host's own connection, with the sqlite3 module's default (implicit
        # transaction) settings: the store must manage its transactions regardless.
        self.connection = sqlite3.connect(":memory:")
        return SQLiteStore(self.connection)

    def close_store(self, store: Store) -> None:
        store.close()
        # The store left the host's connection open and usable.
        assert self.connection.execute("SELECT 1").fetchone() == (1,)
        self.connection.close()
