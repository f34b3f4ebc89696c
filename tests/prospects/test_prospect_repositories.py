"""The prospect and team repositories (memory, SQLite :memory: and file) pass their contracts."""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest

from custmgmt.adapters.memory import MemoryStore
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.prospects import ProspectRepository, ProspectStore
from custmgmt.team import AgentRepository, AssignmentRepository, TeamStore
from custmgmt.testing.prospect_contract import ProspectRepositoryContract, make_prospect
from custmgmt.testing.team_contract import (
    AgentRepositoryContract,
    AssignmentRepositoryContract,
)


class _Stores:
    """Makes a store per repository and hands out its transaction."""

    name = ""

    def open_store(self) -> Any:
        return MemoryStore()

    def make_repository(self) -> Any:
        store = self.open_store()
        repo = getattr(store, self.name)
        self.stores = {**getattr(self, "stores", {}), id(repo): store}
        return repo

    def close_repository(self, repository: Any) -> None:
        self.stores[id(repository)].close()

    def transaction(self, repository: Any) -> AbstractContextManager[None]:
        result: AbstractContextManager[None] = self.stores[id(repository)].transaction()
        return result


class _SQLiteMemory(_Stores):
    def open_store(self) -> Any:
        return SQLiteStore(":memory:")


class _SQLiteFile(_Stores):
    @pytest.fixture(autouse=True)
    def _folder(self, tmp_path: Path) -> None:
        self.folder = tmp_path

    def open_store(self) -> Any:
        return SQLiteStore(self.folder / f"s-{len(getattr(self, 'stores', {}))}.db")


class TestMemoryProspects(_Stores, ProspectRepositoryContract):
    name = "prospects"


class TestSQLiteMemoryProspects(_SQLiteMemory, ProspectRepositoryContract):
    name = "prospects"


class TestSQLiteFileProspects(_SQLiteFile, ProspectRepositoryContract):
    name = "prospects"


class TestMemoryAgents(_Stores, AgentRepositoryContract):
    name = "agents"


class TestSQLiteMemoryAgents(_SQLiteMemory, AgentRepositoryContract):
    name = "agents"


class TestSQLiteFileAgents(_SQLiteFile, AgentRepositoryContract):
    name = "agents"


class TestMemoryAssignments(_Stores, AssignmentRepositoryContract):
    name = "assignments"


class TestSQLiteMemoryAssignments(_SQLiteMemory, AssignmentRepositoryContract):
    name = "assignments"


class TestSQLiteFileAssignments(_SQLiteFile, AssignmentRepositoryContract):
    name = "assignments"


def test_both_stores_offer_the_three_repositories_typed() -> None:
    memory = MemoryStore()
    assert isinstance(memory.prospects, ProspectRepository)
    assert isinstance(memory.agents, AgentRepository)
    assert isinstance(memory.assignments, AssignmentRepository)
    assert isinstance(memory, ProspectStore)
    assert isinstance(memory, TeamStore)
    with SQLiteStore(":memory:") as store:
        assert store.prospects is store.prospects
        assert isinstance(store, ProspectStore)
        assert isinstance(store, TeamStore)
        assert store.schema_version("prospects") == 1
        _ = store.agents
        assert store.schema_version("team") == 1


def test_prospects_survive_reopening_a_file_database(tmp_path: Path) -> None:
    path = tmp_path / "p.db"
    with SQLiteStore(path) as store:
        store.prospects.add(make_prospect(steps=6))
    with SQLiteStore(path) as store:
        assert store.prospects.get("P-1") == make_prospect(steps=6)


def test_a_row_edited_elsewhere_is_a_storage_error(tmp_path: Path) -> None:
    from custmgmt.errors import StorageError

    with SQLiteStore(tmp_path / "x.db") as store:
        store.prospects.add(make_prospect())
        with store.writing() as conn:
            conn.execute("UPDATE prospects SET interests = 'not json'")
        with pytest.raises(StorageError, match="P-1"):
            store.prospects.get("P-1")
