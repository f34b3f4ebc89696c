"""Early warnings: threshold, baseline and review-burst rules as data, and alerts.

A rule is a frozen value; :func:`evaluate_rules` runs rules over frames for one
``as_of`` (vectorised: every rule is a few ``bincount`` passes over the rows) and
returns :class:`AlertFinding` rows that name the rule, the values that fired it and
the window. :class:`Alert` is the stored form with a small life cycle::

    open -> acknowledged -> resolved
    open -----------------> resolved

Rules:

* :class:`ThresholdRule`: a feature (any risk or catalogue feature, e.g.
  ``return_rate_90d`` or ``low_reviews_30d``) compared with a threshold, optionally
  only for customers with enough support (``orders_90d >= 3``).
* :class:`BaselineRule`: an event count in the recent window above ``factor`` times
  the customer's own rate over the preceding baseline period (and at least
  ``min_count``): cancellations far above what this customer usually does.
* :class:`ReviewBurstRule`: suspected malicious reviews: at least ``at_least`` low
  reviews within ``window_hours``, from a new account or outnumbering the orders the
  customer placed (reviews across orders that are not theirs). A heavy reviewer who
  buys what they review, or whose reviews are mixed, is not flagged.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import attrs
import numpy as np
import numpy.typing as npt

from custmgmt.analytics.frames import KIND_CODES, STATUS_CODES, InteractionFrame, OrderFrame
from custmgmt.domain import _validate as v
from custmgmt.domain.interaction import InteractionKind
from custmgmt.domain.order import OrderStatus
from custmgmt.domain.time import require_aware, to_epoch_micros
from custmgmt.errors import TransitionNotAllowed, ValidationError
from custmgmt.risk.features import (
    DAY_US,
    HOUR_US,
    describe_risk_feature,
    review_bursts,
    risk_features,
)

__all__ = [
    "DEFAULT_RULES",
    "Alert",
    "AlertEvent",
    "AlertFinding",
    "AlertRule",
    "AlertStatus",
    "BaselineRule",
    "ReviewBurstRule",
    "ThresholdRule",
    "evaluate_rules",
]

AnyArray = npt.NDArray[Any]

_CANCELLED = STATUS_CODES.index(OrderStatus.CANCELLED)
_RETURNED = (STATUS_CODES.index(OrderStatus.RETURNED),
             STATUS_CODES.index(OrderStatus.PARTIALLY_RETURNED))
_REVIEW = KIND_CODES.index(InteractionKind.REVIEW)
_COMPLAINT = KIND_CODES.index(InteractionKind.COMPLAINT)
_OPS: Final = (">", ">=", "<", "<=")


def _rule_name(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    v.check_id(f"{type(instance).__name__}.name", value)


def _positive_int(name: str) -> Any:
    def check(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100_000:
            raise ValidationError(f"{type(instance).__name__}.{name}", value,
                                  "a whole number from 1 to 100000")
    return check


def _number(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if (isinstance(value, bool) or not isinstance(value, (int, float))
            or not math.isfinite(value)):
        raise ValidationError(f"{type(instance).__name__}.{attribute.name}", value,
                              "a finite number")


@attrs.frozen(kw_only=True)
class ThresholdRule:
    """``feature op threshold``, for customers whose ``support_feature`` reaches
    ``min_support``.

    Attributes:
        name: the rule's name (alerts carry it).
        feature: a risk or catalogue feature; its window (``_90d``) is the alert's.
        op: ``">"``, ``">="``, ``"<"`` or ``"<="``.
        threshold: the number compared with.
        support_feature: a count feature that must reach ``min_support`` (or None).
        min_support: the least support.
    """

    name: str = attrs.field(validator=_rule_name)
    feature: str
    op: str = ">"
    threshold: float = attrs.field(default=0.0, validator=_number)
    support_feature: str | None = None
    min_support: float = attrs.field(default=0.0, validator=_number)

    def __attrs_post_init__(self) -> None:
        describe_risk_feature(self.feature)
        if self.support_feature is not None:
            describe_risk_feature(self.support_feature)
        if self.op not in _OPS:
            raise ValidationError("ThresholdRule.op", self.op, f"one of {_OPS}")

    @property
    def window_days(self) -> int | None:
        """The feature's trailing window, if it has one."""
        tail = self.feature.rsplit("_", 1)[-1]
        return int(tail[:-1]) if tail.endswith("d") and tail[:-1].isdigit() else None


_EVENTS: Final = ("cancellations", "returns", "complaints", "low_reviews")


@attrs.frozen(kw_only=True)
class BaselineRule:
    """Recent events far above the customer's own baseline rate.

    Fires when the count in ``(as_of - window, as_of]`` is at least ``min_count`` and
    above ``factor`` times the count expected from the baseline period
    ``(as_of - window - baseline, as_of - window]`` scaled to the window's length.

    Attributes:
        name: the rule's name.
        event: ``"cancellations"``, ``"returns"``, ``"complaints"`` or ``"low_reviews"``.
        window_days: the recent window.
        baseline_days: the baseline period before it.
        factor: how many times the baseline rate counts as abnormal.
        min_count: the least recent events to fire.
    """

    name: str = attrs.field(validator=_rule_name)
    event: str = "cancellations"
    window_days: int = attrs.field(default=30, validator=_positive_int("window_days"))
    baseline_days: int = attrs.field(default=180, validator=_positive_int("baseline_days"))
    factor: float = attrs.field(default=3.0, validator=_number)
    min_count: int = attrs.field(default=3, validator=_positive_int("min_count"))

    def __attrs_post_init__(self) -> None:
        if self.event not in _EVENTS:
            raise ValidationError("BaselineRule.event", self.event, f"one of {_EVENTS}")
        if self.factor <= 0:
            raise ValidationError("BaselineRule.factor", self.factor, "a factor above 0")


@attrs.frozen(kw_only=True)
class ReviewBurstRule:
    """Suspected malicious reviews: a burst of low reviews not backed by purchases.

    Fires when at least ``at_least`` reviews rated ``max_rating`` or lower fall within
    some ``window_hours`` before ``as_of`` (in the last ``lookback_days``), and either
    the account is younger than ``new_account_days`` or the burst outnumbers the
    customer's counted orders in the lookback.

    Attributes:
        name: the rule's name.
        window_hours: the burst's width.
        at_least: low reviews within it.
        max_rating: the highest rating that counts as low.
        lookback_days: how far back bursts and orders are looked at.
        new_account_days: accounts younger than this are new.
    """

    name: str = attrs.field(validator=_rule_name)
    window_hours: int = attrs.field(default=24, validator=_positive_int("window_hours"))
    at_least: int = attrs.field(default=5, validator=_positive_int("at_least"))
    max_rating: int = attrs.field(default=2, validator=_positive_int("max_rating"))
    lookback_days: int = attrs.field(default=30, validator=_positive_int("lookback_days"))
    new_account_days: int = attrs.field(default=30, validator=_positive_int("new_account_days"))


AlertRule = ThresholdRule | BaselineRule | ReviewBurstRule

#: A sensible starting set: frequent returns, a run of bad reviews, cancellations far
#: above the customer's baseline, unpaid orders, and malicious review bursts.
DEFAULT_RULES: Final[tuple[AlertRule, ...]] = (
    ThresholdRule(name="frequent-returns", feature="return_rate_90d", op=">", threshold=0.5,
                  support_feature="orders_90d", min_support=3),
    ThresholdRule(name="bad-review-run", feature="low_reviews_30d", op=">=", threshold=3),
    ThresholdRule(name="unpaid-orders", feature="unpaid_count", op=">=", threshold=2),
    BaselineRule(name="cancellation-spike", event="cancellations", window_days=30,
                 baseline_days=180, factor=3.0, min_count=3),
    ReviewBurstRule(name="review-burst", window_hours=24, at_least=5, max_rating=2),
)


@attrs.frozen(kw_only=True)
class AlertFinding:
    """A rule that fired for a customer: the values and the window."""

    customer_id: str
    rule: str
    values: tuple[tuple[str, float], ...]
    window_start: datetime
    window_end: datetime

    def describe(self) -> str:
        """``rule: name=value, ...`` for printouts."""
        shown = ", ".join(f"{k}={_fmt(x)}" for k, x in self.values)
        return f"{self.rule}: {shown} ({self.window_start:%Y-%m-%d}..{self.window_end:%Y-%m-%d})"


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.3g}"


#: The earliest moment a window can start: datetime's first instant, in UTC.
_FIRST_MOMENT: Final = datetime.min.replace(tzinfo=UTC)


def _window_start(as_of: datetime, days: int) -> datetime:
    """``as_of - days``, or the first representable moment when that is before year 1
    (``as_of`` early in year 100 with a 100000-day window raised OverflowError).

    Nothing can be dated before year 1, so the clamped window covers the same events.
    """
    try:
        return max(as_of - timedelta(days=days), _FIRST_MOMENT)
    except OverflowError:
        return _FIRST_MOMENT


def _threshold(rule: ThresholdRule, features: Any, n: int) -> tuple[AnyArray, list[str]]:
    x = np.asarray(features[rule.feature], dtype=np.float64)
    with np.errstate(invalid="ignore"):
        hit = {">": x > rule.threshold, ">=": x >= rule.threshold,
               "<": x < rule.threshold, "<=": x <= rule.threshold}[rule.op]
        if rule.support_feature is not None:
            hit &= np.asarray(features[rule.support_feature], dtype=np.float64) >= rule.min_support
    names = [rule.feature] + ([rule.support_feature] if rule.support_feature else [])
    return np.flatnonzero(hit & ~np.isnan(x)), names


def _event_counts(event: str, orders: OrderFrame, interactions: InteractionFrame | None,
                  o_codes: AnyArray, i_codes: AnyArray | None, n: int,
                  lo: int, hi: int) -> AnyArray:
    """Events per customer with time in ``(lo, hi]``."""
    if event in ("cancellations", "returns"):
        inside = (orders.placed_at > lo) & (orders.placed_at <= hi)
        if event == "cancellations":
            inside &= orders.status == _CANCELLED
        else:
            inside &= (orders.status != _CANCELLED) & (
                (orders.returned_amount > 0) | np.isin(orders.status, _RETURNED))
        return np.bincount(o_codes[inside], minlength=n)
    if interactions is None or i_codes is None:
        raise ValidationError("interactions", None, f"an InteractionFrame for {event!r} rules")
    inside = (interactions.at > lo) & (interactions.at <= hi) & (i_codes >= 0)
    if event == "complaints":
        inside &= interactions.kind == _COMPLAINT
    else:
        inside &= (interactions.kind == _REVIEW) & (interactions.rating > 0) & (
            interactions.rating <= 2)
    return np.bincount(i_codes[inside], minlength=n)


def evaluate_rules(
    rules: Sequence[AlertRule],
    orders: OrderFrame,
    interactions: InteractionFrame | None = None,
    *,
    as_of: datetime,
    registered_at: Mapping[Any, datetime] | None = None,
    paid_at: Any = None,
) -> list[AlertFinding]:
    """Run ``rules`` over the frames as of ``as_of``; one finding per rule and customer.

    Findings come rule by rule (in the given order), customers in index order.

    Raises:
        ValidationError: a rule that is not a rule, two rules with one name, a naive
            ``as_of``, an interaction rule without interactions.
    """
    require_aware("as_of", as_of)
    given: Any = rules
    if isinstance(given, (str, bytes)) or not isinstance(given, Iterable):
        raise ValidationError("rules", rules, "a sequence of alert rules")
    rules = tuple(given)
    names = [getattr(r, "name", None) for r in rules]
    for r in rules:
        if not isinstance(r, (ThresholdRule, BaselineRule, ReviewBurstRule)):
            raise ValidationError("rules", r, "ThresholdRule, BaselineRule or ReviewBurstRule")
    if len(set(names)) != len(names):
        raise ValidationError("rules", names, "rules with distinct names")
    wanted = {"frequency"}
    for r in rules:
        if isinstance(r, ThresholdRule):
            wanted.add(r.feature)
            if r.support_feature is not None:
                wanted.add(r.support_feature)
    if any(isinstance(r, ReviewBurstRule) for r in rules) and registered_at is not None:
        wanted.add("account_age")
    features = risk_features(orders, interactions, as_of=as_of, features=sorted(wanted),
                             paid_at=paid_at, registered_at=registered_at)
    ids = features.customer_ids
    n = len(ids)
    limit = to_epoch_micros(as_of)
    o_codes = orders.customer_code.astype(np.int64)
    i_codes = None
    if interactions is not None:
        i_codes = features.codes_of(interactions.customer_ids)[
            interactions.customer_code.astype(np.int64)]
    found: list[AlertFinding] = []

    def emit(rule: str, rows: AnyArray, columns: list[tuple[str, AnyArray]],
             start: datetime) -> None:
        for i in rows.tolist():
            found.append(AlertFinding(
                customer_id=str(ids[i]), rule=rule,
                values=tuple((k, float(col[i])) for k, col in columns),
                window_start=start, window_end=as_of,
            ))

    for rule in rules:
        if isinstance(rule, ThresholdRule):
            rows, shown = _threshold(rule, features, n)
            days = rule.window_days
            start = _window_start(as_of, days) if days is not None else as_of
            emit(rule.name, rows, [(c, np.asarray(features[c])) for c in shown], start)
        elif isinstance(rule, BaselineRule):
            w, b = rule.window_days * DAY_US, rule.baseline_days * DAY_US
            recent = _event_counts(rule.event, orders, interactions, o_codes, i_codes, n,
                                   limit - w, limit)
            before = _event_counts(rule.event, orders, interactions, o_codes, i_codes, n,
                                   limit - w - b, limit - w)
            expected = before * (rule.window_days / rule.baseline_days)
            with np.errstate(over="ignore"):  # a factor near the float limit: inf, never hit
                hit = (recent >= rule.min_count) & (recent > rule.factor * expected)
            emit(rule.name, np.flatnonzero(hit),
                 [(f"{rule.event}_{rule.window_days}d", recent),
                  (f"baseline_{rule.window_days}d", expected)],
                 _window_start(as_of, rule.window_days + rule.baseline_days))
        else:
            if interactions is None or i_codes is None:
                raise ValidationError("interactions", None,
                                      f"an InteractionFrame for rule {rule.name!r}")
            lo = limit - rule.lookback_days * DAY_US
            sel = ((interactions.kind == _REVIEW) & (interactions.rating > 0)
                   & (interactions.rating <= rule.max_rating) & (interactions.at > lo)
                   & (interactions.at <= limit) & (i_codes >= 0))
            burst = review_bursts(i_codes[sel], interactions.at[sel], n,
                                  rule.window_hours * HOUR_US)
            counted = (orders.placed_at > lo) & (orders.placed_at <= limit) & (
                orders.status != _CANCELLED)
            bought = np.bincount(o_codes[counted], minlength=n)
            suspicious = burst > bought
            cols: list[tuple[str, AnyArray]] = [
                ("low_reviews_burst", burst), (f"orders_{rule.lookback_days}d", bought)]
            if "account_age" in features.columns:
                age = np.asarray(features["account_age"])
                with np.errstate(invalid="ignore"):
                    suspicious |= age < rule.new_account_days
                cols.append(("account_age", age))
            hit = (burst >= rule.at_least) & suspicious
            emit(rule.name, np.flatnonzero(hit), cols,
                 _window_start(as_of, rule.lookback_days))
    return found


class AlertStatus(enum.Enum):
    """Where an alert is in its life cycle."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


def _event_status(value: Any) -> AlertStatus:
    return v.coerce_enum(AlertStatus, value, "AlertEvent.status")


def _alert_status(value: Any) -> AlertStatus:
    return v.coerce_enum(AlertStatus, value, "Alert.status")


@attrs.frozen(kw_only=True)
class AlertEvent:
    """One entry of an alert's log: who did what, when and why."""

    at: datetime = attrs.field(validator=v.aware_datetime())
    status: AlertStatus = attrs.field(converter=_event_status)
    actor: str = attrs.field(validator=v.an_id)
    note: str = attrs.field(default="", validator=v.text(max_length=2000, blank_ok=True))


_ALERT_MOVES: Final = {
    AlertStatus.OPEN: (AlertStatus.ACKNOWLEDGED, AlertStatus.RESOLVED),
    AlertStatus.ACKNOWLEDGED: (AlertStatus.RESOLVED,),
    AlertStatus.RESOLVED: (),
}


def _alert_events(value: Any) -> tuple[AlertEvent, ...]:
    return _entries(value, AlertEvent, "Alert.events")


def _entries(value: Any, kind: type[Any], name: str) -> tuple[Any, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ValidationError(name, value, f"a sequence of {kind.__name__}")
    out = tuple(value)
    for item in out:
        if not isinstance(item, kind):
            raise ValidationError(name, item, f"{kind.__name__} entries")
    return out


def _values(value: Any) -> tuple[tuple[str, float], ...]:
    if isinstance(value, Mapping):
        value = tuple(value.items())
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ValidationError("Alert.values", value, "(name, number) pairs")
    out = []
    for item in tuple(value):
        if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)
                and isinstance(item[1], (int, float)) and not isinstance(item[1], bool)):
            raise ValidationError("Alert.values", value, "(name, number) pairs")
        out.append((item[0], float(item[1])))
    return tuple(out)


@attrs.frozen(kw_only=True)
class Alert:
    """A stored early warning with its log.

    Attributes:
        id: the alert's id (``rule:customer:as_of`` when raised by the services).
        customer_id: whom it is about.
        rule: the rule that fired.
        values: the values that fired it, ``(name, value)`` pairs.
        window_start: the start of the window looked at.
        window_end: its end (the ``as_of`` of the evaluation).
        status: open, acknowledged or resolved.
        version: bumped by every change.
        events: the log, the first entry the raising.
    """

    id: str = attrs.field(validator=v.an_id)
    customer_id: str = attrs.field(validator=v.an_id)
    rule: str = attrs.field(validator=v.an_id)
    values: tuple[tuple[str, float], ...] = attrs.field(converter=_values)
    window_start: datetime = attrs.field(validator=v.aware_datetime())
    window_end: datetime = attrs.field(validator=v.aware_datetime())
    status: AlertStatus = attrs.field(default=AlertStatus.OPEN, converter=_alert_status)
    version: int = attrs.field(default=1, validator=v.version)
    events: tuple[AlertEvent, ...] = attrs.field(default=(), converter=_alert_events)

    def __attrs_post_init__(self) -> None:
        if not self.events or self.events[-1].status is not self.status:
            raise ValidationError("Alert.events", len(self.events),
                                  "a log whose last entry has the alert's status")
        if self.events[0].status is not AlertStatus.OPEN:
            raise ValidationError("Alert.events", self.events[0].status, "a log starting open")

    @classmethod
    def raised(cls, finding: AlertFinding, *, id: str, at: datetime,
               actor: str = "risk-engine") -> Alert:
        """A new open alert from a finding."""
        if not isinstance(finding, AlertFinding):
            raise ValidationError("finding", finding, "an AlertFinding")
        return cls(id=id, customer_id=finding.customer_id, rule=finding.rule,
                   values=finding.values, window_start=finding.window_start,
                   window_end=finding.window_end,
                   events=(AlertEvent(at=at, status=AlertStatus.OPEN, actor=actor,
                                      note=finding.describe()),))

    @property
    def raised_at(self) -> datetime:
        """When the alert was raised."""
        return self.events[0].at

    @property
    def is_current(self) -> bool:
        """Open or acknowledged."""
        return self.status is not AlertStatus.RESOLVED

    def moved(self, status: AlertStatus | str, *, at: datetime, actor: str,
              note: str = "") -> Alert:
        """The alert acknowledged or resolved, the step logged, the version bumped.

        Raises:
            TransitionNotAllowed: the move is not open -> acknowledged/resolved or
                acknowledged -> resolved.
            ValidationError: ``at`` before the last entry or naive; bad actor or note.
        """
        target = v.coerce_enum(AlertStatus, status, "status")
        if target not in _ALERT_MOVES[self.status]:
            raise TransitionNotAllowed(self.status, target,
                                       "an alert moves open -> acknowledged -> resolved")
        require_aware("at", at)
        if at < self.events[-1].at:
            raise ValidationError("at", at, "a time at or after the alert's last entry")
        entry = AlertEvent(at=at, status=target, actor=actor, note=note)
        return attrs.evolve(self, status=target, version=self.version + 1,
                            events=(*self.events, entry))
