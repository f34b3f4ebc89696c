"""What an erasure does to linked prospects, campaign suppressions and risk alerts.

Was: prospects, suppressions and alerts implemented no ``SubjectRedaction``, so after
``erase_subject`` a linked person prospect still carried the customer's name and the
collected information (phone ...), its contact records their summaries, the
suppression list its notes ("本人来电退订") and the alerts' logs their notes.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from _privacy_support import NOW, OFFICER, encrypted, file_bytes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custmgmt.adapters.memory import MemoryStore
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.campaigns.records import Suppression
from custmgmt.errors import Conflict
from custmgmt.privacy import ERASED_TEXT, SubjectRedaction, add_customer, erase_subject
from custmgmt.prospects.prospect import ContactRecord
from custmgmt.testing import make_customer
from custmgmt.testing.prospect_contract import make_prospect
from custmgmt.testing.risk_contract import make_alert

PHONE = "13812345678"
NAME = "欧阳娜娜"


@pytest.fixture
def store(store_of_each_kind: Any) -> Any:
    return store_of_each_kind


def _fill(shop: Any) -> None:
    privacy = encrypted()
    for cid, name in (("C-1", NAME), ("C-2", "王芳")):
        add_customer(shop, privacy, OFFICER, make_customer(id=cid, name=name, phone=PHONE))
    # C-1: a person prospect, a business prospect, both linked; C-2: a person prospect.
    shop.prospects.add(make_prospect("PR-1", name=NAME, kind="person",
                                     info={"电话": PHONE}, customer_id="C-1"))
    shop.prospects.add(make_prospect("PR-2", name="杭州某某贸易有限公司", kind="business",
                                     info={"联系人": NAME}, customer_id="C-1"))
    shop.prospects.add(make_prospect("PR-3", name="王芳", kind="person",
                                     info={"电话": PHONE}, customer_id="C-2"))
    for rid, pid, outcome, next_step in (("CR-1", "PR-1", f"{NAME}同意", f"再联系 {PHONE}"),
                                         ("CR-2", "PR-2", "", ""),
                                         ("CR-3", "PR-3", "王芳同意", "")):
        shop.prospects.add_contact(ContactRecord(
            id=rid, prospect_id=pid, kind="call", at=NOW, actor="sales-1",
            summary=f"致电 {NAME if pid != 'PR-3' else '王芳'}", outcome=outcome,
            next_step=next_step))
    for cid, reason, note in (("C-1", "unsubscribed", "本人来电退订"), ("C-1", "blacklisted", ""),
                              ("C-2", "unsubscribed", "王芳来电退订")):
        shop.campaigns.add_suppression(Suppression(customer_id=cid, reason=reason, at=NOW,
                                                   note=note))
    for aid, cid in (("AL-1", "C-1"), ("AL-2", "C-2")):
        shop.risk.add_alert(make_alert(aid, customer_id=cid, at=NOW))
        alert = shop.risk.get_alert(aid)
        alert = alert.moved("acknowledged", at=NOW + timedelta(hours=1), actor="risk-1",
                            note=f"联系 {PHONE}")
        shop.risk.update_alert(alert)
        shop.risk.update_alert(alert.moved("resolved", at=NOW + timedelta(hours=2),
                                           actor="risk-1"))


def _held(shop: Any, customer_id: str) -> Any:
    prospects = shop.prospects.find(customer_id=customer_id)
    return (
        prospects,
        [c for p in prospects for c in shop.prospects.contacts(prospect_id=p.id)],
        [s for s in shop.campaigns.suppressions() if s.customer_id == customer_id],
        shop.risk.find_alerts(customer_id=customer_id),
    )


def test_an_erasure_redacts_linked_prospects_suppressions_and_alerts(store: Any) -> None:
    _fill(store)
    before = _held(store, "C-1")
    others = _held(store, "C-2")
    record = erase_subject(store, encrypted(), OFFICER, "C-1")

    prospects, contacts, suppressions, alerts = _held(store, "C-1")
    person, business = (store.prospects.get("PR-1"), store.prospects.get("PR-2"))
    assert (person.name, person.info) == (record.pseudonym, ())
    assert (business.name, business.info) == ("杭州某某贸易有限公司", ())  # no personal name
    # Stages and histories kept; each redacted prospect is a new version, so a copy
    # read before the erasure cannot write the data back.
    assert [(p.id, p.version, p.stage, p.history) for p in prospects] == [
        (p.id, p.version + 1, p.stage, p.history) for p in before[0]]
    by_id = {c.id: c for c in contacts}
    assert (by_id["CR-1"].summary, by_id["CR-1"].outcome, by_id["CR-1"].next_step) == (
        ERASED_TEXT, ERASED_TEXT, ERASED_TEXT)
    assert (by_id["CR-2"].summary, by_id["CR-2"].outcome, by_id["CR-2"].next_step) == (
        ERASED_TEXT, "", "")  # empty stays empty
    # The suppressions stay (the customer is never contacted again), notes erased.
    assert [(s.reason.value, s.at, s.note) for s in suppressions] == [
        ("blacklisted", NOW, ""), ("unsubscribed", NOW, ERASED_TEXT)]
    [alert] = alerts
    raised = before[3][0].events[0].note  # the engine's: the finding, naming no one
    assert [e.note for e in alert.events] == [raised, ERASED_TEXT, ""]
    assert (alert.status, alert.version, [(e.at, e.status, e.actor) for e in alert.events]) == (
        before[3][0].status, before[3][0].version,
        [(e.at, e.status, e.actor) for e in before[3][0].events])
    # Another customer's records are untouched.
    assert _held(store, "C-2") == others


@pytest.mark.parametrize("capability", ["prospects", "campaigns", "risk"])
def test_redaction_runs_again_and_for_an_unknown_customer_without_change(
    store: Any, capability: str
) -> None:
    _fill(store)
    repository = getattr(store, capability)
    assert isinstance(repository, SubjectRedaction)
    assert repository.redact_subject("C-1", "匿名-1") > 0
    after = _held(store, "C-1")
    assert repository.redact_subject("C-1", "匿名-1") == 0
    assert repository.redact_subject("无此人", "匿名-2") == 0
    assert _held(store, "C-1") == after


def test_a_failed_erasure_leaves_prospects_suppressions_and_alerts_as_they_were(
    store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # All or nothing: the redactions are in the erasure's transaction.
    _fill(store)
    before = _held(store, "C-1")

    def refuse(self: Any, record: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(type(store.privacy), "record_erasure", refuse)
    with pytest.raises(RuntimeError):
        erase_subject(store, encrypted(), OFFICER, "C-1")
    assert _held(store, "C-1") == before


def test_an_alert_read_before_the_erasure_cannot_write_its_notes_back(store: Any) -> None:
    _fill(store)
    store.risk.add_alert(make_alert("AL-9", customer_id="C-1", at=NOW))
    store.risk.update_alert(store.risk.get_alert("AL-9").moved(
        "acknowledged", at=NOW + timedelta(hours=1), actor="risk-1", note=f"联系 {PHONE}"))
    stale = store.risk.get_alert("AL-9")
    erase_subject(store, encrypted(), OFFICER, "C-1")
    with pytest.raises(Conflict):
        store.risk.update_alert(stale.moved("resolved", at=NOW + timedelta(hours=2),
                                            actor="risk-1"))
    fresh = store.risk.get_alert("AL-9")
    assert fresh.version == stale.version  # redaction is no edit
    store.risk.update_alert(fresh.moved("resolved", at=NOW + timedelta(hours=2),
                                        actor="risk-1"))
    # The engine's own note (the finding) names no one and stays.
    assert [e.note for e in store.risk.get_alert("AL-9").events] == [
        fresh.events[0].note, ERASED_TEXT, ""]
    assert fresh.events[0].note.startswith("bad-review-run: low_reviews_30d=4 ")


def test_no_erased_text_is_left_in_the_sqlite_file_or_its_wal(tmp_path: Path) -> None:
    path = tmp_path / "shop.db"
    with SQLiteStore(path) as shop:
        _fill(shop)
        erase_subject(shop, encrypted(), OFFICER, "C-1")
        data = file_bytes(path)
    for secret in (NAME, "本人来电退订", f"{NAME}同意", f"再联系 {PHONE}", "致电 欧阳娜娜"):
        assert secret.encode() not in data, secret
    assert "王芳来电退订".encode() in data  # another customer's note is kept


_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), max_size=30)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(summary=_TEXT.filter(str.strip), outcome=_TEXT, next_step=_TEXT, note=_TEXT)
def test_memory_redaction_erases_text_keeps_empty_text_empty_and_is_idempotent(
    summary: str, outcome: str, next_step: str, note: str
) -> None:
    shop = MemoryStore()
    shop.prospects.add(make_prospect("PR-1", kind="person", customer_id="C-1"))
    shop.prospects.add_contact(ContactRecord(
        id="CR-1", prospect_id="PR-1", kind="visit", at=NOW, actor="sales-1",
        summary=summary, outcome=outcome, next_step=next_step))
    shop.campaigns.add_suppression(Suppression(customer_id="C-1", reason="unsubscribed",
                                               at=NOW, note=note))
    shop.prospects.redact_subject("C-1", "匿名-1")
    shop.campaigns.redact_subject("C-1", "匿名-1")
    [contact] = shop.prospects.contacts()
    assert contact.summary == ERASED_TEXT
    assert contact.outcome == ("" if outcome == "" else ERASED_TEXT)
    assert contact.next_step == ("" if next_step == "" else ERASED_TEXT)
    [suppression] = shop.campaigns.suppressions()
    assert suppression.note == ("" if note == "" else ERASED_TEXT)
    assert shop.prospects.redact_subject("C-1", "匿名-1") == 0
    assert shop.campaigns.redact_subject("C-1", "匿名-1") == 0
