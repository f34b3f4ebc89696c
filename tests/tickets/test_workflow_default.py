"""The default ticket workflow: every refusal, the guards, the reopen window."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from _ticket_support import DATA, PATHS, T0, new_ticket, ticket_in, walk

from custmgmt.errors import TransitionNotAllowed, ValidationError
from custmgmt.tickets import (
    DEFAULT_TRANSITIONS,
    DEFAULT_WORKFLOW,
    Ticket,
    TicketEvent,
    TicketStatus,
    Workflow,
)

WF = DEFAULT_WORKFLOW
ALLOWED = {(t.source, t.event) for t in DEFAULT_TRANSITIONS}
ALL_PAIRS = list(itertools.product(TicketStatus, TicketEvent))
REFUSED = [pair for pair in ALL_PAIRS if pair not in ALLOWED]


def test_the_paths_reach_the_status_they_are_named_after() -> None:
    for status in TicketStatus:
        assert ticket_in(status).status is status


@pytest.mark.parametrize(("status", "event"), REFUSED, ids=lambda x: x.value)
def test_every_event_the_table_lacks_is_refused_and_the_ticket_is_unchanged(
    status: TicketStatus, event: TicketEvent
) -> None:
    ticket = ticket_in(status)
    with pytest.raises(TransitionNotAllowed) as caught:
        WF.fire(ticket, event, at=ticket.updated_at + timedelta(hours=1), actor="x",
                **DATA.get(event, {}))
    assert caught.value.state is status
    assert caught.value.event is event
    assert ticket == ticket_in(status)


@pytest.mark.parametrize(("status", "event"), sorted(ALLOWED, key=str), ids=lambda x: x.value)
def test_every_event_the_table_has_is_accepted_with_its_data(
    status: TicketStatus, event: TicketEvent
) -> None:
    ticket = ticket_in(status)
    at = ticket.updated_at + timedelta(hours=1)
    after = WF.fire(ticket, event, at=at, actor="x", **DATA.get(event, {}))
    row = WF.transition(status, event)
    assert row is not None
    assert after.status is row.target
    assert after.version == ticket.version + 1
    assert after.events[:-1] == ticket.events
    last = after.events[-1]
    assert (last.at, last.event, last.from_status, last.to_status, last.actor) == (
        at, event, status, row.target, "x"
    )


def test_the_refusals_cover_the_final_states_completely() -> None:
    for status in (TicketStatus.CLOSED, TicketStatus.CANCELLED, TicketStatus.MERGED):
        assert WF.allowed_events(status) == ()
    assert WF.final == {TicketStatus.CLOSED, TicketStatus.CANCELLED, TicketStatus.MERGED}
    assert WF.initial is TicketStatus.NEW
    # create is never fired: it only opens a log
    assert all(event is not TicketEvent.CREATE for _, event in ALLOWED)


def test_the_happy_path_logs_who_when_what_and_why() -> None:
    ticket = new_ticket()
    ticket = WF.fire(ticket, "assign", at=T0, actor="lead", assignee="agent-王",
                     reason="产品组")
    ticket = WF.fire(ticket, "start", at=T0 + timedelta(minutes=1), actor="agent-王")
    ticket = WF.fire(ticket, "wait_on_customer", at=T0 + timedelta(minutes=2), actor="agent-王",
                     reason="需要照片")
    ticket = WF.fire(ticket, "customer_replied", at=T0 + timedelta(hours=3), actor="customer")
    ticket = WF.fire(ticket, "resolve", at=T0 + timedelta(hours=4), actor="agent-王",
                     solution="补发")
    ticket = WF.fire(ticket, "close", at=T0 + timedelta(days=2), actor="system")
    assert [(e.from_status and e.from_status.value, e.to_status.value) for e in ticket.events] == [
        (None, "new"), ("new", "assigned"), ("assigned", "in_progress"),
        ("in_progress", "waiting_on_customer"), ("waiting_on_customer", "in_progress"),
        ("in_progress", "resolved"), ("resolved", "closed"),
    ]
    assert ticket.events[1].reason == "产品组"
    assert ticket.assignee == "agent-王"
    assert ticket.solution == "补发"
    assert ticket.version == 7
    assert ticket.is_final


def test_resolving_needs_a_solution() -> None:
    ticket = ticket_in(TicketStatus.IN_PROGRESS)
    with pytest.raises(TransitionNotAllowed, match="has_solution") as caught:
        WF.fire(ticket, "resolve", at=ticket.updated_at, actor="a")
    assert caught.value.reason.startswith("guard 'has_solution' failed")
    with pytest.raises(TransitionNotAllowed):
        WF.fire(ticket, "resolve", at=ticket.updated_at, actor="a", solution="   ")


def test_merging_needs_another_ticket() -> None:
    ticket = new_ticket()
    with pytest.raises(TransitionNotAllowed, match="has_merge_target"):
        WF.fire(ticket, "merge", at=T0, actor="a")
    with pytest.raises(TransitionNotAllowed, match="has_merge_target"):
        WF.fire(ticket, "merge", at=T0, actor="a", merged_into="T-1")
    assert WF.fire(ticket, "merge", at=T0, actor="a", merged_into="T-9").merged_into == "T-9"


def test_a_priority_override_needs_a_reason_and_is_logged() -> None:
    ticket = new_ticket()
    with pytest.raises(TransitionNotAllowed, match="has_reason"):
        WF.fire(ticket, "set_priority", at=T0, actor="lead", priority="urgent")
    after = WF.fire(ticket, "set_priority", at=T0, actor="lead", priority="urgent",
                    reason="媒体关注")
    assert after.priority.value == "urgent"
    assert (after.events[-1].event, after.events[-1].reason) == (TicketEvent.SET_PRIORITY,
                                                                 "媒体关注")


def test_event_data_is_required_where_needed_and_refused_elsewhere() -> None:
    ticket = new_ticket()
    with pytest.raises(ValidationError, match="assignee"):
        WF.fire(ticket, "assign", at=T0, actor="a")
    with pytest.raises(ValidationError, match="solution"):
        WF.fire(ticket, "assign", at=T0, actor="a", assignee="b", solution="x")
    with pytest.raises(ValidationError, match="score"):
        WF.fire(ticket_in(TicketStatus.RESOLVED), "rate", at=T0 + timedelta(days=1), actor="c",
                score=6)
    with pytest.raises(ValidationError, match="event"):
        WF.fire(ticket, "teleport", at=T0, actor="a")


def test_events_out_of_time_order_are_refused_and_the_ticket_is_unchanged() -> None:
    ticket = ticket_in(TicketStatus.IN_PROGRESS)
    before = ticket
    with pytest.raises(ValidationError, match="time order") as caught:
        WF.fire(ticket, "respond", at=ticket.updated_at - timedelta(seconds=1), actor="a")
    assert caught.value.field == "at"
    assert ticket == before
    # the same instant is fine: several things can happen in one second
    WF.fire(ticket, "respond", at=ticket.updated_at, actor="a")


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValidationError, match="timezone-aware"):
        WF.fire(new_ticket(), "cancel", at=T0.replace(tzinfo=None), actor="a")


def test_can_fire_answers_without_changing_anything() -> None:
    ticket = ticket_in(TicketStatus.IN_PROGRESS)
    assert WF.can_fire(ticket, "respond", at=ticket.updated_at, actor="a")
    assert not WF.can_fire(ticket, "close", at=ticket.updated_at, actor="a")
    assert not WF.can_fire(ticket, "resolve", at=ticket.updated_at, actor="a")


# -- reopening ----------------------------------------------------------------------


def resolved_at_t0() -> Ticket:
    ticket = walk(new_ticket(at=T0 - timedelta(hours=1)), PATHS[TicketStatus.IN_PROGRESS])
    return WF.fire(ticket, "resolve", at=T0, actor="a", solution="换新")


def test_reopening_within_the_window_resumes_the_same_ticket() -> None:
    ticket = resolved_at_t0()
    again = WF.reopen(ticket, at=T0 + timedelta(days=3), actor="customer", reason="还是坏的")
    assert again.id == ticket.id
    assert again.status is TicketStatus.IN_PROGRESS
    assert again.events[-1].event is TicketEvent.REOPEN
    assert again.times_reopened == 1
    assert again.resolved_at is None


def test_the_window_includes_its_last_instant() -> None:
    ticket = resolved_at_t0()
    assert WF.reopen(ticket, at=T0 + timedelta(days=7), actor="c").id == "T-1"
    later = WF.reopen(ticket, at=T0 + timedelta(days=7, microseconds=1), actor="c")
    assert later.id != "T-1"


def test_reopening_after_the_window_opens_a_linked_ticket() -> None:
    ticket = resolved_at_t0()
    with pytest.raises(TransitionNotAllowed, match="within_reopen_window"):
        WF.fire(ticket, "reopen", at=T0 + timedelta(days=8), actor="c")
    follow = WF.reopen(ticket, at=T0 + timedelta(days=8), actor="c", reason="又坏了")
    assert follow.id == "T-1-R1"
    assert follow.reopened_from == "T-1"
    assert follow.status is TicketStatus.NEW
    assert (follow.customer_id, follow.category, follow.priority, follow.subject) == (
        ticket.customer_id, ticket.category, ticket.priority, ticket.subject
    )
    assert follow.events[0].reason == "reopened from T-1: 又坏了"
    assert follow.times_reopened == 1
    # deterministic id: reopening the same ticket twice proposes the same follow-up
    assert WF.reopen(ticket, at=T0 + timedelta(days=9), actor="c").id == "T-1-R1"
    assert WF.reopen(ticket, at=T0 + timedelta(days=9), actor="c", new_id="T-2").id == "T-2"


def test_reopening_a_closed_ticket_opens_a_linked_ticket_even_within_the_window() -> None:
    ticket = WF.fire(resolved_at_t0(), "close", at=T0 + timedelta(hours=1), actor="system")
    follow = WF.reopen(ticket, at=T0 + timedelta(hours=2), actor="c")
    assert follow.reopened_from == ticket.id
    assert follow.id != ticket.id


def test_the_window_is_configurable() -> None:
    short = Workflow(states=WF.states, transitions=WF.transitions,
                     reopen_window=timedelta(days=1))
    ticket = resolved_at_t0()
    assert short.reopen(ticket, at=T0 + timedelta(hours=23), actor="c").id == ticket.id
    assert short.reopen(ticket, at=T0 + timedelta(days=2), actor="c").id == "T-1-R1"
    assert WF.reopen(ticket, at=T0 + timedelta(days=2), actor="c").id == ticket.id


@pytest.mark.parametrize(
    "status", [TicketStatus.NEW, TicketStatus.IN_PROGRESS, TicketStatus.CANCELLED,
               TicketStatus.MERGED],
)
def test_a_ticket_that_was_never_resolved_does_not_reopen(status: TicketStatus) -> None:
    ticket = ticket_in(status)
    with pytest.raises(TransitionNotAllowed) as caught:
        WF.reopen(ticket, at=ticket.updated_at + timedelta(hours=1), actor="c")
    assert caught.value.state is status
    assert caught.value.event is TicketEvent.REOPEN


def test_a_follow_up_of_a_follow_up_counts_on() -> None:
    ticket = resolved_at_t0()
    follow = WF.reopen(ticket, at=T0 + timedelta(days=8), actor="c")
    follow = walk(follow, PATHS[TicketStatus.RESOLVED])
    again = WF.reopen(follow, at=follow.updated_at + timedelta(days=30), actor="c")
    assert again.id == "T-1-R1-R2"
    assert again.reopened_from == "T-1-R1"
