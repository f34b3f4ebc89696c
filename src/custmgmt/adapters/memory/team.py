"""The service team in memory: agents with training records, and ticket assignments.

See :class:`custmgmt.team.ports.AgentRepository` and
:class:`custmgmt.team.ports.AssignmentRepository`. Writes hold the store's lock and
record an undo action, so they join the store's transactions.
"""

from __future__ import annotations

from typing import Any

from custmgmt.adapters.memory.transaction import TransactionLog
from custmgmt.domain._validate import coerce_enum
from custmgmt.errors import Conflict, NotFound, ValidationError
from custmgmt.prospects._storage import check_filter, check_flag, check_versioned_update
from custmgmt.team.agents import Agent, Assignment, Role, TrainingRecord
from custmgmt.tickets.ticket import TicketCategory

__all__ = ["MemoryAgentRepository", "MemoryAssignmentRepository"]


class MemoryAgentRepository:
    """Agents and training records in memory, joining the store's transactions.

    Args:
        tx: the store's transaction log (``MemoryStore.tx``).
    """

    def __init__(self, tx: TransactionLog) -> None:
        self._tx = tx
        self._items: dict[str, Agent] = {}
        self._trainings: dict[str, TrainingRecord] = {}

    def get(self, agent_id: str) -> Agent:
        """The stored agent (see ``AgentRepository.get``)."""
        self._tx.check_open()
        try:
            return self._items[agent_id]
        except (KeyError, TypeError):
            raise NotFound("agent", agent_id) from None

    def add(self, agent: Agent) -> None:
        """Store a new agent (see ``AgentRepository.add``)."""
        _check(agent)
        with self._tx.lock:
            if agent.id in self._items:
                raise Conflict("agent", agent.id, "an agent with this id exists")
            self._items[agent.id] = agent
            self._tx.record(lambda: self._items.pop(agent.id, None))

    def update(self, agent: Agent, *, expected_version: int | None = None) -> None:
        """Replace a stored agent (see ``AgentRepository.update``)."""
        _check(agent)
        with self._tx.lock:
            stored = self.get(agent.id)
            check_versioned_update("agent", agent.id, stored.version, agent.version,
                                   expected_version, unchanged=stored == agent)
            self._items[agent.id] = agent
            self._tx.record(lambda: self._items.__setitem__(agent.id, stored))

    def count(self) -> int:
        """How many agents are stored."""
        self._tx.check_open()
        return len(self._items)

    def find(
        self, *, team: str | None = None, role: Role | str | None = None,
        active: bool | None = None,
    ) -> list[Agent]:
        """Matching agents (see ``AgentRepository.find``)."""
        check_filter("team", team)
        wanted = None if role is None else coerce_enum(Role, role, "role")
        check_flag("active", active)
        with self._tx.lock:
            found = [
                a for a in self._items.values()
                if (team is None or team in a.teams) and (wanted is None or a.role is wanted)
                and (active is None or a.active is active)
            ]
        return sorted(found, key=lambda a: a.id)

    def add_training(self, record: TrainingRecord) -> None:
        """Store a training record (see ``AgentRepository.add_training``)."""
        if not isinstance(record, TrainingRecord):
            raise ValidationError("record", record, "a TrainingRecord")
        with self._tx.lock:
            self.get(record.agent_id)
            if record.id in self._trainings:
                raise Conflict("training record", record.id, "a record with this id exists")
            self._trainings[record.id] = record
            self._tx.record(lambda: self._trainings.pop(record.id, None))

    def trainings(self, agent_id: str | None = None) -> list[TrainingRecord]:
        """Training records (see ``AgentRepository.trainings``)."""
        check_filter("agent_id", agent_id)
        with self._tx.lock:
            found = [r for r in self._trainings.values()
                     if agent_id is None or r.agent_id == agent_id]
        return sorted(found, key=lambda r: (r.at, r.id))


class MemoryAssignmentRepository:
    """Ticket assignments in memory, append-only, joining the store's transactions.

    Args:
        tx: the store's transaction log (``MemoryStore.tx``).
    """

    def __init__(self, tx: TransactionLog) -> None:
        self._tx = tx
        self._items: dict[str, Assignment] = {}

    def add(self, assignment: Assignment) -> None:
        """Store an assignment (see ``AssignmentRepository.add``)."""
        if not isinstance(assignment, Assignment):
            raise ValidationError("assignment", assignment, "an Assignment")
        with self._tx.lock:
            if assignment.id in self._items:
                raise Conflict("assignment", assignment.id, "an assignment with this id exists")
            self._items[assignment.id] = assignment
            self._tx.record(lambda: self._items.pop(assignment.id, None))

    def count(self) -> int:
        """How many assignments are stored."""
        self._tx.check_open()
        return len(self._items)

    def find(
        self, *, ticket_id: str | None = None, agent_id: str | None = None,
        category: TicketCategory | str | None = None,
    ) -> list[Assignment]:
        """Matching assignments (see ``AssignmentRepository.find``)."""
        check_filter("ticket_id", ticket_id)
        check_filter("agent_id", agent_id)
        wanted = None if category is None else coerce_enum(TicketCategory, category, "category")
        with self._tx.lock:
            return [
                a for a in self._items.values()
                if (ticket_id is None or a.ticket_id == ticket_id)
                and (agent_id is None or a.agent_id == agent_id)
                and (wanted is None or a.category is wanted)
            ]


def _check(agent: Any) -> None:
    if not isinstance(agent, Agent):
        raise ValidationError("agent", agent, "an Agent")
