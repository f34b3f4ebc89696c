"""Hostile inputs to the recommendation services, models and evaluation: lists longer
than the catalogue, hold-outs reaching before year 1, customers asked twice, huge
intervals, times that are not µs, ids of mixed types."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from custmgmt.adapters.memory import MemoryStore
from custmgmt.errors import ValidationError
from custmgmt.recommend import (
    ItemItemModel,
    PopularityModel,
    Purchases,
    evaluate,
    evaluate_store,
    synthetic_purchases,
)

CUTOFF = datetime(2025, 10, 1, tzinfo=UTC)


@pytest.mark.parametrize("split", ["time", "last"])
def test_a_k_longer_than_the_catalogue_scores_as_the_whole_catalogue(split: str) -> None:
    p = synthetic_purchases(customers=60, items=12, lines=500, seed=3)
    cutoff = CUTOFF if split == "time" else None
    whole = evaluate(p, split=split, cutoff=cutoff, k=p.n_items)
    for k in (p.n_items + 1, 10**12):
        longer = evaluate(p, split=split, cutoff=cutoff, k=k)
        assert longer.rows == whole.rows
        assert longer.k == k


def test_a_tiny_catalogue_with_a_long_list_is_evaluated() -> None:
    p = Purchases.from_arrays(customer_id=["a", "a", "b", "b", "a", "b"],
                              item=["x", "y", "x", "z", "z", "y"],
                              at=[1, 2, 1, 2, 10**12, 10**12])
    report = evaluate(p, split="last", k=5)
    assert report.customers == 2
    assert report.row("popularity").hit_rate == 1.0


@pytest.mark.parametrize("days", [999_999_999, 10**18])
def test_a_hold_out_before_year_one_is_a_validation_error(days: int) -> None:
    with pytest.raises(ValidationError, match="holdout_days"):
        evaluate_store(MemoryStore(), as_of=CUTOFF, holdout_days=days)


@pytest.mark.parametrize("days", [0, -1, True, 1.5])
def test_a_hold_out_that_is_not_a_positive_integer_is_refused(days: object) -> None:
    with pytest.raises(ValidationError, match="holdout_days"):
        evaluate_store(MemoryStore(), as_of=CUTOFF, holdout_days=days)  # type: ignore[arg-type]


# -- the models and the purchase frame -------------------------------------------------
def _small() -> Purchases:
    return Purchases.from_arrays(customer_id=["a", "a", "b"], item=["x", "y", "x"],
                                 at=[1, 2, 3])


@pytest.mark.parametrize("model", [ItemItemModel, PopularityModel])
def test_a_customer_asked_twice_gets_the_same_list_without_what_they_bought(
    model: type[ItemItemModel] | type[PopularityModel],
) -> None:
    fitted = model().fit(_small())
    alone = fitted.recommend(["b"], k=2)
    twice = fitted.recommend(["b", "a", "b"], k=2)
    assert twice.customer_ids == ("b", "a", "b")
    assert twice.items[0].tolist() == twice.items[2].tolist() == alone.items[0].tolist()
    assert "x" not in twice.for_customer("b")
    assert twice.items[1].tolist() == fitted.recommend(["a"], k=2).items[0].tolist()


def test_customers_given_as_a_generator_are_all_answered() -> None:
    fitted = ItemItemModel().fit(_small())
    result = fitted.recommend(c for c in ["a", "b"])
    assert result.customer_ids == ("a", "b")
    assert result.for_customer("b") == ["y"]


def test_a_huge_rebuy_interval_never_comes_due_and_a_list_is_refused() -> None:
    fitted = ItemItemModel().fit(_small())
    as_of = datetime(2026, 1, 1, tzinfo=UTC)
    assert fitted.recommend(["a"], rebuy_after={"x": 10**9}, as_of=as_of).for_customer("a") == []
    assert fitted.recommend(["a"], rebuy_after={"x": 0}, as_of=as_of).for_customer("a") == ["x"]
    with pytest.raises(ValidationError, match="rebuy_after"):
        fitted.recommend(["a"], rebuy_after=["x"], as_of=as_of)  # type: ignore[arg-type]


def test_a_huge_top_k_keeps_every_neighbour_without_allocating_by_top_k() -> None:
    p = synthetic_purchases(customers=40, items=9, lines=200, seed=2)
    huge = ItemItemModel(top_k=10**12).fit(p)
    exact = ItemItemModel(top_k=p.n_items - 1).fit(p)
    assert np.array_equal(huge.neighbours_, exact.neighbours_)
    assert np.array_equal(huge.similarities_, exact.similarities_)
    ids = list(p.customer_ids)
    assert huge.recommend(ids, k=5).items.tolist() == exact.recommend(ids, k=5).items.tolist()


@pytest.mark.parametrize(
    "at",
    [
        np.array(["2025-01-01T00:00"], dtype="datetime64[ns]"),  # naive, and in ns
        [float("nan")],
        [1.5],
        ["2025-01-01"],
        [[1]],
        1,
    ],
    ids=["datetime64", "nan", "fraction", "text", "2-d", "scalar"],
)
def test_times_that_are_not_micros_or_aware_datetimes_are_refused(at: object) -> None:
    with pytest.raises(ValidationError, match="at"):
        Purchases.from_arrays(customer_id=["a"], item=["x"], at=at)


@pytest.mark.parametrize(("column", "values"), [("customer_id", [None, "b"]),
                                                ("item", [1, "y"])])
def test_ids_of_mixed_types_are_a_validation_error(column: str, values: list[object]) -> None:
    columns: dict[str, object] = {"customer_id": ["a", "b"], "item": ["x", "y"], "at": [1, 2]}
    columns[column] = values
    with pytest.raises(ValidationError, match=column):
        Purchases.from_arrays(**columns)
