"""Lifetime value over many months: one forecast per block of months, the old sums.

``GammaGamma.customer_lifetime_value`` used to ask the purchase model for one forecast
per month (P(alive), validation and all), about 50 ms a month on the CDNOW sample:
more than a minute for the longest horizon (1200 months). The forecasts now come a
block of months at a time; these tests hold the result to the month-by-month loop,
kept here as the slow reference.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

import numpy as np
import pytest

pytest.importorskip("scipy")

from hypothesis import given, settings
from hypothesis import strategies as st

import custmgmt.analytics.clv._bgnbd as bgnbd_module
import custmgmt.analytics.clv._gamma as gamma_module
from custmgmt.analytics.clv import MAX_MONTHS, BetaGeo, GammaGamma, ParetoNBD
from custmgmt.errors import ValidationError

_PER_MONTH = {"D": 30.0, "W": 4.345, "M": 1.0, "h": 720.0}


def reference_clv(
    spend_model: GammaGamma,
    purchases: Any,
    x: Any,
    tx: Any,
    T: Any,
    m: Any,
    months: int,
    rate: float,
    unit: str = "D",
) -> np.ndarray:
    """lifetimes' definition, literally: month by month, one forecast each."""
    spend = spend_model.conditional_expected_average_profit(x, m)
    value = np.zeros(np.shape(spend))
    before = np.zeros(np.shape(spend))
    for month in range(1, months + 1):
        upto = purchases.predict_purchases(month * _PER_MONTH[unit], x, tx, T)
        try:
            discount = float((1.0 + rate) ** month)
        except OverflowError:
            discount = float("inf")
        value += spend * (upto - before) / discount
        before = upto
    return value


def _fitted(cls: Any, **params: float) -> Any:
    model = cls()
    model.params_ = MappingProxyType(dict(params))
    return model


BG = _fitted(BetaGeo, r=0.2536, alpha=38.13, a=0.6074, b=2.647)  # CDNOW, days
PNBD = _fitted(ParetoNBD, r=0.563, alpha=87.91, s=0.4081, beta=73.60)
GG = _fitted(GammaGamma, p=4.683, q=4.190, v=24.39)


def _customers(n: int = 300, seed: int = 5) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    T = rng.integers(455, 546, n).astype(float)
    x = rng.poisson(1.5, n).astype(float)
    x[: n // 10] = rng.integers(10, 45, n // 10)  # some heavy buyers: long series
    tx = np.where(x > 0, np.floor(rng.uniform(0, 1, n) * T), 0.0)
    m = np.where(x > 0, rng.uniform(5, 80, n), 0.0)
    return x, tx, T, m


def test_pareto_nbd_values_are_bit_for_bit_the_month_by_month_sums() -> None:
    x, tx, T, m = _customers()
    for months in (1, 12, 120):
        new = GG.customer_lifetime_value(PNBD, x, tx, T, m, time=months)
        assert np.array_equal(new, reference_clv(GG, PNBD, x, tx, T, m, months, 0.01))


def test_bg_nbd_values_are_bit_for_bit_the_month_by_month_sums_on_short_horizons() -> None:
    # Short horizons are summed as a series, term by term per customer: exact.
    x, tx, T, m = _customers()
    for months in (1, 12, 24):
        new = GG.customer_lifetime_value(BG, x, tx, T, m, time=months)
        assert np.array_equal(new, reference_clv(GG, BG, x, tx, T, m, months, 0.01))


def test_bg_nbd_values_match_the_month_by_month_sums_at_the_longest_horizon() -> None:
    # Beyond MONTH_BY_MONTH the sum is taken in closed form: equal to within
    # rounding, not bit for bit. (Heavy buyers only: the reference sums the others'
    # long series term by term, once per month, for minutes.)
    x = np.array([80.0, 150.0, 300.0])
    tx = np.array([300.0, 400.0, 10.0])
    T = np.array([500.0, 450.0, 20.0])
    m = np.array([30.0, 12.5, 99.0])
    new = GG.customer_lifetime_value(BG, x, tx, T, m, time=MAX_MONTHS)
    old = reference_clv(GG, BG, x, tx, T, m, MAX_MONTHS, 0.01)
    np.testing.assert_allclose(new, old, rtol=1e-12, atol=0.0)
    new = GG.customer_lifetime_value(PNBD, x, tx, T, m, time=MAX_MONTHS)
    assert np.array_equal(new, reference_clv(GG, PNBD, x, tx, T, m, MAX_MONTHS, 0.01))


@settings(max_examples=40)
@given(
    months=st.integers(1, 40),
    rate=st.sampled_from([0.0, 0.01, 0.5, 1e308]),
    unit=st.sampled_from(["D", "W", "M", "h"]),
    a=st.sampled_from([0.0, 0.3, 1.0, 5.0]),
    seed=st.integers(0, 2**16),
    scalar=st.booleans(),
)
def test_any_horizon_rate_unit_and_model_gives_the_month_by_month_sums(
    months: int, rate: float, unit: str, a: float, seed: int, scalar: bool
) -> None:
    x, tx, T, m = _customers(25, seed=seed)
    if unit in ("W", "M"):  # ages in weeks or months
        tx, T = tx / 30.0, T / 30.0
    bg = _fitted(BetaGeo, r=0.25, alpha=38.0 / 30.0 if unit in ("W", "M") else 38.0, a=a, b=2.6)
    if a == 0.0:
        bg = _fitted(BetaGeo, r=0.25, alpha=38.0, a=0.0, b=float("inf"))
    for purchases in (bg, PNBD):
        if scalar:
            args: tuple[Any, ...] = (float(x[0]), float(tx[0]), float(T[0]), float(m[0]))
        else:
            args = (x, tx, T, m)
        new = GG.customer_lifetime_value(
            purchases, *args, time=months, discount_rate=rate, freq=unit
        )
        old = reference_clv(GG, purchases, *args, months, rate, unit)
        assert np.shape(new) == np.shape(old)
        np.testing.assert_allclose(new, old, rtol=1e-13, atol=0.0)


def test_p_alive_is_computed_once_not_once_per_month(monkeypatch: pytest.MonkeyPatch) -> None:
    # It was recomputed for every month: 1200 Pareto/NBD P(alive) evaluations.
    calls = {"alive": 0, "forecast": 0}
    alive_rows = ParetoNBD._alive_rows
    forecast = bgnbd_module.bgnbd_forecast

    def counting_alive(self: ParetoNBD, *args: Any) -> Any:
        calls["alive"] += 1
        return alive_rows(self, *args)

    def counting_forecast(*args: Any) -> Any:
        calls["forecast"] += 1
        return forecast(*args)

    monkeypatch.setattr(ParetoNBD, "_alive_rows", counting_alive)
    monkeypatch.setattr(bgnbd_module, "bgnbd_forecast", counting_forecast)
    x, tx, T, m = _customers(50)
    GG.customer_lifetime_value(PNBD, x, tx, T, m, time=MAX_MONTHS)
    assert calls["alive"] == 1
    GG.customer_lifetime_value(BG, x, tx, T, m, time=240)
    # 240 months x 50 customers fit in one block: one call for all of them.
    assert calls["forecast"] == 1
    # Beyond MONTH_BY_MONTH months, no monthly forecast at all: the closed form.
    GG.customer_lifetime_value(BG, x, tx, T, m, time=MAX_MONTHS)
    assert calls["forecast"] == 1


def _month_by_month(monkeypatch: pytest.MonkeyPatch, months: int) -> None:
    monkeypatch.setattr(gamma_module, "MONTH_BY_MONTH", months)


@settings(max_examples=30)
@given(
    r=st.floats(0.05, 30.0),
    alpha=st.floats(0.5, 500.0),
    a=st.floats(0.02, 50.0),
    b=st.floats(0.02, 50.0),
    x=st.lists(st.integers(0, 400), min_size=1, max_size=4),
    age=st.floats(0.0, 2000.0),
    months=st.integers(1, 24),
    rate=st.sampled_from([0.0, 0.01, 0.3, 1e308]),
    unit=st.sampled_from(["D", "W", "M", "h"]),
)
def test_the_closed_form_gives_the_month_by_month_sums(
    r: float,
    alpha: float,
    a: float,
    b: float,
    x: list[int],
    age: float,
    months: int,
    rate: float,
    unit: str,
) -> None:
    # The closed form used beyond MONTH_BY_MONTH months, forced on short horizons
    # (where the month-by-month reference is quick) over a wide range of models.
    bg = _fitted(BetaGeo, r=r, alpha=alpha, a=a, b=b)
    freq = np.array(x, dtype=float)
    T = np.full(freq.size, age)
    tx = np.where(freq > 0, age / 2.0, 0.0)
    m = np.full(freq.size, 25.0)
    old = reference_clv(GG, bg, freq, tx, T, m, months, rate, unit)
    with pytest.MonkeyPatch.context() as patch:
        _month_by_month(patch, 0)
        new = GG.customer_lifetime_value(
            bg, freq, tx, T, m, time=months, discount_rate=rate, freq=unit
        )
    np.testing.assert_allclose(new, old, rtol=1e-11, atol=1e-300)


def test_the_closed_form_matches_the_block_sums_at_long_horizons(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The block-by-block month sums are the reference's own numbers (see above).
    x, tx, T, m = _customers(60, seed=3)
    for months, rate in ((241, 0.01), (MAX_MONTHS, 0.0), (600, 0.05)):
        closed = GG.customer_lifetime_value(BG, x, tx, T, m, time=months, discount_rate=rate)
        _month_by_month(monkeypatch, MAX_MONTHS)
        blocks = GG.customer_lifetime_value(BG, x, tx, T, m, time=months, discount_rate=rate)
        monkeypatch.undo()
        np.testing.assert_allclose(closed, blocks, rtol=1e-12, atol=0.0)


class _Linear:
    """A forecaster outside the library: purchases grow linearly with the horizon."""

    def __init__(self) -> None:
        self.horizons: list[float] = []

    def predict_purchases(self, t: Any, frequency: Any, recency: Any, T: Any) -> Any:
        self.horizons.append(float(t))
        return np.asarray(frequency, dtype=float) * 0.0 + 0.01 * float(t)


def test_a_forecaster_outside_the_library_is_still_asked_month_by_month() -> None:
    x, tx, T, m = _customers(10)
    model = _Linear()
    value = GG.customer_lifetime_value(model, x, tx, T, m, time=3, discount_rate=0.0)
    assert model.horizons == [30.0, 60.0, 90.0]
    spend = GG.conditional_expected_average_profit(x, m)
    np.testing.assert_allclose(value, spend * 0.9, rtol=1e-14)


def test_bad_histories_are_still_refused_with_the_field_named() -> None:
    x, tx, T, m = _customers(5)
    with pytest.raises(ValidationError) as caught:
        GG.customer_lifetime_value(BG, x, tx + 1000.0, T, m, time=12)
    assert caught.value.field == "recency"
    with pytest.raises(ValidationError) as caught:
        GG.customer_lifetime_value(PNBD, x, tx, T[:3], m, time=12)
    assert caught.value.field in ("T", "recency", "frequency")


def test_no_customers_give_no_values() -> None:
    empty = np.zeros(0)
    for purchases in (BG, PNBD):
        value = GG.customer_lifetime_value(purchases, empty, empty, empty, empty, time=60)
        assert value.shape == (0,)


def test_a_customers_value_does_not_depend_on_who_else_is_valued() -> None:
    # Partitions of a cluster run value their customers separately: the closed form
    # must give each the same number alone as in company.
    x, tx, T, m = _customers(80, seed=11)
    together = GG.customer_lifetime_value(BG, x, tx, T, m, time=MAX_MONTHS)
    for i in (0, 7, 41, 79):
        alone = GG.customer_lifetime_value(
            BG, x[i : i + 1], tx[i : i + 1], T[i : i + 1], m[i : i + 1], time=MAX_MONTHS
        )
        assert alone[0] == together[i]
