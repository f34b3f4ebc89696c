"""Approved overrides are what every consumer sees; reviewers are named by a policy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from custmgmt.adapters.memory import MemoryStore
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.domain import Money, Priority
from custmgmt.errors import PermissionDenied, ValidationError
from custmgmt.rating import (
    OverrideAction,
    OverridePolicy,
    OverrideStatus,
    RatingPolicy,
    approve_override,
    current_stars,
    explain_stars,
    rate_store,
    reject_override,
    request_override,
    revoke_override,
    star_history,
)
from custmgmt.testing import make_customer, make_order, make_order_line
from custmgmt.tickets import Ticket, derive_priority, open_ticket_report

T0 = datetime(2025, 6, 1, tzinfo=UTC)
RUN_1 = datetime(2026, 1, 1, tzinfo=UTC)
RUN_2 = datetime(2026, 2, 1, tzinfo=UTC)
REVIEWERS = OverridePolicy(approver_roles={"ops-manager"}, approvers={"li.ming"})


def _store(kind: str) -> Any:
    store: Any = MemoryStore() if kind == "memory" else SQLiteStore(":memory:")
    for k in range(6):
        store.customers.add(make_customer(id=f"c{k}", registered_at=T0))
        for j in range(k + 1):
            line = make_order_line(
                category=["书", "食品", "衣服"][j % 3],
                unit_price=Money(Decimal(10 * (k + 1)), "CNY"),
            )
            store.orders.add(make_order(id=f"o{k}-{j}", customer_id=f"c{k}",
                                        placed_at=T0 + timedelta(days=j), lines=[line]))
    return store


def _override_c0(store: Any, *, stars: int = 5, days: int = 60) -> Any:
    request_override(store, customer_id="c0", stars=stars, reason="签约年度大客户",
                     expires_at=RUN_1 + timedelta(days=days), requested_by="wang",
                     at=RUN_1 - timedelta(days=2), override_id="ov-c0")
    return approve_override(store, "ov-c0", by="zhao", roles=["agent", "ops-manager"],
                            at=RUN_1 - timedelta(days=1), policy=REVIEWERS, reason="合同已核对")


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_rate_store_gives_effective_stars_and_explains_the_override(kind: str) -> None:
    store = _store(kind)
    policy = RatingPolicy.default()
    plain, _ = rate_store(store, policy, as_of=RUN_1, currency="CNY", created_at=RUN_1,
                          save=False)
    rated_c0 = int(plain.stars[plain.index_of("c0")])
    assert rated_c0 < 5
    _override_c0(store)
    rating, run = rate_store(store, policy, as_of=RUN_1, currency="CNY", created_at=RUN_1,
                             run_id="r1")
    i = rating.index_of("c0")
    assert int(rating.stars[i]) == 5
    assert int(rating.rated_stars[i]) == rated_c0
    assert rating.distribution()[5] == plain.distribution()[5] + 1
    explanation = rating.explain("c0")
    assert explanation.stars == 5
    assert explanation.rated_stars == rated_c0
    assert explanation.computed_stars == int(plain.computed_stars[i])
    assert explanation.override is not None
    text = str(explanation)
    expected = ("wang", "zhao", "ops-manager", "签约年度大客户", "2026-03-02", f"rated {rated_c0}★")
    for part in expected:
        assert part in text, (part, text)
    # Everyone else is untouched, and opting out gives the rated stars.
    others = [k for k in range(len(rating)) if k != i]
    assert rating.stars[others].tolist() == plain.stars[others].tolist()
    raw, _ = rate_store(store, policy, as_of=RUN_1, currency="CNY", created_at=RUN_1,
                        save=False, apply_overrides=False)
    assert int(raw.stars[i]) == rated_c0
    # The run keeps the rated stars, so the next run continues from the rating.
    assert run is not None
    assert store.ratings.result("r1", "c0").stars == rated_c0
    assert run.distribution == tuple(plain.distribution()[k] for k in range(1, 6))
    later, _ = rate_store(store, policy, as_of=RUN_2, currency="CNY", created_at=RUN_2,
                          run_id="r2")
    assert int(later.previous_stars[later.index_of("c0")]) == rated_c0
    assert int(later.stars[later.index_of("c0")]) == 5
    store.close()


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_star_history_and_current_stars_apply_overrides_at_their_time(kind: str) -> None:
    store = _store(kind)
    policy = RatingPolicy.default()
    rate_store(store, policy, as_of=RUN_1, currency="CNY", created_at=RUN_1, run_id="r1")
    rated = store.ratings.result("r1", "c0").stars
    _override_c0(store, days=20)  # in effect at RUN_1, expired by RUN_2
    rate_store(store, policy, as_of=RUN_2, currency="CNY", created_at=RUN_2, run_id="r2")
    history = star_history(store, "c0")
    assert [(h.run_id, h.stars, h.rated_stars) for h in history] == [
        ("r1", 5, rated), ("r2", history[1].rated_stars, history[1].rated_stars)]
    assert history[0].override is not None
    assert history[0].override.id == "ov-c0"
    assert history[1].override is None
    # The repository itself keeps the rated stars.
    assert store.ratings.star_history("c0")[0].stars == rated
    assert current_stars(store, RUN_1 + timedelta(days=1))["c0"] == 5
    assert current_stars(store, RUN_2 + timedelta(days=1))["c0"] == history[1].rated_stars
    assert explain_stars(store, "c0", at=RUN_1 + timedelta(days=1)).override is not None
    # Revoked: the rated stars apply again from the revocation.
    store2 = _store(kind)
    rate_store(store2, policy, as_of=RUN_1, currency="CNY", created_at=RUN_1, run_id="r1")
    _override_c0(store2)
    assert current_stars(store2, RUN_1 + timedelta(days=3))["c0"] == 5
    revoke_override(store2, "ov-c0", by="li.ming", at=RUN_1 + timedelta(days=2),
                    reason="合同终止", policy=REVIEWERS)
    assert current_stars(store2, RUN_1 + timedelta(days=3))["c0"] == rated
    store.close()
    store2.close()


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_tickets_and_priorities_use_the_effective_stars(kind: str) -> None:
    store = _store(kind)
    rate_store(store, RatingPolicy.default(), as_of=RUN_1, currency="CNY", created_at=RUN_1,
               run_id="r1")
    _override_c0(store)
    at = RUN_1 + timedelta(days=1)
    stars = current_stars(store, at)
    assert stars["c0"] == 5
    assert derive_priority(stars["c0"], "inquiry").priority is Priority.HIGH
    store.tickets.add(Ticket.open(id="T-1", customer_id="c0", category="inquiry",
                                  priority="normal", subject="发票", at=at, actor="web"))
    report = open_ticket_report(store, at + timedelta(minutes=1), stars=stars)
    assert "normal · stars 5★" in report.format()
    store.close()


def test_the_policy_names_who_may_review_by_id_or_role() -> None:
    store = _store("memory")
    request_override(store, customer_id="c1", stars=4, reason="投诉补偿",
                     expires_at=RUN_2, requested_by="wang", at=RUN_1, override_id="ov-1")
    # Someone else, but neither named nor holding a named role: refused, naming who may.
    with pytest.raises(PermissionDenied, match="ops-manager") as refused:
        approve_override(store, "ov-1", by="zhao", roles=["agent"], at=RUN_1, policy=REVIEWERS)
    assert "li.ming" in str(refused.value)
    # The requester may not approve, whatever their roles.
    with pytest.raises(PermissionDenied, match="requested it"):
        approve_override(store, "ov-1", by="wang", roles=["ops-manager"], at=RUN_1,
                         policy=REVIEWERS)
    assert store.ratings.get_override("ov-1").status is OverrideStatus.PENDING
    # Named by id.
    approved = approve_override(store, "ov-1", by="li.ming", at=RUN_1, policy=REVIEWERS)
    assert approved.history[-1].role == ""
    assert approved.approved_by == "li.ming"
    # Revokers can be narrower than approvers.
    strict = OverridePolicy(approver_roles={"ops-manager"}, revoker_roles={"director"})
    with pytest.raises(PermissionDenied, match="director"):
        revoke_override(store, "ov-1", by="zhao", roles=["ops-manager"], at=RUN_1,
                        reason="x", policy=strict)
    revoked = revoke_override(store, "ov-1", by="chen", roles=["director"], at=RUN_1,
                              reason="补偿已发放", policy=strict)
    assert [(e.action, e.actor, e.role) for e in revoked.history] == [
        (OverrideAction.REQUEST, "wang", ""),
        (OverrideAction.APPROVE, "li.ming", ""),
        (OverrideAction.REVOKE, "chen", "director"),
    ]


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_reject_and_revoke_are_audited_and_the_role_is_stored(kind: str) -> None:
    store = _store(kind)
    request_override(store, customer_id="c1", stars=4, reason="x", expires_at=RUN_2,
                     requested_by="wang", at=RUN_1, override_id="ov-1")
    rejected = reject_override(store, "ov-1", by="zhao", roles=("ops-manager",), at=RUN_1,
                               reason="依据不足", policy=REVIEWERS)
    stored = store.ratings.get_override("ov-1")
    assert stored == rejected
    assert stored.status is OverrideStatus.REJECTED
    assert (stored.history[-1].actor, stored.history[-1].role, stored.history[-1].reason) == (
        "zhao", "ops-manager", "依据不足")
    request_override(store, customer_id="c1", stars=4, reason="x", expires_at=RUN_2,
                     requested_by="wang", at=RUN_1, override_id="ov-2")
    with pytest.raises(PermissionDenied):
        reject_override(store, "ov-2", by="wang", roles=("ops-manager",), at=RUN_1,
                        reason="撤回", policy=REVIEWERS)
    store.close()


def test_a_policy_must_name_a_reviewer_and_is_required() -> None:
    with pytest.raises(ValidationError, match="approver"):
        OverridePolicy()
    with pytest.raises(ValidationError, match="names"):
        OverridePolicy(approvers="bob")  # type: ignore[arg-type]
    store = _store("memory")
    request_override(store, customer_id="c1", stars=4, reason="x", expires_at=RUN_2,
                     requested_by="wang", at=RUN_1, override_id="ov-1")
    with pytest.raises(ValidationError, match="OverridePolicy"):
        approve_override(store, "ov-1", by="li.ming", at=RUN_1, policy=None)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="names"):
        approve_override(store, "ov-1", by="zhao", roles="ops-manager", at=RUN_1,
                         policy=REVIEWERS)
