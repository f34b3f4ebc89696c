"""The service team: agents, roles, skills, ticket assignment and performance.

:mod:`~custmgmt.team.agents` holds the value types, :mod:`~custmgmt.team.assignment`
the rule that picks an agent for a ticket, :mod:`~custmgmt.team.performance` the
vectorised per-agent figures, :mod:`~custmgmt.team.services` the use cases on a
:class:`~custmgmt.team.ports.TeamStore`.
"""

from custmgmt.team.agents import (
    Agent,
    Assignment,
    AssignMethod,
    Role,
    TeamPolicy,
    TrainingRecord,
)
from custmgmt.team.assignment import choose_agent, eligible_agents
from custmgmt.team.performance import (
    NO_TIME,
    AgentFigures,
    Comparison,
    PerformanceFrame,
    Rate,
    TeamPerformance,
    TeamTargets,
    TrainingEffect,
    compare_with_targets,
    team_performance,
    training_effect,
    wilson_interval,
)
from custmgmt.team.ports import (
    AGENTS,
    ASSIGNMENTS,
    AgentRepository,
    AssignmentRepository,
    TeamStore,
)

__all__ = [
    "AGENTS",
    "ASSIGNMENTS",
    "NO_TIME",
    "Agent",
    "AgentFigures",
    "AgentRepository",
    "AssignMethod",
    "Assignment",
    "AssignmentRepository",
    "Comparison",
    "PerformanceFrame",
    "Rate",
    "Role",
    "TeamPerformance",
    "TeamPolicy",
    "TeamStore",
    "TeamTargets",
    "TrainingEffect",
    "TrainingRecord",
    "choose_agent",
    "compare_with_targets",
    "eligible_agents",
    "team_performance",
    "training_effect",
    "wilson_interval",
]
