"""Erasure reaches every capability's free text: points reasons, override reasons,
appeal statements, follow-up goals and notes (SubjectRedaction), in memory, SQLite and
PostgreSQL; in SQLite the text is then in neither the file, its WAL nor a backup."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from _privacy_support import OFFICER, encrypted, file_bytes, plain

from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.adapters.sqlite.backup import backup
from custmgmt.errors import StorageError
from custmgmt.privacy import (
    ERASED_TEXT,
    Privacy,
    SubjectRedaction,
    add_customers,
    erase_subject,
)
from custmgmt.risk.restrictions import APPEAL_WORKFLOW
from custmgmt.testing import make_customer
from custmgmt.testing.followup_contract import make_contact, make_plan
from custmgmt.testing.loyalty_contract import make_entry
from custmgmt.testing.rating_contract import _override
from custmgmt.testing.risk_contract import make_restriction

ERASED, KEPT = "C-erased", "C-kept"


def _secret(customer_id: str, what: str) -> str:
    # Unique per customer and field, so a grep finds exactly this text.
    return f"私密{what}：{customer_id} 的女儿在第三人民医院住院"


def _fill(store: Any, privacy: Privacy) -> None:
    add_customers(store, privacy, OFFICER, [
        make_customer(id=cid, name=name, phone=phone, email=f"{cid.lower()}@example.cn")
        for cid, name, phone in ((ERASED, "欧阳娜娜", "13812345678"),
                                 (KEPT, "王芳", "13987654321"))
    ])
    for cid in (ERASED, KEPT):
        store.loyalty.append(make_entry(1, customer_id=cid, reason=_secret(cid, "积分")))
        store.loyalty.append(make_entry(2, customer_id=cid, points=50,
                                        reason=_secret(cid, "补偿")))
        store.ratings.add_override(_override(f"ov-{cid}", cid, reason=_secret(cid, "星级")))
        stored = store.ratings.get_override(f"ov-{cid}")
        override = stored.approve(by="manager-1", at=stored.requested_at + timedelta(days=1),
                                  reason=_secret(cid, "批准"))
        store.ratings.update_override(override)
        restriction = make_restriction(f"R-{cid}", customer_id=cid)
        store.risk.add_restriction(restriction)
        store.risk.add_appeal(APPEAL_WORKFLOW.submit(
            id=f"A-{cid}", restriction_id=restriction.id, customer_id=cid,
            statement=_secret(cid, "申诉"), at=restriction.start + timedelta(hours=1),
            deadline=restriction.start + timedelta(days=3), actor=cid))
        plan = make_plan(f"P-{cid}", customer_id=cid, goal=_secret(cid, "目标"),
                         content=_secret(cid, "内容"), requires_approval=True,
                         approver="manager-1", status="pending_approval")
        store.followups.add_plan(plan)
        store.followups.update_plan(plan.approved(
            "manager-1", plan.created_at + timedelta(hours=1), _secret(cid, "审批")))
        store.followups.add_contact(make_contact(
            f"K-{cid}", customer_id=cid, notes=_secret(cid, "回访"), plan_id=plan.id))


def _texts(store: Any, cid: str) -> list[str]:
    """Every free text the four capabilities hold on ``cid``."""
    texts = [e.reason for e in store.loyalty.entries(cid)]
    for o in store.ratings.overrides_for(cid):
        texts += [o.reason, *(e.reason for e in o.history if e.reason)]
    for a in store.risk.find_appeals(restriction_id=f"R-{cid}"):
        texts += [a.statement, *(e.reason for e in a.events if e.reason)]
    for p in store.followups.plans(customer_id=cid):
        texts += [p.goal, p.content]
        if p.approval is not None:
            texts.append(p.approval.note)
    texts += [c.notes for c in store.followups.contacts(customer_id=cid)]
    return texts


def _facts(store: Any, cid: str) -> list[Any]:
    """What erasure must keep: points, stars, states, versions, satisfaction (a plan's
    version is bumped by its redaction: see test_erasure_refuses_stale_copies.py)."""
    return [
        [(e.points, e.seq, e.at) for e in store.loyalty.entries(cid)],
        [(o.stars, o.status, o.version, len(o.history)) for o in store.ratings.overrides_for(cid)],
        [(a.status, a.version, len(a.events)) for a in store.risk.find_appeals(
            restriction_id=f"R-{cid}")],
        [(p.status, p.version, p.cadence) for p in store.followups.plans(customer_id=cid)],
        [(c.outcome, c.satisfaction, c.at) for c in store.followups.contacts(customer_id=cid)],
    ]


def _secrets_of(cid: str) -> list[str]:
    return [_secret(cid, w) for w in ("积分", "补偿", "星级", "批准", "申诉", "目标", "内容",
                                      "审批", "回访")]


@pytest.fixture
def store(store_of_each_kind: Any) -> Any:
    return store_of_each_kind


def test_every_bundled_capability_with_free_text_implements_subject_redaction(
    store: Any,
) -> None:
    for name in ("loyalty", "ratings", "risk", "followups"):
        assert isinstance(getattr(store, name), SubjectRedaction), name
    assert not isinstance(store.privacy, SubjectRedaction)


def test_erasure_redacts_the_four_capabilities_text_and_keeps_their_numbers(store: Any) -> None:
    privacy = plain()
    _fill(store, privacy)
    assert set(_texts(store, ERASED)) == set(_secrets_of(ERASED))
    facts = {cid: _facts(store, cid) for cid in (ERASED, KEPT)}
    balance = store.loyalty.entries(ERASED)
    erase_subject(store, privacy, OFFICER, ERASED, purpose="GDPR art. 17")
    assert set(_texts(store, ERASED)) == {ERASED_TEXT}
    assert set(_texts(store, KEPT)) == set(_secrets_of(KEPT))
    # The redacted plan is a new version, so a copy read before cannot write it back.
    plan_facts = facts[ERASED][3]
    facts[ERASED][3] = [(status, version + 1, cadence) for status, version, cadence in plan_facts]
    assert {cid: _facts(store, cid) for cid in (ERASED, KEPT)} == facts
    assert sum(e.points for e in store.loyalty.entries(ERASED)) == sum(
        e.points for e in balance)
    # A second pass finds nothing left to change.
    for name in ("loyalty", "ratings", "risk", "followups"):
        assert getattr(store, name).redact_subject(ERASED, "匿名-x") == 0, name
        assert getattr(store, name).redact_subject("nobody", "匿名-x") == 0, name


def test_an_erasure_that_fails_late_leaves_the_capability_text_as_it_was(
    store: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    privacy = plain()
    _fill(store, privacy)

    def boom(record: object) -> None:
        raise StorageError("disk full")

    monkeypatch.setattr(store.privacy, "record_erasure", boom)
    with pytest.raises(StorageError):
        erase_subject(store, privacy, OFFICER, ERASED)
    assert set(_texts(store, ERASED)) == set(_secrets_of(ERASED))


def test_erased_text_is_in_neither_the_sqlite_file_its_wal_nor_a_backup(tmp_path: Path) -> None:
    privacy = encrypted()
    path = tmp_path / "shop.db"
    store = SQLiteStore(path)
    try:
        _fill(store, privacy)
        before = file_bytes(path)
        # The test can fail: before erasure every secret is on disk in plaintext.
        assert all(s.encode() in before for s in _secrets_of(ERASED))
        erase_subject(store, privacy, OFFICER, ERASED, purpose="PIPL 第47条")
        backup(store, tmp_path / "after.bak")
        on_disk = file_bytes(path) + (tmp_path / "after.bak").read_bytes()
        for secret in _secrets_of(ERASED):
            assert secret.encode() not in on_disk, secret
        for secret in _secrets_of(KEPT):
            assert secret.encode() in on_disk, secret
    finally:
        store.close()


def test_purge_history_empties_the_wal_and_reports_a_store_without_one(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "w.db")
    try:
        store.loyalty.append(make_entry(1, customer_id="C-1"))
        assert Path(f"{tmp_path / 'w.db'}-wal").stat().st_size > 0
        assert store.privacy.purge_history() is True
        assert Path(f"{tmp_path / 'w.db'}-wal").stat().st_size == 0
        with store.transaction():
            assert store.privacy.purge_history() is False
    finally:
        store.close()
    memory = SQLiteStore(":memory:")
    try:
        assert memory.privacy.purge_history() is True
    finally:
        memory.close()

