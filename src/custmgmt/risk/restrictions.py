"""Credit terms by grade, restrictions and blacklisting, and the appeal workflow.

:class:`CreditPolicy` is data: per grade a credit limit and the payment methods
allowed (by default no cash on delivery below C). :class:`Restriction` records who
restricted or blacklisted a customer, why, from when and until when, with an
append-only log of every step; :func:`effective_terms` combines a grade's terms with
the restrictions in force.

An :class:`Appeal` follows a frozen transition table in the house style of the
ticket workflow (:mod:`custmgmt.tickets.workflow`): states and events are enums, the
table is validated when built (one initial state, all reachable, final states without
exits, no dead ends), every transition is logged with who, when and why, and a
refused event raises :class:`~custmgmt.errors.TransitionNotAllowed` carrying the state
and the event::

    submitted -> under_review -> upheld | overturned
        |             |
        +-> escalated <+   (past the deadline)   escalated -> upheld | overturned

Deciding needs a reason. The services (:mod:`custmgmt.risk.services`) lift the
restriction in the same transaction as an overturn (and, on a store that keeps
tickets, walk the appeal's service ticket through the ticket workflow alongside),
and the repositories refuse an overturned appeal whose restriction is not lifted.
"""

from __future__ import annotations

import enum
import types
from collections import deque
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

import attrs

from custmgmt.domain import _validate as v
from custmgmt.domain.money import Money
from custmgmt.domain.time import require_aware
from custmgmt.errors import TransitionNotAllowed, ValidationError

__all__ = [
    "APPEAL_WORKFLOW",
    "DEFAULT_CREDIT_POLICY",
    "PAYMENT_METHODS",
    "Appeal",
    "AppealEntry",
    "AppealEvent",
    "AppealStatus",
    "AppealTransition",
    "AppealWorkflow",
    "CreditPolicy",
    "CreditTerms",
    "Restriction",
    "RestrictionEntry",
    "RestrictionKind",
    "RestrictionStatus",
    "effective_terms",
]

#: The payment methods the default policy knows.
PAYMENT_METHODS: Final = ("prepaid", "card", "wallet", "credit", "cash_on_delivery")


def _methods(value: Any) -> frozenset[str]:
    return v.text_set(value, "payment_methods")


@attrs.frozen(kw_only=True)
class CreditTerms:
    """What one grade gets: a credit limit and the allowed payment methods."""

    grade: str = attrs.field(validator=v.text(max_length=20))
    credit_limit: Money = attrs.field(validator=v.instance_of(Money, "a Money credit limit"))
    payment_methods: frozenset[str] = attrs.field(converter=_methods)

    def __attrs_post_init__(self) -> None:
        if self.credit_limit.amount < 0:
            raise ValidationError("CreditTerms.credit_limit", self.credit_limit,
                                  "a limit >= 0")


def _terms(value: Any) -> tuple[CreditTerms, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ValidationError("CreditPolicy.terms", value, "a sequence of CreditTerms")
    out = tuple(value)
    for t in out:
        if not isinstance(t, CreditTerms):
            raise ValidationError("CreditPolicy.terms", t, "CreditTerms rows")
    if len({t.grade for t in out}) != len(out):
        raise ValidationError("CreditPolicy.terms", [t.grade for t in out], "one row per grade")
    return out


@attrs.frozen(kw_only=True)
class CreditPolicy:
    """Credit terms by grade, as data."""

    terms: tuple[CreditTerms, ...] = attrs.field(converter=_terms)

    def terms_for(self, grade: str) -> CreditTerms:
        """The terms of ``grade``.

        Raises:
            ValidationError: the policy has no row for the grade.
        """
        for t in self.terms:
            if t.grade == grade:
                return t
        raise ValidationError("grade", grade, f"one of {[t.grade for t in self.terms]}")


def _cny(amount: int) -> Money:
    return Money(Decimal(amount), "CNY")


_ALL = frozenset(PAYMENT_METHODS)
#: The default policy (CNY): no cash on delivery below C, no credit below B.
DEFAULT_CREDIT_POLICY: Final = CreditPolicy(terms=(
    CreditTerms(grade="A", credit_limit=_cny(20000), payment_methods=_ALL),
    CreditTerms(grade="B", credit_limit=_cny(10000), payment_methods=_ALL),
    CreditTerms(grade="C", credit_limit=_cny(3000), payment_methods=_ALL - {"credit"}),
    CreditTerms(grade="D", credit_limit=_cny(500),
                payment_methods=_ALL - {"credit", "cash_on_delivery"}),
    CreditTerms(grade="E", credit_limit=_cny(0), payment_methods=frozenset({"prepaid"})),
))


class RestrictionKind(enum.Enum):
    """How hard a customer is held back."""

    RESTRICTED = "restricted"
    BLACKLISTED = "blacklisted"


class RestrictionStatus(enum.Enum):
    """Whether a restriction still stands (in force also depends on its end)."""

    ACTIVE = "active"
    LIFTED = "lifted"


@attrs.frozen(kw_only=True)
class RestrictionEntry:
    """One audited step of a restriction: imposed, lifted, appealed, ..."""

    at: datetime = attrs.field(validator=v.aware_datetime())
    action: str = attrs.field(validator=v.text(max_length=40))
    actor: str = attrs.field(validator=v.an_id)
    reason: str = attrs.field(default="", validator=v.text(max_length=2000, blank_ok=True))


def _entries(value: Any, kind: type[Any], name: str) -> tuple[Any, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ValidationError(name, value, f"a sequence of {kind.__name__}")
    out = tuple(value)
    for item in out:
        if not isinstance(item, kind):
            raise ValidationError(name, item, f"{kind.__name__} entries")
    return out


def _restriction_events(value: Any) -> tuple[RestrictionEntry, ...]:
    return _entries(value, RestrictionEntry, "Restriction.events")


def _appeal_events(value: Any) -> tuple[AppealEntry, ...]:
    return _entries(value, AppealEntry, "Appeal.events")


def _kind(x: Any) -> RestrictionKind:
    return v.coerce_enum(RestrictionKind, x, "Restriction.kind")


def _rstatus(x: Any) -> RestrictionStatus:
    return v.coerce_enum(RestrictionStatus, x, "Restriction.status")


@attrs.frozen(kw_only=True)
class Restriction:
    """A restriction or blacklisting with its audit log.

    Attributes:
        id: its id.
        customer_id: whom it holds back.
        kind: restricted or blacklisted.
        reason: why (required).
        actor: who imposed it.
        start: from when it is in force.
        end: until when (None: until lifted).
        blocked_methods: payment methods it removes (restricted kind).
        credit_cap: a cap on the credit limit while in force (None: none).
        status: active or lifted.
        version: bumped by every change.
        events: the append-only log, first entry ``imposed``.
    """

    id: str = attrs.field(validator=v.an_id)
    customer_id: str = attrs.field(validator=v.an_id)
    kind: RestrictionKind = attrs.field(converter=_kind)
    reason: str = attrs.field(validator=v.text(max_length=2000))
    actor: str = attrs.field(validator=v.an_id)
    start: datetime = attrs.field(validator=v.aware_datetime())
    end: datetime | None = attrs.field(default=None, validator=v.aware_datetime(optional=True))
    blocked_methods: frozenset[str] = attrs.field(default=frozenset(), converter=_methods)
    credit_cap: Money | None = attrs.field(
        default=None, validator=v.instance_of(Money, "a Money cap or None", optional=True))
    status: RestrictionStatus = attrs.field(default=RestrictionStatus.ACTIVE, converter=_rstatus)
    version: int = attrs.field(default=1, validator=v.version)
    events: tuple[RestrictionEntry, ...] = attrs.field(default=(), converter=_restriction_events)

    def __attrs_post_init__(self) -> None:
        if self.end is not None and self.end <= self.start:
            raise ValidationError("Restriction.end", self.end, f"after start {self.start}")
        if self.credit_cap is not None and self.credit_cap.amount < 0:
            raise ValidationError("Restriction.credit_cap", self.credit_cap,
                                  "a cap of zero or more")
        if not self.events:
            object.__setattr__(self, "events", (RestrictionEntry(
                at=self.start, action="imposed", actor=self.actor, reason=self.reason),))
        for e in self.events:
            if not isinstance(e, RestrictionEntry):
                raise ValidationError("Restriction.events", e, "RestrictionEntry rows")
        if self.events[0].action != "imposed":
            raise ValidationError("Restriction.events", self.events[0].action,
                                  "a log starting with 'imposed'")
        lifted = any(e.action == "lifted" for e in self.events)
        if lifted != (self.status is RestrictionStatus.LIFTED):
            raise ValidationError("Restriction.status", self.status,
                                  "'lifted' exactly when the log holds a 'lifted' entry")

    def in_force(self, at: datetime) -> bool:
        """Whether it holds the customer back at ``at``."""
        require_aware("at", at)
        if self.status is RestrictionStatus.LIFTED or at < self.start:
            return False
        return self.end is None or at < self.end

    def logged(self, action: str, *, at: datetime, actor: str, reason: str = "") -> Restriction:
        """The restriction with an entry added (no change of status), version bumped."""
        require_aware("at", at)
        if at < self.events[-1].at:
            raise ValidationError("at", at, "a time at or after the last log entry")
        if action in ("imposed", "lifted"):
            raise ValidationError("action", action, "an action other than imposed/lifted")
        entry = RestrictionEntry(at=at, action=action, actor=actor, reason=reason)
        return attrs.evolve(self, version=self.version + 1, events=(*self.events, entry))

    def lifted(self, *, at: datetime, actor: str, reason: str) -> Restriction:
        """The restriction lifted (logged), version bumped.

        Raises:
            TransitionNotAllowed: it is already lifted.
            ValidationError: no reason, or ``at`` before the last log entry.
        """
        if self.status is RestrictionStatus.LIFTED:
            raise TransitionNotAllowed(self.status, "lift", "the restriction is already lifted")
        require_aware("at", at)
        if at < self.events[-1].at:
            raise ValidationError("at", at, "a time at or after the last log entry")
        entry = RestrictionEntry(at=at, action="lifted", actor=actor, reason=reason)
        if not reason.strip():
            raise ValidationError("reason", reason, "a reason for lifting")
        return attrs.evolve(self, status=RestrictionStatus.LIFTED, version=self.version + 1,
                            events=(*self.events, entry))


def effective_terms(policy: CreditPolicy, grade: str, restrictions: Iterable[Restriction],
                    at: datetime) -> CreditTerms:
    """The grade's terms narrowed by the restrictions in force at ``at``.

    A blacklisting leaves prepaid only and no credit; a restriction removes its blocked
    methods and caps the limit.

    Raises:
        ValidationError: a restriction in force caps the limit in another currency than
            the grade's (it cannot be compared, and ignoring it would lift the cap); a
            policy that is not a :class:`CreditPolicy`, restrictions that are not
            :class:`Restriction` rows, a naive ``at``.
    """
    if not isinstance(policy, CreditPolicy):
        raise ValidationError("policy", policy, "a CreditPolicy")
    require_aware("at", at)
    given: Any = restrictions
    if isinstance(given, (str, bytes)) or not isinstance(given, Iterable):
        raise ValidationError("restrictions", given, "a sequence of Restriction")
    restrictions = tuple(given)
    for r in restrictions:
        if not isinstance(r, Restriction):
            raise ValidationError("restrictions", r, "Restriction rows")
    terms = policy.terms_for(grade)
    limit, methods = terms.credit_limit, set(terms.payment_methods)
    for r in restrictions:
        if not r.in_force(at):
            continue
        if r.kind is RestrictionKind.BLACKLISTED:
            return CreditTerms(grade=grade, credit_limit=Money(Decimal(0), limit.currency),
                               payment_methods=frozenset({"prepaid"}))
        methods -= r.blocked_methods
        if r.credit_cap is not None:
            if r.credit_cap.currency != limit.currency:
                raise ValidationError(f"restriction {r.id} credit_cap", r.credit_cap,
                                      f"a cap in the credit policy's currency {limit.currency}")
            limit = min(limit, r.credit_cap, key=lambda m: m.amount)
    return CreditTerms(grade=grade, credit_limit=limit, payment_methods=frozenset(methods))


# -- the appeal workflow ----------------------------------------------------------------


class AppealStatus(enum.Enum):
    """Where an appeal is."""

    SUBMITTED = "submitted"
    UNDER_REVIEW = "under_review"
    ESCALATED = "escalated"
    UPHELD = "upheld"
    OVERTURNED = "overturned"


class AppealEvent(enum.Enum):
    """What happens to an appeal."""

    SUBMIT = "submit"
    START_REVIEW = "start_review"
    ESCALATE = "escalate"
    UPHOLD = "uphold"
    OVERTURN = "overturn"


def _astatus(x: Any, name: str = "status") -> AppealStatus:
    return v.coerce_enum(AppealStatus, x, name)


def _aevent(x: Any, name: str = "event") -> AppealEvent:
    return v.coerce_enum(AppealEvent, x, name)


def _source(x: Any) -> AppealStatus:
    return _astatus(x, "AppealTransition.source")


def _target(x: Any) -> AppealStatus:
    return _astatus(x, "AppealTransition.target")


def _row_event(x: Any) -> AppealEvent:
    return _aevent(x, "AppealTransition.event")


def _entry_event(x: Any) -> AppealEvent:
    return _aevent(x, "AppealEntry.event")


def _from_status(x: Any) -> AppealStatus | None:
    return None if x is None else _astatus(x, "AppealEntry.from_status")


def _to_status(x: Any) -> AppealStatus:
    return _astatus(x, "AppealEntry.to_status")


def _appeal_status(x: Any) -> AppealStatus:
    return _astatus(x, "Appeal.status")


def _initial(x: Any) -> AppealStatus:
    return _astatus(x, "AppealWorkflow.initial")


def _final(xs: Any) -> frozenset[AppealStatus]:
    if isinstance(xs, str) or not isinstance(xs, Iterable):
        raise ValidationError("AppealWorkflow.final", xs, "a collection of AppealStatus")
    return frozenset(_astatus(x, "AppealWorkflow.final") for x in xs)


@attrs.frozen(kw_only=True)
class AppealTransition:
    """A row: ``event`` in ``source`` leads to ``target``; ``needs_reason`` guards it."""

    source: AppealStatus = attrs.field(converter=_source)
    event: AppealEvent = attrs.field(converter=_row_event)
    target: AppealStatus = attrs.field(converter=_target)
    needs_reason: bool = False


@attrs.frozen(kw_only=True)
class AppealEntry:
    """One logged step of an appeal."""

    at: datetime = attrs.field(validator=v.aware_datetime())
    event: AppealEvent = attrs.field(converter=_entry_event)
    from_status: AppealStatus | None = attrs.field(converter=_from_status)
    to_status: AppealStatus = attrs.field(converter=_to_status)
    actor: str = attrs.field(validator=v.an_id)
    reason: str = attrs.field(default="", validator=v.text(max_length=2000, blank_ok=True))


@attrs.frozen(kw_only=True)
class Appeal:
    """A customer's appeal against a restriction, with its log.

    Attributes:
        id: its id.
        restriction_id: the restriction appealed against.
        customer_id: the customer.
        statement: what the customer says (personal text; shown masked in printouts).
        status: where it is.
        deadline: when a decision is due (business time from submission).
        version: bumped by every change.
        events: the log; the first entry is the submission.
        ticket_id: the service ticket that carries the review, when the store keeps
            tickets (the service desk works it with its SLAs), else None.
    """

    id: str = attrs.field(validator=v.an_id)
    restriction_id: str = attrs.field(validator=v.an_id)
    customer_id: str = attrs.field(validator=v.an_id)
    statement: str = attrs.field(validator=v.text(max_length=5000), repr=False)
    status: AppealStatus = attrs.field(converter=_appeal_status)
    deadline: datetime = attrs.field(validator=v.aware_datetime())
    version: int = attrs.field(default=1, validator=v.version)
    events: tuple[AppealEntry, ...] = attrs.field(default=(), converter=_appeal_events)
    ticket_id: str | None = attrs.field(default=None, validator=v.optional_id)

    def __attrs_post_init__(self) -> None:
        if not self.events or self.events[0].event is not AppealEvent.SUBMIT:
            raise ValidationError("Appeal.events", len(self.events),
                                  "a log starting with the submission")
        if self.events[-1].to_status is not self.status:
            raise ValidationError("Appeal.status", self.status,
                                  "the status the last log entry leads to")
        for a, b in zip(self.events, self.events[1:], strict=False):
            if b.at < a.at or b.from_status is not a.to_status:
                raise ValidationError("Appeal.events", b, "entries in order, each from "
                                      "the status the previous one led to")
        if self.deadline < self.events[0].at:
            raise ValidationError("Appeal.deadline", self.deadline, "after the submission")

    @property
    def submitted_at(self) -> datetime:
        """When it was submitted."""
        return self.events[0].at

    @property
    def decided(self) -> bool:
        """Upheld or overturned."""
        return self.status in (AppealStatus.UPHELD, AppealStatus.OVERTURNED)

    def overdue(self, at: datetime) -> bool:
        """Undecided, not escalated, and past its deadline at ``at``."""
        return (self.status in (AppealStatus.SUBMITTED, AppealStatus.UNDER_REVIEW)
                and at > self.deadline)


def _rows(value: Any) -> tuple[AppealTransition, ...]:
    out = tuple(value)
    for r in out:
        if not isinstance(r, AppealTransition):
            raise ValidationError("AppealWorkflow.transitions", r, "AppealTransition rows")
    return out


@attrs.frozen(kw_only=True)
class AppealWorkflow:
    """A validated appeal transition table.

    Raises:
        ValidationError: a broken table: a row for the submit event, two rows for one
            state and event, an exit from a final state, a non-final state without
            exits, or a state not reachable from ``initial``.
    """

    initial: AppealStatus = attrs.field(converter=_initial)
    final: frozenset[AppealStatus] = attrs.field(converter=_final)
    transitions: tuple[AppealTransition, ...] = attrs.field(converter=_rows)
    _table: Mapping[tuple[AppealStatus, AppealEvent], AppealTransition] = attrs.field(
        init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        table: dict[tuple[AppealStatus, AppealEvent], AppealTransition] = {}
        for i, row in enumerate(self.transitions):
            name = f"AppealWorkflow.transitions[{i}]"
            if row.event is AppealEvent.SUBMIT:
                raise ValidationError(name, row, "no 'submit' row: submission enters the "
                                      "initial state")
            if (row.source, row.event) in table:
                raise ValidationError(name, row, "one row per state and event")
            if row.source in self.final:
                raise ValidationError(name, row, f"no exits from final state "
                                      f"{row.source.value!r}")
            table[(row.source, row.event)] = row
        states = {self.initial, *self.final} | {r.source for r in self.transitions} | {
            r.target for r in self.transitions}
        exits = {r.source for r in self.transitions}
        dead = sorted(s.value for s in states if s not in self.final and s not in exits)
        if dead:
            raise ValidationError("AppealWorkflow.transitions", dead,
                                  "an exit from every non-final state (dead end)")
        reach, queue = {self.initial}, deque([self.initial])
        while queue:
            here = queue.popleft()
            for r in self.transitions:
                if r.source is here and r.target not in reach:
                    reach.add(r.target)
                    queue.append(r.target)
        lost = sorted(s.value for s in states if s not in reach)
        if lost:
            raise ValidationError("AppealWorkflow.transitions", lost,
                                  "every state reachable from the initial state")
        object.__setattr__(self, "_table", types.MappingProxyType(table))

    def submit(self, *, id: str, restriction_id: str, customer_id: str, statement: str,
               at: datetime, deadline: datetime, actor: str,
               ticket_id: str | None = None) -> Appeal:
        """A new appeal in the initial state."""
        entry = AppealEntry(at=at, event=AppealEvent.SUBMIT, from_status=None,
                            to_status=self.initial, actor=actor, reason="")
        return Appeal(id=id, restriction_id=restriction_id, customer_id=customer_id,
                      statement=statement, status=self.initial, deadline=deadline,
                      events=(entry,), ticket_id=ticket_id)

    def allowed_events(self, status: AppealStatus) -> tuple[AppealEvent, ...]:
        """The events the table has for ``status``."""
        return tuple(r.event for r in self.transitions if r.source is status)

    def fire(self, appeal: Appeal, event: AppealEvent | str, *, at: datetime, actor: str,
             reason: str = "") -> Appeal:
        """Apply ``event``: a new appeal with the entry logged and the version bumped.

        Raises:
            TransitionNotAllowed: no row for the appeal's status and the event, or a
                decision without a reason.
            ValidationError: a naive or out-of-order ``at``, a bad actor.
        """
        if not isinstance(appeal, Appeal):
            raise ValidationError("appeal", appeal, "an Appeal")
        kind = _aevent(event)
        require_aware("at", at)
        if at < appeal.events[-1].at:
            raise ValidationError("at", at, "a time at or after the appeal's last entry")
        row = self._table.get((appeal.status, kind))
        if row is None:
            allowed = ", ".join(e.value for e in self.allowed_events(appeal.status)) or "none"
            raise TransitionNotAllowed(appeal.status, kind,
                                       f"not allowed in {appeal.status.value!r} "
                                       f"(allowed: {allowed})")
        if row.needs_reason and (not isinstance(reason, str) or not reason.strip()):
            raise TransitionNotAllowed(appeal.status, kind, "a decision needs a reason")
        entry = AppealEntry(at=at, event=kind, from_status=appeal.status, to_status=row.target,
                            actor=actor, reason=reason)
        return attrs.evolve(appeal, status=row.target, version=appeal.version + 1,
                            events=(*appeal.events, entry))

    def check_path(self, appeal: Appeal) -> None:
        """Check that every logged step is a row of this table.

        Raises:
            TransitionNotAllowed: naming the first step the table does not allow.
        """
        if appeal.events[0].to_status is not self.initial:
            raise TransitionNotAllowed(appeal.events[0].to_status, AppealEvent.SUBMIT,
                                       f"an appeal starts in {self.initial.value!r}")
        for i, e in enumerate(appeal.events[1:], start=1):
            row = self._table.get((e.from_status, e.event))  # type: ignore[arg-type]
            if row is None or row.target is not e.to_status or (
                    row.needs_reason and not e.reason.strip()):
                raise TransitionNotAllowed(e.from_status, e.event,
                                           f"Appeal.events[{i}] is not a step of the workflow")


_S, _E = AppealStatus, AppealEvent

#: The appeal workflow: review, escalation past the deadline, a reasoned decision.
APPEAL_WORKFLOW: Final = AppealWorkflow(
    initial=_S.SUBMITTED,
    final=(_S.UPHELD, _S.OVERTURNED),
    transitions=(
        AppealTransition(source=_S.SUBMITTED, event=_E.START_REVIEW, target=_S.UNDER_REVIEW),
        AppealTransition(source=_S.SUBMITTED, event=_E.ESCALATE, target=_S.ESCALATED),
        AppealTransition(source=_S.UNDER_REVIEW, event=_E.ESCALATE, target=_S.ESCALATED),
        AppealTransition(source=_S.UNDER_REVIEW, event=_E.UPHOLD, target=_S.UPHELD,
                         needs_reason=True),
        AppealTransition(source=_S.UNDER_REVIEW, event=_E.OVERTURN, target=_S.OVERTURNED,
                         needs_reason=True),
        AppealTransition(source=_S.ESCALATED, event=_E.UPHOLD, target=_S.UPHELD,
                         needs_reason=True),
        AppealTransition(source=_S.ESCALATED, event=_E.OVERTURN, target=_S.OVERTURNED,
                         needs_reason=True),
    ),
)
