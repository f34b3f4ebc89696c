"""Churn rules: vectorised tests that flag customers, with the values that made them fire.

Each rule is a frozen value (configuration as data: :meth:`ChurnRule.to_dict`,
:func:`churn_rule_from_dict`) that reads a :class:`ChurnContext` (customer features plus
the frames) and returns a :class:`RuleOutcome`: one boolean per customer and the
numbers behind it, so a report can say *why* ("silent 40 days > 1.5 x purchase cycle
20 days = 30 days").

Rules:

* :class:`PurchaseCycleRule` (the default): silent for more than ``factor`` (1.5) times
  the customer's own purchase cycle. The cycle is the **median** gap between the
  customer's consecutive counted orders (``statistic="mean"`` uses the mean gap):
  the median is not dragged up by one long holiday break. Customers whose own cycle is
  unknown (one order) or zero (all orders at one moment) fall back to their
  **category's** cycle -- the median of every gap that follows an order of the
  category of the customer's last order ("after buying tea, people buy again in ...")
  -- and, when that is unknown too, to the **population's** cycle, the median of the
  customers' own cycles. ``fallback="population"`` skips the category step. The
  boundary is strict: silent exactly ``factor x cycle`` is not churned; a moment more is.
* :class:`NoPurchaseWithin`: no order in the last ``days`` days (buyers only).
* :class:`SpendDrop`: net spend in the last ``days`` days is down more than
  ``percent`` % against the ``days`` before.
* :class:`UnresolvedComplaint`: at least ``min_count`` complaints not resolved.
* :class:`FallingReviews`: the mean review of the last ``days`` days is at least
  ``min_drop`` stars below the mean of the ``days`` before.
* :class:`ModelAliveBelow`: the BG/NBD probability of being alive (fitted on the
  population, :class:`custmgmt.analytics.clv.BetaGeo`, scipy needed) is below
  ``threshold``.

Customers who never bought are never flagged by the purchase rules: they are
prospects, not churners.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar, cast

import attrs
import numpy as np
from numpy.typing import NDArray

from custmgmt.analytics.clv import BetaGeo, summarize_transactions
from custmgmt.analytics.frames import KIND_CODES, STATUS_CODES
from custmgmt.domain._validate import is_finite_number
from custmgmt.domain.interaction import InteractionKind
from custmgmt.domain.money import currency_digits
from custmgmt.domain.order import OrderStatus
from custmgmt.domain.time import to_epoch_micros
from custmgmt.errors import ValidationError
from custmgmt.segmentation.rules import format_number
from custmgmt.segmentation.table import column

__all__ = [
    "CYCLE_SOURCES",
    "ChurnContext",
    "ChurnRule",
    "FallingReviews",
    "ModelAliveBelow",
    "NoPurchaseWithin",
    "PurchaseCycleRule",
    "RuleOutcome",
    "SpendDrop",
    "UnresolvedComplaint",
    "category_cycles",
    "churn_rule_from_dict",
]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
_DAY_US = 86_400_000_000
#: Where a customer's purchase cycle came from (``cycle_source`` values 0, 1, 2).
CYCLE_SOURCES: tuple[str, ...] = ("own", "category", "population")


@attrs.frozen(kw_only=True, eq=False)
class ChurnContext:
    """What churn rules read.

    Attributes:
        features: a ``CustomerFeatures`` (with the columns the rules name) at ``as_of``.
        as_of: the aware moment of evaluation.
        orders: the ``OrderFrame`` the features came from (category cycles, the model).
        interactions: the ``InteractionFrame``, or None (rules that need it are skipped).
    """

    features: Any
    as_of: datetime
    orders: Any = None
    interactions: Any = None

    @property
    def n(self) -> int:
        """The number of customers."""
        return len(self.features)

    def column(self, name: str) -> FloatArray:
        """A feature column as float64."""
        return column(self.features, name, field="features").astype(np.float64)

    def as_of_us(self) -> int:
        """``as_of`` in microseconds since the epoch."""
        return int(to_epoch_micros(self.as_of))

    def rows_of(self, frame: Any) -> NDArray[np.int64]:
        """For each row of ``frame``, the customer's row in ``features`` (-1 if absent)."""
        codes = np.asarray(self.features.codes_of(np.asarray(frame.customer_ids)))
        return np.asarray(codes[np.asarray(frame.customer_code)], dtype=np.int64)

    def money_scale(self) -> float:
        """``10 ** digits`` of the features' currency (minor -> major units)."""
        currency = getattr(self.features, "currency", None)
        return float(10 ** currency_digits(currency or "CNY"))


@attrs.frozen(kw_only=True, eq=False)
class RuleOutcome:
    """A rule's verdict: who it flags and the values behind it.

    Attributes:
        fired: one boolean per customer.
        values: named float64 columns (NaN where not applicable), e.g. ``silent_days``.
    """

    fired: BoolArray
    values: Mapping[str, FloatArray]


def _positive(cls: str, name: str, value: Any) -> None:
    if not is_finite_number(value) or value <= 0:
        raise ValidationError(f"{cls}.{name}", value, "a positive finite number")


def _positive_int(cls: str, name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(f"{cls}.{name}", value, "a positive integer")


class ChurnRule(abc.ABC):
    """A churn rule; subclasses are frozen attrs classes with a ``name`` and ``severity``.

    ``severity`` (1-3) is what a firing adds to the customer's risk score; see
    :class:`~custmgmt.churn.engine.ChurnEngine`.

    ``money_values`` names the rule's :attr:`RuleOutcome.values` that are money in
    major units: explanations show them at the currency's minor-unit digits (KWD
    ``1.234``, JPY ``1,234``). A rule with money values declares them (none by default).
    """

    type_name: ClassVar[str]
    needs_interactions: ClassVar[bool] = False
    money_values: ClassVar[frozenset[str]] = frozenset()
    name: str
    severity: int

    @abc.abstractmethod
    def features(self) -> frozenset[str]:
        """The feature columns the rule reads."""

    @abc.abstractmethod
    def evaluate(self, ctx: ChurnContext) -> RuleOutcome:
        """Flag customers (vectorised)."""

    @abc.abstractmethod
    def describe(self, values: Mapping[str, float]) -> str:
        """One customer's firing in words, from their row of :attr:`RuleOutcome.values`."""

    def to_dict(self) -> dict[str, Any]:
        """Plain data: ``{"type": ..., parameter: value, ...}``."""
        return {"type": self.type_name, **attrs.asdict(cast(Any, self))}


def _check_name(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{type(instance).__name__}.name", value, "a non-blank name")


def _check_severity(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 3:
        raise ValidationError(f"{type(instance).__name__}.severity", value, "1, 2 or 3")


def _bits(n: int) -> int:
    return max(int(n).bit_length(), 1)


def _sorted_within_groups(
    groups: NDArray[np.int64], values: NDArray[np.int64], n_groups: int
) -> FloatArray:
    """``values`` sorted by (group, value), as float64."""
    low = int(values.min())
    span = int(values.max()) - low
    shift = _bits(span)
    if shift + _bits(n_groups) <= 63:
        # One values-only sort of a packed key: no argsort, no gather (the house habit).
        key = (groups.astype(np.uint64) << np.uint64(shift)) | (values - low).astype(np.uint64)
        key.sort()
        mask = np.uint64((1 << shift) - 1)
        return (key & mask).astype(np.int64).astype(np.float64) + float(low)
    order = np.lexsort((values, groups))
    return values[order].astype(np.float64)


def _customer_time_order(
    code: NDArray[np.int64], at: NDArray[np.int64], category: NDArray[np.int64]
) -> NDArray[np.intp]:
    """A permutation sorting orders by (customer, time, category)."""
    n = code.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.intp)
    low = int(at.min())
    time_bits = _bits(int(at.max()) - low)
    if time_bits + _bits(int(code.max())) <= 63:
        key = (code.astype(np.uint64) << np.uint64(time_bits)) | (at - low).astype(np.uint64)
        order = np.argsort(key, kind="stable")
        sorted_key = key[order]
        # Same customer and moment: rare; only then is the category needed to break ties.
        if not (sorted_key[1:] == sorted_key[:-1]).any():
            return order
    return np.lexsort((category, at, code))


def _median_by_group(
    groups: NDArray[np.int64], values: NDArray[np.int64], n_groups: int, statistic: str
) -> FloatArray:
    """Median (or mean) of ``values`` per group code in ``0..n_groups-1``; NaN if empty."""
    out = np.full(n_groups, np.nan)
    if values.shape[0] == 0:
        return out
    counts = np.bincount(groups, minlength=n_groups)
    has = counts > 0
    if statistic == "mean":
        sums = np.bincount(groups, weights=values.astype(np.float64), minlength=n_groups)
        out[has] = sums[has] / counts[has]
        return out
    sorted_values = _sorted_within_groups(groups, values, n_groups)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    lo = starts + (counts - 1) // 2
    hi = starts + counts // 2
    out[has] = (sorted_values[lo[has]] + sorted_values[hi[has]]) / 2.0
    return out


def category_cycles(ctx: ChurnContext, statistic: str = "median") -> tuple[FloatArray, FloatArray]:
    """Per category the cycle in days, and per customer the last order's category cycle.

    The category cycle is the median (or mean) gap, in days, from an order of that
    category to the same customer's next counted order. Counted orders are those the
    features count: not cancelled, placed at or before ``as_of``. Orders at the same
    moment are taken in category-code order (so the last order's category, too).

    Returns:
        ``(by_category, by_customer)``: cycles per category code of the order frame,
        and per customer (row of the features) the cycle of their last order's
        category; NaN where unknown.
    """
    orders = ctx.orders
    n = ctx.n
    if orders is None:
        return np.zeros(0), np.full(n, np.nan)
    n_categories = len(orders.category_names)
    cancelled = STATUS_CODES.index(OrderStatus.CANCELLED)
    rows = ctx.rows_of(orders)
    keep = (
        (np.asarray(orders.status) != cancelled)
        & (np.asarray(orders.placed_at) <= ctx.as_of_us())
        & (rows >= 0)
    )
    code = rows[keep]
    at = np.asarray(orders.placed_at)[keep]
    category = np.asarray(orders.category, dtype=np.int64)[keep]
    # Orders at the same moment are taken in category order, so the result never
    # depends on the frame's row order.
    order = _customer_time_order(code, at, category)
    code, at, category = code[order], at[order], category[order]
    same = code[1:] == code[:-1]
    gaps = (at[1:] - at[:-1])[same]
    gap_category = category[:-1][same]
    known = gap_category >= 0
    by_category_us = _median_by_group(gap_category[known], gaps[known], n_categories, statistic)
    by_category = by_category_us / _DAY_US
    last = np.ones(code.shape[0], dtype=np.bool_)
    last[:-1] = code[1:] != code[:-1]
    last_category = np.full(n, -1, dtype=np.int64)
    last_category[code[last]] = category[last]
    by_customer = np.full(n, np.nan)
    has = last_category >= 0
    by_customer[has] = by_category[last_category[has]] if n_categories else np.nan
    return by_category, by_customer


def _check_choice(options: tuple[str, ...]) -> Any:
    def check(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value not in options:
            raise ValidationError(
                f"{type(instance).__name__}.{attribute.name}", value, f"one of {', '.join(options)}"
            )

    return check


def _check_factor(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    _positive(type(instance).__name__, attribute.name, value)


@attrs.frozen(kw_only=True)
class PurchaseCycleRule(ChurnRule):
    """Silent for more than ``factor`` x the customer's own purchase cycle.

    Attributes:
        factor: the multiple of the cycle (1.5); silent exactly ``factor x cycle``
            is not churned.
        statistic: ``"median"`` (default) or ``"mean"`` of the gaps between orders.
        fallback: ``"category"`` (default: category, then population) or
            ``"population"`` for customers without an own cycle.
        name: the rule's name in reports.
        severity: risk points when it fires.

    Values: ``silent_days``, ``cycle_days``, ``threshold_days`` and ``cycle_source``
    (an index into :data:`CYCLE_SOURCES`).
    """

    type_name: ClassVar[str] = "purchase_cycle"
    factor: float = attrs.field(default=1.5, validator=_check_factor)
    statistic: str = attrs.field(default="median", validator=_check_choice(("median", "mean")))
    fallback: str = attrs.field(
        default="category", validator=_check_choice(("category", "population"))
    )
    name: str = attrs.field(default="purchase cycle", validator=_check_name)
    severity: int = attrs.field(default=2, validator=_check_severity)

    def features(self) -> frozenset[str]:
        return frozenset({"frequency", "recency", f"interval_{self.statistic}"})

    def cycles(self, ctx: ChurnContext) -> tuple[FloatArray, NDArray[np.int8]]:
        """Per customer the cycle in days and its source (index into :data:`CYCLE_SOURCES`)."""
        own = ctx.column(f"interval_{self.statistic}")
        frequency = ctx.column("frequency")
        cycle = np.where((frequency >= 2) & (own > 0), own, np.nan)
        source = np.zeros(ctx.n, dtype=np.int8)
        known_own = cycle[~np.isnan(cycle)]
        if known_own.shape[0]:
            population = float(
                np.median(known_own) if self.statistic == "median" else np.mean(known_own)
            )
        else:
            population = math.nan
        if self.fallback == "category":
            _, by_customer = category_cycles(ctx, self.statistic)
            use = np.isnan(cycle) & (by_customer > 0)
            cycle[use] = by_customer[use]
            source[use] = 1
        use = np.isnan(cycle)
        if population > 0:
            cycle[use] = population
            source[use] = 2
        return cycle, source

    def evaluate(self, ctx: ChurnContext) -> RuleOutcome:
        recency = ctx.column("recency")
        bought = ctx.column("frequency") >= 1
        cycle, source = self.cycles(ctx)
        threshold = self.factor * cycle
        fired = bought & (recency > threshold)  # NaN compares False: no cycle, no verdict
        cycle = np.where(bought, cycle, np.nan)
        return RuleOutcome(
            fired=fired,
            values={
                "silent_days": recency,
                "cycle_days": cycle,
                "threshold_days": np.where(bought, threshold, np.nan),
                "cycle_source": np.where(bought, source.astype(np.float64), np.nan),
            },
        )

    def describe(self, values: Mapping[str, float]) -> str:
        source = values.get("cycle_source", math.nan)
        where = CYCLE_SOURCES[int(source)] if not math.isnan(source) else "unknown"
        return (
            f"silent {format_number(values['silent_days'])} days > {format_number(self.factor)} x "
            f"purchase cycle {format_number(values['cycle_days'])} days "
            f"({where} {self.statistic}) = {format_number(values['threshold_days'])} days"
        )


@attrs.frozen(kw_only=True)
class NoPurchaseWithin(ChurnRule):
    """No purchase in the last ``days`` days (customers who bought before)."""

    type_name: ClassVar[str] = "no_purchase_within"
    days: float = attrs.field(default=90, validator=_check_factor)
    name: str = attrs.field(default="no recent purchase", validator=_check_name)
    severity: int = attrs.field(default=2, validator=_check_severity)

    def features(self) -> frozenset[str]:
        return frozenset({"frequency", "recency"})

    def evaluate(self, ctx: ChurnContext) -> RuleOutcome:
        recency = ctx.column("recency")
        fired = (ctx.column("frequency") >= 1) & (recency > self.days)
        return RuleOutcome(fired=fired, values={"silent_days": recency})

    def describe(self, values: Mapping[str, float]) -> str:
        return (
            f"no purchase for {format_number(values['silent_days'])} days "
            f"> {format_number(self.days)}"
        )


def _check_percent(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    _positive(type(instance).__name__, attribute.name, value)
    if value > 100:
        raise ValidationError(f"{type(instance).__name__}.{attribute.name}", value, "at most 100")


def _check_days(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    _positive_int(type(instance).__name__, attribute.name, value)


@attrs.frozen(kw_only=True)
class SpendDrop(ChurnRule):
    """Net spend of the last ``days`` days down more than ``percent`` % on the ``days`` before.

    Values (major units): ``previous_spend``, ``current_spend``, ``drop_percent``.
    """

    type_name: ClassVar[str] = "spend_drop"
    money_values: ClassVar[frozenset[str]] = frozenset({"previous_spend", "current_spend"})
    percent: float = attrs.field(default=50, validator=_check_percent)
    days: int = attrs.field(default=90, validator=_check_days)
    name: str = attrs.field(default="spend down", validator=_check_name)
    severity: int = attrs.field(default=1, validator=_check_severity)

    def features(self) -> frozenset[str]:
        return frozenset({f"spend_{self.days}d", f"spend_prev_{self.days}d"})

    def evaluate(self, ctx: ChurnContext) -> RuleOutcome:
        scale = ctx.money_scale()
        current = ctx.column(f"spend_{self.days}d") / scale
        previous = ctx.column(f"spend_prev_{self.days}d") / scale
        drop = np.full(ctx.n, np.nan)
        np.divide((previous - current) * 100.0, previous, out=drop, where=previous > 0)
        fired = drop > self.percent
        return RuleOutcome(
            fired=fired,
            values={"previous_spend": previous, "current_spend": current, "drop_percent": drop},
        )

    def describe(self, values: Mapping[str, float]) -> str:
        return (
            f"spend in the last {self.days} days {format_number(values['current_spend'])} "
            f"vs {format_number(values['previous_spend'])} before: down "
            f"{format_number(values['drop_percent'])}% > {format_number(self.percent)}%"
        )


@attrs.frozen(kw_only=True)
class UnresolvedComplaint(ChurnRule):
    """At least ``min_count`` complaints still unresolved."""

    type_name: ClassVar[str] = "unresolved_complaint"
    needs_interactions: ClassVar[bool] = True
    min_count: int = attrs.field(default=1, validator=_check_days)
    name: str = attrs.field(default="unresolved complaint", validator=_check_name)
    severity: int = attrs.field(default=1, validator=_check_severity)

    def features(self) -> frozenset[str]:
        return frozenset({"complaint_unresolved"})

    def evaluate(self, ctx: ChurnContext) -> RuleOutcome:
        count = ctx.column("complaint_unresolved")
        return RuleOutcome(fired=count >= self.min_count, values={"unresolved": count})

    def describe(self, values: Mapping[str, float]) -> str:
        return f"{format_number(values['unresolved'])} unresolved complaint(s)"


def _check_drop(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    _positive(type(instance).__name__, attribute.name, value)
    if value > 4:
        raise ValidationError(
            f"{type(instance).__name__}.{attribute.name}", value, "at most 4 stars"
        )


@attrs.frozen(kw_only=True)
class FallingReviews(ChurnRule):
    """Mean review of the last ``days`` days at least ``min_drop`` below the ``days`` before.

    Read from the interaction frame (reviews with a rating). Values: ``previous_mean``,
    ``recent_mean`` (stars).
    """

    type_name: ClassVar[str] = "falling_reviews"
    needs_interactions: ClassVar[bool] = True
    days: int = attrs.field(default=180, validator=_check_days)
    min_drop: float = attrs.field(default=1.0, validator=_check_drop)
    name: str = attrs.field(default="falling reviews", validator=_check_name)
    severity: int = attrs.field(default=1, validator=_check_severity)

    def features(self) -> frozenset[str]:
        return frozenset()

    def evaluate(self, ctx: ChurnContext) -> RuleOutcome:
        n = ctx.n
        frame = ctx.interactions
        if frame is None:
            nan = np.full(n, np.nan)
            return RuleOutcome(
                fired=np.zeros(n, dtype=np.bool_),
                values={"previous_mean": nan, "recent_mean": nan.copy()},
            )
        end = ctx.as_of_us()
        span = self.days * _DAY_US
        at = np.asarray(frame.at)
        rating = np.asarray(frame.rating).astype(np.float64)
        rows = ctx.rows_of(frame)
        review = (
            (np.asarray(frame.kind) == KIND_CODES.index(InteractionKind.REVIEW))
            & (rating > 0)
            & (rows >= 0)
        )
        recent = review & (at > end - span) & (at <= end)
        previous = review & (at > end - 2 * span) & (at <= end - span)

        def mean(mask: BoolArray) -> FloatArray:
            counts = np.bincount(rows[mask], minlength=n)
            sums = np.bincount(rows[mask], weights=rating[mask], minlength=n)
            out = np.full(n, np.nan)
            np.divide(sums, counts, out=out, where=counts > 0)
            return out

        recent_mean, previous_mean = mean(recent), mean(previous)
        fired = (previous_mean - recent_mean) >= self.min_drop - 1e-12
        return RuleOutcome(
            fired=fired, values={"previous_mean": previous_mean, "recent_mean": recent_mean}
        )

    def describe(self, values: Mapping[str, float]) -> str:
        return (
            f"reviews fell from {format_number(values['previous_mean'])} to "
            f"{format_number(values['recent_mean'])} stars (last {self.days} days)"
        )


def _check_probability(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
        raise ValidationError(
            f"{type(instance).__name__}.{attribute.name}", value, "a probability in (0, 1)"
        )


@attrs.frozen(kw_only=True)
class ModelAliveBelow(ChurnRule):
    """BG/NBD probability alive below ``threshold`` (needs scipy and the order frame).

    The model is fitted on the population's order history up to ``as_of``
    (:func:`custmgmt.analytics.clv.summarize_transactions` with daily periods, then
    :class:`custmgmt.analytics.clv.BetaGeo`). Values: ``p_alive``.
    """

    type_name: ClassVar[str] = "model_alive_below"
    threshold: float = attrs.field(default=0.3, validator=_check_probability)
    name: str = attrs.field(default="model: probably gone", validator=_check_name)
    severity: int = attrs.field(default=2, validator=_check_severity)

    def features(self) -> frozenset[str]:
        return frozenset({"frequency"})

    def summary(self, ctx: ChurnContext) -> Any:
        """The transaction summary the model is fitted on and predicts for (customers
        named by their row in the features), or None without a counted order."""
        orders = ctx.orders
        if orders is None:
            raise ValidationError("orders", None, "an OrderFrame for the model rule")
        rows = ctx.rows_of(orders)
        keep = (
            (np.asarray(orders.status) != STATUS_CODES.index(OrderStatus.CANCELLED))
            & (np.asarray(orders.placed_at) <= ctx.as_of_us())
            & (rows >= 0)
        )
        if not keep.any():
            return None
        return summarize_transactions(
            rows[keep], np.asarray(orders.placed_at)[keep], observation_end=ctx.as_of
        )

    def model(self, summary: Any) -> BetaGeo:
        """The BG/NBD model of the population whose summary is ``summary``."""
        return self.fit_model(summary.frequency, summary.recency, summary.T)

    @staticmethod
    def fit_model(frequency: Any, recency: Any, T: Any, weights: Any = None) -> BetaGeo:
        """The rule's BG/NBD model fitted on summary rows (``weights``: how many
        customers share each row; the fit merges identical rows the same way, so
        distinct rows with their counts give the model all rows give)."""
        return BetaGeo().fit(frequency, recency, T, weights=weights)

    def evaluate(self, ctx: ChurnContext) -> RuleOutcome:
        p_alive = np.full(ctx.n, np.nan)
        summary = self.summary(ctx)
        if summary is not None:
            model = self.model(summary)
            alive = model.probability_alive(summary.frequency, summary.recency, summary.T)
            p_alive[np.asarray(summary.customer_ids, dtype=np.int64)] = alive
        return RuleOutcome(fired=p_alive < self.threshold, values={"p_alive": p_alive})

    def describe(self, values: Mapping[str, float]) -> str:
        return (
            f"probability still active {values['p_alive']:.0%} < {self.threshold:.0%} "
            "(BG/NBD model)"
        )


_RULE_TYPES: dict[str, type[ChurnRule]] = {
    cls.type_name: cls
    for cls in (
        PurchaseCycleRule,
        NoPurchaseWithin,
        SpendDrop,
        UnresolvedComplaint,
        FallingReviews,
        ModelAliveBelow,
    )
}


def churn_rule_from_dict(data: Mapping[str, Any]) -> ChurnRule:
    """Build a rule from :meth:`ChurnRule.to_dict`'s form.

    Raises:
        ValidationError: an unknown type or parameter, or a bad value.
    """
    if not isinstance(data, Mapping):
        raise ValidationError("churn_rule", data, "a mapping")
    kind = data.get("type")
    cls = _RULE_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ValidationError("churn_rule.type", kind, f"one of {', '.join(sorted(_RULE_TYPES))}")
    params = {k: v for k, v in data.items() if k != "type"}
    known = {a.name for a in attrs.fields(cast(Any, cls))}
    unknown = sorted(set(params) - known)
    if unknown:
        raise ValidationError("churn_rule", unknown, f"parameters among {sorted(known)}")
    return cls(**params)
