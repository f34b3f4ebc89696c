"""Service tickets in PostgreSQL (see :class:`custmgmt.tickets.ports.TicketRepository`).

Two tables, owned by the component ``"tickets"`` through
:meth:`PostgresStore.apply_migrations <custmgmt.adapters.postgres.PostgresStore.apply_migrations>`:
``tickets`` (one row per ticket, with its version) and ``ticket_events`` (one row per
log entry, keyed by ticket and sequence number); the queries are
:class:`~custmgmt.adapters._sql_tickets.SqlTicketRepository`'s. An update locks the
ticket's row (``SELECT ... FOR UPDATE``), checks the version and that the new log
extends the stored one, then appends only the new entries under the next sequence
numbers, so entries are never rewritten, lost or reordered, even with concurrent
writers. Instants are ``timestamptz`` plus the original UTC offset; text is stored as
it is, in any script.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from custmgmt.adapters._sql_tickets import SqlTicketRepository
from custmgmt.adapters.postgres._dialect import PostgresDialect
from custmgmt.adapters.postgres.database import PostgresDatabase
from custmgmt.adapters.postgres.schema import Migration
from custmgmt.tickets.workflow import DEFAULT_WORKFLOW, Workflow

__all__ = ["TICKET_MIGRATIONS", "PostgresTicketRepository"]

_V1 = """
CREATE TABLE tickets (
    id text COLLATE "C" PRIMARY KEY,
    version bigint NOT NULL,
    customer_id text COLLATE "C" NOT NULL,
    category text NOT NULL,
    channel text NOT NULL,
    priority text NOT NULL,
    subject text NOT NULL,
    description text NOT NULL,
    status text NOT NULL,
    created_at timestamptz NOT NULL,
    created_off integer NOT NULL,
    assignee text,
    solution text,
    satisfaction integer,
    reopened_from text,
    merged_into text
);
CREATE INDEX tickets_by_time ON tickets (created_at, id);
CREATE INDEX tickets_by_customer ON tickets (customer_id, created_at, id);
CREATE INDEX tickets_by_status ON tickets (status);
CREATE TABLE ticket_events (
    ticket_id text COLLATE "C" NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    seq integer NOT NULL,
    at timestamptz NOT NULL,
    at_off integer NOT NULL,
    event text NOT NULL,
    from_status text,
    to_status text NOT NULL,
    actor text NOT NULL,
    reason text NOT NULL,
    score integer,
    PRIMARY KEY (ticket_id, seq)
);
"""

#: The ticket schema's migrations, applied in order under the component ``"tickets"``.
TICKET_MIGRATIONS: Final[tuple[Migration, ...]] = (_V1,)


class PostgresTicketRepository(PostgresDialect, SqlTicketRepository):
    """Tickets in a :class:`~custmgmt.adapters.postgres.PostgresStore`, in its transactions.

    Creating it applies the ticket migrations. Writes go through
    :meth:`PostgresStore.writing`, so they join the store's transaction and commit or
    roll back with the store's other writes.

    Args:
        store: the PostgreSQL store (``store.tickets`` makes one on first use).
        workflow: the workflow every saved ticket's log must follow.

    Raises:
        StorageError: the schema cannot be created.
        ValidationError: ``workflow`` is not a Workflow.
    """

    migrations = TICKET_MIGRATIONS

    def __init__(self, store: PostgresDatabase, *, workflow: Workflow = DEFAULT_WORKFLOW) -> None:
        super().__init__(store, workflow=workflow)

    def _count_dependents(self, sql: str, params: Sequence[Any]) -> int:
        # Inside a transaction (a customer's removal) the table is locked against new
        # tickets until it ends.
        with self._store.writing() as conn:
            conn.execute("LOCK TABLE tickets IN SHARE MODE")
            found = conn.execute(self._q(sql), params).fetchone()
        return int(found[0]) if found else 0
