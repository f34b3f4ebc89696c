"""The default churn rule on hand-computed histories, and against a slow reference."""

from __future__ import annotations

import itertools
import math
import statistics
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from _churn_support import T0, day, orders
from hypothesis import given, settings
from hypothesis import strategies as st

from custmgmt.churn import CYCLE_SOURCES, ChurnContext, PurchaseCycleRule
from custmgmt.errors import ValidationError
from custmgmt.segmentation import segment_features


def run(rule: PurchaseCycleRule, frame: Any, as_of: Any) -> dict[str, dict[str, float]]:
    features = segment_features(frame, as_of=as_of)
    outcome = rule.evaluate(ChurnContext(features=features, as_of=as_of, orders=frame))
    result = {}
    for i, cid in enumerate(features.customer_ids.tolist()):
        row = {k: float(v[i]) for k, v in outcome.values.items()}
        row["fired"] = bool(outcome.fired[i])
        result[cid] = row
    return result


# Customer "a" buys every 10 days: days 0, 10, 20. Cycle 10, threshold 1.5 x 10 = 15 days
# of silence, so the boundary is day 35.
REGULAR = [("a", 0, 100), ("a", 10, 100), ("a", 20, 100)]


def test_silent_exactly_one_and_a_half_cycles_is_not_churned() -> None:
    got = run(PurchaseCycleRule(), orders(REGULAR), day(35))["a"]
    assert got["silent_days"] == 15.0
    assert got["cycle_days"] == 10.0
    assert got["threshold_days"] == 15.0
    assert got["fired"] is False


def test_one_microsecond_past_the_boundary_is_churned() -> None:
    got = run(PurchaseCycleRule(), orders(REGULAR), day(35) + timedelta(microseconds=1))["a"]
    assert got["fired"] is True
    assert CYCLE_SOURCES[int(got["cycle_source"])] == "own"


def test_a_day_before_the_boundary_is_not_churned() -> None:
    assert run(PurchaseCycleRule(), orders(REGULAR), day(34))["a"]["fired"] is False


def test_the_factor_is_configurable() -> None:
    # factor 2: threshold 20 days, boundary day 40.
    assert run(PurchaseCycleRule(factor=2), orders(REGULAR), day(40))["a"]["fired"] is False
    assert run(PurchaseCycleRule(factor=2), orders(REGULAR), day(40.5))["a"]["fired"] is True


def test_the_median_cycle_ignores_one_long_break_and_the_mean_does_not() -> None:
    # Gaps 2, 2, 26: median 2 (threshold 3), mean 10 (threshold 15). Silent 10 days at day 40.
    frame = orders([("a", 0, 1), ("a", 2, 1), ("a", 4, 1), ("a", 30, 1)])
    median = run(PurchaseCycleRule(), frame, day(40))["a"]
    mean = run(PurchaseCycleRule(statistic="mean"), frame, day(40))["a"]
    assert (median["cycle_days"], median["fired"]) == (2.0, True)
    assert (mean["cycle_days"], mean["fired"]) == (10.0, False)


def test_a_single_order_customer_falls_back_to_their_categorys_cycle() -> None:
    # "a" buys tea every 10 days; "d" buys every 30 days, starting with books.
    # Own cycles: a 10, d 30 -> population median 20. Category cycles (gap after an
    # order of the category): tea 10, books 30. "b" bought tea once on day 65 (threshold
    # 15, boundary day 80); "c" bought books once on day 65 (threshold 45, boundary 110).
    frame = orders(
        [
            ("a", 0, 1, "tea"),
            ("a", 10, 1, "tea"),
            ("a", 20, 1, "tea"),
            ("d", 0, 1, "books"),
            ("d", 30, 1, "toys"),
            ("d", 60, 1, "toys"),
            ("b", 65, 1, "tea"),
            ("c", 65, 1, "books"),
        ]
    )
    assert run(PurchaseCycleRule(), frame, day(80))["b"]["fired"] is False
    got = run(PurchaseCycleRule(), frame, day(81))
    assert (got["b"]["cycle_days"], got["b"]["fired"]) == (10.0, True)
    assert CYCLE_SOURCES[int(got["b"]["cycle_source"])] == "category"
    assert (got["c"]["cycle_days"], got["c"]["fired"]) == (30.0, False)
    assert run(PurchaseCycleRule(), frame, day(110))["c"]["fired"] is False
    assert run(PurchaseCycleRule(), frame, day(110.01))["c"]["fired"] is True


def test_the_population_fallback_uses_the_median_of_own_cycles() -> None:
    frame = orders(
        [
            ("a", 0, 1, "tea"),
            ("a", 10, 1, "tea"),
            ("d", 0, 1, "books"),
            ("d", 30, 1, "books"),
            ("b", 5, 1, "tea"),
        ]
    )
    got = run(PurchaseCycleRule(fallback="population"), frame, day(35))["b"]
    assert got["cycle_days"] == 20.0  # median of 10 and 30
    assert CYCLE_SOURCES[int(got["cycle_source"])] == "population"
    assert got["fired"] is False  # silent 30 == 1.5 x 20: not churned
    assert run(PurchaseCycleRule(fallback="population"), frame, day(36))["b"]["fired"] is True


def test_a_category_without_any_repeat_falls_back_to_the_population() -> None:
    frame = orders([("a", 0, 1, "tea"), ("a", 10, 1, "tea"), ("c", 0, 1, "books")])
    got = run(PurchaseCycleRule(), frame, day(16))["c"]
    assert CYCLE_SOURCES[int(got["cycle_source"])] == "population"
    assert (got["cycle_days"], got["fired"]) == (10.0, True)


def test_orders_at_one_moment_give_no_own_cycle() -> None:
    frame = orders([("a", 0, 1), ("a", 0, 1), ("b", 0, 1), ("b", 4, 1)])
    got = run(PurchaseCycleRule(), frame, day(10))["a"]
    assert CYCLE_SOURCES[int(got["cycle_source"])] != "own"
    assert got["cycle_days"] > 0


def test_nobody_with_a_cycle_means_no_verdict_for_single_order_customers() -> None:
    got = run(PurchaseCycleRule(), orders([("a", 0, 1)]), day(1000))["a"]
    assert math.isnan(got["cycle_days"])
    assert got["fired"] is False


def test_cancelled_orders_do_not_count_towards_the_cycle() -> None:
    frame = orders(
        [("a", 0, 1), ("a", 5, 1), ("a", 20, 1)], status=["delivered", "cancelled", "delivered"]
    )
    got = run(PurchaseCycleRule(), frame, day(50))["a"]
    assert got["cycle_days"] == 20.0
    assert got["fired"] is False  # silent 30 == 1.5 x 20


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"factor": 0}, "PurchaseCycleRule.factor"),
        ({"factor": -1.5}, "PurchaseCycleRule.factor"),
        ({"factor": math.nan}, "PurchaseCycleRule.factor"),
        ({"factor": True}, "PurchaseCycleRule.factor"),
        ({"factor": "1.5"}, "PurchaseCycleRule.factor"),
        ({"statistic": "mode"}, "PurchaseCycleRule.statistic"),
        ({"fallback": "nobody"}, "PurchaseCycleRule.fallback"),
        ({"severity": 0}, "PurchaseCycleRule.severity"),
    ],
)
def test_bad_parameters_are_validation_errors(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        PurchaseCycleRule(**kwargs)
    assert info.value.field == field


history = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c", "d", "e"]),
        st.integers(min_value=0, max_value=60),
        st.sampled_from(["tea", "books", "toys"]),
    ),
    min_size=1,
    max_size=25,
)


def slow_cycle_verdicts(
    rows: list[tuple[str, int, str]], as_of_day: float, factor: float
) -> dict[str, tuple[float, bool]]:
    """The rule written per customer with plain Python lists."""
    counted = sorted((c, d, cat) for c, d, cat in rows if d <= as_of_day)
    by_customer: dict[str, list[tuple[int, str]]] = {}
    for c, d, cat in counted:
        by_customer.setdefault(c, []).append((d, cat))
    own: dict[str, float] = {}
    gaps_after: dict[str, list[float]] = {}
    for c, items in by_customer.items():
        gaps = [b[0] - a[0] for a, b in itertools.pairwise(items)]
        for (_, cat), gap in zip(items, gaps, strict=False):
            gaps_after.setdefault(cat, []).append(gap)
        if gaps and statistics.median(gaps) > 0:
            own[c] = float(statistics.median(gaps))
    population = statistics.median(own.values()) if own else math.nan
    result = {}
    for c, items in by_customer.items():
        cycle = own.get(c, math.nan)
        if math.isnan(cycle):
            last_category = items[-1][1]
            cat_gaps = gaps_after.get(last_category, [])
            if cat_gaps and statistics.median(cat_gaps) > 0:
                cycle = float(statistics.median(cat_gaps))
        if math.isnan(cycle) and population > 0:
            cycle = population
        silent = as_of_day - items[-1][0]
        result[c] = (cycle, (not math.isnan(cycle)) and silent > factor * cycle)
    return result


@settings(max_examples=80, deadline=None)
@given(rows=history, as_of_day=st.integers(0, 150), factor=st.sampled_from([1.0, 1.5, 2.0]))
def test_the_rule_matches_a_slow_per_customer_reference(
    rows: list[tuple[str, int, str]], as_of_day: int, factor: float
) -> None:
    frame = orders([(c, d, 100, cat) for c, d, cat in rows])
    got = run(PurchaseCycleRule(factor=factor), frame, day(as_of_day))
    expected = slow_cycle_verdicts(rows, as_of_day, factor)
    for cid, row in got.items():
        if cid not in expected:  # no order by as_of
            assert row["fired"] is False
            continue
        cycle, fired = expected[cid]
        assert (math.isnan(row["cycle_days"]) and math.isnan(cycle)) or np.isclose(
            row["cycle_days"], cycle
        )
        assert row["fired"] is fired, (cid, row, expected[cid])


def test_as_of_is_required_to_be_aware() -> None:
    from custmgmt.churn import ChurnEngine

    with pytest.raises(ValidationError):
        ChurnEngine().evaluate(orders(REGULAR), as_of=T0.replace(tzinfo=None))
