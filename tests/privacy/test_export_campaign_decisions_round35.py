"""A customer's access export lists the campaign send decisions about them.

Was: the campaigns port had no per-customer query, so ``export_subject`` (and
``custmgmt privacy export``) left out every decision a campaign run stored about the
customer (sent, held for quiet hours, holdout, or why they were dropped), although
it is data held on them. Now ``campaign_decisions`` lists them, as strict JSON like
the other sections; an erasure leaves them (they hold ids, reasons and times, no
personal text: checked here on every store).
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from _privacy_support import NOW, OFFICER, encrypted

from custmgmt.campaigns.audience import SendReason
from custmgmt.campaigns.records import SendDecision
from custmgmt.privacy import add_customer, erase_subject, export_subject, export_subject_json
from custmgmt.testing import make_customer
from custmgmt.testing.campaign_contract import make_campaign

NAME, EMAIL, PHONE = "欧阳娜娜", "nana@example.cn", "13812345678"


@pytest.fixture
def store(store_of_each_kind: Any) -> Any:
    return store_of_each_kind


def _decision(campaign_id: str, customer_id: str, reason: SendReason, at: Any) -> SendDecision:
    treated = reason.treated
    return SendDecision(
        campaign_id=campaign_id, customer_id=customer_id, reason=reason, channel="sms",
        decided_at=at, send_at=at + timedelta(hours=12) if treated else None,
        offer_index=0 if treated else None,
        message_id=f"{campaign_id}:{customer_id}" if treated else None,
    )


def _fill(store: Any) -> Any:
    privacy = encrypted()
    for cid, name in (("C-1", NAME), ("C-2", "王芳")):
        add_customer(store, privacy, OFFICER,
                     make_customer(id=cid, name=name, email=f"{cid}@example.cn", phone=PHONE))
    for campaign_id in ("K-1", "K-2", "K-3"):
        store.campaigns.add_campaign(make_campaign(campaign_id))
    store.campaigns.add_decisions([
        _decision("K-2", "C-1", SendReason.QUIET_HOURS, NOW),
        _decision("K-2", "C-2", SendReason.SENT, NOW),
        _decision("K-1", "C-1", SendReason.HOLDOUT, NOW + timedelta(days=1)),
        _decision("K-3", "C-2", SendReason.HOLDOUT, NOW),
    ])
    return privacy


def _strict(text: str) -> Any:
    def refuse(constant: str) -> Any:
        raise AssertionError(f"not strict JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


def test_the_export_lists_the_campaign_decisions_about_the_customer(store: Any) -> None:
    privacy = _fill(store)
    data = export_subject(store, privacy, OFFICER, "C-1")
    assert data["campaign_decisions"] == [
        {"campaign_id": "K-2", "customer_id": "C-1", "reason": "quiet_hours",
         "channel": "sms", "decided_at": NOW.isoformat(),
         "send_at": (NOW + timedelta(hours=12)).isoformat(), "offer_index": 0,
         "message_id": "K-2:C-1"},
        {"campaign_id": "K-1", "customer_id": "C-1", "reason": "holdout", "channel": "sms",
         "decided_at": (NOW + timedelta(days=1)).isoformat(), "send_at": None,
         "offer_index": None, "message_id": None},
    ]
    parsed = _strict(export_subject_json(store, privacy, OFFICER, "C-1"))
    assert parsed["campaign_decisions"] == data["campaign_decisions"]
    # Another customer's decisions stay out; a customer without any gets an empty list.
    other = export_subject(store, privacy, OFFICER, "C-2")["campaign_decisions"]
    assert [(d["campaign_id"], d["customer_id"]) for d in other] == [("K-2", "C-2"),
                                                                     ("K-3", "C-2")]
    add_customer(store, privacy, OFFICER, make_customer(id="C-3", name="李雷"))
    assert export_subject(store, privacy, OFFICER, "C-3")["campaign_decisions"] == []


def test_decisions_about_an_erased_customer_hold_no_personal_text(store: Any) -> None:
    privacy = _fill(store)
    before = store.campaigns.customer_decisions("C-1")
    record = erase_subject(store, privacy, OFFICER, "C-1")
    after = store.campaigns.customer_decisions("C-1")
    assert after == before  # kept: the campaign's statistics and frequency caps need them
    text = export_subject_json(store, privacy, OFFICER, "C-1")
    exported = _strict(text)
    assert exported["erasure"]["pseudonym"] == record.pseudonym
    decisions = json.dumps(exported["campaign_decisions"], ensure_ascii=False)
    for personal in (NAME, "C-1@example.cn", PHONE, PHONE[-4:]):
        assert personal not in decisions
        assert personal not in text
