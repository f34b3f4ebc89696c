"""The service team in PostgreSQL: agents with training records, and ticket assignments.

Tables owned by the component ``"team"``: ``team_agents`` (teams and skills as
``jsonb``), ``team_trainings`` and ``team_assignments`` (append-only, read in the
order they were added, by an identity column). See
:class:`custmgmt.team.ports.AgentRepository` and
:class:`custmgmt.team.ports.AssignmentRepository`; the queries are
:mod:`custmgmt.adapters._sql_team`'s.
"""

from __future__ import annotations

from typing import Final

from custmgmt.adapters._sql_team import (
    SqlAgentRepository,
    SqlAssignmentRepository,
    SqlTeamRepository,
)
from custmgmt.adapters.postgres._dialect import PostgresDialect
from custmgmt.adapters.postgres.database import PostgresDatabase
from custmgmt.adapters.postgres.schema import Migration

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


class _PostgresTeam(PostgresDialect, SqlTeamRepository):
    migrations = TEAM_MIGRATIONS

    def __init__(self, store: PostgresDatabase) -> None:
        super().__init__(store)


class PostgresAgentRepository(_PostgresTeam, SqlAgentRepository):
    """Agents and training records in a PostgreSQL store, in its transactions.

    Args:
        store: the PostgreSQL store (``store.agents`` makes one on first use).

    Raises:
        StorageError: the schema cannot be created.
    """


class PostgresAssignmentRepository(_PostgresTeam, SqlAssignmentRepository):
    """Ticket assignments in a PostgreSQL store, append-only, in its transactions.

    Args:
        store: the PostgreSQL store (``store.assignments`` makes one on first use).

    Raises:
        StorageError: the schema cannot be created.
    """
