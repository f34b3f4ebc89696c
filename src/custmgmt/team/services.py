"""The service team's use cases on a :class:`~custmgmt.team.ports.TeamStore`.

The command line and host applications call the same functions: registering agents
under a :class:`~custmgmt.team.agents.TeamPolicy`, assigning tickets (manual, round
robin or least loaded, by skill) atomically with the ticket's ``assign`` transition,
recording training, and the performance figures over a period.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Mapping
from datetime import datetime, timedelta

from custmgmt.calendars import BusinessCalendar
from custmgmt.domain._validate import MAX_ID_LENGTH, check_aware, check_id, coerce_enum
from custmgmt.errors import NotFound, ValidationError
from custmgmt.team.agents import Agent, Assignment, AssignMethod, TeamPolicy, TrainingRecord
from custmgmt.team.assignment import choose_agent, eligible_agents
from custmgmt.team.performance import (
    PerformanceFrame,
    TeamPerformance,
    TrainingEffect,
    team_performance,
    training_effect,
    training_window,
)
from custmgmt.team.ports import TeamStore
from custmgmt.tickets.sla import SLAPolicy
from custmgmt.tickets.ticket import OPEN_STATUSES, Ticket, TicketEvent
from custmgmt.tickets.workflow import DEFAULT_WORKFLOW, Workflow

__all__ = [
    "DEFAULT_TEAM_POLICY",
    "OPEN_STATUSES",
    "add_agent",
    "assign_ticket",
    "assignment_id",
    "open_loads",
    "performance",
    "performance_frame",
    "record_training",
    "training_comparison",
    "update_agent",
]

#: One team per agent.
DEFAULT_TEAM_POLICY = TeamPolicy()



def add_agent(
    store: TeamStore, agent: Agent, *, policy: TeamPolicy = DEFAULT_TEAM_POLICY
) -> None:
    """Register an agent the team policy allows.

    Raises:
        ValidationError: the policy refuses the agent (e.g. two teams); nothing stored.
        Conflict: the id is taken.
    """
    _policy(policy).check(agent)
    store.agents.add(agent)


def update_agent(
    store: TeamStore, agent: Agent, *, policy: TeamPolicy = DEFAULT_TEAM_POLICY
) -> None:
    """Save a changed agent the team policy allows (see ``AgentRepository.update``).

    Raises:
        ValidationError: the policy refuses the agent; nothing stored.
        Conflict: a stale copy.
    """
    _policy(policy).check(agent)
    store.agents.update(agent)


def _policy(policy: object) -> TeamPolicy:
    if not isinstance(policy, TeamPolicy):
        raise ValidationError("policy", policy, "a TeamPolicy")
    return policy


def open_loads(store: TeamStore) -> Counter[str]:
    """Open tickets per assignee."""
    return Counter(t.assignee for t in store.tickets.find(statuses=OPEN_STATUSES)
                   if t.assignee is not None)


def assign_ticket(
    store: TeamStore,
    ticket_id: str,
    *,
    method: AssignMethod | str,
    at: datetime,
    actor: str,
    agent_id: str | None = None,
    workflow: Workflow = DEFAULT_WORKFLOW,
) -> Assignment:
    """Give a ticket to an agent and record the assignment, in one transaction.

    The agent is chosen by :func:`~custmgmt.team.assignment.choose_agent` among the
    stored agents: the one named (manual), the next after the last one given this
    category (round robin) or the one with the fewest open tickets (least loaded;
    among equals, the one whose last assignment is oldest), always skilled for the
    ticket's category. The ticket's ``assign`` transition and
    the :class:`Assignment` (id ``"<ticket id>#<n>"``, see :func:`assignment_id`) are
    saved together.

    Raises:
        NotFound: the ticket is not stored, or no active agent is skilled for its
            category; nothing is written.
        ValidationError: a bad method, time or actor; manual without ``agent_id``
            or naming an agent without the skill.
        TransitionNotAllowed: the ticket cannot be assigned in its status.
    """
    if not isinstance(workflow, Workflow):
        raise ValidationError("workflow", workflow, "a Workflow")
    check_aware("at", at)
    check_id("actor", actor)
    how = coerce_enum(AssignMethod, method, "method")
    with store.transaction():
        ticket = store.tickets.get(ticket_id)
        agents = store.agents.find()
        earlier = (store.assignments.find(category=ticket.category)
                   if how is AssignMethod.ROUND_ROBIN else [])
        waited: dict[str, datetime] = {}
        if how is AssignMethod.LEAST_LOADED:
            for agent in eligible_agents(agents, ticket.category):
                theirs = store.assignments.find(agent_id=agent.id)
                if theirs:
                    waited[agent.id] = theirs[-1].at
        chosen = choose_agent(
            agents, ticket.category, method, agent_id=agent_id,
            loads=open_loads(store) if how is AssignMethod.LEAST_LOADED else None,
            last=earlier[-1].agent_id if earlier else None, last_assigned=waited,
        )
        fired: Ticket = workflow.fire(ticket, TicketEvent.ASSIGN, at=at, actor=actor,
                                      assignee=chosen.id)
        store.tickets.update(fired)
        n = len(store.assignments.find(ticket_id=ticket.id)) + 1
        assignment = Assignment(id=assignment_id(ticket.id, n), ticket_id=ticket.id,
                                agent_id=chosen.id,
                                category=ticket.category, method=how, at=at, actor=actor)
        store.assignments.add(assignment)
        return assignment


def assignment_id(ticket_id: str, n: int) -> str:
    """The id of a ticket's ``n``-th assignment: ``"<ticket id>#<n>"``.

    A ticket id too long for the suffix to fit in an id is shortened, keeping a
    digest of the whole so that two long ticket ids never share assignment ids.

    >>> assignment_id("T-1", 2)
    'T-1#2'
    >>> len(assignment_id("T" * MAX_ID_LENGTH, 1)) == MAX_ID_LENGTH
    True
    """
    suffix = f"#{n}"
    if len(ticket_id) + len(suffix) <= MAX_ID_LENGTH:
        return f"{ticket_id}{suffix}"
    digest = hashlib.sha256(ticket_id.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    keep = MAX_ID_LENGTH - len(suffix) - len(digest) - 1
    return f"{ticket_id[:keep]}~{digest}{suffix}"


def record_training(store: TeamStore, record: TrainingRecord) -> None:
    """Store a training record of a stored agent.

    Raises:
        NotFound: the agent is not stored.
        Conflict: the record id is taken.
    """
    store.agents.add_training(record)


def performance_frame(
    store: TeamStore,
    *,
    as_of: datetime,
    policy: SLAPolicy | None = None,
    stars: Mapping[str, int] | None = None,
    factors: Mapping[str, float] | None = None,
) -> PerformanceFrame:
    """The store's tickets and agents as a :class:`PerformanceFrame` at ``as_of``."""
    tickets = [t for chunk in store.tickets.iter_chunks() for t in chunk]
    return PerformanceFrame.from_tickets(tickets, store.agents.find(), as_of=as_of,
                                         policy=policy, stars=stars, factors=factors)


def performance(
    store: TeamStore,
    *,
    start: datetime,
    end: datetime,
    calendar: BusinessCalendar,
    policy: SLAPolicy | None = None,
    stars: Mapping[str, int] | None = None,
    as_of: datetime | None = None,
    min_count: int = 20,
    by_team: bool = False,
    factors: Mapping[str, float] | None = None,
) -> TeamPerformance:
    """Every agent's (or, ``by_team``, every team's) figures for ``[start, end)``.

    Clocks still running are measured at ``as_of`` (default: ``end``). Per team, the
    figures pool the tickets of the team's members (see ``PerformanceFrame.by_team``).
    ``factors`` scale each customer's SLA targets as ``custmgmt tickets`` does (e.g.
    :func:`custmgmt.rating.response_time_factors` of ``stars``).

    Raises:
        ValidationError: a bad period (``end`` not after ``start``) or argument.
    """
    check_aware("start", start)
    check_aware("end", end)
    if end <= start:
        raise ValidationError("end", end, f"an instant after start ({start.isoformat()})")
    frame = performance_frame(store, as_of=end if as_of is None else as_of, policy=policy,
                              stars=stars, factors=factors)
    if by_team:
        frame = frame.by_team()
    return team_performance(frame, start=start, end=end, calendar=calendar, min_count=min_count)


def training_comparison(
    store: TeamStore,
    record_id: str,
    *,
    calendar: BusinessCalendar,
    window: timedelta = timedelta(days=30),
    policy: SLAPolicy | None = None,
    as_of: datetime | None = None,
) -> TrainingEffect:
    """The trained agent's figures over ``window`` before and after a training record.

    Raises:
        NotFound: no training record has that id.
    """
    found = [r for r in store.agents.trainings() if r.id == record_id]
    if not found:
        raise NotFound("training record", record_id)
    record = found[0]
    _, last = training_window(record.at, window)
    frame = performance_frame(store, as_of=as_of or last, policy=policy)
    return training_effect(frame, record.agent_id, record.at, calendar=calendar, window=window)
