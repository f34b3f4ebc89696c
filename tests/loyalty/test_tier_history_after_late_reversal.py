"""The stored tier history ends in the evaluated tier, even when a late reversal rewrote
the past (a return recorded by the points job after the tier job had run)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from _loyalty_support import T0, paid_order

from custmgmt.domain import Money
from custmgmt.loyalty import earn_for_order, reverse_for_order, update_tier
from custmgmt.loyalty.ports import LoyaltyStore


def day(n: int) -> datetime:
    return T0 + timedelta(days=n)


def tiers(store: LoyaltyStore) -> list[tuple[int, str, str]]:
    return [((c.at - T0).days, c.to_tier, c.reason) for c in store.loyalty.tier_history("C-1")]


def test_a_late_reversal_before_the_unlock_corrects_the_stored_tier(store: LoyaltyStore) -> None:
    store.orders.add(paid_order("O-1", "1500.00", day(1)))  # unlocks on day 10
    earn_for_order(store, "O-1", reverse_refunds=False)
    store.orders.update(store.orders.get("O-1").record_return(
        Money(Decimal("1500.00"), "CNY"), day(6)))
    # The tier job runs on day 12, before the points job has seen the return.
    assert update_tier(store, "C-1", as_of=day(12)).tier.name == "银卡"
    reverse_for_order(store, "O-1")  # dated day 6: the points never counted
    status = update_tier(store, "C-1", as_of=day(13))
    assert status.tier.name == "普通会员"
    assert tiers(store)[-1][1] == status.tier.name
    assert tiers(store)[-1][2] == "correction"
    before = tiers(store)
    assert update_tier(store, "C-1", as_of=day(14)) == update_tier(store, "C-1", as_of=day(14))
    assert tiers(store) == before  # nothing more to correct
    # A genuine upgrade afterwards is appended as itself, from the corrected tier.
    store.orders.add(paid_order("O-2", "1200.00", day(20)))
    earn_for_order(store, "O-2")
    status = update_tier(store, "C-1", as_of=day(40))
    assert status.tier.name == "银卡"
    history = store.loyalty.tier_history("C-1")
    assert (history[-1].from_tier, history[-1].to_tier, history[-1].reason) == (
        "普通会员", "银卡", "upgrade")
    assert [c.seq for c in history] == list(range(1, len(history) + 1))


def test_an_as_of_before_the_stored_history_writes_nothing(store: LoyaltyStore) -> None:
    store.orders.add(paid_order("O-1", "1500.00", day(1)))
    earn_for_order(store, "O-1")
    update_tier(store, "C-1", as_of=day(30))
    before = tiers(store)
    assert update_tier(store, "C-1", as_of=day(5)).tier.name == "普通会员"
    assert tiers(store) == before
