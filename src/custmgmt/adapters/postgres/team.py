"""The service team in PostgreSQL: agents with training records, and ticket assignments.

Tables owned by the component ``"team"``: ``team_agents`` (teams and skills as
``jsonb``), ``team_trainings`` and ``team_assignments`` (append-only, read in the
order they were added, by an identity column). See
:class:`custmgmt.team.ports.AgentRepository` and
:class:`custmgmt.team.ports.AssignmentRepository`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final, TypeVar

from psycopg.types.json import Jsonb

from custmgmt.adapters.postgres.codecs import datetime_of as _datetime
from custmgmt.adapters.postgres.codecs import when as _instant
from custmgmt.adapters.postgres.database import PostgresDatabase
from custmgmt.adapters.postgres.schema import Migration, insert_sql, select_list
from custmgmt.domain._validate import coerce_enum
from custmgmt.errors import Conflict, CustMgmtError, NotFound, StorageError, ValidationError
from custmgmt.prospects._storage import check_filter, check_flag, check_versioned_update
from custmgmt.team.agents import Agent, Assignment, Role, TrainingRecord
from custmgmt.tickets.ticket import TicketCategory

__all__ = ["TEAM_MIGRATIONS", "PostgresAgentRepository", "PostgresAssignmentRepository"]

_V1 = """
CREATE TABLE team_agents (
    id text COLLATE "C" PRIMARY KEY,
    version bigint NOT NULL,
    name text NOT NULL,
    role text NOT NULL,
    teams jsonb NOT NULL,
    skills jsonb NOT NULL,
    active boolean NOT NULL
);
CREATE TABLE team_trainings (
    id text COLLATE "C" PRIMARY KEY,
    agent_id text COLLATE "C" NOT NULL REFERENCES team_agents (id),
    at timestamptz NOT NULL,
    at_off integer NOT NULL,
    topic text NOT NULL,
    hours double precision NOT NULL
);
CREATE INDEX team_trainings_by_agent ON team_trainings (agent_id, at, id);
CREATE TABLE team_assignments (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id text COLLATE "C" NOT NULL UNIQUE,
    ticket_id text COLLATE "C" NOT NULL,
    agent_id text COLLATE "C" NOT NULL,
    category text NOT NULL,
    method text NOT NULL,
    at timestamptz NOT NULL,
    at_off integer NOT NULL,
    actor text NOT NULL
);
CREATE INDEX team_assignments_by_ticket ON team_assignments (ticket_id, seq);
CREATE INDEX team_assignments_by_agent ON team_assignments (agent_id, seq);
"""

#: The team schema's migrations, applied in order under the component ``"team"``.
TEAM_MIGRATIONS: Final[tuple[Migration, ...]] = (_V1,)

_AGENT: Final = "id, version, name, role, teams, skills, active"
_TRAINING: Final = "id, agent_id, at, at_off, topic, hours"
_ASSIGNMENT: Final = "id, ticket_id, agent_id, category, method, at, at_off, actor"

Row = tuple[Any, ...]
T = TypeVar("T")


def _agent_row(a: Agent) -> Row:
    return (a.id, a.version, a.name, a.role.value, Jsonb(sorted(a.teams)),
            Jsonb(sorted(s.value for s in a.skills)), a.active)


def _agent(row: Row) -> Agent:
    return Agent(id=row[0], version=row[1], name=row[2], role=row[3], teams=row[4],
                 skills=row[5], active=row[6])


def _training(row: Row) -> TrainingRecord:
    return TrainingRecord(id=row[0], agent_id=row[1], at=_datetime(row[2], row[3]), topic=row[4],
                          hours=row[5])


def _assignment(row: Row) -> Assignment:
    return Assignment(id=row[0], ticket_id=row[1], agent_id=row[2], category=row[3],
                      method=row[4], at=_datetime(row[5], row[6]), actor=row[7])


class _Reader:
    def __init__(self, store: PostgresDatabase) -> None:
        self._store = store
        store.apply_migrations("team", TEAM_MIGRATIONS)

    def _fetch(self, sql: str, params: Sequence[Any]) -> list[Row]:
        try:
            return self._store.fetch(sql, params, doing="reading the service team")
        except UnicodeEncodeError as exc:
            raise ValidationError("id", exc.object, "valid Unicode text") from None

    @staticmethod
    def _decode(decode: Callable[[Row], T], rows: list[Row]) -> list[T]:
        result = []
        for row in rows:
            try:
                result.append(decode(row))
            except (
                CustMgmtError, ValueError, TypeError, KeyError, IndexError, AttributeError,
            ) as exc:
                # The rows were valid when written: something else changed the database.
                raise StorageError(
                    f"postgres: stored row {row[0]!r} is not valid any more: {exc}"
                ) from exc
        return result


class PostgresAgentRepository(_Reader):
    """Agents and training records in a PostgreSQL store, in its transactions.

    Args:
        store: the PostgreSQL store (``store.agents`` makes one on first use).

    Raises:
        StorageError: the schema cannot be created.
    """

    def get(self, agent_id: str) -> Agent:
        """The stored agent (see ``AgentRepository.get``)."""
        if not isinstance(agent_id, str):
            raise NotFound("agent", agent_id)
        try:
            found = self._decode(_agent, self._fetch(
                f"SELECT {_AGENT} FROM team_agents WHERE id = %s", (agent_id,)))
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
                conn.execute(insert_sql("team_agents", _AGENT), _agent_row(agent))
        except Conflict as exc:
            raise Conflict("agent", agent.id, "an agent with this id exists") from exc

    def update(self, agent: Agent, *, expected_version: int | None = None) -> None:
        """Replace a stored agent (see ``AgentRepository.update``)."""
        _check(agent)
        with self._store.writing() as conn:
            locked = conn.execute(
                "SELECT 1 FROM team_agents WHERE id = %s FOR UPDATE", (agent.id,)
            ).fetchone()
            if locked is None:
                raise NotFound("agent", agent.id)
            stored = self.get(agent.id)
            check_versioned_update("agent", agent.id, stored.version, agent.version,
                                   expected_version)
            conn.execute(
                "UPDATE team_agents SET version = %s, name = %s, role = %s, teams = %s, "
                "skills = %s, active = %s WHERE id = %s", (*_agent_row(agent)[1:], agent.id),
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
            where.append("role = %s")
            params.append(wanted.value)
        if active is not None:
            where.append("active = %s")
            params.append(active)
        sql = f"SELECT {_AGENT} FROM team_agents"
        if where:
            sql += " WHERE " + " AND ".join(where)
        agents = self._decode(_agent, self._fetch(sql + " ORDER BY id", params))
        return [a for a in agents if team is None or team in a.teams]

    def add_training(self, record: TrainingRecord) -> None:
        """Store a training record (see ``AgentRepository.add_training``)."""
        if not isinstance(record, TrainingRecord):
            raise ValidationError("record", record, "a TrainingRecord")
        at, off = _instant(record.at)
        try:
            with self._store.writing() as conn:
                self.get(record.agent_id)
                conn.execute(insert_sql("team_trainings", _TRAINING),
                             (record.id, record.agent_id, at, off, record.topic, record.hours))
        except Conflict as exc:
            raise Conflict("training record", record.id, "a record with this id exists") from exc

    def trainings(self, agent_id: str | None = None) -> list[TrainingRecord]:
        """Training records (see ``AgentRepository.trainings``)."""
        check_filter("agent_id", agent_id)
        sql = f"SELECT {select_list(_TRAINING)} FROM team_trainings"
        params: tuple[Any, ...] = ()
        if agent_id is not None:
            sql += " WHERE agent_id = %s"
            params = (agent_id,)
        return self._decode(_training, self._fetch(sql + " ORDER BY at, id", params))


class PostgresAssignmentRepository(_Reader):
    """Ticket assignments in a PostgreSQL store, append-only, in its transactions.

    Args:
        store: the PostgreSQL store (``store.assignments`` makes one on first use).

    Raises:
        StorageError: the schema cannot be created.
    """

    def add(self, assignment: Assignment) -> None:
        """Store an assignment (see ``AssignmentRepository.add``)."""
        if not isinstance(assignment, Assignment):
            raise ValidationError("assignment", assignment, "an Assignment")
        a = assignment
        at, off = _instant(a.at)
        try:
            with self._store.writing() as conn:
                conn.execute(
                    insert_sql("team_assignments", _ASSIGNMENT),
                    (a.id, a.ticket_id, a.agent_id, a.category.value, a.method.value, at, off,
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
                where.append(f"{name} = %s")
                params.append(value)
        sql = f"SELECT {select_list(_ASSIGNMENT)} FROM team_assignments"
        if where:
            sql += " WHERE " + " AND ".join(where)
        return self._decode(_assignment, self._fetch(sql + " ORDER BY seq", params))


def _check(agent: Any) -> None:
    if not isinstance(agent, Agent):
        raise ValidationError("agent", agent, "an Agent")
