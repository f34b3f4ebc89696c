"""Uplift intervals: slow references, and coverage over 100 seeded simulations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from custmgmt.campaigns.effect import analyse_uplift
from custmgmt.campaigns.stats import Rate, bootstrap_interval, mean_uplift, rate_uplift
from custmgmt.errors import ValidationError


def slow_bootstrap_mean_diff(
    a: list[float], b: list[float], replicates: int, seed: int, block: int = 64
) -> tuple[float, float]:
    """The documented resampling, one customer at a time."""
    rng = np.random.default_rng(seed)
    values = a + b
    n = len(values)
    diffs = []
    done = 0
    while done < replicates:
        k = min(block, replicates - done)
        u = rng.random((k, n))
        for r in range(k):
            ta = [values[math.floor(u[r, i] * len(a))] for i in range(len(a))]
            tb = [values[len(a) + math.floor(u[r, len(a) + j] * len(b))]
                  for j in range(len(b))]
            diffs.append(sum(ta) / len(ta) - sum(tb) / len(tb))
        done += k
    diffs.sort()

    def quantile(q: float) -> float:  # numpy's default ("linear") definition
        h = (len(diffs) - 1) * q
        lo = math.floor(h)
        return diffs[lo] + (h - lo) * (diffs[min(lo + 1, len(diffs) - 1)] - diffs[lo])

    return quantile(0.025), quantile(0.975)


@given(
    a=st.lists(st.integers(0, 500), min_size=1, max_size=25),
    b=st.lists(st.integers(0, 500), min_size=1, max_size=25),
    seed=st.integers(0, 2**16),
)
def test_the_bootstrap_equals_the_slow_reference(a: list[int], b: list[int], seed: int) -> None:
    got = mean_uplift(np.array(a), np.array(b), replicates=130, seed=seed)
    low, high = slow_bootstrap_mean_diff([float(x) for x in a], [float(x) for x in b], 130, seed)
    assert got.low == pytest.approx(low, abs=1e-9)
    assert got.high == pytest.approx(high, abs=1e-9)
    assert got.estimate == pytest.approx(sum(a) / len(a) - sum(b) / len(b))


def slow_newcombe(x1: int, n1: int, x2: int, n2: int, z: float = 1.959963984540054) -> tuple:
    def wilson(x: int, n: int) -> tuple[float, float]:
        p = x / n
        denom = 1 + z * z / n
        centre = (p + z * z / (2 * n)) / denom
        half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
        return centre - half, centre + half

    p1, p2 = x1 / n1, x2 / n2
    (l1, u1), (l2, u2) = wilson(x1, n1), wilson(x2, n2)
    d = p1 - p2
    low = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    return low, d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)


@given(n1=st.integers(1, 400), n2=st.integers(1, 400), data=st.data())
def test_the_closed_form_equals_newcombes_formula(n1: int, n2: int, data: st.DataObject) -> None:
    x1 = data.draw(st.integers(0, n1))
    x2 = data.draw(st.integers(0, n2))
    u = rate_uplift(Rate(x1, n1), Rate(x2, n2))
    low, high = slow_newcombe(x1, n1, x2, n2)
    assert (u.low, u.high) == (pytest.approx(low), pytest.approx(high))
    assert u.low <= u.estimate <= u.high
    assert 0 <= u.p_value <= 1


# Newcombe's interval for a newcombe example: 56/70 vs 48/80 -> [0.0524, 0.3339] (Table II).
def test_newcombes_published_example() -> None:
    u = rate_uplift(Rate(56, 70), Rate(48, 80))
    assert (round(u.low, 4), round(u.high, 4)) == (0.0524, 0.3339)


def _simulate(seed: int, effect: bool) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    n = 1500
    p_c, p_t = 0.10, 0.14 if effect else 0.10
    conv_t = rng.random(n) < p_t
    conv_c = rng.random(n) < p_c
    # Spend of a buyer: lognormal around 200 CNY, in fen.
    spend_t = np.where(conv_t, np.round(rng.lognormal(5.3, 0.5, n) * 100), 0).astype(np.int64)
    spend_c = np.where(conv_c, np.round(rng.lognormal(5.3, 0.5, n) * 100), 0).astype(np.int64)
    return conv_t.astype(np.int64), spend_t, conv_c.astype(np.int64), spend_c


TRUE_RATE_EFFECT = 0.04
# Revenue per customer: E[lognormal(5.3, 0.5)] * p, in CNY.
MEAN_SPEND = math.exp(5.3 + 0.5**2 / 2)


@pytest.mark.slow
def test_intervals_cover_a_planted_effect_in_at_least_90_of_100_simulations() -> None:
    rate_hits = revenue_hits = 0
    for seed in range(100):
        t_o, t_r, c_o, c_r = _simulate(seed, effect=True)
        report = analyse_uplift(t_o, t_r, c_o, c_r, cost_minor=0, replicates=400, seed=seed)
        rate_hits += report.conversion.covers(TRUE_RATE_EFFECT)
        revenue_hits += report.revenue_per_customer.covers(TRUE_RATE_EFFECT * MEAN_SPEND)
    assert rate_hits >= 90
    assert revenue_hits >= 90


@pytest.mark.slow
def test_intervals_cover_zero_without_an_effect_in_at_least_90_of_100_simulations() -> None:
    rate_hits = revenue_hits = 0
    for seed in range(100, 200):
        t_o, t_r, c_o, c_r = _simulate(seed, effect=False)
        report = analyse_uplift(t_o, t_r, c_o, c_r, cost_minor=0, replicates=400, seed=seed)
        rate_hits += report.conversion.covers(0.0)
        revenue_hits += report.revenue_per_customer.covers(0.0)
    assert rate_hits >= 90
    assert revenue_hits >= 90


def test_a_planted_effect_is_found_and_roi_follows_the_revenue_interval() -> None:
    t_o, t_r, c_o, c_r = _simulate(7, effect=True)
    report = analyse_uplift(t_o, t_r, c_o, c_r, cost_minor=1500 * 200, replicates=500, seed=1)
    rpc = report.revenue_per_customer
    assert report.conversion.p_value < 0.05
    assert report.conversion.treated_rate == Rate(int(t_o.sum()), 1500)
    roi = report.roi
    assert roi.value == pytest.approx((rpc.estimate * 1500 - 3000) / 3000)
    assert roi.low == pytest.approx((rpc.low * 1500 - 3000) / 3000)
    assert report.average_order_value is not None
    assert "of 1,500" in report.lines()[0]


def test_an_empty_group_is_refused() -> None:
    with pytest.raises(ValidationError, match="groups"):
        analyse_uplift(np.array([1]), np.array([100]), np.array([], np.int64),
                       np.array([], np.int64), cost_minor=0)
    with pytest.raises(ValidationError, match="replicates"):
        bootstrap_interval(lambda idx: idx.sum(axis=1).astype(float), np.zeros(3, np.int64), 1,
                           replicates=10)


def test_rates_show_their_denominators() -> None:
    assert str(Rate(3, 40)) == "7.5% (3 of 40)"
    assert str(Rate(0, 0)) == "n/a (0 of 0)"
    with pytest.raises(ValidationError):
        Rate(5, 4)


def test_a_group_with_an_empty_side_says_so_instead_of_printing_nan() -> None:
    from custmgmt.campaigns.effect import uplift_by_group

    ids_t = np.array(["a", "b"], dtype=object)
    ids_c = np.array(["c"], dtype=object)
    rows = uplift_by_group("stars", {"a": "5", "b": "4", "c": "4"}, ids_t,
                           (np.array([1, 0]), np.array([100, 0])), ids_c,
                           (np.array([1]), np.array([50])), replicates=100)
    assert [r.label for r in rows] == ["4", "5"]
    assert "nan" not in str(rows[1])
    assert "n/a (a side is empty)" in str(rows[1])
    assert rows[1].revenue_per_customer is None
