"""Service level agreements in business time: policies, the per-ticket status, escalations.

An SLA status is a pure function of a ticket's event log, an :class:`SLAPolicy`, a
:class:`~custmgmt.calendars.BusinessCalendar` and ``as_of``: nothing is stored, so a
status can be recomputed for any moment and never drifts from the log.

Three clocks (:class:`SLAMetric`) are measured, all in the calendar's working time:

* **first response**: from the ticket's creation to the first agent reply (a
  ``respond`` event), or to its resolution if it is resolved first;
* **next response**: each customer reply received after the first response opens a
  cycle that the next agent reply (or the resolution) fulfils; further customer
  replies before that answer do not open another cycle (the clock counts from the
  first unanswered reply, as Zendesk's next reply time does);
* **resolution**: from creation until the ticket is resolved (or closed).

Reopening. A reopened ticket's resolution clock *resumes*: working time counted
before the first resolution still counts, the time the ticket sat resolved does not,
and the clock runs again until the next resolution. This is Zendesk's requester wait
time, and it is the only reading compatible with "a breach is never undone": with
Jira Service Management's alternative, a fresh cycle per reopen, an earlier breach
would vanish from the current cycle. Reopening does not by itself open a next-response
cycle; a ``customer_replied`` event does.

Pausing. Each metric has a set of statuses in which its clock stands still
(:attr:`SLAPolicy.paused_in`); by default waiting on the customer pauses resolution
and nothing pauses the response clocks.

States (:class:`SLAState`), in order of precedence: **breached** once the clock has
passed its deadline (it stays breached after the ticket is answered or resolved, and
for next response once any cycle breached); **met** when fulfilled in time;
**cancelled** when the ticket was cancelled or merged first; **paused**; **warning**
from :attr:`SLAPolicy.warning_share` of the target; else **ok**.

A deadline (``due_at``) is the earliest instant at which the counted working time
reaches the target. "Breached" means the clock was still open after its deadline
(ended strictly later than ``due_at``); answering exactly at the deadline meets it.

:func:`sla_status` is the reference implementation: it walks the log and calls the
calendar's day-by-day arithmetic. :func:`custmgmt.tickets.sla_vectorised.sla_status_many`
computes the same for many tickets at once.
"""

from __future__ import annotations

import enum
import math
import types
from collections.abc import Hashable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Final, Protocol

import attrs

from custmgmt.calendars import BusinessCalendar
from custmgmt.domain.time import require_aware
from custmgmt.errors import ValidationError
from custmgmt.tickets.ticket import TicketEvent, TicketStatus

__all__ = [
    "CANCELLED_STATUSES",
    "DEFAULT_PAUSED_IN",
    "DONE_STATUSES",
    "MAX_TARGET",
    "NOT_ESCALATED",
    "SLA_SEVERITY",
    "Escalation",
    "EscalationRule",
    "SLAEvent",
    "SLAMetric",
    "SLAPolicy",
    "SLAState",
    "SLAStatus",
    "SLATargets",
    "SLATicket",
    "TargetStatus",
    "check_factor",
    "escalations",
    "format_business_hours",
    "sla_status",
    "status_key",
]

# The workflow's vocabulary, by Enum value: the engine reads TicketEvent and
# TicketStatus, and also any host Enum (or plain strings) with the same values.
RESPOND: Final = TicketEvent.RESPOND.value
CUSTOMER_REPLIED: Final = TicketEvent.CUSTOMER_REPLIED.value
WAITING_ON_CUSTOMER: Final = TicketStatus.WAITING_ON_CUSTOMER.value
ESCALATED: Final = TicketStatus.ESCALATED.value

#: Statuses that stop every clock as fulfilled: the ticket is solved.
DONE_STATUSES: Final = frozenset({TicketStatus.RESOLVED.value, TicketStatus.CLOSED.value})
#: Statuses that stop every clock unfulfilled: the ticket no longer needs an answer.
CANCELLED_STATUSES: Final = frozenset({TicketStatus.CANCELLED.value, TicketStatus.MERGED.value})

_ZERO: Final = timedelta(0)
#: The longest SLA target (ten years of business time, scaled targets included).
MAX_TARGET: Final = timedelta(days=3660)
_MICROSECOND: Final = timedelta(microseconds=1)


def check_factor(field: str, value: Any) -> float:
    """A response-time factor: a positive finite number, as a float.

    Raises:
        ValidationError: anything else (booleans, NaN, infinities, zero, negatives).
    """
    expected = "a positive finite number (1.0 keeps the targets)"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(field, value, expected)
    try:
        number = float(value)  # an int past float's range overflows here
    except OverflowError:
        raise ValidationError(field, f"an integer of {len(str(abs(value)))} digits",
                              expected) from None
    if not math.isfinite(number) or number <= 0:
        raise ValidationError(field, value, expected)
    return number


def format_business_hours(delta: timedelta) -> str:
    """A business-time duration as business hours and minutes, however long.

    Business time counts only the calendar's working hours, so it is never shown as
    24-hour days.

    >>> format_business_hours(timedelta(hours=2, minutes=5))
    '2h05m'
    >>> format_business_hours(timedelta(hours=301, minutes=30))
    '301h30m'
    >>> format_business_hours(timedelta(seconds=59))
    '0h00m'
    """
    minutes = int(delta.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def status_key(value: Any) -> Any:
    """The key the engine uses for a status, priority or category: an Enum's value."""
    return value.value if isinstance(value, enum.Enum) else value


# -- what the engine reads from a ticket --------------------------------------------


class SLAEvent(Protocol):
    """One entry of a ticket's event log, as the SLA engine reads it."""

    @property
    def at(self) -> datetime:
        """When it happened (timezone-aware)."""
        ...

    @property
    def event(self) -> Any:
        """The event (an Enum whose value is e.g. ``"respond"``)."""
        ...

    @property
    def from_status(self) -> Any:
        """The status before the event (None for the creation)."""
        ...

    @property
    def to_status(self) -> Any:
        """The status after the event."""
        ...


class SLATicket(Protocol):
    """What the SLA engine needs of a ticket.

    :class:`~custmgmt.tickets.ticket.Ticket` has it; so can a host's own ticket type,
    whose event and status Enums (or strings) use the same values.
    """

    @property
    def id(self) -> str:
        """The ticket id."""
        ...

    @property
    def created_at(self) -> datetime:
        """When the ticket was opened: every clock starts here."""
        ...

    @property
    def priority(self) -> Any:
        """The priority (an Enum member), which selects the targets."""
        ...

    @property
    def category(self) -> Any:
        """The category (an Enum member), which may override the targets."""
        ...

    @property
    def events(self) -> Sequence[SLAEvent]:
        """The event log, oldest first."""
        ...


# -- policy -------------------------------------------------------------------------


class SLAMetric(enum.Enum):
    """The clocks an SLA measures."""

    FIRST_RESPONSE = "first_response"
    NEXT_RESPONSE = "next_response"
    RESOLUTION = "resolution"


class SLAState(enum.Enum):
    """Where a clock stands at ``as_of`` (see the module docstring for precedence)."""

    OK = "ok"
    WARNING = "warning"
    BREACHED = "breached"
    MET = "met"
    PAUSED = "paused"
    CANCELLED = "cancelled"


def _check_target(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is None:
        return
    name = f"SLATargets.{attribute.name}"
    if not isinstance(value, timedelta):
        raise ValidationError(name, value, "a timedelta of business time, or None")
    if value <= _ZERO:
        raise ValidationError(name, value, "a positive timedelta of business time")
    if value > MAX_TARGET:
        # Deadlines are found on a table of business days: a target of centuries would
        # build one for minutes (or overflow), where a typo was meant.
        raise ValidationError(name, value, f"at most {MAX_TARGET.days} days of business time")


@attrs.frozen(kw_only=True)
class SLATargets:
    """Business-time targets for one priority (or priority and category).

    ``None`` means the metric is not measured.

    Raises:
        ValidationError: for a target that is not a positive timedelta, or one longer
            than :data:`MAX_TARGET` (ten years of business time).
    """

    first_response: timedelta | None = attrs.field(default=None, validator=_check_target)
    next_response: timedelta | None = attrs.field(default=None, validator=_check_target)
    resolution: timedelta | None = attrs.field(default=None, validator=_check_target)

    def get(self, metric: SLAMetric) -> timedelta | None:
        """The target for ``metric``."""
        result: timedelta | None = getattr(self, metric.value)
        return result

    def scaled(self, factor: float) -> SLATargets:
        """Every target multiplied by ``factor`` (rounded to the microsecond, at least 1 µs).

        This is how a customer's service level shortens its tickets' targets
        (:attr:`custmgmt.rating.ServiceLevel.response_time_factor`: 0.5 halves them).

        >>> SLATargets(first_response=timedelta(hours=4)).scaled(0.5).first_response
        datetime.timedelta(seconds=7200)

        Raises:
            ValidationError: ``factor`` is not a positive finite number.
        """
        factor = check_factor("factor", factor)
        if factor == 1.0:
            return self

        def times(target: timedelta | None) -> timedelta | None:
            if target is None:
                return None
            try:
                return max(target * factor, _MICROSECOND)
            except OverflowError:
                raise ValidationError(
                    "factor", factor, f"a factor that keeps the target {target} within "
                    "timedelta's range (about 2.7 million years)",
                ) from None

        return SLATargets(
            first_response=times(self.first_response),
            next_response=times(self.next_response),
            resolution=times(self.resolution),
        )

    @property
    def longest(self) -> timedelta:
        """The longest target set (zero when none is)."""
        return max(
            (
                t
                for t in (self.first_response, self.next_response, self.resolution)
                if t is not None
            ),
            default=_ZERO,
        )


_NO_TARGETS: Final = SLATargets()

#: Waiting on the customer pauses resolution only, as in most helpdesks.
DEFAULT_PAUSED_IN: Final[Mapping[SLAMetric, frozenset[str]]] = types.MappingProxyType(
    {
        SLAMetric.FIRST_RESPONSE: frozenset(),
        SLAMetric.NEXT_RESPONSE: frozenset(),
        SLAMetric.RESOLUTION: frozenset({WAITING_ON_CUSTOMER}),
    }
)


def _convert_targets(value: Any) -> Mapping[Any, SLATargets]:
    name = "SLAPolicy.targets"
    if not isinstance(value, Mapping) or not value:
        raise ValidationError(name, value, "a non-empty mapping of priority to SLATargets")
    result: dict[Any, SLATargets] = {}
    for key, targets in value.items():
        if not isinstance(targets, SLATargets):
            raise ValidationError(f"{name}[{key!r}]", targets, "SLATargets")
        if not isinstance(status_key(key), Hashable):
            raise ValidationError(name, key, "a priority (an Enum member or its value)")
        result[status_key(key)] = targets
    return types.MappingProxyType(result)


def _convert_category_targets(value: Any) -> Mapping[tuple[Any, Any], SLATargets]:
    name = "SLAPolicy.category_targets"
    if not isinstance(value, Mapping):
        raise ValidationError(name, value, "a mapping of (priority, category) to SLATargets")
    result: dict[tuple[Any, Any], SLATargets] = {}
    for key, targets in value.items():
        if not isinstance(key, tuple) or len(key) != 2:
            raise ValidationError(name, key, "a (priority, category) pair")
        if not isinstance(targets, SLATargets):
            raise ValidationError(f"{name}[{key!r}]", targets, "SLATargets")
        result[(status_key(key[0]), status_key(key[1]))] = targets
    return types.MappingProxyType(result)


def _convert_paused_in(value: Any) -> Mapping[SLAMetric, frozenset[str]]:
    name = "SLAPolicy.paused_in"
    if not isinstance(value, Mapping):
        raise ValidationError(name, value, "a mapping of SLAMetric to a set of statuses")
    result = dict(DEFAULT_PAUSED_IN)
    for metric, statuses in value.items():
        if not isinstance(metric, SLAMetric):
            raise ValidationError(name, metric, "an SLAMetric key")
        if isinstance(statuses, str) or not isinstance(statuses, Iterable):
            raise ValidationError(f"{name}[{metric.value}]", statuses, "a set of statuses")
        keys = frozenset(status_key(s) for s in statuses)
        for key in keys:
            if not isinstance(key, str):
                raise ValidationError(f"{name}[{metric.value}]", key, "a ticket status")
        if keys & (DONE_STATUSES | CANCELLED_STATUSES):
            raise ValidationError(
                f"{name}[{metric.value}]",
                sorted(keys & (DONE_STATUSES | CANCELLED_STATUSES)),
                "open statuses (resolved, closed, cancelled and merged stop the clocks)",
            )
        result[metric] = keys
    return types.MappingProxyType(result)


def _check_share(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if (
        not isinstance(value, int | float)
        or isinstance(value, bool)
        or not 0 < value <= 1  # before isfinite, which overflows on 10**400
        or not math.isfinite(value)
    ):
        raise ValidationError("SLAPolicy.warning_share", value, "a share in (0, 1], e.g. 0.8")


@attrs.frozen(kw_only=True, hash=False)
class SLAPolicy:
    """Targets per priority, overrides per (priority, category), pauses and warnings.

    Keys may be Enum members or their values; they are stored as values. A policy is
    a value compared by ``==`` but not hashable (it holds mappings).

    Attributes:
        targets: the default targets of each priority. A priority missing here has
            no SLA.
        category_targets: targets for a (priority, category) pair, replacing the
            priority's defaults as a whole.
        paused_in: per metric, the ticket statuses in which its clock stands still;
            metrics not given keep :data:`DEFAULT_PAUSED_IN`.
        warning_share: the share of a target after which a running clock warns.

    Raises:
        ValidationError: for a malformed mapping, a non-positive target (raised by
            :class:`SLATargets`), a pause on a final status, or a share outside (0, 1].
    """

    targets: Mapping[Any, SLATargets] = attrs.field(converter=_convert_targets)
    category_targets: Mapping[tuple[Any, Any], SLATargets] = attrs.field(
        factory=dict, converter=_convert_category_targets
    )
    paused_in: Mapping[SLAMetric, frozenset[str]] = attrs.field(
        factory=dict, converter=_convert_paused_in
    )
    warning_share: float = attrs.field(default=0.8, validator=_check_share)

    def targets_for(self, priority: Any, category: Any) -> SLATargets:
        """The targets for a ticket of ``priority`` and ``category``."""
        p = status_key(priority)
        found = self.category_targets.get((p, status_key(category)))
        if found is not None:
            return found
        return self.targets.get(p, _NO_TARGETS)

    def warning_threshold(self, target: timedelta) -> timedelta:
        """Counted time from which a running clock warns (rounded to the microsecond)."""
        return target * self.warning_share

    @property
    def longest_target(self) -> timedelta:
        """The longest target in the policy (how far ahead a deadline can fall)."""
        every = [*self.targets.values(), *self.category_targets.values()]
        return max(t.longest for t in every)


# -- results ------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class TargetStatus:
    """One metric's clock at ``as_of``.

    ``elapsed``, ``remaining``, ``lateness`` and ``due_at`` describe the current
    cycle (for next response: the open cycle, else the last one); ``state``,
    ``breaches`` and ``breached_at`` remember every cycle, so a breach is never undone.

    Attributes:
        metric: which clock.
        state: see :class:`SLAState`.
        target: the business-time target.
        elapsed: business time counted (pauses excluded).
        remaining: ``target - elapsed``, never below zero.
        lateness: ``elapsed - target``, never below zero: how late, in business time.
        due_at: the deadline, in the calendar's zone: when the counted time reached
            the target, or for a running clock when it will if it keeps running;
            None for a paused clock or one stopped before its deadline.
        breached_at: the deadline of the first breached cycle (None if none).
        cycles: how many times the clock started (always 1 except for next response).
        breaches: how many cycles breached.
    """

    metric: SLAMetric
    state: SLAState
    target: timedelta
    elapsed: timedelta
    remaining: timedelta
    lateness: timedelta
    due_at: datetime | None
    breached_at: datetime | None
    cycles: int
    breaches: int


#: How pressing each SLA state is (higher: more pressing). The one ordering of states:
#: :attr:`SLAStatus.worst`, :attr:`SLAStatus.pressing` and the open-ticket report read it.
SLA_SEVERITY: Final[Mapping[SLAState, int]] = types.MappingProxyType({
    SLAState.BREACHED: 5,
    SLAState.WARNING: 4,
    SLAState.OK: 3,
    SLAState.PAUSED: 2,
    SLAState.MET: 1,
    SLAState.CANCELLED: 0,
})


@attrs.frozen(kw_only=True)
class SLAStatus:
    """The SLA of one ticket at ``as_of``.

    Attributes:
        ticket_id: the ticket.
        as_of: the moment of evaluation.
        priority: the ticket's priority, as on the ticket.
        category: the ticket's category, as on the ticket.
        status: the ticket's status at ``as_of``, as in its log.
        first_response: the first-response clock (None if the policy sets no target).
        next_response: the next-response clock (None without a target, or before
            the first customer reply that needs an answer).
        resolution: the resolution clock (None without a target).
    """

    ticket_id: str
    as_of: datetime
    priority: Any
    category: Any
    status: Any
    first_response: TargetStatus | None
    next_response: TargetStatus | None
    resolution: TargetStatus | None

    @property
    def targets(self) -> tuple[TargetStatus, ...]:
        """The measured clocks, in metric order."""
        return tuple(
            t for t in (self.first_response, self.next_response, self.resolution) if t is not None
        )

    @property
    def worst(self) -> SLAState | None:
        """The most urgent state among the clocks (breached > warning > ok > paused > met)."""
        states = [t.state for t in self.targets]
        return max(states, key=SLA_SEVERITY.__getitem__) if states else None

    @property
    def pressing(self) -> TargetStatus | None:
        """The clock that needs attention first: the most severe state, then the least
        business time left (None when no clock is measured)."""
        targets = self.targets
        if not targets:
            return None
        return min(targets, key=lambda t: (-SLA_SEVERITY[t.state], t.remaining))


# -- the reference engine -----------------------------------------------------------


@attrs.frozen
class _Step:
    """The log as the engine sees it: the status from ``at`` until the next step."""

    at: datetime
    kind: Any  # the event's value; None for the creation pseudo-step
    status: Any  # the status value after the step
    member: Any  # the status as the log spells it (an Enum member)


@attrs.frozen
class _Cycle:
    spans: tuple[tuple[datetime, datetime], ...]  # counted wall-time spans
    end: datetime  # when the clock stopped, or as_of
    stop: SLAState | None  # MET or CANCELLED when stopped; None while open
    paused: bool  # open and standing still at as_of


def _steps(ticket: SLATicket, as_of: datetime) -> list[_Step]:
    """Validate the log and return the steps up to ``as_of``, creation first."""
    created = require_aware("ticket.created_at", ticket.created_at)
    events = list(ticket.events)
    if not events:
        raise ValidationError(
            "ticket.events", (), "a non-empty event log starting with the creation"
        )
    previous = created
    for index, record in enumerate(events):
        at = require_aware(f"ticket.events[{index}].at", record.at)
        if at < previous:
            expected = (
                "events in time order" if index else "events at or after the ticket's creation"
            )
            raise ValidationError(f"ticket.events[{index}].at", at, expected)
        previous = at
    first = events[0]
    initial = first.from_status if first.from_status is not None else first.to_status
    steps = [_Step(created, None, status_key(initial), initial)]
    for record in events:
        if record.at > as_of:
            break
        steps.append(
            _Step(
                record.at, status_key(record.event), status_key(record.to_status), record.to_status
            )
        )
    return steps


def _ends_clock(step: _Step) -> SLAState | None:
    """MET if the step answers the customer or solves the ticket, CANCELLED if it drops it."""
    if step.kind is None:
        return None
    if step.kind == RESPOND or step.status in DONE_STATUSES:
        return SLAState.MET
    if step.status in CANCELLED_STATUSES:
        return SLAState.CANCELLED
    return None


def _segment_end(steps: Sequence[_Step], k: int, as_of: datetime) -> datetime:
    return steps[k + 1].at if k + 1 < len(steps) else as_of


def _cycle(
    steps: Sequence[_Step],
    first: int,
    last: int | None,
    paused: frozenset[str],
    as_of: datetime,
    *,
    skip: frozenset[str] = frozenset(),
) -> _Cycle:
    """A clock that starts at ``steps[first]`` and stops at ``steps[last]`` (None: open)."""
    stop_index = len(steps) if last is None else last
    spans = tuple(
        (steps[k].at, _segment_end(steps, k, as_of))
        for k in range(first, stop_index)
        if steps[k].status not in paused and steps[k].status not in skip
    )
    if last is None:
        return _Cycle(spans, as_of, None, steps[-1].status in paused)
    stop = _ends_clock(steps[last])
    return _Cycle(spans, steps[last].at, stop, False)


@attrs.frozen
class _Measured:
    elapsed: timedelta
    due: datetime | None  # when the counted time reached the target, if it has
    breached: bool
    state: SLAState
    due_at: datetime | None


def _measure(
    cycle: _Cycle,
    target: timedelta,
    warn: timedelta,
    calendar: BusinessCalendar,
    as_of: datetime,
) -> _Measured:
    elapsed = _ZERO
    due: datetime | None = None
    for start, end in cycle.spans:
        worked = calendar.business_time_between(start, end)
        if due is None and elapsed + worked >= target:
            due = calendar.add_business_time(start, target - elapsed)
        elapsed += worked
    breached = due is not None and due < cycle.end
    if breached:
        state = SLAState.BREACHED
    elif cycle.stop is not None:
        state = cycle.stop
    elif cycle.paused:
        state = SLAState.PAUSED
    elif elapsed >= warn:
        state = SLAState.WARNING
    else:
        state = SLAState.OK
    due_at = due
    if due_at is None and cycle.stop is None and not cycle.paused:
        due_at = calendar.add_business_time(as_of, target - elapsed)
    return _Measured(elapsed, due, breached, state, due_at)


def _summarise(metric: SLAMetric, target: timedelta, measured: Sequence[_Measured]) -> TargetStatus:
    current = measured[-1]
    breached = [m for m in measured if m.breached]
    return TargetStatus(
        metric=metric,
        state=SLAState.BREACHED if breached else current.state,
        target=target,
        elapsed=current.elapsed,
        remaining=max(target - current.elapsed, _ZERO),
        lateness=max(current.elapsed - target, _ZERO),
        due_at=current.due_at,
        breached_at=breached[0].due if breached else None,
        cycles=len(measured),
        breaches=len(breached),
    )


def sla_status(
    ticket: SLATicket,
    policy: SLAPolicy,
    calendar: BusinessCalendar,
    as_of: datetime,
    *,
    factor: float = 1.0,
) -> SLAStatus:
    """The SLA of ``ticket`` at ``as_of``: the obviously-correct reference.

    Events after ``as_of`` are ignored, so a status can be computed for any moment
    of the ticket's life.

    Args:
        ticket: anything with ``id``, ``created_at``, ``priority``, ``category`` and
            a time-ordered ``events`` log (see :class:`SLATicket`).
        policy: the targets, pauses and warning share.
        calendar: the working time the clocks run on.
        as_of: the moment of evaluation (timezone-aware).
        factor: multiplies the ticket's targets (see :meth:`SLATargets.scaled`): the
            customer's :attr:`~custmgmt.rating.ServiceLevel.response_time_factor`.

    Raises:
        ValidationError: for naive datetimes, an empty log, events out of time order
            or before the creation, ``as_of`` before the creation, or a factor that
            is not a positive finite number.
    """
    as_of = require_aware("as_of", as_of)
    factor = check_factor("factor", factor)
    steps = _steps(ticket, as_of)
    if as_of < steps[0].at:
        raise ValidationError("as_of", as_of, "an instant at or after the ticket's creation")
    targets = policy.targets_for(ticket.priority, ticket.category).scaled(factor)
    first_end = next((k for k in range(1, len(steps)) if _ends_clock(steps[k])), None)

    def measure(metric: SLAMetric, cycles: Sequence[_Cycle]) -> TargetStatus | None:
        target = targets.get(metric)
        if target is None or not cycles:
            return None
        warn = policy.warning_threshold(target)
        return _summarise(
            metric, target, [_measure(c, target, warn, calendar, as_of) for c in cycles]
        )

    first = _cycle(steps, 0, first_end, policy.paused_in[SLAMetric.FIRST_RESPONSE], as_of)

    replies: list[_Cycle] = []
    if first_end is not None and first.stop is SLAState.MET:
        opened: int | None = None
        for k in range(first_end + 1, len(steps)):
            step = steps[k]
            if opened is not None and _ends_clock(step):
                replies.append(
                    _cycle(steps, opened, k, policy.paused_in[SLAMetric.NEXT_RESPONSE], as_of)
                )
                opened = None
            elif (
                opened is None
                and step.kind == CUSTOMER_REPLIED
                and step.status not in DONE_STATUSES | CANCELLED_STATUSES
            ):
                opened = k
        if opened is not None:
            replies.append(
                _cycle(steps, opened, None, policy.paused_in[SLAMetric.NEXT_RESPONSE], as_of)
            )

    resolution = _resolution_cycle(steps, policy.paused_in[SLAMetric.RESOLUTION], as_of)
    try:
        return SLAStatus(
            ticket_id=ticket.id,
            as_of=as_of,
            priority=ticket.priority,
            category=ticket.category,
            status=steps[-1].member,
            first_response=measure(SLAMetric.FIRST_RESPONSE, [first]),
            next_response=measure(SLAMetric.NEXT_RESPONSE, replies),
            resolution=measure(SLAMetric.RESOLUTION, [resolution]),
        )
    except ValidationError as exc:
        if exc.field != "delta":
            raise
        # A deadline past the end of year 9999: the calendar names its own argument,
        # which the caller never passed; say it as sla_status_many does.
        raise ValidationError(
            "as_of",
            as_of,
            f"a ticket, an as_of and a factor whose SLA clocks stay within years 1 to 9999 "
            f"(ticket created {steps[0].at.isoformat()}, factor {factor:g})",
        ) from None


def _resolution_cycle(steps: Sequence[_Step], paused: frozenset[str], as_of: datetime) -> _Cycle:
    """The resolution clock: counts in open, unpaused statuses; resumes after a reopen."""
    final = DONE_STATUSES | CANCELLED_STATUSES
    cycle = _cycle(steps, 0, None, paused, as_of, skip=final)
    current = steps[-1].status
    if current not in final:
        return cycle
    group = DONE_STATUSES if current in DONE_STATUSES else CANCELLED_STATUSES
    # The clock stopped when the ticket entered its final run of solved (or dropped)
    # statuses: resolved then closed stops it at the resolution.
    k = len(steps) - 1
    while k > 0 and steps[k - 1].status in group:
        k -= 1
    stop = SLAState.MET if group is DONE_STATUSES else SLAState.CANCELLED
    return _Cycle(cycle.spans, steps[k].at, stop, False)


# -- escalations --------------------------------------------------------------------


def _metrics(value: Any) -> frozenset[SLAMetric]:
    if isinstance(value, SLAMetric):
        return frozenset({value})
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValidationError("EscalationRule.metrics", value, "an SLAMetric or a set of them")
    items = frozenset(value)
    for item in items:
        if not isinstance(item, SLAMetric):
            raise ValidationError("EscalationRule.metrics", item, "an SLAMetric")
    if not items:
        raise ValidationError("EscalationRule.metrics", value, "at least one SLAMetric")
    return items


def _priorities(value: Any) -> frozenset[Any] | None:
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValidationError("EscalationRule.priorities", value, "a set of priorities or None")
    return frozenset(status_key(v) for v in value)


def _check_when(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value not in (SLAState.WARNING, SLAState.BREACHED):
        raise ValidationError("EscalationRule.when", value, "SLAState.WARNING or BREACHED")


def _check_lateness(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, timedelta) or value < _ZERO:
        raise ValidationError("EscalationRule.min_lateness", value, "a non-negative timedelta")


def _check_name(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("EscalationRule.name", value, "a non-blank rule name")


@attrs.frozen(kw_only=True)
class EscalationRule:
    """When an SLA state calls for escalation.

    Attributes:
        name: names the rule in the escalation's reason.
        when: ``SLAState.WARNING`` or ``SLAState.BREACHED``.
        metrics: the clocks the rule watches (all by default).
        priorities: the priorities it applies to (Enum members or values; None: all).
        min_lateness: for breaches, how late (in business time) before it fires.
    """

    name: str = attrs.field(validator=_check_name)
    when: SLAState = attrs.field(validator=_check_when)
    metrics: frozenset[SLAMetric] = attrs.field(default=frozenset(SLAMetric), converter=_metrics)
    priorities: frozenset[Any] | None = attrs.field(default=None, converter=_priorities)
    min_lateness: timedelta = attrs.field(default=_ZERO, validator=_check_lateness)

    def matches(self, status: SLAStatus, target: TargetStatus) -> bool:
        """Whether the rule fires for ``target`` of ``status``."""
        if target.metric not in self.metrics or target.state is not self.when:
            return False
        if self.priorities is not None and status_key(status.priority) not in self.priorities:
            return False
        return target.lateness >= self.min_lateness


@attrs.frozen(kw_only=True)
class Escalation:
    """A ticket to escalate, and why.

    Attributes:
        ticket_id: the ticket.
        rule: the name of the rule that fired.
        metric: the clock that triggered it.
        state: that clock's state.
        reason: a sentence for the escalation record.
    """

    ticket_id: str
    rule: str
    metric: SLAMetric
    state: SLAState
    reason: str


#: Tickets in these statuses are not escalated again: solved, dropped or escalated.
NOT_ESCALATED: Final = DONE_STATUSES | CANCELLED_STATUSES | {ESCALATED}


def escalations(
    statuses: Iterable[SLAStatus],
    rules: Sequence[EscalationRule],
    *,
    skip_statuses: Iterable[Any] = NOT_ESCALATED,
) -> list[Escalation]:
    """Which tickets to escalate and why: a pure function of SLA statuses and rules.

    Rules are tried in order (put the most urgent first) against each clock in
    metric order; the first match decides a ticket's escalation, so each ticket
    appears at most once. Tickets whose status is in ``skip_statuses`` (solved,
    cancelled, merged or already escalated by default) are left alone.

    Example:
        >>> rule = EscalationRule(name="breach", when=SLAState.BREACHED)
        >>> escalations([], [rule])
        []
    """
    skip = frozenset(status_key(s) for s in skip_statuses)
    rules = list(rules)
    result: list[Escalation] = []
    for status in statuses:
        if status_key(status.status) in skip:
            continue
        found = next(
            (
                (rule, target)
                for rule in rules
                for target in status.targets
                if rule.matches(status, target)
            ),
            None,
        )
        if found is None:
            continue
        rule, target = found
        if target.state is SLAState.BREACHED:
            detail = f"late by {format_business_hours(target.lateness)} business hours"
        else:
            detail = f"{format_business_hours(target.remaining)} business hours left"
        result.append(
            Escalation(
                ticket_id=status.ticket_id,
                rule=rule.name,
                metric=target.metric,
                state=target.state,
                reason=f"{target.metric.value} {target.state.value}: {detail} (rule {rule.name!r})",
            )
        )
    return result
