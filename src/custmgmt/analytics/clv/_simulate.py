"""Seeded, vectorised simulators for the lifetime models.

Each draws the latent traits of every customer from the model's mixing distributions
and then the customer's summary statistics in closed form (no loop over purchases):
given N purchase opportunities in (0, L] of a Poisson process, the purchase times are
uniform order statistics, so the k-th of them is ``L * Beta(k, N - k + 1)``.
Useful for tests, benchmarks and demos; a fit on their output recovers the
parameters.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from custmgmt.analytics.clv._common import FloatArray, as_float_vector, check_frequency
from custmgmt.analytics.clv._summary import TransactionSummary
from custmgmt.errors import ValidationError

__all__ = ["simulate_bgnbd", "simulate_gamma_gamma", "simulate_pareto_nbd"]


def _positive(field: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValidationError(field, value, "a positive number")
    number = float(value)
    if not np.isfinite(number):
        raise ValidationError(field, value, "a finite positive number")
    return number


def _ages(n_customers: Any, T: Any) -> FloatArray:
    if isinstance(n_customers, bool) or not isinstance(n_customers, int) or n_customers < 1:
        raise ValidationError("n_customers", n_customers, "a positive integer")
    ages = as_float_vector("T", T, allow_scalar=True)
    if ages.ndim == 0:
        ages = np.full(n_customers, float(ages))
    elif ages.size != n_customers:
        raise ValidationError("T", f"<{ages.size} values>", f"a scalar or {n_customers} ages")
    if np.any(ages <= 0):
        raise ValidationError("T", float(ages.min()), "positive ages")
    return ages


def _summary(x: FloatArray, tx: FloatArray, ages: FloatArray, discrete: bool) -> TransactionSummary:
    if discrete:
        tx = np.floor(tx)
    for array in (x, tx, ages):
        array.setflags(write=False)
    ids = np.arange(x.size)
    ids.setflags(write=False)
    return TransactionSummary(
        customer_ids=ids, frequency=x.astype(np.int64), recency=tx, T=ages
    )


def _last_of(
    rng: np.random.Generator, count: FloatArray, k: FloatArray, span: FloatArray
) -> FloatArray:
    """Time of the k-th of ``count`` uniform purchase times on (0, span]; 0 when k == 0."""
    bought = k > 0
    shape_a = np.where(bought, k, 1.0)
    shape_b = np.where(bought, count - k + 1.0, 1.0)
    return np.where(bought, span * rng.beta(shape_a, shape_b), 0.0)


def simulate_bgnbd(
    n_customers: int,
    *,
    r: float,
    alpha: float,
    a: float,
    b: float,
    T: Any,
    seed: int | np.random.Generator | None = None,
    discrete: bool = False,
) -> TransactionSummary:
    """Simulate customers from the BG/NBD model (Fader, Hardie & Lee 2005).

    Each customer buys at rate lambda ~ Gamma(r, rate alpha) and, after each repeat
    purchase, drops out with probability p ~ Beta(a, b).

    Args:
        n_customers: how many customers to draw.
        r, alpha, a, b: the model's parameters (alpha in the unit of ``T``).
        T: each customer's age at the end of observation: a scalar or an array.
        seed: a seed or a numpy Generator, for reproducible draws.
        discrete: floor recency to whole time units, like daily summaries do.

    Returns:
        A :class:`TransactionSummary` with customer ids 0..n-1 (no monetary value).
    """
    ages = _ages(n_customers, T)
    r, alpha, a, b = (_positive(n, v) for n, v in (("r", r), ("alpha", alpha), ("a", a), ("b", b)))
    rng = np.random.default_rng(seed)
    lam = rng.gamma(r, 1.0 / alpha, n_customers)
    p = rng.beta(a, b, n_customers)
    opportunities = rng.poisson(lam * ages).astype(np.float64)
    # The repeat purchase after which the customer drops out: geometric on 1, 2, ...
    last_allowed = rng.geometric(np.clip(p, 1e-300, 1.0)).astype(np.float64)
    x = np.minimum(opportunities, last_allowed)
    tx = _last_of(rng, opportunities, x, ages)
    return _summary(x, tx, ages, discrete)


def simulate_pareto_nbd(
    n_customers: int,
    *,
    r: float,
    alpha: float,
    s: float,
    beta: float,
    T: Any,
    seed: int | np.random.Generator | None = None,
    discrete: bool = False,
) -> TransactionSummary:
    """Simulate customers from the Pareto/NBD model (Schmittlein, Morrison & Colombo 1987).

    Each customer buys at rate lambda ~ Gamma(r, rate alpha) for an exponential
    lifetime with rate mu ~ Gamma(s, rate beta).

    Args:
        n_customers: how many customers to draw.
        r, alpha, s, beta: the model's parameters (alpha, beta in the unit of ``T``).
        T: each customer's age at the end of observation: a scalar or an array.
        seed: a seed or a numpy Generator, for reproducible draws.
        discrete: floor recency to whole time units, like daily summaries do.

    Returns:
        A :class:`TransactionSummary` with customer ids 0..n-1 (no monetary value).
    """
    ages = _ages(n_customers, T)
    r, alpha, s, beta = (
        _positive(n, v) for n, v in (("r", r), ("alpha", alpha), ("s", s), ("beta", beta))
    )
    rng = np.random.default_rng(seed)
    lam = rng.gamma(r, 1.0 / alpha, n_customers)
    mu = rng.gamma(s, 1.0 / beta, n_customers)
    lifetime = rng.exponential(1.0 / mu)
    active = np.minimum(lifetime, ages)
    x = rng.poisson(lam * active).astype(np.float64)
    tx = _last_of(rng, x, x, active)
    return _summary(x, tx, ages, discrete)


def simulate_gamma_gamma(
    frequency: Any,
    *,
    p: float,
    q: float,
    v: float,
    seed: int | np.random.Generator | None = None,
) -> FloatArray:
    """Simulate mean spend per repeat transaction under the Gamma-Gamma model.

    Each customer's transaction values are Gamma(p, rate nu) with nu ~ Gamma(q, rate v)
    (Fader, Hardie & Lee, "RFM and CLV: Using Iso-Value Curves for Customer Base
    Analysis", JMR 2005; Fader & Hardie's note 025); the mean of x of them is
    Gamma(p x, rate nu x).

    Args:
        frequency: repeat transactions per customer (whole numbers >= 0).
        p, q, v: the model's parameters (v in money units).
        seed: a seed or a numpy Generator.

    Returns:
        The mean spend per customer; 0 where frequency is 0.
    """
    x = as_float_vector("frequency", frequency)
    check_frequency(x)
    p, q, v = (_positive(n, val) for n, val in (("p", p), ("q", q), ("v", v)))
    rng = np.random.default_rng(seed)
    nu = rng.gamma(q, 1.0 / v, x.size)
    bought = x > 0
    shape = np.where(bought, p * x, 1.0)
    scale = 1.0 / (nu * np.where(bought, x, 1.0))
    spend: FloatArray = np.where(bought, rng.gamma(shape, scale), 0.0)
    return spend
