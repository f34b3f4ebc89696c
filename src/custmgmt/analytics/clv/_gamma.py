"""The Gamma-Gamma model of spend per transaction, and customer lifetime value."""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Iterator
from typing import Any, Protocol, Self

import attrs
import numpy as np

from custmgmt.analytics.clv._base import (
    ProgressCallback,
    _CountingModel,
    _Estimator,
    fit_in_log_space,
    identification_warnings,
)
from custmgmt.analytics.clv._bgnbd import BetaGeo
from custmgmt.analytics.clv._common import (
    CHUNK,
    FloatArray,
    NotConverged,
    as_float_vector,
    check_frequency,
    check_same_shape,
    check_weights,
    compress_rows,
    digamma_difference,
    dot,
    factorise,
    first_bad,
    import_scipy,
    log_rising,
    params_mapping,
    weighted_counts,
)
from custmgmt.analytics.clv._summary import normalise_unit
from custmgmt.errors import ValidationError

__all__ = ["MAX_MONTHS", "GammaGamma", "PurchaseForecaster", "check_clv_terms"]

# Time units per month, as lifetimes' customer_lifetime_value counts them.
_PER_MONTH = {"W": 4.345, "M": 1.0, "D": 30.0, "h": 30.0 * 24.0}
#: The longest lifetime-value horizon, in months (100 years): Pareto/NBD and a
#: transaction model from elsewhere still cost one forecast per month over every
#: customer, and a horizon of millions of months would run for hours.
MAX_MONTHS = 1200
#: Up to this horizon BG/NBD's lifetime value is summed month by month from
#: forecasts made a block of months at a time (bit for bit lifetimes' definition);
#: beyond, where that costs more (about a second on 600 distinct histories, rising
#: faster than the horizon), in closed form at a cost that does not depend on the
#: horizon (equal to the month-by-month sum within about 1e-13 relative).
MONTH_BY_MONTH = 240


def check_clv_terms(time: Any, discount_rate: Any, *, time_field: str = "time") -> None:
    """Refuse a horizon that is not a whole number of months from 1 to :data:`MAX_MONTHS`,
    and a discount rate that is not a finite number >= 0 (raising ValidationError)."""
    # numpy's integers and floats count as numbers (a horizon read from an array is
    # an np.int64); bools do not.
    if (
        isinstance(time, bool | np.bool_)
        or not isinstance(time, numbers.Integral)
        or not 1 <= int(time) <= MAX_MONTHS
    ):
        raise ValidationError(
            time_field, time, f"a whole number of months from 1 to {MAX_MONTHS}"
        )
    if (
        isinstance(discount_rate, bool | np.bool_)
        or not isinstance(discount_rate, numbers.Real)
        or not math.isfinite(float(discount_rate))
        or discount_rate < 0
    ):
        raise ValidationError("discount_rate", discount_rate, "a finite rate >= 0")


def _discount(discount_rate: float, month: int) -> float:
    """``(1 + discount_rate) ** month``, ``inf`` where that overflows a float."""
    try:
        return float((1.0 + discount_rate) ** month)
    except OverflowError:
        return math.inf


class PurchaseForecaster(Protocol):
    """Anything that forecasts repeat purchases, like :class:`BetaGeo` or :class:`ParetoNBD`."""

    def predict_purchases(self, t: Any, frequency: Any, recency: Any, T: Any) -> FloatArray:
        """Expected repeat purchases in the next ``t`` time units."""
        ...


@attrs.frozen
class _Data:
    x: FloatArray
    m: FloatArray
    w: FloatArray
    x_values: FloatArray
    x_weights: FloatArray
    sum_w_log_m: float
    sum_wx_log_m: float
    sum_wx_log_x: float
    sum_wx: float


def _spend(
    frequency: Any, monetary_value: Any, *, allow_scalar: bool, fitting: bool = False
) -> tuple[FloatArray, FloatArray]:
    """Validate (frequency, monetary value); predictions need a spend >= 0 where
    frequency > 0, fitting takes any finite spend (the non-positive are skipped)."""
    x = as_float_vector("frequency", frequency, allow_scalar=allow_scalar)
    m = as_float_vector("monetary_value", monetary_value, allow_scalar=allow_scalar)
    check_same_shape("frequency", x, "monetary_value", m)
    check_frequency(x)
    if not fitting:
        bad = (x > 0) & (m < 0)
        if np.any(bad):
            row = first_bad(bad)
            raise ValidationError(
                "monetary_value",
                float(np.atleast_1d(m)[row]),
                f"a mean spend >= 0 where frequency > 0 (row {row})",
            )
    return x, m


class GammaGamma(_Estimator):
    """Gamma-Gamma: how much customers spend per transaction.

    A customer's transaction values are Gamma(p, nu) around their own mean, with
    nu ~ Gamma(q, v) across customers; spend is independent of the purchase process
    (Fader, Hardie & Lee, "RFM and CLV: Using Iso-Value Curves for Customer Base
    Analysis", Journal of Marketing Research 42(4), 2005; Fader & Hardie, "The
    Gamma-Gamma Model of Monetary Value", note 025, 2013). As in lifetimes, x is the
    number of repeat transactions and the monetary value their mean; customers without
    a repeat transaction carry no information about it and are skipped by :meth:`fit`.

    Args:
        penalizer_coef: L2 penalty on the parameters (v in units of the mean spend);
            0 for the plain maximum-likelihood estimate.
        max_iter: iteration limit of the optimiser.
        tol: convergence tolerance.
        max_time: wall-clock limit of one fit in seconds (None: no limit, so results
            never depend on the machine's speed).

    Attributes:
        params_: ``{"p", "q", "v"}`` as a read-only mapping; v is in money units.
        log_likelihood_: the log-likelihood of the fitted customers' mean spend.
        n_customers_: how many customers (sum of weights) with frequency > 0 were fitted.
        n_excluded_: how many repeat buyers were left out for a mean spend <= 0.
        n_iter_: optimiser iterations used.
        warnings_: what the data cannot identify, in words (empty when all is well).

    Example:
        >>> import numpy as np
        >>> from custmgmt.analytics.clv import simulate_gamma_gamma
        >>> x = np.random.default_rng(2).poisson(3.0, 20_000)
        >>> m = simulate_gamma_gamma(x, p=6.0, q=4.0, v=15.0, seed=3)
        >>> model = GammaGamma().fit(x, m)
        >>> sorted(model.params_)
        ['p', 'q', 'v']
    """

    n_excluded_: float

    _param_names = ("p", "q", "v")
    _label = "Gamma-Gamma"
    _newton = True
    # The optimiser moves (log p, log q, log q/v): "everybody has the same mean
    # spend" (q running off to infinity at a fixed q/v) is then a straight line.
    _basis = ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 1.0, -1.0))
    _shapes = (True, True, False)

    def fit(
        self,
        frequency: Any,
        monetary_value: Any,
        weights: Any = None,
        *,
        progress: ProgressCallback | bool | None = None,
    ) -> Self:
        """Fit the model by maximum likelihood on the customers with frequency > 0.

        Customers whose repeat transactions average zero or less (free or fully
        refunded orders) are left out, as in the literature: the model describes
        positive spend. How many were left out is ``n_excluded_``, and ``warnings_``
        says so.

        Args:
            frequency: repeat transactions per customer (whole numbers >= 0).
            monetary_value: mean spend of those transactions.
            weights: optional count of customers per row.
            progress: a callable given a :class:`FitProgress` after every optimiser
                step; ``True`` for a bar on an interactive terminal or notebook
                (nothing on a pipe); ``False`` / ``None`` for silence.

        Returns:
            self, with ``params_``, ``log_likelihood_``, ``n_customers_`` (those
            fitted), ``n_excluded_``, ``n_iter_`` and ``warnings_`` (what the data
            cannot identify, in words; empty when all is well).

        Raises:
            ValidationError: bad input, or no customer with a repeat transaction and
                a positive spend.
            ConvergenceError: the optimiser reached ``max_iter`` or ``max_time``
                without converging; the error carries the best point reached.
        """
        started = time.monotonic()
        pen, max_iter, tol, max_time = self._check_hyperparameters()
        x, m = _spend(frequency, monetary_value, allow_scalar=False, fitting=True)
        w = np.ones(x.size) if weights is None else check_weights(weights, x.size)
        repeat = (x > 0) & (w > 0)
        keep = repeat & (m > 0)
        excluded = float(w[repeat & ~keep].sum())
        if not np.any(keep):
            raise ValidationError(
                "frequency",
                "<no repeat buyer with a positive spend>",
                "at least one customer with frequency > 0 and monetary_value > 0",
            )
        (x, m), w = compress_rows((x[keep], m[keep]), w[keep])
        # Spend is rescaled to mean 1 so the optimiser starts from parameters of order 1.
        scale = 1.0 / float(np.average(m, weights=w))
        data = self._prepare(x, m * scale, w)
        total = float(w.sum())
        # Rescaling m and v by c shifts the log-likelihood by -log c per customer.
        shift = total * math.log(scale)

        def unscale(params: FloatArray) -> FloatArray:
            result: FloatArray = params * np.array([1.0, 1.0, 1.0 / scale])
            return result

        report = self._reporter(progress, started, lambda _p, value: value + shift)
        try:
            fit = fit_in_log_space(
                self,
                data,
                total,
                pen,
                max_iter,
                tol,
                deadline=None if max_time is None else started + max_time,
                report=report,
                curvature=True,
            )
        except NotConverged as stop:
            raise self._not_converged(stop, unscale, shift) from None
        finally:
            if report is not None:
                report.close()
        warnings = identification_warnings(
            self._param_names,
            fit.log_params,
            fit.hessian,
            label=self._label,
            bounds=self._bounds(),
            n_repeat=total,
        )
        q = float(np.exp(fit.log_params[1]))
        if q <= 1.0:
            warnings = (
                *warnings,
                (
                    f"q = {q:.3g} <= 1: spend is so heavy-tailed that the expected spend "
                    "of customers with few repeat purchases (p x + q <= 1) is infinite"
                ),
            )
        if excluded:
            warnings = (
                (
                    f"{excluded:g} customers with repeat purchases averaging 0 or less "
                    "were left out (the model describes positive spend)"
                ),
                *warnings,
            )
        self.params_ = params_mapping(self._param_names, unscale(np.exp(fit.log_params)))
        self.log_likelihood_ = fit.log_likelihood + shift
        self.n_customers_ = total
        self.n_excluded_ = excluded
        self.n_iter_ = fit.n_iter
        self.warnings_ = warnings
        return self

    @staticmethod
    def _prepare(x: FloatArray, m: FloatArray, w: FloatArray) -> _Data:
        values, inverse = factorise(x)
        weights = weighted_counts(inverse.reshape(-1), w, values.size)
        log_m = np.log(m)
        wx = w * x
        return _Data(
            x=x,
            m=m,
            w=w,
            x_values=values,
            x_weights=weights,
            sum_w_log_m=dot(w, log_m),
            sum_wx_log_m=dot(wx, log_m),
            sum_wx_log_x=dot(wx, np.log(x)),
            sum_wx=float(wx.sum()),
        )

    def _loglik(
        self, params: FloatArray, data: Any, order: int
    ) -> tuple[float, FloatArray | None, FloatArray | None]:
        """Fader & Hardie's note 025, equation (1a) with m the mean of x transactions.

        Only ``log(v + m x)`` needs a pass over the customers; everything else is a
        function of x (computed per distinct x) or a precomputed sum.
        """
        special = import_scipy("special")
        d: _Data = data
        p, q, v = (float(t) for t in params)
        xv, wx = d.x_values, d.x_weights
        px = p * xv
        # p log(m x) - p log(v + m x) and q log v - q log(v + m x) are written with
        # log1p: when p or q and v run off to infinity together (a flat likelihood)
        # the plain terms would be huge numbers whose difference keeps few digits.
        # lgamma(px + q) - lgamma(px) - lgamma(q) = -log B(px, q), from the smaller
        # argument's lgamma and a rising factorial: no large lgamma values cancel.
        small = np.minimum(px, q)
        value = dot(wx, log_rising(np.maximum(px, q), small) - special.gammaln(small))
        value -= d.sum_w_log_m
        s_w_l = s_wx_l = s_w_i = s_wx_i = s_w_i2 = s_wx_i2 = s_wxx_i2 = s_w_f = 0.0
        for lo in range(0, d.x.size, CHUNK):
            hi = lo + CHUNK
            x, w = d.x[lo:hi], d.w[lo:hi]
            mx = d.m[lo:hi] * x
            total = v + mx
            wx_ = w * x
            # log((v + m x) / (m x)) and log((v + m x) / v)
            s_wx_l += dot(wx_, np.log1p(v / mx))
            s_w_l += dot(w, np.log1p(mx / v))
            if order == 0:
                continue
            inv = 1.0 / total
            s_w_i += dot(w, inv)
            s_wx_i += dot(wx_, inv)
            s_w_f += dot(w, mx * inv)
            if order == 1:
                continue
            inv2 = inv * inv
            s_w_i2 += dot(w, inv2)
            s_wx_i2 += dot(wx_, inv2)
            s_wxx_i2 += dot(wx_ * x, inv2)
        value -= p * s_wx_l + q * s_w_l
        if order == 0:
            return value, None, None
        grad = np.array(
            [
                dot(wx, xv * digamma_difference(px, q)) - s_wx_l,
                dot(wx, digamma_difference(q, px)) - s_w_l,
                q * s_w_f / v - p * s_wx_i,
            ]
        )
        if order == 1:
            return value, grad, None
        tri_pxq = special.polygamma(1, px + q)
        total_w = float(wx.sum())
        hess = np.empty((3, 3))
        hess[0, 0] = dot(wx, xv * xv * (tri_pxq - special.polygamma(1, px)))
        hess[0, 1] = hess[1, 0] = dot(wx, xv * tri_pxq)
        hess[0, 2] = hess[2, 0] = -s_wx_i
        hess[1, 1] = dot(wx, tri_pxq - special.polygamma(1, q))
        hess[1, 2] = hess[2, 1] = total_w / v - s_w_i
        hess[2, 2] = -total_w * q / v**2 + p * s_wx_i2 + q * s_w_i2
        return value, grad, hess

    def conditional_expected_average_profit(
        self, frequency: Any, monetary_value: Any
    ) -> FloatArray:
        """Expected mean spend per future transaction, given each customer's history.

        Fader & Hardie's note 025, equation (5): a weighted average of the customer's
        own mean ``m`` and the population mean ``p v / (q - 1)``, the weight on ``m``
        being ``p x / (p x + q - 1)``. Where ``p x + q <= 1`` (only possible with
        q <= 1, when the population mean is infinite) the result is ``inf``.
        """
        x, m = _spend(frequency, monetary_value, allow_scalar=True)
        p, q, v = self._params()
        denominator = p * x + q - 1.0
        # A spend near the largest double overflows to inf: the expectation is too
        # large to represent, which is what inf says.
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            expected = (p * v + p * x * np.where(x > 0, m, 0.0)) / denominator
        result: FloatArray = np.where(denominator > 0, expected, np.inf)
        return result

    def customer_lifetime_value(
        self,
        transaction_model: PurchaseForecaster,
        frequency: Any,
        recency: Any,
        T: Any,
        monetary_value: Any,
        time: int = 12,
        discount_rate: float = 0.01,
        freq: str = "D",
    ) -> FloatArray:
        """Discounted value of each customer's purchases over the next ``time`` months.

        lifetimes' definition: for each month i = 1..time, the purchases the
        transaction model expects in that month times the expected spend per
        transaction (:meth:`conditional_expected_average_profit`), divided by
        ``(1 + discount_rate) ** i``. The forecasts are made a block of months at a
        time; for :class:`BetaGeo` beyond :data:`MONTH_BY_MONTH` months the sum is
        taken in closed form, at a cost that does not grow with the horizon.

        Args:
            transaction_model: a fitted :class:`BetaGeo` or :class:`ParetoNBD` (or
                anything with ``predict_purchases``).
            frequency: repeat transactions.
            recency: age at the last repeat transaction.
            T: age now.
            monetary_value: mean spend of the repeat transactions.
            time: the horizon in months (a whole number from 1 to
                :data:`MAX_MONTHS`, 1200).
            discount_rate: the monthly discount rate (finite, >= 0; a rate so large
                that the discount overflows counts those months as worth 0).
            freq: the time unit of recency and T: ``"D"`` (30 per month), ``"W"``
                (4.345), ``"M"`` or ``"h"`` (720), or their long names.

        Returns:
            The lifetime value per customer, in the units of ``monetary_value``.
        """
        unit = normalise_unit("freq", freq)
        check_clv_terms(time, discount_rate)
        if not callable(getattr(transaction_model, "predict_purchases", None)):
            raise ValidationError(
                "transaction_model",
                type(transaction_model).__name__,
                "a fitted BetaGeo or ParetoNBD (anything with predict_purchases)",
            )
        months, rate = int(time), float(discount_rate)
        spend = self.conditional_expected_average_profit(frequency, monetary_value)
        per_month = _PER_MONTH[unit]
        if isinstance(transaction_model, BetaGeo) and months > MONTH_BY_MONTH:
            discounted = transaction_model._discounted_purchases(
                frequency,
                recency,
                T,
                per_month=per_month,
                months=months,
                discount_rate=rate,
            )
            if discounted is not None:
                with np.errstate(invalid="ignore"):  # inf spend of a customer with no future
                    closed: FloatArray = spend * discounted
                return closed
        horizons: FloatArray = np.arange(1, months + 1, dtype=np.float64) * per_month
        discounts = [_discount(rate, month) for month in range(1, months + 1)]
        value = np.zeros(spend.shape)
        before = np.zeros(spend.shape)
        month = 0
        # The forecasts come a block of months at a time (one call for the block, not
        # one per month); the sum runs month by month, in the same order as always.
        for block in _month_forecasts(transaction_model, horizons, frequency, recency, T):
            for upto in block:
                value += spend * (upto - before) / discounts[month]
                before = upto
                month += 1
        return value


def _month_forecasts(
    model: PurchaseForecaster, horizons: FloatArray, frequency: Any, recency: Any, T: Any
) -> Iterator[FloatArray]:
    """``model.predict_purchases`` at each horizon, as blocks of rows: the bundled
    models compute a block at a time; any other forecaster is asked once per horizon."""
    if isinstance(model, _CountingModel):
        yield from model._forecast_months(horizons, frequency, recency, T)
        return
    for horizon in horizons.tolist():
        yield np.asarray(model.predict_purchases(horizon, frequency, recency, T))[None, ...]
