"""Normalisations: turn one raw feature column into comparable numbers.

Each normalisation is *fitted* on a population (a rating run) and the fitted
:class:`Scale` can then be applied to any value, one at a time or a whole column.
Freezing the fit is what lets :class:`custmgmt.rating.IncrementalRater` update one
customer between scheduled runs without looking at the rest of the population: the
updated customer is measured against the population as it was at the run.

All normalisations are non-decreasing in the raw value (``direction="higher"``), so a
customer who is at least as good on a criterion never gets a smaller normalised
value; ``direction="lower"`` (complaints, recency in days) mirrors them.

* ``percentile_rank``: the average rank of the value among the population divided by
  its size, exactly pandas' ``rank(method="average", pct=True)``: for a value ``x``
  among ``n`` values, ``(count(< x) + count(<= x) + 1) / (2 n)``, in ``(0, 1]`` (a
  value above the whole fitted population, met after the fit, ranks 1).
* ``min_max``: ``(x - min) / (max - min)`` clipped to ``[0, 1]`` (0 when all equal).
* ``z_score``: ``(x - mean) / std`` (population std; 0 when the std is 0).
* ``log``: ``log1p(max(x, 0)) / log1p(max)`` clipped to ``[0, 1]`` (0 when max <= 0),
  for long-tailed amounts.
* ``capped``: ``min(max(x, 0), cap) / cap``, with a positive ``cap`` in feature units.

Mirrored (``direction="lower"``) values are ``1 - v`` for the bounded kinds and
``-v`` for ``z_score``.

Missing values (NaN: a review mean without reviews, recency without orders) are left
out of the fit and normalise to 0 whatever the direction: the bottom of the bounded
kinds, the population mean for ``z_score``.
"""

from __future__ import annotations

import enum
import math
from typing import Any

import attrs
import numpy as np
from numpy.typing import NDArray

from custmgmt.domain._validate import is_finite_number
from custmgmt.errors import ValidationError

__all__ = [
    "Direction",
    "Normalisation",
    "Scale",
    "fit_scale",
    "percentile_rank",
]

FloatArray = NDArray[np.float64]


class Normalisation(enum.Enum):
    """The normalisations a weighted-sum criterion may use (see the module docs)."""

    PERCENTILE_RANK = "percentile_rank"
    MIN_MAX = "min_max"
    Z_SCORE = "z_score"
    LOG = "log"
    CAPPED = "capped"


class Direction(enum.Enum):
    """Whether more of a feature is better (spend) or worse (complaints)."""

    HIGHER = "higher"
    LOWER = "lower"


def _as_column(name: str, values: Any) -> FloatArray:
    try:
        column = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an int past float
        raise ValidationError(name, values, "a numeric column") from None
    if column.ndim != 1:
        raise ValidationError(name, values, "a one-dimensional column")
    if np.isinf(column).any():
        bad = column[np.isinf(column)][0]
        raise ValidationError(name, float(bad), "finite numbers or NaN for missing")
    return column


def percentile_rank(values: Any) -> FloatArray:
    """Average rank over count of each value in ``values``, in ``(0, 1]``.

    Equal to pandas' ``Series.rank(method="average", pct=True)``.

    >>> percentile_rank([10, 20, 20, 40]).tolist()
    [0.25, 0.625, 0.625, 1.0]
    """
    column = _as_column("values", values)
    missing = np.isnan(column)
    if missing.any():
        out = np.zeros_like(column)
        out[~missing] = _rank_and_sort(column[~missing])[0]
        return out
    return _rank_and_sort(column)[0]


def _rank_and_sort(column: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Percentile ranks of ``column`` and the column sorted (the fitted reference)."""
    n = column.size
    if n == 0:
        return np.empty(0), np.empty(0)
    lo_f = float(column.min())
    hi_f = float(column.max())
    row_bits = int(n - 1).bit_length()
    packable = hi_f - lo_f < min(2.0**53, 2.0 ** (64 - row_bits))
    integral = lo_f == math.floor(lo_f) and packable
    if integral and not np.array_equal(column, np.floor(column)):
        integral = False
    if integral and hi_f - lo_f >= 4 * n + 1024:
        # Wide-range integers (money in minor units): one values-only sort of the
        # packed key (value - lo) << row_bits | row, several times faster than a
        # stable argsort of the floats and the same order (ties by row). Exact:
        # value - lo is an integer below 2**53, so the float subtraction is exact.
        shift = np.uint64(row_bits)
        key = (column - lo_f).astype(np.uint64)
        key <<= shift
        key |= np.arange(n, dtype=np.uint64)
        key.sort()
        order = (key & np.uint64((1 << row_bits) - 1)).view(np.int64)
        key >>= shift
        sorted_values = key.astype(np.float64)
        del key
        sorted_values += lo_f
        return _ranks_of_sorted(order, sorted_values), sorted_values
    if integral:
        # Small-range integers (order counts, category breadth): count instead of
        # sorting, O(n) and several times faster than an argsort.
        codes = (column - lo_f).astype(np.intp)
        hist = np.bincount(codes)
        upto = np.cumsum(hist)
        le = upto[codes]
        lt = le - hist[codes]
        ranks = (lt + le + 1) / (2.0 * n)
        sorted_values = np.repeat(np.arange(hist.size, dtype=np.float64) + lo_f, hist)
        return ranks, sorted_values
    order = np.argsort(column, kind="stable")
    sorted_values = column[order]
    return _ranks_of_sorted(order, sorted_values), sorted_values


def _ranks_of_sorted(order: NDArray[np.int64], sorted_values: FloatArray) -> FloatArray:
    """Percentile ranks, given the column's stable sorting permutation and values."""
    n = sorted_values.size
    # Each position's tie group: first index (lt) and one past the last (le).
    starts = np.empty(n, dtype=bool)
    starts[0] = True
    np.not_equal(sorted_values[1:], sorted_values[:-1], out=starts[1:])
    group_starts = np.flatnonzero(starts)
    group_ends = np.append(group_starts[1:], n)
    sizes = group_ends - group_starts
    group_rank = (group_starts + group_ends + 1) / (2.0 * n)
    ranks = np.empty(n, dtype=np.float64)
    ranks[order] = np.repeat(group_rank, sizes)
    return ranks


@attrs.frozen(kw_only=True, eq=False)
class Scale:
    """A normalisation fitted on a population; apply it with :meth:`transform`.

    Attributes:
        kind: the normalisation.
        direction: whether larger raw values are better.
        reference: the population's values, sorted (``percentile_rank`` only).
        low: minimum (``min_max``), mean (``z_score``); unused otherwise.
        high: maximum (``min_max``, ``log``), std (``z_score``), cap (``capped``).
    """

    kind: Normalisation
    direction: Direction = Direction.HIGHER
    reference: FloatArray = attrs.field(factory=lambda: np.empty(0))
    low: float = 0.0
    high: float = 0.0

    def transform(self, values: Any) -> FloatArray:
        """Normalise a column of raw values against the fitted population."""
        column = _as_column("values", values)
        missing = np.isnan(column)
        if missing.any():
            out = np.zeros_like(column)
            out[~missing] = self._transform(column[~missing])
            return out
        return self._transform(column)

    def _transform(self, column: FloatArray) -> FloatArray:
        kind = self.kind
        if kind is Normalisation.PERCENTILE_RANK:
            n = self.reference.size
            if n == 0:
                out = np.ones_like(column)
            else:
                lt = np.searchsorted(self.reference, column, side="left")
                le = np.searchsorted(self.reference, column, side="right")
                # A value above the whole fitted population would get (2n + 1) / 2n:
                # it ranks as the top, 1 (and never below 0 when mirrored).
                out = np.minimum((lt + le + 1) / (2.0 * n), 1.0)
        elif kind is Normalisation.MIN_MAX:
            span = self.high - self.low
            if span <= 0:
                out = np.zeros_like(column)
            elif span == np.inf:  # a range past float's maximum: halve, exactly
                out = (column * 0.5 - self.low * 0.5) / (self.high * 0.5 - self.low * 0.5)
            else:
                # A tiny span (1e-193) makes a far later value's ratio overflow to inf:
                # past the top, so 1 after the clip.
                with np.errstate(over="ignore"):
                    out = (column - self.low) / span
            out = np.clip(out, 0.0, 1.0)
        elif kind is Normalisation.Z_SCORE:
            out = np.zeros_like(column) if self.high <= 0 else (column - self.low) / self.high
        elif kind is Normalisation.LOG:
            top = float(np.log1p(self.high)) if self.high > 0 else 0.0
            if top <= 0:
                out = np.zeros_like(column)
            else:
                # A tiny population maximum (top ~ 1e-308) makes the ratio of a large
                # later value overflow to inf: past the top, so 1 after the clip.
                with np.errstate(over="ignore"):
                    ratio = np.log1p(np.maximum(column, 0.0)) / top
                out = np.clip(ratio, 0.0, 1.0)
        else:
            out = np.minimum(np.maximum(column, 0.0), self.high) / self.high
        return self._mirror(out)

    def transform_one(self, value: float) -> float:
        """Normalise one raw value (the incremental path: no array allocation)."""
        kind = self.kind
        x = float(value)
        if x != x:  # NaN: missing
            return 0.0
        if kind is Normalisation.PERCENTILE_RANK:
            ref = self.reference
            n = ref.size
            if n == 0:
                out = 1.0
            else:
                lt = int(np.searchsorted(ref, x, side="left"))
                le = int(np.searchsorted(ref, x, side="right"))
                out = min((lt + le + 1) / (2.0 * n), 1.0)  # as in _transform
        elif kind is Normalisation.MIN_MAX:
            span = self.high - self.low
            if span <= 0:
                out = 0.0
            elif span == math.inf:  # as in _transform
                ratio = (x * 0.5 - self.low * 0.5) / (self.high * 0.5 - self.low * 0.5)
                out = min(max(ratio, 0.0), 1.0)
            else:
                out = min(max((x - self.low) / span, 0.0), 1.0)
        elif kind is Normalisation.Z_SCORE:
            out = 0.0 if self.high <= 0 else (x - self.low) / self.high
        elif kind is Normalisation.LOG:
            top = float(np.log1p(self.high)) if self.high > 0 else 0.0
            # numpy's log1p on both paths: math.log1p may differ in the last bit.
            logged = float(np.log1p(np.float64(max(x, 0.0))))
            out = 0.0 if top <= 0 else min(max(logged / top, 0.0), 1.0)
        else:
            out = min(max(x, 0.0), self.high) / self.high
        if self.direction is Direction.LOWER:
            return -out if kind is Normalisation.Z_SCORE else 1.0 - out
        return out

    def _mirror(self, out: FloatArray) -> FloatArray:
        if self.direction is Direction.HIGHER:
            return out
        if self.kind is Normalisation.Z_SCORE:
            return -out
        return 1.0 - out

    def to_dict(self) -> dict[str, Any]:
        """The fitted parameters as plain data (the reference as a list)."""
        return {
            "kind": self.kind.value,
            "direction": self.direction.value,
            "reference": self.reference.tolist(),
            "low": self.low,
            "high": self.high,
        }


def fit_scale(
    kind: Normalisation | str,
    values: Any,
    *,
    direction: Direction | str = Direction.HIGHER,
    cap: float | None = None,
    name: str = "values",
) -> tuple[Scale, FloatArray]:
    """Fit a normalisation on a population and normalise it in one pass.

    Args:
        kind: the normalisation (an enum member or its value).
        values: the population's raw values (finite numbers).
        direction: ``"higher"`` if more is better, ``"lower"`` if less is better.
        cap: the cap of ``capped`` (a positive number in feature units).
        name: how error messages name the column.

    Returns:
        The fitted scale and the normalised population (``scale.transform(values)``,
        computed faster).

    Raises:
        ValidationError: unknown kind or direction, non-finite values, ``capped``
            without a positive cap.
    """
    kind_ = _enum(Normalisation, kind, "normalisation")
    direction_ = _enum(Direction, direction, "direction")
    column = _as_column(name, values)
    missing = np.isnan(column)
    if missing.any():
        scale, part = _fit(kind_, column[~missing], direction_, cap)
        out = np.zeros_like(column)
        out[~missing] = part
        return scale, out
    return _fit(kind_, column, direction_, cap)


def _fit(
    kind: Normalisation, column: FloatArray, direction: Direction, cap: float | None
) -> tuple[Scale, FloatArray]:
    if kind is Normalisation.PERCENTILE_RANK:
        ranks, reference = _rank_and_sort(column)
        scale = Scale(kind=kind, direction=direction, reference=reference)
        return scale, scale._mirror(ranks)
    if kind is Normalisation.MIN_MAX:
        low = float(column.min()) if column.size else 0.0
        high = float(column.max()) if column.size else 0.0
        scale = Scale(kind=kind, direction=direction, low=low, high=high)
    elif kind is Normalisation.Z_SCORE:
        if column.size and column.min() == column.max():
            # All equal: the std is 0 (numpy's mean of [0.7] * 3 is off by an ulp,
            # which made a std of 1e-16 and z-scores of +-1, and any other value
            # later a z-score of 1e15).
            mean, std = float(column[0]), 0.0
        elif column.size and float(np.abs(column).max()) > 1e150:
            # The squares would overflow: standardise a scaled copy.
            big = float(np.abs(column).max())
            scaled = column / big
            mean, std = float(scaled.mean()) * big, float(scaled.std()) * big
        else:
            mean = float(column.mean()) if column.size else 0.0
            std = float(column.std()) if column.size else 0.0
        scale = Scale(kind=kind, direction=direction, low=mean, high=std)
    elif kind is Normalisation.LOG:
        high = float(column.max()) if column.size else 0.0
        scale = Scale(kind=kind, direction=direction, high=high)
    else:
        if not (is_finite_number(cap) and cap > 0):
            raise ValidationError("cap", cap, "a positive finite cap for 'capped'")
        scale = Scale(kind=kind, direction=direction, high=float(cap))
    return scale, scale._transform(column)


def _enum(enum_type: Any, value: Any, field: str) -> Any:
    if isinstance(value, enum_type):
        return value
    try:
        return enum_type(value)
    except ValueError:
        allowed = ", ".join(repr(m.value) for m in enum_type)
        raise ValidationError(field, value, f"one of {allowed}") from None
