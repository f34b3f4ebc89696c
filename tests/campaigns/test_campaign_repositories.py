"""Campaign and follow-up repositories (memory, SQLite :memory: and file) pass their contracts."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from _contract_stores import MemoryStores, SQLiteFileStores, SQLiteMemoryStores
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.testing import CampaignRepositoryContract, FollowUpRepositoryContract


class TestMemoryCampaigns(MemoryStores, CampaignRepositoryContract):
    repository_attribute = "campaigns"


class TestSQLiteMemoryCampaigns(SQLiteMemoryStores, CampaignRepositoryContract):
    repository_attribute = "campaigns"


class TestSQLiteFileCampaigns(SQLiteFileStores, CampaignRepositoryContract):
    repository_attribute = "campaigns"


class TestMemoryFollowUps(MemoryStores, FollowUpRepositoryContract):
    repository_attribute = "followups"


class TestSQLiteMemoryFollowUps(SQLiteMemoryStores, FollowUpRepositoryContract):
    repository_attribute = "followups"


class TestSQLiteFileFollowUps(SQLiteFileStores, FollowUpRepositoryContract):
    repository_attribute = "followups"


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
