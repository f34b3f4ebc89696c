"""The risk use cases: functions of a :class:`~custmgmt.risk.ports.RiskStore`.

Scoring reads the store through its columnar port (``order_frame`` and
``interaction_frame``), never customer by customer, and stores the run with every
customer's bins so that history can be re-explained. Alerts de-duplicate: a rule
that fires again for a customer with a current (open or acknowledged) alert of the
same rule adds nothing. Restrictions, appeals and their decisions are written in one
transaction each, every step logged with who, when and why; an overturned appeal
lifts its restriction in the same transaction. :func:`restricted_customers` is what
campaign suppression and a rating policy read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Sequence
from datetime import UTC, datetime, time, timedelta, timezone
from typing import Any, Final

import attrs
from dateutil.rrule import MONTHLY, rrule

from custmgmt.calendars import BusinessCalendar
from custmgmt.domain._validate import MAX_ID_LENGTH, check_id, coerce_enum
from custmgmt.domain.money import Money
from custmgmt.domain.time import require_aware
from custmgmt.errors import Conflict, NotFound, TransitionNotAllowed, ValidationError
from custmgmt.notebook.display import Displayed, Report, counts_table, short_repr
from custmgmt.risk.alerts import Alert, AlertRule, AlertStatus, evaluate_rules
from custmgmt.risk.evaluation import StabilityReport, card_stability
from custmgmt.risk.features import describe_risk_feature, is_known_feature, risk_features
from custmgmt.risk.history import ScoreRun
from custmgmt.risk.ports import RiskStore
from custmgmt.risk.restrictions import (
    APPEAL_WORKFLOW,
    DEFAULT_CREDIT_POLICY,
    Appeal,
    AppealEvent,
    AppealStatus,
    CreditPolicy,
    CreditTerms,
    Restriction,
    RestrictionKind,
    RestrictionStatus,
    effective_terms,
)
from custmgmt.risk.scorecard import Scorecard
from custmgmt.tickets.ports import TicketStore
from custmgmt.tickets.ticket import TicketEvent
from custmgmt.tickets.workflow import DEFAULT_WORKFLOW as TICKET_WORKFLOW

__all__ = [
    "DEFAULT_REVIEW_TIME",
    "AlertRun",
    "acknowledge_alert",
    "appeal_calendar",
    "current_grades",
    "customer_terms",
    "decide_appeal",
    "escalate_overdue",
    "impose_restriction",
    "lift_restriction",
    "quarter_label",
    "quarter_starts",
    "raise_alerts",
    "rescore_quarterly",
    "resolve_alert",
    "restricted_customers",
    "run_stability",
    "save_scorecard",
    "score_customers",
    "start_review",
    "submit_appeal",
]

#: Business time an appeal's review may take before it escalates (two 8-hour days).
DEFAULT_REVIEW_TIME: Final = timedelta(hours=16)


def appeal_calendar(tz: str = "Asia/Shanghai") -> BusinessCalendar:
    """Office hours, Monday to Friday 09:00-12:00 and 13:00-18:00 (appeal deadlines)."""
    day = [(time(9), time(12)), (time(13), time(18))]
    return BusinessCalendar(tz=tz, hours=dict.fromkeys(range(5), day))


def _store(store: Any) -> RiskStore:
    if not isinstance(store, RiskStore):
        raise ValidationError("store", type(store).__name__, "a store with a risk repository")
    return store


# -- scorecards and scoring -----------------------------------------------------------


def save_scorecard(store: RiskStore, card: Scorecard, *,
                   extra_features: Collection[str] = ()) -> None:
    """Store a card after checking every feature is known.

    Args:
        extra_features: names a host computes itself (not in the catalogue).

    Raises:
        ValidationError: a feature neither in the catalogue nor in ``extra_features``;
            nothing is stored.
        Conflict: the card version is stored.
    """
    _store(store)
    if not isinstance(card, Scorecard):
        raise ValidationError("card", type(card).__name__, "a Scorecard")
    for name in card.features:
        if name not in extra_features and not is_known_feature(name):
            raise ValidationError(
                "card.tables.feature", name,
                "a known feature (custmgmt.risk.risk_feature_names() or the catalogue)",
            )
    with store.transaction():
        store.risk.add_scorecard(card)


def score_customers(
    store: RiskStore,
    card: Scorecard,
    *,
    as_of: datetime,
    currency: str = "CNY",
    run_id: str | None = None,
    rates: Any = None,
) -> ScoreRun:
    """Score every customer with orders up to ``as_of`` and store the run.

    Features come from :func:`~custmgmt.risk.features.risk_features` over the store's
    frames; the card must be stored. The run id defaults to
    ``"{card}-v{version}-{as_of:%Y%m%dT%H%M%S}"``.

    Raises:
        NotFound: the card version is not stored.
        Conflict: the run id is taken; nothing is written.
        ValidationError: a naive ``as_of``, a card feature that is not computable.
    """
    _store(store)
    require_aware("as_of", as_of)
    stored = store.risk.get_scorecard(card.name, card.version)
    if stored != card:
        raise Conflict("scorecard", f"{card.name} v{card.version}",
                       "the stored card of this version differs (save a new version)")
    orders = store.order_frame(currency=currency, as_of=as_of, rates=rates)
    needs_interactions = any(_is_interaction_feature(f) for f in card.features)
    interactions = (store.interaction_frame(as_of=as_of, customer_index=orders)
                    if needs_interactions else None)
    features = risk_features(orders, interactions, as_of=as_of, features=card.features)
    batch = card.score_columns(features.columns)
    run = ScoreRun(
        id=run_id or f"{card.name}-v{card.version}-{as_of.astimezone(UTC):%Y%m%dT%H%M%S}",
        card_name=card.name, card_version=card.version, as_of=as_of,
        customer_ids=[str(x) for x in features.customer_ids.tolist()], batch=batch,
    )
    with store.transaction():
        store.risk.add_score_run(run)
    return run


def _is_interaction_feature(name: str) -> bool:
    return describe_risk_feature(name).source == "interactions"


def quarter_label(moment: datetime) -> str:
    """``"2024Q3"`` for a moment in July-September 2024 (in its own time zone)."""
    require_aware("moment", moment)
    return f"{moment.year}Q{(moment.month - 1) // 3 + 1}"


def quarter_starts(start: datetime, end: datetime) -> list[datetime]:
    """The first instants of the quarters beginning in ``[start, end]`` (start's zone)."""
    require_aware("start", start)
    require_aware("end", end)
    first = start.replace(month=(start.month - 1) // 3 * 3 + 1, day=1, hour=0, minute=0,
                          second=0, microsecond=0)
    return [d for d in rrule(MONTHLY, interval=3, dtstart=first, until=end) if d >= start]


def rescore_quarterly(store: RiskStore, card: Scorecard, *, as_of: datetime,
                      currency: str = "CNY") -> ScoreRun | None:
    """Score with ``card`` unless it already has a run in ``as_of``'s quarter.

    The run id is ``"{card}-v{version}-{quarter}"``, so a re-run in the same quarter
    adds nothing (returns None); earlier runs stay as history.
    """
    _store(store)
    label = quarter_label(as_of)
    run_id = f"{card.name}-v{card.version}-{label}"
    try:
        store.risk.get_score_run(run_id)
    except NotFound:
        return score_customers(store, card, as_of=as_of, currency=currency, run_id=run_id)
    return None


def current_grades(store: RiskStore, card_name: str) -> dict[str, str]:
    """Each customer's grade in the card's latest run (empty without runs)."""
    _store(store)
    runs = store.risk.score_runs(card_name)
    if not runs:
        return {}
    run = store.risk.get_score_run(runs[-1].id)
    return {cid: run.batch.grade_of(i) for i, cid in enumerate(run.customer_ids.tolist())}


def run_stability(store: RiskStore, card_name: str) -> StabilityReport | None:
    """PSI of the score and of every feature's bins between the card's last two runs.

    Reads the stored runs only (their bins), so it needs no features recomputed.
    None when the card has fewer than two runs of one version, or one of the two
    scored nobody (there is no distribution to compare).
    """
    _store(store)
    runs = store.risk.score_runs(card_name)
    if len(runs) < 2 or runs[-1].card_version != runs[-2].card_version:
        return None
    if runs[-1].customers == 0 or runs[-2].customers == 0:
        return None
    before, after = (store.risk.get_score_run(r.id) for r in runs[-2:])
    card = store.risk.get_scorecard(card_name, runs[-1].card_version)
    return card_stability(card, before.batch, after.batch)


# -- alerts ---------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class AlertRun(Displayed):
    """What :func:`raise_alerts` did.

    Attributes:
        added: the alerts stored, in the order the rules found them.
        duplicates: findings left out because an alert of the rule was current for
            the customer (or the same alert was raised before).
    """

    added: tuple[Alert, ...]
    duplicates: int

    def __repr__(self) -> str:
        return short_repr("AlertRun", added=len(self.added), duplicates=self.duplicates)

    def _display(self) -> Report:
        """Alerts added per rule (customers are not listed)."""
        report = Report("Risk alerts raised", facts=[("added", len(self.added)),
                                                     ("duplicates", self.duplicates)])
        per_rule: dict[str, int] = {}
        for alert in self.added:
            per_rule[alert.rule] = per_rule.get(alert.rule, 0) + 1
        report.add(counts_table("alerts per rule", "rule", per_rule))
        return report


def raise_alerts(
    store: RiskStore,
    rules: Sequence[AlertRule],
    *,
    as_of: datetime,
    currency: str = "CNY",
    actor: str = "risk-engine",
) -> AlertRun:
    """Evaluate ``rules`` on the store's frames and store the new alerts.

    A finding for a customer who has a current alert of the same rule is a
    duplicate and adds nothing; so does a re-run with the same ``as_of`` (alert ids are
    ``"{rule}:{customer}:{as_of}"``, ``%`` and ``:`` in the rule and customer escaped as
    ``%25`` and ``%3A``, shortened with a digest when that is longer than an id may be).
    All new alerts are stored in one transaction.
    """
    _store(store)
    require_aware("as_of", as_of)
    check_id("actor", actor)
    orders = store.order_frame(currency=currency, as_of=as_of)
    interactions = store.interaction_frame(as_of=as_of, customer_index=orders)
    findings = evaluate_rules(rules, orders, interactions, as_of=as_of)
    current = {(a.customer_id, a.rule) for a in store.risk.find_alerts(
        statuses=(AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED))}
    stamp = f"{as_of.astimezone(UTC):%Y%m%dT%H%M%S}"
    added: list[Alert] = []
    duplicates = 0
    with store.transaction():
        for f in findings:
            alert_id = _bounded_id(f"{_id_part(f.rule)}:{_id_part(f.customer_id)}:{stamp}")
            if (f.customer_id, f.rule) in current:
                duplicates += 1
                continue
            try:
                store.risk.get_alert(alert_id)
            except NotFound:
                alert = Alert.raised(f, id=alert_id, at=as_of, actor=actor)
                store.risk.add_alert(alert)
                current.add((f.customer_id, f.rule))
                added.append(alert)
            else:
                duplicates += 1
    return AlertRun(added=tuple(added), duplicates=duplicates)


def _id_part(text: str) -> str:
    """``text`` with ``%`` and ``:`` escaped, so the parts of an alert id stay apart.

    Rule ``x`` for customer ``y:z`` and rule ``x:y`` for customer ``z`` both made
    ``x:y:z:<as_of>``: the second alert was counted as a duplicate and never raised.
    Ids without either character are unchanged.
    """
    return text.replace("%", "%25").replace(":", "%3A")


def _move_alert(store: RiskStore, alert_id: str, status: AlertStatus, at: datetime,
                actor: str, note: str) -> Alert:
    _store(store)
    with store.transaction():
        alert = store.risk.get_alert(alert_id).moved(status, at=at, actor=actor, note=note)
        store.risk.update_alert(alert)
    return alert


def acknowledge_alert(store: RiskStore, alert_id: str, *, at: datetime, actor: str,
                      note: str = "") -> Alert:
    """Mark an open alert acknowledged (logged)."""
    return _move_alert(store, alert_id, AlertStatus.ACKNOWLEDGED, at, actor, note)


def resolve_alert(store: RiskStore, alert_id: str, *, at: datetime, actor: str,
                  note: str = "") -> Alert:
    """Resolve an open or acknowledged alert (logged)."""
    return _move_alert(store, alert_id, AlertStatus.RESOLVED, at, actor, note)


# -- restrictions ---------------------------------------------------------------------


def impose_restriction(
    store: RiskStore,
    *,
    id: str,
    customer_id: str,
    kind: RestrictionKind | str,
    reason: str,
    actor: str,
    start: datetime,
    end: datetime | None = None,
    blocked_methods: Iterable[str] = (),
    credit_cap: Money | None = None,
) -> Restriction:
    """Restrict or blacklist a stored customer (logged as ``imposed``).

    Raises:
        NotFound: the customer is not stored.
        Conflict: the id is taken.
        ValidationError: a bad field (no reason, an end before the start ...).
    """
    _store(store)
    restriction = Restriction(id=id, customer_id=customer_id, kind=kind, reason=reason,
                              actor=actor, start=start, end=end,
                              blocked_methods=blocked_methods, credit_cap=credit_cap)
    with store.transaction():
        store.customers.get(customer_id)
        store.risk.add_restriction(restriction)
    return restriction


def lift_restriction(store: RiskStore, restriction_id: str, *, at: datetime, actor: str,
                     reason: str) -> Restriction:
    """Lift a restriction (logged).

    Raises:
        TransitionNotAllowed: already lifted.
    """
    _store(store)
    with store.transaction():
        lifted = store.risk.get_restriction(restriction_id).lifted(at=at, actor=actor,
                                                                    reason=reason)
        store.risk.update_restriction(lifted)
    return lifted


def restricted_customers(store: RiskStore, at: datetime, *,
                         kinds: Collection[RestrictionKind] | None = None) -> frozenset[str]:
    """Customers with a restriction in force at ``at`` (campaign suppression reads this).

    Args:
        kinds: only these kinds (e.g. ``{RestrictionKind.BLACKLISTED}``); default all.

    Raises:
        ValidationError: a naive ``at``, or an unknown kind.
    """
    _store(store)
    require_aware("at", at)
    given: Any = kinds
    if given is not None and (isinstance(given, str) or not isinstance(given, Iterable)):
        raise ValidationError("kinds", given, "a collection of restriction kinds or None")
    wanted = None if given is None else {coerce_enum(RestrictionKind, k, "kinds")
                                         for k in given}
    return frozenset(r.customer_id for r in store.risk.find_restrictions()
                     if r.in_force(at) and (wanted is None or r.kind in wanted))


def customer_terms(store: RiskStore, customer_id: str, *, at: datetime, card_name: str,
                   policy: CreditPolicy = DEFAULT_CREDIT_POLICY,
                   default_grade: str = "C") -> CreditTerms:
    """The customer's credit limit and payment methods: grade terms narrowed by
    the restrictions in force (``default_grade`` for a customer never scored)."""
    _store(store)
    require_aware("at", at)
    check_id("card_name", card_name)
    history = store.risk.score_history(customer_id)
    history = [h for h in history if h.card_name == card_name and h.as_of <= at]
    grade = history[-1].grade if history else default_grade
    return effective_terms(policy, grade, store.risk.find_restrictions(customer_id=customer_id),
                           at)


# -- appeals --------------------------------------------------------------------------


def submit_appeal(
    store: RiskStore,
    *,
    id: str,
    restriction_id: str,
    statement: str,
    at: datetime,
    actor: str,
    calendar: BusinessCalendar | None = None,
    review_time: timedelta = DEFAULT_REVIEW_TIME,
    open_ticket: bool | None = None,
) -> Appeal:
    """Appeal against a restriction; the deadline is ``review_time`` of business time.

    When the store keeps service tickets (and ``open_ticket`` is not False), the review
    is also carried by a ticket ``"{id}-T"`` (shortened for the longest ids; category
    ``other``, priority ``high``, channel ``appeal``) that follows the appeal through
    the ticket workflow: assigned and started with the review, escalated with it,
    resolved and closed with the decision, so the service desk sees it with its SLAs.

    Raises:
        NotFound: no such restriction.
        TransitionNotAllowed: the restriction is lifted.
        Conflict: the restriction has an undecided appeal, or the id is taken.
        ValidationError: ``at`` before the restriction's start, or a bad field.
    """
    _store(store)
    check_id("id", id)
    cal = calendar if calendar is not None else appeal_calendar()
    if not isinstance(cal, BusinessCalendar):
        raise ValidationError("calendar", calendar, "a BusinessCalendar or None")
    if not isinstance(review_time, timedelta) or review_time <= timedelta(0):
        raise ValidationError("review_time", review_time, "a positive timedelta")
    with store.transaction():
        restriction = store.risk.get_restriction(restriction_id)
        if restriction.status is RestrictionStatus.LIFTED:
            raise TransitionNotAllowed(restriction.status, AppealEvent.SUBMIT,
                                       "the restriction is already lifted")
        require_aware("at", at)
        if at < restriction.start:
            raise ValidationError("at", at, f"a time at or after the restriction's start "
                                  f"({restriction.start.isoformat()})")
        open_ones = [a for a in store.risk.find_appeals(restriction_id=restriction_id)
                     if not a.decided]
        if open_ones:
            raise Conflict("appeal", open_ones[0].id,
                           f"restriction {restriction_id!r} has an undecided appeal")
        with_ticket = isinstance(store, TicketStore) if open_ticket is None else open_ticket
        if with_ticket and not isinstance(store, TicketStore):
            raise ValidationError("open_ticket", open_ticket, "False: the store keeps no tickets")
        ticket_id = _ticket_id(id) if with_ticket else None
        appeal = APPEAL_WORKFLOW.submit(
            id=id, restriction_id=restriction_id, customer_id=restriction.customer_id,
            statement=statement, at=at, deadline=_deadline(cal, at, review_time),
            actor=actor, ticket_id=ticket_id)
        store.risk.add_appeal(appeal)
        if ticket_id is not None and isinstance(store, TicketStore):
            store.tickets.add(TICKET_WORKFLOW.open(
                id=ticket_id, customer_id=restriction.customer_id, category="other",
                priority="high", subject=f"Appeal {id} against restriction {restriction_id}",
                description=statement, at=_fixed(at), actor=actor, channel="appeal",
                reason=f"appeal {id}"))
        store.risk.update_restriction(restriction.logged(
            "appealed", at=max(at, restriction.events[-1].at), actor=actor,
            reason=f"appeal {id}"))
    return appeal


def _deadline(cal: BusinessCalendar, at: datetime, review_time: timedelta) -> datetime:
    """``review_time`` of business time after ``at``.

    Business time is never shorter than wall time, so a deadline whose wall-clock
    bound passes year 9999 is refused at once, naming ``review_time``.

    Raises:
        ValidationError: naming ``review_time``, when the deadline would fall after
            year 9999.
    """
    expected = (f"a review time whose deadline from {at.isoformat()} falls before the "
                f"end of year 9999")
    try:
        at + review_time  # raises OverflowError past year 9999
    except OverflowError:
        raise ValidationError("review_time", review_time, expected) from None
    try:
        return cal.add_business_time(at, review_time)
    except ValidationError as exc:
        if exc.field != "delta":
            raise
        raise ValidationError("review_time", review_time, expected) from None


def _bounded_id(base: str, suffix: str = "") -> str:
    """``base + suffix`` as an id; a base too long for it is shortened, keeping a digest
    of the whole, so ids made from the longest valid ids are still valid and distinct."""
    if len(base) + len(suffix) <= MAX_ID_LENGTH:
        return base + suffix
    digest = hashlib.sha256(base.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{base[:MAX_ID_LENGTH - len(suffix) - len(digest) - 1]}~{digest}{suffix}"


def _ticket_id(appeal_id: str) -> str:
    """``"<appeal id>-T"``, shortened for the longest appeal ids."""
    return _bounded_id(appeal_id, "-T")


def start_review(store: RiskStore, appeal_id: str, *, at: datetime, actor: str) -> Appeal:
    """Take an appeal under review."""
    _store(store)
    with store.transaction():
        appeal = APPEAL_WORKFLOW.fire(store.risk.get_appeal(appeal_id), AppealEvent.START_REVIEW,
                                      at=at, actor=actor)
        store.risk.update_appeal(appeal)
        _follow(store, appeal, [(TicketEvent.ASSIGN, {"assignee": actor}),
                                (TicketEvent.START, {})], at=at, actor=actor)
    return appeal


def _fixed(at: datetime) -> datetime:
    """``at`` with its UTC offset as a fixed zone: the ticket codecs key offsets by
    zone and some zone objects (dateutil's) cannot be keys."""
    require_aware("at", at)
    offset = at.utcoffset()
    assert offset is not None
    return at.astimezone(timezone(offset))


def _follow(store: RiskStore, appeal: Appeal, steps: list[tuple[TicketEvent, dict[str, Any]]],
            *, at: datetime, actor: str, reason: str = "") -> None:
    """Walk the appeal's ticket along ``steps``, skipping those the ticket's state
    does not allow (the service desk may have moved it meanwhile)."""
    if appeal.ticket_id is None or not isinstance(store, TicketStore):
        return
    ticket = store.tickets.get(appeal.ticket_id)
    read = ticket.version
    for event, data in steps:
        when = max(_fixed(at), ticket.updated_at)
        if TICKET_WORKFLOW.can_fire(ticket, event, at=when, actor=actor, reason=reason, **data):
            ticket = TICKET_WORKFLOW.fire(ticket, event, at=when, actor=actor, reason=reason,
                                          **data)
    if ticket.version != read:
        store.tickets.update(ticket, expected_version=read)


def decide_appeal(store: RiskStore, appeal_id: str, *, overturn: bool, at: datetime,
                  actor: str, reason: str) -> Appeal:
    """Uphold or overturn an appeal; an overturn lifts the restriction, atomically.

    Both the appeal and the restriction log the decision.

    Raises:
        TransitionNotAllowed: the appeal is not under review or escalated, or no reason.
    """
    _store(store)
    if not isinstance(overturn, bool):
        raise ValidationError("overturn", overturn, "True (overturn) or False (uphold)")
    event = AppealEvent.OVERTURN if overturn else AppealEvent.UPHOLD
    with store.transaction():
        appeal = APPEAL_WORKFLOW.fire(store.risk.get_appeal(appeal_id), event, at=at,
                                      actor=actor, reason=reason)
        restriction = store.risk.get_restriction(appeal.restriction_id)
        when = max(at, restriction.events[-1].at)
        if overturn:
            if restriction.status is not RestrictionStatus.LIFTED:
                restriction = restriction.lifted(at=when, actor=actor,
                                                 reason=f"appeal {appeal_id} overturned: {reason}")
            else:
                restriction = restriction.logged("appeal overturned", at=when, actor=actor,
                                                 reason=reason)
        else:
            restriction = restriction.logged("appeal upheld", at=when, actor=actor,
                                             reason=reason)
        store.risk.update_restriction(restriction)
        store.risk.update_appeal(appeal)
        verdict = "overturned" if overturn else "upheld"
        _follow(store, appeal, [(TicketEvent.RESOLVE, {"solution": f"{verdict}: {reason}"}),
                                (TicketEvent.CLOSE, {})], at=at, actor=actor,
                reason=f"appeal {verdict}")
    return appeal


def escalate_overdue(store: RiskStore, *, at: datetime,
                     actor: str = "risk-sla") -> list[Appeal]:
    """Escalate every undecided appeal past its deadline at ``at`` (logged)."""
    _store(store)
    require_aware("at", at)
    escalated = []
    with store.transaction():
        for appeal in store.risk.find_appeals(
                statuses=(AppealStatus.SUBMITTED, AppealStatus.UNDER_REVIEW)):
            if appeal.overdue(at):
                moved = APPEAL_WORKFLOW.fire(appeal, AppealEvent.ESCALATE, at=at, actor=actor,
                                             reason=f"deadline {appeal.deadline.isoformat()} "
                                             "passed")
                store.risk.update_appeal(moved)
                _follow(store, moved, [(TicketEvent.ESCALATE, {})], at=at, actor=actor,
                        reason="appeal deadline passed")
                escalated.append(moved)
    return escalated
