"""The service team's repositories over a SQL database, shared by the SQLite and
PostgreSQL adapters: agents with training records, and ticket assignments.

Both stores keep the same tables, ``team_agents``, ``team_trainings`` and
``team_assignments`` (append-only, read in the order they were added), and run the
same queries; the dialect's hooks
(:class:`~custmgmt.adapters._sql_repository.SqlRepository`) say how instants, lists
and flags are stored and which lock an update takes.
"""

from __future__ import annotations

from typing import Any, ClassVar, Final

from custmgmt.adapters._sql_codecs import datetime_of
from custmgmt.adapters._sql_repository import DECODE_ERRORS, Row, SqlRepository
from custmgmt.domain._validate import coerce_enum
from custmgmt.errors import ValidationError
from custmgmt.prospects._storage import check_filter, check_flag, check_versioned_update
from custmgmt.team.agents import Agent, Assignment, Role, TrainingRecord
from custmgmt.tickets.ticket import TicketCategory

__all__ = ["SqlAgentRepository", "SqlAssignmentRepository", "SqlTeamRepository"]

_AGENT: Final = "id, version, name, role, teams, skills, active"
_TRAINING: Final = "id, agent_id, {at}, at_off, topic, hours"
_ASSIGNMENT: Final = "id, ticket_id, agent_id, category, method, {at}, at_off, actor"
_READING: Final = "reading the service team"


def _training(row: Row) -> TrainingRecord:
    return TrainingRecord(id=row[0], agent_id=row[1], at=datetime_of(row[2], row[3]),
                          topic=row[4], hours=row[5])


def _assignment(row: Row) -> Assignment:
    return Assignment(id=row[0], ticket_id=row[1], agent_id=row[2], category=row[3],
                      method=row[4], at=datetime_of(row[5], row[6]), actor=row[7])


class SqlTeamRepository(SqlRepository):
    """What the agent and assignment repositories share: the tables (the component
    ``"team"``) and reading them."""

    component = "team"
    decode_errors: ClassVar[tuple[type[Exception], ...]] = DECODE_ERRORS

    def _read(self, sql: str, params: Any = ()) -> list[Row]:
        return self._query_keyed(sql, params, _READING)


class SqlAgentRepository(SqlTeamRepository):
    """Agents and training records in a SQL store, in its transactions (see
    :class:`custmgmt.team.ports.AgentRepository`); subclasses name the dialect."""

    def _agent_row(self, a: Agent) -> Row:
        json = self.codec.json_list
        return (a.id, a.version, a.name, a.role.value, json(sorted(a.teams)),
                json(sorted(s.value for s in a.skills)), self.codec.flag(a.active))

    def _agent(self, row: Row) -> Agent:
        read = self.codec.read_json
        return Agent(id=row[0], version=row[1], name=row[2], role=row[3], teams=read(row[4]),
                     skills=read(row[5]), active=bool(row[6]))

    def get(self, agent_id: str) -> Agent:
        """The stored agent (see ``AgentRepository.get``)."""
        return self._one("agent", agent_id, lambda: self._decoded("row", self._agent, self._read(
            f"SELECT {_AGENT} FROM team_agents WHERE id = ?", (agent_id,))))

    def add(self, agent: Agent) -> None:
        """Store a new agent (see ``AgentRepository.add``)."""
        _check(agent)
        self._insert_one("team_agents", _AGENT, lambda: self._agent_row(agent),
                         ("agent", agent.id, "an agent with this id exists"))

    def update(self, agent: Agent, *, expected_version: int | None = None) -> None:
        """Replace a stored agent (see ``AgentRepository.update``)."""
        _check(agent)
        with self._store.writing() as conn:
            stored = self._locked(conn, "team_agents", "agent", agent.id, self.get)
            check_versioned_update("agent", agent.id, stored.version, agent.version,
                                   expected_version, unchanged=stored == agent)
            conn.execute(
                self._q("UPDATE team_agents SET version = ?, name = ?, role = ?, teams = ?, "
                        "skills = ?, active = ? WHERE id = ?"),
                (*self._agent_row(agent)[1:], agent.id),
            )

    def count(self) -> int:
        """How many agents are stored."""
        return int(self._read("SELECT count(*) FROM team_agents")[0][0])

    def find(
        self, *, team: str | None = None, role: Role | str | None = None,
        active: bool | None = None,
    ) -> list[Agent]:
        """Matching agents (see ``AgentRepository.find``)."""
        check_filter("team", team)
        wanted = None if role is None else coerce_enum(Role, role, "role")
        check_flag("active", active)
        where: list[str] = []
        params: list[Any] = []
        if wanted is not None:
            where.append("role = ?")
            params.append(wanted.value)
        if active is not None:
            where.append("active = ?")
            params.append(self.codec.flag(active))
        sql = f"SELECT {_AGENT} FROM team_agents"
        if where:
            sql += " WHERE " + " AND ".join(where)
        agents = self._decoded("row", self._agent, self._read(sql + " ORDER BY id", params))
        return [a for a in agents if team is None or team in a.teams]

    def add_training(self, record: TrainingRecord) -> None:
        """Store a training record (see ``AgentRepository.add_training``)."""
        if not isinstance(record, TrainingRecord):
            raise ValidationError("record", record, "a TrainingRecord")
        at, off = self.codec.instant(record.at)
        row = (record.id, record.agent_id, at, off, record.topic, record.hours)
        self._insert_one("team_trainings", _TRAINING, lambda: row,
                         ("training record", record.id, "a record with this id exists"),
                         check=lambda: self.get(record.agent_id))

    def trainings(self, agent_id: str | None = None) -> list[TrainingRecord]:
        """Training records (see ``AgentRepository.trainings``)."""
        check_filter("agent_id", agent_id)
        sql = f"SELECT {self._select(_TRAINING)} FROM team_trainings"
        params: tuple[Any, ...] = ()
        if agent_id is not None:
            sql += " WHERE agent_id = ?"
            params = (agent_id,)
        return self._decoded("row", _training, self._read(sql + " ORDER BY {at}, id", params))


class SqlAssignmentRepository(SqlTeamRepository):
    """Ticket assignments in a SQL store, append-only, in its transactions (see
    :class:`custmgmt.team.ports.AssignmentRepository`); subclasses name the dialect."""

    def add(self, assignment: Assignment) -> None:
        """Store an assignment (see ``AssignmentRepository.add``)."""
        if not isinstance(assignment, Assignment):
            raise ValidationError("assignment", assignment, "an Assignment")
        a = assignment
        at, off = self.codec.instant(a.at)
        row = (a.id, a.ticket_id, a.agent_id, a.category.value, a.method.value, at, off, a.actor)
        self._insert_one("team_assignments", _ASSIGNMENT, lambda: row,
                         ("assignment", a.id, "an assignment with this id exists"))

    def count(self) -> int:
        """How many assignments are stored."""
        return int(self._read("SELECT count(*) FROM team_assignments")[0][0])

    def find(
        self, *, ticket_id: str | None = None, agent_id: str | None = None,
        category: TicketCategory | str | None = None,
    ) -> list[Assignment]:
        """Matching assignments (see ``AssignmentRepository.find``)."""
        check_filter("ticket_id", ticket_id)
        check_filter("agent_id", agent_id)
        wanted = None if category is None else coerce_enum(TicketCategory, category, "category")
        where: list[str] = []
        params: list[Any] = []
        for name, value in (("ticket_id", ticket_id), ("agent_id", agent_id),
                            ("category", None if wanted is None else wanted.value)):
            if value is not None:
                where.append(f"{name} = ?")
                params.append(value)
        sql = f"SELECT {self._select(_ASSIGNMENT)} FROM team_assignments"
        if where:
            sql += " WHERE " + " AND ".join(where)
        return self._decoded("row", _assignment, self._read(sql + " ORDER BY seq", params))


def _check(agent: Any) -> None:
    if not isinstance(agent, Agent):
        raise ValidationError("agent", agent, "an Agent")
