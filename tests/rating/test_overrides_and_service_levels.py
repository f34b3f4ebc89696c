"""Manual overrides with a second person's approval, and service levels by stars."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from custmgmt.adapters.memory import MemoryStore
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.analytics.features import CustomerFeatures
from custmgmt.domain import Priority
from custmgmt.errors import (
    NotFound,
    PermissionDenied,
    TransitionNotAllowed,
    ValidationError,
)
from custmgmt.rating import (
    Override,
    OverrideAction,
    OverridePolicy,
    OverrideStatus,
    RatingPolicy,
    ServiceLevel,
    ServiceLevels,
    approve_override,
    effective_override,
    effective_stars,
    rate,
    request_override,
)
from custmgmt.rating.services import reject_override, revoke_override
from custmgmt.testing import make_customer

T0 = datetime(2026, 3, 1, 9, tzinfo=UTC)


def pending(**changes: Any) -> Override:
    fields: dict[str, Any] = {
        "id": "ov-1", "customer_id": "c-1", "stars": 5, "reason": "战略客户",
        "expires_at": T0 + timedelta(days=30), "requested_by": "alice", "at": T0,
    }
    fields.update(changes)
    return Override.request(**fields)


def test_an_override_takes_effect_only_after_a_different_person_approves() -> None:
    o = pending()
    assert not o.is_effective(T0 + timedelta(hours=1))
    approved = o.approve(by="bob", at=T0 + timedelta(hours=1), reason="核实合同")
    assert approved.status is OverrideStatus.APPROVED
    assert approved.version == 2
    assert not approved.is_effective(T0)  # not before its approval
    assert approved.is_effective(T0 + timedelta(hours=2))
    assert not approved.is_effective(T0 + timedelta(days=30))  # expired
    assert approved.approved_by == "bob"
    assert [(e.action, e.actor, e.reason) for e in approved.history] == [
        (OverrideAction.REQUEST, "alice", "战略客户"),
        (OverrideAction.APPROVE, "bob", "核实合同"),
    ]


def test_self_approval_is_permission_denied() -> None:
    with pytest.raises(PermissionDenied, match="second, different person"):
        pending().approve(by="alice", at=T0)


def test_approving_an_expired_override_is_refused_clearly() -> None:
    with pytest.raises(TransitionNotAllowed, match="expired"):
        pending().approve(by="bob", at=T0 + timedelta(days=31))


def test_bad_requests_are_validation_errors() -> None:
    with pytest.raises(ValidationError, match="expires_at"):
        pending(expires_at=T0)
    with pytest.raises(ValidationError, match="stars"):
        pending(stars=6)
    with pytest.raises(ValidationError, match="reason"):
        pending(reason="  ")
    with pytest.raises(ValidationError, match="at"):
        pending(at=datetime(2026, 3, 1))


def test_the_review_state_machine_refuses_steps_out_of_order() -> None:
    o = pending()
    rejected = o.reject(by="bob", at=T0, reason="依据不足")
    with pytest.raises(TransitionNotAllowed):
        rejected.approve(by="carol", at=T0)
    with pytest.raises(PermissionDenied):
        o.reject(by="alice", at=T0, reason="x")
    with pytest.raises(PermissionDenied):
        o.withdraw(by="bob", at=T0)
    assert o.withdraw(by="alice", at=T0).status is OverrideStatus.WITHDRAWN
    with pytest.raises(TransitionNotAllowed):
        o.revoke(by="bob", at=T0, reason="x")
    revoked = o.approve(by="bob", at=T0).revoke(by="carol", at=T0 + timedelta(days=1),
                                               reason="客户违约")
    assert revoked.status is OverrideStatus.REVOKED
    assert not revoked.is_effective(T0 + timedelta(days=2))


def test_the_most_recently_approved_override_wins() -> None:
    a = pending(id="a", stars=4).approve(by="bob", at=T0 + timedelta(hours=1))
    b = pending(id="b", stars=2).approve(by="bob", at=T0 + timedelta(hours=2))
    assert effective_override([a, b], T0 + timedelta(hours=3)) == b
    assert effective_override([a, b], T0 + timedelta(hours=1, minutes=30)) == a
    assert effective_override([pending()], T0) is None


def _rating() -> Any:
    features = CustomerFeatures(
        customer_ids=np.array(["c-1", "c-2", "c-3"], dtype=object),
        columns={"monetary_net": np.array([1, 2, 3]), "frequency": np.array([1, 1, 1]),
                 "category_breadth": np.array([1, 1, 1])},
        as_of=T0,
    )
    return rate(RatingPolicy.default(), features)


def test_effective_stars_are_the_approved_unexpired_override_else_computed() -> None:
    rating = _rating()
    o = pending(customer_id="c-1", stars=5).approve(by="bob", at=T0)
    other = pending(id="ov-x", customer_id="nobody").approve(by="bob", at=T0)
    during = effective_stars(rating, [o, other], at=T0 + timedelta(days=1))
    after = effective_stars(rating, [o], at=T0 + timedelta(days=30))
    assert during.tolist() == [5, *rating.stars.tolist()[1:]]
    assert after.tolist() == rating.stars.tolist()


REVIEWERS = OverridePolicy(approvers={"bob", "carol"})


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_the_override_services_record_each_step_in_the_store(kind: str) -> None:
    store: Any = MemoryStore() if kind == "memory" else SQLiteStore(":memory:")
    store.customers.add(make_customer(id="c-1"))
    o = request_override(store, customer_id="c-1", stars=5, reason="VIP",
                         expires_at=T0 + timedelta(days=7), requested_by="alice", at=T0,
                         override_id="ov-9")
    assert store.ratings.get_override("ov-9") == o
    with pytest.raises(PermissionDenied):
        approve_override(store, "ov-9", by="alice", at=T0, policy=REVIEWERS)
    assert store.ratings.get_override("ov-9").status is OverrideStatus.PENDING
    approved = approve_override(store, "ov-9", by="bob", at=T0 + timedelta(hours=1),
                                policy=REVIEWERS)
    assert store.ratings.get_override("ov-9") == approved
    revoked = revoke_override(store, "ov-9", by="carol", at=T0 + timedelta(days=1),
                              reason="合同终止", policy=REVIEWERS)
    assert [e.actor for e in store.ratings.get_override("ov-9").history] == [
        "alice", "bob", "carol"]
    assert revoked.status is OverrideStatus.REVOKED
    with pytest.raises(NotFound):
        request_override(store, customer_id="ghost", stars=3, reason="x",
                         expires_at=T0 + timedelta(days=1), requested_by="alice", at=T0)
    second = request_override(store, customer_id="c-1", stars=2, reason="测试",
                              expires_at=T0 + timedelta(days=1), requested_by="alice", at=T0)
    assert reject_override(store, second.id, by="bob", at=T0, reason="no",
                           policy=REVIEWERS).status is OverrideStatus.REJECTED
    with pytest.raises(NotFound):
        approve_override(store, "missing", by="bob", at=T0, policy=REVIEWERS)
    store.close()


# -- service levels -----------------------------------------------------------------------
def test_the_default_service_levels_raise_service_with_stars() -> None:
    levels = ServiceLevels.default()
    assert levels.top == 5
    assert levels.priority_for(1) is Priority.NORMAL
    assert levels.priority_for(5) is Priority.HIGH
    assert levels.for_stars(5).dedicated_support
    assert levels.for_stars(4).delivery_priority
    factors = [levels.for_stars(s).response_time_factor for s in range(1, 6)]
    assert factors == sorted(factors, reverse=True)
    assert ServiceLevels.from_dict(levels.to_dict()) == levels


def test_service_levels_refuse_gaps_and_unfair_maps() -> None:
    with pytest.raises(ValidationError, match="levels"):
        ServiceLevels(levels={1: ServiceLevel(), 3: ServiceLevel()})
    with pytest.raises(ValidationError, match=r"levels\[2\]\.priority"):
        ServiceLevels(levels={1: ServiceLevel(priority=Priority.HIGH), 2: ServiceLevel()})
    with pytest.raises(ValidationError, match="response_time_factor"):
        ServiceLevels(levels={1: ServiceLevel(response_time_factor=0.5),
                              2: ServiceLevel(response_time_factor=0.9)})
    with pytest.raises(ValidationError, match="dedicated_support"):
        ServiceLevels(levels={1: ServiceLevel(dedicated_support=True), 2: ServiceLevel()})
    with pytest.raises(ValidationError, match="response_time_factor"):
        ServiceLevel(response_time_factor=0)
    with pytest.raises(ValidationError, match="stars"):
        ServiceLevels.default().for_stars(6)
    with pytest.raises(ValidationError, match="priority"):
        ServiceLevels.from_dict({"1": {"priority": "whenever"}})
    with pytest.raises(ValidationError):
        ServiceLevels.from_dict({"one": {}})
