"""Real tickets from the workflow feed the SLA engine, per ticket and vectorised."""

from __future__ import annotations

import contextlib
from datetime import time, timedelta

from _ticket_support import PATHS, T0, new_ticket, walk
from hypothesis import given, settings
from hypothesis import strategies as st

from custmgmt.calendars import BusinessCalendar
from custmgmt.domain import Priority
from custmgmt.errors import TransitionNotAllowed, ValidationError
from custmgmt.tickets import (
    DEFAULT_WORKFLOW,
    SLAPolicy,
    SLAState,
    SLATargets,
    Ticket,
    TicketEvent,
    TicketStatus,
    sla_status,
    sla_status_many,
)

H = timedelta(hours=1)
CALENDAR = BusinessCalendar(
    tz="Asia/Shanghai", hours={d: [(time(9), time(12)), (time(13), time(18))] for d in range(5)}
)
POLICY = SLAPolicy(targets={p: SLATargets(first_response=2 * H, next_response=4 * H,
                                          resolution=8 * H) for p in Priority})


def test_a_waiting_ticket_pauses_resolution_but_the_first_response_is_met() -> None:
    ticket = walk(new_ticket(), [TicketEvent.ASSIGN, TicketEvent.START, TicketEvent.RESPOND,
                                 TicketEvent.WAIT_ON_CUSTOMER])
    status = sla_status(ticket, POLICY, CALENDAR, T0 + 5 * H)
    assert status.first_response is not None
    assert status.first_response.state is SLAState.MET
    assert status.resolution is not None
    assert status.resolution.state is SLAState.PAUSED
    assert status.status is TicketStatus.WAITING_ON_CUSTOMER


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(list(TicketEvent)[1:]), st.integers(0, 600)),
                max_size=25), st.integers(0, 60 * 24 * 10))
def test_workflow_tickets_give_the_same_status_per_ticket_and_vectorised(
    steps: list[tuple[TicketEvent, int]], later: int
) -> None:
    data = {TicketEvent.ASSIGN: {"assignee": "a"}, TicketEvent.RESOLVE: {"solution": "ok"},
            TicketEvent.MERGE: {"merged_into": "T-9"}, TicketEvent.RATE: {"score": 3},
            TicketEvent.SET_PRIORITY: {"priority": Priority.HIGH, "reason": "r"}}
    ticket: Ticket = new_ticket()
    at = T0
    for event, minutes in steps:
        at += timedelta(minutes=minutes)
        with contextlib.suppress(TransitionNotAllowed, ValidationError):
            ticket = DEFAULT_WORKFLOW.fire(ticket, event, at=at, actor="a", **data.get(event, {}))
    as_of = ticket.updated_at + timedelta(minutes=later)
    one = sla_status(ticket, POLICY, CALENDAR, as_of)
    many = sla_status_many([ticket, walk(new_ticket("T-2"), PATHS[TicketStatus.RESOLVED])],
                           POLICY, CALENDAR, as_of)
    assert many.status(0) == one
