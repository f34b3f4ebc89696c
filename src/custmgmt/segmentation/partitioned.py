"""Segments, RFM and churn per partition of customers, the population's cuts exact.

What :func:`custmgmt.segmentation.report.segment_report` computes, split into the
three stages every partitioned runner shares (one code path for the single machine's
thread pool and for the Dask workers of :mod:`custmgmt.distributed.pipeline`):

1. :func:`segment_gather`, per partition: the segmentation features (the ordinary
   single-frame code on the partition's frames), and the small vectors the
   population-wide quantities need: the columns the schemes' quantile cuts are of,
   the buyers' RFM values, the churn engine's purchase-cycle inputs;
2. :func:`segment_population`, once: the quantile cut values, the RFM quintile cut
   points and the frozen churn engine, from everyone's vectors (exact: a quantile or a
   median does not depend on how the population was split);
3. :func:`segment_apply`, per partition: memberships under the frozen schemes (each
   :class:`~custmgmt.segmentation.rules.QuantileCut` replaced by a comparison with the
   population's cut), RFM scores against the population's cut points, the churn
   report under the frozen engine.

Every other rule reads the customer's own features, so each customer gets exactly
the single-frame answer, for any split of the customers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from custmgmt.analytics.features import CustomerFeatures
from custmgmt.analytics.frames import InteractionFrame, OrderFrame
from custmgmt.churn import ChurnEngine, ChurnReport
from custmgmt.churn import partitioned as churn_parts
from custmgmt.errors import ValidationError
from custmgmt.segmentation.inputs import segment_features
from custmgmt.segmentation.rfm import NO_PURCHASE, RFM, RFMScores
from custmgmt.segmentation.rules import (
    AllOf,
    Always,
    AnyOf,
    Between,
    Compare,
    Not,
    QuantileCut,
    Rule,
    quantile_cut,
)
from custmgmt.segmentation.schemes import Scheme

__all__ = [
    "SegmentPart",
    "SegmentPopulation",
    "SegmentResult",
    "concat_rfm",
    "freeze_scheme",
    "population_cuts",
    "quantile_rules",
    "quintile_cuts",
    "quintile_scores_at",
    "rfm_at",
    "scheme_quantiles",
    "segment_apply",
    "segment_gather",
    "segment_population",
    "supports_partitions",
]

F64 = npt.NDArray[np.float64]
#: Rule classes whose verdicts read the customer's own row (QuantileCut is frozen).
_ROW_RULES = (Compare, Between, Always, QuantileCut, AllOf, AnyOf, Not)


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


def rfm_at(features: CustomerFeatures, cuts: tuple[F64, ...]) -> RFMScores:
    """``RFM().score(features)`` with the population's quintile cut points."""
    model = RFM()
    recency = np.asarray(features["recency"], dtype=np.float64)
    frequency = np.asarray(features["frequency"], dtype=np.float64)
    monetary = np.asarray(features["total_spend"], dtype=np.float64)
    buyers = frequency >= 1
    n = len(frequency)
    scores = []
    for values, cut in zip((-recency, frequency, monetary), cuts, strict=True):
        out = np.zeros(n, dtype=np.int8)
        out[buyers] = quintile_scores_at(values[buyers], cut)
        scores.append(out)
    r, f, m = scores
    grid = model.segment_map.grid()
    k = len(model.segment_map.names)
    return RFMScores(
        customer_ids=np.asarray(features.customer_ids),
        r=r,
        f=f,
        m=m,
        codes=np.where(buyers, grid[r, f], k).astype(np.int16),
        names=(*model.segment_map.names, NO_PURCHASE),
        recency=recency,
        frequency=frequency,
        monetary=monetary,
        currency=features.currency,
    )


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


def _row_rule(rule: Rule) -> bool:
    if type(rule) not in _ROW_RULES:
        return False
    if isinstance(rule, AllOf | AnyOf):
        return all(_row_rule(r) for r in rule.rules)
    if isinstance(rule, Not):
        return _row_rule(rule.rule)
    return True


def supports_partitions(schemes: Sequence[Scheme], engine: ChurnEngine) -> bool:
    """Whether the schemes' rules and the churn engine's rules can run per partition
    with exact results (the library's own rule classes; a host's own may read the
    population)."""
    rules_ok = all(_row_rule(seg.rule) for s in schemes for seg in s.segments)
    return rules_ok and churn_parts.supports_partitions(engine)


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


# -- the three stages -------------------------------------------------------------------
@attrs.frozen(kw_only=True, eq=False)
class SegmentPart:
    """Stage 1's output for one partition: its frames, its features and what it
    sends for the population (``gathered``; empty for a partition without orders)."""

    frame: OrderFrame | None
    interactions: InteractionFrame | None
    features: CustomerFeatures | None
    gathered: dict[str, Any]


def segment_gather(
    frame: OrderFrame | None,
    interactions: InteractionFrame | None,
    as_of: datetime,
    engine: ChurnEngine,
    schemes: tuple[Scheme, ...],
) -> SegmentPart:
    """Stage 1 on one partition's frames (see the module docstring)."""
    if frame is None:
        return SegmentPart(frame=None, interactions=None, features=None, gathered={})
    needed = sorted(engine.required_features(interactions=interactions is not None))
    features = segment_features(frame, interactions, as_of=as_of, extra=needed)
    available = set(features.names)
    gathered: dict[str, Any] = {"names": tuple(sorted(available))}
    for name, _q in scheme_quantiles([s for s in schemes if s.features() <= available]):
        gathered[f"column:{name}"] = np.asarray(features[name], dtype=np.float64)
    frequency = np.asarray(features["frequency"], dtype=np.float64)
    buyers = frequency >= 1
    gathered["rfm"] = (
        -np.asarray(features["recency"], dtype=np.float64)[buyers],
        frequency[buyers],
        np.asarray(features["total_spend"], dtype=np.float64)[buyers],
    )
    gathered |= churn_parts.churn_gather(engine, features, frame, as_of)
    return SegmentPart(frame=frame, interactions=interactions, features=features, gathered=gathered)


@attrs.frozen(kw_only=True, eq=False)
class SegmentPopulation:
    """Stage 2's output: the usable schemes, their frozen forms, the skipped
    schemes' names, the RFM cut points and the frozen churn engine."""

    schemes: tuple[Scheme, ...]
    frozen: tuple[Scheme, ...]
    skipped: tuple[str, ...]
    rfm_cuts: tuple[F64, ...]
    engine: ChurnEngine


def segment_population(
    gathered: Sequence[dict[str, Any]], engine: ChurnEngine, schemes: tuple[Scheme, ...]
) -> SegmentPopulation:
    """Stage 2 from every partition's ``gathered`` (in customer order, for a churn
    engine's mean cycles to be exact).

    Raises:
        ValidationError: no partition had orders.
    """
    found = [g for g in gathered if g]
    if not found:
        raise ValidationError("orders", 0, "at least one order")
    available = set(found[0]["names"])
    usable = tuple(s for s in schemes if s.features() <= available)
    skipped = tuple(s.name for s in schemes if s not in usable)
    columns = {
        key.split(":", 1)[1]: np.concatenate([g[key] for g in found])
        for key in found[0]
        if key.startswith("column:")
    }
    cuts = population_cuts(columns, scheme_quantiles(usable))
    frozen = tuple(freeze_scheme(s, cuts) for s in usable)
    rfm_cuts = tuple(
        quintile_cuts(np.concatenate([g["rfm"][i] for g in found])) for i in range(3)
    )
    return SegmentPopulation(
        schemes=usable,
        frozen=frozen,
        skipped=skipped,
        rfm_cuts=rfm_cuts,
        engine=churn_parts.churn_population(engine, found),
    )


@attrs.frozen(kw_only=True, eq=False)
class SegmentResult:
    """Stage 3's output for one partition."""

    features: CustomerFeatures
    codes: dict[str, npt.NDArray[np.int16]]
    rfm: RFMScores
    churn: ChurnReport


def segment_apply(
    part: SegmentPart, population: SegmentPopulation, as_of: datetime
) -> SegmentResult | None:
    """Stage 3 on one partition (None for a partition without orders)."""
    if part.features is None or part.frame is None:
        return None
    features = part.features
    codes = {s.name: s.assign(features).codes for s in population.frozen}
    churn = population.engine.evaluate(
        part.frame, part.interactions, as_of=as_of, features=features
    )
    return SegmentResult(
        features=features, codes=codes, rfm=rfm_at(features, population.rfm_cuts), churn=churn
    )


def concat_rfm(parts: Sequence[RFMScores], order: npt.NDArray[np.intp] | None = None) -> RFMScores:
    """Join per-partition RFM scores (in customer order, or put in it by ``order``)."""
    first = parts[0]
    fields = ("customer_ids", "r", "f", "m", "codes", "recency", "frequency", "monetary")
    arrays: dict[str, Any] = {}
    for name in fields:
        joined = np.concatenate([getattr(p, name) for p in parts])
        arrays[name] = joined if order is None else joined[order]
    return attrs.evolve(first, **arrays)
