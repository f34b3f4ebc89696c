"""The Pareto/NBD model (Schmittlein, Morrison & Colombo 1987)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from custmgmt.analytics.clv._base import _CountingModel
from custmgmt.analytics.clv._common import (
    CHUNK,
    FloatArray,
    check_horizon,
    digamma_difference,
    dot,
    factorise,
    horizon_blocks,
    log_rising,
    pair_index,
    rows_dot,
    weighted_counts,
)
from custmgmt.analytics.clv._special import log_g

__all__ = ["ParetoNBD"]


@attrs.frozen
class _Data:
    x: FloatArray
    tx: FloatArray
    T: FloatArray
    w: FloatArray
    x_values: FloatArray
    x_weights: FloatArray
    pair_x: FloatArray  # distinct (x, y) pairs, y being a recency or an age
    pair_y: FloatArray
    pair_x_values: FloatArray  # the distinct x among the pairs ...
    pair_group: npt.NDArray[np.intp]  # ... and each pair's index into them
    at_recency: npt.NDArray[np.intp]  # the pair of each row's (x, t_x)
    at_age: npt.NDArray[np.intp]  # the pair of each row's (x, T)
    died_between: npt.NDArray[np.bool_]  # t_x < T: dropping out in between is possible


def _pairs(
    x: FloatArray, tx: FloatArray, age: FloatArray
) -> tuple[FloatArray, FloatArray, npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    n = x.size
    pair_x, pair_y, inverse = pair_index(np.concatenate([x, x]), np.concatenate([tx, age]))
    return pair_x, pair_y, inverse[:n], inverse[n:]


def _log_h(
    params: FloatArray,
    x: FloatArray,
    y: FloatArray,
    x_values: FloatArray,
    group: npt.NDArray[np.intp],
    *,
    gradient: bool,
) -> tuple[FloatArray, FloatArray]:
    """``log H(y) + r log(alpha) + s log(beta)``, H(y) being the integral over tau > y
    of (alpha+tau)^-(r+x) (beta+tau)^-(s+1).

    With Euler's and Pfaff's transformations H is a power of (alpha+y), (beta+y) times
    G = 2F1(1, E; C; -kappa) with kappa >= 0 (see :mod:`._special`); which of alpha,
    beta is larger picks the branch, as in Fader & Hardie's note 009 (2005), equations
    (19)-(20). The constant ``r log(alpha) + s log(beta)`` of the likelihood is folded
    in as ``-r log1p(y/alpha) - s log1p(y/beta)``: when the parameters run off to
    infinity (a flat likelihood) the two sides would otherwise be huge numbers whose
    difference keeps few digits. Returns the values and, with ``gradient``, their
    derivatives in (r, alpha, s, beta) as a (4, n) array. ``x_values`` are the
    distinct x and ``group`` each row's index into them.
    """
    r, alpha, s, beta = (float(v) for v in params)
    m = r + s + x
    a_y = alpha + y
    b_y = beta + y
    spread_a = np.log1p(y / alpha)
    spread_b = np.log1p(y / beta)
    # d/dalpha of -r log1p(y/alpha) and d/dbeta of -s log1p(y/beta)
    pull_a = r * y / (alpha * a_y)
    pull_b = s * y / (beta * b_y)
    if alpha >= beta:
        e = np.full(x_values.shape, s + 1.0)
        kappa = (alpha - beta) / b_y
        g, g_e, g_c, g_k = log_g(e, r + s + x_values + 1.0, group, kappa, gradient=gradient)
        value = (
            -r * spread_a - (x - 1.0) * np.log(a_y) - s * spread_b - np.log(b_y) - np.log(m) + g
        )
        if not gradient:
            return value, np.zeros((4, 0))
        d_r = -spread_a - 1.0 / m + g_c
        d_s = -spread_b - 1.0 / m + g_e + g_c
        d_alpha = pull_a - (x - 1.0) / a_y + g_k / b_y
        d_beta = pull_b - 1.0 / b_y - g_k * a_y / b_y**2
    else:
        kappa = (beta - alpha) / a_y
        g, g_e, g_c, g_k = log_g(
            r + x_values, r + s + x_values + 1.0, group, kappa, gradient=gradient
        )
        value = -r * spread_a - x * np.log(a_y) - s * spread_b - np.log(m) + g
        if not gradient:
            return value, np.zeros((4, 0))
        d_r = -spread_a - 1.0 / m + g_e + g_c
        d_s = -spread_b - 1.0 / m + g_c
        d_alpha = pull_a - x / a_y - g_k * b_y / a_y**2
        d_beta = pull_b + g_k / a_y
    return value, np.stack([d_r, d_alpha, d_s, d_beta])


class ParetoNBD(_CountingModel):
    """Pareto/NBD: Poisson purchasing for an exponentially distributed lifetime.

    Each customer buys at rate lambda ~ Gamma(r, alpha) until an unobserved dropout
    time with rate mu ~ Gamma(s, beta) (Schmittlein, Morrison & Colombo, "Counting
    Your Customers: Who Are They and What Will They Do Next?", Management Science
    33(1), 1987). The likelihood follows Fader & Hardie, "A Note on Deriving the
    Pareto/NBD Model and Related Expressions" (note 009, 2005), in log space; its
    Gauss hypergeometric term is evaluated through a continued fraction that stays
    accurate where the usual implementations return NaN (alpha and beta far apart,
    frequencies in the hundreds; see Fader, Hardie & Lee, "A Note on Implementing the
    Pareto/NBD Model in MATLAB", note 008, 2005), and the gradient is exact.

    Args:
        penalizer_coef: L2 penalty on the parameters (in the time scale where the
            oldest customer has age 1, as lifetimes' ``penalizer_coef``).
        max_iter: iteration limit of the optimiser.
        tol: convergence tolerance on the mean log-likelihood and its gradient.
        max_time: wall-clock limit of one fit in seconds (None: no limit, so results
            never depend on the machine's speed).

    Attributes:
        params_: ``{"r", "alpha", "s", "beta"}`` as a read-only mapping; alpha and
            beta are in the time unit of the data.
        log_likelihood_: the log-likelihood of the data at ``params_``.
        n_customers_: how many customers (sum of weights) were fitted.
        n_iter_: optimiser iterations used.
        warnings_: what the data cannot identify, in words (empty when all is well),
            e.g. a parameter that ran off to infinity.

    Example:
        >>> from custmgmt.analytics.clv import simulate_pareto_nbd
        >>> data = simulate_pareto_nbd(20_000, r=0.8, alpha=20.0, s=0.7, beta=200.0,
        ...                            T=365.0, seed=1)
        >>> model = ParetoNBD().fit(data.frequency, data.recency, data.T)
        >>> sorted(model.params_)
        ['alpha', 'beta', 'r', 's']
        >>> float(model.probability_alive(3, 365, 365)[()])
        1.0
    """

    _param_names = ("r", "alpha", "s", "beta")
    _label = "Pareto/NBD"
    # The optimiser moves (log r, log r/alpha, log s, log s/beta): the shapes and the
    # mean rates. "Everybody buys (or drops out) at the same rate" is then a straight
    # line (a shape running off to infinity at a fixed mean rate).
    _basis = (
        (1.0, 0.0, 0.0, 0.0),
        (1.0, -1.0, 0.0, 0.0),
        (0.0, 0.0, 1.0, 0.0),
        (0.0, 0.0, 1.0, -1.0),
    )
    _shapes = (True, False, True, False)

    def _prepare(
        self, x: FloatArray, tx: FloatArray, age: FloatArray, w: FloatArray, scale: float = 1.0
    ) -> _Data:
        values, inverse = factorise(x)
        weights = weighted_counts(inverse.reshape(-1), w, values.size)
        pair_x, pair_y, at_recency, at_age = _pairs(x, tx, age)
        pair_x_values, pair_group = factorise(pair_x)
        return _Data(
            x=x,
            tx=tx * scale,
            T=age * scale,
            w=w,
            x_values=values,
            x_weights=weights,
            pair_x=pair_x,
            pair_y=pair_y * scale,
            pair_x_values=pair_x_values,
            pair_group=pair_group.reshape(-1),
            at_recency=at_recency,
            at_age=at_age,
            died_between=tx < age,
        )

    def _start(self, data: Any) -> FloatArray:
        rate = float(np.sum(data.w * data.x) / np.sum(data.w * np.maximum(data.T, 1e-3)))
        return np.array([0.0, -np.log(max(rate, 1e-3)), 0.0, 0.0])

    def _unscale(self, params: FloatArray, scale: float) -> FloatArray:
        r, alpha, s, beta = params
        return np.array([r, alpha / scale, s, beta / scale])

    @staticmethod
    def _rows(
        params: FloatArray, d: _Data, h: FloatArray, lo: int, hi: int
    ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        """Per-row log of the likelihood's two terms and their log-sum, for rows lo:hi.

        The likelihood (apart from a factor in x alone) is ``exp(P) + exp(Q)``: P for
        "alive at T", Q = log s + log(H(t_x) - H(T)) for "dropped out between t_x and
        T" (impossible, Q = -inf, when t_x = T), both including
        ``r log(alpha) + s log(beta)`` (see :func:`_log_h`). Also returns
        ``H(T) - H(t_x)`` in log.
        """
        r, alpha, s, beta = (float(v) for v in params)
        x, age = d.x[lo:hi], d.T[lo:hi]
        between = d.died_between[lo:hi]
        p_term = -r * np.log1p(age / alpha) - x * np.log(alpha + age) - s * np.log1p(age / beta)
        h_recency = h[d.at_recency[lo:hi]]
        gap = np.where(between, h[d.at_age[lo:hi]] - h_recency, -1.0)
        # H(T) and H(t_x) can round to the same value when t_x is within an ulp of T:
        # then no dropping out fits between them, Q = log(0) = -inf, as for t_x = T.
        with np.errstate(divide="ignore"):
            q_term = np.where(between, np.log(s) + h_recency + np.log(-np.expm1(gap)), -np.inf)
        top = np.maximum(p_term, q_term)
        total = top + np.log1p(np.exp(-np.abs(p_term - q_term)))
        return p_term, q_term, total, gap

    def _loglik(
        self, params: FloatArray, data: Any, order: int
    ) -> tuple[float, FloatArray | None, FloatArray | None]:
        d: _Data = data
        r, alpha, s, beta = (float(v) for v in params)
        xv, wx = d.x_values, d.x_weights
        value = dot(wx, log_rising(r, xv))
        h, dh = _log_h(
            params, d.pair_x, d.pair_y, d.pair_x_values, d.pair_group, gradient=order > 0
        )
        n_pairs = d.pair_x.size
        on_pairs = np.zeros(n_pairs)
        s_q = g_r = g_alpha = g_s = g_beta = 0.0
        for lo in range(0, d.x.size, CHUNK):
            hi = lo + CHUNK
            _, q_term, total, gap = self._rows(params, d, h, lo, hi)
            w = d.w[lo:hi]
            value += dot(w, total)
            if order == 0:
                continue
            # d log(H(t_x) - H(T)) = dh(t_x) + (dh(t_x) - dh(T)) / expm1(-gap): the
            # rows' weights are pushed back onto the distinct pairs, so the pair
            # derivatives are combined in one dot product per parameter at the end.
            w_q = w * np.exp(q_term - total)
            w_p = w - w_q
            between = d.died_between[lo:hi]
            inv_em = np.where(between, 1.0 / np.expm1(-np.where(between, gap, -1.0)), 0.0)
            on_pairs += weighted_counts(d.at_recency[lo:hi], w_q * (1.0 + inv_em), n_pairs)
            on_pairs -= weighted_counts(d.at_age[lo:hi], w_q * inv_em, n_pairs)
            age = d.T[lo:hi]
            a_t = alpha + age
            b_t = beta + age
            s_q += float(w_q.sum())
            g_r -= dot(w_p, np.log1p(age / alpha))
            g_alpha += dot(w_p, (r * age / alpha - d.x[lo:hi]) / a_t)
            g_s -= dot(w_p, np.log1p(age / beta))
            g_beta += dot(w_p, s * age / (beta * b_t))
        if order == 0:
            return value, None, None
        grad = np.array(
            [
                g_r + dot(wx, digamma_difference(r, xv)),
                g_alpha,
                g_s + s_q / s,
                g_beta,
            ]
        )
        return value, grad + rows_dot(dh, on_pairs), None

    # Predictions -------------------------------------------------------------

    def _alive_rows(
        self, params: FloatArray, x: FloatArray, tx: FloatArray, age: FloatArray
    ) -> FloatArray:
        x, tx, age = (np.ravel(v) for v in (x, tx, age))
        if x.size == 0:
            return np.zeros(0)
        d = self._prepare(x, tx, age, np.ones(x.size))
        h, _ = _log_h(params, d.pair_x, d.pair_y, d.pair_x_values, d.pair_group, gradient=False)
        alive = np.empty(x.size)
        for lo in range(0, x.size, CHUNK):
            p_term, _, total, _ = self._rows(params, d, h, lo, lo + CHUNK)
            alive[lo : lo + CHUNK] = np.exp(p_term - total)
        return alive

    def probability_alive(self, frequency: Any, recency: Any, T: Any) -> FloatArray:
        """P(alive | x, t_x, T), Fader & Hardie's note 009, equation (36).

        Computed as ``exp(P - logaddexp(P, Q))`` from the log-likelihood's two terms,
        so it is finite and in [0, 1] for any frequency, and exactly 1 when the last
        purchase was at T.
        """
        x, tx, age = self._history(frequency, recency, T)
        return self._alive_rows(self._params(), x, tx, age).reshape(x.shape)

    def predict_purchases(self, t: Any, frequency: Any, recency: Any, T: Any) -> FloatArray:
        """Expected repeat purchases in the next ``t`` time units, given the history.

        Fader & Hardie's note 009, equation (41): P(alive) times
        ``(r+x)(beta+T) / ((alpha+T)(s-1)) * [1 - ((beta+T)/(beta+T+t))^(s-1)]``,
        with the bracket written with ``expm1``/``log1p`` (and its limit at s = 1).
        """
        x, tx, age = self._history(frequency, recency, T)
        horizon = check_horizon(t, x.shape)
        params = self._params()
        alive = self._alive_rows(params, x, tx, age).reshape(x.shape)
        return self._forecast(params, horizon, x, age, alive)

    def _forecast_months(
        self, horizons: FloatArray, frequency: Any, recency: Any, T: Any
    ) -> Iterator[FloatArray]:
        """:meth:`predict_purchases` at every horizon, a block of horizons at a time.

        P(alive), the expensive part, does not depend on the horizon and is computed
        once; the closed-form rest is evaluated for a block of horizons at once. Each
        row holds exactly (bit for bit) what ``predict_purchases(h, ...)`` returns.
        """
        x, tx, age = self._history(frequency, recency, T)
        params = self._params()
        alive = self._alive_rows(params, x, tx, age).reshape(x.shape)
        for block in horizon_blocks(horizons.size, x.size):
            column = horizons[block].reshape(-1, *([1] * x.ndim))
            yield self._forecast(params, column, x, age, alive)

    @staticmethod
    def _forecast(
        params: FloatArray, t: FloatArray, x: FloatArray, age: FloatArray, alive: FloatArray
    ) -> FloatArray:
        r, alpha, s, beta = params
        growth = np.log1p(t / (beta + age))
        # [1 - (1 + t/(beta+T))^-(s-1)] / (s-1), whose limit at s = 1 is the log itself.
        near_one = abs(s - 1.0) <= 1e-10
        bracket = growth if near_one else -np.expm1(-(s - 1.0) * growth) / (s - 1.0)
        result: FloatArray = alive * (r + x) / (alpha + age) * (beta + age) * bracket
        return result

    def expected_purchases(self, t: Any) -> FloatArray:
        """Expected repeat purchases of a new customer in their first ``t`` time units.

        Fader & Hardie's note 009, equation (27).
        """
        horizon = check_horizon(t, np.shape(t))
        zero = np.zeros(horizon.shape)
        return self._forecast(self._params(), horizon, zero, zero, np.ones(horizon.shape))
