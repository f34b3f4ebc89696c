"""Hostile use of the rating capability, second round: names that forge report lines
or overflow scheduled run ids, a saturating hysteresis count, override steps dated
back before the previous step, and a later demo run continuing from the store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custmgmt.adapters.memory import MemoryStore
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.analytics.features import CustomerFeatures
from custmgmt.errors import ValidationError
from custmgmt.rating import (
    Override,
    OverridePolicy,
    PreviousStars,
    RatingPolicy,
    rate,
    run_scheduled,
)
from custmgmt.rating.policy import POLICY_NAME_LENGTH
from custmgmt.scoring import Criterion
from custmgmt.testing import make_customer, make_order

AS_OF = datetime(2026, 1, 1, tzinfo=UTC)
NOW = datetime(2026, 3, 15, tzinfo=UTC)


def table(ids: list[str], spend: list[float]) -> CustomerFeatures:
    return CustomerFeatures(
        customer_ids=np.asarray(ids, dtype=object),
        columns={"monetary_net": np.asarray(spend, dtype=np.float64)},
        as_of=AS_OF,
        currency="CNY",
    )


def small_store() -> MemoryStore:
    store = MemoryStore()
    for k in range(3):
        store.customers.add(make_customer(id=f"c{k}"))
        store.orders.add(make_order(id=f"o{k}", customer_id=f"c{k}",
                                    placed_at=datetime(2025, 6, k + 1, tzinfo=UTC)))
    return store


# -- names -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name", ["spend\nFAKE: 5 stars", "spend\r", "a\u2028b", "a\x1b[31m", "tab\there", "a\u202eb"]
)
def test_a_criterion_name_that_breaks_the_line_is_refused(name: str) -> None:
    # Used to be accepted: `rate --policy` then printed "C1: 5★ score 1.000 = spend"
    # and a forged line "FAKE: 5 stars 1.000" under it (and the same in the CSV header).
    data = {"criteria": {name: {"weight": 1.0, "feature": "monetary_net"}}}
    with pytest.raises(ValidationError) as caught:
        RatingPolicy.from_dict(data)
    assert caught.value.field == "criterion.name"
    assert caught.value.value == name
    with pytest.raises(ValidationError):
        Criterion(name="spend", feature=name, weight=1.0)


@pytest.mark.parametrize("name", ["a\nFAKE", "x\u2028y", "x" * (POLICY_NAME_LENGTH + 1), "\t"])
def test_a_policy_name_off_one_line_or_too_long_is_refused(name: str) -> None:
    # A 300-character name used to be accepted and the first scheduled run then
    # failed to save (its id "<name>-<time>" is over 128 characters).
    with pytest.raises(ValidationError) as caught:
        RatingPolicy.from_dict({"name": name, "criteria": {"spend": {"weight": 1.0}}})
    assert caught.value.field == "name"
    assert caught.value.value == name


@pytest.mark.parametrize("make", [MemoryStore, lambda: SQLiteStore(":memory:")])
def test_the_longest_policy_name_still_runs_on_schedule(make: object) -> None:
    store = make()  # type: ignore[operator]
    for k in range(3):
        store.customers.add(make_customer(id=f"c{k}"))
        store.orders.add(make_order(id=f"o{k}", customer_id=f"c{k}",
                                    placed_at=datetime(2025, 6, k + 1, tzinfo=UTC)))
    name = "名" * POLICY_NAME_LENGTH
    policy = RatingPolicy.from_dict({
        "name": name, "criteria": {"spend": {"weight": 1.0}},
        # Seconds and an odd offset make the longest run id.
        "schedule": {"rule": "FREQ=DAILY;BYHOUR=3;BYMINUTE=7;BYSECOND=9",
                     "timezone": "Asia/Kathmandu"},
    })
    done = run_scheduled(store, policy, now=NOW, currency="CNY")
    assert done is not None
    assert done[1].id.startswith(name + "-")


def test_a_stored_criterion_name_is_printed_on_one_line() -> None:
    # Explanations escape names as they escape customer ids (a result read back
    # from storage is not re-validated).
    rating = rate(RatingPolicy.from_dict({"criteria": {"spend": {"weight": 1.0}}}),
                  table(["a", "b"], [1.0, 2.0]))
    explanation = rating.explain("a")
    forged = type(explanation)(
        customer_id="a", score=0.0, stars=1, computed_stars=1,
        contributions={"x\nFAKE: 5 stars": 0.0}, change=0,
    )
    assert "\n" not in str(forged)
    assert "x\\nFAKE: 5 stars" in str(forged)


# -- hysteresis count --------------------------------------------------------------------
def test_a_pending_count_at_the_int64_limit_does_not_wrap_negative() -> None:
    # previous_pending + 1 used to wrap to -9223372036854775808, which no store keeps.
    policy = RatingPolicy.from_dict(
        {"criteria": {"spend": {"weight": 1.0}}, "hysteresis": {"margin": 0.5}}
    )
    limit = int(np.iinfo(np.int64).max)
    previous = PreviousStars(customer_ids=np.array(["a", "b"], dtype=object),
                             stars=np.array([5, 5]), pending=np.array([limit, 0]))
    rating = rate(policy, table(["a", "b"], [1.0, 2.0]), previous)
    assert rating.pending.min() >= 0
    assert int(rating.pending[0]) == limit


# -- override history --------------------------------------------------------------------
T = datetime(2026, 3, 1, tzinfo=UTC)
REVIEWERS = OverridePolicy(approvers={"bob"})


def approved() -> Override:
    override = Override.request(id="ov-1", customer_id="c-1", stars=5, reason="VIP",
                                expires_at=T + timedelta(days=30), requested_by="alice", at=T)
    return override.approve(by="bob", at=T + timedelta(days=10), policy=REVIEWERS)


def test_a_revocation_dated_before_the_approval_is_refused() -> None:
    # Used to be recorded (history: approve on day 10, revoke on day 5), so the
    # override had never applied and past runs' explanations changed.
    with pytest.raises(ValidationError) as caught:
        approved().revoke(by="bob", at=T + timedelta(days=5), reason="oops", policy=REVIEWERS)
    assert caught.value.field == "at"
    revoked = approved().revoke(by="bob", at=T + timedelta(days=10), reason="same moment",
                                policy=REVIEWERS)
    assert [e.at for e in revoked.history] == sorted(e.at for e in revoked.history)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=40), min_size=2, max_size=2))
def test_override_history_stays_in_time_order(days: list[int]) -> None:
    approve_day, revoke_day = days[0], days[1]
    override = Override.request(id="ov-1", customer_id="c-1", stars=5, reason="VIP",
                                expires_at=T + timedelta(days=45), requested_by="alice", at=T)
    override = override.approve(by="bob", at=T + timedelta(days=approve_day), policy=REVIEWERS)
    revoke_at = T + timedelta(days=revoke_day)
    if revoke_day < approve_day:
        with pytest.raises(ValidationError) as caught:
            override.revoke(by="bob", at=revoke_at, reason="r", policy=REVIEWERS)
        assert caught.value.field == "at"
    else:
        override = override.revoke(by="bob", at=revoke_at, reason="r", policy=REVIEWERS)
    times = [e.at for e in override.history]
    assert times == sorted(times)


# -- many criteria -----------------------------------------------------------------------
def test_a_repeated_criterion_name_is_named_among_many() -> None:
    # The check was quadratic (names.count per name: 8 s for 16,000 criteria, minutes
    # for a large policy file); it is a set now, and still names the repeated name.
    n = 20_000
    criteria = [Criterion(name=f"c{i}", feature="frequency", weight=1.0 / n) for i in range(n)]
    criteria[-1] = Criterion(name="c7", feature="frequency", weight=1.0 / n)
    with pytest.raises(ValidationError) as caught:
        RatingPolicy(criteria=criteria)
    assert caught.value.field == "criteria"
    assert caught.value.value == "c7"
    many = RatingPolicy.from_dict(
        {"criteria": {f"c{i}": {"weight": 1.0 / n, "feature": "frequency"} for i in range(n)}}
    )
    assert len(many.criteria) == n
