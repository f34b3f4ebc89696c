"""The KPIs: pure, vectorised functions of columnar frames over an explicit period.

Every function reads an :class:`~custmgmt.analytics.frames.OrderFrame` (and, where it
needs them, an :class:`~custmgmt.analytics.frames.InteractionFrame` or per-customer
arrays) and a :class:`~custmgmt.kpi.figures.Period`; nothing reads "now". Definitions:

* a *counted order* is one that was not cancelled
  (:func:`~custmgmt.analytics.frames.counted_mask`); its *net* amount is its total less
  its refunds; a *buyer* of a period placed at least one counted order in it;
* **repeat-purchase rate**: buyers with two or more counted orders in the period / buyers;
* **repurchase rate**: buyers who had bought before the period / buyers;
* **retention rate**: buyers of the baseline who bought again in the current period /
  buyers of the baseline; the **churn rate** is its complement;
* **referral rate** and **complaint rate**: buyers who referred someone (complained) in
  the period / buyers;
* **return rate**: counted orders with a refund (or a returned status) / counted
  orders; **cancellation rate**: cancelled orders / orders placed;
* **high-value ratio**: buyers whose net spend in the period reaches a fixed threshold /
  buyers (the report fixes the threshold from the baseline, so both periods share it);
* **satisfaction**: review ratings and ticket survey scores (1-5) in the period: their
  mean and the share of scores of 4 or 5.

Days, ISO weeks and calendar months are those of the period's (or ``as_of``'s) UTC
offset. Money sums are exact int64
minor units (per-bucket sums are taken in two 26-bit halves, exact up to 2**27 rows).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from custmgmt.analytics.frames import (
    KIND_CODES,
    STATUS_CODES,
    InteractionFrame,
    OrderFrame,
    counted_mask,
)
from custmgmt.domain.interaction import InteractionKind
from custmgmt.domain.order import OrderStatus
from custmgmt.domain.time import require_aware, to_epoch_micros
from custmgmt.errors import ValidationError
from custmgmt.kpi.figures import (
    Figure,
    Period,
    mean_figure,
    not_measurable,
    rate,
    t_quantile,
)

__all__ = [
    "FREQUENCIES",
    "Breakdown",
    "CohortMatrix",
    "GroupedSales",
    "Trend",
    "average_order_value",
    "breakdown",
    "cancellation_rate",
    "churn_rate",
    "cohort_matrix",
    "complaint_rate",
    "customer_spend",
    "exact_sums",
    "growth",
    "high_value_ratio",
    "high_value_threshold",
    "linear_trend",
    "moving_average",
    "net_sales",
    "period_over_period",
    "referral_rate",
    "repeat_purchase_rate",
    "repurchase_rate",
    "retention_rate",
    "return_rate",
    "rfm_grid",
    "sales_by_category",
    "sales_by_period",
    "satisfaction",
    "segment_distribution",
    "sla_attainment_by_star",
    "star_distribution",
]

AnyArray = npt.NDArray[Any]
I64 = npt.NDArray[np.int64]

#: The bucket sizes :func:`sales_by_period` understands.
FREQUENCIES: tuple[str, ...] = ("day", "week", "month")

_CANCELLED = STATUS_CODES.index(OrderStatus.CANCELLED)
_RETURNED = np.array([STATUS_CODES.index(OrderStatus.RETURNED),
                      STATUS_CODES.index(OrderStatus.PARTIALLY_RETURNED)])
_REVIEW = KIND_CODES.index(InteractionKind.REVIEW)
_REFERRAL = KIND_CODES.index(InteractionKind.REFERRAL)
_COMPLAINT = KIND_CODES.index(InteractionKind.COMPLAINT)
_LOW_BITS = 26
_DAY_US = 86_400_000_000
#: Above this many (customer, month) cells the cohort matrix sorts instead of marking.
COHORT_GRID_LIMIT = 400_000_000
_NO_BUYERS = "no counted orders in the period"


def _in(times: AnyArray, period: Period) -> npt.NDArray[np.bool_]:
    start, end = period.micros
    mask: npt.NDArray[np.bool_] = (times >= start) & (times < end)
    return mask


def _counted_in(orders: OrderFrame, period: Period) -> npt.NDArray[np.bool_]:
    return _in(orders.placed_at, period) & counted_mask(orders.status)


def exact_sums(codes: AnyArray, values: AnyArray, n: int) -> I64:
    """Per-code sums of non-negative int64 ``values``, exactly (``np.bincount`` in halves).

    Each half is summed in float64, exact while a group has fewer than 2**27 rows.
    """
    values = np.asarray(values, dtype=np.int64)
    if values.size and int(values.min()) < 0:
        raise ValidationError("values", int(values.min()), "non-negative amounts")
    low = np.bincount(codes, weights=values & ((1 << _LOW_BITS) - 1), minlength=n)
    high = np.bincount(codes, weights=values >> _LOW_BITS, minlength=n)
    _check_int64(high, low)
    return (high.astype(np.int64) << _LOW_BITS) + low.astype(np.int64)


def _check_int64(high: AnyArray, low: AnyArray) -> None:
    """Refuse sums past int64 (92 quadrillion major units of a 2-digit currency), which
    would wrap round to negative totals; near the limit, decide with Python ints."""
    near = high * float(1 << _LOW_BITS) + low >= float(2**63) - float(2**45)
    for i in np.flatnonzero(near).tolist():
        total = (int(high[i]) << _LOW_BITS) + int(low[i])
        if total > np.iinfo(np.int64).max:
            raise ValidationError("amounts", total, "sums that fit in int64 minor units "
                                  f"(at most {np.iinfo(np.int64).max:,})")


def _exact_total(values: AnyArray) -> int:
    """The sum of non-negative int64 ``values``, exactly (see :func:`exact_sums`)."""
    return int(exact_sums(np.zeros(len(values), dtype=np.int64), values, 1)[0])


def _purchases(orders: OrderFrame, period: Period) -> I64:
    mask = _counted_in(orders, period)
    return np.bincount(orders.customer_code[mask], minlength=orders.n_customers).astype(np.int64)


def repeat_purchase_rate(orders: OrderFrame, period: Period) -> Figure:
    """Buyers with two or more counted orders in ``period`` / buyers."""
    counts = _purchases(orders, period)
    return rate(int((counts >= 2).sum()), int((counts >= 1).sum()), reason=_NO_BUYERS)


def repurchase_rate(orders: OrderFrame, period: Period) -> Figure:
    """Buyers of ``period`` who had bought before it / buyers of ``period``."""
    counts = _purchases(orders, period)
    start = period.micros[0]
    earlier = counted_mask(orders.status) & (orders.placed_at < start)
    before = np.bincount(orders.customer_code[earlier], minlength=orders.n_customers)
    buyers = counts > 0
    return rate(int((buyers & (before > 0)).sum()), int(buyers.sum()), reason=_NO_BUYERS)


def _check_disjoint(baseline: Period, current: Period) -> None:
    if baseline.overlaps(current):
        raise ValidationError(
            "baseline", baseline.label(), f"a period that does not overlap {current.label()}"
        )


def retention_rate(orders: OrderFrame, baseline: Period, current: Period) -> Figure:
    """Buyers of ``baseline`` who bought again in ``current`` / buyers of ``baseline``.

    Raises:
        ValidationError: the periods overlap.
    """
    _check_disjoint(baseline, current)
    before = _purchases(orders, baseline) > 0
    after = _purchases(orders, current) > 0
    return rate(int((before & after).sum()), int(before.sum()),
                reason="no counted orders in the baseline period")


def churn_rate(orders: OrderFrame, baseline: Period, current: Period) -> Figure:
    """Buyers of ``baseline`` who did not buy in ``current`` / buyers of ``baseline``."""
    kept = retention_rate(orders, baseline, current)
    if kept.denominator == 0 or kept.numerator is None or kept.denominator is None:
        return kept
    return rate(kept.denominator - kept.numerator, kept.denominator)


def _interaction_buyer_codes(interactions: InteractionFrame, orders: OrderFrame) -> I64:
    """Per interaction row: the customer's code in ``orders`` (-1: not in the frame)."""
    n = orders.n_customers
    ids_i = np.asarray(interactions.customer_ids)
    ids_o = np.asarray(orders.customer_ids)
    if len(ids_i) >= n and np.array_equal(ids_i[:n], ids_o):
        table = np.arange(len(ids_i), dtype=np.int64)
        table[n:] = -1
    else:
        order = np.argsort(ids_o, kind="stable")
        sorted_ids = ids_o[order]
        pos = np.searchsorted(sorted_ids, ids_i) if n else np.zeros(len(ids_i), np.int64)
        pos = np.minimum(pos, max(n - 1, 0))
        found = (sorted_ids[pos] == ids_i) if n else np.zeros(len(ids_i), bool)
        table = np.where(found, order[pos] if n else 0, -1).astype(np.int64)
    out: I64 = table[np.asarray(interactions.customer_code, dtype=np.int64)]
    return out


def _buyers_who(
    orders: OrderFrame, interactions: InteractionFrame, period: Period, kind: int, what: str
) -> Figure:
    buyers = _purchases(orders, period) > 0
    rows = _in(interactions.at, period) & (interactions.kind == kind)
    codes = _interaction_buyer_codes(interactions, orders)[rows]
    did = np.zeros(orders.n_customers, dtype=bool)
    did[codes[codes >= 0]] = True
    return rate(int((buyers & did).sum()), int(buyers.sum()), reason=_NO_BUYERS)


def referral_rate(orders: OrderFrame, interactions: InteractionFrame, period: Period) -> Figure:
    """Buyers of ``period`` who referred someone in it / buyers."""
    return _buyers_who(orders, interactions, period, _REFERRAL, "referred")


def complaint_rate(orders: OrderFrame, interactions: InteractionFrame, period: Period) -> Figure:
    """Buyers of ``period`` who complained in it / buyers."""
    return _buyers_who(orders, interactions, period, _COMPLAINT, "complained")


def _scores(
    interactions: InteractionFrame | None,
    period: Period,
    ticket_times: AnyArray | None,
    ticket_scores: AnyArray | None,
) -> I64:
    parts: list[AnyArray] = []
    if interactions is not None:
        rows = _in(interactions.at, period) & (interactions.kind == _REVIEW)
        rows &= interactions.rating > 0
        parts.append(interactions.rating[rows].astype(np.int64))
    if ticket_scores is not None:
        times = np.asarray(ticket_times, dtype=np.int64)
        scores = np.asarray(ticket_scores, dtype=np.int64)
        if times.shape != scores.shape:
            raise ValidationError("ticket_scores", scores.shape, f"the shape {times.shape}")
        if scores.size and (scores.min() < 1 or scores.max() > 5):
            raise ValidationError("ticket_scores", int(scores.max()), "scores from 1 to 5")
        parts.append(scores[_in(times, period)])
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def satisfaction(
    interactions: InteractionFrame | None,
    period: Period,
    *,
    ticket_times: AnyArray | None = None,
    ticket_scores: AnyArray | None = None,
) -> tuple[Figure, Figure]:
    """``(mean score, share satisfied)`` of review ratings and ticket survey scores.

    ``ticket_times`` (µs UTC) and ``ticket_scores`` (1..5) are the survey replies of
    service tickets. A score of 4 or 5 counts as satisfied.
    """
    scores = _scores(interactions, period, ticket_times, ticket_scores)
    reason = "no review or survey score in the period"
    mean = mean_figure(scores, unit="score", reason=reason, bounds=(1.0, 5.0))
    return mean, rate(int((scores >= 4).sum()), int(scores.size), reason=reason)


def _net(orders: OrderFrame) -> I64:
    net: I64 = orders.amount.astype(np.int64) - orders.returned_amount.astype(np.int64)
    return net


def net_sales(orders: OrderFrame, period: Period) -> Figure:
    """Net sales (totals less refunds) of the counted orders in ``period``, minor units."""
    mask = _counted_in(orders, period)
    count = int(mask.sum())
    if count == 0:
        return not_measurable(_NO_BUYERS, "money")
    total = _exact_total(_net(orders)[mask])
    return Figure(value=float(total), numerator=total, denominator=count, unit="money")


def average_order_value(orders: OrderFrame, period: Period) -> Figure:
    """Mean net amount per counted order in ``period`` (minor units) with a t interval."""
    mask = _counted_in(orders, period)
    net = _net(orders)[mask]
    return mean_figure(net, unit="money", reason=_NO_BUYERS, total=_exact_total(net),
                       bounds=(0.0, math.inf))


def return_rate(orders: OrderFrame, period: Period) -> Figure:
    """Counted orders of ``period`` with a refund or a returned status / counted orders.

    A row of status ``returned`` without a ``returned_amount`` is still a return.
    """
    mask = _counted_in(orders, period)
    returned = (orders.returned_amount[mask] > 0) | np.isin(orders.status[mask], _RETURNED)
    refunded = int(returned.sum())
    return rate(refunded, int(mask.sum()), reason=_NO_BUYERS)


def cancellation_rate(orders: OrderFrame, period: Period) -> Figure:
    """Cancelled orders placed in ``period`` / orders placed in it."""
    mask = _in(orders.placed_at, period)
    return rate(int((orders.status[mask] == _CANCELLED).sum()), int(mask.sum()),
                reason="no orders placed in the period")


def customer_spend(orders: OrderFrame, period: Period) -> tuple[I64, I64]:
    """``(net spend, counted orders)`` per customer code in ``period``."""
    mask = _counted_in(orders, period)
    codes = orders.customer_code[mask]
    spend = exact_sums(codes, _net(orders)[mask], orders.n_customers)
    counts = np.bincount(codes, minlength=orders.n_customers).astype(np.int64)
    return spend, counts


def high_value_threshold(orders: OrderFrame, period: Period, quantile: float = 0.8) -> int | None:
    """The buyers' net spend at ``quantile`` (a spend that occurred), or None without buyers."""
    if not 0 < quantile < 1:
        raise ValidationError("quantile", quantile, "a number strictly between 0 and 1")
    spend, counts = customer_spend(orders, period)
    values = spend[counts > 0]
    if values.size == 0:
        return None
    k = max(0, math.ceil(quantile * values.size) - 1)
    return int(np.partition(values, k)[k])


def high_value_ratio(orders: OrderFrame, period: Period, threshold: int) -> Figure:
    """Buyers whose net spend in ``period`` reaches ``threshold`` minor units / buyers."""
    spend, counts = customer_spend(orders, period)
    buyers = counts > 0
    return rate(int((buyers & (spend >= threshold)).sum()), int(buyers.sum()), reason=_NO_BUYERS)


def growth(current: Figure, baseline: Figure) -> Figure:
    """The relative change ``current / baseline - 1``; not measurable without both."""
    if current.value is None or baseline.value is None:
        missing = baseline if baseline.value is None else current
        which = "baseline" if baseline.value is None else "current"
        return not_measurable(f"{which} not measurable: {missing.reason}", "ratio")
    if baseline.value == 0:
        return not_measurable("the baseline is zero", "ratio")
    return Figure(value=current.value / baseline.value - 1, unit="ratio")


@attrs.frozen(kw_only=True)
class GroupedSales:
    """Net sales and counted orders per group (a time bucket or a category).

    Attributes:
        labels: the group names, in display order.
        net: int64 net sales per group, minor units.
        orders: int64 counted orders per group.
    """

    labels: tuple[str, ...]
    net: I64
    orders: I64

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {"labels": list(self.labels), "net": self.net.tolist(),
                "orders": self.orders.tolist()}


def _offset(moment: datetime) -> int:
    """The UTC offset of ``moment`` in µs: buckets are local days, weeks and months."""
    delta = moment.utcoffset()
    return 0 if delta is None else (delta.days * 86_400 + delta.seconds) * 1_000_000


def _month_of(micros: int) -> int:
    return int(np.datetime64(micros, "us").astype("datetime64[M]").astype(np.int64))


def _bucket(times: AnyArray, freq: str, offset: int = 0) -> I64:
    """Bucket index per time (months since 1970-01, days, or Monday weeks), local to
    ``offset``; integer arithmetic and a binary search, no datetime casts per row."""
    local = times.astype(np.int64) + offset
    if freq == "month":
        if local.size == 0:
            return np.zeros(0, dtype=np.int64)
        lo, hi = _month_of(int(local.min())), _month_of(int(local.max()))
        starts = np.arange(lo + 1, hi + 1).astype("datetime64[M]").astype("datetime64[us]")
        index: I64 = lo + np.searchsorted(starts.astype(np.int64), local, side="right")
        return index
    days: I64 = local // _DAY_US
    if freq == "day":
        return days
    # 1970-01-01 was a Thursday: Monday-start weeks, labelled by their Monday.
    weeks: I64 = (days + 3) // 7
    return weeks


def _bucket_label(index: int, freq: str) -> str:
    if freq == "month":
        return str(np.datetime64(index, "M"))
    if freq == "day":
        return str(np.datetime64(index, "D"))
    return str(np.datetime64(index * 7 - 3, "D"))


def sales_by_period(orders: OrderFrame, period: Period, freq: str = "month") -> GroupedSales:
    """Net sales per day, ISO week (labelled by its Monday) or month of ``period``.

    Days, weeks and months are those of ``period.start``'s UTC offset. Every bucket
    the period touches is listed, empty ones with zeros.
    """
    if freq not in FREQUENCIES:
        raise ValidationError("freq", freq, f"one of {', '.join(FREQUENCIES)}")
    start, end = period.micros
    off = _offset(period.start)
    first = int(_bucket(np.array([start], dtype=np.int64), freq, off)[0])
    last = int(_bucket(np.array([end - 1], dtype=np.int64), freq, off)[0])
    mask = _counted_in(orders, period)
    codes = _bucket(orders.placed_at[mask], freq, off) - first
    n = last - first + 1
    return GroupedSales(
        labels=tuple(_bucket_label(first + i, freq) for i in range(n)),
        net=exact_sums(codes, _net(orders)[mask], n),
        orders=np.bincount(codes, minlength=n).astype(np.int64),
    )


def sales_by_category(orders: OrderFrame, period: Period) -> GroupedSales:
    """Net sales per main category of the counted orders in ``period`` (sorted names)."""
    mask = _counted_in(orders, period) & (orders.category >= 0)
    n = len(orders.category_names)
    codes = orders.category[mask]
    return GroupedSales(
        labels=tuple(orders.category_names),
        net=exact_sums(codes, _net(orders)[mask], n),
        orders=np.bincount(codes, minlength=n).astype(np.int64),
    )


@attrs.frozen(kw_only=True)
class CohortMatrix:
    """Monthly first-purchase cohorts and their retention.

    Row ``c`` is the cohort of customers whose first counted order fell in month
    ``cohorts[c]``; column ``k`` is the ``k``-th month after it. ``returned[c, k]``
    counts the cohort's customers with a counted order in month ``c + k``;
    ``active[c, k]`` those whose last counted order (up to ``as_of``) is in month
    ``c + k`` or later ("still active by month k"). Cells after ``as_of``'s month are
    -1.

    Attributes:
        cohorts: the cohort months, ``YYYY-MM``.
        sizes: customers per cohort.
        returned: int64 ``(months, months)`` counts.
        active: int64 ``(months, months)`` counts.
    """

    cohorts: tuple[str, ...]
    sizes: I64
    returned: I64
    active: I64

    def shares(self, which: str = "returned") -> npt.NDArray[np.float64]:
        """Counts over cohort sizes; NaN for future cells and empty cohorts."""
        counts = self.returned if which == "returned" else self.active
        out = np.full(counts.shape, np.nan)
        ok = (counts >= 0) & (self.sizes[:, None] > 0)
        out[ok] = (counts / np.maximum(self.sizes[:, None], 1))[ok]
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data (future cells as None)."""
        def rows(m: I64) -> list[list[int | None]]:
            return [[None if v < 0 else int(v) for v in row] for row in m.tolist()]
        return {"cohorts": list(self.cohorts), "sizes": self.sizes.tolist(),
                "returned": rows(self.returned), "active": rows(self.active)}


def cohort_matrix(orders: OrderFrame, as_of: datetime, months: int = 24) -> CohortMatrix:
    """The ``months`` monthly cohorts up to ``as_of``'s month (see :class:`CohortMatrix`).

    Months are calendar months in ``as_of``'s UTC offset.
    """
    require_aware("as_of", as_of)
    if not isinstance(months, int) or isinstance(months, bool) or not 1 <= months <= 240:
        raise ValidationError("months", months, "a whole number of months from 1 to 240")
    limit = to_epoch_micros(as_of)
    off = _offset(as_of)
    end_month = int(_bucket(np.array([limit], dtype=np.int64), "month", off)[0])
    start_month = end_month - months + 1
    labels = tuple(str(np.datetime64(start_month + i, "M")) for i in range(months))
    mask = counted_mask(orders.status) & (orders.placed_at <= limit)
    codes = orders.customer_code[mask].astype(np.int64)
    m = _bucket(orders.placed_at[mask], "month", off)
    n = orders.n_customers
    sizes = np.zeros(months, dtype=np.int64)
    returned = np.zeros((months, months), dtype=np.int64)
    by_lag = np.zeros((months, months), dtype=np.int64)
    if m.size:
        first_month = int(m.min())
        span = end_month - first_month + 1
        if n * span <= COHORT_GRID_LIMIT:
            _cohorts_by_grid(codes, m - first_month, n, span, start_month - first_month,
                             months, sizes, returned, by_lag)
        else:
            _cohorts_by_sorting(codes, m, n, start_month, months, sizes, returned, by_lag)
    active = np.cumsum(by_lag[:, ::-1], axis=1)[:, ::-1].astype(np.int64)
    future = (np.arange(months)[:, None] + np.arange(months)[None, :]) >= months
    returned[future] = -1
    active[future] = -1
    return CohortMatrix(cohorts=labels, sizes=sizes, returned=returned, active=active)


def _cohorts_by_grid(codes: I64, m: I64, n: int, span: int, s0: int, months: int,
                     sizes: I64, returned: I64, by_lag: I64) -> None:
    """Mark a (customer x month) grid once; first/last months are argmax scans."""
    seen = np.zeros((n, span), dtype=bool)
    seen[codes, m] = True
    has = seen.any(axis=1)
    first = seen.argmax(axis=1)
    last = span - 1 - seen[:, ::-1].argmax(axis=1)
    members = np.flatnonzero(has & (first >= s0))
    coh = first[members] - s0
    sizes += np.bincount(coh, minlength=months)
    f = first[members]
    for k in range(months):
        col = f + k
        ok = col < span
        hit = np.zeros(len(members), dtype=bool)
        hit[ok] = seen[members[ok], col[ok]]
        returned[:, k] += np.bincount(coh[hit], minlength=months)
    lag = (last[members] - f).astype(np.int64)
    by_lag += np.bincount(coh * months + lag, minlength=months * months).reshape(months, months)


def _cohorts_by_sorting(codes: I64, m: I64, n: int, start_month: int, months: int,
                        sizes: I64, returned: I64, by_lag: I64) -> None:
    """The same counts for grids too large to hold: per-customer min/max and unique pairs."""
    first = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    last = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
    np.minimum.at(first, codes, m)
    np.maximum.at(last, codes, m)
    keep = first[codes] >= start_month
    pairs = np.unique(codes[keep] * months + (m[keep] - start_month))
    pc, pm = pairs // months, pairs % months
    cohort_of = first - start_month
    pcoh = cohort_of[pc]
    returned += np.bincount(pcoh * months + (pm - pcoh),
                            minlength=months * months).reshape(months, months)
    members = (cohort_of >= 0) & (cohort_of < months)
    coh = cohort_of[members]
    sizes += np.bincount(coh, minlength=months)
    lag = last[members] - first[members]
    by_lag += np.bincount(coh * months + lag, minlength=months * months).reshape(months, months)


@attrs.frozen(kw_only=True)
class Breakdown:
    """Buyers, orders, net sales, AOV and repeat-purchase rate per group of customers.

    Attributes:
        dimension: what the groups are (``"gender"``, ``"region"`` ...).
        labels: the group names.
        buyers: int64 buyers per group in the period.
        orders: int64 counted orders per group.
        net: int64 net sales per group, minor units.
        aov: per group, :class:`Figure` of the mean net amount per order.
        repeat: per group, the repeat-purchase :class:`Figure`.
        unknown: buyers whose group is not known.
        reason: why the breakdown is not measurable (None when it is).
    """

    dimension: str
    labels: tuple[str, ...]
    buyers: I64
    orders: I64
    net: I64
    aov: tuple[Figure, ...]
    repeat: tuple[Figure, ...]
    unknown: int
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "dimension": self.dimension, "labels": list(self.labels),
            "buyers": self.buyers.tolist(), "orders": self.orders.tolist(),
            "net": self.net.tolist(), "aov": [f.to_dict() for f in self.aov],
            "repeat": [f.to_dict() for f in self.repeat], "unknown": self.unknown,
            "reason": self.reason,
        }


def breakdown(
    orders: OrderFrame,
    period: Period,
    group: AnyArray,
    labels: Sequence[str],
    dimension: str,
) -> Breakdown:
    """Per-group figures of the period's buyers; ``group[code]`` is customer ``code``'s
    group index into ``labels`` (-1: unknown).

    All buyers unknown (or no buyers) gives a breakdown that is not measurable, with
    the reason.
    """
    group = np.asarray(group, dtype=np.int64)
    if group.shape != (orders.n_customers,):
        raise ValidationError("group", group.shape, f"one group per customer code "
                              f"({orders.n_customers})")
    g = len(labels)
    if group.size and (group.max() >= g or group.min() < -1):
        raise ValidationError("group", int(group.max()), f"indexes into {g} labels or -1")
    spend, counts = customer_spend(orders, period)
    buyers = counts > 0
    known = buyers & (group >= 0)
    gk = group[known]
    n_buyers = np.bincount(gk, minlength=g).astype(np.int64)
    n_orders = np.bincount(gk, weights=counts[known], minlength=g).astype(np.int64)
    net = exact_sums(gk, spend[known], g)
    repeaters = np.bincount(gk, weights=counts[known] >= 2, minlength=g).astype(np.int64)
    # AOV interval per group from order-level net amounts
    mask = _counted_in(orders, period)
    row_group = group[orders.customer_code[mask]]
    row_net = _net(orders)[mask]
    ok = row_group >= 0
    row_group, row_net = row_group[ok], row_net[ok]
    sort = np.argsort(row_group, kind="stable")
    bounds = np.searchsorted(row_group[sort], np.arange(g + 1))
    ordered = row_net[sort]
    aov = tuple(
        mean_figure(ordered[bounds[i]:bounds[i + 1]], unit="money",
                    reason=f"no buyer in group {labels[i]!r}", total=int(net[i]),
                    bounds=(0.0, math.inf))
        for i in range(g)
    )
    repeat = tuple(
        rate(int(repeaters[i]), int(n_buyers[i]), reason=f"no buyer in group {labels[i]!r}")
        for i in range(g)
    )
    unknown = int((buyers & (group < 0)).sum())
    reason = None
    if not buyers.any():
        reason = _NO_BUYERS
    elif not known.any():
        reason = f"no buyer with a known {dimension}"
    return Breakdown(dimension=dimension, labels=tuple(labels), buyers=n_buyers,
                     orders=n_orders, net=net, aov=aov, repeat=repeat, unknown=unknown,
                     reason=reason)


@attrs.frozen(kw_only=True)
class Trend:
    """An ordinary least-squares line through a series against its index.

    Attributes:
        slope: change per step; None when fewer than three points.
        intercept: the fitted value at index 0.
        low: lower end of the slope's 95% t interval.
        high: upper end of it.
        n: points fitted.
        reason: why there is no trend (None when there is one).
    """

    slope: float | None
    intercept: float | None
    low: float | None
    high: float | None
    n: int
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return attrs.asdict(self)


def linear_trend(values: AnyArray) -> Trend:
    """The least-squares slope of ``values`` over 0, 1, 2 ... with its 95% interval."""
    y = np.asarray(values, dtype=np.float64)
    n = int(y.size)
    if n < 3:
        return Trend(slope=None, intercept=None, low=None, high=None, n=n,
                     reason="fewer than three points")
    x = np.arange(n, dtype=np.float64)
    xm, ym = x.mean(), y.mean()
    sxx = float(((x - xm) ** 2).sum())
    slope = float(((x - xm) * (y - ym)).sum() / sxx)
    intercept = float(ym - slope * xm)
    resid = y - (intercept + slope * x)
    se = math.sqrt(float((resid**2).sum()) / (n - 2) / sxx)
    half = t_quantile(0.975, n - 2) * se
    return Trend(slope=slope, intercept=intercept, low=slope - half, high=slope + half, n=n)


def moving_average(values: AnyArray, window: int) -> npt.NDArray[np.float64]:
    """The trailing mean over ``window`` points; NaN until ``window`` points exist."""
    if not isinstance(window, int) or isinstance(window, bool) or window < 1:
        raise ValidationError("window", window, "a positive whole number of points")
    y = np.asarray(values, dtype=np.float64)
    out = np.full(y.shape, np.nan)
    if y.size >= window:
        c = np.cumsum(np.concatenate([[0.0], y]))
        out[window - 1:] = (c[window:] - c[:-window]) / window
    return out


def period_over_period(values: AnyArray) -> npt.NDArray[np.float64]:
    """``values[i] / values[i-1] - 1``; NaN for the first point and after a zero."""
    y = np.asarray(values, dtype=np.float64)
    out = np.full(y.shape, np.nan)
    if y.size > 1:
        prev = y[:-1]
        ok = prev != 0
        out[1:][ok] = y[1:][ok] / prev[ok] - 1
    return out


def sla_attainment_by_star(met: AnyArray, stars: AnyArray) -> dict[int, Figure]:
    """Per star level (0: unrated), the share of SLA clocks met.

    ``met[i]`` says whether ticket ``i`` met its targets; ``stars[i]`` is its
    customer's stars (0 when unrated).
    """
    met = np.asarray(met, dtype=bool)
    stars = np.asarray(stars, dtype=np.int64)
    if met.shape != stars.shape:
        raise ValidationError("stars", stars.shape, f"the shape of met {met.shape}")
    if stars.size and (stars.min() < 0 or stars.max() > 5):
        raise ValidationError("stars", int(stars.max()), "stars from 0 (unrated) to 5")
    total = np.bincount(stars, minlength=6)
    good = np.bincount(stars, weights=met, minlength=6).astype(np.int64)
    return {s: rate(int(good[s]), int(total[s]), reason=f"no ticket of a {s}-star customer")
            for s in range(6) if total[s] > 0}


def star_distribution(stars: AnyArray) -> I64:
    """Customers per star level, index 0 (unrated) to 5."""
    stars = np.asarray(stars, dtype=np.int64)
    if stars.size and (stars.min() < 0 or stars.max() > 5):
        raise ValidationError("stars", int(stars.max()), "stars from 0 (unrated) to 5")
    return np.bincount(stars, minlength=6).astype(np.int64)


def rfm_grid(orders: OrderFrame, as_of: datetime) -> I64:
    """Buyers up to ``as_of`` by recency score (rows) x frequency score (columns), 5x5.

    Scores 1-5 by quintile (:func:`custmgmt.segmentation.rfm.quantile_scores`): a recent
    last order and many orders score high.
    """
    from custmgmt.segmentation.rfm import quantile_scores

    limit = to_epoch_micros(require_aware("as_of", as_of))
    mask = counted_mask(orders.status) & (orders.placed_at <= limit)
    codes = orders.customer_code[mask]
    counts = np.bincount(codes, minlength=orders.n_customers)
    last = np.full(orders.n_customers, np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(last, codes, orders.placed_at[mask])
    buyers = counts > 0
    r = quantile_scores(last[buyers].astype(np.float64))
    f = quantile_scores(counts[buyers].astype(np.float64))
    grid = np.bincount((r.astype(np.int64) - 1) * 5 + (f - 1), minlength=25)
    return grid.reshape(5, 5).astype(np.int64)


def segment_distribution(grid: AnyArray) -> tuple[tuple[str, int], ...]:
    """Buyers per segment of the ten-segment RFM map, from an :func:`rfm_grid`.

    Uses :data:`custmgmt.segmentation.rfm.TEN_SEGMENTS` (champions, loyal ...), in its
    order.
    """
    from custmgmt.segmentation.rfm import TEN_SEGMENTS

    g = np.asarray(grid, dtype=np.int64)
    if g.shape != (5, 5):
        raise ValidationError("grid", g.shape, "a 5x5 recency x frequency grid")
    return tuple((name, int(sum(g[r - 1, f - 1] for r, f in cells)))
                 for name, cells in TEN_SEGMENTS.cells)
