"""Population-wide quantities computed once from gathered per-customer vectors, then
applied per partition: exactly what the single-frame code computes on everyone.

Each helper here pairs a *gather* (what a partition sends: small per-customer
vectors, or per-category gap values) with an *apply* (what a partition does with the
population's value). numpy only; the tests compare each pair with the single-frame
function it stands for.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from custmgmt.analytics.frames import STATUS_CODES, OrderFrame
from custmgmt.churn import ChurnEngine
from custmgmt.churn.rules import ChurnContext, ModelAliveBelow, PurchaseCycleRule
from custmgmt.domain.order import OrderStatus
from custmgmt.domain.time import to_epoch_micros
from custmgmt.errors import ValidationError
from custmgmt.segmentation.rules import (
    AllOf,
    AnyOf,
    Compare,
    Not,
    QuantileCut,
    Rule,
    quantile_cut,
)
from custmgmt.segmentation.schemes import Scheme

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
_DAY_US = 86_400_000_000


# -- RFM quintiles -------------------------------------------------------------------
def quintile_cuts(values: F64) -> F64:
    """The four order statistics :func:`custmgmt.segmentation.rfm.quantile_scores`
    cuts at (ranks ``ceil(k n / 5) - 1``), of the whole population's values."""
    n = int(values.shape[0])
    if n == 0:
        return np.zeros(0)
    ranks = [-(-k * n // 5) - 1 for k in range(1, 5)]
    return np.asarray(np.partition(values, ranks)[ranks], dtype=np.float64)


def quintile_scores_at(values: F64, cuts: F64) -> npt.NDArray[np.int8]:
    """``quantile_scores`` of ``values`` against the population's ``cuts``."""
    scores = np.ones(values.shape[0], dtype=np.int8)
    for cut in cuts:
        scores += values > cut
    return scores


# -- rule schemes ---------------------------------------------------------------------
def quantile_rules(rule: Rule) -> list[QuantileCut]:
    """Every :class:`QuantileCut` inside ``rule``."""
    if isinstance(rule, QuantileCut):
        return [rule]
    if isinstance(rule, AllOf | AnyOf):
        return [q for r in rule.rules for q in quantile_rules(r)]
    if isinstance(rule, Not):
        return quantile_rules(rule.rule)
    return []


def scheme_quantiles(schemes: Sequence[Scheme]) -> list[tuple[str, float]]:
    """The (feature, q) pairs the schemes' quantile cuts need."""
    return sorted(
        {
            (q.feature, float(q.q))
            for s in schemes
            for seg in s.segments
            for q in quantile_rules(seg.rule)
        }
    )


def population_cuts(
    columns: Mapping[str, F64], pairs: Sequence[tuple[str, float]]
) -> dict[tuple[str, float], float]:
    """Each (feature, q)'s cut on the gathered population column."""
    return {
        (name, q): quantile_cut(np.asarray(columns[name], dtype=np.float64), q) for name, q in pairs
    }


def _freeze_rule(rule: Rule, cuts: Mapping[tuple[str, float], float]) -> Rule:
    if isinstance(rule, QuantileCut):
        cut = cuts[(rule.feature, float(rule.q))]
        if math.isnan(cut):  # no value in the population: the cut holds for nobody
            return Compare(feature=rule.feature, op="!=", value=0.0) & ~Compare(
                feature=rule.feature, op="!=", value=0.0
            )
        return Compare(feature=rule.feature, op=rule.op, value=cut, label=rule.label)
    if isinstance(rule, AllOf):
        return AllOf(rules=tuple(_freeze_rule(r, cuts) for r in rule.rules))
    if isinstance(rule, AnyOf):
        return AnyOf(rules=tuple(_freeze_rule(r, cuts) for r in rule.rules))
    if isinstance(rule, Not):
        return Not(rule=_freeze_rule(rule.rule, cuts))
    return rule


def freeze_scheme(scheme: Scheme, cuts: Mapping[tuple[str, float], float]) -> Scheme:
    """``scheme`` with each quantile cut replaced by the population's cut value: the
    same membership on any part of the population as the scheme on all of it."""
    segments = tuple(
        attrs.evolve(seg, rule=_freeze_rule(seg.rule, cuts)) for seg in scheme.segments
    )
    return attrs.evolve(scheme, segments=segments)


# -- churn: the purchase-cycle fallbacks ---------------------------------------------
def _kept_orders(features: Any, orders: OrderFrame, as_of_us: int) -> tuple[I64, I64, I64]:
    """Counted orders by ``as_of`` as (customer row, time, category), sorted by
    (customer, time, category), as :func:`custmgmt.churn.rules.category_cycles` takes
    them."""
    codes = np.asarray(features.codes_of(np.asarray(orders.customer_ids)))
    rows = np.asarray(codes[np.asarray(orders.customer_code)], dtype=np.int64)
    cancelled = STATUS_CODES.index(OrderStatus.CANCELLED)
    keep = (
        (np.asarray(orders.status) != cancelled)
        & (np.asarray(orders.placed_at) <= as_of_us)
        & (rows >= 0)
    )
    code = rows[keep]
    at = np.asarray(orders.placed_at, dtype=np.int64)[keep]
    category = np.asarray(orders.category, dtype=np.int64)[keep]
    order = np.lexsort((category, at, code))
    return code[order], at[order], category[order]


def category_gaps(features: Any, orders: OrderFrame, as_of_us: int) -> dict[str, I64]:
    """Per category name, the gaps (µs) from an order of it to the customer's next
    counted order: a partition's share of the category cycles' population."""
    code, at, category = _kept_orders(features, orders, as_of_us)
    same = code[1:] == code[:-1]
    gaps = (at[1:] - at[:-1])[same]
    gap_category = category[:-1][same]
    out: dict[str, I64] = {}
    for c, name in enumerate(orders.category_names):
        mine = gaps[gap_category == c]
        if mine.size:
            out[name] = mine
    return out


def median_days(gaps: Sequence[I64]) -> float:
    """The median of gathered gaps in days, as ``_median_by_group`` computes it."""
    values = np.sort(np.concatenate(gaps)) if gaps else np.zeros(0, dtype=np.int64)
    count = int(values.shape[0])
    if count == 0:
        return math.nan
    lo, hi = (count - 1) // 2, count // 2
    median_us = (float(values[lo]) + float(values[hi])) / 2.0
    return median_us / _DAY_US


@attrs.frozen(kw_only=True)
class PopulationCycleRule(PurchaseCycleRule):
    """:class:`PurchaseCycleRule` with the population's fallbacks given, not computed
    from the frame: ``population_days`` (median own cycle) and ``category_days``
    (per category name); its verdicts and words are the original rule's."""

    population_days: float = math.nan
    category_days: tuple[tuple[str, float], ...] = ()

    def cycles(self, ctx: ChurnContext) -> tuple[F64, npt.NDArray[np.int8]]:
        own = ctx.column(f"interval_{self.statistic}")
        frequency = ctx.column("frequency")
        cycle = np.where((frequency >= 2) & (own > 0), own, np.nan)
        source = np.zeros(ctx.n, dtype=np.int8)
        if self.fallback == "category" and ctx.orders is not None:
            by_name = dict(self.category_days)
            orders = ctx.orders
            table = np.asarray(
                [by_name.get(name, math.nan) for name in orders.category_names] or [math.nan]
            )
            code, _, category = _kept_orders(ctx.features, orders, ctx.as_of_us())
            last = np.ones(code.shape[0], dtype=np.bool_)
            last[:-1] = code[1:] != code[:-1]
            by_customer = np.full(ctx.n, np.nan)
            known = category[last] >= 0
            by_customer[code[last][known]] = table[category[last][known]]
            use = np.isnan(cycle) & (by_customer > 0)
            cycle[use] = by_customer[use]
            source[use] = 1
        use = np.isnan(cycle)
        if self.population_days > 0:
            cycle[use] = self.population_days
            source[use] = 2
        return cycle, source


def own_cycles(features: Any, statistic: str) -> F64:
    """A partition's customers' own cycles (those the population median is of)."""
    own = np.asarray(features[f"interval_{statistic}"], dtype=np.float64)
    frequency = np.asarray(features["frequency"], dtype=np.float64)
    cycle = np.where((frequency >= 2) & (own > 0), own, np.nan)
    return cycle[~np.isnan(cycle)]


def check_engine(engine: ChurnEngine) -> None:
    """Refuse rules whose population quantities are not gathered exactly here."""
    for rule in engine.rules:
        if isinstance(rule, PurchaseCycleRule) and rule.statistic != "median":
            raise ValidationError(
                f"{rule.name}.statistic",
                rule.statistic,
                "median on a cluster (a mean of float gaps depends on the summation order)",
            )
        if isinstance(rule, ModelAliveBelow):
            raise ValidationError(
                "engine.rules", rule.name, "rules without a population model on a cluster"
            )


def freeze_engine(
    engine: ChurnEngine,
    population_days: Mapping[str, float],
    category: Mapping[str, dict[str, float]],
) -> ChurnEngine:
    """``engine`` with each purchase-cycle rule given its population fallbacks (by
    rule name)."""
    rules = []
    for rule in engine.rules:
        if isinstance(rule, PurchaseCycleRule):
            fields = {a.name: getattr(rule, a.name) for a in attrs.fields(PurchaseCycleRule)}
            rule = PopulationCycleRule(
                **fields,
                population_days=population_days.get(rule.name, math.nan),
                category_days=tuple(sorted(category.get(rule.name, {}).items())),
            )
        rules.append(rule)
    return attrs.evolve(engine, rules=tuple(rules))


def as_of_micros(value: Any) -> int:
    """``as_of`` in µs since the epoch."""
    return int(to_epoch_micros(value))


__all__ = [
    "PopulationCycleRule",
    "as_of_micros",
    "category_gaps",
    "check_engine",
    "freeze_engine",
    "freeze_scheme",
    "median_days",
    "own_cycles",
    "population_cuts",
    "quantile_rules",
    "quintile_cuts",
    "quintile_scores_at",
    "scheme_quantiles",
]
