"""The service team in SQLite: agents with training records, and ticket assignments.

Tables owned by the component ``"team"``: ``team_agents`` (teams and skills as JSON
text), ``team_trainings`` and ``team_assignments`` (append-only, read in the order
they were added). See :class:`custmgmt.team.ports.AgentRepository` and
:class:`custmgmt.team.ports.AssignmentRepository`; the queries are
:mod:`custmgmt.adapters._sql_team`'s.

>>> from custmgmt.adapters.sqlite import SQLiteStore
>>> from custmgmt.team import Agent
>>> store = SQLiteStore(":memory:")
>>> store.agents.add(Agent(id="a1", name="陈静", role="supervisor", teams={"华南"}))
>>> store.agents.get("a1").role.value
'supervisor'
>>> store.close()
"""

from __future__ import annotations

from typing import ClassVar, Final

from custmgmt.adapters._sql_team import (
    SqlAgentRepository,
    SqlAssignmentRepository,
    SqlTeamRepository,
)
from custmgmt.adapters.sqlite._dialect import SQLiteDialect
from custmgmt.adapters.sqlite.database import SQLiteDatabase
from custmgmt.adapters.sqlite.schema import Migration
from custmgmt.errors import CustMgmtError

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


class _SQLiteTeam(SQLiteDialect, SqlTeamRepository):
    migrations = TEAM_MIGRATIONS
    # As this adapter always had them: an AttributeError from a row edited elsewhere
    # is not turned into a StorageError here (the PostgreSQL adapter's is).
    decode_errors: ClassVar[tuple[type[Exception], ...]] = (
        CustMgmtError, ValueError, TypeError, KeyError, IndexError,
    )  # fmt: skip

    def __init__(self, store: SQLiteDatabase) -> None:
        super().__init__(store)


class SQLiteAgentRepository(_SQLiteTeam, SqlAgentRepository):
    """Agents and training records in an SQLite store, in its transactions.

    Args:
        store: the SQLite database (``store.agents`` makes one on first use).
    """


class SQLiteAssignmentRepository(_SQLiteTeam, SqlAssignmentRepository):
    """Ticket assignments in an SQLite store, append-only, in its transactions.

    Args:
        store: the SQLite database (``store.assignments`` makes one on first use).
    """
