"""Risk features: payment, returns, cancellations, disputes, reviews, activity, age.

:func:`risk_features` extends the feature catalogue
(:func:`custmgmt.analytics.features.customer_features`) with the features credit and
quality scoring needs; any catalogue name (``review_mean``, ``complaint_count``,
``orders_90d``, ``recency`` ...) can be asked for alongside, so ratings, segments and
risk read the same definitions. Everything is computed from frames with ``as_of``
explicit; rows after ``as_of`` are ignored.

==========================  =============  =================================================
name                        dtype, unit    definition
==========================  =============  =================================================
return_rate_{N}d            float64        share of counted orders placed in the window
                                           with a return (NaN: no order)
cancellation_rate_{N}d      float64        cancelled / all orders placed in the window
cancelled_{N}d              int64          cancelled orders placed in the window
low_reviews_{N}d            int64          reviews rated 1 or 2 in the window
review_burst                int64          most reviews written within any 24 hours
unpaid_count                int64          orders older than the payment grace (3 days)
                                           still unpaid (status ``placed``; with
                                           ``paid_at``: no payment time)
late_payment_rate           float64        share of paid orders paid more than a day
                                           after placement (needs ``paid_at``; NaN
                                           without it or without paid orders)
payment_lag_mean            float64 days   mean ``paid_at - placed_at`` of paid orders
                                           (needs ``paid_at``)
dispute_count               int64          complaints (disputes) at or before ``as_of``
account_age                 float64 days   ``as_of`` minus registration (needs
                                           ``registered_at``; else first order: tenure)
==========================  =============  =================================================

The window is ``(as_of - N days, as_of]`` as in the catalogue. Missing values are NaN,
and a scorecard's missing bin takes them.

>>> import numpy as np
>>> from datetime import datetime, timezone
>>> from custmgmt.analytics.frames import OrderFrame
>>> orders = OrderFrame.from_arrays(
...     customer_id=np.array([1, 1, 1, 2]),
...     placed_at=np.array(["2024-03-01", "2024-03-05", "2024-03-20", "2024-03-10"],
...                        dtype="datetime64[D]"),
...     amount=np.array([1000, 2000, 500, 800]), currency="CNY",
...     status=["delivered", "returned", "cancelled", "delivered"])
>>> f = risk_features(orders, as_of=datetime(2024, 3, 31, tzinfo=timezone.utc),
...                   features=["return_rate_90d", "cancellation_rate_90d", "frequency"])
>>> f["return_rate_90d"].tolist(), f["cancellation_rate_90d"].tolist()
([0.5, 0.0], [0.3333333333333333, 0.0])
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from custmgmt.analytics.features import (
    CustomerFeatures,
    FeatureSpec,
    customer_features,
    describe_feature,
)
from custmgmt.analytics.frames import (
    KIND_CODES,
    MISSING_TIME,
    STATUS_CODES,
    InteractionFrame,
    OrderFrame,
)
from custmgmt.domain.interaction import InteractionKind
from custmgmt.domain.order import OrderStatus
from custmgmt.domain.time import require_aware, to_epoch_micros
from custmgmt.errors import ValidationError

__all__ = [
    "RISK_FEATURES",
    "describe_risk_feature",
    "is_known_feature",
    "review_bursts",
    "risk_feature_names",
    "risk_features",
]

AnyArray = npt.NDArray[Any]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

DAY_US: Final = 86_400_000_000
HOUR_US: Final = 3_600_000_000
#: Orders still unpaid this long after placement count as unpaid.
PAYMENT_GRACE_DAYS: Final = 3
#: Paid more than this long after placement is late.
LATE_AFTER_DAYS: Final = 1

_CANCELLED = STATUS_CODES.index(OrderStatus.CANCELLED)
_PLACED = STATUS_CODES.index(OrderStatus.PLACED)
_RETURNED = (STATUS_CODES.index(OrderStatus.RETURNED),
             STATUS_CODES.index(OrderStatus.PARTIALLY_RETURNED))
_REVIEW = KIND_CODES.index(InteractionKind.REVIEW)
_COMPLAINT = KIND_CODES.index(InteractionKind.COMPLAINT)


def _spec(name: str, dtype: str, unit: str, source: str, description: str) -> FeatureSpec:
    return FeatureSpec(name=name, dtype=dtype, unit=unit, source=source, description=description)


#: The fixed risk features (windowed ones are named ``{prefix}_{N}d``).
RISK_FEATURES: Mapping[str, FeatureSpec] = MappingProxyType({
    s.name: s for s in (
        _spec("review_burst", "int64", "reviews", "interactions",
              "most reviews written within any 24 hours"),
        _spec("unpaid_count", "int64", "orders", "orders",
              "orders past the payment grace still unpaid"),
        _spec("late_payment_rate", "float64", "ratio", "orders",
              "share of paid orders paid more than a day after placement"),
        _spec("payment_lag_mean", "float64", "days", "orders", "mean paid_at - placed_at"),
        _spec("dispute_count", "int64", "complaints", "interactions", "complaints (disputes)"),
        _spec("account_age", "float64", "days", "orders", "as_of minus registration"),
    )
})

_WINDOWED = re.compile(
    r"^(return_rate|cancellation_rate|cancelled|low_reviews)_([1-9][0-9]{0,4})d$"
)


def describe_risk_feature(name: str) -> FeatureSpec:
    """The spec of a risk feature or of any catalogue feature.

    Raises:
        ValidationError: an unknown feature name.
    """
    if isinstance(name, str):
        spec = RISK_FEATURES.get(name)
        if spec is not None:
            return spec
        match = _WINDOWED.match(name)
        if match is not None:
            prefix, days = match.group(1), match.group(2)
            if prefix in ("return_rate", "cancellation_rate"):
                return _spec(name, "float64", "ratio", "orders",
                             f"{prefix.replace('_', ' ')} of orders in the last {days} days")
            if prefix == "cancelled":
                return _spec(name, "int64", "orders", "orders",
                             f"cancelled orders in the last {days} days")
            return _spec(name, "int64", "reviews", "interactions",
                         f"reviews rated 1-2 in the last {days} days")
    try:
        return describe_feature(name)
    except ValidationError:
        raise ValidationError(
            "feature", name,
            "a known feature: a risk feature (custmgmt.risk.risk_feature_names()) or a "
            "catalogue feature (custmgmt.analytics.features.feature_names())",
        ) from None


def is_known_feature(name: Any) -> bool:
    """Whether ``name`` is a risk or catalogue feature."""
    try:
        describe_risk_feature(name)
    except ValidationError:
        return False
    return True


def risk_feature_names(windows: Iterable[int] = (30, 90)) -> tuple[str, ...]:
    """The default risk feature set: fixed risk features, windowed ones, and the
    catalogue's ``review_mean``, ``complaint_count``, ``frequency``, ``recency``."""
    names = ["unpaid_count", "late_payment_rate", "payment_lag_mean", "dispute_count",
             "review_burst", "account_age", "review_mean", "frequency", "recency"]
    for w in windows:
        names += [f"return_rate_{w}d", f"cancellation_rate_{w}d", f"cancelled_{w}d",
                  f"low_reviews_{w}d", f"orders_{w}d"]
    return tuple(names)


def _ratio(num: AnyArray, den: AnyArray) -> F64:
    out = np.full(len(den), np.nan)
    has = den > 0
    out[has] = num[has] / den[has]
    return out


def review_bursts(codes: AnyArray, at: AnyArray, n: int, window_us: int) -> I64:
    """Per customer code, the most rows within any ``window_us`` (inclusive), vectorised.

    ``codes`` and ``at`` describe the rows (e.g. reviews); customers without rows get 0.
    """
    out = np.zeros(n, dtype=np.int64)
    if len(codes) == 0:
        return out
    order = np.lexsort((at, codes))
    c, t = codes[order].astype(np.int64), at[order].astype(np.int64)
    span = int(t.max()) - int(t.min()) + window_us + 1
    if (int(c.max()) + 1) * span < 2**63:
        # Shift times so that each customer's rows live in their own stretch of the line.
        key = c * span + (t - int(t.min()))
        lo = np.searchsorted(key, key - window_us, side="left")
    else:
        # That line would pass int64 (times centuries apart, or many customers with a
        # wide window) and wrap around silently: find each row's first row in the
        # window by merging the rows with the window starts, sorted by (customer, time)
        # with the starts first on ties; the rows before a start are its ``lo``.
        m = len(t)
        starts = t - window_us  # >= int64 min: times are at or after year 1
        merged = np.lexsort((np.r_[np.zeros(m, np.int8), np.ones(m, np.int8)],
                             np.r_[starts, t], np.r_[c, c]))
        is_start = merged < m
        position = np.flatnonzero(is_start)
        lo = np.empty(m, dtype=np.int64)
        lo[merged[is_start]] = position - np.arange(m)
    counts = np.arange(len(t)) - lo + 1
    np.maximum.at(out, c, counts)
    return out


def risk_features(
    orders: OrderFrame | None,
    interactions: InteractionFrame | None = None,
    *,
    as_of: datetime,
    features: Iterable[str] | None = None,
    paid_at: Any = None,
    registered_at: Mapping[Any, datetime] | None = None,
) -> CustomerFeatures:
    """Compute risk and catalogue features per customer as of ``as_of``.

    Args:
        orders: the orders.
        interactions: the interactions, best built with ``customer_index=orders``.
        as_of: aware; later rows are ignored.
        features: names (default :func:`risk_feature_names`, less the interaction
            features when there are no interactions).
        paid_at: optional int64 µs payment times (or ``datetime64``), one per order
            row (:data:`~custmgmt.analytics.frames.MISSING_TIME` or NaT for unpaid),
            none before its order's placement; without it the payment features that
            need it are NaN.
        registered_at: optional customer id -> registration time, for ``account_age``.

    Raises:
        ValidationError: an unknown feature, a feature whose frame is missing, a
            naive ``as_of``, a ``paid_at`` of the wrong length or type, outside the
            years 1..9999 or before its order's placement.
    """
    require_aware("as_of", as_of)
    if orders is None:
        raise ValidationError("orders", None, "an OrderFrame (risk features need orders)")
    if features is None:
        names = [n for n in risk_feature_names()
                 if interactions is not None or describe_risk_feature(n).source == "orders"]
    else:
        if isinstance(features, str):
            raise ValidationError("features", features, "a sequence of names, not one string")
        names = list(dict.fromkeys(features))
    specs = [describe_risk_feature(n) for n in names]
    for spec in specs:
        if spec.source == "interactions" and interactions is None:
            raise ValidationError("features", spec.name,
                                  "an InteractionFrame to compute interaction features")
    catalogue = [n for n in names if n not in RISK_FEATURES and not _WINDOWED.match(n)]
    need_tenure = "account_age" in names and registered_at is None
    base_names = list(dict.fromkeys([*catalogue, "frequency", *(["tenure"] if need_tenure
                                                                 else [])]))
    base = customer_features(orders, interactions, as_of=as_of, features=base_names)
    n = len(base.customer_ids)
    limit = to_epoch_micros(as_of)
    o_codes = orders.customer_code.astype(np.int64)
    o_in = orders.placed_at <= limit
    columns: dict[str, AnyArray] = {}
    i_codes: AnyArray | None = None
    i_in: AnyArray | None = None
    if interactions is not None:
        mapped = base.codes_of(interactions.customer_ids)
        i_codes = mapped[interactions.customer_code.astype(np.int64)]
        i_in = (interactions.at <= limit) & (i_codes >= 0)
    lag: AnyArray | None = None
    if paid_at is not None:
        lag_src = _payment_times(paid_at, orders.placed_at)
        paid = (lag_src != MISSING_TIME) & (lag_src <= limit)
        lag = np.where(paid, lag_src - orders.placed_at, -1)
    for name in names:
        if name in base.columns and name not in RISK_FEATURES:
            columns[name] = np.asarray(base[name])
            continue
        match = _WINDOWED.match(name)
        if match is not None:
            prefix, days = match.group(1), int(match.group(2))
            if prefix == "low_reviews":
                assert interactions is not None
                assert i_codes is not None
                assert i_in is not None
                sel = (i_in & (interactions.kind == _REVIEW) & (interactions.rating > 0)
                       & (interactions.rating <= 2) & (interactions.at > limit - days * DAY_US))
                columns[name] = np.bincount(i_codes[sel], minlength=n).astype(np.int64)
                continue
            inside = o_in & (orders.placed_at > limit - days * DAY_US)
            cancelled = inside & (orders.status == _CANCELLED)
            n_cancel = np.bincount(o_codes[cancelled], minlength=n)
            if prefix == "cancelled":
                columns[name] = n_cancel.astype(np.int64)
                continue
            n_all = np.bincount(o_codes[inside], minlength=n)
            if prefix == "cancellation_rate":
                columns[name] = _ratio(n_cancel, n_all)
                continue
            counted = inside & ~cancelled
            returned = counted & ((orders.returned_amount > 0)
                                  | np.isin(orders.status, _RETURNED))
            columns[name] = _ratio(np.bincount(o_codes[returned], minlength=n),
                                   np.bincount(o_codes[counted], minlength=n))
            continue
        if name == "unpaid_count":
            old = o_in & (orders.placed_at <= limit - PAYMENT_GRACE_DAYS * DAY_US)
            old &= orders.status != _CANCELLED
            unpaid = old & ((lag < 0) if lag is not None else (orders.status == _PLACED))
            columns[name] = np.bincount(o_codes[unpaid], minlength=n).astype(np.int64)
        elif name in ("late_payment_rate", "payment_lag_mean"):
            if lag is None:
                columns[name] = np.full(n, np.nan)
                continue
            paid_rows = o_in & (lag >= 0)
            n_paid = np.bincount(o_codes[paid_rows], minlength=n)
            if name == "late_payment_rate":
                late = paid_rows & (lag > LATE_AFTER_DAYS * DAY_US)
                columns[name] = _ratio(np.bincount(o_codes[late], minlength=n), n_paid)
            else:
                total = np.bincount(o_codes[paid_rows], weights=lag[paid_rows] / DAY_US,
                                    minlength=n)
                columns[name] = _ratio(total, n_paid)
        elif name == "dispute_count":
            assert interactions is not None
            assert i_codes is not None
            assert i_in is not None
            sel = i_in & (interactions.kind == _COMPLAINT)
            columns[name] = np.bincount(i_codes[sel], minlength=n).astype(np.int64)
        elif name == "review_burst":
            assert interactions is not None
            assert i_codes is not None
            assert i_in is not None
            sel = i_in & (interactions.kind == _REVIEW)
            columns[name] = review_bursts(i_codes[sel], interactions.at[sel], n, 24 * HOUR_US)
        elif name == "account_age":
            if registered_at is None:
                columns[name] = np.asarray(base["tenure"])
            else:
                columns[name] = _account_age(base, registered_at, as_of)
    return CustomerFeatures(customer_ids=base.customer_ids, columns=columns, as_of=as_of,
                            currency=orders.currency, windows=base.windows)


#: Microseconds of the calendar's first and last instants (years 1 and 9999, UTC).
_FIRST_US: Final = to_epoch_micros(datetime.min.replace(tzinfo=UTC))
_LAST_US: Final = to_epoch_micros(datetime.max.replace(tzinfo=UTC))


def _payment_times(paid_at: Any, placed_at: AnyArray) -> I64:
    """``paid_at`` as int64 µs, one per order row, each unpaid or at/after placement.

    Raises:
        ValidationError: naming ``paid_at``: not integer µs (nor ``datetime64``; a float
            column was truncated, days were read as µs), the wrong length, a time
            outside the years 1..9999 (the lag wrapped around int64: a payment 10^8
            days late), or a payment before its order was placed (counted as unpaid).
    """
    expected = ("int64 µs payment times (or datetime64), MISSING_TIME / NaT for unpaid, "
                f"one per order row ({len(placed_at)})")
    try:
        raw = np.asarray(paid_at)
    except (TypeError, ValueError):
        raise ValidationError("paid_at", paid_at, expected) from None
    if raw.ndim != 1 or len(raw) != len(placed_at):
        raise ValidationError("paid_at", raw.shape, expected)
    if raw.dtype.kind == "M":
        times = raw.astype("datetime64[us]").astype(np.int64)
    elif raw.dtype.kind in "iu" and (not len(raw) or int(raw.max()) <= _LAST_US):
        times = raw.astype(np.int64)
    elif raw.dtype.kind in "iu":
        raise ValidationError("paid_at", int(raw.max()), "times in the years 1..9999")
    else:
        raise ValidationError("paid_at", raw.dtype, expected)
    given = times != MISSING_TIME
    outside = given & ((times < _FIRST_US) | (times > _LAST_US))
    if outside.any():
        raise ValidationError("paid_at", int(times[outside][0]), "times in the years 1..9999")
    early = given & (times < placed_at)
    if early.any():
        row = int(np.flatnonzero(early)[0])
        raise ValidationError(f"paid_at[{row}]", int(times[row]),
                              f"a payment at or after the order's placement "
                              f"({int(placed_at[row])} µs)")
    out: I64 = times
    return out


def _account_age(base: CustomerFeatures, registered_at: Mapping[Any, datetime],
                 as_of: datetime) -> F64:
    if not isinstance(registered_at, Mapping):
        raise ValidationError("registered_at", registered_at,
                              "a mapping of customer id to registration time")
    out = np.full(len(base.customer_ids), np.nan)
    for i, cid in enumerate(base.customer_ids.tolist()):
        when = registered_at.get(cid)
        if when is not None:
            require_aware(f"registered_at[{cid!r}]", when)
            out[i] = (as_of - when).total_seconds() / 86_400
    return out

