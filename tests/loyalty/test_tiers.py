"""Tier evaluation for each downgrade mode on hand-computed histories."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from _loyalty_support import T0, add_customer, paid_order

from custmgmt.adapters.memory import MemoryStore
from custmgmt.domain import Money
from custmgmt.errors import ValidationError
from custmgmt.loyalty import (
    DEFAULT_PROGRAM,
    Program,
    Tier,
    TierEvent,
    TierScheme,
    earn_for_order,
    evaluate_tier,
    reverse_for_order,
    tier_status,
    update_tier,
)

TIERS = (
    Tier(name="普通", threshold=0),
    Tier(name="银卡", threshold=1000, multiplier=Decimal("1.5")),
    Tier(name="金卡", threshold=3000, free_shipping=True),
)


def day(n: int) -> datetime:
    return T0 + timedelta(days=n)


def scheme(mode: str, **fields: object) -> TierScheme:
    return TierScheme(tiers=TIERS, downgrade=mode, window_days=365, **fields)  # type: ignore[arg-type]


def evaluate(s: TierScheme, events: list[TierEvent], as_of: int):  # type: ignore[no-untyped-def]
    return evaluate_tier(s, events, customer_id="C-1", registered_at=day(0), as_of=day(as_of))


def path(status) -> list[tuple[int, str, str]]:  # type: ignore[no-untyped-def]
    return [((c.at - T0).days, c.to_tier, c.reason) for c in status.history]


UP_THEN_REVERSED = [
    TierEvent(at=day(10), points=1200, source="A"),
    TierEvent(at=day(20), points=2000, source="B"),
    TierEvent(at=day(30), points=-2000, source="B"),
]


def test_without_downgrades_a_tier_once_reached_is_kept() -> None:
    status = evaluate(scheme("none"), UP_THEN_REVERSED, 800)
    assert path(status) == [(0, "普通", "registration"), (10, "银卡", "upgrade"),
                            (20, "金卡", "upgrade")]
    assert status.tier.name == "金卡"
    assert status.since == day(20)
    assert status.qualifying == 0  # nothing earned in the last 365 days
    assert status.points_to_keep == 0
    assert status.expires_at is None
    assert status.review_at is None
    assert status.next_tier is None
    assert status.points_to_next is None


def test_automatic_downgrade_follows_the_reversal_of_the_promoting_transaction() -> None:
    status = evaluate(scheme("automatic"), UP_THEN_REVERSED, 40)
    assert path(status)[1:] == [(10, "银卡", "upgrade"), (20, "金卡", "upgrade"),
                                (30, "银卡", "reversal")]
    assert status.qualifying == 1200
    assert status.points_to_next == 1800
    assert status.next_tier == "金卡"


def test_automatic_downgrade_ignores_reversals_of_other_transactions() -> None:
    events = [*UP_THEN_REVERSED[:2], TierEvent(at=day(30), points=-1200, source="A")]
    status = evaluate(scheme("automatic"), events, 40)
    assert status.tier.name == "金卡"
    assert status.qualifying == 2000


def test_automatic_downgrade_never_happens_as_points_age() -> None:
    status = evaluate(scheme("automatic"), UP_THEN_REVERSED[:2], 1000)
    assert status.tier.name == "金卡"


def test_periodic_review_from_registration_keeps_then_drops_after_grace() -> None:
    s = scheme("periodic", period_days=365, grace_days=30)
    events = [TierEvent(at=day(10), points=1200, source="A")]
    # Review at day 365 counts (0, 365]: 1200 keeps silver. Review at day 730 counts
    # (365, 730]: nothing, so silver ends after the 30-day grace, at day 760.
    at_400 = evaluate(s, events, 400)
    assert at_400.tier.name == "银卡"
    assert at_400.review_at == day(730)
    assert at_400.points_to_keep == 1000
    assert at_400.expires_at == day(760)
    at_800 = evaluate(s, events, 800)
    assert path(at_800)[1:] == [(10, "银卡", "upgrade"), (760, "普通", "review")]


def test_points_earned_during_the_grace_period_keep_the_tier() -> None:
    s = scheme("periodic", period_days=365, grace_days=30)
    events = [TierEvent(at=day(10), points=1200, source="A"),
              TierEvent(at=day(740), points=1000, source="B")]
    status = evaluate(s, events, 800)
    assert status.tier.name == "银卡"
    assert [c.reason for c in status.history] == ["registration", "upgrade"]


def test_periodic_review_from_the_last_change() -> None:
    s = scheme("periodic", period_days=365, grace_days=0, anchor="last_change")
    events = [TierEvent(at=day(10), points=1200, source="A")]
    # Upgraded at day 10, so reviewed at day 375, counting (10, 375]: the day-10 points
    # are out of the window, and the grace is 0: back to the base tier at day 375.
    status = evaluate(s, events, 500)
    assert path(status)[1:] == [(10, "银卡", "upgrade"), (375, "普通", "review")]
    assert status.review_at == day(375 + 365)


def test_periodic_review_on_the_anniversary_of_a_leap_day_registration() -> None:
    registered = datetime(2024, 2, 29, 12, tzinfo=T0.tzinfo)
    s = scheme("periodic", anchor="anniversary", grace_days=0)
    events = [TierEvent(at=registered + timedelta(days=1), points=1500, source="A")]
    status = evaluate_tier(s, events, customer_id="C-1", registered_at=registered,
                           as_of=datetime(2026, 6, 1, tzinfo=T0.tzinfo))
    # 2025-02-28 keeps silver (1500 within 365 days); 2026-02-28 drops it.
    assert [(c.at.date().isoformat(), c.to_tier) for c in status.history[1:]] == [
        ("2024-03-01", "银卡"), ("2026-02-28", "普通"),
    ]
    assert status.review_at == datetime(2027, 2, 28, 12, tzinfo=T0.tzinfo)


def test_a_star_scheme_reads_star_levels() -> None:
    s = TierScheme(tiers=(Tier(name="一般", threshold=0), Tier(name="VIP", threshold=4)),
                   basis="stars", downgrade="automatic")
    events = [TierEvent(at=day(5), points=3, source="run-1"),
              TierEvent(at=day(35), points=5, source="run-2")]
    status = evaluate(s, events, 40)
    assert status.tier.name == "VIP"
    assert status.since == day(35)


def _program(mode: str) -> Program:
    return Program(rules=DEFAULT_PROGRAM.rules, return_window_days=7, tiers=scheme(mode))


@pytest.mark.parametrize("mode", ["none", "automatic", "periodic"])
def test_a_promotion_whose_order_is_returned(mode: str) -> None:
    store = MemoryStore()
    add_customer(store)
    program = _program(mode)
    store.orders.add(paid_order("O-1", "1500.00", day(1)))  # delivered day 3, unlocks day 10
    earn_for_order(store, "O-1", program=program)
    assert tier_status(store, "C-1", as_of=day(9), program=program).tier.name == "普通"
    promoted = update_tier(store, "C-1", as_of=day(12), program=program)
    assert promoted.tier.name == "银卡"
    assert promoted.since == day(1) + timedelta(days=2 + 7)
    order = store.orders.get("O-1")
    store.orders.update(order.record_return(Money(Decimal("1500.00"), "CNY"), day(20)))
    reverse_for_order(store, "O-1", program=program)
    after = update_tier(store, "C-1", as_of=day(25), program=program)
    expected = {"none": "银卡", "automatic": "普通", "periodic": "银卡"}[mode]
    assert after.tier.name == expected
    assert after.qualifying == 0
    assert [c.to_tier for c in store.loyalty.tier_history("C-1")] == [
        c.to_tier for c in after.history
    ]
    assert update_tier(store, "C-1", as_of=day(25), program=program) == after
    assert len(store.loyalty.tier_history("C-1")) == len(after.history)


def test_an_order_returned_inside_its_window_never_promotes() -> None:
    store = MemoryStore()
    add_customer(store)
    program = _program("automatic")
    store.orders.add(paid_order("O-1", "1500.00", day(1)))
    earn_for_order(store, "O-1", program=program)
    order = store.orders.get("O-1")
    store.orders.update(order.record_return(Money(Decimal("1500.00"), "CNY"), day(5)))
    reverse_for_order(store, "O-1", program=program)
    status = tier_status(store, "C-1", as_of=day(30), program=program)
    assert status.tier.name == "普通"
    assert [c.reason for c in status.history] == ["registration"]


def test_tiers_count_points_earned_not_the_balance() -> None:
    from custmgmt.loyalty import redeem_points

    store = MemoryStore()
    add_customer(store)
    program = _program("automatic")
    store.orders.add(paid_order("O-1", "1200.00", day(1)))
    earn_for_order(store, "O-1", program=program)
    redeem_points(store, "C-1", 1200, key="r-1", at=day(11), program=program)
    status = tier_status(store, "C-1", as_of=day(12), program=program)
    assert status.tier.name == "银卡"
    assert status.qualifying == 1200


def test_the_tier_multiplier_applies_to_later_awards() -> None:
    store = MemoryStore()
    add_customer(store)
    program = _program("none")
    store.orders.add(paid_order("O-1", "1000.00", day(1)))
    earn_for_order(store, "O-1", program=program)
    store.orders.add(paid_order("O-2", "100.00", day(20)))
    second = earn_for_order(store, "O-2", program=program)
    assert second is not None
    assert second.points == 150


@pytest.mark.parametrize(
    ("tiers", "field"),
    [
        ((), "TierScheme.tiers"),
        ((Tier(name="a", threshold=5),), "TierScheme.tiers"),
        ((Tier(name="a", threshold=0), Tier(name="b", threshold=0)), "TierScheme.tiers"),
        ((Tier(name="a", threshold=0), Tier(name="a", threshold=9)), "TierScheme.tiers"),
    ],
)
def test_bad_tier_schemes_are_refused(tiers: tuple[Tier, ...], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        TierScheme(tiers=tiers)
    assert caught.value.field == field


def test_evaluating_before_registration_is_refused() -> None:
    with pytest.raises(ValidationError, match="as_of"):
        evaluate_tier(scheme("none"), [], customer_id="C-1", registered_at=day(5), as_of=day(1))
