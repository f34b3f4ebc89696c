"""The scikit-learn shaped skeleton shared by the lifetime models.

Fitting is maximum likelihood over the log-parameters (in a basis where the usual
ways a model degenerates, e.g. "everybody has the same dropout rate", are coordinate
directions), bounded by an iteration limit and an optional wall-clock limit, with
progress reported to an optional callback. After the fit the curvature of the
log-likelihood tells how well the data identify each parameter; what they cannot
identify is reported in ``warnings_`` next to the estimates rather than hidden.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar, Self

import attrs
import numpy as np

from custmgmt.analytics.clv._common import (
    LOG_PARAM_BOUND,
    SHAPE_BOUND,
    FloatArray,
    NotConverged,
    check_rft,
    check_weights,
    compress_rows,
    difference_hessian,
    dot,
    newton_minimise,
    params_mapping,
    require_fitted,
)
from custmgmt.errors import ConvergenceError, NotFittedError, ValidationError
from custmgmt.notebook.display import Report, Table
from custmgmt.notebook.estimator import Estimator
from custmgmt.notebook.progress import Tracker, check_progress

__all__ = ["FitProgress", "ProgressCallback"]


@attrs.frozen(kw_only=True)
class FitProgress:
    """How far a model fit has got: passed to a ``progress`` callback after each step.

    Attributes:
        model: the model being fitted (``"BG/NBD"``, ``"Pareto/NBD"``, ``"Gamma-Gamma"``).
        iteration: optimiser iterations done so far.
        log_likelihood: the log-likelihood at the current point (it only increases).
        elapsed: seconds since the fit started.
    """

    model: str
    iteration: int
    log_likelihood: float
    elapsed: float

    def __str__(self) -> str:
        return (
            f"{self.model}: iteration {self.iteration}, "
            f"log-likelihood {self.log_likelihood:.6g}, {self.elapsed:.1f} s"
        )


#: A function that receives :class:`FitProgress` reports.
ProgressCallback = Callable[[FitProgress], None]


@attrs.frozen
class _Fit:
    """A finished optimisation, in log-parameters of the rescaled problem."""

    log_params: FloatArray
    n_iter: int
    log_likelihood: float  # of the rescaled problem, penalty excluded
    hessian: FloatArray | None  # of minus the total log-likelihood, in log-parameters


def fit_in_log_space(
    model: _Estimator,
    data: Any,
    total: float,
    pen: float,
    max_iter: int,
    tol: float,
    *,
    start: FloatArray | None = None,
    deadline: float | None = None,
    report: Callable[[int, FloatArray, float], None] | None = None,
    curvature: bool = False,
) -> _Fit:
    """Maximise ``model._loglik`` over log-parameters; the mean per customer is minimised.

    The optimiser works in the model's ``_basis`` (log-parameters = basis @ theta).
    Models with an analytic Hessian (``_newton``) take Newton steps, the others
    quasi-Newton (BFGS) steps from a difference Hessian of the exact gradient. With
    ``curvature`` the Hessian of minus the total log-likelihood at the optimum is
    returned too (analytic, or from differences of the gradient).

    Raises:
        ConvergenceError: the likelihood is not finite at the start.
        NotConverged: the limits were reached; its ``theta`` is in log-parameters and
            its ``f`` the log-likelihood (penalty excluded) there.
    """
    basis = model._basis_matrix()
    inverse: FloatArray = np.linalg.inv(basis).astype(np.float64)

    def log_params_of(theta: FloatArray) -> FloatArray:
        result: FloatArray = basis @ theta
        return result

    def penalty(log_params: FloatArray) -> float:
        return pen * float(np.sum(np.exp(2.0 * log_params)))

    def evaluate(
        theta: FloatArray, order: int
    ) -> tuple[float, FloatArray | None, FloatArray | None]:
        log_params = log_params_of(theta)
        params = np.exp(log_params)
        value, grad, hess = model._loglik(params, data, order)
        f = -value / total + penalty(log_params)
        if order == 0 or grad is None:
            return f, None, None
        g = -grad * params / total + 2.0 * pen * params**2
        if order == 1 or hess is None:
            return f, basis.T @ g, None
        h = -(params[:, None] * hess * params[None, :] + np.diag(grad * params)) / total
        h = h + np.diag(4.0 * pen * params**2)
        return f, basis.T @ g, basis.T @ h @ basis

    def on_iteration(iteration: int, theta: FloatArray, f: float) -> None:
        if report is not None:
            log_params = log_params_of(theta)
            report(iteration, log_params, -(f - penalty(log_params)) * total)

    first = model._start(data) if start is None else start
    try:
        optimum = newton_minimise(
            model._label,
            evaluate,
            inverse @ first,
            max_iter=max_iter,
            tol=tol,
            exact_hessian=model._newton,
            basis=basis,
            bound=model._bounds(),
            deadline=deadline,
            on_iteration=on_iteration if report is not None else None,
        )
    except NotConverged as stop:
        log_params = log_params_of(stop.theta)
        raise NotConverged(
            stop.reason, log_params, -(stop.f - penalty(log_params)) * total, stop.n_iter
        ) from None
    log_params = log_params_of(optimum.theta)
    if optimum.stalled and not np.any(np.abs(log_params) >= model._bounds() - _EDGE_MARGIN):
        raise NotConverged(
            "the line search cannot improve the fit",
            log_params,
            -(optimum.f - penalty(log_params)) * total,
            optimum.n_iter,
        )
    hessian = None
    if curvature:
        hessian = _total_hessian(optimum.hessian, inverse, total)
        if not model._newton and (
            hessian is None or identification_warnings(
                model._param_names, log_params, hessian, label="", bounds=model._bounds()
            )
        ):
            # The BFGS estimate suggests trouble: confirm it with the curvature from
            # differences of the exact gradient before saying anything.
            with np.errstate(all="ignore"):
                _, g, _ = evaluate(optimum.theta, 1)
            if g is not None:
                exact = difference_hessian(evaluate, optimum.theta, g)
                hessian = _total_hessian(exact, inverse, total)
    return _Fit(
        log_params=log_params,
        n_iter=optimum.n_iter,
        log_likelihood=-(optimum.f - penalty(log_params)) * total,
        hessian=hessian,
    )


def _total_hessian(
    hessian: FloatArray | None, inverse: FloatArray, total: float
) -> FloatArray | None:
    """The optimiser's Hessian (of the mean, in its basis) as the Hessian of minus
    the total log-likelihood in log-parameters."""
    if hessian is None or not np.all(np.isfinite(hessian)):
        return None
    result: FloatArray = inverse.T @ hessian @ inverse * total
    return result


# A log-parameter this close to the box edge ran off: the data do not bound it.
_EDGE_MARGIN = 1.0
# A standard error of a log-parameter above this (a 95% interval wider than a factor
# of e^2.6 ~ 14 either way) means the data hardly determine the parameter.
_LOOSE = 1.3
# Above this (a factor e^10 ~ 22,000 either way) the parameter is not determined at all.
_FLAT = 5.0
#: Fewer repeat buyers than this are too few to fit a lifetime model reliably.
MIN_REPEAT_BUYERS = 10


def identification_warnings(
    names: tuple[str, ...],
    log_params: FloatArray,
    hessian: FloatArray | None,
    *,
    label: str,
    bounds: FloatArray,
    n_repeat: float | None = None,
) -> tuple[str, ...]:
    """Say which parameters the data cannot identify, in words.

    A parameter at the edge of the search box ran off to 0 or infinity (the
    likelihood keeps rising towards a degenerate model); a singular or very flat
    curvature (standard error of the log-parameter above ``_LOOSE``) means the
    likelihood barely changes with it; and too few repeat buyers make any estimate
    fragile.
    """
    found = [] if n_repeat is None else _few_repeaters(n_repeat, label)
    edges = bounds - _EDGE_MARGIN
    high = [n for n, v, e in zip(names, log_params, edges, strict=True) if v >= e]
    low = [n for n, v, e in zip(names, log_params, edges, strict=True) if v <= -e]
    if high:
        found.append(
            f"{_join(high)} ran off to infinity (the likelihood keeps rising towards a "
            "limit the data cannot tell apart): not identified"
        )
    if low:
        found.append(f"{_join(low)} ran off to 0: not identified")
    edge = set(high) | set(low)
    if hessian is None:
        found.append("the likelihood's curvature could not be computed")
        return tuple(found)
    rest = [i for i, n in enumerate(names) if n not in edge]
    if not rest:
        return tuple(found)
    sub = hessian[np.ix_(rest, rest)]
    eigenvalues = np.linalg.eigvalsh(sub)
    if not np.all(np.isfinite(eigenvalues)) or eigenvalues[0] <= 1e-9 * max(
        float(eigenvalues[-1]), 1e-300
    ):
        found.append(
            f"the likelihood is flat along {_join([names[i] for i in rest])} together: "
            "not identified"
        )
        return tuple(found)
    errors = np.sqrt(np.maximum(np.diag(np.linalg.inv(sub)), 0.0))
    flat = [names[i] for i, e in zip(rest, errors, strict=True) if e > _FLAT]
    if flat:
        found.append(f"the likelihood is nearly flat in {_join(flat)}: not identified")
    loose = [(names[i], e) for i, e in zip(rest, errors, strict=True) if _LOOSE < e <= _FLAT]
    if loose:
        described = ", ".join(f"{n} (within a factor {math.exp(2 * e):.3g})" for n, e in loose)
        found.append(f"poorly determined at 95%: {described}")
    return tuple(found)


def _few_repeaters(n_repeat: float, label: str) -> list[str]:
    if n_repeat >= MIN_REPEAT_BUYERS:
        return []
    text = (
        f"only {n_repeat:g} customers with repeat purchases: too few to identify "
        f"{label}'s parameters"
    )
    return [text]


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


#: Rows of the warm-start sample for large fits (see ``_CountingModel.fit``).
_WARM_ROWS = 20_000


class _Reporter:
    """The optimiser's per-iteration hook: a :class:`FitProgress` to a callback, or a
    line on a :class:`~custmgmt.notebook.progress.Tracker` bar."""

    def __init__(
        self,
        label: str,
        progress: ProgressCallback | bool,
        started: float,
        to_user: Callable[[FloatArray, float], float],
    ) -> None:
        self._label = label
        self._started = started
        self._to_user = to_user
        self._bar = Tracker(f"fitting {label}", progress=True) if progress is True else None
        self._callback = None if isinstance(progress, bool) else progress

    def __call__(self, iteration: int, log_params: FloatArray, log_likelihood: float) -> None:
        report = FitProgress(
            model=self._label,
            iteration=iteration,
            log_likelihood=self._to_user(log_params, log_likelihood),
            elapsed=time.monotonic() - self._started,
        )
        if self._callback is not None:
            self._callback(report)
        if self._bar is not None:
            self._bar.update(iteration, f"log-likelihood {report.log_likelihood:.6g}")

    def close(self) -> None:
        """End the bar's line, if one was drawn."""
        if self._bar is not None:
            self._bar.close()


class _Estimator(Estimator):
    """Keyword hyper-parameters stored untouched (``get_params`` / ``set_params``);
    learnt attributes end in ``_``."""

    _param_names: ClassVar[tuple[str, ...]]
    _label: ClassVar[str]
    _newton: ClassVar[bool] = False
    # log-parameters = basis @ theta, theta being what the optimiser moves (see
    # fit_in_log_space); None for the identity.
    _basis: ClassVar[tuple[tuple[float, ...], ...] | None] = None
    # Which parameters are Gamma or Beta shapes (boxed by SHAPE_BOUND, the others by
    # LOG_PARAM_BOUND).
    _shapes: ClassVar[tuple[bool, ...]] = ()

    params_: Mapping[str, float]
    log_likelihood_: float
    n_customers_: float
    n_iter_: int
    warnings_: tuple[str, ...]

    def __init__(
        self,
        *,
        penalizer_coef: float = 0.0,
        max_iter: int = 1000,
        tol: float = 1e-8,
        max_time: float | None = None,
    ):
        self.penalizer_coef = penalizer_coef
        self.max_iter = max_iter
        self.tol = tol
        self.max_time = max_time

    def __getattr__(self, name: str) -> Any:
        # Only reached when normal lookup failed: a learnt attribute before fit().
        if name.endswith("_") and not name.startswith("_"):
            raise NotFittedError(
                f"{type(self).__name__}.{name} does not exist yet: call fit() first"
            )
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _repr_html_(self) -> str:
        return self._display().to_html()

    def summary(self) -> str:
        """The summary shown in a notebook, as aligned text for a terminal."""
        return self._display().to_text()

    def _display(self) -> Report:
        """The hyper-parameters and, once fitted, the estimates, log-likelihood and
        what the data cannot identify."""
        report = Report(
            f"{type(self).__name__} ({self._label})",
            facts=list(self.get_params(deep=False).items()),
        )
        fitted = vars(self)
        if "params_" not in fitted:
            report.note("not fitted yet: call fit()")
            return report
        rows = tuple((name, float(value)) for name, value in self.params_.items())
        report.add(Table(caption="estimates", header=("parameter", "value"), rows=rows))
        report.add(Table(
            caption="fit",
            header=("log-likelihood", "customers", "iterations"),
            rows=((self.log_likelihood_, self.n_customers_, self.n_iter_),),
        ))
        for warning in self.warnings_:
            report.note(f"warning: {warning}")
        return report

    def _check_hyperparameters(self) -> tuple[float, int, float, float | None]:
        pen, max_iter, tol, max_time = self.penalizer_coef, self.max_iter, self.tol, self.max_time
        if not isinstance(pen, int | float) or not math.isfinite(pen) or pen < 0:
            raise ValidationError("penalizer_coef", pen, "a finite number >= 0")
        if isinstance(max_iter, bool) or not isinstance(max_iter, int) or max_iter < 1:
            raise ValidationError("max_iter", max_iter, "a positive integer")
        if not isinstance(tol, int | float) or not (0 < tol < 1):
            raise ValidationError("tol", tol, "a number between 0 and 1")
        if max_time is not None and (
            isinstance(max_time, bool)
            or not isinstance(max_time, int | float)
            or not math.isfinite(max_time)
            or max_time <= 0
        ):
            raise ValidationError("max_time", max_time, "None or a positive number of seconds")
        return float(pen), max_iter, float(tol), None if max_time is None else float(max_time)

    @classmethod
    def _bounds(cls) -> FloatArray:
        """The box on the log-parameters, one half-width per parameter."""
        shapes = cls._shapes or (False,) * len(cls._param_names)
        return np.array([SHAPE_BOUND if shape else LOG_PARAM_BOUND for shape in shapes])

    @classmethod
    def _basis_matrix(cls) -> FloatArray:
        size = len(cls._param_names)
        return np.eye(size) if cls._basis is None else np.array(cls._basis, dtype=np.float64)

    def _loglik(
        self, params: FloatArray, data: Any, order: int
    ) -> tuple[float, FloatArray | None, FloatArray | None]:
        raise NotImplementedError

    def _start(self, data: Any) -> FloatArray:
        return np.zeros(len(self._param_names))

    def _params(self) -> FloatArray:
        params = require_fitted(self)
        return np.array([params[name] for name in self._param_names])

    def _reporter(
        self,
        progress: ProgressCallback | bool | None,
        started: float,
        to_user: Callable[[FloatArray, float], float],
    ) -> _Reporter | None:
        """Turn the optimiser's (iteration, log-parameters, log-likelihood) into
        :class:`FitProgress` reports in the caller's units: for a callback, or for a
        bar on the terminal (``progress=True``). Close it when the fit ends."""
        if progress is None or progress is False:
            return None
        if progress is not True:
            check_progress(progress)
        return _Reporter(self._label, progress, started, to_user)

    def _not_converged(
        self, stop: NotConverged, unscale: Callable[[FloatArray], FloatArray], shift: float
    ) -> ConvergenceError:
        best = params_mapping(self._param_names, unscale(np.exp(stop.theta)))
        return ConvergenceError(
            self._label,
            stop.reason,
            best=best,
            log_likelihood=float(stop.f) + shift,
            n_iter=stop.n_iter,
        )


class _CountingModel(_Estimator):
    """A model of repeat purchases fitted on (frequency, recency, T)."""

    def fit(
        self,
        frequency: Any,
        recency: Any,
        T: Any,
        weights: Any = None,
        *,
        progress: ProgressCallback | bool | None = None,
    ) -> Self:
        """Fit the model by maximum likelihood.

        Identical (frequency, recency, T) rows are merged into one row with a weight
        first, as Fader and Hardie do, so daily data fit in a fraction of the time.
        Times are rescaled internally so that the oldest customer has age 1: the fit
        does the same work whatever the time unit.

        Args:
            frequency: repeat transactions per customer (whole numbers >= 0), the
                papers' x.
            recency: age at the last repeat transaction (t_x), 0 when frequency is 0.
            T: age at the end of observation, in the same unit as recency.
            weights: optional count of customers per row (default 1 each).
            progress: a callable given a :class:`FitProgress` after every optimiser
                step; ``True`` for a bar on an interactive terminal or notebook
                (nothing on a pipe); ``False`` / ``None`` for silence.

        Returns:
            self, with ``params_``, ``log_likelihood_``, ``n_customers_``,
            ``n_iter_`` and ``warnings_`` (what the data cannot identify, in words;
            empty when all is well) set.

        Raises:
            ValidationError: bad input (named field, value, expectation).
            ConvergenceError: the optimiser reached ``max_iter`` or ``max_time``
                without converging (the error carries the best point reached), or
                nobody made a repeat purchase.
            CustMgmtError: scipy, an optional extra, is not installed.
        """
        started = time.monotonic()
        pen, max_iter, tol, max_time = self._check_hyperparameters()
        deadline = None if max_time is None else started + max_time
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
        # The likelihood of event times has the dimension time^-x: back in the caller's
        # unit it differs from the rescaled one by sum(w x) log(scale).
        shift = dot(w, x) * math.log(scale)
        start = None
        if x.size > 4 * _WARM_ROWS:
            # Warm start: fit every k-th distinct row first (the rows are sorted by
            # frequency, so this is a stratified sample); the full data then need only
            # the last few iterations.
            k = x.size // _WARM_ROWS
            sample = self._prepare(x[::k], tx[::k], age[::k], w[::k], scale)
            try:
                warm = fit_in_log_space(
                    self,
                    sample,
                    float(w[::k].sum()),
                    pen,
                    max_iter,
                    max(tol, 1e-6),
                    deadline=deadline,
                )
                start = warm.log_params
            except (ConvergenceError, NotConverged):
                start = None  # the sample alone may not identify the model; the data will
        data = self._prepare(x, tx, age, w, scale)
        n_repeat = float(w[x > 0].sum())
        few = tuple(_few_repeaters(n_repeat, self._label))
        report = self._reporter(progress, started, lambda _p, value: value + shift)
        unscale = lambda p: self._unscale(p, scale)  # noqa: E731
        try:
            fit = fit_in_log_space(
                self,
                data,
                float(w.sum()),
                pen,
                max_iter,
                tol,
                start=start,
                deadline=deadline,
                report=report,
                curvature=True,
            )
        except NotConverged as stop:
            limit = self._limit(x, tx, age, w, scale, float(stop.f))
            if limit is None:
                raise self._not_converged(stop, unscale, shift) from None
            params, scaled, note = limit
            warnings: tuple[str, ...] = (*few, note)
            n_iter = stop.n_iter
        else:
            params = np.exp(fit.log_params)
            scaled = fit.log_likelihood
            warnings = identification_warnings(
                self._param_names,
                fit.log_params,
                fit.hessian,
                label=self._label,
                bounds=self._bounds(),
                n_repeat=n_repeat,
            )
            n_iter = fit.n_iter
            if warnings:
                limit = self._limit(x, tx, age, w, scale, scaled)
                if limit is not None:
                    params, scaled, note = limit
                    warnings = (*few, note)
        finally:
            if report is not None:
                report.close()
        self.params_ = params_mapping(self._param_names, self._unscale(params, scale))
        self.log_likelihood_ = scaled + shift
        self.n_customers_ = float(w.sum())
        self.n_iter_ = n_iter
        self.warnings_ = warnings
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

    def _limit(
        self,
        x: FloatArray,
        tx: FloatArray,
        age: FloatArray,
        w: FloatArray,
        scale: float,
        log_likelihood: float,
    ) -> tuple[FloatArray, float, str] | None:
        """A limiting model that explains the data at least as well as the fit did.

        Called when the fit degenerated; returns (parameters in the rescaled time,
        their log-likelihood, a sentence saying what the limit is) or None.
        """
        return None

    # Forecasts over many horizons -------------------------------------------------

    def _forecast_months(
        self, horizons: FloatArray, frequency: Any, recency: Any, T: Any
    ) -> Iterator[FloatArray]:
        """``predict_purchases`` at each of ``horizons`` (ascending), in blocks.

        Yields arrays of shape ``(m, *frequency.shape)``, one row per horizon, in the
        horizons' order; the rows are exactly what ``predict_purchases(h, ...)``
        returns. This default makes one call per horizon; the models override it to
        do the work that does not depend on the horizon (the history's validation,
        P(alive)) once and the rest for a block of horizons at a time.
        """
        for horizon in horizons.tolist():
            yield self.predict_purchases(horizon, frequency, recency, T)[None, ...]

    def predict_purchases(self, t: Any, frequency: Any, recency: Any, T: Any) -> FloatArray:
        """Expected repeat purchases in the next ``t`` time units (see the models)."""
        raise NotImplementedError

    # Shared input handling for predictions --------------------------------------

    @staticmethod
    def _history(
        frequency: Any, recency: Any, T: Any
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        return check_rft(frequency, recency, T, allow_scalar=True, allow_empty=True)
