"""``followup_effect`` on a store: contacts, orders and reviews in, a matched estimate out."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import numpy as np
import pytest

from custmgmt.adapters.memory import MemoryStore
from custmgmt.domain import Money
from custmgmt.errors import ValidationError
from custmgmt.followup import ContactRecord, followup_effect, record_contact
from custmgmt.testing import make_customer, make_order, make_order_line

CST = timezone(timedelta(hours=8))
START = datetime(2026, 5, 1, tzinfo=CST)


def _store(effect: int, seed: int) -> tuple[MemoryStore, dict[str, str], dict[str, int]]:
    rng = np.random.default_rng(seed)
    store = MemoryStore()
    segments, stars = {}, {}
    k = 0
    for i in range(240):
        cid = f"C{i:03d}"
        store.customers.add(make_customer(id=cid, registered_at=datetime(2024, 1, 1, tzinfo=CST)))
        segments[cid] = "core" if i % 2 else "new"
        stars[cid] = 1 + i % 3
        followed = i % 4 == 0
        if followed:
            record_contact(store, ContactRecord(
                id=f"K{i}", customer_id=cid, at=START + timedelta(days=2), channel="phone",
                staff="客服-王", outcome="reached"))
        before = int(rng.poisson(2))
        after = int(rng.poisson(2)) + (effect if followed else 0)
        for n, days in ((before, -20), (after, 10)):
            for _ in range(n):
                k += 1
                store.orders.add(make_order(
                    id=f"O{k}", customer_id=cid, placed_at=START + timedelta(days=days),
                    lines=[make_order_line(unit_price=Money(Decimal("50.00"), "CNY"))]))
    return store, segments, stars


def test_a_planted_effect_of_follow_ups_is_recovered_from_the_store() -> None:
    store, segments, stars = _store(effect=2, seed=1)
    result = followup_effect(store, period_start=START, period_end=START + timedelta(days=7),
                             window_days=30, currency="CNY", segments=segments, stars=stars,
                             replicates=300)
    assert result.followed == 60
    assert result.purchases is not None
    assert result.purchases.covers(2.0)
    assert result.purchases.low > 0
    assert result.spend is not None
    assert result.spend.low > 0


def test_no_effect_is_reported_where_none_was_planted() -> None:
    store, segments, stars = _store(effect=0, seed=2)
    result = followup_effect(store, period_start=START, period_end=START + timedelta(days=7),
                             window_days=30, currency="CNY", segments=segments, stars=stars,
                             replicates=300)
    assert result.purchases is not None
    assert result.purchases.covers(0.0)
    with pytest.raises(ValidationError, match="period_end"):
        followup_effect(store, period_start=START, period_end=START, window_days=30,
                        currency="CNY", segments=segments, stars=stars)


def test_the_store_effect_prints_spend_at_the_currency_digits() -> None:
    """followup_effect passes its currency on: the spend line of a store's effect is
    printed at the currency's digits (it was always 2 decimals)."""
    store, segments, stars = _store(effect=2, seed=1)
    result = followup_effect(store, period_start=START, period_end=START + timedelta(days=7),
                             window_days=30, currency="CNY", segments=segments, stars=stars,
                             replicates=100)
    assert result.currency == "CNY"
    spend = [line for line in result.lines() if line.startswith("spend:")]
    assert spend
    assert all("." in line for line in spend), spend
