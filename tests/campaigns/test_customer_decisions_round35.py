"""``CampaignRepository.customer_decisions``: every decision about one customer, on
every store (memory, SQLite, PostgreSQL).

Was: the port had no per-customer query (only a campaign's decisions), so the data
subject's access export could not list the decisions about a customer without
reading every campaign. The contract: all of the customer's decisions and no one
else's, by ``decided_at`` (the instant) then campaign id; empty for an unknown
customer or an id no customer can have; exactly what was written; a rolled-back
write leaves nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custmgmt.adapters.memory import MemoryStore
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.campaigns.audience import SendReason
from custmgmt.campaigns.ports import CampaignRepository
from custmgmt.campaigns.records import SendDecision
from custmgmt.testing.campaign_contract import make_campaign

T0 = datetime(2026, 6, 18, 10, tzinfo=UTC)
CST = timezone(timedelta(hours=8))


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    if request.param == "postgres":
        yield request.getfixturevalue("postgres_store")
        return
    made: Any = MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "s.db")
    yield made
    if request.param == "sqlite":
        made.close()


def _decision(campaign_id: str, customer_id: str, reason: SendReason,
              at: datetime = T0) -> SendDecision:
    treated = reason.treated
    return SendDecision(
        campaign_id=campaign_id, customer_id=customer_id, reason=reason, channel="sms",
        decided_at=at, send_at=at + timedelta(hours=1) if treated else None,
        offer_index=0 if treated else None,
        message_id=f"{campaign_id}:{customer_id}" if treated else None,
    )


def test_the_port_declares_the_per_customer_query(store: Any) -> None:
    assert isinstance(store.campaigns, CampaignRepository)
    assert callable(CampaignRepository.customer_decisions)


def test_a_customers_decisions_come_from_every_campaign_by_time_then_campaign(
    store: Any,
) -> None:
    repo = store.campaigns
    for cid in ("K-1", "K-2", "K-3", "K-4"):
        repo.add_campaign(make_campaign(cid))
    later = T0 + timedelta(days=2)
    repo.add_decisions([
        _decision("K-3", "王芳", SendReason.SENT, later),
        _decision("K-2", "王芳", SendReason.HOLDOUT),
        _decision("K-1", "王芳", SendReason.FREQUENCY_CAP),
        _decision("K-1", "C-2", SendReason.SENT),
        _decision("K-4", "王芳x", SendReason.SENT),
    ])
    # The same instant written with another UTC offset sorts as that instant and
    # reads back with its own offset.
    repo.add_decisions([_decision("K-4", "王芳", SendReason.QUIET_HOURS,
                                  (T0 + timedelta(days=1)).astimezone(CST))])
    found = repo.customer_decisions("王芳")
    assert [(d.campaign_id, d.reason.value) for d in found] == [
        ("K-1", "frequency_cap"), ("K-2", "holdout"), ("K-4", "quiet_hours"), ("K-3", "sent")]
    assert found[2].decided_at.utcoffset() == timedelta(hours=8)
    by_campaign = {d.campaign_id: d for c in ("K-1", "K-2", "K-3", "K-4")
                   for d in repo.decisions(c) if d.customer_id == "王芳"}
    assert found == [by_campaign[d.campaign_id] for d in found]
    assert [d.customer_id for d in repo.customer_decisions("C-2")] == ["C-2"]


@pytest.mark.parametrize("customer_id", ["nobody", "", "王", 7, None, "\udc80", "C-2%", "_"])
def test_an_unknown_or_impossible_customer_has_no_decisions(store: Any, customer_id: Any) -> None:
    repo = store.campaigns
    repo.add_campaign(make_campaign("K-1"))
    repo.add_decisions([_decision("K-1", "C-2", SendReason.SENT)])
    assert repo.customer_decisions(customer_id) == []


def test_decisions_rolled_back_with_the_store_transaction_are_not_listed(store: Any) -> None:
    repo = store.campaigns
    repo.add_campaign(make_campaign("K-1"))
    seen: list[int] = []

    def write_then_fail() -> None:
        with store.transaction():
            repo.add_decisions([_decision("K-1", "C-1", SendReason.SENT)])
            seen.append(len(repo.customer_decisions("C-1")))
            raise RuntimeError("roll back")

    with pytest.raises(RuntimeError):
        write_then_fail()
    assert seen == [1]
    assert repo.customer_decisions("C-1") == []


_ids = st.sampled_from(["C-1", "C-2", "王芳", "c-1"])
_pairs = st.lists(
    st.tuples(st.sampled_from(["K-1", "K-2", "K-3"]), _ids,
              st.sampled_from(list(SendReason)), st.integers(0, 3)),
    max_size=20, unique_by=lambda p: (p[0], p[1]),
)


@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow])
@given(pairs=_pairs)
def test_the_query_agrees_with_filtering_every_campaigns_decisions(
    pairs: list[tuple[str, str, SendReason, int]],
) -> None:
    for store in (MemoryStore(), SQLiteStore(":memory:")):
        repo = store.campaigns
        for cid in ("K-1", "K-2", "K-3"):
            repo.add_campaign(make_campaign(cid))
        repo.add_decisions([_decision(c, who, reason, T0 + timedelta(hours=h))
                            for c, who, reason, h in pairs])
        everything = [d for c in ("K-1", "K-2", "K-3") for d in repo.decisions(c)]
        for who in ("C-1", "C-2", "王芳", "c-1"):
            expected = sorted((d for d in everything if d.customer_id == who),
                              key=lambda d: (d.decided_at, d.campaign_id))
            assert repo.customer_decisions(who) == expected
        if isinstance(store, SQLiteStore):
            store.close()
