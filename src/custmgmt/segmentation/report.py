"""The segment report: segment sizes, RFM and the churn list, as one library call.

What ``custmgmt segment`` (and the demo's segments section) prints, for a host
application:

>>> import numpy as np
>>> from datetime import datetime, timezone
>>> from custmgmt.analytics.frames import OrderFrame
>>> orders = OrderFrame.from_arrays(
...     customer_id=np.array(["a", "a", "b", "c"]),
...     placed_at=np.array(["2024-01-05", "2024-06-01", "2023-02-01", "2024-06-20"],
...                        dtype="datetime64[D]"),
...     amount=np.array([120_00, 80_00, 30_00, 45_00]), currency="CNY")
>>> report = segment_report(orders, as_of=datetime(2024, 7, 1, tzinfo=timezone.utc))
>>> len(report), report.rows()[0]["customer_id"], report.rows()[0]["frequency"]
(3, 'a', 2)
>>> print(report.format(top=0).splitlines()[0])
3 customers as of 2024-07-01T00:00:00+00:00

Customers are those of the frames (with ``customer_index`` from a store, every known
customer, with or without orders: those without any are prospects).

The churn list ("top N at risk") is sorted by :data:`AT_RISK_ORDER`: the churn
score (the sum of the fired rules' severities) highest first, then the value at
stake (net spend, ``total_spend``) highest first, then the customer id.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

import attrs
import numpy as np

from custmgmt.analytics import partitioned as engine_parts
from custmgmt.analytics.features import CustomerFeatures
from custmgmt.analytics.frames import InteractionFrame, OrderFrame
from custmgmt.analytics.loading import store_frames
from custmgmt.churn import ChurnEngine, ChurnExplanation, ChurnReport, Reason, RiskLevel
from custmgmt.churn import partitioned as churn_parts
from custmgmt.domain.time import require_aware
from custmgmt.errors import ValidationError
from custmgmt.ports import Store
from custmgmt.segmentation import partitioned as segment_parts
from custmgmt.segmentation.inputs import segment_features
from custmgmt.segmentation.presets import shipped_schemes
from custmgmt.segmentation.rfm import RFM, RFMScores
from custmgmt.segmentation.schemes import Scheme, Segmentation

__all__ = ["AT_RISK_ORDER", "SegmentReport", "segment_report", "segment_store"]

#: How the churn list is sorted (documented, printed with the list).
AT_RISK_ORDER: Final = "churn score, then net spend (highest first), then customer id"


@attrs.frozen(kw_only=True, eq=False)
class SegmentReport:
    """Everything the segment report computes.

    Attributes:
        as_of: the moment of evaluation.
        features: the segmentation feature table (one row per customer).
        segmentations: per shipped scheme name, its segmentation.
        skipped: names of schemes that could not run (missing interactions).
        rfm: the RFM scores.
        churn: the churn report.
    """

    as_of: datetime
    features: CustomerFeatures
    segmentations: dict[str, Segmentation]
    skipped: tuple[str, ...]
    rfm: RFMScores
    churn: ChurnReport

    def __len__(self) -> int:
        return len(self.features)

    def at_risk(self, limit: int | None = 10) -> list[ChurnExplanation]:
        """The flagged customers in :data:`AT_RISK_ORDER`, at most ``limit``."""
        return self.churn.explanations(limit, value=self.features["total_spend"])

    def rows(self) -> list[dict[str, Any]]:
        """One dict per customer: id, each scheme's segment, recency (days),
        frequency (counted orders), monetary (net spend, major units), the RFM
        scores and segment, churn risk, score, the rules that fired (``;``-separated),
        the likely reason and the win-back action (empty when nothing fired)."""
        churn = self.churn
        n = len(self.features)
        rules = np.full(n, "", dtype=object)
        for j, rule in enumerate(churn.rules):
            joined = np.where(rules == "", rule.name, rules + ";" + rule.name)
            rules = np.where(churn.fired[:, j], joined, rules)
        risk_names = np.asarray([level.label for level in RiskLevel], dtype=object)
        reason_names = np.asarray([r.value for r in Reason], dtype=object)
        rfm = RFM()
        columns: dict[str, list[Any]] = {"customer_id": self.features.customer_ids.tolist()}
        for name, segmentation in self.segmentations.items():
            columns[name.replace(" ", "_")] = segmentation.labels.tolist()
        columns["recency_days"] = _rounded(self.features[rfm.recency])
        columns["frequency"] = np.asarray(self.features[rfm.frequency]).tolist()
        columns["monetary"] = _rounded(self.features[rfm.monetary])
        columns |= {
            "rfm_r": self.rfm.r.tolist(),
            "rfm_f": self.rfm.f.tolist(),
            "rfm_m": self.rfm.m.tolist(),
            "rfm_segment": self.rfm.labels.tolist(),
            "churn_risk": risk_names[churn.risk].tolist(),
            "churn_score": churn.score.tolist(),
            "churn_rules": rules.tolist(),
            "churn_reason": np.where(churn.flagged, reason_names[churn.reason], "").tolist(),
            "winback_action": churn.action_codes().tolist(),
        }
        names = list(columns)
        return [
            dict(zip(names, values, strict=True))
            for values in zip(*columns.values(), strict=True)
        ]

    def format(self, *, top: int = 10) -> str:
        """Segment sizes, the RFM table and the churn list (``top`` at risk)."""
        n = len(self.features)
        total = max(n, 1)
        out = [f"{n} customers as of {self.as_of.isoformat()}"]
        for name, segmentation in self.segmentations.items():
            sizes = ", ".join(
                f"{segment} {count} ({count / total:.0%})"
                for segment, count in segmentation.sizes().items()
            )
            out.append(f"  {name}: {sizes}")
        for name in self.skipped:
            out.append(f"  {name}: skipped (needs interactions: reviews, complaints, browsing)")
        out.append("\nRFM segments:")
        out.append(self.rfm.format_table())
        churn = self.churn
        flagged = int(churn.flagged.sum())
        risks = ", ".join(f"{k} {v}" for k, v in churn.risk_counts().items() if k != "none")
        out.append(f"\nchurn: {flagged} customers flagged ({risks})")
        if flagged:
            reasons = ", ".join(f"{k} {v}" for k, v in churn.reason_counts().items() if v)
            out.append(f"  likely reasons: {reasons}")
            actions = {
                reason.value: churn.playbook.action_for(reason).code
                for reason in churn.playbook.actions
            }
            out.append(
                "  win-back actions: " + ", ".join(f"{k} -> {v}" for k, v in actions.items())
            )
        if churn.skipped:
            out.append(f"  rules skipped (no interactions): {', '.join(churn.skipped)}")
        if top and flagged:
            out.append(f"top {min(top, flagged)} at risk (by {AT_RISK_ORDER}):")
            out.extend(f"  {explanation}" for explanation in self.at_risk(top))
        return "\n".join(out)

    def __str__(self) -> str:
        return self.format()


def _rounded(values: Any) -> list[Any]:
    array = np.asarray(values, dtype=np.float64)
    return [None if v != v else round(v, 6) for v in array.tolist()]


def segment_report(
    orders: OrderFrame,
    interactions: InteractionFrame | None = None,
    *,
    as_of: datetime,
    engine: ChurnEngine | None = None,
    threads: int | None = None,
    partitions: int | None = None,
) -> SegmentReport:
    """Run the shipped schemes, RFM and the churn engine on frames.

    On a large frame and several threads the work runs on the partitioned engine
    (:mod:`custmgmt.segmentation.partitioned`): features, memberships, RFM scores and
    churn flags per range of customers in a thread pool, the population's quantile
    cuts, RFM quintiles and purchase-cycle fallbacks computed from every partition's
    values. The report is identical for every ``threads`` and ``partitions``. A
    churn engine with a rule that is not per customer (the BG/NBD model rule, a
    host's own rule classes) makes the whole report run on the whole frame.

    Args:
        orders: the orders; its customer index is the report's population.
        interactions: the interactions (schemes and churn rules that need them are
            skipped without).
        as_of: the aware moment of evaluation.
        engine: the churn engine (default: :class:`~custmgmt.churn.ChurnEngine`).
        threads: worker threads (default ``CUSTMGMT_THREADS``, else the cores this
            process may run on).
        partitions: the number of customer ranges (default: see
            :func:`custmgmt.analytics.partitioned.partition_bounds`).

    Raises:
        ValidationError: a naive ``as_of`` or bad frames; ``engine`` not a
            ChurnEngine; ``threads`` or ``partitions`` not a positive integer.
    """
    engine = ChurnEngine() if engine is None else engine
    if not isinstance(engine, ChurnEngine):
        raise ValidationError("engine", engine, "None (the default) or a ChurnEngine")
    n_threads = engine_parts.default_threads() if threads is None else threads
    churn_parts.check_counts(n_threads, partitions)
    schemes = tuple(shipped_schemes())
    if (
        isinstance(orders, OrderFrame)
        and (interactions is None or isinstance(interactions, InteractionFrame))
        and isinstance(engine, ChurnEngine)
        and segment_parts.supports_partitions(schemes, engine)
        and churn_parts.estimated_partitions(orders, interactions, n_threads, partitions) > 1
    ):
        require_aware("as_of", as_of)
        return _partitioned_report(
            orders, interactions, as_of, engine, schemes, n_threads, partitions
        )
    needed = sorted(engine.required_features(interactions=interactions is not None))
    features = segment_features(orders, interactions, as_of=as_of, extra=needed)
    available = set(features.names)
    segmentations: dict[str, Segmentation] = {}
    skipped: list[str] = []
    for scheme in schemes:
        if scheme.features() <= available:
            segmentations[scheme.name] = scheme.assign(features)
        else:
            skipped.append(scheme.name)
    rfm = RFM().score(features)
    churn = engine.evaluate(orders, interactions, as_of=as_of, features=features)
    return SegmentReport(
        as_of=as_of,
        features=features,
        segmentations=segmentations,
        skipped=tuple(skipped),
        rfm=rfm,
        churn=churn,
    )


def _partitioned_report(
    orders: OrderFrame,
    interactions: InteractionFrame | None,
    as_of: datetime,
    engine: ChurnEngine,
    schemes: tuple[Scheme, ...],
    threads: int,
    partitions: int | None,
) -> SegmentReport:
    """The three stages of :mod:`custmgmt.segmentation.partitioned` on a thread pool;
    partitions are ranges of the customer index, so their outputs join in order."""
    customer_ids, parts = engine_parts.split_frames(
        orders, interactions, threads=threads, partitions=partitions
    )

    def gather(frames: engine_parts.PartFrames) -> segment_parts.SegmentPart:
        return segment_parts.segment_gather(frames[0], frames[1], as_of, engine, schemes)

    one = engine_parts.run_on_threads(threads, gather, parts)
    population = segment_parts.segment_population([p.gathered for p in one], engine, schemes)

    def apply(part: segment_parts.SegmentPart) -> segment_parts.SegmentResult | None:
        return segment_parts.segment_apply(part, population, as_of)

    found = [r for r in engine_parts.run_on_threads(threads, apply, one) if r is not None]
    features = engine_parts.concat_features([r.features for r in found], customer_ids)
    segmentations = {
        s.name: Segmentation(
            scheme=s,
            customer_ids=features.customer_ids,
            codes=np.concatenate([r.codes[s.name] for r in found]),
            table=features,
        )
        for s in population.schemes
    }
    return SegmentReport(
        as_of=as_of,
        features=features,
        segmentations=segmentations,
        skipped=population.skipped,
        rfm=segment_parts.concat_rfm([r.rfm for r in found]),
        churn=churn_parts.concat_churn([r.churn for r in found]),
    )


def segment_store(
    store: Store,
    *,
    as_of: datetime,
    currency: str,
    engine: ChurnEngine | None = None,
    threads: int | None = None,
) -> SegmentReport:
    """The segment report of a store's customers as of ``as_of``: every customer
    registered by then (those with no order and no interaction are prospects), with
    their orders and interactions; ``threads`` as :func:`segment_report`.

    Raises:
        ValidationError: a naive ``as_of``, orders in another currency, ``threads``
            not a positive integer.
        StorageError: the store failed.
    """
    orders, interactions = store_frames(store, as_of=as_of, currency=currency)
    return segment_report(orders, interactions, as_of=as_of, engine=engine, threads=threads)
