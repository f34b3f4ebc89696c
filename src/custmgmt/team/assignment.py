"""Choosing the agent for a ticket: manual, round robin, or least loaded, by skill.

:func:`choose_agent` is the pure rule: among the active agents skilled for the
ticket's category, round robin takes the next one after the last agent given that
category (by agent id, wrapping around), least loaded takes the one with the fewest
open tickets (ties go to the agent who has waited longest for a ticket, then by
id), and manual takes the agent named, refusing
one without the skill. Nobody skilled: :class:`~custmgmt.errors.NotFound`.

>>> from custmgmt.team.agents import Agent
>>> team = [Agent(id="a1", name="甲", role="agent", skills={"logistics"}),
...         Agent(id="a2", name="乙", role="agent", skills={"logistics", "after_sales"}),
...         Agent(id="a3", name="丙", role="agent", skills={"after_sales"})]
>>> choose_agent(team, "logistics", "least_loaded", loads={"a1": 3, "a2": 1}).id
'a2'
>>> choose_agent(team, "after_sales", "round_robin", last="a3").id
'a2'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from custmgmt.domain._validate import check_aware, coerce_enum
from custmgmt.domain.time import to_epoch_micros
from custmgmt.errors import NotFound, ValidationError
from custmgmt.team.agents import Agent, AssignMethod
from custmgmt.tickets.ticket import TicketCategory

__all__ = ["choose_agent", "eligible_agents"]


def eligible_agents(agents: Iterable[Agent], category: TicketCategory | str) -> list[Agent]:
    """The active agents skilled for ``category``, by id.

    Raises:
        ValidationError: an unknown category, or something that is not an Agent.
    """
    wanted = coerce_enum(TicketCategory, category, "category")
    result = []
    for agent in agents:
        if not isinstance(agent, Agent):
            raise ValidationError("agents", agent, "Agent values")
        if agent.active and wanted in agent.skills:
            result.append(agent)
    return sorted(result, key=lambda a: a.id)


def choose_agent(
    agents: Iterable[Agent],
    category: TicketCategory | str,
    method: AssignMethod | str,
    *,
    loads: Mapping[str, int] | None = None,
    last: str | None = None,
    agent_id: str | None = None,
    last_assigned: Mapping[str, datetime] | None = None,
) -> Agent:
    """The agent a ticket of ``category`` goes to.

    Args:
        agents: the candidates (inactive or unskilled ones are never chosen).
        category: the ticket's category.
        method: manual, round robin or least loaded.
        loads: open tickets per agent id (least loaded; missing ids count 0).
        last: the agent the previous ticket of this category went to (round robin).
        agent_id: the agent named (manual).
        last_assigned: when each agent last got a ticket (least loaded: among equally
            loaded agents the one waiting longest goes first, never-assigned ones
            before all; then by id).

    Raises:
        NotFound: no active agent has the category's skill (or, manual, the agent
            named is not among ``agents``).
        ValidationError: a bad method or category; manual without ``agent_id``, or
            naming an agent without the skill; negative loads.
    """
    how = coerce_enum(AssignMethod, method, "method")
    wanted = coerce_enum(TicketCategory, category, "category")
    pool = list(agents)
    candidates = eligible_agents(pool, wanted)
    if how is AssignMethod.MANUAL:
        if not isinstance(agent_id, str):
            raise ValidationError("agent_id", agent_id, "the agent's id for a manual assignment")
        named = next((a for a in pool if a.id == agent_id), None)
        if named is None:
            raise NotFound("agent", agent_id)
        if named not in candidates:
            raise ValidationError(
                "agent_id", agent_id,
                f"an active agent skilled for {wanted.value!r} "
                f"({'active' if named.active else 'inactive'}; skills: "
                f"{', '.join(sorted(s.value for s in named.skills)) or 'none'})",
            )
        return named
    if not candidates:
        raise NotFound("active agent skilled for category", wanted.value)
    if how is AssignMethod.ROUND_ROBIN:
        if last is not None and not isinstance(last, str):
            raise ValidationError("last", last, "an agent id or None")
        for agent in candidates:
            if last is None or agent.id > last:
                return agent
        return candidates[0]
    counts = _loads(loads)
    waited = _last_assigned(last_assigned)
    return min(candidates, key=lambda a: (counts.get(a.id, 0), a.id in waited,
                                          waited.get(a.id, 0), a.id))


def _last_assigned(value: Any) -> dict[str, int]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValidationError("last_assigned", value, "a mapping of agent id to datetime")
    result = {}
    for key, at in value.items():
        result[key] = to_epoch_micros(check_aware(f"last_assigned[{key!r}]", at))
    return result


def _loads(loads: Any) -> Mapping[str, int]:
    if loads is None:
        return {}
    if not isinstance(loads, Mapping):
        raise ValidationError("loads", loads, "a mapping of agent id to open tickets")
    for key, value in loads.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValidationError(f"loads[{key!r}]", value, "a count >= 0")
    return loads
