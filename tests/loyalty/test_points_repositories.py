"""The points repositories (memory, SQLite file and :memory:) pass the contract suite."""

from __future__ import annotations

from pathlib import Path

import pytest

from _contract_stores import MemoryStores, SQLiteFileStores, SQLiteMemoryStores
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.errors import StorageError
from custmgmt.testing import PointsRepositoryContract
from custmgmt.testing.loyalty_contract import make_entry


class TestMemoryPoints(MemoryStores, PointsRepositoryContract):
    repository_attribute = "loyalty"


class TestSQLiteMemoryPoints(SQLiteMemoryStores, PointsRepositoryContract):
    repository_attribute = "loyalty"


class TestSQLiteFilePoints(SQLiteFileStores, PointsRepositoryContract):
    repository_attribute = "loyalty"


def test_the_ledger_survives_reopening_the_file(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    with SQLiteStore(path) as store:
        store.loyalty.append(make_entry(1, customer_id="客户-甲"))
    with SQLiteStore(path, mode="existing") as store:
        assert store.loyalty.entries("客户-甲") == [make_entry(1, customer_id="客户-甲")]
        assert store.schema_version("loyalty") == 1


def test_a_snapshot_edited_into_nonsense_is_a_storage_error(tmp_path: Path) -> None:
    from custmgmt.loyalty import replay

    with SQLiteStore(tmp_path / "s.sqlite3") as store:
        store.loyalty.append(make_entry(1))
        store.loyalty.save_snapshot(replay(store.loyalty.entries("C-1")))
        store.connection.execute("UPDATE points_snapshots SET body = '{\"seq\": 1}'")
        with pytest.raises(StorageError, match="C-1"):
            store.loyalty.snapshot("C-1")


def test_a_read_only_store_that_never_had_a_ledger_reads_empty_ledgers(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    # As a store made before the loyalty capability existed: no tables, no version.
    with SQLiteStore(path) as store, store.writing() as conn:
        conn.execute("DROP TABLE points_entries")
        conn.execute("DROP TABLE points_snapshots")
        conn.execute("DROP TABLE tier_changes")
        conn.execute("DELETE FROM custmgmt_schema WHERE component = 'loyalty'")
    with SQLiteStore(path, mode="read_only") as store:
        assert store.loyalty.entries("C-1") == []
        assert store.loyalty.last_seq("C-1") == 0
        assert store.loyalty.count() == 0
        assert store.loyalty.snapshot("C-1") is None
    with SQLiteStore(path, mode="existing") as store:  # writable: the tables are made
        store.loyalty.append(make_entry(1))
        assert store.schema_version("loyalty") == 1
