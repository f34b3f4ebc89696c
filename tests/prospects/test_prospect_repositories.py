"""The prospect and team repositories (memory, SQLite :memory: and file) pass their contracts."""

from __future__ import annotations

from pathlib import Path

import pytest

from _contract_stores import MemoryStores, SQLiteFileStores, SQLiteMemoryStores
from custmgmt.adapters.memory import MemoryStore
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.prospects import ProspectRepository, ProspectStore
from custmgmt.team import AgentRepository, AssignmentRepository, TeamStore
from custmgmt.testing.prospect_contract import ProspectRepositoryContract, make_prospect
from custmgmt.testing.team_contract import (
    AgentRepositoryContract,
    AssignmentRepositoryContract,
)


class TestMemoryProspects(MemoryStores, ProspectRepositoryContract):
    repository_attribute = "prospects"


class TestSQLiteMemoryProspects(SQLiteMemoryStores, ProspectRepositoryContract):
    repository_attribute = "prospects"


class TestSQLiteFileProspects(SQLiteFileStores, ProspectRepositoryContract):
    repository_attribute = "prospects"


class TestMemoryAgents(MemoryStores, AgentRepositoryContract):
    repository_attribute = "agents"


class TestSQLiteMemoryAgents(SQLiteMemoryStores, AgentRepositoryContract):
    repository_attribute = "agents"


class TestSQLiteFileAgents(SQLiteFileStores, AgentRepositoryContract):
    repository_attribute = "agents"


class TestMemoryAssignments(MemoryStores, AssignmentRepositoryContract):
    repository_attribute = "assignments"


class TestSQLiteMemoryAssignments(SQLiteMemoryStores, AssignmentRepositoryContract):
    repository_attribute = "assignments"


class TestSQLiteFileAssignments(SQLiteFileStores, AssignmentRepositoryContract):
    repository_attribute = "assignments"


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
