"""Both bundled stores pass the ColumnarStoreContract: their frames equal the entity frames."""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from pathlib import Path

from custmgmt.adapters.memory import MemoryStore
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.ports import ColumnarStore
from custmgmt.testing import ColumnarStoreContract


class TestMemoryStoreFrames(ColumnarStoreContract):
    def make_store(self) -> ColumnarStore:
        return MemoryStore()


class TestSQLiteStoreFramesInMemory(ColumnarStoreContract):
    def make_store(self) -> ColumnarStore:
        return SQLiteStore(":memory:")


class TestSQLiteStoreFramesOnAFile(ColumnarStoreContract):
    max_examples = 10

    def make_store(self) -> ColumnarStore:
        self.directory = Path(tempfile.mkdtemp(prefix="custmgmt-frames-"))
        return SQLiteStore(self.directory / "store.sqlite3")

    def close_store(self, store: ColumnarStore) -> None:
        store.close()
        shutil.rmtree(self.directory)


class TestSQLiteStoreFramesOnAHostOwnedConnection(ColumnarStoreContract):
    max_examples = 10

    def make_store(self) -> ColumnarStore:
        # The sqlite3 module's default (implicit transaction) settings.
        self.connection = sqlite3.connect(":memory:")
        return SQLiteStore(self.connection)

    def close_store(self, store: ColumnarStore) -> None:
        store.close()
        self.connection.close()
