"""Honest comparisons of two groups: rates with their denominators, uplift with intervals.

Every figure the engagement reports carries what it was computed from:

* :class:`Rate` is a count over a denominator (``12.5% (25 of 200)``), never a bare
  percentage.
* :class:`Uplift` is the difference between a treated group and a control group
  (a holdout, or matched customers who were not followed up) with a confidence
  interval, a p-value, the method that gave them and both group sizes.

Two interval methods:

* **closed form, for rates**: Newcombe's hybrid score interval for a difference of
  two proportions (Newcombe 1998, method 10: Wilson intervals for each proportion,
  combined), with the pooled two-proportion z-test's p-value. It keeps its coverage
  near the nominal level for small counts and rates near 0, where the textbook Wald
  interval does not.
* **seeded bootstrap, for anything**: customers are resampled with replacement
  *within their cell* (group, or stratum and group), ``replicates`` times, from
  ``numpy.random.default_rng(seed)``; the interval is the percentile interval of the
  replicated statistic (``numpy.quantile``'s default linear interpolation). The
  p-value beside it is the normal-approximation (Welch) test of the same difference;
  the bootstrap is not asked for a p-value it cannot give at this many replicates.

The bootstrap draws, per replicate, one uniform number per customer
(``rng.random(n)``; replicates are drawn in blocks, which yields the same numbers as
one call per replicate) and maps customer ``i`` of a cell of size ``m`` starting at
sorted position ``s`` to position ``s + floor(u_i * m)``: a draw with replacement
from the customer's own cell. Same seed, same data: same interval, on any machine.

>>> treated, control = Rate(60, 400), Rate(40, 400)
>>> str(treated)
'15.0% (60 of 400)'
>>> u = rate_uplift(treated, control)
>>> round(u.estimate, 3), round(u.low, 3), round(u.high, 3), round(u.p_value, 3)
(0.05, 0.004, 0.096, 0.033)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from statistics import NormalDist
from typing import Any

import attrs
import numpy as np
from numpy.typing import NDArray

from custmgmt.analytics.intervals import wilson_interval as _wilson
from custmgmt.domain.money import CURRENCY_DIGITS
from custmgmt.errors import ValidationError

__all__ = [
    "DEFAULT_REPLICATES",
    "MAX_REPLICATES",
    "Rate",
    "Uplift",
    "bootstrap_interval",
    "cell_layout",
    "check_digits",
    "mean_uplift",
    "rate_uplift",
    "resample_rows",
    "wilson_interval",
]

#: Bootstrap replicates unless a caller asks for another number.
DEFAULT_REPLICATES = 2000

#: The most replicates a bootstrap runs: more adds nothing a report can show, and
#: every replicate's value is kept (8 bytes each).
MAX_REPLICATES = 1_000_000

_FloatArray = NDArray[np.float64]
_IntArray = NDArray[np.int64]


def _check_count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise ValidationError(name, value, "a non-negative integer")
    return int(value)


def _whole(value: Any) -> Any:
    # A count stays a count: numpy integers become ints; 2.7, "3", True and NaN are
    # refused by the check after conversion rather than truncated or read as text.
    return int(value) if isinstance(value, np.integer) else value


def _check_confidence(confidence: Any) -> float:
    if (
        isinstance(confidence, bool)
        or not isinstance(confidence, int | float)
        or not 0.5 <= confidence < 1
    ):
        raise ValidationError("confidence", confidence, "a number in [0.5, 1)")
    return float(confidence)


#: The most minor-unit digits a currency has (4: CLF, UYW).
_MAX_DIGITS = max(CURRENCY_DIGITS.values())


def check_digits(value: Any, field: str = "digits") -> int:
    """``value`` as a currency's minor-unit digits (0 for JPY, 2 for CNY, 3 for KWD).

    Raises:
        ValidationError: not an integer from 0 to 4.
    """
    if (
        isinstance(value, bool)
        or not isinstance(value, int | np.integer)
        or not 0 <= value <= _MAX_DIGITS
    ):
        raise ValidationError(field, value, f"a currency's minor-unit digits, 0 to {_MAX_DIGITS}")
    return int(value)


def _z(confidence: float) -> float:
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def _two_sided_p(z: float) -> float:
    if math.isnan(z):
        return math.nan
    return math.erfc(abs(z) / math.sqrt(2))


@attrs.frozen
class Rate:
    """A count over its denominator: ``Rate(25, 200)`` prints as ``12.5% (25 of 200)``.

    Attributes:
        numerator: how many had the property (converted, bought again ...).
        denominator: how many could have (the group's size).

    Raises:
        ValidationError: a negative or non-integer count, or a numerator above the
            denominator.
    """

    numerator: int = attrs.field(converter=_whole)
    denominator: int = attrs.field(converter=_whole)

    def __attrs_post_init__(self) -> None:
        _check_count("Rate.denominator", self.denominator)
        _check_count("Rate.numerator", self.numerator)
        if self.numerator > self.denominator:
            raise ValidationError(
                "Rate.numerator", self.numerator, f"at most the denominator {self.denominator}"
            )

    @property
    def value(self) -> float:
        """The rate as a fraction (NaN for an empty denominator)."""
        return self.numerator / self.denominator if self.denominator else math.nan

    def __str__(self) -> str:
        shown = "n/a" if not self.denominator else f"{self.value:.1%}"
        return f"{shown} ({self.numerator:,} of {self.denominator:,})"


@attrs.frozen(kw_only=True)
class Uplift:
    """Treated minus control, with its interval and p-value.

    Attributes:
        metric: what is compared (``"conversion"``, ``"revenue per customer"`` ...).
        treated: the treated group's value.
        control: the control group's value.
        estimate: ``treated - control``.
        low, high: the confidence interval of the estimate.
        confidence: its level (0.95).
        p_value: two-sided p-value for "no difference".
        method: how the interval was made (``"newcombe"``, ``"bootstrap"``, ``"normal"``).
        n_treated, n_control: the group sizes (the denominators).
        treated_rate, control_rate: for rates, the counts behind them.
        digits: the decimals other values are shown with: for money, the currency's
            minor-unit digits (3 for KWD, 0 for JPY); 2 by default.
    """

    metric: str
    treated: float
    control: float
    estimate: float
    low: float
    high: float
    confidence: float
    p_value: float
    method: str
    n_treated: int
    n_control: int
    treated_rate: Rate | None = None
    control_rate: Rate | None = None
    digits: int = attrs.field(default=2, converter=_whole)

    @digits.validator
    def _check_digits(self, attribute: attrs.Attribute[Any], value: Any) -> None:
        check_digits(value, "Uplift.digits")

    def covers(self, value: float) -> bool:
        """Whether ``value`` lies in the interval (ends included)."""
        return self.low <= value <= self.high

    def __str__(self) -> str:
        if self.treated_rate is not None and self.control_rate is not None:
            sides = f"treated {self.treated_rate} vs control {self.control_rate}"
            diff = f"{self.estimate:+.2%} [{self.low:+.2%}, {self.high:+.2%}]"
        else:
            d = self.digits
            sides = (
                f"treated {self.treated:,.{d}f} (n={self.n_treated:,}) vs control "
                f"{self.control:,.{d}f} (n={self.n_control:,})"
            )
            diff = f"{self.estimate:+,.{d}f} [{self.low:+,.{d}f}, {self.high:+,.{d}f}]"
        return (
            f"{self.metric}: {sides}; uplift {diff} "
            f"({self.confidence:.0%} {self.method}), p={self.p_value:.3g}"
        )


def wilson_interval(rate: Rate, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval of a proportion (``(nan, nan)`` for an empty group).

    >>> [round(x, 4) for x in wilson_interval(Rate(0, 20))]
    [0.0, 0.1611]
    """
    z = _z(_check_confidence(confidence))
    n = rate.denominator
    if n == 0:
        return (math.nan, math.nan)
    low, high = _wilson(rate.numerator, n, z)
    return (float(low), float(high))


def rate_uplift(
    treated: Rate, control: Rate, *, confidence: float = 0.95, metric: str = "conversion"
) -> Uplift:
    """The difference of two rates with Newcombe's interval and the pooled z-test.

    Raises:
        ValidationError: an argument is not a :class:`Rate`, or a bad ``confidence``.
    """
    for name, value in (("treated", treated), ("control", control)):
        if not isinstance(value, Rate):
            raise ValidationError(name, value, "a Rate")
    confidence = _check_confidence(confidence)
    p1, p2 = treated.value, control.value
    d = p1 - p2
    l1, u1 = wilson_interval(treated, confidence)
    l2, u2 = wilson_interval(control, confidence)
    low = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    n1, n2 = treated.denominator, control.denominator
    p_value = math.nan
    if n1 and n2:
        pooled = (treated.numerator + control.numerator) / (n1 + n2)
        se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
        p_value = 1.0 if se == 0 else _two_sided_p(d / se)
    return Uplift(
        metric=metric, treated=p1, control=p2, estimate=d, low=low, high=high,
        confidence=confidence, p_value=p_value, method="newcombe", n_treated=n1,
        n_control=n2, treated_rate=treated, control_rate=control,
    )


def cell_layout(cells: NDArray[Any], n_cells: int) -> tuple[_IntArray, _IntArray, _IntArray]:
    """Group rows by cell for :func:`resample_rows`.

    Args:
        cells: one cell code in ``[0, n_cells)`` per row.
        n_cells: how many cells there are.

    Returns:
        ``(order, start, size)``: the rows sorted by cell (stable), and each cell's
        first position in that order and its size.
    """
    codes = np.asarray(cells, dtype=np.int64)
    if codes.size and (codes.min() < 0 or codes.max() >= n_cells):
        raise ValidationError("cells", "out of range", f"codes in [0, {n_cells})")
    order = np.argsort(codes, kind="stable").astype(np.int64)
    size = np.bincount(codes, minlength=n_cells).astype(np.int64)
    start = np.concatenate(([0], np.cumsum(size)[:-1])).astype(np.int64)
    return order, start, size


def resample_rows(
    uniforms: _FloatArray, cells_sorted: _IntArray, start: _IntArray, size: _IntArray
) -> _IntArray:
    """Positions (into the cell-sorted order) of one bootstrap replicate per row of uniforms.

    Row ``i`` (in sorted order, in cell ``c``) draws position
    ``start[c] + floor(u[i] * size[c])``. ``uniforms`` may be 2-d (replicates x rows).
    """
    s = start[cells_sorted]
    m = size[cells_sorted]
    picked = np.floor(uniforms * m).astype(np.int64)
    np.minimum(picked, m - 1, out=picked)  # u < 1, but guard float rounding
    return s + picked


def bootstrap_interval(
    statistic: Callable[[_IntArray], _FloatArray],
    cells: NDArray[Any],
    n_cells: int,
    *,
    replicates: int = DEFAULT_REPLICATES,
    seed: int = 0,
    confidence: float = 0.95,
    block: int = 64,
) -> tuple[float, float, _FloatArray]:
    """A seeded percentile bootstrap that resamples rows within their cells.

    Args:
        statistic: maps a (k x n) matrix of row indices (each row one replicate, in
            the original row numbering) to k values.
        cells: one cell code per row (e.g. 0 treated, 1 control); rows never move
            between cells, so the group sizes are those observed.
        n_cells: how many cells.
        replicates: how many bootstrap replicates (100 to :data:`MAX_REPLICATES`).
        seed: the seed of ``numpy.random.default_rng``.
        confidence: the interval's level.
        block: replicates drawn at once (memory: ``block * n`` numbers).

    Returns:
        ``(low, high, values)``: the interval and every replicate's value.
    """
    if (
        isinstance(replicates, bool)
        or not isinstance(replicates, int)
        or not 100 <= replicates <= MAX_REPLICATES
    ):
        raise ValidationError(
            "replicates", replicates, f"an integer from 100 to {MAX_REPLICATES:,}"
        )
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValidationError("seed", seed, "a non-negative integer")
    confidence = _check_confidence(confidence)
    order, start, size = cell_layout(cells, n_cells)
    sorted_cells = np.asarray(cells, dtype=np.int64)[order]
    rng = np.random.default_rng(seed)
    n = order.size
    values = np.empty(replicates, dtype=np.float64)
    done = 0
    while done < replicates:
        k = min(block, replicates - done)
        u = rng.random((k, n))
        positions = resample_rows(u, sorted_cells, start, size)
        values[done : done + k] = statistic(order[positions])
        done += k
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return (math.nan, math.nan, values)
    alpha = (1 - confidence) / 2
    low, high = np.quantile(finite, [alpha, 1 - alpha])
    return (float(low), float(high), values)


def mean_uplift(
    treated: NDArray[Any],
    control: NDArray[Any],
    *,
    metric: str = "revenue per customer",
    replicates: int = DEFAULT_REPLICATES,
    seed: int = 0,
    confidence: float = 0.95,
    digits: int = 2,
) -> Uplift:
    """The difference of two means with a seeded bootstrap interval and Welch's p-value.

    ``digits``: the decimals the values are shown with (money: the currency's
    minor-unit digits).

    Raises:
        ValidationError: an empty group, non-finite values, or bad settings.
    """
    digits = check_digits(digits)
    a = np.asarray(treated, dtype=np.float64)
    b = np.asarray(control, dtype=np.float64)
    for name, x in (("treated", a), ("control", b)):
        if x.ndim != 1 or x.size == 0:
            raise ValidationError(name, x.shape, "a non-empty 1-d array")
        if not np.isfinite(x).all():
            raise ValidationError(name, "non-finite values", "finite numbers")
    values = np.concatenate([a, b])
    cells = np.concatenate([np.zeros(a.size, np.int64), np.ones(b.size, np.int64)])
    na, nb = a.size, b.size

    def statistic(idx: _IntArray) -> _FloatArray:
        drawn = values[idx]
        # After the cell sort the first na columns are the treated rows.
        return np.asarray(drawn[:, :na].mean(axis=1) - drawn[:, na:].mean(axis=1))

    low, high, _ = bootstrap_interval(
        statistic, cells, 2, replicates=replicates, seed=seed, confidence=confidence
    )
    d = float(a.mean() - b.mean())
    se = math.sqrt(a.var(ddof=1) / na + b.var(ddof=1) / nb) if na > 1 and nb > 1 else math.nan
    p_value = (1.0 if d == 0 else 0.0) if se == 0 else _two_sided_p(d / se)
    return Uplift(
        metric=metric, treated=float(a.mean()), control=float(b.mean()), estimate=d,
        low=low, high=high, confidence=_check_confidence(confidence), p_value=p_value,
        method="bootstrap", n_treated=na, n_control=nb, digits=digits,
    )
