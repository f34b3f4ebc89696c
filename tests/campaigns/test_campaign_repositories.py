"""Campaign and follow-up repositories (memory, SQLite :memory: and file) pass their contracts."""

from __future__ import annotations

from contextlib import AbstractContextManager
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
