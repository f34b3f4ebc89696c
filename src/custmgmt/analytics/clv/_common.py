"""Shared plumbing of the lifetime models: input checks, row compression, optimiser.

Nothing here is public; :mod:`custmgmt.analytics.clv` re-exports what callers need.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Mapping
from types import MappingProxyType, ModuleType
from typing import Any

import numpy as np
import numpy.typing as npt

from custmgmt.errors import CustMgmtError, NotFittedError, ValidationError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: ``(objective, gradient)`` of a parameter vector in log space.
Objective = Callable[[FloatArray], tuple[float, FloatArray]]

# Log-parameters are boxed in so exp() can neither overflow nor underflow to zero
# while the optimiser explores; an estimate on the box edge means the data do not
# pin that parameter down, which fit() reports instead of returning it.
LOG_PARAM_BOUND = 18.0


class ConvergenceError(CustMgmtError, RuntimeError):
    """Fitting a lifetime model failed: the optimiser did not converge, or the data
    cannot identify the model's parameters (for example nobody ever came back).

    Attributes:
        model: the name of the model that was being fitted.
        reason: what went wrong, in words.
    """

    def __init__(self, model: str, reason: str) -> None:
        self.model = model
        self.reason = reason
        super().__init__(f"{model} did not fit: {reason}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.model, self.reason))


def import_scipy(submodule: str) -> ModuleType:
    """Import ``scipy.<submodule>`` or explain how to install the extra."""
    try:
        return importlib.import_module(f"scipy.{submodule}")
    except ImportError as exc:
        raise CustMgmtError(
            "the customer-lifetime models need scipy, an optional extra: "
            "pip install 'custmgmt[scipy]'"
        ) from exc


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
        summed = np.bincount(inverse, weights=w, minlength=unique.shape[0])
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
        summed = np.add.reduceat(weights[order], starts)
        keep = summed > 0
        unique_keys, summed = unique_keys[keep], summed[keep]
    decoded: list[FloatArray] = []
    rest = unique_keys
    for (_codes, bits, table), _ in zip(reversed(coded), reversed(shifts), strict=True):
        part = rest & np.uint64((1 << bits) - 1)
        rest = rest >> np.uint64(bits)
        decoded.append(part.astype(np.float64) if table is None else table[part.astype(np.intp)])
    return tuple(reversed(decoded)), summed


# ----------------------------------------------------------------------- optimiser


def minimise(
    model: str,
    objective: Objective,
    x0: FloatArray,
    *,
    max_iter: int,
    tol: float,
) -> tuple[FloatArray, float, int]:
    """Minimise a smooth objective with an analytic gradient (L-BFGS-B in log space).

    Returns the solution, the objective there and the number of iterations; raises
    :class:`ConvergenceError` when the optimiser stops without converging or a
    parameter runs off to the edge of what the data can identify.
    """
    optimize = import_scipy("optimize")
    failures: list[str] = []

    def guarded(theta: FloatArray) -> tuple[float, FloatArray]:
        try:
            value, grad = objective(theta)
        except ConvergenceError as exc:
            failures.append(exc.reason)
            return math.inf, np.zeros_like(theta)
        if not (math.isfinite(value) and np.all(np.isfinite(grad))):
            return math.inf, np.zeros_like(theta)
        return value, grad

    result = optimize.minimize(
        guarded,
        x0,
        jac=True,
        method="L-BFGS-B",
        bounds=[(-LOG_PARAM_BOUND, LOG_PARAM_BOUND)] * x0.size,
        options={"maxiter": max_iter, "ftol": tol, "gtol": tol, "maxcor": 20},
    )
    theta = np.asarray(result.x, dtype=np.float64)
    value, grad = guarded(theta)
    if not math.isfinite(value):
        detail = f" ({failures[-1]})" if failures else ""
        raise ConvergenceError(model, f"the likelihood is not finite at the solution{detail}")
    # L-BFGS-B sometimes stops on a line-search hiccup right at the optimum; accept
    # that when the projected gradient is negligible, refuse anything else.
    if not result.success and float(np.max(np.abs(grad))) > 1e-4:
        raise ConvergenceError(model, f"the optimiser stopped: {result.message}")
    edge = np.abs(theta) >= LOG_PARAM_BOUND - 1e-6
    if np.any(edge):
        raise ConvergenceError(
            model,
            "a parameter ran off to 0 or infinity; the data cannot identify the model "
            "(too few customers, or too few repeat purchases)",
        )
    return theta, value, int(result.nit)


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
