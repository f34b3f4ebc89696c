"""The Gamma-Gamma model of spend per transaction, and customer lifetime value."""

from __future__ import annotations

from typing import Any, Protocol, Self

import attrs
import numpy as np

from custmgmt.analytics.clv._base import _Estimator, fit_in_log_space
from custmgmt.analytics.clv._common import (
    CHUNK,
    FloatArray,
    as_float_vector,
    check_frequency,
    check_same_shape,
    check_weights,
    compress_rows,
    dot,
    factorise,
    first_bad,
    import_scipy,
    params_mapping,
    weighted_counts,
)
from custmgmt.analytics.clv._summary import normalise_unit
from custmgmt.errors import ValidationError

__all__ = ["GammaGamma", "PurchaseForecaster"]

# Time units per month, as lifetimes' customer_lifetime_value counts them.
_PER_MONTH = {"W": 4.345, "M": 1.0, "D": 30.0, "h": 30.0 * 24.0}


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
    frequency: Any, monetary_value: Any, *, allow_scalar: bool
) -> tuple[FloatArray, FloatArray]:
    x = as_float_vector("frequency", frequency, allow_scalar=allow_scalar)
    m = as_float_vector("monetary_value", monetary_value, allow_scalar=allow_scalar)
    check_same_shape("frequency", x, "monetary_value", m)
    check_frequency(x)
    bad = (x > 0) & (m <= 0)
    if np.any(bad):
        row = first_bad(bad)
        raise ValidationError(
            "monetary_value",
            float(np.atleast_1d(m)[row]),
            f"a positive mean spend where frequency > 0 (row {row})",
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

    Attributes:
        params_: ``{"p", "q", "v"}`` as a read-only mapping; v is in money units.
        log_likelihood_: the log-likelihood of the fitted customers' mean spend.
        n_customers_: how many customers (sum of weights) with frequency > 0 were fitted.
        n_iter_: optimiser iterations used.

    Example:
        >>> import numpy as np
        >>> from custmgmt.analytics.clv import simulate_gamma_gamma
        >>> x = np.random.default_rng(2).poisson(3.0, 20_000)
        >>> m = simulate_gamma_gamma(x, p=6.0, q=4.0, v=15.0, seed=3)
        >>> model = GammaGamma().fit(x, m)
        >>> sorted(model.params_)
        ['p', 'q', 'v']
    """

    _param_names = ("p", "q", "v")
    _label = "Gamma-Gamma"
    _newton = True

    def fit(self, frequency: Any, monetary_value: Any, weights: Any = None) -> Self:
        """Fit the model by maximum likelihood on the customers with frequency > 0.

        Args:
            frequency: repeat transactions per customer (whole numbers >= 0).
            monetary_value: mean spend of those transactions (> 0 where frequency > 0).
            weights: optional count of customers per row.

        Returns:
            self, with ``params_``, ``log_likelihood_``, ``n_customers_``, ``n_iter_``.

        Raises:
            ValidationError: bad input, or no customer with a repeat transaction.
            ConvergenceError: the optimiser failed or the spend cannot identify the
                parameters (for example everybody spends exactly the same).
        """
        pen, max_iter, tol = self._check_hyperparameters()
        x, m = _spend(frequency, monetary_value, allow_scalar=False)
        w = np.ones(x.size) if weights is None else check_weights(weights, x.size)
        keep = (x > 0) & (w > 0)
        if not np.any(keep):
            raise ValidationError(
                "frequency", "<no repeat buyer>", "at least one customer with frequency > 0"
            )
        (x, m), w = compress_rows((x[keep], m[keep]), w[keep])
        # Spend is rescaled to mean 1 so the optimiser starts from parameters of order 1.
        scale = 1.0 / float(np.average(m, weights=w))
        data = self._prepare(x, m * scale, w)
        theta, n_iter, scaled = fit_in_log_space(
            self, data, float(w.sum()), pen, max_iter, tol
        )
        p, q, v = np.exp(theta)
        # Rescaling m and v by c shifts the log-likelihood by -log c per customer.
        self.params_ = params_mapping(self._param_names, np.array([p, q, v / scale]))
        self.log_likelihood_ = scaled + float(w.sum()) * np.log(scale)
        self.n_customers_ = float(w.sum())
        self.n_iter_ = n_iter
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
        total_w = float(wx.sum())
        log_v = np.log(v)
        value = (
            dot(wx, special.gammaln(px + q) - special.gammaln(px) - special.gammaln(q))
            + total_w * q * log_v
            + p * (d.sum_wx_log_m + d.sum_wx_log_x)
            - d.sum_w_log_m
        )
        s_w_l = s_wx_l = s_w_i = s_wx_i = s_w_i2 = s_wx_i2 = s_wxx_i2 = 0.0
        for lo in range(0, d.x.size, CHUNK):
            hi = lo + CHUNK
            x, w = d.x[lo:hi], d.w[lo:hi]
            total = v + d.m[lo:hi] * x
            log_total = np.log(total)
            wx_ = w * x
            s_w_l += dot(w, log_total)
            s_wx_l += dot(wx_, log_total)
            if order == 0:
                continue
            inv = 1.0 / total
            s_w_i += dot(w, inv)
            s_wx_i += dot(wx_, inv)
            if order == 1:
                continue
            inv2 = inv * inv
            s_w_i2 += dot(w, inv2)
            s_wx_i2 += dot(wx_, inv2)
            s_wxx_i2 += dot(wx_ * x, inv2)
        value -= p * s_wx_l + q * s_w_l
        if order == 0:
            return value, None, None
        psi_pxq = special.digamma(px + q)
        grad = np.array(
            [
                dot(wx, xv * (psi_pxq - special.digamma(px)))
                + d.sum_wx_log_m
                + d.sum_wx_log_x
                - s_wx_l,
                dot(wx, psi_pxq - special.digamma(q)) + total_w * log_v - s_w_l,
                total_w * q / v - (p * s_wx_i + q * s_w_i),
            ]
        )
        if order == 1:
            return value, grad, None
        tri_pxq = special.polygamma(1, px + q)
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
        with np.errstate(divide="ignore", invalid="ignore"):
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
        ``(1 + discount_rate) ** i``.

        Args:
            transaction_model: a fitted :class:`BetaGeo` or :class:`ParetoNBD` (or
                anything with ``predict_purchases``).
            frequency: repeat transactions.
            recency: age at the last repeat transaction.
            T: age now.
            monetary_value: mean spend of the repeat transactions.
            time: the horizon in months (a positive integer).
            discount_rate: the monthly discount rate (>= 0).
            freq: the time unit of recency and T: ``"D"`` (30 per month), ``"W"``
                (4.345), ``"M"`` or ``"h"`` (720), or their long names.

        Returns:
            The lifetime value per customer, in the units of ``monetary_value``.
        """
        unit = normalise_unit("freq", freq)
        if isinstance(time, bool) or not isinstance(time, int) or time < 1:
            raise ValidationError("time", time, "a positive whole number of months")
        if (
            isinstance(discount_rate, bool)
            or not isinstance(discount_rate, int | float)
            or not np.isfinite(discount_rate)
            or discount_rate < 0
        ):
            raise ValidationError("discount_rate", discount_rate, "a finite rate >= 0")
        spend = self.conditional_expected_average_profit(frequency, monetary_value)
        per_month = _PER_MONTH[unit]
        value = np.zeros(spend.shape)
        before = np.zeros(spend.shape)
        for month in range(1, time + 1):
            upto = transaction_model.predict_purchases(month * per_month, frequency, recency, T)
            value += spend * (upto - before) / (1.0 + discount_rate) ** month
            before = upto
        return value
