"""The ticket workflow as data: states, a frozen transition table and named guards.

A :class:`Workflow` is built from :class:`State` rows (one of them initial, some
final) and :class:`Transition` rows ``(source, event) -> target`` that may name
guards. Guards are referenced by name and resolved in a registry of known guards
(:data:`DEFAULT_GUARDS`, which a host may extend), so a table stays plain data that can
be written in a configuration file. The table is checked when it is built and a broken
one fails there, with the problem named in a
:class:`~custmgmt.errors.ValidationError`: more or fewer than one initial state, a
state nothing leads to, an exit from a final state, a dead end that is not final, an
unknown guard, two transitions for the same state and event.

:data:`DEFAULT_WORKFLOW`::

    new -> assigned -> in_progress <-> waiting_on_customer -> resolved -> closed
    (escalate from any open state; cancel and merge from any open state;
     resolve requires a solution; reopen within 7 days of resolving)

Firing an event (:meth:`Workflow.fire`) returns a new ticket with the entry appended
to its log and ``version`` bumped; an event the table does not allow, or whose guard
fails, raises :class:`~custmgmt.errors.TransitionNotAllowed` carrying the state and the
event, and the ticket is unchanged (it is immutable).

Reopening (:meth:`Workflow.reopen`): within the reopen window of a resolution the
ticket itself goes back to work; after the window, or once closed, a *new* ticket is
opened that links to the old one through ``reopened_from``.

>>> from datetime import datetime, timedelta, timezone
>>> from custmgmt.domain import Priority
>>> at = datetime(2024, 9, 23, 9, tzinfo=timezone.utc)
>>> wf = DEFAULT_WORKFLOW
>>> t = wf.open(id="T-1", customer_id="C-1", category="inquiry", priority=Priority.LOW,
...             subject="发票抬头", at=at, actor="web")
>>> t = wf.fire(t, TicketEvent.ASSIGN, at=at, actor="lead", assignee="agent-7")
>>> t = wf.fire(t, "start", at=at + timedelta(minutes=5), actor="agent-7")
>>> try:
...     wf.fire(t, "resolve", at=at + timedelta(hours=1), actor="agent-7")
... except TransitionNotAllowed as e:
...     print(e.state, e.event, e.reason)
TicketStatus.IN_PROGRESS TicketEvent.RESOLVE guard 'has_solution' failed: resolving needs a solution
>>> t = wf.fire(t, "resolve", at=at + timedelta(hours=1), actor="agent-7",
...             solution="已重开发票")
>>> t.status.value, t.version
('resolved', 4)
"""

from __future__ import annotations

import types
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, Final

import attrs

from custmgmt.domain import _validate as v
from custmgmt.domain._tuples import tuple_of
from custmgmt.domain.service import Priority
from custmgmt.errors import TransitionNotAllowed, ValidationError
from custmgmt.tickets.ticket import (
    OPEN_STATUSES,
    Ticket,
    TicketCategory,
    TicketEvent,
    TicketEventRecord,
    TicketStatus,
)

__all__ = [
    "DEFAULT_GUARDS",
    "DEFAULT_REOPEN_WINDOW",
    "DEFAULT_STATES",
    "DEFAULT_TRANSITIONS",
    "DEFAULT_WORKFLOW",
    "Guard",
    "State",
    "Transition",
    "TransitionRequest",
    "Workflow",
]

#: How long after a resolution the ticket itself can be reopened.
DEFAULT_REOPEN_WINDOW: Final = timedelta(days=7)


# -- the table's rows ---------------------------------------------------------------


def _state_status(value: Any) -> TicketStatus:
    return v.coerce_enum(TicketStatus, value, "State.status")


def _source(value: Any) -> TicketStatus:
    return v.coerce_enum(TicketStatus, value, "Transition.source")


def _target(value: Any) -> TicketStatus:
    return v.coerce_enum(TicketStatus, value, "Transition.target")


def _event(value: Any) -> TicketEvent:
    return v.coerce_enum(TicketEvent, value, "Transition.event")


def _flag(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, bool):
        raise ValidationError(v.field_name(instance, attribute), value, "True or False")


@attrs.frozen(kw_only=True)
class State:
    """A state of a workflow table.

    Attributes:
        status: the ticket status.
        initial: whether tickets start here (exactly one state is initial).
        final: whether the state ends the workflow (no exits allowed).
    """

    status: TicketStatus = attrs.field(converter=_state_status)
    initial: bool = attrs.field(default=False, validator=_flag)
    final: bool = attrs.field(default=False, validator=_flag)


def _guard_names(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, Iterable):
        raise ValidationError("Transition.guards", value, "a guard name or names")
    names = tuple(value)
    for name in names:
        if not isinstance(name, str) or not name.strip():
            raise ValidationError("Transition.guards", value, "guard names (strings)")
    return names


@attrs.frozen(kw_only=True)
class Transition:
    """A row of a transition table: ``event`` in ``source`` leads to ``target``.

    Attributes:
        source: the status the event is allowed in.
        event: the event.
        target: the status afterwards (the same for events that keep it).
        guards: names of guards that must all pass (resolved in the workflow's registry).
    """

    source: TicketStatus = attrs.field(converter=_source)
    event: TicketEvent = attrs.field(converter=_event)
    target: TicketStatus = attrs.field(converter=_target)
    guards: tuple[str, ...] = attrs.field(default=(), converter=_guard_names)


@attrs.frozen(kw_only=True)
class TransitionRequest:
    """What a guard sees: the ticket, the event and the data that comes with it.

    Attributes:
        ticket: the ticket before the event.
        event: the event being fired.
        at: when.
        actor: who.
        reason: why (may be empty).
        workflow: the workflow firing it (for settings such as the reopen window).
        assignee: the agent, for ``assign``.
        solution: the solution, for ``resolve``.
        merged_into: the surviving ticket, for ``merge``.
        priority: the new priority, for ``set_priority``.
        score: the survey score, for ``rate``.
    """

    ticket: Ticket
    event: TicketEvent
    at: datetime
    actor: str
    reason: str
    workflow: Workflow
    assignee: str | None = None
    solution: str | None = None
    merged_into: str | None = None
    priority: Priority | None = None
    score: int | None = None


@attrs.frozen(kw_only=True)
class Guard:
    """A named condition on a transition.

    Attributes:
        name: how tables refer to it.
        check: returns True when the transition may happen.
        description: what it requires, shown when it fails.
    """

    name: str
    check: Callable[[TransitionRequest], bool]
    description: str


def _has_solution(request: TransitionRequest) -> bool:
    solution = request.solution if request.solution is not None else request.ticket.solution
    return solution is not None and bool(solution.strip())


def _within_reopen_window(request: TransitionRequest) -> bool:
    resolved = request.ticket.resolved_at
    return resolved is not None and request.at - resolved <= request.workflow.reopen_window


def _has_merge_target(request: TransitionRequest) -> bool:
    return request.merged_into is not None and request.merged_into != request.ticket.id


def _has_assignee(request: TransitionRequest) -> bool:
    return request.ticket.assignee is not None or request.assignee is not None


def _has_reason(request: TransitionRequest) -> bool:
    return bool(request.reason.strip())


#: The guards every workflow knows; extend with ``{**DEFAULT_GUARDS, "mine": Guard(...)}``.
DEFAULT_GUARDS: Final[Mapping[str, Guard]] = types.MappingProxyType(
    {
        g.name: g
        for g in (
            Guard(name="has_solution", check=_has_solution,
                  description="resolving needs a solution"),
            Guard(name="within_reopen_window", check=_within_reopen_window,
                  description="reopening is possible only within the reopen window "
                  "of the last resolution; use Workflow.reopen for a follow-up ticket"),
            Guard(name="has_merge_target", check=_has_merge_target,
                  description="merging needs merged_into, another ticket's id"),
            Guard(name="has_assignee", check=_has_assignee,
                  description="the ticket needs an assignee"),
            Guard(name="has_reason", check=_has_reason,
                  description="a reason must be given"),
        )
    }
)


# -- the workflow -------------------------------------------------------------------


def _states(value: Any) -> tuple[State, ...]:
    return tuple_of("Workflow.states", value, State)


def _transitions(value: Any) -> tuple[Transition, ...]:
    return tuple_of("Workflow.transitions", value, Transition)


def _guards(value: Any) -> Mapping[str, Guard]:
    if not isinstance(value, Mapping):
        raise ValidationError("Workflow.guards", value, "a mapping of guard name to Guard")
    for name, guard in value.items():
        if not isinstance(guard, Guard) or guard.name != name:
            raise ValidationError(
                f"Workflow.guards[{name!r}]", guard, "a Guard registered under its own name"
            )
    return types.MappingProxyType(dict(value))


def _window(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, timedelta) or value < timedelta(0):
        raise ValidationError("Workflow.reopen_window", value, "a timedelta >= 0")


def _names(statuses: Iterable[TicketStatus]) -> str:
    return ", ".join(repr(s.value) for s in statuses)


@attrs.frozen(kw_only=True)
class Workflow:
    """A validated, frozen ticket workflow.

    Attributes:
        states: the states, exactly one initial; final ones have no exits.
        transitions: the table, at most one row per state and event.
        guards: the registry the rows' guard names are resolved in.
        reopen_window: how long after a resolution the ticket itself can be reopened.

    Raises:
        ValidationError: naming the problem when the table is broken: not exactly one
            initial state, a transition from or to an undeclared state, the ``create``
            event in a row, two rows for the same state and event, an unknown guard, an
            exit from a final state, a non-final state without exits, or a state that
            cannot be reached from the initial one.
    """

    states: tuple[State, ...] = attrs.field(converter=_states)
    transitions: tuple[Transition, ...] = attrs.field(converter=_transitions)
    guards: Mapping[str, Guard] = attrs.field(default=DEFAULT_GUARDS, converter=_guards)
    reopen_window: timedelta = attrs.field(default=DEFAULT_REOPEN_WINDOW, validator=_window)
    _table: Mapping[tuple[TicketStatus, TicketEvent], Transition] = attrs.field(
        init=False, repr=False, eq=False
    )

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_table", _validate(self.states, self.transitions, self.guards))

    # -- reading the table --------------------------------------------------------

    @property
    def initial(self) -> TicketStatus:
        """The status new tickets start in."""
        return next(s.status for s in self.states if s.initial)

    @property
    def final(self) -> frozenset[TicketStatus]:
        """The statuses that end the workflow."""
        return frozenset(s.status for s in self.states if s.final)

    def transition(self, status: TicketStatus, event: TicketEvent) -> Transition | None:
        """The row for ``event`` in ``status``, or None when the table has none."""
        return self._table.get((status, event))

    def allowed_events(self, status: TicketStatus) -> tuple[TicketEvent, ...]:
        """The events the table has for ``status`` (guards not evaluated), in table order."""
        return tuple(t.event for t in self.transitions if t.source is status)

    # -- using it -------------------------------------------------------------------

    def open(
        self,
        *,
        id: str,
        customer_id: str,
        category: TicketCategory | str,
        priority: Priority | str,
        subject: str,
        at: datetime,
        actor: str,
        channel: str = "web",
        description: str = "",
        reason: str = "",
        reopened_from: str | None = None,
    ) -> Ticket:
        """A new ticket in the initial state (see :meth:`Ticket.open`)."""
        return Ticket.open(
            id=id, customer_id=customer_id, category=category, priority=priority,
            subject=subject, at=at, actor=actor, channel=channel, description=description,
            reason=reason, reopened_from=reopened_from, status=self.initial,
        )

    def fire(
        self,
        ticket: Ticket,
        event: TicketEvent | str,
        *,
        at: datetime,
        actor: str,
        reason: str = "",
        assignee: str | None = None,
        solution: str | None = None,
        merged_into: str | None = None,
        priority: Priority | str | None = None,
        score: int | None = None,
    ) -> Ticket:
        """Apply ``event`` to ``ticket``: a new ticket with the entry appended.

        Data that comes with an event is applied with it: ``assignee`` (required for
        ``assign``), ``solution`` (``resolve``), ``merged_into`` (``merge``),
        ``priority`` (required for ``set_priority``, with a reason) and ``score``
        (required for ``rate``, 1-5). Passing data to an event that does not take it
        is an error.

        Raises:
            TransitionNotAllowed: when the table has no row for the ticket's status and
                the event, or one of the row's guards fails (the reason names it).
            ValidationError: for a naive or earlier-than-the-log ``at``, missing or
                misplaced event data, or a bad value.
        """
        if not isinstance(ticket, Ticket):
            raise ValidationError("ticket", ticket, "a Ticket")
        kind = v.coerce_enum(TicketEvent, event, "event")
        v.check_aware("at", at)
        if at < ticket.updated_at:
            raise ValidationError(
                "at", at, f"a time at or after the ticket's last event "
                f"({ticket.updated_at.isoformat()}): events must be in time order",
            )
        if not isinstance(reason, str):
            raise ValidationError("reason", reason, "a string")
        # Guards read these before the new ticket validates them: check the types first.
        if not isinstance(actor, str):
            raise ValidationError("actor", actor, "a string")
        data = {"assignee": assignee, "solution": solution, "merged_into": merged_into}
        for name, text in data.items():
            if text is not None and not isinstance(text, str):
                raise ValidationError(name, text, "a string or None")
        new_priority = None if priority is None else v.coerce_enum(Priority, priority, "priority")
        row = self._table.get((ticket.status, kind))
        if row is None:
            raise TransitionNotAllowed(ticket.status, kind)
        changes = _changes(kind, assignee, solution, merged_into, new_priority, score)
        request = TransitionRequest(
            ticket=ticket, event=kind, at=at, actor=actor, reason=reason, workflow=self,
            assignee=assignee, solution=solution, merged_into=merged_into,
            priority=new_priority, score=score,
        )
        for name in row.guards:
            guard = self.guards[name]
            if not guard.check(request):
                raise TransitionNotAllowed(
                    ticket.status, kind, f"guard {name!r} failed: {guard.description}"
                )
        record = TicketEventRecord(
            at=at, event=kind, from_status=ticket.status, to_status=row.target,
            actor=actor, reason=reason, score=changes.get("satisfaction"),
        )
        return ticket.appended(record, **changes)

    def check_path(self, ticket: Ticket, *, stored: Ticket | None = None) -> None:
        """Check that ``ticket`` is what :meth:`fire` could have made of ``stored``.

        Repositories call this before they save, so that a log written with
        :meth:`Ticket.appended` (which checks only that the log hangs together) is no
        way around the workflow. The entries after ``stored``'s log (the whole log,
        from the creation, when ``stored`` is None) are replayed through :meth:`fire`
        from the state before them, with the data the ticket carries (its assignee,
        solution, merged_into and priority; the entry's survey score), so the table's
        rows and their guards are checked as when the events were fired. The fields
        that only events change (assignee, solution, merged_into, priority,
        satisfaction) must end as the replay leaves them. Only the new entries are
        replayed, so saving a long-lived ticket again and again stays linear.

        Args:
            ticket: the ticket to save.
            stored: the stored ticket it was made from (its log a prefix of
                ``ticket``'s, checked when it was saved), or None for a new ticket.

        Raises:
            TransitionNotAllowed: naming the first entry the workflow does not allow
                (its state and event), or the field the log does not explain.
        """
        events = ticket.events
        if stored is None:
            first = events[0]
            if first.to_status is not self.initial:
                raise TransitionNotAllowed(
                    first.to_status, TicketEvent.CREATE,
                    f"Ticket.events[0]: a ticket of this workflow starts in "
                    f"{self.initial.value!r}",
                )
            state = attrs.evolve(
                ticket, events=events[:1], status=first.to_status, version=1,
                assignee=None, solution=None, satisfaction=None, merged_into=None,
            )
        else:
            state = stored
        for i in range(len(state.events), len(events)):
            record = events[i]
            data = _replay_data(record, ticket)
            try:
                state = self.fire(
                    state, record.event, at=record.at, actor=record.actor,
                    reason=record.reason, **data,
                )
            except ValidationError as error:
                raise TransitionNotAllowed(
                    record.from_status, record.event, f"Ticket.events[{i}]: {error}"
                ) from error
            except TransitionNotAllowed as error:
                raise TransitionNotAllowed(
                    error.state, error.event, f"Ticket.events[{i}]"
                    + (f": {error.reason}" if error.reason else "")
                ) from error
            if state.status is not record.to_status:
                raise TransitionNotAllowed(
                    record.from_status, record.event,
                    f"Ticket.events[{i}]: the workflow leads to {state.status.value!r}, "
                    f"the log records {record.to_status.value!r}",
                )
        for name, event in _FIELD_EVENTS.items():
            if getattr(state, name) != getattr(ticket, name):
                raise TransitionNotAllowed(
                    ticket.status, event,
                    f"Ticket.{name} changed without a {event.value!r} entry in the log",
                )

    def can_fire(self, ticket: Ticket, event: TicketEvent | str, **data: Any) -> bool:
        """Whether :meth:`fire` would accept ``event`` now (same arguments).

        Only a refusal by the table or a guard gives False; bad arguments still raise
        :class:`~custmgmt.errors.ValidationError`, as :meth:`fire` does.
        """
        try:
            self.fire(ticket, event, **data)
        except TransitionNotAllowed:
            return False
        return True

    def reopen(
        self,
        ticket: Ticket,
        *,
        at: datetime,
        actor: str,
        reason: str = "",
        new_id: str | None = None,
    ) -> Ticket:
        """Reopen a resolved or closed ticket.

        Within the reopen window of the last resolution (and while the table allows
        ``reopen`` in the ticket's status) this is ``fire(ticket, "reopen")``: the same
        ticket, back in progress. After the window, or once the ticket is closed, a
        *new* ticket is opened for the same customer and request, linked through
        ``reopened_from``; tell the two apart by ``result.id == ticket.id``.

        Args:
            ticket: the ticket to reopen.
            at: when.
            actor: who.
            reason: why (recorded).
            new_id: the follow-up ticket's id; by default ``"<id>-R<n>"`` with ``n`` the
                number of times the chain was reopened (deterministic, so a re-run does
                not create duplicates).

        Raises:
            TransitionNotAllowed: when the ticket was never resolved (still open,
                cancelled or merged).
            ValidationError: for a bad ``at`` or ``new_id``.
        """
        row = self._table.get((ticket.status, TicketEvent.REOPEN))
        if row is not None and self.can_fire(
            ticket, TicketEvent.REOPEN, at=at, actor=actor, reason=reason
        ):
            return self.fire(ticket, TicketEvent.REOPEN, at=at, actor=actor, reason=reason)
        if ticket.resolved_at is None:
            raise TransitionNotAllowed(
                ticket.status, TicketEvent.REOPEN, "only a resolved or closed ticket reopens"
            )
        v.check_aware("at", at)
        if at < ticket.updated_at:
            raise ValidationError(
                "at", at, f"a time at or after the ticket's last event "
                f"({ticket.updated_at.isoformat()})",
            )
        follow_id = new_id if new_id is not None else f"{ticket.id}-R{ticket.times_reopened + 1}"
        if follow_id == ticket.id or follow_id == ticket.reopened_from:
            # A follow-up under the reopened ticket's own id would pass for the same
            # ticket reopened in place (``result.id == ticket.id``) with its log lost.
            raise ValidationError(
                "new_id", follow_id, f"an id other than {ticket.id!r} and the ticket it "
                "was reopened from",
            )
        why = f"reopened from {ticket.id}" + (f": {reason}" if reason else "")
        return self.open(
            id=follow_id, customer_id=ticket.customer_id, category=ticket.category,
            priority=ticket.priority, subject=ticket.subject, at=at, actor=actor,
            channel=ticket.channel, description=ticket.description, reason=why,
            reopened_from=ticket.id,
        )


_EVENT_DATA: Final[Mapping[TicketEvent, str]] = {
    TicketEvent.ASSIGN: "assignee",
    TicketEvent.RESOLVE: "solution",
    TicketEvent.MERGE: "merged_into",
    TicketEvent.SET_PRIORITY: "priority",
    TicketEvent.RATE: "score",
}


#: The fields only an event changes, and the event that changes each.
_FIELD_EVENTS: Final[Mapping[str, TicketEvent]] = {
    "assignee": TicketEvent.ASSIGN,
    "solution": TicketEvent.RESOLVE,
    "merged_into": TicketEvent.MERGE,
    "priority": TicketEvent.SET_PRIORITY,
    "satisfaction": TicketEvent.RATE,
}


def _replay_data(record: TicketEventRecord, ticket: Ticket) -> dict[str, Any]:
    """The data ``fire`` is given to replay ``record``: what ``ticket`` ended up with."""
    kind = record.event
    if kind is TicketEvent.ASSIGN:
        return {"assignee": ticket.assignee}
    if kind is TicketEvent.RESOLVE:
        return {"solution": ticket.solution}
    if kind is TicketEvent.MERGE:
        return {"merged_into": ticket.merged_into}
    if kind is TicketEvent.SET_PRIORITY:
        return {"priority": ticket.priority}
    if kind is TicketEvent.RATE:
        return {"score": record.score if record.score is not None else ticket.satisfaction}
    return {}


def _changes(
    kind: TicketEvent,
    assignee: str | None,
    solution: str | None,
    merged_into: str | None,
    priority: Priority | None,
    score: int | None,
) -> dict[str, Any]:
    given = {
        "assignee": assignee, "solution": solution, "merged_into": merged_into,
        "priority": priority, "score": score,
    }
    own = _EVENT_DATA.get(kind)
    for name, value in given.items():
        if value is not None and name != own:
            raise ValidationError(name, value, f"None: {kind.value!r} does not take {name}")
    if own is None:
        return {}
    value = given[own]
    if value is None:
        if kind in (TicketEvent.ASSIGN, TicketEvent.SET_PRIORITY, TicketEvent.RATE):
            raise ValidationError(own, None, f"a value: {kind.value!r} needs {own}")
        return {}
    if own == "score":
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 5:
            raise ValidationError("score", value, "an integer score from 1 to 5")
        return {"satisfaction": value}
    if own in ("assignee", "merged_into"):
        v.check_id(own, value)
    return {own: value}


def _validate(
    states: tuple[State, ...],
    transitions: tuple[Transition, ...],
    guards: Mapping[str, Guard],
) -> Mapping[tuple[TicketStatus, TicketEvent], Transition]:
    known: dict[TicketStatus, State] = {}
    for state in states:
        if state.status in known:
            raise ValidationError("Workflow.states", state.status, "each status declared once")
        known[state.status] = state
    initial = [s.status for s in states if s.initial]
    if len(initial) != 1:
        raise ValidationError(
            "Workflow.states", _names(initial),
            f"exactly one initial state (found {len(initial)})",
        )
    table: dict[tuple[TicketStatus, TicketEvent], Transition] = {}
    for i, row in enumerate(transitions):
        name = f"Workflow.transitions[{i}]"
        for end in (row.source, row.target):
            if end not in known:
                raise ValidationError(name, row, f"states declared in the table ({end.value!r} "
                                      "is not)")
        if row.event is TicketEvent.CREATE:
            raise ValidationError(name, row, "no 'create' row: creation enters the initial state")
        if (row.source, row.event) in table:
            raise ValidationError(
                name, row, f"one row per state and event ({row.source.value!r} and "
                f"{row.event.value!r} appear twice)",
            )
        for guard in row.guards:
            if guard not in guards:
                raise ValidationError(
                    f"{name}.guards", guard,
                    f"a known guard name (unknown guard {guard!r}; known: "
                    f"{', '.join(sorted(guards))})",
                )
        if known[row.source].final:
            raise ValidationError(
                name, row, f"no exits from final states ({row.source.value!r} is final)"
            )
        table[(row.source, row.event)] = row
    exits = {row.source for row in transitions}
    dead = [s.status for s in states if not s.final and s.status not in exits]
    if dead:
        raise ValidationError(
            "Workflow.states", _names(dead), "an exit from every non-final state (dead end)"
        )
    reachable = {initial[0]}
    queue = deque(reachable)
    while queue:
        here = queue.popleft()
        for row in transitions:
            if row.source is here and row.target not in reachable:
                reachable.add(row.target)
                queue.append(row.target)
    unreachable = [s.status for s in states if s.status not in reachable]
    if unreachable:
        raise ValidationError(
            "Workflow.states", _names(unreachable),
            "every state reachable from the initial state (unreachable state)",
        )
    return types.MappingProxyType(table)


# -- the default workflow -----------------------------------------------------------

_S = TicketStatus
_E = TicketEvent

#: The default workflow's states.
DEFAULT_STATES: Final[tuple[State, ...]] = (
    State(status=_S.NEW, initial=True),
    State(status=_S.ASSIGNED),
    State(status=_S.IN_PROGRESS),
    State(status=_S.WAITING_ON_CUSTOMER),
    State(status=_S.ESCALATED),
    State(status=_S.RESOLVED),
    State(status=_S.CLOSED, final=True),
    State(status=_S.CANCELLED, final=True),
    State(status=_S.MERGED, final=True),
)

_OPEN = OPEN_STATUSES


def _default_rows() -> tuple[Transition, ...]:
    rows: list[Transition] = []

    def row(source: TicketStatus, event: TicketEvent, target: TicketStatus,
            *guards: str) -> None:
        rows.append(Transition(source=source, event=event, target=target, guards=guards))

    row(_S.NEW, _E.ASSIGN, _S.ASSIGNED)
    row(_S.ASSIGNED, _E.START, _S.IN_PROGRESS)
    row(_S.IN_PROGRESS, _E.WAIT_ON_CUSTOMER, _S.WAITING_ON_CUSTOMER)
    row(_S.WAITING_ON_CUSTOMER, _E.CUSTOMER_REPLIED, _S.IN_PROGRESS)
    row(_S.WAITING_ON_CUSTOMER, _E.START, _S.IN_PROGRESS)
    row(_S.ESCALATED, _E.START, _S.IN_PROGRESS, "has_assignee")
    row(_S.ESCALATED, _E.WAIT_ON_CUSTOMER, _S.WAITING_ON_CUSTOMER)
    # Reassigning keeps the status: the work goes on with someone else.
    for status in (_S.ASSIGNED, _S.IN_PROGRESS, _S.WAITING_ON_CUSTOMER, _S.ESCALATED):
        row(status, _E.ASSIGN, status)
    # Replies either way keep the status (a reply to a waiting ticket resumes it, above).
    for status in _OPEN:
        row(status, _E.RESPOND, status)
        if status is not _S.WAITING_ON_CUSTOMER:
            row(status, _E.CUSTOMER_REPLIED, status)
    row(_S.RESOLVED, _E.CUSTOMER_REPLIED, _S.RESOLVED)
    for status in (_S.IN_PROGRESS, _S.WAITING_ON_CUSTOMER, _S.ESCALATED):
        row(status, _E.RESOLVE, _S.RESOLVED, "has_solution")
    for status in _OPEN:
        if status is not _S.ESCALATED:
            row(status, _E.ESCALATE, _S.ESCALATED)
        row(status, _E.CANCEL, _S.CANCELLED)
        row(status, _E.MERGE, _S.MERGED, "has_merge_target")
        row(status, _E.SET_PRIORITY, status, "has_reason")
    # An unhappy customer's ticket goes to a higher level straight from resolved.
    row(_S.RESOLVED, _E.ESCALATE, _S.ESCALATED)
    row(_S.RESOLVED, _E.REOPEN, _S.IN_PROGRESS, "within_reopen_window")
    row(_S.RESOLVED, _E.RATE, _S.RESOLVED)
    row(_S.RESOLVED, _E.CLOSE, _S.CLOSED)
    return tuple(rows)


#: The default transition table.
DEFAULT_TRANSITIONS: Final[tuple[Transition, ...]] = _default_rows()

#: The default workflow, with a 7-day reopen window.
DEFAULT_WORKFLOW: Final = Workflow(states=DEFAULT_STATES, transitions=DEFAULT_TRANSITIONS)
