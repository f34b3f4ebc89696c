"""BG/NBD, Pareto/NBD and Gamma-Gamma: likelihoods, predictions, stability, errors."""

from __future__ import annotations

import importlib
import math
from typing import Any

import numpy as np
import pytest
from scipy import integrate, special

from custmgmt.analytics.clv import (
    BetaGeo,
    ConvergenceError,
    GammaGamma,
    ParetoNBD,
    simulate_bgnbd,
    simulate_gamma_gamma,
    simulate_pareto_nbd,
)
from custmgmt.errors import CustMgmtError, NotFittedError, ValidationError

# --------------------------------------------------------------- slow references


def bgnbd_loglik(params: dict[str, float], x: float, tx: float, T: float) -> float:
    """Fader, Hardie & Lee (2005) equation (6), term by term, with math.lgamma."""
    r, alpha, a, b = params["r"], params["alpha"], params["a"], params["b"]
    a1 = math.lgamma(r + x) - math.lgamma(r) + r * math.log(alpha)
    a2 = (
        math.lgamma(a + b)
        + math.lgamma(b + x)
        - math.lgamma(b)
        - math.lgamma(a + b + x)
    )
    alive = math.exp(-(r + x) * math.log(alpha + T))
    dead = (
        math.exp(math.log(a) - math.log(b + x - 1) - (r + x) * math.log(alpha + tx))
        if x > 0
        else 0.0
    )
    return a1 + a2 + math.log(alive + dead)


def pareto_terms(params: dict[str, float], x: float, tx: float, T: float) -> tuple[float, float]:
    """The two terms of the Pareto/NBD likelihood by numerical integration over dropout.

    L = C * [(alpha+T)^-(r+x) (beta+T)^-s + s * integral_{tx}^{T} (alpha+tau)^-(r+x)
    (beta+tau)^-(s+1) dtau], computed relative to the first term to stay in range.
    """
    r, alpha, s, beta = params["r"], params["alpha"], params["s"], params["beta"]
    first = -(r + x) * math.log(alpha + T) - s * math.log(beta + T)

    def integrand(tau: float) -> float:
        return math.exp(-(r + x) * math.log(alpha + tau) - (s + 1) * math.log(beta + tau) - first)

    scaled, _ = integrate.quad(integrand, tx, T, epsabs=0.0, epsrel=1e-12, limit=200)
    log_c = math.lgamma(r + x) - math.lgamma(r) + r * math.log(alpha) + s * math.log(beta)
    return log_c + first, s * scaled


def pareto_loglik(params: dict[str, float], x: float, tx: float, T: float) -> float:
    log_first, ratio = pareto_terms(params, x, tx, T)
    return log_first + math.log1p(ratio)


def pareto_alive(params: dict[str, float], x: float, tx: float, T: float) -> float:
    return 1.0 / (1.0 + pareto_terms(params, x, tx, T)[1])


def bgnbd_forecast(params: dict[str, float], t: float, x: float, tx: float, T: float) -> float:
    """Equation (10) of Fader, Hardie & Lee (2005) in its direct form (moderate x only)."""
    r, alpha, a, b = params["r"], params["alpha"], params["a"], params["b"]
    hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t))
    numerator = (a + b + x - 1) / (a - 1) * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp)
    denominator = 1 + (x > 0) * a / (b + x - 1) * ((alpha + T) / (alpha + tx)) ** (r + x)
    return float(numerator / denominator)


# ----------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def small_bgnbd() -> Any:
    return simulate_bgnbd(3_000, r=0.9, alpha=12.0, a=0.7, b=2.5, T=200.0, seed=11)


@pytest.fixture(scope="module")
def fitted_bgnbd(small_bgnbd: Any) -> BetaGeo:
    return BetaGeo().fit(small_bgnbd.frequency, small_bgnbd.recency, small_bgnbd.T)


@pytest.fixture(scope="module", params=["alpha<beta", "alpha>beta"])
def fitted_pareto(request: pytest.FixtureRequest) -> tuple[ParetoNBD, Any]:
    if request.param == "alpha<beta":
        data = simulate_pareto_nbd(800, r=0.9, alpha=12.0, s=0.8, beta=90.0, T=200.0, seed=5)
    else:
        data = simulate_pareto_nbd(800, r=0.9, alpha=60.0, s=1.3, beta=20.0, T=200.0, seed=6)
    return ParetoNBD().fit(data.frequency, data.recency, data.T), data


# -------------------------------------------------------- likelihood and recovery


def test_bgnbd_log_likelihood_matches_the_term_by_term_formula(
    fitted_bgnbd: BetaGeo, small_bgnbd: Any
) -> None:
    expected = sum(
        bgnbd_loglik(fitted_bgnbd.params_, x, tx, T)
        for x, tx, T in zip(small_bgnbd.frequency, small_bgnbd.recency, small_bgnbd.T, strict=True)
    )
    assert fitted_bgnbd.log_likelihood_ == pytest.approx(expected, rel=1e-11)
    assert fitted_bgnbd.n_customers_ == 3_000


def test_pareto_log_likelihood_matches_numerical_integration(
    fitted_pareto: tuple[ParetoNBD, Any],
) -> None:
    model, data = fitted_pareto
    expected = sum(
        pareto_loglik(model.params_, x, tx, T)
        for x, tx, T in zip(data.frequency, data.recency, data.T, strict=True)
    )
    assert model.log_likelihood_ == pytest.approx(expected, rel=1e-10)


def test_both_pareto_branches_are_exercised(fitted_pareto: tuple[ParetoNBD, Any]) -> None:
    model, _ = fitted_pareto
    # The fixture's two data sets land on either side of alpha = beta.
    assert model.params_["alpha"] != pytest.approx(model.params_["beta"], rel=0.2)


def test_pareto_probability_alive_matches_numerical_integration(
    fitted_pareto: tuple[ParetoNBD, Any],
) -> None:
    model, _ = fitted_pareto
    histories = [(0, 0.0, 50.0), (3, 20.0, 150.0), (12, 180.5, 200.0), (40, 10.0, 200.0)]
    x, tx, T = (np.array(col, dtype=float) for col in zip(*histories, strict=True))
    got = model.probability_alive(x, tx, T)
    expected = [pareto_alive(model.params_, *h) for h in histories]
    assert got == pytest.approx(expected, rel=1e-9, abs=1e-300)


def test_fitted_parameters_are_a_maximum(fitted_bgnbd: BetaGeo, small_bgnbd: Any) -> None:
    best = fitted_bgnbd.log_likelihood_
    for name in fitted_bgnbd.params_:
        for factor in (0.99, 1.01):
            params = dict(fitted_bgnbd.params_)
            params[name] *= factor
            nearby = sum(
                bgnbd_loglik(params, x, tx, T)
                for x, tx, T in zip(
                    small_bgnbd.frequency, small_bgnbd.recency, small_bgnbd.T, strict=True
                )
            )
            assert nearby < best


def test_identical_rows_and_weights_give_the_same_fit() -> None:
    data = simulate_bgnbd(2_000, r=0.9, alpha=12.0, a=0.7, b=2.5, T=100.0, seed=3, discrete=True)
    rows = np.stack([data.frequency, data.recency, data.T], axis=1)
    unique, counts = np.unique(rows, axis=0, return_counts=True)
    plain = BetaGeo().fit(data.frequency, data.recency, data.T)
    weighted = BetaGeo().fit(unique[:, 0], unique[:, 1], unique[:, 2], weights=counts)
    for name in plain.params_:
        assert weighted.params_[name] == pytest.approx(plain.params_[name], rel=1e-6)
    assert weighted.log_likelihood_ == pytest.approx(plain.log_likelihood_, rel=1e-12)


def test_bgnbd_recovers_its_parameters_within_3_percent() -> None:
    truth = {"r": 1.5, "alpha": 15.0, "a": 0.8, "b": 4.0}
    ages = np.random.default_rng(21).uniform(365.0, 730.0, 300_000)
    data = simulate_bgnbd(300_000, T=ages, seed=22, **truth)
    model = BetaGeo().fit(data.frequency, data.recency, data.T)
    for name, value in truth.items():
        assert model.params_[name] == pytest.approx(value, rel=0.03), name


@pytest.mark.slow
def test_pareto_nbd_recovers_its_parameters_within_3_percent() -> None:
    truth = {"r": 1.5, "alpha": 15.0, "s": 1.5, "beta": 200.0}
    data = simulate_pareto_nbd(300_000, T=1000.0, seed=23, **truth)
    model = ParetoNBD().fit(data.frequency, data.recency, data.T)
    for name, value in truth.items():
        assert model.params_[name] == pytest.approx(value, rel=0.03), name


def test_gamma_gamma_recovers_its_parameters_within_5_percent() -> None:
    truth = {"p": 6.0, "q": 4.0, "v": 15.0}
    frequency = np.random.default_rng(31).poisson(2.0, 600_000)
    spend = simulate_gamma_gamma(frequency, seed=32, **truth)
    model = GammaGamma().fit(frequency, spend)
    assert model.n_customers_ == np.count_nonzero(frequency)
    for name, value in truth.items():
        assert model.params_[name] == pytest.approx(value, rel=0.05), name


# -------------------------------------------------------------------- predictions


def test_bgnbd_forecast_matches_the_direct_formula(fitted_bgnbd: BetaGeo) -> None:
    histories = [(0, 0.0, 30.0), (1, 5.0, 30.0), (4, 90.0, 200.0), (15, 150.0, 160.0)]
    for t in (1.0, 30.0, 365.0):
        x, tx, T = (np.array(col, dtype=float) for col in zip(*histories, strict=True))
        got = fitted_bgnbd.predict_purchases(t, x, tx, T)
        expected = [bgnbd_forecast(fitted_bgnbd.params_, t, *h) for h in histories]
        assert got == pytest.approx(expected, rel=1e-10)
    new = fitted_bgnbd.expected_purchases(np.array([0.0, 30.0]))
    assert new[0] == 0.0
    assert new[1] == pytest.approx(bgnbd_forecast(fitted_bgnbd.params_, 30.0, 0, 0, 0))


def test_pareto_forecast_is_probability_alive_times_the_expected_rate(
    fitted_pareto: tuple[ParetoNBD, Any],
) -> None:
    model, _ = fitted_pareto
    r, alpha, s, beta = (model.params_[k] for k in ("r", "alpha", "s", "beta"))
    x, tx, T, t = 5.0, 60.0, 120.0, 30.0
    alive = pareto_alive(model.params_, x, tx, T)
    bracket = 1 - ((beta + T) / (beta + T + t)) ** (s - 1)
    rate = (r + x) * (beta + T) / ((alpha + T) * (s - 1)) * bracket
    assert model.predict_purchases(t, x, tx, T)[()] == pytest.approx(alive * rate, rel=1e-9)
    assert model.expected_purchases(t)[()] == pytest.approx(
        r * beta / (alpha * (s - 1)) * (1 - (beta / (beta + t)) ** (s - 1)), rel=1e-12
    )


def test_predictions_keep_the_shape_of_the_input(fitted_bgnbd: BetaGeo) -> None:
    assert fitted_bgnbd.probability_alive(2, 10.0, 20.0).shape == ()
    assert fitted_bgnbd.predict_purchases([1.0, 2.0], [2, 0], [10.0, 0.0], [20.0, 5.0]).shape == (
        2,
    )


@pytest.mark.parametrize("frequency", [150, 400, 10_000])
def test_large_frequencies_stay_finite_when_the_last_purchase_is_at_the_end(
    fitted_bgnbd: BetaGeo, fitted_pareto: tuple[ParetoNBD, Any], frequency: int
) -> None:
    pareto, _ = fitted_pareto
    b = fitted_bgnbd.params_
    for model in (fitted_bgnbd, pareto):
        alive = model.probability_alive(frequency, 300.0, 300.0)[()]
        assert math.isfinite(alive)
        assert 0.0 <= alive <= 1.0
        gone = model.probability_alive(frequency, 3.0, 300.0)[()]
        assert math.isfinite(gone)
        assert 0.0 <= gone < 1e-6
        forecast = model.predict_purchases(30.0, frequency, 300.0, 300.0)[()]
        assert math.isfinite(forecast)
        assert forecast > 0
    assert fitted_bgnbd.probability_alive(frequency, 300.0, 300.0)[()] == pytest.approx(
        1.0 / (1.0 + b["a"] / (b["b"] + frequency - 1))
    )
    assert pareto.probability_alive(frequency, 300.0, 300.0)[()] == 1.0


def test_gamma_gamma_expected_profit_and_lifetime_value(fitted_bgnbd: BetaGeo) -> None:
    frequency = np.random.default_rng(1).poisson(3.0, 5_000)
    spend = simulate_gamma_gamma(frequency, p=6.0, q=4.0, v=15.0, seed=2)
    model = GammaGamma().fit(frequency, spend)
    p, q, v = (model.params_[k] for k in ("p", "q", "v"))
    profit = model.conditional_expected_average_profit([0, 3], [0.0, 20.0])
    assert profit[0] == pytest.approx(p * v / (q - 1))
    weight = 3 * p / (3 * p + q - 1)
    assert profit[1] == pytest.approx((1 - weight) * p * v / (q - 1) + weight * 20.0)
    x, tx = np.array([3.0, 0.0]), np.array([50.0, 0.0])
    T, m = np.array([100.0, 40.0]), np.array([20.0, 0.0])
    clv = model.customer_lifetime_value(fitted_bgnbd, x, tx, T, m, time=6, discount_rate=0.02)
    expected = np.zeros(2)
    for month in range(1, 7):
        upto = fitted_bgnbd.predict_purchases(30.0 * month, x, tx, T)
        bought = upto - fitted_bgnbd.predict_purchases(30.0 * (month - 1), x, tx, T)
        expected += model.conditional_expected_average_profit(x, m) * bought / 1.02**month
    assert clv == pytest.approx(expected, rel=1e-12)
    weekly = model.customer_lifetime_value(fitted_bgnbd, x, tx, T, m, time=1, freq="week")
    assert weekly.shape == (2,)


# ------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("frequency", "recency", "T", "field"),
    [
        ([1, 2], [3.0, 4.0], [5.0], "T"),
        ([1, 2], [3.0], [5.0, 6.0], "recency"),
        ([1, -1], [3.0, 0.0], [5.0, 6.0], "frequency"),
        ([1, 1.5], [3.0, 4.0], [5.0, 6.0], "frequency"),
        ([1, 2], [3.0, 7.0], [5.0, 6.0], "recency"),
        ([0, 2], [1.0, 4.0], [5.0, 6.0], "recency"),
        ([1, 2], [3.0, -4.0], [5.0, 6.0], "recency"),
        ([1, 2], [3.0, float("nan")], [5.0, 6.0], "recency"),
        ([1, 2], [3.0, 4.0], [5.0, float("inf")], "T"),
        (["a", 2], [3.0, 4.0], [5.0, 6.0], "frequency"),
        ([], [], [], "frequency"),
    ],
)
@pytest.mark.parametrize("model", [BetaGeo, ParetoNBD])
def test_bad_histories_are_refused_with_the_field_named(
    model: type[BetaGeo] | type[ParetoNBD],
    frequency: list[Any],
    recency: list[Any],
    T: list[Any],
    field: str,
) -> None:
    with pytest.raises(ValidationError) as caught:
        model().fit(frequency, recency, T)
    assert caught.value.field == field


def test_bad_weights_and_settings_are_refused() -> None:
    with pytest.raises(ValidationError, match="weights"):
        BetaGeo().fit([1, 2], [3.0, 4.0], [5.0, 6.0], weights=[1.0])
    with pytest.raises(ValidationError, match="weights"):
        BetaGeo().fit([1, 2], [3.0, 4.0], [5.0, 6.0], weights=[1.0, -2.0])
    with pytest.raises(ValidationError, match="penalizer_coef"):
        BetaGeo(penalizer_coef=-1.0).fit([1, 2], [3.0, 4.0], [5.0, 6.0])
    with pytest.raises(ValidationError, match="max_iter"):
        ParetoNBD(max_iter=0).fit([1, 2], [3.0, 4.0], [5.0, 6.0])


def test_gamma_gamma_refuses_bad_spend_and_needs_a_repeat_buyer() -> None:
    with pytest.raises(ValidationError, match="monetary_value"):
        GammaGamma().fit([1, 2], [10.0, np.nan])
    with pytest.raises(ValidationError, match="monetary_value"):
        GammaGamma().fit([1, 2], [10.0])
    with pytest.raises(ValidationError, match="frequency"):
        GammaGamma().fit([0, 0], [0.0, 0.0])
    with pytest.raises(ValidationError, match="positive spend"):
        GammaGamma().fit([1, 2, 0], [0.0, -3.0, 5.0])


def test_prediction_inputs_are_checked(fitted_bgnbd: BetaGeo) -> None:
    with pytest.raises(ValidationError, match=r"^t"):
        fitted_bgnbd.predict_purchases(-1.0, 1, 2.0, 3.0)
    with pytest.raises(ValidationError, match=r"^t"):
        fitted_bgnbd.predict_purchases([1.0, 2.0, 3.0], [1, 1], [2.0, 2.0], [3.0, 3.0])
    with pytest.raises(ValidationError, match=r"^recency"):
        fitted_bgnbd.probability_alive(1, 5.0, 3.0)


@pytest.mark.parametrize("model", [BetaGeo(), ParetoNBD(), GammaGamma()])
def test_an_unfitted_model_raises_not_fitted(model: Any) -> None:
    with pytest.raises(NotFittedError):
        _ = model.params_
    assert not hasattr(model, "log_likelihood_")
    predict = (
        model.conditional_expected_average_profit
        if isinstance(model, GammaGamma)
        else model.probability_alive
    )
    arguments = (1, 10.0) if isinstance(model, GammaGamma) else (1, 2.0, 3.0)
    with pytest.raises(NotFittedError, match="fit"):
        predict(*arguments)
    assert "penalizer_coef=0.0" in repr(model)


def test_data_without_repeat_purchases_cannot_be_fitted() -> None:
    with pytest.raises(ConvergenceError, match="BG/NBD"):
        BetaGeo().fit(np.zeros(500), np.zeros(500), np.linspace(10.0, 100.0, 500))
    with pytest.raises(ConvergenceError, match="Pareto/NBD"):
        ParetoNBD().fit(np.zeros(500), np.zeros(500), np.linspace(10.0, 100.0, 500))



def test_identical_spend_fits_with_a_warning_that_the_spread_is_not_identified() -> None:
    model = GammaGamma().fit(np.ones(100), np.full(100, 25.0))
    assert any("ran off to infinity" in w for w in model.warnings_)
    expected = model.conditional_expected_average_profit([1, 3], [25.0, 30.0])
    assert np.all(np.isfinite(expected))
    assert expected[0] == pytest.approx(25.0, rel=1e-4)


def test_a_missing_scipy_is_reported_as_a_custmgmt_error(
    monkeypatch: pytest.MonkeyPatch, small_bgnbd: Any
) -> None:
    real = importlib.import_module

    def no_scipy(name: str, package: str | None = None) -> Any:
        if name.startswith("scipy"):
            raise ImportError(name)
        return real(name, package)

    monkeypatch.setattr(importlib, "import_module", no_scipy)
    with pytest.raises(CustMgmtError, match=r"custmgmt\[scipy\]"):
        BetaGeo().fit(small_bgnbd.frequency, small_bgnbd.recency, small_bgnbd.T)


def test_simulators_are_seeded_and_check_their_arguments() -> None:
    one = simulate_pareto_nbd(100, r=1.0, alpha=5.0, s=1.0, beta=50.0, T=30.0, seed=4)
    two = simulate_pareto_nbd(100, r=1.0, alpha=5.0, s=1.0, beta=50.0, T=30.0, seed=4)
    assert np.array_equal(one.frequency, two.frequency)
    assert np.all(one.recency <= one.T)
    with pytest.raises(ValidationError, match="alpha"):
        simulate_bgnbd(10, r=1.0, alpha=-1.0, a=1.0, b=1.0, T=10.0)
    with pytest.raises(ValidationError, match="T"):
        simulate_bgnbd(10, r=1.0, alpha=1.0, a=1.0, b=1.0, T=[1.0, 2.0])
