"""``CampaignRepository.customer_decisions`` against a slow reference.

Was: the port had no per-customer query (only a campaign's decisions), so the data
subject's access export could not list the decisions about a customer without
reading every campaign. The contract itself (all of a customer's decisions and
no one else's, by ``decided_at`` then campaign id across UTC offsets; empty for an
unknown customer or an id no customer can have; a rolled-back write leaves nothing)
is ``CampaignRepositoryContract``'s, run on memory, SQLite and PostgreSQL by
``tests/campaigns/test_campaign_repositories.py`` and
``tests/postgres/test_postgres_contracts.py``. Here: random decisions, written with
random UTC offsets, agree with filtering every campaign's decisions.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custmgmt.adapters.memory import MemoryStore
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.campaigns.audience import SendReason
from custmgmt.campaigns.records import SendDecision
from custmgmt.testing.campaign_contract import make_campaign

T0 = datetime(2026, 6, 18, 10, tzinfo=UTC)


def _decision(campaign_id: str, customer_id: str, reason: SendReason,
              at: datetime = T0) -> SendDecision:
    treated = reason.treated
    return SendDecision(
        campaign_id=campaign_id, customer_id=customer_id, reason=reason, channel="sms",
        decided_at=at, send_at=at + timedelta(hours=1) if treated else None,
        offer_index=0 if treated else None,
        message_id=f"{campaign_id}:{customer_id}" if treated else None,
    )


_ids = st.sampled_from(["C-1", "C-2", "王芳", "c-1"])
_pairs = st.lists(
    st.tuples(st.sampled_from(["K-1", "K-2", "K-3"]), _ids,
              st.sampled_from(list(SendReason)), st.integers(0, 3), st.sampled_from([0, 8, -5])),
    max_size=20, unique_by=lambda p: (p[0], p[1]),
)


@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow])
@given(pairs=_pairs)
def test_the_query_agrees_with_filtering_every_campaigns_decisions(
    pairs: list[tuple[str, str, SendReason, int, int]],
) -> None:
    for store in (MemoryStore(), SQLiteStore(":memory:")):
        repo = store.campaigns
        for cid in ("K-1", "K-2", "K-3"):
            repo.add_campaign(make_campaign(cid))
        # Instants an hour apart (ties included), each written with some UTC offset.
        repo.add_decisions([
            _decision(c, who, reason,
                      (T0 + timedelta(hours=h)).astimezone(timezone(timedelta(hours=z))))
            for c, who, reason, h, z in pairs
        ])
        everything = [d for c in ("K-1", "K-2", "K-3") for d in repo.decisions(c)]
        for who in ("C-1", "C-2", "王芳", "c-1"):
            expected = sorted((d for d in everything if d.customer_id == who),
                              key=lambda d: (d.decided_at, d.campaign_id))
            found = repo.customer_decisions(who)
            assert found == expected
            assert [d.decided_at.utcoffset() for d in found] == [
                d.decided_at.utcoffset() for d in expected]
        if isinstance(store, SQLiteStore):
            store.close()
