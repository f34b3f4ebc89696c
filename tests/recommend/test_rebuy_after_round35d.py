"""``rebuy_after`` against the obvious rule: an item is due again when its last purchase
plus the interval is at or before ``as_of`` (round 35d).

The threshold was ``now - min(interval, now)`` in µs since 1970: with an interval longer
than the time since 1970, or any ``as_of`` before 1970, it became 0, and every item last
bought before 1970 was due again, a day after its purchase.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custmgmt.errors import ValidationError
from custmgmt.recommend import ItemItemModel, Purchases


def _model(bought_at: datetime) -> ItemItemModel:
    purchases = Purchases.from_arrays(
        customer_id=["甲", "甲", "乙", "乙"], item=["茶", "杯", "茶", "杯"],
        at=[bought_at, bought_at, bought_at, bought_at],
    )
    return ItemItemModel().fit(purchases)


def test_an_item_bought_before_1970_is_not_due_a_day_later() -> None:
    bought = datetime(1960, 1, 1, tzinfo=UTC)
    got = _model(bought).recommend(["甲"], k=2, rebuy_after={"茶": 30},
                                   as_of=bought + timedelta(days=1))
    assert got.for_customer("甲") == []


def test_an_interval_longer_than_the_epoch_is_not_due_early() -> None:
    # Bought in 1965, re-buyable after 100 years: not due in 2025.
    got = _model(datetime(1965, 6, 1, tzinfo=UTC)).recommend(
        ["甲"], k=2, rebuy_after={"茶": 36_500}, as_of=datetime(2025, 1, 1, tzinfo=UTC)
    )
    assert got.for_customer("甲") == []


def test_year_one_and_a_huge_interval_is_not_due() -> None:
    bought = datetime(1, 1, 1, tzinfo=UTC)
    got = _model(bought).recommend(["甲"], k=2, rebuy_after={"茶": 10**12},
                                   as_of=datetime(9999, 12, 31, tzinfo=UTC))
    assert got.for_customer("甲") == []


_moments = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                        timezones=st.just(UTC))


@settings(max_examples=150, deadline=None)
@given(bought=_moments, as_of=_moments, days=st.integers(0, 4_000_000))
def test_due_matches_the_obvious_rule(bought: datetime, as_of: datetime, days: int) -> None:
    try:
        due = bought + timedelta(days=days) <= as_of
    except OverflowError:  # beyond year 9999: never due before it
        due = False
    got = _model(bought).recommend(["甲"], k=2, rebuy_after={"茶": days}, as_of=as_of)
    assert ("茶" in got.for_customer("甲")) == due


@pytest.mark.parametrize("key", [5, None, ("茶",)])
def test_a_key_that_is_not_an_item_id_is_refused(key: object) -> None:
    # 5 and None raised a bare TypeError inside numpy's search; the tuple ("茶",) was
    # searched as an array and made item 茶 re-buyable.
    model = _model(datetime(2025, 1, 1, tzinfo=UTC))
    for who in (["甲"], ["没买过"]):  # refused whether or not the customer has a history
        with pytest.raises(ValidationError) as info:
            model.recommend(who, k=2, rebuy_after={key: 1},  # type: ignore[dict-item]
                            as_of=datetime(2026, 1, 1, tzinfo=UTC))
        assert info.value.field == "rebuy_after"
        assert info.value.value == key


def test_no_customer_ids_is_a_validation_error() -> None:
    with pytest.raises(ValidationError) as info:
        _model(datetime(2025, 1, 1, tzinfo=UTC)).recommend(None, k=2)  # type: ignore[arg-type]
    assert info.value.field == "customer_ids"
