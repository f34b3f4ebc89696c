"""Campaign and follow-up repositories (memory, SQLite :memory: and file) pass their contracts."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from custmgmt.adapters.memory import MemoryStore
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.testing import CampaignRepositoryContract, FollowUpRepositoryContract


class _Stores:
    stores: dict[int, Any]

    def open_store(self) -> Any:
        raise NotImplementedError

    def _remember(self, repo: Any, store: Any) -> Any:
        self.stores = {**getattr(self, "stores", {}), id(repo): store}
        return repo

    def close_repository(self, repository: Any) -> None:
        self.stores[id(repository)].close()

    def transaction(self, repository: Any) -> AbstractContextManager[None]:
        result: AbstractContextManager[None] = self.stores[id(repository)].transaction()
        return result


class _Campaigns(_Stores, CampaignRepositoryContract):
    def make_repository(self) -> Any:
        store = self.open_store()
        return self._remember(store.campaigns, store)


class _FollowUps(_Stores, FollowUpRepositoryContract):
    def make_repository(self) -> Any:
        store = self.open_store()
        return self._remember(store.followups, store)


class TestMemoryCampaigns(_Campaigns):
    def open_store(self) -> Any:
        return MemoryStore()


class TestSQLiteMemoryCampaigns(_Campaigns):
    def open_store(self) -> Any:
        return SQLiteStore(":memory:")


class TestSQLiteFileCampaigns(_Campaigns):
    @pytest.fixture(autouse=True)
    def _dir(self, tmp_path: Path) -> None:
        self.path = tmp_path

    def open_store(self) -> Any:
        return SQLiteStore(self.path / f"c{len(getattr(self, 'stores', {}))}.sqlite3")


class TestMemoryFollowUps(_FollowUps):
    def open_store(self) -> Any:
        return MemoryStore()


class TestSQLiteMemoryFollowUps(_FollowUps):
    def open_store(self) -> Any:
        return SQLiteStore(":memory:")


class TestSQLiteFileFollowUps(_FollowUps):
    @pytest.fixture(autouse=True)
    def _dir(self, tmp_path: Path) -> None:
        self.path = tmp_path

    def open_store(self) -> Any:
        return SQLiteStore(self.path / f"f{len(getattr(self, 'stores', {}))}.sqlite3")


def test_a_reopened_sqlite_file_keeps_campaigns_and_plans(tmp_path: Path) -> None:
    from custmgmt.testing.campaign_contract import make_campaign
    from custmgmt.testing.followup_contract import make_plan

    path = tmp_path / "s.sqlite3"
    with SQLiteStore(path) as store:
        store.campaigns.add_campaign(make_campaign())
        store.followups.add_plan(make_plan())
    with SQLiteStore(path) as store:
        assert store.campaigns.get_campaign("C-1") == make_campaign()
        assert store.followups.get_plan("P-1") == make_plan()


def test_a_store_made_before_these_capabilities_reads_as_empty_when_read_only(
    tmp_path: Path,
) -> None:
    import sqlite3

    path = tmp_path / "old.sqlite3"
    with SQLiteStore(path):
        pass
    # Forget the two components, as in a file written by an earlier version.
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("DELETE FROM custmgmt_schema WHERE component IN ('campaigns', 'followups')")
        for table in ("campaign_sends", "campaign_suppressions", "campaign_draws", "campaigns",
                      "followup_contacts", "followup_plans"):
            conn.execute(f"DROP TABLE {table}")
    conn.close()
    with SQLiteStore(path, mode="read_only") as store:
        assert store.campaigns.list_campaigns() == []
        assert store.campaigns.count_decisions() == 0
        assert store.followups.plans() == []
        assert len(store.campaigns.send_log(datetime(2026, 1, 1, tzinfo=UTC))) == 0
    with SQLiteStore(path, mode="existing") as store:  # writable: the tables are made
        assert store.schema_version("campaigns") == 1
        assert store.followups.contacts() == []
