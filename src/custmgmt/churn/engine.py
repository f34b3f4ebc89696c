"""The churn engine: run the rules, score the risk, infer the reason, pick the action.

:class:`ChurnEngine` runs its rules (by default :func:`default_rules`: the purchase-cycle
rule, no purchase in 180 days, spend down by half, an unresolved complaint, falling
reviews) over a :class:`~custmgmt.churn.rules.ChurnContext` and returns a
:class:`ChurnReport`. Per customer:

* **rules fired**, with the values that made them fire (:meth:`ChurnReport.explain`);
* a **risk level**: the sum of the fired rules' severities -- ``none`` at 0, ``low``
  from 1, ``medium`` from ``medium_at`` (2), ``high`` from ``high_at`` (4);
* a **likely reason** (:func:`~custmgmt.churn.reasons.infer_reasons`) and the
  **win-back action** the playbook maps it to.

Rules that need interactions (unresolved complaints, falling reviews) are skipped
when no interaction frame is given, and listed in :attr:`ChurnReport.skipped`.
Everything is vectorised; only :meth:`ChurnReport.explain` looks at one customer.
Explanations show money (the spend-drop rule's spends) at the currency's minor-unit
digits (KWD ``1.234``, JPY ``1,234``, CNY ``13.00``), days and percentages as numbers.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import attrs
import numpy as np
from numpy.typing import NDArray

from custmgmt._text import one_line
from custmgmt.analytics.features import CustomerFeatures
from custmgmt.analytics.frames import InteractionFrame, OrderFrame
from custmgmt.analytics.partitioned import default_threads
from custmgmt.churn import partitioned as _partitioned
from custmgmt.churn.reasons import Reason, WinBackAction, WinBackPlaybook, infer_reasons
from custmgmt.churn.rules import (
    ChurnContext,
    ChurnRule,
    FallingReviews,
    NoPurchaseWithin,
    PurchaseCycleRule,
    SpendDrop,
    UnresolvedComplaint,
    churn_rule_from_dict,
)
from custmgmt.domain.money import MajorAmount
from custmgmt.domain.time import require_aware
from custmgmt.errors import ValidationError
from custmgmt.notebook.dataframes import Coded, FrameExport
from custmgmt.notebook.display import Report, counts_table, short_repr
from custmgmt.segmentation.inputs import segment_features

__all__ = [
    "ChurnEngine",
    "ChurnExplanation",
    "ChurnReport",
    "FiredRule",
    "RiskLevel",
    "default_rules",
]


class RiskLevel(enum.IntEnum):
    """How likely a customer is to be leaving (ordered)."""

    NONE = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3

    @property
    def label(self) -> str:
        """``"none"``, ``"low"``, ``"medium"`` or ``"high"``."""
        return self.name.lower()


def _risk_level(value: Any) -> RiskLevel:
    """A :class:`RiskLevel` from itself, its value or its label."""
    if isinstance(value, str):
        for level in RiskLevel:
            if level.label == value.strip().lower():
                return level
    elif (
        isinstance(value, int | np.integer)
        and not isinstance(value, bool)
        and int(value) in {level.value for level in RiskLevel}
    ):
        return RiskLevel(int(value))
    raise ValidationError(
        "min_risk", value, "a RiskLevel, 0-3 or one of none, low, medium, high"
    )


def default_rules() -> tuple[ChurnRule, ...]:
    """The default rule set (see the module docstring)."""
    return (
        PurchaseCycleRule(),
        NoPurchaseWithin(days=180),
        SpendDrop(),
        UnresolvedComplaint(),
        FallingReviews(),
    )


def _to_rules(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(churn_rule_from_dict(r) if isinstance(r, dict) else r for r in value)
    return value


def _check_rules(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, tuple) or not value:
        raise ValidationError("ChurnEngine.rules", value, "a non-empty sequence of churn rules")
    names = set()
    for i, rule in enumerate(value):
        if not isinstance(rule, ChurnRule):
            raise ValidationError(f"ChurnEngine.rules[{i}]", rule, "a ChurnRule")
        if rule.name in names:
            raise ValidationError(f"ChurnEngine.rules[{i}].name", rule.name, "a unique name")
        names.add(rule.name)


def _check_level(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(f"ChurnEngine.{attribute.name}", value, "a positive integer")


@attrs.frozen(kw_only=True)
class FiredRule:
    """One rule that fired for a customer.

    Attributes:
        rule: the rule's name.
        text: the firing in words with the values.
        values: the values behind it.
    """

    rule: str
    text: str
    values: dict[str, float]


@attrs.frozen(kw_only=True)
class ChurnExplanation:
    """One customer's churn verdict.

    Attributes:
        customer_id: who.
        risk: the risk level.
        score: the sum of the fired rules' severities.
        fired: the rules that fired, with their values.
        reason: the likely reason.
        evidence: points for quality, service and price.
        action: the win-back action for the reason (None when nothing fired).
    """

    customer_id: Any
    risk: RiskLevel
    score: int
    fired: tuple[FiredRule, ...]
    reason: Reason
    evidence: dict[str, int]
    action: WinBackAction | None

    def __str__(self) -> str:
        if not self.fired:
            return f"{one_line(self.customer_id)}: not at risk"
        because = "; ".join(f.text for f in self.fired)
        assert self.action is not None
        who = one_line(self.customer_id)  # an id from a file may hold a line break
        return (
            f"{who}: {self.risk.label} risk because {because}; likely reason "
            f"{self.reason.value} -> {self.action.code}"
        )


def _money_shown(
    rule: ChurnRule, values: dict[str, float], currency: str | None
) -> dict[str, float]:
    """``values`` with the rule's money values (its
    :attr:`~custmgmt.churn.rules.ChurnRule.money_values`) as :class:`MajorAmount`
    (shown by ``format_number`` at the currency's digits)."""
    names = rule.money_values
    if not names:
        return values
    # The rules scale money by the features' currency, CNY when there is none.
    code = currency or "CNY"
    return {k: MajorAmount(v, code) if k in names else v for k, v in values.items()}


def _sortable_ids(ids: NDArray[Any]) -> NDArray[Any]:
    return ids if ids.dtype.kind in "iuU" else ids.astype(str)


@attrs.frozen(kw_only=True, eq=False)
class ChurnReport(FrameExport):
    """The engine's result for every customer.

    Attributes:
        customer_ids: the customers (the features' order).
        as_of: when evaluated.
        rules: the rules run (skipped ones excluded).
        fired: ``(n, len(rules))`` booleans.
        values: per rule name, its value columns.
        score: per customer, the sum of fired severities.
        risk: per customer, a :class:`RiskLevel` value (int8).
        reason: per customer, an index into ``tuple(Reason)``.
        evidence: ``(n, 3)`` evidence points (quality, service, price).
        playbook: the reason -> action map.
        skipped: names of rules skipped for lack of interactions.
        currency: the currency of the money values (the features'; None when they
            have none, and money is then shown as CNY, as the rules scaled it).
    """

    customer_ids: NDArray[Any]
    as_of: datetime
    rules: tuple[ChurnRule, ...]
    fired: NDArray[np.bool_]
    values: dict[str, dict[str, NDArray[np.float64]]]
    score: NDArray[np.int64]
    risk: NDArray[np.int8]
    reason: NDArray[np.int8]
    evidence: NDArray[np.int64]
    playbook: WinBackPlaybook
    skipped: tuple[str, ...] = ()
    currency: str | None = None

    def __repr__(self) -> str:
        return short_repr(
            "ChurnReport", customers=len(self.customer_ids),
            flagged=int(np.count_nonzero(self.flagged)), as_of=self.as_of,
        )

    def _repr_html_(self) -> str:
        return self._display().to_html()

    def summary(self) -> str:
        """The summary shown in a notebook, as aligned text for a terminal."""
        return self._display().to_text()

    def _display(self) -> Report:
        """Customers per risk level, per likely reason and per rule."""
        report = Report(
            "Churn flags",
            facts=[
                ("customers", len(self.customer_ids)),
                ("flagged", int(np.count_nonzero(self.flagged))),
                ("as of", self.as_of),
            ],
        )
        report.add(counts_table("customers per risk level", "risk", self.risk_counts()))
        report.add(counts_table("flagged customers per likely reason", "reason",
                                self.reason_counts()))
        report.add(counts_table("customers flagged by each rule", "rule", self.rule_counts()))
        for name in self.skipped:
            report.note(f"rule {name} skipped: no interactions given")
        return report

    def _frame_columns(self) -> dict[str, Any]:
        """Exported columns (one row per customer): ``customer_id``, ``score``, ``risk``
        (level label), ``flagged``, ``reason`` (missing where nothing fired), ``action``
        and one ``fired_<rule>`` column per rule."""
        flagged = self.flagged
        reason = np.where(flagged, self.reason, -1).astype(np.int16)
        columns: dict[str, Any] = {
            "customer_id": self.customer_ids,
            "score": self.score,
            "risk": Coded(self.risk, tuple(level.label for level in RiskLevel)),
            "flagged": flagged,
            "reason": Coded(reason, tuple(r.value for r in Reason)),
            "action": self.action_codes(),
        }
        for j, rule in enumerate(self.rules):
            columns[f"fired_{rule.name}"] = self.fired[:, j]
        return columns

    @property
    def flagged(self) -> NDArray[np.bool_]:
        """Customers for whom at least one rule fired."""
        return np.asarray(self.fired.any(axis=1))

    def flagged_ids(self, *, min_risk: RiskLevel = RiskLevel.LOW) -> NDArray[Any]:
        """Ids of the customers at ``min_risk`` or above, highest score first (stable).

        ``min_risk`` is a :class:`RiskLevel`, its value (0-3) or its label ("high").

        Raises:
            ValidationError: ``min_risk`` is none of those.
        """
        rows = np.flatnonzero(self.risk >= int(_risk_level(min_risk)))
        order = np.argsort(-self.score[rows], kind="stable")
        return np.asarray(self.customer_ids[rows[order]])

    def risk_counts(self) -> dict[str, int]:
        """Customers per risk level."""
        counts = np.bincount(self.risk, minlength=len(RiskLevel))
        return {level.label: int(counts[level]) for level in RiskLevel}

    def reason_counts(self) -> dict[str, int]:
        """Flagged customers per likely reason."""
        counts = np.bincount(self.reason[self.flagged], minlength=len(Reason))
        return {reason.value: int(counts[reason.code]) for reason in Reason}

    def rule_counts(self) -> dict[str, int]:
        """Customers flagged by each rule."""
        return {rule.name: int(self.fired[:, j].sum()) for j, rule in enumerate(self.rules)}

    def action_codes(self) -> NDArray[np.str_]:
        """Per customer the win-back action code ("" where nothing fired)."""
        codes = np.asarray([self.playbook.action_for(r).code for r in Reason], dtype=np.str_)
        return np.where(self.flagged, codes[self.reason], "")

    def explain(self, customer_id: Any) -> ChurnExplanation:
        """The verdict for one customer, with each fired rule's values.

        Raises:
            ValidationError: the customer is not in the report.
        """
        rows = np.flatnonzero(self.customer_ids == customer_id)
        if rows.shape[0] == 0:
            raise ValidationError("customer_id", customer_id, "a customer in the report")
        return self._explain_row(int(rows[0]))

    def explanations(
        self, limit: int | None = None, *, value: NDArray[Any] | None = None
    ) -> list[ChurnExplanation]:
        """Explanations for the flagged customers: highest score first, then (when
        ``value`` gives each customer's value at stake, e.g. net spend) the highest
        value, then by customer id; at most ``limit`` of them.

        Raises:
            ValidationError: ``limit`` not None or a whole number >= 0; ``value`` not
                one number per customer of the report.
        """
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int | np.integer) or limit < 0
        ):
            raise ValidationError("limit", limit, "None or a whole number >= 0")
        rows = np.flatnonzero(self.flagged)
        keys: list[NDArray[Any]] = [_sortable_ids(self.customer_ids[rows])]
        if value is not None:
            try:
                worth = np.nan_to_num(np.asarray(value, dtype=np.float64), nan=0.0)
            except (TypeError, ValueError) as exc:
                raise ValidationError("value", value, "a number per customer") from exc
            if worth.shape != self.customer_ids.shape:
                raise ValidationError(
                    "value", f"<{worth.shape} values>", f"{len(self.customer_ids)} numbers"
                )
            keys.append(-worth[rows])
        keys.append(-self.score[rows])
        rows = rows[np.lexsort(keys)]
        if limit is not None:
            rows = rows[:limit]
        return self.explain_rows(rows.tolist())

    def explain_rows(self, rows: list[int]) -> list[ChurnExplanation]:
        """Explanations for the customers at ``rows`` of the report, in that order."""
        return [self._explain_row(int(r)) for r in rows]

    def _explain_row(self, row: int) -> ChurnExplanation:
        fired = []
        for j, rule in enumerate(self.rules):
            if self.fired[row, j]:
                values = {k: float(v[row]) for k, v in self.values[rule.name].items()}
                shown = _money_shown(rule, values, self.currency)
                fired.append(FiredRule(rule=rule.name, text=rule.describe(shown), values=values))
        reason = tuple(Reason)[int(self.reason[row])]
        evidence = self.evidence[row]
        return ChurnExplanation(
            customer_id=self.customer_ids[row].item()
            if isinstance(self.customer_ids[row], np.generic)
            else self.customer_ids[row],
            risk=RiskLevel(int(self.risk[row])),
            score=int(self.score[row]),
            fired=tuple(fired),
            reason=reason,
            evidence={
                "quality": int(evidence[0]),
                "service": int(evidence[1]),
                "price": int(evidence[2]),
            },
            action=self.playbook.action_for(reason) if fired else None,
        )


@attrs.frozen(kw_only=True)
class ChurnEngine:
    """Rules, risk thresholds and a playbook.

    Attributes:
        rules: the churn rules (names unique); :func:`default_rules` by default.
        playbook: reason -> win-back action.
        medium_at: the score from which risk is medium.
        high_at: the score from which risk is high (above ``medium_at``).
        lookback_days: how far back reason evidence counts.

    Raises:
        ValidationError: no rules, duplicate names, bad thresholds.
    """

    rules: tuple[ChurnRule, ...] = attrs.field(
        factory=default_rules, converter=_to_rules, validator=_check_rules
    )
    playbook: WinBackPlaybook = attrs.field(factory=WinBackPlaybook)
    medium_at: int = attrs.field(default=2, validator=_check_level)
    high_at: int = attrs.field(default=4, validator=_check_level)
    lookback_days: int = attrs.field(default=365, validator=_check_level)

    def __attrs_post_init__(self) -> None:
        if self.high_at <= self.medium_at:
            raise ValidationError(
                "ChurnEngine.high_at", self.high_at, f"above medium_at ({self.medium_at})"
            )
        if not isinstance(self.playbook, WinBackPlaybook):
            raise ValidationError("ChurnEngine.playbook", self.playbook, "a WinBackPlaybook")

    def features(self) -> frozenset[str]:
        """The feature columns the rules read."""
        return frozenset().union(*(r.features() for r in self.rules))

    def evaluate(
        self,
        orders: Any,
        interactions: Any = None,
        *,
        as_of: datetime,
        features: Any = None,
        threads: int | None = None,
        partitions: int | None = None,
    ) -> ChurnReport:
        """Run the rules at ``as_of``.

        Without ``features``, on a large frame and several threads, the partitioned
        engine runs the rules per range of customers in a thread pool
        (:func:`custmgmt.churn.partitioned.evaluate_partitioned`), with the population
        cycles gathered from every partition: the report is identical, for every
        thread and partition count. Engines with a rule that is not per customer
        (:class:`~custmgmt.churn.rules.ModelAliveBelow`, a host's own rule classes)
        run on the whole frame.

        Args:
            orders: an :class:`~custmgmt.analytics.frames.OrderFrame`.
            interactions: an optional ``InteractionFrame``.
            as_of: the aware moment of evaluation.
            features: precomputed ``CustomerFeatures`` at ``as_of`` holding the rules'
                columns (computed when None; given, the rules run on the whole frame).
            threads: worker threads (default ``CUSTMGMT_THREADS``, else the cores this
                process may run on).
            partitions: the number of customer ranges (default: see
                :func:`custmgmt.analytics.partitioned.partition_bounds`).

        Raises:
            ValidationError: a naive ``as_of``, ``features`` not a CustomerFeatures or
                missing a column, bad frames, ``threads`` or ``partitions`` not a
                positive integer.
        """
        require_aware("as_of", as_of)
        if features is not None and not isinstance(features, CustomerFeatures):
            raise ValidationError(
                "features", type(features).__name__, "None or a CustomerFeatures at as_of"
            )
        n_threads = default_threads() if threads is None else threads
        _partitioned.check_counts(n_threads, partitions)
        if (
            features is None
            and isinstance(orders, OrderFrame)
            and (interactions is None or isinstance(interactions, InteractionFrame))
            and _partitioned.supports_partitions(self)
            and _partitioned.estimated_partitions(orders, interactions, n_threads, partitions) > 1
        ):
            report: ChurnReport = _partitioned.evaluate_partitioned(
                self, orders, interactions, as_of=as_of, threads=n_threads, partitions=partitions
            )
            return report
        if features is None:
            features = segment_features(
                orders,
                interactions,
                as_of=as_of,
                extra=sorted(self.required_features(interactions=interactions is not None)),
            )
        ctx = ChurnContext(features=features, as_of=as_of, orders=orders, interactions=interactions)
        return self.evaluate_context(ctx)

    def required_features(self, *, interactions: bool = True) -> frozenset[str]:
        """The feature columns the rules that can run read (with or without interactions)."""
        return frozenset(
            name
            for rule in self.rules
            if interactions or not rule.needs_interactions
            for name in rule.features()
        )

    def evaluate_context(self, ctx: ChurnContext) -> ChurnReport:
        """Run the rules on a prepared :class:`~custmgmt.churn.rules.ChurnContext`."""
        n = ctx.n
        active = tuple(
            r for r in self.rules if ctx.interactions is not None or not r.needs_interactions
        )
        skipped = tuple(r.name for r in self.rules if r not in active)
        fired = np.zeros((n, len(active)), dtype=np.bool_)
        values: dict[str, dict[str, NDArray[np.float64]]] = {}
        score = np.zeros(n, dtype=np.int64)
        for j, rule in enumerate(active):
            outcome = rule.evaluate(ctx)
            fired[:, j] = outcome.fired
            values[rule.name] = dict(outcome.values)
            score += outcome.fired.astype(np.int64) * rule.severity
        risk = np.where(
            score >= self.high_at,
            RiskLevel.HIGH,
            np.where(
                score >= self.medium_at, RiskLevel.MEDIUM, np.where(score > 0, RiskLevel.LOW, 0)
            ),
        ).astype(np.int8)
        reason, evidence = infer_reasons(ctx, lookback_days=self.lookback_days)
        return ChurnReport(
            customer_ids=np.asarray(ctx.features.customer_ids),
            as_of=ctx.as_of,
            rules=active,
            fired=fired,
            values=values,
            score=score,
            risk=risk,
            reason=reason,
            evidence=evidence,
            playbook=self.playbook,
            skipped=skipped,
            currency=getattr(ctx.features, "currency", None),
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain data (rules, playbook, thresholds) for configuration."""
        return {
            "rules": [r.to_dict() for r in self.rules],
            "playbook": self.playbook.to_dict(),
            "medium_at": self.medium_at,
            "high_at": self.high_at,
            "lookback_days": self.lookback_days,
        }

    @classmethod
    def from_dict(cls, data: Any) -> ChurnEngine:
        """The inverse of :meth:`to_dict`.

        Raises:
            ValidationError: a malformed rule, playbook or threshold.
        """
        if not isinstance(data, dict):
            raise ValidationError("churn_engine", data, "a mapping")
        kwargs = dict(data)
        if "playbook" in kwargs:
            kwargs["playbook"] = WinBackPlaybook.from_dict(kwargs["playbook"])
        unknown = sorted(
            set(kwargs) - {"rules", "playbook", "medium_at", "high_at", "lookback_days"}
        )
        if unknown:
            raise ValidationError(
                "churn_engine", unknown, "rules, playbook, medium_at, high_at, lookback_days"
            )
        return cls(**kwargs)
