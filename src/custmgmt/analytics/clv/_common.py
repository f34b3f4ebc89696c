"""Shared plumbing of the lifetime models: input checks, row compression, optimiser.

Nothing here is public; :mod:`custmgmt.analytics.clv` re-exports what callers need.
"""

from __future__ import annotations

import importlib
import math
import time
from collections.abc import Callable, Mapping
from types import MappingProxyType, ModuleType
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from custmgmt.errors import ConvergenceError, CustMgmtError, NotFittedError, ValidationError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: ``(objective, gradient, Hessian)`` in log space; order 0 asks for the value only.
Evaluate = Callable[[FloatArray, int], tuple[float, FloatArray | None, FloatArray | None]]

#: Rows per block in the likelihood loops: a block's temporaries stay in the CPU
#: cache, which makes a pass over a million rows 3-6 times faster than whole arrays.
CHUNK = 16_384

#: Elements (horizons x customers) per block of a forecast over many horizons: enough
#: to amortise numpy's per-call cost, small enough to stay out of memory trouble
#: (8 MiB per array) for a million customers and 1200 months.
GRID_ELEMENTS = 1 << 20


def horizon_blocks(n_horizons: int, n_rows: int) -> list[slice]:
    """Consecutive slices of ``range(n_horizons)``, each covering at most about
    :data:`GRID_ELEMENTS` forecasts over ``n_rows`` customers (at least one horizon)."""
    step = max(1, GRID_ELEMENTS // max(n_rows, 1))
    return [slice(lo, min(lo + step, n_horizons)) for lo in range(0, n_horizons, step)]

# Log-parameters are boxed in so exp() can neither overflow nor underflow to zero
# while the optimiser explores; an estimate on the box edge means the data do not
# pin that parameter down, which fit() reports next to the estimate.
LOG_PARAM_BOUND = 18.0
# Gamma and Beta shape parameters are boxed tighter: beyond 1e5 a shape means the
# coefficient of variation is below 0.3%, everybody alike, and the likelihood can only
# change by O(1/shape) on the way to infinity; there is nothing left to estimate.
SHAPE_BOUND = math.log(1e5)
# The longest step, in log-parameters, of one iteration.
_MAX_STEP = 2.0


def import_scipy(submodule: str) -> ModuleType:
    """Import ``scipy.<submodule>`` or explain how to install the extra."""
    try:
        return importlib.import_module(f"scipy.{submodule}")
    except ImportError as exc:
        raise CustMgmtError(
            "the customer-lifetime models need scipy, an optional extra: "
            "pip install 'custmgmt[scipy]'"
        ) from exc


def dot(a: npt.NDArray[Any], b: npt.NDArray[Any]) -> float:
    """``sum(a * b)`` without BLAS: a threaded ``ddot`` on a busy two-core machine can
    take milliseconds to wake its threads, far longer than the sum itself."""
    return float(np.einsum("i,i->", a, b))


def weighted_counts(codes: npt.NDArray[Any], weights: npt.NDArray[Any], n: int) -> FloatArray:
    """``np.bincount`` with weights, typed as the float64 array it returns."""
    return np.asarray(np.bincount(codes, weights=weights, minlength=n), dtype=np.float64)


def rows_dot(matrix: npt.NDArray[Any], b: npt.NDArray[Any]) -> FloatArray:
    """``matrix @ b`` for a short, wide matrix, without BLAS (see :func:`dot`)."""
    result: FloatArray = np.einsum("ij,j->i", matrix, b)
    return result


# Above this, lgamma(z + x) - lgamma(z) is taken from Stirling's series: the two
# lgamma values are near z log z and their difference would lose log10(z log z) digits.
_STIRLING_FROM = 20.0


def log_rising(z: Any, x: Any) -> FloatArray:
    """``lgamma(z + x) - lgamma(z)`` (the log of the rising factorial), for z > 0,
    x >= 0, without cancellation when z is large.

    Parameters that run off towards infinity (a flat likelihood) reach z ~ 1e7, where
    the difference of two ``gammaln`` values would keep only eight digits and make the
    optimiser see noise.
    """
    special = import_scipy("special")
    z_arr, x_arr = np.broadcast_arrays(
        np.asarray(z, dtype=np.float64), np.asarray(x, dtype=np.float64)
    )
    big = z_arr >= _STIRLING_FROM
    safe = np.where(big, z_arr, _STIRLING_FROM)
    end = safe + x_arr
    stirling = (
        (safe - 0.5) * np.log1p(x_arr / safe)
        + x_arr * np.log(end)
        - x_arr
        + (1.0 / end - 1.0 / safe) / 12.0
        - (end**-3 - safe**-3) / 360.0
        + (end**-5 - safe**-5) / 1260.0
        - (end**-7 - safe**-7) / 1680.0
    )
    direct = special.gammaln(z_arr + x_arr) - special.gammaln(z_arr)
    result: FloatArray = np.where(big, stirling, direct)
    return result


def digamma_difference(z: Any, x: Any) -> FloatArray:
    """``digamma(z + x) - digamma(z)``, without cancellation when z is large."""
    special = import_scipy("special")
    z_arr, x_arr = np.broadcast_arrays(
        np.asarray(z, dtype=np.float64), np.asarray(x, dtype=np.float64)
    )
    big = z_arr >= _STIRLING_FROM
    safe = np.where(big, z_arr, _STIRLING_FROM)
    end = safe + x_arr
    series = (
        np.log1p(x_arr / safe)
        - 0.5 * (1.0 / end - 1.0 / safe)
        - (end**-2 - safe**-2) / 12.0
        + (end**-4 - safe**-4) / 120.0
        - (end**-6 - safe**-6) / 252.0
        + (end**-8 - safe**-8) / 240.0
    )
    direct = special.digamma(z_arr + x_arr) - special.digamma(z_arr)
    result: FloatArray = np.where(big, series, direct)
    return result


# --------------------------------------------------------------------------- checks


def as_float_vector(field: str, value: Any, *, allow_scalar: bool = False) -> FloatArray:
    """Convert ``value`` to a finite float64 array of at most one dimension."""
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValidationError(field, value, "an array of numbers") from exc
    if array.ndim > 1 or (array.ndim == 0 and not allow_scalar):
        raise ValidationError(field, value, "a one-dimensional array of numbers")
    if not np.all(np.isfinite(array)):
        first = int(np.flatnonzero(~np.isfinite(np.atleast_1d(array)))[0])
        raise ValidationError(
            field, np.atleast_1d(array)[first], f"finite numbers (row {first} is not)"
        )
    return array


def first_bad(mask: npt.NDArray[np.bool_]) -> int:
    """The index of the first True in a flattened boolean mask."""
    return int(np.flatnonzero(np.atleast_1d(mask))[0])


def check_frequency(frequency: FloatArray, *, field: str = "frequency") -> None:
    """Refuse negative or fractional transaction counts."""
    bad = (frequency < 0) | (frequency != np.floor(frequency))
    if np.any(bad):
        row = first_bad(bad)
        raise ValidationError(
            field,
            float(np.atleast_1d(frequency)[row]),
            f"a non-negative whole number of repeat transactions (row {row})",
        )


def check_same_shape(reference: str, array: FloatArray, field: str, other: FloatArray) -> None:
    """Refuse arrays whose lengths differ from the reference column."""
    if other.shape != array.shape:
        raise ValidationError(
            field,
            f"<{other.size} values>",
            f"as many values as {reference} ({array.size})",
        )


def check_rft(
    frequency: Any, recency: Any, T: Any, *, allow_scalar: bool = False, allow_empty: bool = False
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Validate a (frequency, recency, T) triple the way the papers define it."""
    x = as_float_vector("frequency", frequency, allow_scalar=allow_scalar)
    tx = as_float_vector("recency", recency, allow_scalar=allow_scalar)
    age = as_float_vector("T", T, allow_scalar=allow_scalar)
    check_same_shape("frequency", x, "recency", tx)
    check_same_shape("frequency", x, "T", age)
    if x.size == 0 and not allow_empty:
        raise ValidationError("frequency", "<0 values>", "at least one customer")
    check_frequency(x)
    if np.any(tx < 0):
        row = first_bad(tx < 0)
        raise ValidationError(
            "recency", float(np.atleast_1d(tx)[row]), f"a non-negative time (row {row})"
        )
    if np.any(tx > age):
        row = first_bad(tx > age)
        raise ValidationError(
            "recency",
            float(np.atleast_1d(tx)[row]),
            f"at most T ({float(np.atleast_1d(age)[row])}) in row {row}: the last "
            "repeat purchase cannot come after the end of observation",
        )
    zero = (x == 0) & (tx != 0)
    if np.any(zero):
        row = first_bad(zero)
        raise ValidationError(
            "recency",
            float(np.atleast_1d(tx)[row]),
            f"0 where frequency is 0 (row {row}): no repeat purchase, no recency",
        )
    return x, tx, age


def check_weights(weights: Any, n: int) -> FloatArray:
    """Validate per-row weights (how many customers share the row)."""
    w = as_float_vector("weights", weights)
    if w.size != n:
        raise ValidationError("weights", f"<{w.size} values>", f"one weight per customer ({n})")
    if np.any(w < 0):
        row = first_bad(w < 0)
        raise ValidationError("weights", float(w[row]), f"a non-negative count (row {row})")
    if not np.any(w > 0):
        raise ValidationError("weights", "<all zero>", "at least one positive weight")
    return w


def check_horizon(t: Any, shape: tuple[int, ...]) -> FloatArray:
    """Validate a prediction horizon: a scalar or one value per customer, all >= 0."""
    horizon = as_float_vector("t", t, allow_scalar=True)
    if horizon.ndim and horizon.shape != shape:
        raise ValidationError("t", f"<{horizon.size} values>", f"a scalar or {shape} values")
    if np.any(horizon < 0):
        raise ValidationError("t", float(np.min(horizon)), "a non-negative time span")
    return horizon


# ------------------------------------------------------------------ row compression


def factorise(values: FloatArray) -> tuple[FloatArray, npt.NDArray[np.intp]]:
    """Sorted distinct values and each row's index into them (``np.unique``'s inverse).

    Whole numbers in a modest range (frequencies, ages in days) are counted with a
    bincount instead of sorted: linear time, several times faster on a million rows.
    """
    if values.size and values.min() >= 0 and values.max() < 2**24:
        as_int = values.astype(np.int64)
        if np.array_equal(as_int, values):
            present = np.bincount(as_int) > 0
            lookup = np.cumsum(present) - 1
            codes: npt.NDArray[np.intp] = lookup[as_int].astype(np.intp)
            return np.flatnonzero(present).astype(np.float64), codes
    distinct, inverse = np.unique(values, return_inverse=True)
    return distinct, inverse.reshape(-1).astype(np.intp)


def _integral_codes(column: FloatArray) -> tuple[npt.NDArray[np.uint64], int, FloatArray | None]:
    """Small non-negative integer codes for a column, its bit width, and the decoding table.

    Whole-number columns (the usual case: counts, days) are their own codes; others are
    factorised through their sorted distinct values.
    """
    if column.size and np.all(column >= 0) and np.all(column == np.floor(column)):
        top = float(column.max())
        if top < 2.0**40:
            return column.astype(np.uint64), max(int(top).bit_length(), 1), None
    values, inverse = np.unique(column, return_inverse=True)
    return inverse.astype(np.uint64), max(int(values.size - 1).bit_length(), 1), values


def compress_rows(
    columns: tuple[FloatArray, ...], weights: FloatArray | None
) -> tuple[tuple[FloatArray, ...], FloatArray]:
    """Collapse identical rows into one row with the summed weight.

    Fader and Hardie fit their spreadsheets on the distinct (x, t_x, T) patterns with
    counts; the likelihood is the same, and with daily data it is many times less work.
    """
    coded = [_integral_codes(column) for column in columns]
    if sum(bits for _, bits, _ in coded) > 63:
        stacked = np.stack(columns, axis=1)
        unique, inverse = np.unique(stacked, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        w = np.ones(columns[0].size) if weights is None else weights
        summed = weighted_counts(inverse, w, unique.shape[0])
        keep = summed > 0
        return tuple(unique[keep, j].copy() for j in range(len(columns))), summed[keep]
    key = np.zeros(columns[0].size, dtype=np.uint64)
    shifts: list[int] = []
    for codes, bits, _ in coded:
        key <<= np.uint64(bits)
        key |= codes
        shifts.append(bits)
    if weights is None:
        unique_keys, counts = np.unique(key, return_counts=True)
        summed = counts.astype(np.float64)
    else:
        order = np.argsort(key, kind="stable")
        sorted_keys = key[order]
        starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
        unique_keys = sorted_keys[starts]
        summed = np.asarray(np.add.reduceat(weights[order], starts), dtype=np.float64)
        keep = summed > 0
        unique_keys, summed = unique_keys[keep], summed[keep]
    decoded: list[FloatArray] = []
    rest = unique_keys
    for (_codes, bits, table), _ in zip(reversed(coded), reversed(shifts), strict=True):
        part = rest & np.uint64((1 << bits) - 1)
        rest = rest >> np.uint64(bits)
        decoded.append(part.astype(np.float64) if table is None else table[part.astype(np.intp)])
    return tuple(reversed(decoded)), summed


def pair_index(
    first: FloatArray, second: FloatArray
) -> tuple[FloatArray, FloatArray, npt.NDArray[np.intp]]:
    """Distinct (first, second) pairs and the pair of each row (a packed-key unique)."""
    (a, bits_a, table_a), (b, bits_b, table_b) = _integral_codes(first), _integral_codes(second)
    if bits_a + bits_b > 63:
        stacked = np.stack([first, second], axis=1)
        unique, inverse = np.unique(stacked, axis=0, return_inverse=True)
        return unique[:, 0].copy(), unique[:, 1].copy(), inverse.reshape(-1)
    key = (a << np.uint64(bits_b)) | b
    keys, inverse = np.unique(key, return_inverse=True)
    code_a = keys >> np.uint64(bits_b)
    code_b = keys & np.uint64((1 << bits_b) - 1)
    values_a = code_a.astype(np.float64) if table_a is None else table_a[code_a.astype(np.intp)]
    values_b = code_b.astype(np.float64) if table_b is None else table_b[code_b.astype(np.intp)]
    return values_a, values_b, inverse.reshape(-1).astype(np.intp)


# ----------------------------------------------------------------------- optimiser


def difference_hessian(evaluate: Evaluate, theta: FloatArray, g0: FloatArray) -> FloatArray:
    """The Hessian by forward differences of the exact gradient (one gradient per parameter)."""
    step = 1e-5
    columns = []
    for i in range(theta.size):
        shifted = theta.copy()
        shifted[i] += step
        with np.errstate(all="ignore"):
            g = evaluate(shifted, 1)[1]
        if g is None or not np.all(np.isfinite(g)):
            return np.eye(theta.size)
        columns.append((g - g0) / step)
    hessian = np.array(columns)
    result: FloatArray = 0.5 * (hessian + hessian.T)
    return result


class NotConverged(Exception):
    """The optimiser stopped without converging; carries the best point reached."""

    def __init__(self, reason: str, theta: FloatArray, f: float, n_iter: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.theta = theta
        self.f = f
        self.n_iter = n_iter

    def __reduce__(self) -> tuple[type[NotConverged], tuple[str, FloatArray, float, int]]:
        # A ConvergenceError raised from this one carries it as its cause; where
        # tracebacks are pickled with their causes (distributed installs tblib's
        # support), unpickling would call __init__ with the message alone.
        return (NotConverged, (self.reason, self.theta, self.f, self.n_iter))


@attrs.frozen
class Optimum:
    """Where :func:`newton_minimise` stopped: the point, the objective, the iterations,
    and whether it stalled (the line search found no better point, as at the box
    edge when the likelihood keeps rising beyond it)."""

    theta: FloatArray
    f: float
    n_iter: int
    stalled: bool = False
    hessian: FloatArray | None = None  # the last (exact or BFGS) Hessian in theta


def newton_minimise(
    model: str,
    evaluate: Evaluate,
    x0: FloatArray,
    *,
    max_iter: int,
    tol: float,
    exact_hessian: bool,
    basis: FloatArray | None = None,
    bound: float | FloatArray = LOG_PARAM_BOUND,
    deadline: float | None = None,
    on_iteration: Callable[[int, FloatArray, float], None] | None = None,
) -> Optimum:
    """Minimise a smooth function of a few parameters with (quasi-)Newton steps.

    The function is of ``theta``; the box ``|basis @ theta| <= bound`` (the
    log-parameters, ``bound`` a scalar or one value per parameter) keeps the search
    where the parameters are representable and meaningful.

    With ``exact_hessian`` each iteration uses the analytic Hessian (Newton's method:
    a handful of iterations); otherwise the Hessian is estimated once from differences
    of the exact gradient and then kept up to date with BFGS updates, which starts the
    quasi-Newton method from the true curvature instead of the identity and halves the
    number of likelihood evaluations. Negative curvature is flipped (the
    "saddle-free" step), steps are capped, and a backtracking line search keeps every
    step downhill. Two things keep a fit whose likelihood rises towards a degenerate
    limit (a parameter running off to infinity) from crawling there: a step that
    decreases the function more than its quadratic model predicted is extended
    (doubled while the function keeps falling), and log-parameters that reach the box
    edge while the gradient still pushes outwards are held there (a projected Newton
    step on the others). Iteration stops when the projected gradient is below ``tol``
    or the predicted decrease is lost in rounding.

    ``deadline`` (a ``time.monotonic()`` value) and ``max_iter`` bound the work;
    ``on_iteration(iteration, theta, objective)`` is called after every step.

    Raises:
        ConvergenceError: the objective is not finite at the starting point.
        NotConverged: the iteration or time limit was reached; it carries the best
            point reached. (A line search that cannot improve the fit returns the point
            with ``stalled`` set: the caller decides whether that is an edge optimum.)
    """
    size = int(np.size(x0))
    m = np.eye(size) if basis is None else np.asarray(basis, dtype=np.float64)
    limits = np.broadcast_to(np.asarray(bound, dtype=np.float64), (size,))

    def in_box(theta: FloatArray) -> bool:
        return bool(np.all(np.abs(m @ theta) <= limits * (1.0 + 1e-12)))

    def value_at(theta: FloatArray) -> float:
        if not in_box(theta):
            return math.inf
        try:
            with np.errstate(all="ignore"):
                value = evaluate(theta, 0)[0]
        except ConvergenceError:
            return math.inf
        return value if math.isfinite(value) else math.inf

    def at(theta: FloatArray) -> tuple[float, FloatArray, FloatArray | None] | None:
        with np.errstate(all="ignore"):
            f, g, h = evaluate(theta, 2 if exact_hessian else 1)
        if g is None or not (math.isfinite(f) and np.all(np.isfinite(g))):
            return None
        return f, g, h

    def free_space(theta: FloatArray, g: FloatArray) -> FloatArray:
        """Columns spanning the directions not blocked by the box edge."""
        log_params = m @ theta
        pushing = (np.abs(log_params) >= limits * (1.0 - 1e-9)) & (
            np.sign(log_params) * -np.linalg.solve(m.T, g) > 0
        )
        if not np.any(pushing):
            return np.eye(size)
        _, singular, vt = np.linalg.svd(m[pushing])
        rank = int(np.sum(singular > 1e-12))
        result: FloatArray = vt[rank:].T
        return result

    def room(theta: FloatArray, step: FloatArray) -> float:
        """The largest t <= 1 with theta + t step inside the box."""
        log_params = m @ theta
        change = m @ step
        limit = 1.0
        for value, delta, edge in zip(log_params, change, limits, strict=True):
            if delta > 1e-300:
                limit = min(limit, max(edge - value, 0.0) / delta)
            elif delta < -1e-300:
                limit = min(limit, max(edge + value, 0.0) / -delta)
        return limit

    theta = np.asarray(x0, dtype=np.float64).copy()
    first = at(theta)
    if first is None:
        raise ConvergenceError(model, "the likelihood is not finite at the starting point")
    f, g, h = first
    if not exact_hessian:
        h = difference_hessian(evaluate, theta, g)
    iteration = 0
    while True:
        z = free_space(theta, g)
        g_free = z @ (z.T @ g)
        if z.shape[1] == 0 or float(np.max(np.abs(g_free))) <= tol:
            break
        if iteration == max_iter:
            raise NotConverged(f"no convergence in {max_iter} iterations", theta, f, iteration)
        if deadline is not None and time.monotonic() > deadline:
            raise NotConverged(
                f"the time limit was reached after {iteration} iterations", theta, f, iteration
            )
        iteration += 1
        if h is None or not np.all(np.isfinite(h)):
            h = np.eye(size)
        reduced = z.T @ h @ z
        eigenvalues, vectors = np.linalg.eigh(0.5 * (reduced + reduced.T))
        top = max(float(np.max(np.abs(eigenvalues))), 1e-12)
        eigenvalues = np.maximum(np.abs(eigenvalues), 1e-9 * top)
        step = -z @ (vectors @ ((vectors.T @ (z.T @ g)) / eigenvalues))
        longest = float(np.max(np.abs(step)))
        if longest > _MAX_STEP:
            step *= _MAX_STEP / longest
        step *= room(theta, step)
        slope = float(g @ step)
        if slope >= 0.0:
            return Optimum(theta=theta, f=f, n_iter=iteration, stalled=True, hessian=h)
        predicted = slope + 0.5 * float(step @ h @ step)
        noise = -slope < 1e-13 * max(1.0, abs(f))
        t = 1.0
        while True:
            candidate = theta + t * step
            if np.array_equal(candidate, theta):
                t = 0.0
                break
            value = value_at(candidate)
            # When the function values can no longer tell this step from staying put,
            # any finite point is accepted: the quadratic model is trusted for it.
            if (value <= f + 1e-4 * t * slope and value < f) or (
                noise and math.isfinite(value)
            ):
                break
            t *= 0.5
            if t < 1e-12:
                t = 0.0
                break
        if t == 0.0:
            # No point along the step is better in floating point. If the predicted
            # gain is below what rounding can resolve anyway, this is the optimum.
            lost = -slope < 1e-9 * max(1.0, abs(f))
            return Optimum(theta=theta, f=f, n_iter=iteration, stalled=not lost, hessian=h)
        if t == 1.0 and not noise and predicted < 0 and value - f < 1.1 * predicted:
            # The function fell further than its quadratic model said: it is flatter
            # ahead than the model thinks. Double the step while it keeps falling.
            scale = 1.0
            while scale < 2.0**20:
                further = step * (2.0 * scale)
                limit = room(theta, further)
                if limit < 0.5 + 1e-12:
                    further *= limit
                trial = theta + further
                trial_value = value_at(trial)
                if not trial_value < value:
                    break
                candidate, value = trial, trial_value
                if limit < 1.0:
                    break
                scale *= 2.0
        new = at(candidate)
        if new is None:
            raise NotConverged("the likelihood's gradient is not finite", theta, f, iteration)
        f_new, g_new, h_new = new
        if not exact_hessian:
            # BFGS update of the Hessian estimate (skipped when curvature is not positive).
            s_k = candidate - theta
            y_k = g_new - g
            sy = float(s_k @ y_k)
            if sy > 1e-12 * float(np.linalg.norm(s_k) * np.linalg.norm(y_k)) and h is not None:
                hs = h @ s_k
                h_new = h + np.outer(y_k, y_k) / sy - np.outer(hs, hs) / float(s_k @ hs)
            else:
                h_new = h
        theta, f, g, h = candidate, f_new, g_new, h_new
        if on_iteration is not None:
            on_iteration(iteration, theta, f)
        if noise:
            break
    return Optimum(theta=theta, f=f, n_iter=iteration, hessian=h)


def params_mapping(names: tuple[str, ...], values: FloatArray) -> Mapping[str, float]:
    """A read-only ``{name: value}`` mapping in the literature's order."""
    return MappingProxyType({name: float(v) for name, v in zip(names, values, strict=True)})


def require_fitted(model: object, attribute: str = "params_") -> Mapping[str, float]:
    """Return the fitted parameters or raise :class:`NotFittedError`."""
    params = getattr(model, attribute, None)
    if params is None:
        raise NotFittedError(
            f"this {type(model).__name__} is not fitted yet: call fit() before predicting"
        )
    result: Mapping[str, float] = params
    return result
