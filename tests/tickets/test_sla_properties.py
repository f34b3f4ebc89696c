"""Properties of the SLA engine, and the vectorised engine against the reference."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs
from _sla_support import (
    SHANGHAI,
    SHANGHAI_NATIONAL_DAY,
    Priority,
    Status,
    Ticket,
    calendars,
    tickets,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from custmgmt.calendars import BusinessCalendar
from custmgmt.tickets.sla import SLAMetric, SLAPolicy, SLAState, SLATargets, sla_status
from custmgmt.tickets.sla_vectorised import sla_status_many

START = datetime(2024, 2, 1, tzinfo=UTC)
US = timedelta(microseconds=1)
MINUTES = st.integers(1, 3 * 24 * 60).map(lambda m: timedelta(minutes=m))
FIXED_CALENDARS = st.sampled_from(
    [SHANGHAI, SHANGHAI_NATIONAL_DAY, BusinessCalendar.round_the_clock("Europe/London")]
)


@st.composite
def policies(draw: st.DrawFn) -> SLAPolicy:
    def targets() -> SLATargets:
        optional = st.none() | MINUTES
        return SLATargets(
            first_response=draw(optional),
            next_response=draw(optional),
            resolution=draw(optional),
        )

    pausable = st.sets(
        st.sampled_from([Status.WAITING_ON_CUSTOMER, Status.ESCALATED, Status.NEW, Status.ASSIGNED])
    )
    return SLAPolicy(
        targets={p: targets() for p in draw(st.sets(st.sampled_from(Priority), min_size=1))},
        paused_in={metric: draw(pausable) for metric in draw(st.sets(st.sampled_from(SLAMetric)))},
        warning_share=draw(st.sampled_from([0.5, 0.8, 1.0, 0.75])),
    )


def ticket_lists(max_size: int = 8) -> st.SearchStrategy[list[Ticket]]:
    return st.lists(tickets(START), min_size=1, max_size=max_size).map(
        lambda ts: [_renamed(t, i) for i, t in enumerate(ts)]
    )


def _renamed(ticket: Ticket, i: int) -> Ticket:
    return attrs.evolve(ticket, id=f"T-{i}")


def moments(ts: list[Ticket]) -> st.SearchStrategy[datetime]:
    """An as_of at or after every creation, within the logs' span (and a little beyond)."""
    lo = max(t.created_at for t in ts)
    hi = max(t.events[-1].at for t in ts) + timedelta(days=3)
    return st.integers(0, (hi - lo) // US).map(lambda us: lo + us * US)


@settings(max_examples=300, deadline=None)
@given(st.data(), st.one_of(FIXED_CALENDARS, calendars()), policies(), ticket_lists())
def test_the_vectorised_engine_equals_the_reference(
    data: st.DataObject, calendar: BusinessCalendar, policy: SLAPolicy, ts: list[Ticket]
) -> None:
    as_of = data.draw(moments(ts))
    expected = [sla_status(t, policy, calendar, as_of) for t in ts]
    assert sla_status_many(ts, policy, calendar, as_of).to_list() == expected


@settings(max_examples=150, deadline=None)
@given(st.data(), FIXED_CALENDARS, policies(), tickets(START))
def test_a_breach_is_never_undone(
    data: st.DataObject, calendar: BusinessCalendar, policy: SLAPolicy, ticket: Ticket
) -> None:
    first = data.draw(moments([ticket]))
    later = first + data.draw(st.integers(0, 10 * 86_400 * 10**6)) * US
    before = sla_status(ticket, policy, calendar, first)
    after = {t.metric: t for t in sla_status(ticket, policy, calendar, later).targets}
    for target in before.targets:
        if target.state is SLAState.BREACHED:
            assert after[target.metric].state is SLAState.BREACHED
            assert after[target.metric].breached_at == target.breached_at


@settings(max_examples=150, deadline=None)
@given(FIXED_CALENDARS, policies(), tickets(START))
def test_paused_time_never_counts(
    calendar: BusinessCalendar, policy: SLAPolicy, ticket: Ticket
) -> None:
    paused = policy.paused_in[SLAMetric.RESOLUTION]
    if policy.targets_for(ticket.priority, ticket.category).resolution is None:
        return
    events = ticket.events
    for k, record in enumerate(events):
        if record.to_status.value not in paused:
            continue
        # Anywhere in the paused stretch the resolution clock shows the same time.
        end = events[k + 1].at if k + 1 < len(events) else record.at + timedelta(days=5)
        readings = {
            sla_status(ticket, policy, calendar, moment).resolution.elapsed  # type: ignore[union-attr]
            for moment in (record.at, record.at + (end - record.at) / 2, end)
        }
        assert len(readings) == 1


@settings(max_examples=150, deadline=None)
@given(st.data(), FIXED_CALENDARS, policies(), tickets(START))
def test_elapsed_business_time_never_exceeds_the_calendar_or_the_wall(
    data: st.DataObject, calendar: BusinessCalendar, policy: SLAPolicy, ticket: Ticket
) -> None:
    as_of = data.draw(moments([ticket]))
    status = sla_status(ticket, policy, calendar, as_of)
    available = calendar.business_time_between(ticket.created_at, as_of)
    for target in status.targets:
        assert timedelta(0) <= target.elapsed <= available <= as_of - ticket.created_at
        assert target.remaining == max(target.target - target.elapsed, timedelta(0))
        assert target.lateness == max(target.elapsed - target.target, timedelta(0))
        if target.state in (SLAState.OK, SLAState.WARNING):
            # A running clock's deadline is exactly `remaining` of business time away.
            assert target.due_at is not None
            assert calendar.business_time_between(as_of, target.due_at) == target.remaining


@settings(max_examples=150, deadline=None)
@given(
    st.data(),
    st.one_of(FIXED_CALENDARS, calendars()),
    policies(),
    ticket_lists(4),
    st.sampled_from([-timedelta(minutes=30), -US, timedelta(0), US, timedelta(minutes=5)]),
)
def test_the_engines_agree_around_deadlines(
    data: st.DataObject,
    calendar: BusinessCalendar,
    policy: SLAPolicy,
    ts: list[Ticket],
    nudge: timedelta,
) -> None:
    # Deadlines and warning thresholds are where off-by-one errors live: evaluate
    # again just before, at and just after the deadlines the first evaluation shows.
    as_of = data.draw(moments(ts))
    deadlines = [
        target.due_at
        for t in ts
        for target in sla_status(t, policy, calendar, as_of).targets
        if target.due_at is not None
    ]
    earliest = max(t.created_at for t in ts)
    for deadline in deadlines[:3]:
        moment = max(deadline + nudge, earliest)
        expected = [sla_status(t, policy, calendar, moment) for t in ts]
        assert sla_status_many(ts, policy, calendar, moment).to_list() == expected
