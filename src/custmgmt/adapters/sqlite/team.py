"""The service team in SQLite: agents with training records, and ticket assignments.

Tables owned by the component ``"team"``: ``team_agents`` (teams and skills as JSON
text), ``team_trainings`` and ``team_assignments`` (append-only, read in the order
they were added). See :class:`custmgmt.team.ports.AgentRepository` and
:class:`custmgmt.team.ports.AssignmentRepository`.

>>> from custmgmt.adapters.sqlite import SQLiteStore
>>> from custmgmt.team import Agent
>>> store = SQLiteStore(":memory:")
>>> store.agents.add(Agent(id="a1", name="陈静", role="supervisor", teams={"华南"}))
>>> store.agents.get("a1").role.value
'supervisor'
>>> store.close()
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any, Final, TypeVar

from custmgmt.adapters._sql_codecs import datetime_of as _datetime
from custmgmt.adapters.sqlite.codecs import _instant
from custmgmt.adapters.sqlite.database import SQLiteDatabase
from custmgmt.adapters.sqlite.schema import Migration
from custmgmt.domain._validate import coerce_enum
from custmgmt.errors import Conflict, CustMgmtError, NotFound, StorageError, ValidationError
from custmgmt.prospects._storage import check_filter, check_flag, check_versioned_update
from custmgmt.team.agents import Agent, Assignment, Role, TrainingRecord
from custmgmt.tickets.ticket import TicketCategory

__all__ = ["TEAM_MIGRATIONS", "SQLiteAgentRepository", "SQLiteAssignmentRepository"]

_V1 = """
CREATE TABLE team_agents (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    teams TEXT NOT NULL,
    skills TEXT NOT NULL,
    active INTEGER NOT NULL
);
CREATE TABLE team_trainings (
    id TEXT PRIMARY KEY,
    agent_id TEXT NOT NULL REFERENCES team_agents (id),
    at_us INTEGER NOT NULL,
    at_off INTEGER NOT NULL,
    topic TEXT NOT NULL,
    hours REAL NOT NULL
);
CREATE INDEX team_trainings_by_agent ON team_trainings (agent_id, at_us, id);
CREATE TABLE team_assignments (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    ticket_id TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    category TEXT NOT NULL,
    method TEXT NOT NULL,
    at_us INTEGER NOT NULL,
    at_off INTEGER NOT NULL,
    actor TEXT NOT NULL
);
CREATE INDEX team_assignments_by_ticket ON team_assignments (ticket_id, seq);
CREATE INDEX team_assignments_by_agent ON team_assignments (agent_id, seq);
"""

#: The team schema's migrations, applied in order under the component ``"team"``.
TEAM_MIGRATIONS: Final[tuple[Migration, ...]] = (_V1,)

_AGENT: Final = "id, version, name, role, teams, skills, active"
_TRAINING: Final = "id, agent_id, at_us, at_off, topic, hours"
_ASSIGNMENT: Final = "id, ticket_id, agent_id, category, method, at_us, at_off, actor"

Row = tuple[Any, ...]
T = TypeVar("T")


def _agent_row(a: Agent) -> Row:
    return (a.id, a.version, a.name, a.role.value,
            json.dumps(sorted(a.teams), ensure_ascii=False),
            json.dumps(sorted(s.value for s in a.skills)), int(a.active))


def _agent(row: Row) -> Agent:
    return Agent(id=row[0], version=row[1], name=row[2], role=row[3], teams=json.loads(row[4]),
                 skills=json.loads(row[5]), active=bool(row[6]))


def _training(row: Row) -> TrainingRecord:
    return TrainingRecord(id=row[0], agent_id=row[1], at=_datetime(row[2], row[3]), topic=row[4],
                          hours=row[5])


def _assignment(row: Row) -> Assignment:
    return Assignment(id=row[0], ticket_id=row[1], agent_id=row[2], category=row[3],
                      method=row[4], at=_datetime(row[5], row[6]), actor=row[7])


class _Reader:
    def __init__(self, store: SQLiteDatabase) -> None:
        self._store = store
        store.apply_migrations("team", TEAM_MIGRATIONS)

    def _fetch(self, sql: str, params: Sequence[Any]) -> list[Row]:
        with self._store.lock:
            try:
                return self._store.connection.execute(sql, params).fetchall()
            except UnicodeEncodeError as exc:
                raise ValidationError("id", exc.object, "valid Unicode text") from None
            except sqlite3.Error as exc:
                raise StorageError(f"sqlite: reading the service team failed: {exc}") from exc

    def _decode(self, decode: Callable[[Row], T], rows: list[Row]) -> list[T]:
        result = []
        for row in rows:
            try:
                result.append(decode(row))
            except (CustMgmtError, ValueError, TypeError, KeyError, IndexError) as exc:
                raise StorageError(
                    f"sqlite: stored row {row[0]!r} is not valid any more: {exc}"
                ) from exc
        return result


class SQLiteAgentRepository(_Reader):
    """Agents and training records in an SQLite store, in its transactions.

    Args:
        store: the SQLite database (``store.agents`` makes one on first use).
    """

    def get(self, agent_id: str) -> Agent:
        """The stored agent (see ``AgentRepository.get``)."""
        if not isinstance(agent_id, str):
            raise NotFound("agent", agent_id)
        try:
            found = self._decode(_agent, self._fetch(
                f"SELECT {_AGENT} FROM team_agents WHERE id = ?", (agent_id,)))
        except ValidationError:  # not valid Unicode: no agent has such an id
            found = []
        if not found:
            raise NotFound("agent", agent_id)
        return found[0]

    def add(self, agent: Agent) -> None:
        """Store a new agent (see ``AgentRepository.add``)."""
        _check(agent)
        try:
            with self._store.writing() as conn:
                conn.execute(f"INSERT INTO team_agents ({_AGENT}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                             _agent_row(agent))
        except Conflict as exc:
            raise Conflict("agent", agent.id, "an agent with this id exists") from exc

    def update(self, agent: Agent, *, expected_version: int | None = None) -> None:
        """Replace a stored agent (see ``AgentRepository.update``)."""
        _check(agent)
        with self._store.writing() as conn:
            stored = self.get(agent.id)
            check_versioned_update("agent", agent.id, stored.version, agent.version,
                                   expected_version)
            conn.execute(
                "UPDATE team_agents SET version = ?, name = ?, role = ?, teams = ?, skills = ?, "
                "active = ? WHERE id = ?", (*_agent_row(agent)[1:], agent.id),
            )

    def count(self) -> int:
        """How many agents are stored."""
        return int(self._fetch("SELECT count(*) FROM team_agents", ())[0][0])

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
            params.append(int(active))
        sql = f"SELECT {_AGENT} FROM team_agents"
        if where:
            sql += " WHERE " + " AND ".join(where)
        agents = self._decode(_agent, self._fetch(sql + " ORDER BY id", params))
        return [a for a in agents if team is None or team in a.teams]

    def add_training(self, record: TrainingRecord) -> None:
        """Store a training record (see ``AgentRepository.add_training``)."""
        if not isinstance(record, TrainingRecord):
            raise ValidationError("record", record, "a TrainingRecord")
        us, off = _instant(record.at)
        try:
            with self._store.writing() as conn:
                self.get(record.agent_id)
                conn.execute(f"INSERT INTO team_trainings ({_TRAINING}) VALUES (?, ?, ?, ?, ?, ?)",
                             (record.id, record.agent_id, us, off, record.topic, record.hours))
        except Conflict as exc:
            raise Conflict("training record", record.id, "a record with this id exists") from exc

    def trainings(self, agent_id: str | None = None) -> list[TrainingRecord]:
        """Training records (see ``AgentRepository.trainings``)."""
        check_filter("agent_id", agent_id)
        sql = f"SELECT {_TRAINING} FROM team_trainings"
        params: tuple[Any, ...] = ()
        if agent_id is not None:
            sql += " WHERE agent_id = ?"
            params = (agent_id,)
        return self._decode(_training, self._fetch(sql + " ORDER BY at_us, id", params))


class SQLiteAssignmentRepository(_Reader):
    """Ticket assignments in an SQLite store, append-only, in its transactions.

    Args:
        store: the SQLite database (``store.assignments`` makes one on first use).
    """

    def add(self, assignment: Assignment) -> None:
        """Store an assignment (see ``AssignmentRepository.add``)."""
        if not isinstance(assignment, Assignment):
            raise ValidationError("assignment", assignment, "an Assignment")
        a = assignment
        us, off = _instant(a.at)
        try:
            with self._store.writing() as conn:
                conn.execute(
                    f"INSERT INTO team_assignments ({_ASSIGNMENT}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (a.id, a.ticket_id, a.agent_id, a.category.value, a.method.value, us, off,
                     a.actor),
                )
        except Conflict as exc:
            raise Conflict("assignment", a.id, "an assignment with this id exists") from exc

    def count(self) -> int:
        """How many assignments are stored."""
        return int(self._fetch("SELECT count(*) FROM team_assignments", ())[0][0])

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
        sql = f"SELECT {_ASSIGNMENT} FROM team_assignments"
        if where:
            sql += " WHERE " + " AND ".join(where)
        return self._decode(_assignment, self._fetch(sql + " ORDER BY seq", params))


def _check(agent: Any) -> None:
    if not isinstance(agent, Agent):
        raise ValidationError("agent", agent, "an Agent")
