"""What a campaign changed: treated against holdout within the attribution window.

:func:`analyse_uplift` compares the treated group (customers sent a message, now or
after quiet hours) with the holdout on four figures, each with its uplift, interval
and p-value (see :mod:`custmgmt.campaigns.stats`):

* **conversion rate**: the share who placed at least one counted order in the
  window, with both denominators; Newcombe's closed-form interval.
* **revenue per customer**: net revenue (order amount less refunds) per customer of
  the group, buyers or not; seeded bootstrap interval.
* **average order value**: net revenue over counted orders; seeded bootstrap of the
  ratio (a group without orders has no value, shown as n/a).
* **ROI**: ``(incremental revenue - cost) / cost`` with incremental revenue the
  revenue-per-customer uplift times the treated group's size and cost the offers'
  cost for the treated group; its interval is the revenue uplift's interval carried
  through that (increasing) formula.

Money is int64 minor units inside, shown in major units at the currency's minor-unit
digits (``digits``: ``1.001`` for KWD, ``1`` for JPY, ``1.00`` for CNY).

>>> import numpy as np
>>> rng = np.random.default_rng(1)
>>> t_orders = rng.binomial(1, 0.2, 500); c_orders = rng.binomial(1, 0.1, 500)
>>> report = analyse_uplift(t_orders, t_orders * 10_000, c_orders, c_orders * 10_000,
...     cost_minor=500 * 500, digits=2, replicates=200, seed=3)
>>> report.conversion.covers(0.1)
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np
from numpy.typing import NDArray

from custmgmt.campaigns.stats import (
    DEFAULT_REPLICATES,
    Rate,
    Uplift,
    bootstrap_interval,
    check_digits,
    mean_uplift,
    rate_uplift,
)
from custmgmt.errors import ValidationError
from custmgmt.notebook.display import Displayed, Report, Table, short_repr

__all__ = [
    "GroupUplift",
    "RoiEstimate",
    "UpliftReport",
    "analyse_uplift",
    "uplift_by_group",
    "window_outcomes",
]

_IntArray = NDArray[np.int64]


def window_outcomes(
    frame: Any, customer_ids: NDArray[Any], start_us: NDArray[np.int64], end_us: NDArray[np.int64]
) -> tuple[_IntArray, _IntArray]:
    """Counted orders and net revenue (minor units) per customer in their own window.

    Args:
        frame: an :class:`~custmgmt.analytics.frames.OrderFrame`.
        customer_ids: the customers (one row each).
        start_us, end_us: each customer's window ``[start, end)`` in µs.

    Returns:
        ``(orders, revenue)`` aligned with ``customer_ids``.
    """
    from custmgmt.analytics.frames import COUNTED_STATUS_CODES

    n = len(customer_ids)
    orders = np.zeros(n, dtype=np.int64)
    revenue = np.zeros(n, dtype=np.int64)
    if len(frame) == 0 or n == 0:
        return orders, revenue
    position = {str(c): i for i, c in enumerate(customer_ids)}
    # frame code -> our row (-1: not one of ours)
    row_of_code = np.array(
        [position.get(str(c), -1) for c in frame.customer_ids.tolist()], dtype=np.int64
    )
    rows = row_of_code[np.asarray(frame.customer_code, dtype=np.int64)]
    counted = np.isin(frame.status, COUNTED_STATUS_CODES)
    keep = rows >= 0
    at = np.asarray(frame.placed_at, dtype=np.int64)
    safe_rows = np.where(keep, rows, 0)
    keep &= counted & (at >= start_us[safe_rows]) & (at < end_us[safe_rows])
    net = np.asarray(frame.amount, np.int64) - np.asarray(frame.returned_amount, np.int64)
    orders += np.bincount(rows[keep], minlength=n).astype(np.int64)
    # Exact in int64 minor units (a float bincount rounds sums past 2**53).
    np.add.at(revenue, rows[keep], net[keep])
    return orders, revenue


@attrs.frozen(kw_only=True)
class RoiEstimate:
    """Return on the offers' cost, with the interval carried from the revenue uplift.

    Attributes:
        value, low, high: ROI and its interval (None when the cost is zero).
        incremental_revenue: revenue uplift per customer times the treated size.
        cost: the offers' cost for the treated group.
        digits: the currency's minor-unit digits, which the money is shown with.
    """

    value: float | None
    low: float | None
    high: float | None
    incremental_revenue: float
    cost: float
    digits: int = attrs.field(default=2)

    @digits.validator
    def _check_digits(self, attribute: attrs.Attribute[Any], value: Any) -> None:
        check_digits(value, "RoiEstimate.digits")

    def __str__(self) -> str:
        d = self.digits
        if self.value is None or self.low is None or self.high is None:
            return f"ROI: n/a (no cost); incremental revenue {self.incremental_revenue:,.{d}f}"
        return (
            f"ROI: {self.value:+.1%} [{self.low:+.1%}, {self.high:+.1%}] on cost "
            f"{self.cost:,.{d}f} (incremental revenue {self.incremental_revenue:,.{d}f})"
        )


@attrs.frozen(kw_only=True)
class UpliftReport(Displayed):
    """Treated against control on conversion, revenue per customer, AOV and ROI.

    Attributes:
        conversion: the conversion uplift (rates with denominators).
        revenue_per_customer: the revenue uplift per customer (major units).
        average_order_value: the AOV uplift, or None when a group placed no order.
        roi: the return on the offers' cost.
        digits: the currency's minor-unit digits, which the money is shown with.
    """

    conversion: Uplift
    revenue_per_customer: Uplift
    average_order_value: Uplift | None
    roi: RoiEstimate
    digits: int = attrs.field(default=2)

    @digits.validator
    def _check_digits(self, attribute: attrs.Attribute[Any], value: Any) -> None:
        check_digits(value, "UpliftReport.digits")

    def __repr__(self) -> str:
        return short_repr("UpliftReport", conversion=self.conversion.estimate,
                          revenue_per_customer=self.revenue_per_customer.estimate,
                          roi=self.roi.value)

    def _display(self) -> Report:
        """Each uplift with its interval, and the ROI."""
        report = Report("Uplift, treated against control")
        report.add(Table(caption="uplift", header=("figure",),
                         rows=tuple((line,) for line in self.lines())))
        return report

    def lines(self) -> list[str]:
        """The report as printable lines."""
        aov = (
            str(self.average_order_value)
            if self.average_order_value is not None
            else "average order value: n/a (a group placed no order)"
        )
        return [str(self.conversion), str(self.revenue_per_customer), aov, str(self.roi)]


def _check_group(name: str, value: Any) -> _IntArray:
    arr = np.asarray(value)
    if arr.ndim == 1 and arr.size == 0:
        # ``np.asarray([])`` is float: an empty arm is the "empty group" error below,
        # not "a 1-d integer array".
        return np.zeros(0, dtype=np.int64)
    if arr.ndim != 1 or arr.dtype.kind not in "iu":
        raise ValidationError(name, getattr(arr, "shape", value), "a 1-d integer array")
    if arr.size and arr.min() < 0 and name.endswith("orders"):
        raise ValidationError(name, int(arr.min()), "non-negative order counts")
    return arr.astype(np.int64)


def analyse_uplift(
    treated_orders: Any,
    treated_revenue: Any,
    control_orders: Any,
    control_revenue: Any,
    *,
    cost_minor: int,
    digits: int = 2,
    replicates: int = DEFAULT_REPLICATES,
    seed: int = 0,
    confidence: float = 0.95,
) -> UpliftReport:
    """Compare a treated group with its control.

    Args:
        treated_orders, control_orders: counted orders per customer in the window.
        treated_revenue, control_revenue: net revenue per customer (minor units).
        cost_minor: the offers' total cost for the treated group (minor units).
        digits: minor-unit digits of the currency (2 for CNY, 3 for KWD, 0 for JPY):
            the scale of the amounts, and the decimals the report shows them with.
        replicates, seed, confidence: the bootstrap's settings.

    Raises:
        ValidationError: an empty group (no one to compare), mismatched lengths,
            ``digits`` not 0 to 4, or bad settings.
    """
    digits = check_digits(digits)
    t_orders = _check_group("treated_orders", treated_orders)
    c_orders = _check_group("control_orders", control_orders)
    t_rev = _check_group("treated_revenue", treated_revenue)
    c_rev = _check_group("control_revenue", control_revenue)
    if t_orders.size != t_rev.size or c_orders.size != c_rev.size:
        raise ValidationError("treated_revenue", t_rev.size, "one value per customer")
    if t_orders.size == 0 or c_orders.size == 0:
        raise ValidationError(
            "groups", (int(t_orders.size), int(c_orders.size)),
            "a treated and a control group with at least one customer each",
        )
    scale = 10.0 ** int(digits)
    conversion = rate_uplift(
        Rate(int((t_orders > 0).sum()), t_orders.size),
        Rate(int((c_orders > 0).sum()), c_orders.size),
        confidence=confidence,
    )
    rpc = mean_uplift(
        t_rev / scale, c_rev / scale, metric="revenue per customer",
        replicates=replicates, seed=seed, confidence=confidence, digits=digits,
    )
    aov = _aov_uplift(t_orders, t_rev / scale, c_orders, c_rev / scale,
                      replicates=replicates, seed=seed + 1, confidence=confidence,
                      digits=digits)
    cost = cost_minor / scale
    incremental = rpc.estimate * t_orders.size
    if cost > 0:
        roi = RoiEstimate(
            value=(incremental - cost) / cost,
            low=(rpc.low * t_orders.size - cost) / cost,
            high=(rpc.high * t_orders.size - cost) / cost,
            incremental_revenue=incremental, cost=cost, digits=digits,
        )
    else:
        roi = RoiEstimate(value=None, low=None, high=None, incremental_revenue=incremental,
                          cost=cost, digits=digits)
    return UpliftReport(conversion=conversion, revenue_per_customer=rpc,
                        average_order_value=aov, roi=roi, digits=digits)


def _aov_uplift(
    t_orders: _IntArray,
    t_rev: NDArray[np.float64],
    c_orders: _IntArray,
    c_rev: NDArray[np.float64],
    *,
    replicates: int,
    seed: int,
    confidence: float,
    digits: int,
) -> Uplift | None:
    if t_orders.sum() == 0 or c_orders.sum() == 0:
        return None
    orders = np.concatenate([t_orders, c_orders]).astype(np.float64)
    revenue = np.concatenate([t_rev, c_rev])
    nt = t_orders.size
    cells = np.concatenate([np.zeros(nt, np.int64), np.ones(c_orders.size, np.int64)])

    def statistic(idx: NDArray[np.int64]) -> NDArray[np.float64]:
        o, r = orders[idx], revenue[idx]
        with np.errstate(invalid="ignore", divide="ignore"):
            a = r[:, :nt].sum(axis=1) / o[:, :nt].sum(axis=1)
            b = r[:, nt:].sum(axis=1) / o[:, nt:].sum(axis=1)
        return np.asarray(a - b)

    low, high, _ = bootstrap_interval(
        statistic, cells, 2, replicates=replicates, seed=seed, confidence=confidence
    )
    a = float(t_rev.sum() / t_orders.sum())
    b = float(c_rev.sum() / c_orders.sum())
    # A normal p-value from the bootstrap's spread: the ratio has no simple closed form.
    spread = (high - low) / (2 * 1.959963984540054) if confidence == 0.95 else math.nan
    p_value = math.erfc(abs(a - b) / spread / math.sqrt(2)) if spread and spread > 0 else math.nan
    return Uplift(
        metric="average order value", treated=a, control=b, estimate=a - b, low=low, high=high,
        confidence=confidence, p_value=p_value, method="bootstrap",
        n_treated=int(t_orders.sum()), n_control=int(c_orders.sum()), digits=digits,
    )


@attrs.frozen(kw_only=True)
class GroupUplift:
    """The uplift within one group of customers (a segment, a star level).

    Attributes:
        by: what the groups are (``"stars"``, ``"segment"``).
        label: this group's label.
        conversion: the conversion uplift (rates with denominators).
        revenue_per_customer: the revenue uplift, or None when a side is empty.
        digits: the currency's minor-unit digits, which the revenue is shown with.
    """

    by: str
    label: str
    conversion: Uplift
    revenue_per_customer: Uplift | None
    digits: int = attrs.field(default=2)

    @digits.validator
    def _check_digits(self, attribute: attrs.Attribute[Any], value: Any) -> None:
        check_digits(value, "GroupUplift.digits")

    def __str__(self) -> str:
        r, d = self.revenue_per_customer, self.digits
        rpc = (
            "n/a" if r is None
            else f"{r.estimate:+,.{d}f} [{r.low:+,.{d}f}, {r.high:+,.{d}f}]"
        )
        c = self.conversion
        uplift = (
            "n/a (a side is empty)" if not (c.n_treated and c.n_control)
            else f"{c.estimate:+.2%} [{c.low:+.2%}, {c.high:+.2%}]"
        )
        return (
            f"{self.by}={self.label}: conversion {c.treated_rate} vs {c.control_rate}, "
            f"uplift {uplift}; revenue/customer {rpc}"
        )


def uplift_by_group(
    by: str,
    labels: Mapping[str, str],
    treated_ids: NDArray[Any],
    treated: tuple[_IntArray, _IntArray],
    control_ids: NDArray[Any],
    control: tuple[_IntArray, _IntArray],
    *,
    digits: int = 2,
    replicates: int = 500,
    seed: int = 0,
) -> list[GroupUplift]:
    """Conversion and revenue uplift per group label, in label order.

    Customers without a label are left out; a label with an empty side is reported
    with n/a figures rather than dropped. ``digits``: the currency's minor-unit
    digits (the revenue's scale, and the decimals it is shown with).

    Raises:
        ValidationError: ``digits`` is not 0 to 4.
    """
    digits = check_digits(digits)
    t_labels = np.array([labels.get(str(c), "") for c in treated_ids], dtype=object)
    c_labels = np.array([labels.get(str(c), "") for c in control_ids], dtype=object)
    found = sorted({*t_labels.tolist(), *c_labels.tolist()} - {""})
    result = []
    scale = 10.0 ** int(digits)
    for i, label in enumerate(found):
        tm, cm = t_labels == label, c_labels == label
        conversion = rate_uplift(
            Rate(int((treated[0][tm] > 0).sum()), int(tm.sum())),
            Rate(int((control[0][cm] > 0).sum()), int(cm.sum())),
        )
        rpc = None
        if tm.any() and cm.any():
            rpc = mean_uplift(treated[1][tm] / scale, control[1][cm] / scale,
                              replicates=replicates, seed=seed + i, digits=digits)
        result.append(GroupUplift(by=by, label=label, conversion=conversion,
                                  revenue_per_customer=rpc, digits=digits))
    return result
