"""The people who serve customers: agents, their roles, teams, skills and training.

An :class:`Agent` holds a :class:`Role` (director, manager, supervisor, agent), the
team(s) it belongs to and the ticket categories it is skilled for; a
:class:`TeamPolicy` says whether an agent may belong to several teams (by default it
may not). An :class:`Assignment` records who got which ticket, how and from whom;
a :class:`TrainingRecord` records a training an agent took, so that its figures can
be compared before and after.

>>> a = Agent(id="a1", name="张敏", role="agent", teams={"华东"},
...           skills={"logistics", "after_sales"})
>>> sorted(s.value for s in a.skills), a.team
(['after_sales', 'logistics'], '华东')
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import attrs

from custmgmt.domain import _validate as v
from custmgmt.domain.masking import mask_text
from custmgmt.errors import ValidationError
from custmgmt.tickets.ticket import TicketCategory

__all__ = [
    "Agent",
    "AssignMethod",
    "Assignment",
    "Role",
    "TeamPolicy",
    "TrainingRecord",
]


class Role(enum.Enum):
    """An agent's role in the service team (highest first)."""

    DIRECTOR = "director"
    MANAGER = "manager"
    SUPERVISOR = "supervisor"
    AGENT = "agent"


def _role(value: Any) -> Role:
    return v.coerce_enum(Role, value, "Agent.role")


def _teams(value: Any) -> frozenset[str]:
    return v.text_set(value, "Agent.teams")


def _skills(value: Any) -> frozenset[TicketCategory]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValidationError("Agent.skills", value, "a collection of ticket categories")
    return frozenset(v.coerce_enum(TicketCategory, s, "Agent.skills") for s in value)


def _bool(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, bool):
        raise ValidationError(v.field_name(instance, attribute), value, "True or False")


@attrs.frozen(kw_only=True)
class Agent:
    """A member of the service team.

    Attributes:
        id: the agent id (what tickets name as ``assignee``).
        name: the person's name (masked in ``repr()``).
        role: director, manager, supervisor or agent.
        teams: the teams the agent belongs to (one, unless the policy allows more).
        skills: the ticket categories the agent handles.
        active: whether the agent takes new tickets.
        version: optimistic-concurrency version, 1 for a new agent.
    """

    id: str = attrs.field(validator=v.an_id)
    name: str = attrs.field(validator=v.text(max_length=200, mask=mask_text),
                            repr=lambda s: mask_text(s))
    role: Role = attrs.field(converter=_role)
    teams: frozenset[str] = attrs.field(factory=frozenset, converter=_teams)
    skills: frozenset[TicketCategory] = attrs.field(factory=frozenset, converter=_skills)
    active: bool = attrs.field(default=True, validator=_bool)
    version: int = attrs.field(default=1, validator=v.version)

    @property
    def team(self) -> str | None:
        """The agent's team when it has exactly one, else None."""
        return next(iter(self.teams)) if len(self.teams) == 1 else None

    def can_handle(self, category: TicketCategory | str) -> bool:
        """Whether the agent is active and skilled for ``category``."""
        wanted = v.coerce_enum(TicketCategory, category, "category")
        return self.active and wanted in self.skills

    def revised(self, **changes: Any) -> Agent:
        """A copy with ``changes`` (name, role, teams, skills, active), version bumped.

        Raises:
            ValidationError: another field is named, or a value is bad.
        """
        allowed = {"name", "role", "teams", "skills", "active"}
        for key in changes:
            if key not in allowed:
                raise ValidationError(key, changes[key], f"one of {sorted(allowed)}")
        return attrs.evolve(self, **changes, version=self.version + 1)


@attrs.frozen(kw_only=True)
class TeamPolicy:
    """Rules about team membership.

    Attributes:
        one_team_per_agent: refuse agents in more than one team (the default).
    """

    one_team_per_agent: bool = attrs.field(default=True, validator=_bool)

    def check(self, agent: Agent) -> None:
        """Refuse an agent the policy does not allow.

        Raises:
            ValidationError: naming ``Agent.teams`` when the agent is in two or more
                teams and the policy forbids it.
        """
        if not isinstance(agent, Agent):
            raise ValidationError("agent", agent, "an Agent")
        if self.one_team_per_agent and len(agent.teams) > 1:
            raise ValidationError(
                "Agent.teams", sorted(agent.teams),
                f"at most one team for {agent.id!r} (TeamPolicy.one_team_per_agent)",
            )


class AssignMethod(enum.Enum):
    """How a ticket was assigned."""

    MANUAL = "manual"
    ROUND_ROBIN = "round_robin"
    LEAST_LOADED = "least_loaded"


def _method(value: Any) -> AssignMethod:
    return v.coerce_enum(AssignMethod, value, "Assignment.method")


def _category(value: Any) -> TicketCategory:
    return v.coerce_enum(TicketCategory, value, "Assignment.category")


@attrs.frozen(kw_only=True)
class Assignment:
    """A ticket given to an agent.

    Attributes:
        id: the assignment id (``"<ticket id>#<n>"`` from the services).
        ticket_id: the ticket.
        agent_id: the agent it went to.
        category: the ticket's category (for round robin per category).
        method: manual, round robin or least loaded.
        at: when (aware).
        actor: who (or which rule) assigned it.
    """

    id: str = attrs.field(validator=v.an_id)
    ticket_id: str = attrs.field(validator=v.an_id)
    agent_id: str = attrs.field(validator=v.an_id)
    category: TicketCategory = attrs.field(converter=_category)
    method: AssignMethod = attrs.field(converter=_method)
    at: datetime = attrs.field(validator=v.aware_datetime())
    actor: str = attrs.field(validator=v.an_id)


def _hours(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not v.is_finite_number(value) or not 0 < value <= 1000:
        raise ValidationError("TrainingRecord.hours", value, "a number of hours in (0, 1000]")


@attrs.frozen(kw_only=True)
class TrainingRecord:
    """A training an agent took.

    Attributes:
        id: the record id.
        agent_id: who was trained.
        at: when the training ended (figures after it count as "after").
        topic: what it was about.
        hours: how long it took.
    """

    id: str = attrs.field(validator=v.an_id)
    agent_id: str = attrs.field(validator=v.an_id)
    at: datetime = attrs.field(validator=v.aware_datetime())
    topic: str = attrs.field(validator=v.text(max_length=500))
    hours: float = attrs.field(default=1.0, validator=_hours)
