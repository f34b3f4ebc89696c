"""Tickets, calendars and strategies shared by the SLA tests.

Tickets are the real :class:`custmgmt.tickets.ticket.Ticket`, with logs written
directly; :class:`LooseTicket` carries logs a Ticket would refuse, to test that the
SLA engines refuse them too.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

import attrs
from hypothesis import strategies as st

from custmgmt.calendars import BusinessCalendar
from custmgmt.domain import Priority
from custmgmt.tickets.ticket import (
    Ticket,
    TicketCategory,
    TicketEvent,
    TicketEventRecord,
    TicketStatus,
)
from custmgmt.tickets.workflow import DEFAULT_TRANSITIONS

Status = TicketStatus
Event = TicketEvent
Category = TicketCategory


@attrs.frozen
class LooseRecord:
    """A log entry without the Ticket's own checks: for feeding the engine bad logs."""

    at: datetime
    event: TicketEvent
    from_status: TicketStatus | None
    to_status: TicketStatus


@attrs.frozen
class LooseTicket:
    """Just what the SLA engine reads (:class:`custmgmt.tickets.sla.SLATicket`), unchecked."""

    id: str
    created_at: datetime
    priority: Priority
    category: TicketCategory
    events: tuple[LooseRecord, ...]


def loose(ticket: Ticket) -> LooseTicket:
    """The same ticket as an unchecked value, to break on purpose with attrs.evolve."""
    return LooseTicket(
        ticket.id,
        ticket.created_at,
        ticket.priority,
        ticket.category,
        tuple(LooseRecord(r.at, r.event, r.from_status, r.to_status) for r in ticket.events),
    )


def _after(status: TicketStatus, event: TicketEvent) -> TicketStatus:
    found = NEXT_STATUS.get((status, event))
    if found is not None:
        return found
    usual = EFFECT.get(event)
    return status if usual is None or event is Event.CUSTOMER_REPLIED else usual


#: Where an event usually leads, for shortcuts the table lacks (None: it stays).
EFFECT: dict[Event, Status | None] = {
    Event.ASSIGN: Status.ASSIGNED,
    Event.START: Status.IN_PROGRESS,
    Event.RESPOND: None,
    Event.WAIT_ON_CUSTOMER: Status.WAITING_ON_CUSTOMER,
    Event.CUSTOMER_REPLIED: Status.IN_PROGRESS,
    Event.RESOLVE: Status.RESOLVED,
    Event.CLOSE: Status.CLOSED,
    Event.REOPEN: Status.IN_PROGRESS,
    Event.ESCALATE: Status.ESCALATED,
    Event.CANCEL: Status.CANCELLED,
    Event.MERGE: Status.MERGED,
}

#: The default workflow's table: (status, event) -> status afterwards.
NEXT_STATUS: dict[tuple[TicketStatus, TicketEvent], TicketStatus] = {
    (row.source, row.event): row.target for row in DEFAULT_TRANSITIONS
}

#: How often a random walk picks each event where it is allowed: lively logs (replies,
#: waits, reopenings) rather than early cancellations.
WEIGHT: dict[TicketEvent, int] = {
    Event.RESPOND: 4,
    Event.CUSTOMER_REPLIED: 4,
    Event.WAIT_ON_CUSTOMER: 3,
    Event.START: 3,
    Event.ASSIGN: 2,
    Event.RESOLVE: 2,
    Event.REOPEN: 2,
    Event.CANCEL: 1,
    Event.MERGE: 1,
}

#: The events each status allows in the default workflow, repeated by weight.
MOVES: dict[TicketStatus, tuple[TicketEvent, ...]] = {
    status: tuple(
        event
        for (source, event) in NEXT_STATUS
        if source is status
        for _ in range(WEIGHT.get(event, 1))
    )
    for status in TicketStatus
}


def make_ticket(
    created: datetime,
    steps: Sequence[tuple[datetime, TicketEvent]],
    *,
    id: str = "T-1",
    priority: Priority = Priority.NORMAL,
    category: TicketCategory = TicketCategory.INQUIRY,
) -> Ticket:
    """A ticket created at ``created`` whose log then records ``steps``.

    Statuses follow the default workflow's table where it has the step; the log is
    written directly, so a scenario may also take a shortcut the workflow would refuse
    (resolving a new ticket): such steps take the event's usual target status.
    """
    status = TicketStatus.NEW
    records = [
        TicketEventRecord(
            at=created,
            event=TicketEvent.CREATE,
            from_status=None,
            to_status=status,
            actor="customer",
        )
    ]
    for at, event in steps:
        after = _after(status, event)
        records.append(
            TicketEventRecord(at=at, event=event, from_status=status, to_status=after, actor="a1")
        )
        status = after
    return Ticket(
        id=id,
        customer_id="C-1",
        category=category,
        channel="web",
        priority=priority,
        subject="测试工单",
        status=status,
        created_at=created,
        events=tuple(records),
    )


# -- calendars ----------------------------------------------------------------------

LUNCH_BREAK = [(time(9), time(12)), (time(13), time(18))]

#: Shanghai office hours: Monday to Friday 09:00-12:00 and 13:00-18:00 (8 h a day).
SHANGHAI = BusinessCalendar(tz="Asia/Shanghai", hours=dict.fromkeys(range(5), LUNCH_BREAK))

#: The 2024 National Day week: 1-7 October off, Sunday 29 September and Saturday
#: 12 October worked (with Monday's hours), as the State Council announced.
SHANGHAI_NATIONAL_DAY = BusinessCalendar(
    tz="Asia/Shanghai",
    hours=dict.fromkeys(range(5), LUNCH_BREAK),
    holidays=[date(2024, 10, d) for d in range(1, 8)],
    extra_workdays=[date(2024, 9, 29), date(2024, 10, 12)],
)

#: New York office hours, Monday to Friday 09:00-17:00.
NEW_YORK = BusinessCalendar(
    tz="America/New_York", hours={d: [(time(9), time(17))] for d in range(5)}
)

ZONES = (
    "UTC",
    "Asia/Shanghai",
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",  # a 30-minute DST shift
    "America/Santiago",  # DST changes at midnight
)


@st.composite
def day_hours(draw: st.DrawFn) -> list[tuple[time, time]]:
    """Up to three non-overlapping intervals of a day, on a 5-minute grid."""
    cuts = sorted(draw(st.sets(st.integers(0, 24 * 12), max_size=6)))
    if len(cuts) % 2:
        cuts = cuts[:-1]
    intervals = []
    for lo, hi in zip(cuts[::2], cuts[1::2], strict=True):
        start = time(lo * 5 // 60, lo * 5 % 60)
        end = time(0) if hi == 24 * 12 else time(hi * 5 // 60, hi * 5 % 60)
        intervals.append((start, end))
    return intervals


@st.composite
def calendars(draw: st.DrawFn) -> BusinessCalendar:
    """Random calendars over 2024: any zone, schedule, holidays and make-up days."""
    hours = {day: draw(day_hours()) for day in range(7)}
    if not any(hours.values()):
        hours[0] = [(time(9), time(17))]
    days = st.dates(date(2024, 1, 1), date(2024, 12, 31))
    holidays = draw(st.sets(days, max_size=20))
    makeup = draw(st.sets(days, max_size=5)) - holidays
    working = [d for d in range(7) if hours[d]]
    return BusinessCalendar(
        tz=draw(st.sampled_from(ZONES)),
        hours=hours,
        holidays=holidays,
        extra_workdays=makeup,
        extra_workday_hours_from=draw(st.sampled_from(working)),
    )


def instants(lo: datetime, hi: datetime) -> st.SearchStrategy[datetime]:
    """Aware instants between ``lo`` and ``hi``, microsecond resolution, any offset."""
    span = int((hi - lo) / timedelta(microseconds=1))
    return st.builds(lambda us: lo + timedelta(microseconds=us), st.integers(0, span))


GAPS = st.sampled_from([0, 1, 7, 30, 45, 90, 200, 600, 1000, 1500, 3000, 6000])


@st.composite
def tickets(draw: st.DrawFn, start: datetime, ident: str = "T-1") -> Ticket:
    """A random ticket created within 60 days of ``start`` walking the workflow."""
    created = start + timedelta(
        minutes=draw(st.integers(0, 60 * 24 * 60)), microseconds=draw(st.integers(0, 999_999))
    )
    status = Status.NEW
    steps: list[tuple[datetime, Event]] = []
    at = created
    for _ in range(draw(st.integers(0, 16))):
        options = MOVES[status]
        if not options:
            break
        event = draw(st.sampled_from(options))
        at = at + timedelta(minutes=draw(GAPS))
        steps.append((at, event))
        status = _after(status, event)
    return make_ticket(
        created,
        steps,
        id=ident,
        priority=draw(st.sampled_from(Priority)),
        category=draw(st.sampled_from(Category)),
    )
