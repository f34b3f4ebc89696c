"""Churn flags per partition of customers, with the population's quantities exact.

The churn rules are per customer except the purchase-cycle rule's fallbacks, which
are population-wide: the population cycle (the median, or mean, of the customers' own
cycles) and each category's cycle (the median, or mean, gap after an order of it).
Here each fallback is split into a *gather* (what one partition of customers
contributes: its customers' own cycles, its gaps per category, in customer order) and
a *reduce* (the population's value from everyone's gathered vectors), and the rule
is then *frozen* with those values (:class:`PopulationCycleRule`), so evaluating any
partition gives its customers exactly what the engine gives them on the whole frame.

Two runners share these functions, one code path:

* :func:`evaluate_partitioned` (and ``ChurnEngine.evaluate(..., threads=)``): the
  single machine's partitioned engine (:mod:`custmgmt.analytics.partitioned`);
  partitions are contiguous ranges of customers, concatenated in customer order, so
  even a mean over gathered values sums in the single frame's order (bit for bit);
* :mod:`custmgmt.distributed.pipeline`: Dask partitions, hash-shuffled by customer,
  where only order-free statistics (medians) are exact (:func:`check_engine`).

Rules the partitioned engine does not know to be per customer (the BG/NBD model
rule, which fits one model on everyone, and rule classes of a host's own) make
:func:`supports_partitions` false: the engine then runs on the whole frame.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from custmgmt.analytics import partitioned as engine_parts
from custmgmt.analytics.frames import STATUS_CODES, InteractionFrame, OrderFrame
from custmgmt.churn.rules import (
    ChurnContext,
    ChurnRule,
    FallingReviews,
    ModelAliveBelow,
    NoPurchaseWithin,
    PurchaseCycleRule,
    SpendDrop,
    UnresolvedComplaint,
    _median_by_group,
)
from custmgmt.domain.order import OrderStatus
from custmgmt.domain.time import require_aware, to_epoch_micros
from custmgmt.errors import ValidationError
from custmgmt.segmentation.inputs import segment_features

# ChurnEngine and ChurnReport are typed Any here: custmgmt.churn.engine imports this
# module (its evaluate(threads=) runs evaluate_partitioned), and the library keeps
# its import graph free of cycles, even type-only ones.
ChurnEngine = Any
ChurnReport = Any
__all__ = [
    "PopulationCycleRule",
    "as_of_micros",
    "category_gaps",
    "check_counts",
    "check_engine",
    "churn_gather",
    "churn_population",
    "concat_churn",
    "estimated_partitions",
    "evaluate_partitioned",
    "freeze_engine",
    "median_days",
    "own_cycles",
    "supports_partitions",
]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
_DAY_US = 86_400_000_000
#: Rule classes whose verdicts depend on the customer's own rows only (the purchase
#: cycle's population fallbacks are gathered and frozen, see the module docstring).
PER_CUSTOMER_RULES: tuple[type[ChurnRule], ...] = (
    PurchaseCycleRule,
    NoPurchaseWithin,
    SpendDrop,
    UnresolvedComplaint,
    FallingReviews,
)


def as_of_micros(value: Any) -> int:
    """``as_of`` in µs since the epoch."""
    return int(to_epoch_micros(value))


def supports_partitions(engine: ChurnEngine) -> bool:
    """Whether every rule of ``engine`` can run per partition with exact results:
    the shipped per-customer rules, by exact class (a subclass may read the
    population)."""
    return all(type(rule) in PER_CUSTOMER_RULES for rule in engine.rules)


# -- the purchase-cycle fallbacks: gather ---------------------------------------------
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
    counted order, in customer order: a partition's share of the category cycles."""
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


def own_cycles(features: Any, statistic: str) -> F64:
    """A partition's customers' own cycles (those the population cycle is of)."""
    own = np.asarray(features[f"interval_{statistic}"], dtype=np.float64)
    frequency = np.asarray(features["frequency"], dtype=np.float64)
    cycle = np.where((frequency >= 2) & (own > 0), own, np.nan)
    return cycle[~np.isnan(cycle)]


def churn_gather(engine: ChurnEngine, features: Any, orders: OrderFrame, as_of: datetime) -> dict[
    str, Any
]:
    """What one partition sends for the population: per purchase-cycle rule its
    customers' own cycles (``own:NAME``) and its gaps per category (``gaps:NAME``)."""
    gathered: dict[str, Any] = {}
    as_of_us = as_of_micros(as_of)
    for rule in engine.rules:
        if isinstance(rule, PurchaseCycleRule):
            gathered[f"own:{rule.name}"] = own_cycles(features, rule.statistic)
            if rule.fallback == "category":
                gathered[f"gaps:{rule.name}"] = category_gaps(features, orders, as_of_us)
    return gathered


# -- reduce and freeze ----------------------------------------------------------------
def median_days(gaps: Sequence[I64]) -> float:
    """The median of gathered gaps in days, as ``_median_by_group`` computes it."""
    return _statistic_days(gaps, "median")


def _statistic_days(gaps: Sequence[I64], statistic: str) -> float:
    values = np.concatenate(gaps) if gaps else np.zeros(0, dtype=np.int64)
    values = np.asarray(values, dtype=np.int64)
    # The very function category_cycles calls, on the gaps in customer order: a mean
    # sums them in the single frame's order.
    group = np.zeros(values.shape[0], dtype=np.int64)
    return float(_median_by_group(group, values, 1, statistic)[0] / _DAY_US)


def churn_population(engine: ChurnEngine, gathered: Sequence[Mapping[str, Any]]) -> ChurnEngine:
    """``engine`` frozen with the population's fallbacks, from every partition's
    :func:`churn_gather` (in customer order for a mean to be exact)."""
    population_days: dict[str, float] = {}
    category: dict[str, dict[str, float]] = {}
    for rule in engine.rules:
        if not isinstance(rule, PurchaseCycleRule):
            continue
        own = np.concatenate([g[f"own:{rule.name}"] for g in gathered] or [np.zeros(0)])
        if own.size:
            value = np.median(own) if rule.statistic == "median" else np.mean(own)
            population_days[rule.name] = float(value)
        else:
            population_days[rule.name] = math.nan
        if rule.fallback == "category":
            key = f"gaps:{rule.name}"
            names = sorted({n for g in gathered for n in g[key]})
            category[rule.name] = {
                n: _statistic_days([g[key][n] for g in gathered if n in g[key]], rule.statistic)
                for n in names
            }
    return freeze_engine(engine, population_days, category)


@attrs.frozen(kw_only=True)
class PopulationCycleRule(PurchaseCycleRule):
    """:class:`PurchaseCycleRule` with the population's fallbacks given, not computed
    from the frame: ``population_days`` (the population cycle) and ``category_days``
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


def check_engine(engine: ChurnEngine) -> None:
    """Refuse rules whose population quantities a cluster cannot gather exactly
    (its partitions are not in customer order)."""
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
    rules: list[ChurnRule] = []
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


def _thawed(rule: ChurnRule) -> ChurnRule:
    if isinstance(rule, PopulationCycleRule):
        return PurchaseCycleRule(
            **{a.name: getattr(rule, a.name) for a in attrs.fields(PurchaseCycleRule)}
        )
    return rule


def concat_churn(
    parts: Sequence[ChurnReport], order: npt.NDArray[np.intp] | None = None
) -> ChurnReport:
    """Join per-partition reports (in customer order, or put in it by ``order``),
    naming the engine's own rules (not their frozen stand-ins).

    Raises:
        ValidationError: no parts.
    """
    if not parts:
        raise ValidationError("parts", 0, "at least one partition's churn report")

    def join(arrays: Sequence[Any]) -> Any:
        out = np.concatenate(arrays)
        return out if order is None else out[order]

    first = parts[0]
    return attrs.evolve(
        first,
        customer_ids=join([np.asarray(p.customer_ids) for p in parts]),
        rules=tuple(_thawed(rule) for rule in first.rules),
        fired=join([p.fired for p in parts]),
        values={
            rule: {k: join([p.values[rule][k] for p in parts]) for k in cols}
            for rule, cols in first.values.items()
        },
        score=join([p.score for p in parts]),
        risk=join([p.risk for p in parts]),
        reason=join([p.reason for p in parts]),
        evidence=join([p.evidence for p in parts]),
    )


# -- the single machine's runner ------------------------------------------------------
def check_counts(threads: int, partitions: int | None) -> None:
    """Refuse a ``threads`` or ``partitions`` that is not a positive integer.

    Raises:
        ValidationError: naming the argument and its value.
    """
    engine_parts.partition_bounds(1, 0, threads, partitions)


def estimated_partitions(
    orders: OrderFrame, interactions: InteractionFrame | None, threads: int, partitions: int | None
) -> int:
    """How many partitions :func:`~custmgmt.analytics.partitioned.split_frames` will
    make (the joint customer index is at least the larger of the two)."""
    n_customers = orders.n_customers
    n_rows = len(orders)
    if interactions is not None:
        n_customers = max(n_customers, interactions.n_customers)
        n_rows += len(interactions)
    return len(engine_parts.partition_bounds(n_customers, n_rows, threads, partitions)) - 1


def evaluate_partitioned(
    engine: ChurnEngine,
    orders: OrderFrame,
    interactions: InteractionFrame | None = None,
    *,
    as_of: datetime,
    threads: int,
    partitions: int | None = None,
) -> ChurnReport:
    """``engine.evaluate(orders, interactions, as_of=as_of)`` per partition of
    customers on ``threads`` threads: the identical report.

    Raises:
        ValidationError: as ``ChurnEngine.evaluate``; a rule that cannot run per
            partition (see :func:`supports_partitions`).
    """
    require_aware("as_of", as_of)
    if not supports_partitions(engine):
        raise ValidationError(
            "engine.rules",
            [r.name for r in engine.rules if type(r) not in PER_CUSTOMER_RULES],
            "per-customer rules to run per partition",
        )
    needed = sorted(engine.required_features(interactions=interactions is not None))
    customer_ids, parts = engine_parts.split_frames(
        orders, interactions, threads=threads, partitions=partitions
    )

    def first(frames: engine_parts.PartFrames) -> tuple[Any, dict[str, Any]]:
        part_orders, part_interactions = frames
        features = segment_features(part_orders, part_interactions, as_of=as_of, extra=needed)
        return features, churn_gather(engine, features, _orders_of(part_orders), as_of)

    stage_one = engine_parts.run_on_threads(threads, first, parts)
    frozen = churn_population(engine, [g for _, g in stage_one])

    def second(item: tuple[engine_parts.PartFrames, tuple[Any, dict[str, Any]]]) -> ChurnReport:
        (part_orders, part_interactions), (features, _) = item
        return frozen.evaluate(part_orders, part_interactions, as_of=as_of, features=features)

    reports = engine_parts.run_on_threads(threads, second, list(zip(parts, stage_one, strict=True)))
    # Partitions are ranges of the customer index, in order: their reports join as is.
    del customer_ids
    return concat_churn(reports)


def _orders_of(frame: OrderFrame | None) -> OrderFrame:
    if frame is None:  # split_frames gives every partition an OrderFrame when given one
        raise ValidationError("orders", None, "an OrderFrame")
    return frame
