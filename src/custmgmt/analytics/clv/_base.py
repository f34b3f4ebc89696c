"""The scikit-learn shaped skeleton shared by the lifetime models."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar, Self

import numpy as np

from custmgmt.analytics.clv._common import (
    ConvergenceError,
    FloatArray,
    check_rft,
    check_weights,
    compress_rows,
    dot,
    newton_minimise,
    params_mapping,
    require_fitted,
)
from custmgmt.errors import NotFittedError, ValidationError


def fit_in_log_space(
    model: _Estimator,
    data: Any,
    total: float,
    pen: float,
    max_iter: int,
    tol: float,
    start: FloatArray | None = None,
) -> tuple[FloatArray, int, float]:
    """Maximise ``model._loglik`` over log-parameters; the mean per customer is minimised.

    Models with an analytic Hessian (``_newton``) take Newton steps, the others
    quasi-Newton (BFGS) steps from a difference Hessian of the exact gradient.
    Returns the log-parameters, the iterations and the log-likelihood there (penalty
    excluded).
    """

    def evaluate(
        theta: FloatArray, order: int
    ) -> tuple[float, FloatArray | None, FloatArray | None]:
        params = np.exp(theta)
        value, grad, hess = model._loglik(params, data, order)
        f = -value / total + pen * float(np.sum(params**2))
        if order == 0 or grad is None:
            return f, None, None
        g = -grad * params / total + 2.0 * pen * params**2
        if order == 1 or hess is None:
            return f, g, None
        h = -(params[:, None] * hess * params[None, :] + np.diag(grad * params)) / total
        return f, g, h + np.diag(4.0 * pen * params**2)

    theta, f, n_iter = newton_minimise(
        model._label,
        evaluate,
        model._start(data) if start is None else start,
        max_iter=max_iter,
        tol=tol,
        exact_hessian=model._newton,
    )
    params = np.exp(theta)
    return theta, n_iter, -(f - pen * float(np.sum(params**2))) * total


#: Rows of the warm-start sample for large fits (see ``_CountingModel.fit``).
_WARM_ROWS = 20_000


class _Estimator:
    """Keyword hyper-parameters stored untouched; learnt attributes end in ``_``."""

    _param_names: ClassVar[tuple[str, ...]]
    _label: ClassVar[str]
    _newton: ClassVar[bool] = False

    params_: Mapping[str, float]
    log_likelihood_: float
    n_customers_: float
    n_iter_: int

    def __init__(self, *, penalizer_coef: float = 0.0, max_iter: int = 1000, tol: float = 1e-8):
        self.penalizer_coef = penalizer_coef
        self.max_iter = max_iter
        self.tol = tol

    def __getattr__(self, name: str) -> Any:
        # Only reached when normal lookup failed: a learnt attribute before fit().
        if name.endswith("_") and not name.startswith("_"):
            raise NotFittedError(
                f"{type(self).__name__}.{name} does not exist yet: call fit() first"
            )
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(penalizer_coef={self.penalizer_coef!r}, "
            f"max_iter={self.max_iter!r}, tol={self.tol!r})"
        )

    def _check_hyperparameters(self) -> tuple[float, int, float]:
        pen, max_iter, tol = self.penalizer_coef, self.max_iter, self.tol
        if not isinstance(pen, int | float) or not math.isfinite(pen) or pen < 0:
            raise ValidationError("penalizer_coef", pen, "a finite number >= 0")
        if isinstance(max_iter, bool) or not isinstance(max_iter, int) or max_iter < 1:
            raise ValidationError("max_iter", max_iter, "a positive integer")
        if not isinstance(tol, int | float) or not (0 < tol < 1):
            raise ValidationError("tol", tol, "a number between 0 and 1")
        return float(pen), max_iter, float(tol)

    def _loglik(
        self, params: FloatArray, data: Any, order: int
    ) -> tuple[float, FloatArray | None, FloatArray | None]:
        raise NotImplementedError

    def _start(self, data: Any) -> FloatArray:
        return np.zeros(len(self._param_names))

    def _params(self) -> FloatArray:
        params = require_fitted(self)
        return np.array([params[name] for name in self._param_names])


class _CountingModel(_Estimator):
    """A model of repeat purchases fitted on (frequency, recency, T)."""

    def fit(self, frequency: Any, recency: Any, T: Any, weights: Any = None) -> Self:
        """Fit the model by maximum likelihood.

        Identical (frequency, recency, T) rows are merged into one row with a weight
        first, as Fader and Hardie do, so daily data fit in a fraction of the time.

        Args:
            frequency: repeat transactions per customer (whole numbers >= 0), the
                papers' x.
            recency: age at the last repeat transaction (t_x), 0 when frequency is 0.
            T: age at the end of observation, in the same unit as recency.
            weights: optional count of customers per row (default 1 each).

        Returns:
            self, with ``params_``, ``log_likelihood_``, ``n_customers_`` and
            ``n_iter_`` set.

        Raises:
            ValidationError: bad input (named field, value, expectation).
            ConvergenceError: the optimiser failed or the data cannot identify the
                parameters.
            CustMgmtError: scipy, an optional extra, is not installed.
        """
        pen, max_iter, tol = self._check_hyperparameters()
        x, tx, age = check_rft(frequency, recency, T)
        w = None if weights is None else check_weights(weights, x.size)
        (x, tx, age), w = compress_rows((x, tx, age), w)
        if not np.any(x > 0):
            raise ConvergenceError(
                self._label,
                "no customer made a repeat purchase, so nothing identifies the purchase "
                "and dropout rates",
            )
        top = float(age.max())
        if top <= 0:
            raise ValidationError("T", top, "some customer observed for a positive time")
        # Times are rescaled so the oldest customer has age 1 (as lifetimes does): the
        # optimiser then starts from parameters of order one whatever the unit.
        scale = 1.0 / top
        start = None
        if x.size > 4 * _WARM_ROWS:
            # Warm start: fit every k-th distinct row first (the rows are sorted by
            # frequency, so this is a stratified sample); the full data then need only
            # the last few iterations.
            k = x.size // _WARM_ROWS
            sample = self._prepare(x[::k], tx[::k], age[::k], w[::k], scale)
            try:
                start, _, _ = fit_in_log_space(
                    self, sample, float(w[::k].sum()), pen, max_iter, max(tol, 1e-6)
                )
            except ConvergenceError:
                start = None  # the sample alone may not identify the model; the data will
        data = self._prepare(x, tx, age, w, scale)
        theta, n_iter, scaled = fit_in_log_space(
            self, data, float(w.sum()), pen, max_iter, tol, start=start
        )
        # The likelihood of event times has the dimension time^-x: back in the caller's
        # unit it differs from the rescaled one by sum(w x) log(scale).
        self.params_ = params_mapping(self._param_names, self._unscale(np.exp(theta), scale))
        self.log_likelihood_ = scaled + dot(w, x) * np.log(scale)
        self.n_customers_ = float(w.sum())
        self.n_iter_ = n_iter
        return self

    # Hooks for the concrete models ------------------------------------------------

    def _prepare(
        self, x: FloatArray, tx: FloatArray, age: FloatArray, w: FloatArray, scale: float = 1.0
    ) -> Any:
        """Regroup the rows for the likelihood, with times multiplied by ``scale``.

        Grouping happens on the caller's times (whole days group fastest), scaling after.
        """
        raise NotImplementedError

    def _unscale(self, params: FloatArray, scale: float) -> FloatArray:
        raise NotImplementedError

    # Shared input handling for predictions --------------------------------------

    @staticmethod
    def _history(
        frequency: Any, recency: Any, T: Any
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        return check_rft(frequency, recency, T, allow_scalar=True, allow_empty=True)
