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
* :mod:`custmgmt.distributed.pipeline`: Dask partitions, hash-shuffled by customer.
  A median does not depend on the order of its values; for a mean each partition
  also sends where its values belong in customer order (:func:`order_keys`) and
  :func:`in_customer_order` re-deals the gathered vectors so that their
  concatenation is in the single frame's order, so the mean sums them in the same
  order, bit for bit. The BG/NBD model rule (:class:`ModelAliveBelow`) is gathered
  too: each partition sends its distinct (frequency, recency, T) rows with their
  counts (``model:NAME``), the model is fitted once on all of them
  (:class:`PopulationModelRule`) and predicts per partition.

Rules the thread runner does not know to be per customer (the BG/NBD model rule and
rule classes of a host's own) make :func:`supports_partitions` false: the engine
then runs on the whole frame. On a cluster, rule classes of a host's own are refused
(:func:`check_engine`).
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
    "PopulationModelRule",
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
    "in_customer_order",
    "median_days",
    "order_keys",
    "own_cycles",
    "supports_partitions",
]

AnyArray = npt.NDArray[Any]
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


def _own_cycle_mask(features: Any, statistic: str) -> tuple[F64, npt.NDArray[np.bool_]]:
    own = np.asarray(features[f"interval_{statistic}"], dtype=np.float64)
    frequency = np.asarray(features["frequency"], dtype=np.float64)
    cycle = np.where((frequency >= 2) & (own > 0), own, np.nan)
    return cycle, ~np.isnan(cycle)


def own_cycles(features: Any, statistic: str) -> F64:
    """A partition's customers' own cycles (those the population cycle is of)."""
    cycle, known = _own_cycle_mask(features, statistic)
    return cycle[known]


def _category_gap_rows(features: Any, orders: OrderFrame, as_of_us: int) -> dict[str, I64]:
    """Per category name, the features row of the customer of each gap
    :func:`category_gaps` sends (aligned with its gaps)."""
    code, _, category = _kept_orders(features, orders, as_of_us)
    same = code[1:] == code[:-1]
    gap_row = code[:-1][same]
    gap_category = category[:-1][same]
    out: dict[str, I64] = {}
    for c, name in enumerate(orders.category_names):
        mine = gap_row[gap_category == c]
        if mine.size:
            out[name] = mine
    return out


def _model_rows(rule: ModelAliveBelow, features: Any, orders: OrderFrame, as_of: datetime) -> Any:
    """A partition's distinct (frequency, recency, T) rows of the model rule's
    summary and how many customers share each."""
    summary = rule.summary(ChurnContext(features=features, as_of=as_of, orders=orders))
    if summary is None:
        return np.zeros((0, 3)), np.zeros(0)
    stacked = np.column_stack(
        [np.asarray(c, dtype=np.float64) for c in (summary.frequency, summary.recency, summary.T)]
    )
    rows, counts = np.unique(stacked, axis=0, return_counts=True)
    return rows, counts.astype(np.float64)


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
        elif isinstance(rule, ModelAliveBelow):
            gathered[f"model:{rule.name}"] = _model_rows(rule, features, orders, as_of)
    return gathered


def _mean_rules(engine: ChurnEngine) -> list[PurchaseCycleRule]:
    return [r for r in engine.rules if isinstance(r, PurchaseCycleRule) and r.statistic == "mean"]


def order_keys(engine: ChurnEngine, features: Any, orders: OrderFrame, as_of: datetime) -> dict[
    str, Any
]:
    """Where a partition's :func:`churn_gather` values belong in customer order, for
    partitions that are not ranges of customers (a cluster's): the partition's
    customer ids (``ids``) and, per purchase-cycle rule that takes a mean, the
    features row of each own cycle (``own_rows:NAME``) and, per category, of each
    gap (``gap_rows:NAME``). Empty when no rule takes a mean (a median needs no
    order)."""
    means = _mean_rules(engine)
    if not means:
        return {}
    keys: dict[str, Any] = {"ids": np.asarray(features.customer_ids)}
    as_of_us = as_of_micros(as_of)
    for rule in means:
        _, known = _own_cycle_mask(features, rule.statistic)
        keys[f"own_rows:{rule.name}"] = np.flatnonzero(known)
        if rule.fallback == "category":
            keys[f"gap_rows:{rule.name}"] = _category_gap_rows(features, orders, as_of_us)
    return keys


def in_customer_order(
    engine: ChurnEngine, gathered: Sequence[Mapping[str, Any]], keys: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The partitions' :func:`churn_gather` outputs, their mean rules' vectors
    re-dealt so that concatenating them (as :func:`churn_population` does) gives
    the values in customer-id order, the order of the single frame: the first
    partition gets every partition's values of a mean rule, sorted by customer (a
    customer's gaps keep their order), the others none. ``keys[p]`` is partition
    ``p``'s :func:`order_keys`; other entries are left as they are.

    Raises:
        ValidationError: not one ``keys`` per ``gathered``.
    """
    if len(keys) != len(gathered):
        raise ValidationError("keys", len(keys), f"one per partition ({len(gathered)})")
    out = [dict(g) for g in gathered]
    means = _mean_rules(engine)
    used = [p for p, k in enumerate(keys) if k]
    if not means or not used:
        return out
    ids = np.concatenate([np.asarray(keys[p]["ids"]) for p in used])
    rank = np.empty(ids.shape[0], dtype=np.int64)
    rank[np.argsort(ids, kind="stable")] = np.arange(ids.shape[0])
    starts = dict(zip(used, np.cumsum([0] + [len(keys[p]["ids"]) for p in used[:-1]]), strict=True))

    def ordered(values: Sequence[AnyArray], rows: Sequence[AnyArray], dtype: Any) -> AnyArray:
        if not values:
            return np.zeros(0, dtype=dtype)
        joined = np.concatenate(values)
        where = np.concatenate(rows)
        return joined[np.argsort(where, kind="stable")]

    first = used[0]
    for rule in means:
        own_key = f"own:{rule.name}"
        out[first][own_key] = ordered(
            [np.asarray(gathered[p][own_key]) for p in used],
            [rank[starts[p] + np.asarray(keys[p][f"own_rows:{rule.name}"])] for p in used],
            np.float64,
        )
        for p in used[1:]:
            out[p][own_key] = np.zeros(0)
        if rule.fallback != "category":
            continue
        gap_key = f"gaps:{rule.name}"
        names = sorted({n for p in used for n in gathered[p][gap_key]})
        by_name = {}
        for name in names:
            have = [p for p in used if name in gathered[p][gap_key]]
            by_name[name] = ordered(
                [gathered[p][gap_key][name] for p in have],
                [rank[starts[p] + keys[p][f"gap_rows:{rule.name}"][name]] for p in have],
                np.int64,
            )
        out[first][gap_key] = by_name
        for p in used[1:]:
            out[p][gap_key] = {}
    return out


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
    models: dict[str, Any] = {}
    for rule in engine.rules:
        if isinstance(rule, ModelAliveBelow):
            models[rule.name] = _population_model(
                rule, [g[f"model:{rule.name}"] for g in gathered]
            )
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
    return freeze_engine(engine, population_days, category, models)


def _population_model(rule: ModelAliveBelow, parts: Sequence[tuple[F64, F64]]) -> Any:
    """The rule's model fitted once on every partition's distinct rows and counts
    (None when nobody has a counted order: then no partition asks for it)."""
    rows = np.concatenate([np.asarray(p[0], dtype=np.float64).reshape(-1, 3) for p in parts])
    counts = np.concatenate([np.asarray(p[1], dtype=np.float64) for p in parts])
    if rows.shape[0] == 0:
        return None
    distinct, inverse = np.unique(rows, axis=0, return_inverse=True)
    weights = np.bincount(inverse.ravel(), weights=counts, minlength=distinct.shape[0])
    return rule.fit_model(distinct[:, 0], distinct[:, 1], distinct[:, 2], weights=weights)


@attrs.frozen(kw_only=True)
class PopulationModelRule(ModelAliveBelow):
    """:class:`ModelAliveBelow` with the population's model given (``fitted``,
    fitted once on every partition's summary rows), not fitted on the frame it
    evaluates; its verdicts and words are the original rule's."""

    fitted: Any = attrs.field(default=None, eq=False, repr=False)

    def model(self, summary: Any) -> Any:
        if self.fitted is None:
            raise ValidationError(self.name, None, "a model fitted on the population")
        return self.fitted


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
    """Refuse rules a cluster cannot give the single frame's verdicts: rule classes
    other than the library's own (a host's own rule, or a subclass, may read the
    population, which no partition holds).

    Raises:
        ValidationError: naming the rules refused.
    """
    known = (*PER_CUSTOMER_RULES, ModelAliveBelow)
    foreign = [rule.name for rule in engine.rules if type(rule) not in known]
    if foreign:
        raise ValidationError(
            "engine.rules", foreign, "the library's own churn rule classes on a cluster"
        )


def freeze_engine(
    engine: ChurnEngine,
    population_days: Mapping[str, float],
    category: Mapping[str, dict[str, float]],
    models: Mapping[str, Any] | None = None,
) -> ChurnEngine:
    """``engine`` with each purchase-cycle rule given its population fallbacks and
    each model rule its population's model (by rule name)."""
    rules: list[ChurnRule] = []
    for rule in engine.rules:
        if type(rule) is ModelAliveBelow and models is not None and rule.name in models:
            fields = {a.name: getattr(rule, a.name) for a in attrs.fields(ModelAliveBelow)}
            rule = PopulationModelRule(**fields, fitted=models[rule.name])
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
    if isinstance(rule, PopulationModelRule):
        return ModelAliveBelow(
            **{a.name: getattr(rule, a.name) for a in attrs.fields(ModelAliveBelow)}
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
