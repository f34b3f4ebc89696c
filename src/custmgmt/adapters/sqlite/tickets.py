"""Service tickets in SQLite (see :class:`custmgmt.tickets.ports.TicketRepository`).

Two tables, owned by the component ``"tickets"`` through
:meth:`SQLiteStore.apply_migrations <custmgmt.adapters.sqlite.SQLiteStore.apply_migrations>`:
``tickets`` (one row per ticket, with its version) and ``ticket_events`` (one row per
log entry, keyed by ticket and sequence number); the queries are
:class:`~custmgmt.adapters._sql_tickets.SqlTicketRepository`'s. An update checks the
version and that the new log extends the stored one, then appends only the new entries
under the next sequence numbers, so entries are never rewritten, lost or reordered; a
ticket is saved only when its log is a path of the repository's workflow (an update
replays only the entries it adds). Instants are stored as microseconds since the epoch
plus the UTC offset, so they come back exactly (with a fixed offset); text is stored as
it is, in any script.

>>> from datetime import datetime, timezone
>>> from custmgmt.adapters.sqlite import SQLiteStore
>>> from custmgmt.tickets import Ticket
>>> store = SQLiteStore(":memory:")
>>> store.tickets.add(Ticket.open(id="T-1", customer_id="C-1", category="logistics",
...     priority="high", subject="快递丢件", actor="web",
...     at=datetime(2024, 9, 23, 9, tzinfo=timezone.utc)))
>>> store.tickets.get("T-1").subject
'快递丢件'
>>> store.close()
"""

from __future__ import annotations

from typing import Final

from custmgmt.adapters._sql_tickets import SqlTicketRepository
from custmgmt.adapters.sqlite._dialect import SQLiteDialect
from custmgmt.adapters.sqlite.database import SQLiteDatabase
from custmgmt.adapters.sqlite.schema import Migration
from custmgmt.tickets.workflow import DEFAULT_WORKFLOW, Workflow

__all__ = ["TICKET_MIGRATIONS", "SQLiteTicketRepository"]

_V1 = """
CREATE TABLE tickets (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    customer_id TEXT NOT NULL,
    category TEXT NOT NULL,
    channel TEXT NOT NULL,
    priority TEXT NOT NULL,
    subject TEXT NOT NULL,
    description TEXT NOT NULL,
    status TEXT NOT NULL,
    created_us INTEGER NOT NULL,
    created_off INTEGER NOT NULL,
    assignee TEXT,
    solution TEXT,
    satisfaction INTEGER,
    reopened_from TEXT,
    merged_into TEXT
);
CREATE INDEX tickets_by_time ON tickets (created_us, id);
CREATE INDEX tickets_by_customer ON tickets (customer_id, created_us, id);
CREATE INDEX tickets_by_status ON tickets (status);
CREATE TABLE ticket_events (
    ticket_id TEXT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    at_us INTEGER NOT NULL,
    at_off INTEGER NOT NULL,
    event TEXT NOT NULL,
    from_status TEXT,
    to_status TEXT NOT NULL,
    actor TEXT NOT NULL,
    reason TEXT NOT NULL,
    score INTEGER,
    PRIMARY KEY (ticket_id, seq)
) WITHOUT ROWID;
"""

#: The ticket schema's migrations, applied in order under the component ``"tickets"``.
TICKET_MIGRATIONS: Final[tuple[Migration, ...]] = (_V1,)


class SQLiteTicketRepository(SQLiteDialect, SqlTicketRepository):
    """Tickets in an :class:`~custmgmt.adapters.sqlite.SQLiteStore`, in its transactions.

    Creating it applies the ticket migrations. Writes go through
    :meth:`SQLiteStore.writing`, so they join the store's transaction and commit or
    roll back with the store's other writes.

    Args:
        store: the SQLite store (``store.tickets`` makes one on first use).
        workflow: the workflow every saved ticket's log must follow.

    Raises:
        StorageError: the schema cannot be created.
        ValidationError: ``workflow`` is not a Workflow.
    """

    migrations = TICKET_MIGRATIONS

    def __init__(self, store: SQLiteDatabase, *, workflow: Workflow = DEFAULT_WORKFLOW) -> None:
        super().__init__(store, workflow=workflow)
