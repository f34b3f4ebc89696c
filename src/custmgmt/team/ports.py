"""The service team's ports: agents (with training records) and ticket assignments.

Stores expose an :class:`AgentRepository` as ``store.agents`` and an
:class:`AssignmentRepository` as ``store.assignments``; :class:`TeamStore` is the
store type the team services take (it keeps tickets too). Check implementations with
the suites in :mod:`custmgmt.testing.team_contract`.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from custmgmt.ports import CapabilityKey
from custmgmt.team.agents import Agent, Assignment, Role, TrainingRecord
from custmgmt.tickets.ports import TicketStore
from custmgmt.tickets.ticket import TicketCategory

__all__ = ["AGENTS", "ASSIGNMENTS", "AgentRepository", "AssignmentRepository", "TeamStore"]


@runtime_checkable
class AgentRepository(Protocol):
    """The service team's agents and their training records, keyed by id."""

    def get(self, agent_id: str) -> Agent:
        """The stored agent.

        Raises:
            NotFound: nothing is stored under ``agent_id``.
        """
        ...

    def add(self, agent: Agent) -> None:
        """Store a new agent.

        Raises:
            Conflict: an agent with the same id is stored; nothing is written.
            ValidationError: ``agent`` is not an Agent.
        """
        ...

    def update(self, agent: Agent, *, expected_version: int | None = None) -> None:
        """Replace the stored agent (``expected_version`` defaults to ``version - 1``).

        Raises:
            NotFound: nothing is stored under ``agent.id``.
            Conflict: the stored version is not ``expected_version``; nothing is written.
            ValidationError: not an Agent, or a bad ``expected_version``.
        """
        ...

    def count(self) -> int:
        """How many agents are stored."""
        ...

    def find(
        self, *, team: str | None = None, role: Role | str | None = None,
        active: bool | None = None,
    ) -> list[Agent]:
        """Agents matching every filter given, by id.

        Raises:
            ValidationError: a bad filter (an unknown role, a non-bool ``active``).
        """
        ...

    def add_training(self, record: TrainingRecord) -> None:
        """Store a training record of a stored agent.

        Raises:
            NotFound: the agent is not stored; nothing is written.
            Conflict: a record with the same id is stored; nothing is written.
            ValidationError: ``record`` is not a TrainingRecord.
        """
        ...

    def trainings(self, agent_id: str | None = None) -> list[TrainingRecord]:
        """Training records (of one agent), by ``at`` then id."""
        ...


@runtime_checkable
class AssignmentRepository(Protocol):
    """Who got which ticket, append-only."""

    def add(self, assignment: Assignment) -> None:
        """Store an assignment.

        Raises:
            Conflict: an assignment with the same id is stored; nothing is written.
            ValidationError: ``assignment`` is not an Assignment.
        """
        ...

    def count(self) -> int:
        """How many assignments are stored."""
        ...

    def find(
        self, *, ticket_id: str | None = None, agent_id: str | None = None,
        category: TicketCategory | str | None = None,
    ) -> list[Assignment]:
        """Assignments matching every filter given, in the order they were added.

        Raises:
            ValidationError: a filter that is not a string or an unknown category.
        """
        ...


#: The key bundled stores register their agent repository under (``store.agents``).
AGENTS: CapabilityKey[AgentRepository] = CapabilityKey("agents", AgentRepository)
#: The key bundled stores register their assignment repository under.
ASSIGNMENTS: CapabilityKey[AssignmentRepository] = CapabilityKey(
    "assignments", AssignmentRepository
)


@runtime_checkable
class TeamStore(TicketStore, Protocol):
    """A store that keeps tickets, the service team's agents and the assignments."""

    @property
    def agents(self) -> AgentRepository:
        """The agent repository, sharing the store's transaction."""
        ...

    @property
    def assignments(self) -> AssignmentRepository:
        """The assignment repository, sharing the store's transaction."""
        ...
