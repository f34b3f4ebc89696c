"""Random event sequences never corrupt a ticket's log."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

import attrs
from _ticket_support import T0, new_ticket
from hypothesis import given, settings
from hypothesis import strategies as st

from custmgmt.domain import Priority
from custmgmt.errors import TransitionNotAllowed, ValidationError
from custmgmt.tickets import DEFAULT_WORKFLOW, Ticket, TicketEvent

DATA = st.fixed_dictionaries(
    {},
    optional={
        "assignee": st.sampled_from(["a1", "客服-2"]),
        "solution": st.sampled_from(["换新", " "]),
        "merged_into": st.sampled_from(["T-1", "T-2"]),
        "priority": st.sampled_from(Priority),
        "score": st.integers(0, 6),
        "reason": st.sampled_from(["", "because", "原因"]),
    },
)
STEP = st.tuples(
    st.sampled_from([e for e in TicketEvent if e is not TicketEvent.CREATE]),
    # mostly forward in time, sometimes backwards (must be refused)
    st.integers(-30, 24 * 60 * 9),
    DATA,
)


def check_log(ticket: Ticket) -> None:
    events = ticket.events
    assert events[0].event is TicketEvent.CREATE
    assert events[0].from_status is None
    assert events[0].at == ticket.created_at
    for before, after in itertools.pairwise(events):
        assert before.at <= after.at
        assert after.from_status is before.to_status
    assert events[-1].to_status is ticket.status
    assert ticket.version == len(events)
    # Rebuilding the ticket from its fields passes its own validation.
    assert attrs.evolve(ticket) == ticket


@settings(max_examples=300, deadline=None)
@given(st.lists(STEP, max_size=40))
def test_random_event_sequences_keep_the_log_consistent(
    steps: list[tuple[TicketEvent, int, dict[str, Any]]],
) -> None:
    ticket = new_ticket()
    at = T0
    for event, minutes, data in steps:
        when = at + timedelta(minutes=minutes)
        before = ticket
        try:
            if event is TicketEvent.REOPEN and data.get("reason") == "原因":
                ticket = DEFAULT_WORKFLOW.reopen(ticket, at=when, actor="x")
            else:
                ticket = DEFAULT_WORKFLOW.fire(ticket, event, at=when, actor="x", **data)
        except (TransitionNotAllowed, ValidationError):
            assert ticket is before
            continue
        assert when >= before.updated_at
        at = when
        if ticket.id == before.id:
            assert ticket.events[: len(before.events)] == before.events
            assert len(ticket.events) == len(before.events) + 1
        else:  # a follow-up ticket was opened
            assert ticket.reopened_from == before.id
        check_log(ticket)
