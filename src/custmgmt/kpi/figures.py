"""Measured figures with their uncertainty, and the periods they are measured over.

A :class:`Figure` is one measured number: a rate carries its numerator, denominator and
a Wilson score interval; a mean carries its count and a t interval; a figure that cannot
be measured (an empty period, no customers with a known gender ...) carries ``value =
None`` and the *reason*, never NaN.

>>> r = rate(45, 50)
>>> round(r.value, 2), r.numerator, r.denominator, (round(r.low, 3), round(r.high, 3))
(0.9, 45, 50, (0.786, 0.957))
>>> rate(0, 0, reason="no customers bought").reason
'no customers bought'
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from custmgmt.analytics.intervals import Z95
from custmgmt.analytics.intervals import wilson_interval as _wilson
from custmgmt.domain.time import require_aware, to_epoch_micros
from custmgmt.errors import ValidationError

__all__ = [
    "Z95",
    "Figure",
    "Period",
    "mean_figure",
    "not_measurable",
    "rate",
    "t_quantile",
    "wilson_interval",
]



def wilson_interval(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of ``k`` successes in ``n`` trials (``n >= 1``).

    >>> tuple(round(x, 4) for x in wilson_interval(0, 10))
    (0.0, 0.2775)
    """
    if n <= 0 or not 0 <= k <= n:
        raise ValidationError("wilson_interval", (k, n), "0 <= k <= n and n >= 1")
    low, high = _wilson(k, n, z)
    return float(low), float(high)


def t_quantile(p: float, df: int) -> float:
    """The ``p`` quantile of Student's t with ``df`` degrees of freedom (``p > 0.5``).

    Exact for 1 and 2 degrees of freedom; otherwise the Cornish-Fisher expansion
    (Abramowitz and Stegun 26.7.5), good to about 1e-3 from 3 degrees of freedom on.
    """
    if df < 1:
        raise ValidationError("df", df, "at least one degree of freedom")
    if df == 1:
        return math.tan(math.pi * (p - 0.5))
    if df == 2:
        a = 4 * p * (1 - p)
        return (2 * p - 1) * math.sqrt(2 / a)
    x = _normal_quantile(p)
    g1 = (x**3 + x) / 4
    g2 = (5 * x**5 + 16 * x**3 + 3 * x) / 96
    g3 = (3 * x**7 + 19 * x**5 + 17 * x**3 - 15 * x) / 384
    g4 = (79 * x**9 + 776 * x**7 + 1482 * x**5 - 1920 * x**3 - 945 * x) / 92160
    return x + g1 / df + g2 / df**2 + g3 / df**3 + g4 / df**4


def _normal_quantile(p: float) -> float:
    # Acklam's rational approximation refined by one Newton step on erfc: ~1e-15.
    a = (-39.69683028665376, 220.9460984245205, -275.9285104469687,
         138.3577518672690, -30.66479806614716, 2.506628277459239)
    b = (-54.47609879822406, 161.5858368580409, -155.6989798598866,
         66.80131188771972, -13.28068155288572)
    c = (-0.007784894002430293, -0.3223964580411365, -2.400758277161838,
         -2.549732539343734, 4.374664141464968, 2.938163982698783)
    d = (0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416)
    q = min(p, 1 - p)
    if q < 0.02425:
        r = math.sqrt(-2 * math.log(q))
        x = (((((c[0] * r + c[1]) * r + c[2]) * r + c[3]) * r + c[4]) * r + c[5]) / (
            (((d[0] * r + d[1]) * r + d[2]) * r + d[3]) * r + 1
        )
        x = -x if p > 0.5 else x
    else:
        r = p - 0.5
        s = r * r
        x = (((((a[0] * s + a[1]) * s + a[2]) * s + a[3]) * s + a[4]) * s + a[5]) * r / (
            ((((b[0] * s + b[1]) * s + b[2]) * s + b[3]) * s + b[4]) * s + 1
        )
    e = 0.5 * math.erfc(-x / math.sqrt(2)) - p
    return x - e * math.sqrt(2 * math.pi) * math.exp(x * x / 2)


@attrs.frozen(kw_only=True)
class Figure:
    """One measured number with its interval, or the reason it cannot be measured.

    Attributes:
        value: the estimate; None when not measurable.
        low: the lower end of the 95% interval (None when there is none).
        high: the upper end of the 95% interval.
        numerator: for a rate, the count of successes; for a total, the total.
        denominator: for a rate, the count of trials; for a mean, the count averaged.
        unit: ``"share"`` (0..1), ``"money"`` (minor units), ``"score"``, ``"count"``
            or ``"ratio"`` (a relative change).
        reason: why the figure is not measurable (None when it is).
    """

    value: float | None
    low: float | None = None
    high: float | None = None
    numerator: int | None = None
    denominator: int | None = None
    unit: str = "share"
    reason: str | None = None

    @property
    def measurable(self) -> bool:
        """Whether the figure has a value."""
        return self.value is not None

    def to_dict(self) -> dict[str, Any]:
        """The figure as JSON-ready data."""
        return {
            "value": self.value,
            "low": self.low,
            "high": self.high,
            "numerator": self.numerator,
            "denominator": self.denominator,
            "unit": self.unit,
            "reason": self.reason,
        }


def not_measurable(reason: str, unit: str = "share") -> Figure:
    """A figure that cannot be measured, saying why."""
    return Figure(value=None, unit=unit, reason=reason)


def rate(k: int, n: int, *, reason: str = "an empty denominator") -> Figure:
    """``k / n`` with its Wilson interval; not measurable (with ``reason``) when ``n == 0``."""
    k, n = int(k), int(n)
    if n == 0:
        return Figure(value=None, numerator=k, denominator=0, reason=reason)
    low, high = wilson_interval(k, n)
    return Figure(value=k / n, low=low, high=high, numerator=k, denominator=n)


def mean_figure(
    values: npt.NDArray[Any],
    *,
    unit: str,
    reason: str,
    total: int | None = None,
    bounds: tuple[float, float] | None = None,
) -> Figure:
    """The mean of ``values`` with a 95% t interval (none for a single value).

    ``bounds`` are the least and greatest values possible (0 and infinity for amounts,
    1 and 5 for scores): the interval is clipped to them, as no mean lies outside.
    """
    n = int(values.shape[0])
    if n == 0:
        return not_measurable(reason, unit)
    x = values.astype(np.float64)
    mean = float(x.mean())
    low = high = None
    if n >= 2:
        sd = float(x.std(ddof=1))
        half = t_quantile(0.975, n - 1) * sd / math.sqrt(n)
        low, high = mean - half, mean + half
        if bounds is not None:
            low, high = max(low, bounds[0]), min(high, bounds[1])
    return Figure(value=mean, low=low, high=high, numerator=total, denominator=n, unit=unit)


@attrs.frozen
class Period:
    """A half-open time window ``[start, end)`` of aware datetimes.

    >>> from datetime import UTC, datetime
    >>> Period(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)).days
    90.0

    Raises:
        ValidationError: a naive bound, or ``end`` not after ``start`` (an inverted or
            empty range).
    """

    start: datetime
    end: datetime

    def __attrs_post_init__(self) -> None:
        require_aware("Period.start", self.start)
        require_aware("Period.end", self.end)
        if self.end <= self.start:
            raise ValidationError(
                "Period", f"{self.start.isoformat()} .. {self.end.isoformat()}",
                "a range whose end is after its start",
            )

    @property
    def micros(self) -> tuple[int, int]:
        """``(start, end)`` in µs since the epoch, UTC."""
        return to_epoch_micros(self.start), to_epoch_micros(self.end)

    @property
    def days(self) -> float:
        """The length in days."""
        return (self.end - self.start).total_seconds() / 86_400

    def overlaps(self, other: Period) -> bool:
        """Whether the two windows share a moment."""
        return self.start < other.end and other.start < self.end

    def label(self) -> str:
        """``YYYY-MM-DD .. YYYY-MM-DD`` (the end exclusive)."""
        return f"{self.start:%Y-%m-%d} .. {self.end:%Y-%m-%d}"
