"""A feature table has one row per customer: ``rate`` refuses a repeated customer id
(naming the field and the id) instead of giving that customer two sets of stars that
no store would keep."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custmgmt.adapters.memory import MemoryStore
from custmgmt.analytics.features import CustomerFeatures
from custmgmt.errors import ValidationError
from custmgmt.rating import PreviousStars, RatingPolicy, rate, save_rating

AS_OF = datetime(2026, 1, 1, tzinfo=UTC)
POLICY = RatingPolicy.from_dict({"criteria": {"spend": {"weight": 1.0}}})


def table(ids: Any, spend: list[float] | None = None) -> CustomerFeatures:
    ids = np.asarray(ids)
    values = spend if spend is not None else [float(k) for k in range(ids.size)]
    return CustomerFeatures(
        customer_ids=ids,
        columns={"monetary_net": np.asarray(values, dtype=np.float64)},
        as_of=AS_OF,
        currency="CNY",
    )


@pytest.mark.parametrize(
    ("ids", "repeated"),
    [
        (np.array(["a", "b", "a"]), "a"),
        (np.array(["a", "b", "a"], dtype=object), "a"),
        (np.array([7, 3, 7, 3]), 7),
        (np.array(["x", "y", "z", "y", "x"], dtype=object), "y"),
        # A store keeps integer ids as text: 1 and "1" are one customer there.
        (np.array([1, "1"], dtype=object), "1"),
    ],
)
def test_rate_refuses_a_repeated_customer_id_naming_it(ids: Any, repeated: Any) -> None:
    # Used to rate both rows (two sets of stars for one customer); saving the run
    # was then refused by the store, far from the cause.
    with pytest.raises(ValidationError) as caught:
        rate(POLICY, table(ids))
    assert caught.value.field == "features.customer_ids"
    assert caught.value.value == repeated
    assert "once" in caught.value.expected


def test_distinct_ids_still_rate_and_save() -> None:
    rating = rate(POLICY, table(np.array(["a", "b", "c"], dtype=object)))
    store = MemoryStore()
    run = save_rating(store.ratings, rating, created_at=AS_OF)
    assert run.customer_count == 3


def test_a_previous_run_with_a_repeated_id_is_refused() -> None:
    previous = PreviousStars(
        customer_ids=np.array(["a", "a"], dtype=object),
        stars=np.array([5, 1]),
        pending=np.array([0, 0]),
    )
    with pytest.raises(ValidationError) as caught:
        rate(POLICY, table(np.array(["a", "b"], dtype=object)), previous)
    assert caught.value.field == "previous.customer_ids"
    assert caught.value.value == "a"


def test_unhashable_ids_are_refused() -> None:
    ids = np.empty(2, dtype=object)
    ids[0], ids[1] = ["a"], ["b"]
    with pytest.raises(ValidationError) as caught:
        rate(POLICY, table(ids))
    assert caught.value.field == "features.customer_ids"


def test_two_dimensional_ids_are_refused() -> None:
    features = CustomerFeatures(
        customer_ids=np.array([["a"], ["b"]]),
        columns={"monetary_net": np.array([1.0, 2.0])},
        as_of=AS_OF,
        currency="CNY",
    )
    with pytest.raises(ValidationError) as caught:
        rate(POLICY, features)
    assert caught.value.field == "features.customer_ids"


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(["a", "b", "c", "d", "e", "f"]), min_size=1, max_size=12),
       st.booleans())
def test_rate_accepts_exactly_the_tables_a_store_can_keep(ids: list[str], as_object: bool) -> None:
    # Either the rating is refused at rate() with the first repeated id, or it saves.
    column = np.array(ids, dtype=object if as_object else None)
    repeated = [x for k, x in enumerate(ids) if x in ids[:k]]
    if repeated:
        with pytest.raises(ValidationError) as caught:
            rate(POLICY, table(column))
        assert caught.value.field == "features.customer_ids"
        assert caught.value.value == repeated[0]
        return
    rating = rate(POLICY, table(column))
    assert sorted(rating.customer_ids.tolist()) == sorted(ids)
    run = save_rating(MemoryStore().ratings, rating, created_at=AS_OF)
    assert run.customer_count == len(ids)
