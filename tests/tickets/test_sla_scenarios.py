"""Hand-computed SLA scenarios: every expected number is worked out in a comment.

Calendars (see ``_sla_support``): Shanghai office hours 09:00-12:00 and 13:00-18:00,
Monday to Friday (8 h a day); the same with the 2024 National Day week (1-7 Oct off,
Sun 29 Sep and Sat 12 Oct worked); New York 09:00-17:00, Monday to Friday.
Each scenario is also checked against the vectorised engine.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from _sla_support import (
    NEW_YORK,
    SHANGHAI,
    SHANGHAI_NATIONAL_DAY,
    Event,
    Priority,
    Status,
    Ticket,
    make_ticket,
)
from dateutil import tz

from custmgmt.calendars import BusinessCalendar
from custmgmt.tickets.sla import (
    SLAMetric,
    SLAPolicy,
    SLAState,
    SLAStatus,
    SLATargets,
    TargetStatus,
    sla_status,
)
from custmgmt.tickets.sla_vectorised import sla_status_many

SH = tz.gettz("Asia/Shanghai")
NY = tz.gettz("America/New_York")
H = timedelta(hours=1)
M = timedelta(minutes=1)
ZERO = timedelta(0)

POLICY = SLAPolicy(
    targets={
        Priority.URGENT: SLATargets(first_response=1 * H, next_response=2 * H, resolution=4 * H),
        Priority.NORMAL: SLATargets(first_response=2 * H, next_response=4 * H, resolution=8 * H),
    }
)


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)  # type: ignore[misc]


def ny(*args: int) -> datetime:
    return datetime(*args, tzinfo=NY)  # type: ignore[misc]


def evaluate(
    ticket: Ticket,
    as_of: datetime,
    calendar: BusinessCalendar = SHANGHAI,
    policy: SLAPolicy = POLICY,
) -> SLAStatus:
    """The reference status, after checking the vectorised engine agrees."""
    status = sla_status(ticket, policy, calendar, as_of)
    assert sla_status_many([ticket], policy, calendar, as_of).to_list() == [status]
    return status


def clock(status: SLAStatus, metric: SLAMetric) -> TargetStatus:
    found = {t.metric: t for t in status.targets}.get(metric)
    assert found is not None, f"{metric} is not measured"
    return found


FR, NR, RES = SLAMetric.FIRST_RESPONSE, SLAMetric.NEXT_RESPONSE, SLAMetric.RESOLUTION


# -- across a weekend ---------------------------------------------------------------


def test_a_first_response_across_a_weekend_is_late_by_business_time() -> None:
    ticket = make_ticket(sh(2024, 9, 20, 16, 30), [(sh(2024, 9, 23, 10), Event.RESPOND)])
    status = evaluate(ticket, sh(2024, 9, 23, 12))
    first = clock(status, FR)
    # Fri 16:30-18:00 = 1 h 30, Mon 09:00-10:00 = 1 h: 2 h 30 against a 2 h target.
    assert first.elapsed == 2 * H + 30 * M
    assert first.state is SLAState.BREACHED
    assert first.lateness == 30 * M
    assert first.remaining == ZERO
    # The 2 h ran out at Fri 1 h 30 + Mon 30 min: Monday 09:30.
    assert first.due_at == first.breached_at == sh(2024, 9, 23, 9, 30)
    resolution = clock(status, RES)
    # Fri 1 h 30 + Mon 09:00-12:00 3 h = 4 h 30 of 8 h; 3 h 30 left from Monday noon:
    # 13:00-16:30.
    assert resolution.elapsed == 4 * H + 30 * M
    assert resolution.state is SLAState.OK
    assert resolution.remaining == 3 * H + 30 * M
    assert resolution.due_at == sh(2024, 9, 23, 16, 30)
    # No customer reply yet: no next-response cycle.
    assert status.next_response is None


# -- a lunch break ------------------------------------------------------------------


def test_the_lunch_break_does_not_count_and_moves_the_deadline() -> None:
    ticket = make_ticket(sh(2024, 9, 24, 11, 30), [])
    first = clock(evaluate(ticket, sh(2024, 9, 24, 13, 30)), FR)
    # 11:30-12:00 + 13:00-13:30 = 1 h of 2 h; the last hour ends at 14:30, though
    # 11:30 + 2 h on the wall would be 13:30.
    assert first.elapsed == H
    assert first.state is SLAState.OK
    assert first.due_at == sh(2024, 9, 24, 14, 30)


def test_a_warning_starts_at_eighty_percent_of_the_target() -> None:
    ticket = make_ticket(sh(2024, 9, 24, 11, 30), [])
    # 11:30-12:00 30 min + 13:00-14:05 65 min = 95 min < 96 min (80 % of 2 h).
    assert clock(evaluate(ticket, sh(2024, 9, 24, 14, 5)), FR).state is SLAState.OK
    # 30 min + 66 min = 96 min = 0.8 x 120 min.
    assert clock(evaluate(ticket, sh(2024, 9, 24, 14, 6)), FR).state is SLAState.WARNING


def test_a_response_after_lunch_meets_the_target() -> None:
    ticket = make_ticket(sh(2024, 9, 24, 11, 30), [(sh(2024, 9, 24, 13, 45), Event.RESPOND)])
    first = clock(evaluate(ticket, sh(2024, 9, 25, 9)), FR)
    # 11:30-12:00 + 13:00-13:45 = 1 h 15 of 2 h: met with 45 min to spare.
    assert first.state is SLAState.MET
    assert first.elapsed == H + 15 * M
    assert first.remaining == 45 * M
    assert first.due_at is None


# -- a public holiday ---------------------------------------------------------------


def test_national_day_holidays_do_not_count() -> None:
    ticket = make_ticket(sh(2024, 9, 30, 17), [])
    status = evaluate(ticket, sh(2024, 10, 8, 12), SHANGHAI_NATIONAL_DAY)
    resolution = clock(status, RES)
    # Mon 30 Sep 17:00-18:00 = 1 h; 1-7 Oct off; Tue 8 Oct 09:00-12:00 = 3 h: 4 h of 8 h,
    # 4 h left from noon: 13:00-17:00.
    assert resolution.elapsed == 4 * H
    assert resolution.state is SLAState.OK
    assert resolution.due_at == sh(2024, 10, 8, 17)
    first = clock(status, FR)
    # The 2 h first response ran out at 30 Sep 1 h + 8 Oct 1 h: 8 Oct 10:00, not 1 Oct.
    assert first.state is SLAState.BREACHED
    assert first.breached_at == sh(2024, 10, 8, 10)
    assert first.lateness == 2 * H


# -- a make-up Saturday -------------------------------------------------------------


def test_a_make_up_saturday_counts_as_a_working_day() -> None:
    ticket = make_ticket(sh(2024, 10, 11, 17), [])
    first = clock(evaluate(ticket, sh(2024, 10, 12, 10, 30), SHANGHAI_NATIONAL_DAY), FR)
    # Fri 17:00-18:00 = 1 h, Sat 12 Oct (make-up) 09:00-10:30 = 1 h 30: 2 h 30 of 2 h;
    # due Saturday 09:00 + 1 h = 10:00.
    assert first.elapsed == 2 * H + 30 * M
    assert first.state is SLAState.BREACHED
    assert first.breached_at == sh(2024, 10, 12, 10)
    # On the ordinary calendar the Saturday is off: 1 h elapsed, due Monday 10:00.
    ordinary = clock(evaluate(ticket, sh(2024, 10, 12, 10, 30), SHANGHAI), FR)
    assert ordinary.elapsed == H
    assert ordinary.state is SLAState.OK
    assert ordinary.due_at == sh(2024, 10, 14, 10)


# -- a DST change -------------------------------------------------------------------


def test_a_weekend_with_a_dst_change_in_new_york() -> None:
    # Clocks fall back on Sunday 3 Nov 2024.
    ticket = make_ticket(ny(2024, 11, 1, 16), [])
    status = evaluate(ticket, ny(2024, 11, 4, 11), NEW_YORK)
    resolution = clock(status, RES)
    # Fri 16:00-17:00 EDT = 1 h, Mon 09:00-11:00 EST = 2 h: 3 h of 8 h; the remaining
    # 5 h end Monday 16:00 EST, which is 21:00 UTC (20:00 UTC had it stayed EDT).
    assert resolution.elapsed == 3 * H
    assert resolution.due_at == datetime(2024, 11, 4, 21, tzinfo=UTC)
    first = clock(status, FR)
    # 2 h: Friday 1 h + Monday 1 h -> 10:00 EST = 15:00 UTC; 1 h late at 11:00.
    assert first.breached_at == datetime(2024, 11, 4, 15, tzinfo=UTC)
    assert first.lateness == H


# -- a UTC+8 calendar ---------------------------------------------------------------


def test_a_utc_plus_8_calendar_with_utc_timestamps() -> None:
    # Created Sunday 23:00 UTC = Monday 07:00 in Shanghai; answered 02:30 UTC = 10:30.
    ticket = make_ticket(
        datetime(2024, 9, 22, 23, tzinfo=UTC),
        [(datetime(2024, 9, 23, 2, 30, tzinfo=UTC), Event.RESPOND)],
    )
    first = clock(evaluate(ticket, datetime(2024, 9, 23, 4, tzinfo=UTC)), FR)
    # The clock starts at 09:00 local: 09:00-10:30 = 1 h 30 of 2 h, met.
    assert first.elapsed == H + 30 * M
    assert first.state is SLAState.MET
    assert first.remaining == 30 * M


# -- pauses -------------------------------------------------------------------------


PAUSED_OVERNIGHT = make_ticket(
    sh(2024, 9, 23, 9),
    [
        (sh(2024, 9, 23, 10), Event.RESPOND),
        (sh(2024, 9, 23, 16), Event.WAIT_ON_CUSTOMER),
        (sh(2024, 9, 24, 11), Event.CUSTOMER_REPLIED),
    ],
)


def test_a_pause_spanning_a_night_does_not_count_for_resolution() -> None:
    status = evaluate(PAUSED_OVERNIGHT, sh(2024, 9, 24, 15))
    resolution = clock(status, RES)
    # Mon 09:00-12:00 3 h + 13:00-16:00 3 h = 6 h; paused Mon 16:00 to Tue 11:00;
    # Tue 11:00-12:00 1 h + 13:00-15:00 2 h = 3 h: 9 h of 8 h, 1 h late.
    assert resolution.elapsed == 9 * H
    assert resolution.state is SLAState.BREACHED
    assert resolution.lateness == H
    # The 8th hour: 6 h + Tue 11:00-12:00 + 13:00-14:00.
    assert resolution.breached_at == sh(2024, 9, 24, 14)
    # First response: Mon 09:00-10:00, met.
    assert clock(status, FR).state is SLAState.MET
    assert clock(status, FR).elapsed == H
    # The customer's reply opened a next-response cycle: Tue 11:00-12:00 + 13:00-15:00
    # = 3 h of 4 h (below the 3 h 12 warning); 1 h left: due 16:00.
    reply = clock(status, NR)
    assert (reply.state, reply.elapsed, reply.due_at) == (SLAState.OK, 3 * H, sh(2024, 9, 24, 16))


def test_a_paused_clock_stands_still_overnight() -> None:
    for as_of in (sh(2024, 9, 23, 16), sh(2024, 9, 23, 23), sh(2024, 9, 24, 10, 59)):
        resolution = clock(evaluate(PAUSED_OVERNIGHT, as_of), RES)
        # Mon 3 h + 3 h before the pause; nothing since.
        assert resolution.elapsed == 6 * H
        assert resolution.state is SLAState.PAUSED
        assert resolution.due_at is None


def test_waiting_on_the_customer_does_not_pause_the_first_response_by_default() -> None:
    ticket = make_ticket(
        sh(2024, 9, 23, 9),
        [
            (sh(2024, 9, 23, 10), Event.WAIT_ON_CUSTOMER),
            (sh(2024, 9, 24, 10), Event.CUSTOMER_REPLIED),
        ],
    )
    first = clock(evaluate(ticket, sh(2024, 9, 24, 10, 30)), FR)
    # Never answered: Mon 09:00-12:00 3 h + 13:00-18:00 5 h + Tue 09:00-10:30 1 h 30.
    assert first.elapsed == 9 * H + 30 * M
    assert first.breached_at == sh(2024, 9, 23, 11)


def test_first_response_can_be_configured_to_pause_while_waiting() -> None:
    policy = SLAPolicy(
        targets=POLICY.targets,
        paused_in={SLAMetric.FIRST_RESPONSE: {Status.WAITING_ON_CUSTOMER}},
    )
    ticket = make_ticket(
        sh(2024, 9, 23, 9),
        [
            (sh(2024, 9, 23, 10), Event.WAIT_ON_CUSTOMER),
            (sh(2024, 9, 24, 10), Event.CUSTOMER_REPLIED),
        ],
    )
    first = clock(evaluate(ticket, sh(2024, 9, 24, 10, 30), policy=policy), FR)
    # Mon 09:00-10:00 1 h, paused until Tue 10:00, then 10:00-10:30: 1 h 30 of 2 h
    # (below the 1 h 36 warning); due 11:00.
    assert first.elapsed == H + 30 * M
    assert first.state is SLAState.OK
    assert first.due_at == sh(2024, 9, 24, 11)
    # Resolution keeps its default pause.
    assert clock(evaluate(ticket, sh(2024, 9, 24, 10, 30), policy=policy), RES).elapsed == (
        H + 30 * M
    )


# -- breaches stay breached ---------------------------------------------------------


LATE_AND_RESOLVED = make_ticket(
    sh(2024, 9, 23, 9),
    [
        (sh(2024, 9, 23, 11), Event.RESPOND),
        (sh(2024, 9, 23, 16), Event.RESOLVE),
        (sh(2024, 9, 26, 9), Event.CLOSE),
    ],
    priority=Priority.URGENT,
)


def test_a_breach_stays_breached_after_the_ticket_is_resolved_and_closed() -> None:
    for as_of in (sh(2024, 9, 23, 17), sh(2024, 9, 25, 12), sh(2024, 9, 30, 9)):
        status = evaluate(LATE_AND_RESOLVED, as_of)
        first, resolution = clock(status, FR), clock(status, RES)
        # Answered at 11:00: 2 h against 1 h, late since 10:00.
        assert (first.state, first.lateness, first.breached_at) == (
            SLAState.BREACHED,
            H,
            sh(2024, 9, 23, 10),
        )
        # Resolved at 16:00: 09:00-12:00 + 13:00-16:00 = 6 h against 4 h; the 4th hour
        # ended at 14:00.
        assert (resolution.state, resolution.lateness, resolution.breached_at) == (
            SLAState.BREACHED,
            2 * H,
            sh(2024, 9, 23, 14),
        )
    assert status.status is Status.CLOSED
    assert status.worst is SLAState.BREACHED


def test_a_reopened_ticket_resumes_its_resolution_clock() -> None:
    ticket = make_ticket(
        sh(2024, 9, 23, 9),
        [
            (sh(2024, 9, 23, 15), Event.RESOLVE),
            (sh(2024, 9, 24, 9), Event.REOPEN),
            (sh(2024, 9, 24, 13, 30), Event.RESOLVE),
        ],
    )
    before = clock(evaluate(ticket, sh(2024, 9, 23, 20)), RES)
    # First resolution: 09:00-12:00 + 13:00-15:00 = 5 h of 8 h: met.
    assert (before.state, before.elapsed) == (SLAState.MET, 5 * H)
    after = clock(evaluate(ticket, sh(2024, 9, 25, 9)), RES)
    # Resumed: 5 h + Tue 09:00-12:00 3 h + 13:00-13:30 = 8 h 30. The night spent
    # resolved does not count. The 8th hour ended Tue 12:00, before the resolution.
    assert after.elapsed == 8 * H + 30 * M
    assert after.state is SLAState.BREACHED
    assert after.breached_at == sh(2024, 9, 24, 12)


def test_resolving_exactly_at_the_deadline_meets_it_but_during_lunch_is_late() -> None:
    next_day = make_ticket(sh(2024, 9, 23, 9), [(sh(2024, 9, 24, 12), Event.RESOLVE)])
    # Mon 8 h (09:00-18:00 less lunch) ran out exactly Monday 18:00; resolving on
    # Tuesday at noon is 3 h late.
    late = clock(evaluate(next_day, sh(2024, 9, 25, 9)), RES)
    assert (late.state, late.lateness) == (SLAState.BREACHED, 3 * H)
    exact = make_ticket(sh(2024, 9, 23, 13), [(sh(2024, 9, 24, 12), Event.RESOLVE)])
    # Mon 13:00-18:00 5 h + Tue 09:00-12:00 3 h = 8 h, reached exactly at the resolution.
    met = clock(evaluate(exact, sh(2024, 9, 25, 9)), RES)
    assert (met.state, met.elapsed, met.remaining) == (SLAState.MET, 8 * H, ZERO)
    lunch = make_ticket(sh(2024, 9, 23, 13), [(sh(2024, 9, 24, 12, 30), Event.RESOLVE)])
    # Still 8 h of business time at 12:30, but the deadline (12:00) had passed on the
    # wall clock: a breach with no business-time lateness.
    late_at_lunch = clock(evaluate(lunch, sh(2024, 9, 25, 9)), RES)
    assert (late_at_lunch.state, late_at_lunch.lateness) == (SLAState.BREACHED, ZERO)


def test_next_response_cycles_remember_an_earlier_breach() -> None:
    ticket = make_ticket(
        sh(2024, 9, 23, 9),
        [
            (sh(2024, 9, 23, 9, 30), Event.RESPOND),
            (sh(2024, 9, 23, 10), Event.CUSTOMER_REPLIED),
            (sh(2024, 9, 23, 10, 30), Event.CUSTOMER_REPLIED),  # same cycle: still unanswered
            (sh(2024, 9, 23, 16), Event.RESPOND),
            (sh(2024, 9, 24, 9), Event.CUSTOMER_REPLIED),
            (sh(2024, 9, 24, 10), Event.RESPOND),
        ],
    )
    reply = clock(evaluate(ticket, sh(2024, 9, 24, 11)), NR)
    # Cycle 1 from the first reply, 10:00: 10:00-12:00 2 h + 13:00-16:00 3 h = 5 h of 4 h,
    # due 15:00. Cycle 2: Tue 09:00-10:00 = 1 h, met; the breach is remembered.
    assert reply.cycles == 2
    assert reply.breaches == 1
    assert reply.state is SLAState.BREACHED
    assert reply.breached_at == sh(2024, 9, 23, 15)
    assert (reply.elapsed, reply.remaining, reply.due_at) == (H, 3 * H, None)


def test_events_after_as_of_are_ignored() -> None:
    # LATE_AND_RESOLVED at Mon 09:45: unanswered for 45 min of 1 h (75 %, below 80 %).
    status = evaluate(LATE_AND_RESOLVED, sh(2024, 9, 23, 9, 45))
    first = clock(status, FR)
    assert (first.state, first.elapsed, first.due_at) == (SLAState.OK, 45 * M, sh(2024, 9, 23, 10))
    assert status.status is Status.NEW


def test_cancelling_stops_the_clocks_without_a_breach() -> None:
    ticket = make_ticket(sh(2024, 9, 23, 9), [(sh(2024, 9, 23, 10), Event.CANCEL)])
    status = evaluate(ticket, sh(2024, 9, 30, 9))
    assert clock(status, FR).state is SLAState.CANCELLED
    assert clock(status, RES).state is SLAState.CANCELLED
    assert clock(status, RES).elapsed == H
    assert status.worst is SLAState.CANCELLED


def test_category_targets_override_the_priority_defaults() -> None:
    from _sla_support import Category

    policy = SLAPolicy(
        targets=POLICY.targets,
        category_targets={(Priority.NORMAL, Category.PRODUCT_QUALITY): SLATargets(resolution=H)},
    )
    ticket = make_ticket(sh(2024, 9, 23, 9), [], category=Category.PRODUCT_QUALITY)
    status = evaluate(ticket, sh(2024, 9, 23, 9, 30), policy=policy)
    # Only resolution is set for the pair: 30 min of 1 h; no first-response clock.
    assert status.first_response is None
    assert clock(status, RES).remaining == 30 * M
