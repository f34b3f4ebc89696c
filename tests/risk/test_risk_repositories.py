"""The risk repositories (memory, SQLite :memory: and file) pass the contract suite."""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from custmgmt.adapters.memory import MemoryStore
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.errors import StorageError
from custmgmt.risk.ports import RiskRepository
from custmgmt.testing.risk_contract import RiskRepositoryContract, make_restriction


class TestMemoryRisk(RiskRepositoryContract):
    def make_repository(self) -> RiskRepository:
        store = MemoryStore()
        self.stores = {**getattr(self, "stores", {}), id(store.risk): store}
        return store.risk

    def transaction(self, repository: RiskRepository) -> AbstractContextManager[None]:
        return self.stores[id(repository)].transaction()


class TestSQLiteRisk(RiskRepositoryContract):
    def make_repository(self) -> RiskRepository:
        store = SQLiteStore(":memory:")
        self.stores = {**getattr(self, "stores", {}), id(store.risk): store}
        return store.risk

    def close_repository(self, repository: RiskRepository) -> None:
        self.stores[id(repository)].close()

    def transaction(self, repository: RiskRepository) -> AbstractContextManager[None]:
        return self.stores[id(repository)].transaction()


def test_risk_data_survives_reopening_the_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "risk.sqlite3"
    store = SQLiteStore(path)
    store.risk.add_restriction(make_restriction())
    store.close()
    again = SQLiteStore(path)
    assert again.risk.get_restriction("R-1") == make_restriction()
    again.close()


def test_the_sqlite_audit_trail_refuses_a_hand_written_delete(tmp_path: Path) -> None:
    path = tmp_path / "risk.sqlite3"
    store = SQLiteStore(path)
    store.risk.add_restriction(make_restriction())
    store.close()
    conn = sqlite3.connect(path)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("DELETE FROM risk_restriction_events")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("UPDATE risk_restriction_events SET doc = '{}'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("DELETE FROM risk_restrictions")
    conn.close()
    again = SQLiteStore(path)
    assert [e.action for e in again.risk.get_restriction("R-1").events] == ["imposed"]
    again.close()


def test_a_closed_sqlite_store_reports_a_storage_error() -> None:
    store = SQLiteStore(":memory:")
    repo = store.risk
    store.close()
    with pytest.raises(StorageError):
        repo.find_restrictions()
