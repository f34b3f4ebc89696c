"""Export and erasure: KPIs, segments and ratings unchanged; nothing personal left."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from _privacy_support import ADMIN, NOW, OFFICER, encrypted, file_bytes, filled_store, plain
from _privacy_support import personal_values as values_of

from custmgmt.adapters.memory import MemoryStore
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.adapters.sqlite.backup import backup
from custmgmt.analytics.frames import InteractionFrame, OrderFrame
from custmgmt.domain import InteractionKind, Review
from custmgmt.errors import Conflict, NotFound
from custmgmt.privacy import (
    AccessDenied,
    Actor,
    add_customer,
    erase_subject,
    export_subject,
    export_subject_json,
    find_customers,
    is_suppressed,
    read_customer,
    update_customer,
    verify_audit_log,
)
from custmgmt.privacy.services import ERASED_TEXT
from custmgmt.rating import RatingPolicy
from custmgmt.rating.services import rate_store
from custmgmt.segmentation.report import segment_report
from custmgmt.testing import make_customer, make_interaction, make_order
from custmgmt.testing.ticket_contract import make_ticket

AS_OF = NOW


def _numbers(store: object) -> dict[str, object]:
    orders = OrderFrame.from_store(store, currency="CNY", as_of=AS_OF)
    interactions = InteractionFrame.from_store(store, as_of=AS_OF, customer_index=orders)
    run = segment_report(orders, interactions, as_of=AS_OF)
    rating, _ = rate_store(store, RatingPolicy.default(), as_of=AS_OF, currency="CNY",
                           created_at=AS_OF, save=False)
    order = np.argsort(rating.customer_ids)
    return {
        "revenue": int(orders.amount.sum()),
        "returned": int(orders.returned_amount.sum()),
        "orders": orders.n_rows,
        "customers": orders.n_customers,
        "segments": {name: dict(s.sizes()) for name, s in run.segmentations.items()},
        "rfm": dict(run.rfm.sizes()),
        "churn_risk": np.bincount(run.churn.risk.astype(np.int64)).tolist(),
        "stars": (rating.customer_ids[order].tolist(), rating.stars[order].tolist()),
        "scores": rating.score[order].round(12).tolist(),
    }


def test_erasing_a_tenth_keeps_kpis_segments_and_ratings_and_leaves_nothing(
    tmp_path: Path,
) -> None:
    privacy = encrypted()
    store, customers = filled_store(tmp_path / "shop.db", privacy, n=200, seed=11)
    try:
        before = _numbers(store)
        erased = customers[::10]
        for customer in erased:
            erase_subject(store, privacy, OFFICER, customer.id, purpose="PIPL 第47条")
        after = _numbers(store)
        assert after == before
        backup(store, tmp_path / "after.bak")
        on_disk = file_bytes(tmp_path / "shop.db") + (tmp_path / "after.bak").read_bytes()
        for customer in erased:
            for value in values_of(customer):
                assert value.encode() not in on_disk
            exported = export_subject(store, privacy, OFFICER, customer.id)
            text = json.dumps(exported, ensure_ascii=False)
            for value in values_of(customer):
                assert value not in text
            assert exported["customer"]["name"] == exported["erasure"]["pseudonym"]
            assert exported["customer"]["email"] is None
            assert len(exported["orders"]) == len(store.orders.for_customer(customer.id))
            assert is_suppressed(store, customer.id)
            with pytest.raises(NotFound):
                store.privacy.get_sealed(customer.id)
            with pytest.raises(NotFound):
                store.privacy.get_key(customer.id)  # shredded
            if customer.email:
                assert find_customers(store, privacy, OFFICER, email=customer.email) == []
        assert sorted(store.privacy.erased_ids()) == sorted(c.id for c in erased)
        assert verify_audit_log(store).ok
        assert [e.resource for e in store.privacy.audit_entries()
                if e.action == "erase_subject" and e.outcome == "done"] == [
            f"customer:{c.id}" for c in erased]
    finally:
        store.close()


def _with_history(store: MemoryStore) -> None:
    customer = make_customer(id="C-1", name="欧阳娜娜", email="nana@example.cn",
                             phone="13812345678")
    add_customer(store, plain(), OFFICER, customer)
    store.orders.add(make_order(id="O-1", customer_id="C-1"))
    store.interactions.add(make_interaction(
        id="I-1", customer_id="C-1", kind=InteractionKind.REVIEW,
        details=Review(rating=2, text="欧阳娜娜说杯子碎了，电话13812345678")))
    store.tickets.add(make_ticket("T-1", customer_id="C-1", steps=7,
                                  subject="欧阳娜娜的退货"))


def test_an_export_holds_every_capability_s_data_and_round_trips_chinese() -> None:
    store = MemoryStore()
    _with_history(store)
    text = export_subject_json(store, plain(), OFFICER, "C-1", purpose="查阅请求",
                               sections={"points": lambda s, cid: [{"balance": 120}]})
    data = json.loads(text)
    assert data["customer"]["name"] == "欧阳娜娜"
    assert [o["id"] for o in data["orders"]] == ["O-1"]
    assert data["interactions"][0]["details"]["text"].startswith("欧阳娜娜")
    assert data["tickets"][0]["subject"] == "欧阳娜娜的退货"
    assert data["star_history"] == []
    assert data["points"] == [{"balance": 120}]
    assert data["erasure"] is None
    assert "欧阳娜娜" in text  # not escaped


def test_erasure_redacts_free_text_keeps_orders_and_tickets_and_suppresses_forever() -> None:
    store = MemoryStore()
    _with_history(store)
    ticket_before = store.tickets.get("T-1")
    record = erase_subject(store, plain(), OFFICER, "C-1", purpose="删除请求")
    customer = store.customers.get("C-1")
    assert customer.name == record.pseudonym
    assert customer.phone is None
    assert not any(customer.consent.allows(ch) for ch in ("email", "sms", "social"))
    review = store.interactions.get("I-1").details
    assert isinstance(review, Review)
    assert review.text is None
    assert review.rating == 2
    ticket = store.tickets.get("T-1")
    assert ticket.subject == ERASED_TEXT
    assert ticket.description == ""
    assert [e.at for e in ticket.events] == [e.at for e in ticket_before.events]
    assert ticket.status is ticket_before.status
    assert store.orders.get("O-1") == make_order(id="O-1", customer_id="C-1")
    text = export_subject_json(store, plain(), OFFICER, "C-1")
    assert "欧阳娜娜" not in text
    assert "13812345678" not in text
    assert is_suppressed(store, "C-1")
    with pytest.raises(Conflict):
        update_customer(store, plain(), OFFICER, customer.update_profile(at=NOW, name="回来"))
    assert read_customer(store, plain(), OFFICER, "C-1").name == record.pseudonym


def test_erasing_an_unknown_or_erased_customer_changes_nothing() -> None:
    store = MemoryStore()
    _with_history(store)
    log = store.privacy.audit_entries()
    with pytest.raises(NotFound):
        erase_subject(store, plain(), OFFICER, "C-404")
    assert store.privacy.audit_entries() == log
    erase_subject(store, plain(), OFFICER, "C-1")
    snapshot = (store.customers.get("C-1"), store.tickets.get("T-1"), len(
        store.privacy.audit_entries()))
    with pytest.raises(Conflict, match="erased already"):
        erase_subject(store, plain(), OFFICER, "C-1")
    assert snapshot[:2] == (store.customers.get("C-1"), store.tickets.get("T-1"))
    # Only the authorisation of the refused attempt was added.
    assert len(store.privacy.audit_entries()) == snapshot[2] + 1


def test_a_failure_halfway_through_an_erasure_rolls_everything_back() -> None:
    store = MemoryStore()
    privacy = encrypted()
    customer = make_customer(id="C-1", name="王芳", email="wf@example.cn")
    add_customer(store, privacy, OFFICER, customer)
    store.tickets.add(make_ticket("T-1", customer_id="C-1", steps=2))

    def broken(ticket_id: str) -> None:
        raise RuntimeError("disk on fire")

    store.tickets.remove = broken  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        erase_subject(store, privacy, OFFICER, "C-1")
    assert read_customer(store, privacy, OFFICER, "C-1") == customer
    assert store.privacy.erasure("C-1") is None
    assert find_customers(store, privacy, OFFICER, email="wf@example.cn") == ["C-1"]


def test_only_a_privacy_officer_may_export_or_erase() -> None:
    store = MemoryStore()
    _with_history(store)
    for actor in (ADMIN, Actor(id="an-1", roles={"analyst"}), Actor(id="ag", roles={"agent"})):
        with pytest.raises(AccessDenied):
            export_subject(store, plain(), actor, "C-1")
        with pytest.raises(AccessDenied):
            erase_subject(store, plain(), actor, "C-1")
    assert store.privacy.erasure("C-1") is None


@pytest.mark.parametrize("make", [MemoryStore, lambda: SQLiteStore(":memory:")])
def test_a_sealed_customer_cannot_be_removed_but_can_be_erased(make: object) -> None:
    store = make()  # type: ignore[operator]
    privacy = encrypted()
    add_customer(store, privacy, OFFICER, make_customer(id="C-1", name="王芳",
                                                        email="wf@example.cn"))
    with pytest.raises(Conflict, match="sealed records"):
        store.customers.remove("C-1")
    assert read_customer(store, privacy, OFFICER, "C-1").name == "王芳"
    erase_subject(store, privacy, OFFICER, "C-1")
    store.customers.remove("C-1")  # nothing personal is left to orphan
    with pytest.raises(NotFound):
        store.customers.get("C-1")
