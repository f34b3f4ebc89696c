"""Rating services under hostile schedules and review histories: scheduled runs off
the minute, and overrides revoked after they applied."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from custmgmt.adapters.memory import MemoryStore
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.domain import Money
from custmgmt.errors import StorageError, ValidationError
from custmgmt.rating import (
    Override,
    OverridePolicy,
    RatingPolicy,
    approve_override,
    current_stars,
    explain_stars,
    load_previous,
    rate_store,
    request_override,
    revoke_override,
    run_scheduled,
    star_history,
)
from custmgmt.testing import make_customer, make_order, make_order_line

T0 = datetime(2025, 6, 1, tzinfo=UTC)
RUN_1 = datetime(2026, 1, 1, tzinfo=UTC)
RUN_2 = datetime(2026, 1, 15, tzinfo=UTC)
REVIEWERS = OverridePolicy(approvers={"li.ming", "zhao"})


def _store(kind: str, path: str = ":memory:") -> Any:
    store: Any = MemoryStore() if kind == "memory" else SQLiteStore(path)
    for k in range(6):
        store.customers.add(make_customer(id=f"c{k}", registered_at=T0))
        for j in range(k + 1):
            line = make_order_line(unit_price=Money(Decimal(10 * (k + 1)), "CNY"))
            store.orders.add(make_order(id=f"o{k}-{j}", customer_id=f"c{k}",
                                        placed_at=T0 + timedelta(days=j), lines=[line]))
    return store


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_two_scheduled_runs_in_one_minute_get_two_ids(kind: str) -> None:
    # Both runs of 00:00 used to get the id "default-20260101T0000+0000": the one at
    # 00:00:30 was a Conflict every time it came due.
    store = _store(kind)
    policy = RatingPolicy.from_dict(
        {
            "criteria": {"spend": {"weight": 1.0}},
            "schedule": "FREQ=DAILY;BYHOUR=0;BYMINUTE=0;BYSECOND=0,30",
        }
    )
    first = run_scheduled(store, policy, now=RUN_1 + timedelta(seconds=10), currency="CNY")
    second = run_scheduled(store, policy, now=RUN_1 + timedelta(seconds=40), currency="CNY")
    assert first is not None
    assert second is not None
    assert first[1].id == "default-20260101T0000+0000"  # on the minute: as before
    assert second[1].id == "default-20260101T000030+0000"
    assert second[1].as_of == RUN_1 + timedelta(seconds=30)
    assert [r.id for r in store.ratings.list_runs()] == [first[1].id, second[1].id]
    store.close()


def test_a_revoked_override_applied_between_its_approval_and_its_revocation() -> None:
    t = datetime(2026, 3, 1, tzinfo=UTC)
    o = Override.request(id="ov-1", customer_id="c", stars=5, reason="VIP",
                         expires_at=t + timedelta(days=90), requested_by="alice", at=t)
    revoked = o.approve(by="bob", at=t + timedelta(days=1)).revoke(
        by="carol", at=t + timedelta(days=10), reason="合同终止")
    assert revoked.revoked_at == t + timedelta(days=10)
    assert not revoked.is_effective(t)  # before the approval
    assert revoked.is_effective(t + timedelta(days=5))
    assert not revoked.is_effective(t + timedelta(days=10))
    assert not revoked.is_effective(t + timedelta(days=11))


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_history_keeps_an_override_that_applied_before_it_was_revoked(kind: str) -> None:
    # Approved before RUN_1, revoked after RUN_2: both runs' stars were the
    # override's. Revoking used to rewrite history as if it never applied.
    store = _store(kind)
    policy = RatingPolicy.default()
    rate_store(store, policy, as_of=RUN_1, currency="CNY", created_at=RUN_1, run_id="r1")
    rated = store.ratings.result("r1", "c0").stars
    assert rated != 5
    request_override(store, customer_id="c0", stars=5, reason="签约年度大客户",
                     expires_at=RUN_1 + timedelta(days=60), requested_by="wang",
                     at=RUN_1 - timedelta(days=2), override_id="ov-c0")
    approve_override(store, "ov-c0", by="zhao", at=RUN_1 - timedelta(days=1), policy=REVIEWERS)
    revoke_override(store, "ov-c0", by="li.ming", at=RUN_2 + timedelta(days=1),
                    reason="合同终止", policy=REVIEWERS)
    rating, _ = rate_store(store, policy, as_of=RUN_2, currency="CNY", created_at=RUN_2,
                           run_id="r2")
    assert rating.stars[rating.index_of("c0")] == 5
    assert [(h.run_id, h.stars) for h in star_history(store, "c0")] == [("r1", 5), ("r2", 5)]
    assert current_stars(store, RUN_2)["c0"] == 5
    assert explain_stars(store, "c0", at=RUN_2).override is not None
    # From the revocation on, the rated stars apply again.
    after = RUN_2 + timedelta(days=2)
    assert current_stars(store, after)["c0"] == store.ratings.result("r2", "c0").stars
    assert explain_stars(store, "c0", at=after).override is None
    store.close()


@pytest.mark.parametrize(
    "edit",
    [
        "UPDATE rating_runs SET criteria = '{not json'",
        "UPDATE rating_runs SET as_of_off = 999999999",
    ],
    ids=["criteria", "offset"],
)
def test_star_history_of_a_run_edited_elsewhere_is_a_storage_error(
    tmp_path: Path, edit: str
) -> None:
    # star_history decoded these columns unguarded: a JSONDecodeError or ValueError
    # escaped where every other read says StorageError.
    path = tmp_path / "store.sqlite3"
    store = _store("sqlite", str(path))
    rate_store(store, RatingPolicy.default(), as_of=RUN_1, currency="CNY", created_at=RUN_1,
               run_id="r1")
    assert [h.run_id for h in star_history(store, "c0")] == ["r1"]
    store.close()
    with sqlite3.connect(path) as conn:
        conn.execute(edit)
    conn.close()
    reopened = SQLiteStore(str(path))
    with pytest.raises(StorageError, match="r1"):
        star_history(reopened, "c0")
    reopened.close()


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_an_override_above_the_policys_levels_is_capped_everywhere(kind: str) -> None:
    # Requested for a ten-level policy, applied under a five-level one: rate_store
    # capped it at 5, current_stars, explain_stars and star_history said 8.
    store = _store(kind)
    policy = RatingPolicy.default()
    request_override(store, customer_id="c0", stars=8, levels=10, reason="十级制时的申请",
                     expires_at=RUN_1 + timedelta(days=60), requested_by="wang",
                     at=RUN_1 - timedelta(days=2), override_id="ov-8")
    approve_override(store, "ov-8", by="zhao", at=RUN_1 - timedelta(days=1), policy=REVIEWERS)
    rating, _ = rate_store(store, policy, as_of=RUN_1, currency="CNY", created_at=RUN_1,
                           run_id="r1")
    assert rating.stars[rating.index_of("c0")] == 5
    assert current_stars(store, RUN_1)["c0"] == 5
    assert explain_stars(store, "c0", at=RUN_1).stars == 5
    assert [h.stars for h in star_history(store, "c0")] == [5]
    store.close()


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_two_policies_scheduled_on_one_store_each_get_their_runs(kind: str) -> None:
    # The second policy's run was skipped: the first one's run "already rated" the
    # due time. And its hysteresis continued from the other policy's stars.
    store = _store(kind)
    general = RatingPolicy.from_dict(
        {"name": "general", "criteria": {"spend": {"weight": 1.0}}}
    )
    vip = RatingPolicy.from_dict(
        {
            "name": "vip",
            "criteria": {"frequency": {"weight": 1.0}},
            "hysteresis": {"consecutive": 3},
        }
    )
    now = RUN_1 + timedelta(hours=8)
    assert run_scheduled(store, general, now=now, currency="CNY") is not None
    done = run_scheduled(store, vip, now=now, currency="CNY")
    assert done is not None
    assert done[1].id == "vip-20260101T0000+0000"
    assert done[0].previous_stars.tolist() == [0] * len(done[0])  # vip's first run
    assert run_scheduled(store, vip, now=now, currency="CNY") is None
    later = RUN_1 + timedelta(days=31, hours=1)
    assert run_scheduled(store, general, now=later, currency="CNY") is not None
    second = run_scheduled(store, vip, now=later, currency="CNY")
    assert second is not None
    first_stars = dict(zip(done[0].customer_ids.tolist(), done[0].stars.tolist(), strict=True))
    assert {
        c: int(p) for c, p in zip(second[0].customer_ids.tolist(),
                                  second[0].previous_stars.tolist(), strict=True)
    } == first_stars
    store.close()


def test_load_previous_prefers_the_policys_own_runs_and_falls_back_to_any() -> None:
    store = _store("memory")
    general = RatingPolicy.from_dict({"name": "general", "criteria": {"spend": {"weight": 1.0}}})
    vip = RatingPolicy.from_dict({"name": "vip", "criteria": {"frequency": {"weight": 1.0}}})
    rate_store(store, vip, as_of=RUN_1, currency="CNY", created_at=RUN_1, run_id="v1")
    rate_store(store, general, as_of=RUN_2, currency="CNY", created_at=RUN_2, run_id="g2")
    later = RUN_2 + timedelta(days=1)
    own = load_previous(store.ratings, before=later, policy=vip)
    kept = store.ratings.results_arrays("v1")
    assert own is not None
    assert own.stars.tolist() == kept.stars.tolist()
    newcomer = RatingPolicy.from_dict({"name": "new", "criteria": {"spend": {"weight": 1.0}}})
    fallback = load_previous(store.ratings, before=later, policy=newcomer)
    assert fallback is not None
    assert fallback.stars.tolist() == store.ratings.results_arrays("g2").stars.tolist()
    store.close()


def _pending() -> Override:
    t = datetime(2026, 3, 1, tzinfo=UTC)
    return Override.request(id="ov-1", customer_id="c", stars=3, reason="VIP",
                            expires_at=t + timedelta(days=1), requested_by="alice", at=t)


@pytest.mark.parametrize("levels", ["5", None, True, 1, 11])
def test_an_override_request_with_bad_levels_is_a_validation_error(levels: Any) -> None:
    # "5" and None were TypeErrors from the comparison; True passed for 1.
    t = datetime(2026, 3, 1, tzinfo=UTC)
    with pytest.raises(ValidationError, match="levels"):
        Override.request(id="ov-1", customer_id="c", stars=1, reason="VIP",
                         expires_at=t + timedelta(days=1), requested_by="alice", at=t,
                         levels=levels)


@pytest.mark.parametrize("step", ["approve", "reject", "revoke"])
def test_a_review_under_something_not_an_override_policy_is_a_validation_error(
    step: str,
) -> None:
    # Override.approve(policy="ops") was an AttributeError ('str' has no 'authorise').
    override = _pending()
    at = override.requested_at
    if step == "revoke":
        override = override.approve(by="bob", at=at)
    with pytest.raises(ValidationError, match="policy"):
        getattr(override, step)(by="carol", at=at, reason="x", policy="ops")


@pytest.mark.parametrize("step", ["approve", "withdraw"])
def test_review_reasons_are_bounded_like_the_requests(step: str) -> None:
    override = _pending()
    by = "bob" if step == "approve" else "alice"
    with pytest.raises(ValidationError, match="2000"):
        getattr(override, step)(by=by, at=override.requested_at, reason="很" * 2001)
