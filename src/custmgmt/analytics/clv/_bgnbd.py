"""The BG/NBD model of repeat buying (Fader, Hardie & Lee 2005)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from custmgmt.analytics.clv._base import _CountingModel, fit_in_log_space
from custmgmt.analytics.clv._common import (
    CHUNK,
    FloatArray,
    NotConverged,
    check_horizon,
    digamma_difference,
    dot,
    factorise,
    horizon_blocks,
    import_scipy,
    log_rising,
    weighted_counts,
)
from custmgmt.analytics.clv._special import bgnbd_discounted_purchases, bgnbd_forecast
from custmgmt.errors import ConvergenceError

__all__ = ["BetaGeo"]


@attrs.frozen
class _Data:
    """The data regrouped so each likelihood term is summed over what it depends on.

    Terms in x alone are summed over the distinct frequencies, terms in T alone over
    the distinct ages; only the "dropped out after the last purchase" mixture needs a
    pass over the repeat buyers' rows, and none over the one-time buyers.
    """

    x_values: FloatArray
    x_weights: FloatArray
    t_values: FloatArray
    t_weights: FloatArray
    t_x_weights: FloatArray  # sum of w * x per distinct T
    x: FloatArray  # the repeat buyers' rows (x > 0) ...
    tx: FloatArray
    T: FloatArray
    w: FloatArray
    x_code: npt.NDArray[np.intp]  # ... and their index into x_values


class BetaGeo(_CountingModel):
    """BG/NBD: Poisson purchasing while alive, a coin flip for dropping out after each.

    Each customer buys at rate lambda ~ Gamma(r, alpha) while alive and, after every
    repeat purchase, becomes inactive with probability p ~ Beta(a, b) (Fader, Hardie &
    Lee, "'Counting Your Customers' the Easy Way: An Alternative to the Pareto/NBD
    Model", Marketing Science 24(2), 2005; the likelihood in log form follows their
    note "Implementing the BG/NBD Model for Customer Base Analysis in Excel", 2005,
    and P(alive) their note 021, 2008). Follows scikit-learn's conventions: the
    constructor stores its keyword arguments, :meth:`fit` returns ``self`` and sets
    the learnt attributes below, which raise :class:`~custmgmt.errors.NotFittedError`
    before.

    Args:
        penalizer_coef: L2 penalty on the parameters (in the time scale where the
            oldest customer has age 1, as lifetimes' ``penalizer_coef``); 0 for the
            plain maximum-likelihood estimate.
        max_iter: iteration limit of the optimiser.
        tol: convergence tolerance on the mean log-likelihood and its gradient.
        max_time: wall-clock limit of one fit in seconds (None: no limit, so results
            never depend on the machine's speed).

    Attributes:
        params_: ``{"r", "alpha", "a", "b"}`` as a read-only mapping; alpha is in the
            time unit of the data.
        log_likelihood_: the log-likelihood of the data at ``params_`` (sum over
            customers, penalty excluded).
        n_customers_: how many customers (sum of weights) were fitted.
        n_iter_: optimiser iterations used.
        warnings_: what the data cannot identify, in words (empty when all is well),
            e.g. a parameter that ran off to infinity.

    Example:
        >>> from custmgmt.analytics.clv import simulate_bgnbd
        >>> data = simulate_bgnbd(20_000, r=0.8, alpha=20.0, a=0.6, b=3.0, T=365.0, seed=1)
        >>> model = BetaGeo().fit(data.frequency, data.recency, data.T)
        >>> sorted(model.params_)
        ['a', 'alpha', 'b', 'r']
        >>> float(model.probability_alive(0, 0, 100)[()])
        1.0
    """

    _param_names = ("r", "alpha", "a", "b")
    _label = "BG/NBD"
    _newton = True
    # The optimiser moves (log r, log r/alpha, log a, log a/b): "everybody buys at the
    # same rate" and "everybody has the same dropout chance" are then straight lines.
    _basis = (
        (1.0, 0.0, 0.0, 0.0),
        (1.0, -1.0, 0.0, 0.0),
        (0.0, 0.0, 1.0, 0.0),
        (0.0, 0.0, 1.0, -1.0),
    )
    _shapes = (True, False, True, True)

    def _prepare(
        self, x: FloatArray, tx: FloatArray, age: FloatArray, w: FloatArray, scale: float = 1.0
    ) -> _Data:
        x_values, x_code = factorise(x)
        x_code = x_code.reshape(-1)
        t_values, t_code = factorise(age)
        t_code = t_code.reshape(-1)
        repeat = x > 0
        return _Data(
            x_values=x_values,
            x_weights=weighted_counts(x_code, w, x_values.size),
            t_values=t_values * scale,
            t_weights=weighted_counts(t_code, w, t_values.size),
            t_x_weights=weighted_counts(t_code, w * x, t_values.size),
            x=x[repeat],
            tx=tx[repeat] * scale,
            T=age[repeat] * scale,
            w=w[repeat],
            x_code=x_code[repeat],
        )

    def _start(self, data: Any) -> FloatArray:
        # In the rescaled time (oldest customer = 1) every parameter starts at 1 except
        # alpha, matched to the mean purchase rate so that r / alpha is about right.
        d: _Data = data
        rate = float(np.sum(d.t_x_weights) / max(dot(d.t_weights, d.t_values), 1e-9))
        return np.array([0.0, -np.log(max(rate, 1e-3)), 0.0, 0.0])

    def _unscale(self, params: FloatArray, scale: float) -> FloatArray:
        r, alpha, a, b = params
        return np.array([r, alpha / scale, a, b])

    def _loglik(
        self, params: FloatArray, data: Any, order: int
    ) -> tuple[float, FloatArray | None, FloatArray | None]:
        """Fader, Hardie & Lee (2005), equation (6), summed in log space.

        ``log L = A1(x) + A2(x) - (r+x) log(alpha+T) + softplus(delta)`` where
        ``delta = log a - log(b+x-1) + (r+x) log((alpha+T)/(alpha+t_x))`` for repeat
        buyers (the log-odds of having dropped out after the last purchase) and the
        softplus term is absent for one-time buyers. ``order`` 1 adds the gradient in
        (r, alpha, a, b), 2 the Hessian too.
        """
        special = import_scipy("special")
        r, alpha, a, b = (float(v) for v in params)
        d: _Data = data
        xv, wx = d.x_values, d.x_weights
        total_w = float(wx.sum())
        # x = 0 has no b + x - 1 term; any finite stand-in is never used.
        inv_b = np.where(xv > 0, 1.0 / np.where(xv > 0, b + xv - 1.0, 1.0), 0.0)
        log_odds = np.log(a) + np.log(np.where(xv > 0, inv_b, 1.0))
        inv_ages = 1.0 / (alpha + d.t_values)
        # r log(alpha) - r log(alpha + T) as -r log1p(T/alpha), and differences of
        # lgamma as log_rising: parameters that run off to infinity (a flat
        # likelihood) would otherwise turn them into differences of huge numbers.
        stretch = np.log1p(d.t_values / alpha)
        value = (
            dot(wx, log_rising(r, xv) + log_rising(b, xv) - log_rising(a + b, xv))
            - r * dot(d.t_weights, stretch)
            - dot(d.t_x_weights, np.log(alpha + d.t_values))
        )
        # Sums over the repeat buyers, block by block (see CHUNK).
        n_x = xv.size
        soft_sum = s_sp = s_sa = s_u = 0.0
        h_rr = h_ra = h_aa = h_r_al = h_al_al = s_vsp = s_vsa = s_v = 0.0
        # Per-row weights are kept and summed per frequency once after the loop (one
        # bincount over all rows is far cheaper than one per block).
        n_rows = d.x.size
        u_rows = np.empty(n_rows if order >= 1 else 0)
        vsp_rows = np.empty(n_rows if order >= 2 else 0)
        vsa_rows = np.empty(n_rows if order >= 2 else 0)
        v_rows = np.empty(n_rows if order >= 2 else 0)
        for lo in range(0, d.x.size, CHUNK):
            hi = lo + CHUNK
            x, w = d.x[lo:hi], d.w[lo:hi]
            code = d.x_code[lo:hi]
            inv_age = 1.0 / (alpha + d.T[lo:hi])
            inv_last = 1.0 / (alpha + d.tx[lo:hi])
            spread = np.log1p((d.T[lo:hi] - d.tx[lo:hi]) * inv_last)
            r_x = r + x
            delta = log_odds[code] + r_x * spread
            softplus = np.maximum(delta, 0.0) + np.log1p(np.exp(-np.abs(delta)))
            soft_sum += dot(w, softplus)
            if order == 0:
                continue
            dead = np.exp(delta - softplus)  # P(dropped out after the last purchase)
            u = w * dead
            d_alpha = inv_age - inv_last
            s_alpha = r_x * d_alpha
            s_sp += dot(u, spread)
            s_sa += dot(u, s_alpha)
            s_u += float(u.sum())
            u_rows[lo:hi] = u
            if order == 1:
                continue
            v = u * (1.0 - dead)
            vsp = v * spread
            vsa = v * s_alpha
            h_rr += dot(vsp, spread)
            h_ra += dot(vsp, s_alpha)
            h_aa += dot(vsa, s_alpha)
            h_r_al += dot(u, d_alpha)
            h_al_al += dot(u * r_x, inv_last * inv_last - inv_age * inv_age)
            s_vsp += float(vsp.sum())
            s_vsa += float(vsa.sum())
            s_v += float(v.sum())
            vsp_rows[lo:hi] = vsp
            vsa_rows[lo:hi] = vsa
            v_rows[lo:hi] = v
        value += soft_sum
        if order == 0:
            return value, None, None
        u_x = weighted_counts(d.x_code, u_rows, n_x)
        rise_ab = digamma_difference(a + b, xv)
        grad = np.array(
            [
                dot(wx, digamma_difference(r, xv)) - dot(d.t_weights, stretch) + s_sp,
                r * dot(d.t_weights, d.t_values * inv_ages) / alpha
                - dot(d.t_x_weights, inv_ages)
                + s_sa,
                -dot(wx, rise_ab) + s_u / a,
                dot(wx, digamma_difference(b, xv) - rise_ab) - dot(u_x, inv_b),
            ]
        )
        if order == 1:
            return value, grad, None
        vsp_x = weighted_counts(d.x_code, vsp_rows, n_x)
        vsa_x = weighted_counts(d.x_code, vsa_rows, n_x)
        v_x = weighted_counts(d.x_code, v_rows, n_x)
        tri_ab = special.polygamma(1, a + b)
        tri_abx = special.polygamma(1, a + b + xv)
        h_ab_common = dot(wx, tri_ab - tri_abx)
        hess = np.empty((4, 4))
        hess[0, 0] = dot(wx, special.polygamma(1, r + xv) - special.polygamma(1, r)) + h_rr
        hess[0, 1] = total_w / alpha - dot(d.t_weights, inv_ages) + h_ra + h_r_al
        age_weights = r * d.t_weights + d.t_x_weights
        hess[1, 1] = -total_w * r / alpha**2 + dot(age_weights, inv_ages**2) + h_aa + h_al_al
        hess[0, 2] = s_vsp / a
        hess[0, 3] = -dot(vsp_x, inv_b)
        hess[1, 2] = s_vsa / a
        hess[1, 3] = -dot(vsa_x, inv_b)
        hess[2, 2] = h_ab_common + (s_v - s_u) / a**2
        hess[2, 3] = h_ab_common - dot(v_x, inv_b) / a
        hess[3, 3] = (
            dot(wx, tri_ab + special.polygamma(1, b + xv) - special.polygamma(1, b) - tri_abx)
            + dot(v_x + u_x, inv_b**2)
        )
        lower = np.tril_indices(4, -1)
        hess[lower] = hess.T[lower]
        return value, grad, hess

    # Predictions -------------------------------------------------------------

    def probability_alive(self, frequency: Any, recency: Any, T: Any) -> FloatArray:
        """P(alive | x, t_x, T): the chance each customer has not dropped out yet.

        Fader, Hardie & Lee's note 021 (2008), computed as a logistic of a log-odds, so
        it stays finite and in [0, 1] for any frequency (1 in the no-dropout limit).

        Args:
            frequency: repeat transactions (scalar or array).
            recency: age at the last repeat transaction.
            T: age at the end of observation.

        Returns:
            An array of the inputs' shape.
        """
        x, tx, age = self._history(frequency, recency, T)
        return self._alive(self._params(), x, tx, age)

    @staticmethod
    def _alive(params: FloatArray, x: FloatArray, tx: FloatArray, age: FloatArray) -> FloatArray:
        special = import_scipy("special")
        r, alpha, a, b = params
        if a == 0.0:  # the NBD limit: nobody drops out
            return np.ones(np.shape(x))
        x_safe = np.maximum(x, 1.0)
        log_odds_dead = np.log(a / (b + x_safe - 1.0)) + (r + x) * np.log1p(
            (age - tx) / (alpha + tx)
        )
        alive: FloatArray = np.where(x > 0, special.expit(-log_odds_dead), 1.0)
        return alive

    def predict_purchases(self, t: Any, frequency: Any, recency: Any, T: Any) -> FloatArray:
        """Expected repeat purchases in the next ``t`` time units, given the history.

        Equation (10) of Fader, Hardie & Lee (2005): P(alive) times
        ``(a+b+x-1)/(a-1) [1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; z)]``
        with ``z = t/(alpha+T+t)``. The bracket is evaluated as a series of positive
        terms (see :func:`custmgmt.analytics.clv._special.bgnbd_forecast`), so it has
        no 0/0 at a = 1, neither overflows nor cancels for large frequencies or large
        a and b, and is never NaN; in the no-dropout limit (a = 0) it is the NBD's
        ``(r+x) t / (alpha+T)``.

        Args:
            t: the horizon, a scalar or one value per customer (>= 0).
            frequency: repeat transactions so far.
            recency: age at the last repeat transaction.
            T: age now.

        Returns:
            An array of the inputs' shape.
        """
        x, tx, age = self._history(frequency, recency, T)
        horizon = check_horizon(t, x.shape)
        return self._forecast(self._params(), horizon, x, tx, age)

    def _forecast(
        self, params: FloatArray, t: FloatArray, x: FloatArray, tx: FloatArray, age: FloatArray
    ) -> FloatArray:
        r, alpha, a, b = params
        t, x, tx, age = np.broadcast_arrays(t, x, tx, age)
        if a == 0.0:
            expected = (r + x) * t / (alpha + age)
        else:
            expected = bgnbd_forecast(
                r, alpha, a, b, np.ravel(t), np.ravel(x), np.ravel(age)
            ).reshape(x.shape)
        result: FloatArray = expected * self._alive(params, x, tx, age)
        return result

    def _forecast_months(
        self, horizons: FloatArray, frequency: Any, recency: Any, T: Any
    ) -> Iterator[FloatArray]:
        """:meth:`predict_purchases` at every horizon, a block of horizons at a time.

        The history is validated and P(alive) computed once; the forecast proper is
        computed once per distinct (frequency, T) and horizon, for a whole block of
        horizons in one call, and gathered back to the customers. Each row holds the
        same numbers as ``predict_purchases(h, ...)`` (bit for bit where the series
        is summed; within rounding where the horizon is long enough for the
        quadrature, whose sums are grouped by block).
        """
        x, tx, age = self._history(frequency, recency, T)
        params = self._params()
        r, alpha, a, b = params
        alive = self._alive(params, x, tx, age)
        shape = x.shape
        if x.size == 0:
            for block in horizon_blocks(horizons.size, 1):
                yield np.zeros((block.stop - block.start, *shape))
            return
        pairs, inverse = np.unique(
            np.stack([np.ravel(x), np.ravel(age)], axis=1), axis=0, return_inverse=True
        )
        inverse = inverse.reshape(-1)
        pair_x, pair_age = pairs[:, 0], pairs[:, 1]
        n_pairs = pair_x.size
        for block in horizon_blocks(horizons.size, max(x.size, n_pairs)):
            t = horizons[block]
            if a == 0.0:
                column = t.reshape(-1, *([1] * x.ndim))
                expected = (r + x) * column / (alpha + age)
            else:
                grid = bgnbd_forecast(
                    r,
                    alpha,
                    a,
                    b,
                    np.repeat(t, n_pairs),
                    np.tile(pair_x, t.size),
                    np.tile(pair_age, t.size),
                )
                expected = grid.reshape(t.size, n_pairs)[:, inverse].reshape(t.size, *shape)
            result: FloatArray = expected * alive
            yield result

    def _discounted_purchases(
        self,
        frequency: Any,
        recency: Any,
        T: Any,
        *,
        per_month: float,
        months: int,
        discount_rate: float,
    ) -> FloatArray | None:
        """``sum_{i=1}^{months} [P(i c) - P((i-1) c)] / (1 + discount_rate)^i`` per
        customer, P being :meth:`predict_purchases` and c ``per_month``: the
        discounted purchases of the lifetime value, in closed form (see
        :func:`~custmgmt.analytics.clv._special.bgnbd_discounted_purchases`), at a
        cost that does not depend on ``months``. None in the no-dropout limit
        (a = 0), whose month-by-month forecasts are cheap anyway.
        """
        x, tx, age = self._history(frequency, recency, T)
        params = self._params()
        r, alpha, a, b = (float(v) for v in params)
        if a == 0.0:
            return None
        alive = self._alive(params, x, tx, age)
        value = bgnbd_discounted_purchases(
            r,
            alpha,
            a,
            b,
            np.ravel(x),
            np.ravel(age),
            per_month,
            months,
            math.log1p(discount_rate),
        ).reshape(x.shape)
        result: FloatArray = value * alive
        return result

    def expected_purchases(self, t: Any) -> FloatArray:
        """Expected repeat purchases of a new customer in their first ``t`` time units.

        Equation (9) of Fader, Hardie & Lee (2005).
        """
        horizon = check_horizon(t, np.shape(t))
        zero = np.zeros(horizon.shape)
        return self._forecast(self._params(), horizon, zero, zero, zero)

    # The no-dropout limit ------------------------------------------------------

    def _limit(
        self,
        x: FloatArray,
        tx: FloatArray,
        age: FloatArray,
        w: FloatArray,
        scale: float,
        log_likelihood: float,
    ) -> tuple[FloatArray, float, str] | None:
        """The NBD (p = 0 for everybody) when it explains the data at least as well.

        When the data show no dropout, the BG/NBD likelihood rises towards its p -> 0
        boundary, where it is the NBD's; the estimates then drift (a -> 0 or
        b -> infinity) and predictions lose all digits. If the NBD, fitted on its own,
        is at least as likely, it is the maximum-likelihood estimate: a = 0 and
        b = inf stand for "p is 0 for everybody".
        """
        nbd = _NoDropout(penalizer_coef=self.penalizer_coef, max_iter=self.max_iter, tol=self.tol)
        try:
            fit = fit_in_log_space(
                nbd, nbd._prepare(x, tx, age, w, scale), float(w.sum()),
                float(self.penalizer_coef), self.max_iter, self.tol,
            )
        except (ConvergenceError, NotConverged):
            return None
        if fit.log_likelihood < log_likelihood - 1e-6 * max(1.0, abs(log_likelihood)):
            return None
        r, alpha = np.exp(fit.log_params)
        return (
            np.array([r, alpha, 0.0, math.inf]),
            fit.log_likelihood,
            (
                "no sign of dropout: the likelihood is highest in the no-dropout limit, "
                "the NBD (a = 0, b = inf: p = 0 for everybody, every customer alive)"
            ),
        )


class _NoDropout(_CountingModel):
    """The NBD: Poisson purchasing at a Gamma(r, alpha) rate, nobody drops out.

    The limit of BG/NBD as p -> 0; fitted only to check for that limit.
    """

    _param_names = ("r", "alpha")
    _label = "NBD"
    _newton = True
    _basis = ((1.0, 0.0), (1.0, -1.0))
    _shapes = (True, False)

    def _prepare(
        self, x: FloatArray, tx: FloatArray, age: FloatArray, w: FloatArray, scale: float = 1.0
    ) -> _NbdData:
        x_values, x_code = factorise(x)
        t_values, t_code = factorise(age)
        x_code, t_code = x_code.reshape(-1), t_code.reshape(-1)
        return _NbdData(
            x_values=x_values,
            x_weights=weighted_counts(x_code, w, x_values.size),
            t_values=t_values * scale,
            t_weights=weighted_counts(t_code, w, t_values.size),
            t_x_weights=weighted_counts(t_code, w * x, t_values.size),
        )

    def _start(self, data: Any) -> FloatArray:
        d: _NbdData = data
        rate = float(np.sum(d.t_x_weights) / max(dot(d.t_weights, d.t_values), 1e-9))
        return np.array([0.0, -np.log(max(rate, 1e-3))])

    def _loglik(
        self, params: FloatArray, data: Any, order: int
    ) -> tuple[float, FloatArray | None, FloatArray | None]:
        special = import_scipy("special")
        r, alpha = (float(v) for v in params)
        d: _NbdData = data
        stretch = np.log1p(d.t_values / alpha)
        inv_ages = 1.0 / (alpha + d.t_values)
        value = (
            dot(d.x_weights, log_rising(r, d.x_values))
            - r * dot(d.t_weights, stretch)
            - dot(d.t_x_weights, np.log(alpha + d.t_values))
        )
        if order == 0:
            return value, None, None
        grad = np.array(
            [
                dot(d.x_weights, digamma_difference(r, d.x_values)) - dot(d.t_weights, stretch),
                r * dot(d.t_weights, d.t_values * inv_ages) / alpha
                - dot(d.t_x_weights, inv_ages),
            ]
        )
        if order == 1:
            return value, grad, None
        total_w = float(d.t_weights.sum())
        hess = np.empty((2, 2))
        hess[0, 0] = dot(
            d.x_weights,
            special.polygamma(1, r + d.x_values) - special.polygamma(1, r),
        )
        hess[0, 1] = hess[1, 0] = total_w / alpha - dot(d.t_weights, inv_ages)
        hess[1, 1] = -total_w * r / alpha**2 + dot(
            r * d.t_weights + d.t_x_weights, inv_ages**2
        )
        return value, grad, hess


@attrs.frozen
class _NbdData:
    x_values: FloatArray
    x_weights: FloatArray
    t_values: FloatArray
    t_weights: FloatArray
    t_x_weights: FloatArray  # sum of w * x per distinct T
