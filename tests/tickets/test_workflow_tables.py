"""Transition tables are validated when built; hosts can bring their own."""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest
from _ticket_support import T0, new_ticket

from custmgmt.errors import TransitionNotAllowed, ValidationError
from custmgmt.tickets import (
    DEFAULT_GUARDS,
    DEFAULT_STATES,
    DEFAULT_TRANSITIONS,
    Guard,
    State,
    TicketEvent,
    TicketStatus,
    Transition,
    TransitionRequest,
    Workflow,
)

S = TicketStatus
E = TicketEvent

#: A minimal host workflow: new -> in progress -> resolved -> closed.
SMALL_STATES = (
    State(status=S.NEW, initial=True),
    State(status=S.IN_PROGRESS),
    State(status=S.RESOLVED),
    State(status=S.CLOSED, final=True),
)
SMALL_ROWS = (
    Transition(source=S.NEW, event=E.START, target=S.IN_PROGRESS),
    Transition(source=S.IN_PROGRESS, event=E.RESOLVE, target=S.RESOLVED, guards="has_solution"),
    Transition(source=S.RESOLVED, event=E.CLOSE, target=S.CLOSED),
)


def build(states: tuple[State, ...] = SMALL_STATES,
          rows: tuple[Transition, ...] = SMALL_ROWS, **kw: object) -> Workflow:
    return Workflow(states=states, transitions=rows, **kw)  # type: ignore[arg-type]


def test_a_small_host_table_builds_and_runs() -> None:
    wf = build()
    ticket = new_ticket(workflow=wf)
    ticket = wf.fire(ticket, "start", at=T0, actor="a")
    ticket = wf.fire(ticket, "resolve", at=T0, actor="a", solution="ok")
    assert wf.fire(ticket, "close", at=T0, actor="a").status is S.CLOSED
    with pytest.raises(TransitionNotAllowed):
        wf.fire(new_ticket(workflow=wf), "assign", at=T0, actor="a", assignee="b")


def test_an_unreachable_state_is_named() -> None:
    states = (*SMALL_STATES, State(status=S.ESCALATED))
    rows = (*SMALL_ROWS, Transition(source=S.ESCALATED, event=E.START, target=S.IN_PROGRESS))
    with pytest.raises(ValidationError, match="unreachable") as caught:
        build(states, rows)
    assert "'escalated'" in str(caught.value)


def test_an_exit_from_a_final_state_is_named() -> None:
    rows = (*SMALL_ROWS, Transition(source=S.CLOSED, event=E.REOPEN, target=S.IN_PROGRESS))
    with pytest.raises(ValidationError, match=r"no exits from final states \('closed' is final\)"):
        build(rows=rows)


def test_an_unknown_guard_is_named() -> None:
    rows = (*SMALL_ROWS[:2], Transition(source=S.RESOLVED, event=E.CLOSE, target=S.CLOSED,
                                        guards=("manager_approved",)))
    with pytest.raises(ValidationError, match="unknown guard 'manager_approved'") as caught:
        build(rows=rows)
    assert caught.value.field == "Workflow.transitions[2].guards"


def test_a_host_guard_registered_by_name_is_known() -> None:
    def approved(request: TransitionRequest) -> bool:
        return request.actor.startswith("manager")

    guards = {**DEFAULT_GUARDS, "manager_approved": Guard(
        name="manager_approved", check=approved, description="a manager must close it")}
    rows = (*SMALL_ROWS[:2], Transition(source=S.RESOLVED, event=E.CLOSE, target=S.CLOSED,
                                        guards=("manager_approved",)))
    wf = build(rows=rows, guards=guards)
    ticket = new_ticket(workflow=wf)
    ticket = wf.fire(ticket, "start", at=T0, actor="a")
    ticket = wf.fire(ticket, "resolve", at=T0, actor="a", solution="ok")
    with pytest.raises(TransitionNotAllowed, match="a manager must close it"):
        wf.fire(ticket, "close", at=T0, actor="agent")
    assert wf.fire(ticket, "close", at=T0, actor="manager-li").status is S.CLOSED


def test_two_initial_states_are_refused() -> None:
    states = (State(status=S.NEW, initial=True), State(status=S.IN_PROGRESS, initial=True),
              *SMALL_STATES[2:])
    with pytest.raises(ValidationError, match=r"exactly one initial state \(found 2\)"):
        build(states)


def test_no_initial_state_is_refused() -> None:
    states = (State(status=S.NEW), *SMALL_STATES[1:])
    with pytest.raises(ValidationError, match=r"exactly one initial state \(found 0\)"):
        build(states)


def test_a_dead_end_that_is_not_final_is_refused() -> None:
    with pytest.raises(ValidationError, match="dead end") as caught:
        build(rows=SMALL_ROWS[:2])
    assert "'resolved'" in str(caught.value)


def test_two_rows_for_one_state_and_event_are_refused() -> None:
    rows = (*SMALL_ROWS, Transition(source=S.NEW, event=E.START, target=S.RESOLVED))
    with pytest.raises(ValidationError, match="appear twice"):
        build(rows=rows)


def test_a_row_with_an_undeclared_state_is_refused() -> None:
    rows = (*SMALL_ROWS, Transition(source=S.NEW, event=E.ESCALATE, target=S.ESCALATED))
    with pytest.raises(ValidationError, match="'escalated' is not"):
        build(rows=rows)


def test_creation_is_not_a_row() -> None:
    rows = (*SMALL_ROWS, Transition(source=S.NEW, event=E.CREATE, target=S.NEW))
    with pytest.raises(ValidationError, match="no 'create' row"):
        build(rows=rows)


def test_a_state_declared_twice_is_refused() -> None:
    with pytest.raises(ValidationError, match="declared once"):
        build((*SMALL_STATES, State(status=S.NEW)))


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"states": "new"}, "Workflow.states"),
        ({"states": [object()]}, "Workflow.states[0]"),
        ({"transitions": [("new", "start", "in_progress")]}, "Workflow.transitions[0]"),
        ({"guards": ["has_solution"]}, "Workflow.guards"),
        ({"reopen_window": timedelta(days=-1)}, "Workflow.reopen_window"),
    ],
)
def test_bad_table_parts_are_named(kwargs: dict[str, object], field: str) -> None:
    parts: dict[str, object] = {"states": SMALL_STATES, "transitions": SMALL_ROWS, **kwargs}
    with pytest.raises(ValidationError) as caught:
        Workflow(**parts)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_rows_accept_values_and_refuse_unknown_ones() -> None:
    row = Transition(source="new", event="start", target="in_progress")
    assert (row.source, row.event, row.guards) == (S.NEW, E.START, ())
    with pytest.raises(ValidationError, match=r"Transition\.target"):
        Transition(source="new", event="start", target="limbo")
    with pytest.raises(ValidationError, match=r"Transition\.guards"):
        Transition(source="new", event="start", target="new", guards=[1])


def test_the_default_table_is_frozen_data() -> None:
    assert isinstance(DEFAULT_TRANSITIONS, tuple)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        DEFAULT_TRANSITIONS[0].target = S.CLOSED  # type: ignore[misc]
    with pytest.raises(TypeError):
        DEFAULT_GUARDS["x"] = DEFAULT_GUARDS["has_solution"]  # type: ignore[index]
    # A host can rebuild the default from its parts.
    assert Workflow(states=DEFAULT_STATES, transitions=DEFAULT_TRANSITIONS).allowed_events(
        S.NEW
    ) == Workflow(states=DEFAULT_STATES, transitions=DEFAULT_TRANSITIONS).allowed_events(S.NEW)
