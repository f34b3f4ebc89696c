"""The special functions behind the lifetime models, against slow obvious references.

The hypergeometric term of the Pareto/NBD likelihood must be exact and cost the same
whatever kappa is (issue 11: fits hung when ``as_of`` was long after the last
purchase, because the continued fraction needed ~19 sqrt(kappa) levels); the BG/NBD
forecast must stay finite where the Euler-transformed 2F1 overflows (issue 11: NaN
predictions for a = 18,252, b = 3.15e6).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy import integrate, optimize, special

from custmgmt.analytics.clv import _special
from custmgmt.analytics.clv._common import digamma_difference, log_rising
from custmgmt.analytics.clv._special import (
    QUADRATURE_NODES,
    _log_g_fraction,
    _log_g_quadrature,
    bgnbd_forecast,
    log_g,
)

# --------------------------------------------------------------- slow references


def _log_integral(log_f: object, slope: object) -> float:
    """log of the integral of exp(log_f) over the real line (log_f concave), by
    scipy.integrate.quad piecewise around its peak."""
    mode = optimize.brentq(slope, -3000, 3000)  # type: ignore[arg-type]
    peak = log_f(mode)  # type: ignore[operator]
    offsets = [-2000, -400, -100, -40, -15, -5, -2, -0.5, 0, 0.5, 2, 5, 15, 40, 100, 400, 2000]
    total = math.fsum(
        integrate.quad(
            lambda v: math.exp(log_f(v) - peak),  # type: ignore[operator]
            mode + lo,
            mode + hi,
            epsabs=0,
            epsrel=1e-13,
            limit=200,
        )[0]
        for lo, hi in itertools.pairwise(offsets)
    )
    return float(peak + math.log(total))


def reference_log_g(e: float, c: float, kappa: float) -> float:
    """log E[1 / (1 + kappa w)] for w ~ Beta(E, C-E), as the ratio of two integrals in
    logit space (with and without the 1/(1 + kappa w) factor), each by adaptive
    quadrature: no lgamma, whose differences lose digits for C in the millions."""
    shift = math.log1p(kappa)
    with_factor = _log_integral(
        lambda v: e * v - (c - 1) * np.logaddexp(0, v) - np.logaddexp(0, v + shift),
        lambda v: e - (c - 1) * special.expit(v) - special.expit(v + shift),
    )
    beta = _log_integral(
        lambda v: e * v - c * np.logaddexp(0, v), lambda v: e - c * special.expit(v)
    )
    return with_factor - beta


def reference_forecast(
    r: float, alpha: float, a: float, b: float, t: float, x: float, T: float
) -> float:
    """E[(1 - (1 + p t/(alpha+T))^-(r+x)) / p] over p ~ Beta(a, b+x): the BG/NBD
    expected purchases of a customer alive at T, by quadrature over p."""
    tau = t / (alpha + T)
    k = r + x

    def integrand(p: float) -> float:
        value = -math.expm1(-k * math.log1p(p * tau)) / p if p > 0 else k * tau
        return value * math.exp(
            (a - 1) * math.log(p) + (b + x - 1) * math.log1p(-p) - special.betaln(a, b + x)
        )

    total = 0.0
    for lo, hi in ((0.0, 1e-6), (1e-6, 1e-3), (1e-3, 0.1), (0.1, 0.9), (0.9, 1.0)):
        total += integrate.quad(integrand, lo, hi, epsabs=0, epsrel=1e-12, limit=200)[0]
    return total


# ------------------------------------------------------------------ Pareto/NBD 2F1


@pytest.mark.parametrize(
    ("e", "c", "kappa"),
    [
        (1.4, 2.0, 1e3),
        (1.4, 2.0, 1e9),  # the old fraction refused this (over 200,000 levels)
        (0.57, 4e7, 2e8),  # s, beta -> infinity: CDNOW with as_of long after the data
        (41.6, 4e7, 2e8),
        (300.3, 302.0, 1e6),
        (0.05, 0.5, 1e12),
        (5_000.0, 10_000.0, 1e4),
    ],
)
def test_log_g_matches_quadrature_of_its_definition_at_any_kappa(
    e: float, c: float, kappa: float
) -> None:
    value, *_ = log_g(np.array([e]), np.array([c]), np.array([0]), np.array([kappa]))
    assert value[0] == pytest.approx(reference_log_g(e, c, kappa), rel=1e-10, abs=1e-12)


@settings(max_examples=30)
@given(
    e=st.floats(0.05, 200.0),
    extra=st.floats(0.05, 1e6),
    kappa=st.floats(_special.KAPPA_SPLIT, 1e14),
)
def test_the_quadrature_agrees_with_the_continued_fraction_where_both_apply(
    e: float, extra: float, kappa: float
) -> None:
    c = max(e + extra, 1.0)  # C = r + s + x + 1 >= 1 in the likelihood
    kappa = min(kappa, 5e4)  # the fraction's cost grows with sqrt(kappa)
    args = (np.array([e]), np.array([c]), np.array([kappa]))
    quad = _log_g_quadrature(*args, gradient=True)
    frac = _log_g_fraction(args[0], args[1], np.array([0]), args[2], gradient=True)
    for mine, theirs in zip(quad, frac, strict=True):
        assert mine[0] == pytest.approx(theirs[0], rel=1e-9, abs=1e-11)


def test_the_quadrature_gradient_matches_finite_differences() -> None:
    e, c, k = np.array([1.4, 0.3, 300.3]), np.array([2.0, 1e7, 302.0]), np.array([1e8, 4e7, 1e8])
    _, g_e, g_c, g_k = _log_g_quadrature(e, c, k, gradient=True)
    h = 1e-6
    for grad, de, dc, dk in ((g_e, h, 0, 0), (g_c, 0, h, 0), (g_k, 0, 0, h)):
        up = _log_g_quadrature(e + de * e, c + dc * c, k + dk * k, gradient=False)[0]
        down = _log_g_quadrature(e - de * e, c - dc * c, k - dk * k, gradient=False)[0]
        scale = e if de else (c if dc else k)
        assert np.allclose((up - down) / (2 * h * scale), grad, rtol=1e-5, atol=1e-12)


def test_the_quadrature_uses_a_bounded_number_of_nodes_whatever_kappa_is(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[int] = []
    real = _special._quadrature_block

    def spy(*args: object, **kwargs: object) -> object:
        first, last = args[6], args[7]
        seen.append(int(np.max(last - first)) + 1)  # type: ignore[operator]
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(_special, "_quadrature_block", spy)
    kappa = np.logspace(3, 300, 50)
    e, c = np.full(50, 0.3), np.full(50, 1.7)
    value, *_ = log_g(e, c, np.zeros(50, dtype=np.intp), kappa)
    assert np.all(np.isfinite(value))
    assert seen
    assert max(seen) <= QUADRATURE_NODES + 1


# ------------------------------------------------------------------- BG/NBD forecast


@pytest.mark.parametrize(
    ("params", "t", "x", "T"),
    [
        ((0.24, 4.4, 0.79, 2.4), 39.0, 2.0, 30.0),
        ((0.24, 4.4, 1.0, 2.4), 39.0, 0.0, 0.0),  # a = 1: 0/0 in the textbook form
        ((0.9, 12.0, 0.3, 0.5), 365.0, 150.0, 400.0),
        ((1.1, 30.0, 18_252.0, 3.15e6), 30.0, 12.0, 365.0),  # where it used to be NaN
        ((2.0, 5.0, 0.01, 1e5), 10.0, 3.0, 20.0),
    ],
)
def test_the_bgnbd_forecast_matches_the_expectation_over_the_dropout_chance(
    params: tuple[float, float, float, float], t: float, x: float, T: float
) -> None:
    got = bgnbd_forecast(*params, np.array([t]), np.array([x]), np.array([T]))[0]
    assert got == pytest.approx(reference_forecast(*params, t, x, T), rel=1e-8)


@settings(max_examples=40)
@given(
    a=st.floats(0.05, 50.0),
    b=st.floats(0.05, 50.0),
    r=st.floats(0.05, 5.0),
    x=st.integers(0, 30),
    t=st.floats(0.1, 100.0),
)
@example(a=0.95, b=0.05, r=1.0, x=0, t=1.0)  # c = 0: the textbook formula is 0 * inf
def test_the_bgnbd_forecast_agrees_with_the_textbook_formula_where_that_is_finite(
    a: float, b: float, r: float, x: int, t: float
) -> None:
    alpha, T = 10.0, 40.0
    z = t / (alpha + T + t)
    c = a + b + x - 1
    if abs(a - 1) < 1e-3:
        return
    # c = a + b + x - 1 reaches 0 (a + b = 1, x = 0): hyp2f1 is infinite there and the
    # textbook product is 0 * inf, a NaN numpy warns about; such points are skipped.
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        textbook = c / (a - 1) * (1 - (1 - z) ** (r + x) * special.hyp2f1(r + x, b + x, c, z))
    if not math.isfinite(textbook):
        return
    got = bgnbd_forecast(r, alpha, a, b, np.array([t]), np.array([float(x)]), np.array([T]))
    assert got[0] == pytest.approx(textbook, rel=1e-7, abs=1e-12)


# ------------------------------------------------------ lgamma and digamma differences


@pytest.mark.parametrize("z", [0.3, 999.0, 1e3, 1e4, 1e7, 3e12])
@pytest.mark.parametrize("x", [0, 1, 7, 300])
def test_log_rising_and_digamma_difference_equal_their_sums(z: float, x: int) -> None:
    expected = math.fsum(math.log(z + k) for k in range(x))
    assert log_rising(z, x) == pytest.approx(expected, rel=1e-13, abs=1e-13)
    assert digamma_difference(z, x) == pytest.approx(
        math.fsum(1 / (z + k) for k in range(x)), rel=1e-12, abs=1e-300
    )
