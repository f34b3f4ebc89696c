"""Service tickets in SQLite (see :class:`custmgmt.tickets.ports.TicketRepository`).

Two tables, owned by the component ``"tickets"`` through
:meth:`SQLiteStore.apply_migrations <custmgmt.adapters.sqlite.SQLiteStore.apply_migrations>`:
``tickets`` (one row per ticket, with its version) and ``ticket_events`` (one row per
log entry, keyed by ticket and sequence number). An update checks the version and
that the new log extends the stored one, then appends only the new entries under the
next sequence numbers, so entries are never rewritten, lost or reordered; a ticket is
saved only when its log is a path of the repository's workflow (an update replays
only the entries it adds). Instants
are stored as microseconds since the epoch plus the UTC offset, so they come back
exactly (with a fixed offset); text is stored as it is, in any script.

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

import sqlite3
from collections.abc import Collection, Iterator, Sequence
from typing import Any, Final

from custmgmt.adapters._checks import check_chunk_size, check_statuses, check_update
from custmgmt.adapters._sql_codecs import datetime_of as _datetime
from custmgmt.adapters.sqlite.codecs import _instant
from custmgmt.adapters.sqlite.database import SQLiteDatabase
from custmgmt.adapters.sqlite.schema import Migration
from custmgmt.domain._validate import check_id
from custmgmt.errors import Conflict, CustMgmtError, NotFound, StorageError, ValidationError
from custmgmt.ports import DEFAULT_CHUNK_SIZE
from custmgmt.tickets.ticket import Ticket, TicketEventRecord, TicketStatus
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

_COLUMNS: Final = (
    "id, version, customer_id, category, channel, priority, subject, description, status, "
    "created_us, created_off, assignee, solution, satisfaction, reopened_from, merged_into"
)
_EVENT_COLUMNS: Final = (
    "ticket_id, seq, at_us, at_off, event, from_status, to_status, actor, reason, score"
)
_INSERT: Final = f"INSERT INTO tickets ({_COLUMNS}) VALUES ({', '.join('?' * 16)})"
_INSERT_EVENT: Final = (
    f"INSERT INTO ticket_events ({_EVENT_COLUMNS}) VALUES ({', '.join('?' * 10)})"
)
_UPDATE: Final = (
    "UPDATE tickets SET "
    + ", ".join(f"{c.strip()} = ?" for c in _COLUMNS.split(",")[1:])
    + " WHERE id = ? AND version = ?"
)
# SQLite's default limit on host parameters is 999 in old builds: stay well under.
_IDS_PER_QUERY: Final = 500
_PAGE: Final = 1000

Row = tuple[Any, ...]


def _ticket_row(ticket: Ticket) -> Row:
    created_us, created_off = _instant(ticket.created_at)
    return (
        ticket.id, ticket.version, ticket.customer_id, ticket.category.value, ticket.channel,
        ticket.priority.value, ticket.subject, ticket.description, ticket.status.value,
        created_us, created_off, ticket.assignee, ticket.solution, ticket.satisfaction,
        ticket.reopened_from, ticket.merged_into,
    )


def _event_rows(ticket: Ticket, start: int) -> list[Row]:
    rows = []
    for seq in range(start, len(ticket.events)):
        record = ticket.events[seq]
        at_us, at_off = _instant(record.at)
        rows.append((
            ticket.id, seq, at_us, at_off, record.event.value,
            None if record.from_status is None else record.from_status.value,
            record.to_status.value, record.actor, record.reason, record.score,
        ))
    return rows


def _ticket(row: Row, events: Sequence[Row]) -> Ticket:
    records = tuple(
        TicketEventRecord(
            at=_datetime(e[2], e[3]), event=e[4], from_status=e[5], to_status=e[6],
            actor=e[7], reason=e[8], score=e[9],
        )
        for e in events
    )
    return Ticket(
        id=row[0], version=row[1], customer_id=row[2], category=row[3], channel=row[4],
        priority=row[5], subject=row[6], description=row[7], status=row[8],
        created_at=_datetime(row[9], row[10]), assignee=row[11], solution=row[12],
        satisfaction=row[13], reopened_from=row[14], merged_into=row[15], events=records,
    )


def _storage_error(doing: str, exc: sqlite3.Error) -> StorageError:
    return StorageError(f"sqlite: {doing} failed: {exc}")


class SQLiteTicketRepository:
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

    def __init__(self, store: SQLiteDatabase, *, workflow: Workflow = DEFAULT_WORKFLOW) -> None:
        if not isinstance(workflow, Workflow):
            raise ValidationError("workflow", workflow, "a Workflow")
        self._store = store
        self._workflow = workflow
        store.apply_migrations("tickets", TICKET_MIGRATIONS)

    @property
    def workflow(self) -> Workflow:
        """The workflow every saved ticket's log must follow."""
        return self._workflow

    # -- the TicketRepository protocol -------------------------------------------------

    def get(self, ticket_id: str) -> Ticket:
        """The stored ticket (see ``TicketRepository.get``)."""
        if not isinstance(ticket_id, str):
            raise NotFound("ticket", ticket_id)
        found = self._load("SELECT " + _COLUMNS + " FROM tickets WHERE id = ?", (ticket_id,))
        if not found:
            raise NotFound("ticket", ticket_id)
        return found[0]

    def add(self, ticket: Ticket) -> None:
        """Store a new ticket (see ``TicketRepository.add``).

        Raises:
            TransitionNotAllowed: its log is not a path of the workflow.
        """
        _check_ticket(ticket)
        self._workflow.check_path(ticket)
        try:
            with self._store.writing() as conn:
                conn.execute(_INSERT, _ticket_row(ticket))
                conn.executemany(_INSERT_EVENT, _event_rows(ticket, 0))
        except Conflict as exc:
            raise Conflict("ticket", ticket.id, "a ticket with this id exists") from exc

    def update(self, ticket: Ticket, *, expected_version: int | None = None) -> None:
        """Replace a stored ticket (see ``TicketRepository.update``).

        Raises:
            TransitionNotAllowed: the entries it adds are not a path of the workflow
                from the stored ticket.
        """
        _check_ticket(ticket)
        with self._store.writing() as conn:
            stored = self.get(ticket.id)
            check_update(stored, ticket, expected_version)
            self._workflow.check_path(ticket, stored=stored)
            changed = conn.execute(
                _UPDATE, (*_ticket_row(ticket)[1:], ticket.id, stored.version)
            ).rowcount
            if changed != 1:  # pragma: no cover - the transaction holds the write lock
                raise Conflict("ticket", ticket.id, "changed while updating")
            conn.executemany(_INSERT_EVENT, _event_rows(ticket, len(stored.events)))

    def remove(self, ticket_id: str) -> None:
        """Delete a ticket and its log (see ``TicketRepository.remove``)."""
        if not isinstance(ticket_id, str):
            raise NotFound("ticket", ticket_id)
        with self._store.writing() as conn:
            conn.execute("DELETE FROM ticket_events WHERE ticket_id = ?", (ticket_id,))
            removed = conn.execute("DELETE FROM tickets WHERE id = ?", (ticket_id,)).rowcount
        if removed == 0:
            raise NotFound("ticket", ticket_id)

    def count(self) -> int:
        """How many tickets are stored."""
        return int(self._fetch("SELECT count(*) FROM tickets", ())[0][0])

    def find(
        self,
        *,
        customer_id: str | None = None,
        statuses: Collection[TicketStatus] | None = None,
    ) -> list[Ticket]:
        """Matching tickets (see ``TicketRepository.find``)."""
        wanted = check_statuses(statuses)
        where: list[str] = []
        params: list[Any] = []
        if customer_id is not None:
            check_id("customer_id", customer_id)
            where.append("customer_id = ?")
            params.append(customer_id)
        if wanted is not None:
            if not wanted:
                return []
            where.append(f"status IN ({', '.join('?' * len(wanted))})")
            params.extend(sorted(s.value for s in wanted))
        sql = "SELECT " + _COLUMNS + " FROM tickets"
        if where:
            sql += " WHERE " + " AND ".join(where)
        return self._load(sql + " ORDER BY created_us, id", params)

    def customer_dependents(self, customer_id: str) -> dict[str, int]:
        """The customer's tickets (see :class:`custmgmt.ports.CustomerDependents`)."""
        found = self._fetch("SELECT count(*) FROM tickets WHERE customer_id = ?", (customer_id,))
        return {"tickets": int(found[0][0])}

    def iter_chunks(self, size: int = DEFAULT_CHUNK_SIZE) -> Iterator[Sequence[Ticket]]:
        """Every ticket in chunks (see ``TicketRepository.iter_chunks``)."""
        check_chunk_size(size)
        return self._chunks(size)

    # -- helpers -------------------------------------------------------------------------

    def _chunks(self, size: int) -> Iterator[Sequence[Ticket]]:
        after: tuple[int, str] | None = None
        page = min(size, _PAGE)
        pending: list[Ticket] = []
        while True:
            sql = "SELECT " + _COLUMNS + " FROM tickets"
            params: tuple[Any, ...] = ()
            if after is not None:
                sql += " WHERE (created_us, id) > (?, ?)"
                params = after
            found = self._fetch(sql + f" ORDER BY created_us, id LIMIT {page}", params)
            if not found:
                break
            after = (found[-1][9], found[-1][0])
            pending.extend(self._with_events(found))
            while len(pending) >= size:
                yield pending[:size]
                pending = pending[size:]
        if pending:
            yield pending

    def _load(self, sql: str, params: Sequence[Any]) -> list[Ticket]:
        with self._store.lock:
            return self._with_events(self._fetch(sql, params))

    def _with_events(self, rows: list[Row]) -> list[Ticket]:
        events: dict[str, list[Row]] = {row[0]: [] for row in rows}
        ids = list(events)
        for start in range(0, len(ids), _IDS_PER_QUERY):
            part = ids[start : start + _IDS_PER_QUERY]
            marks = ", ".join("?" * len(part))
            for event in self._fetch(
                f"SELECT {_EVENT_COLUMNS} FROM ticket_events WHERE ticket_id IN ({marks}) "
                "ORDER BY ticket_id, seq",
                part,
            ):
                events[event[0]].append(event)
        result = []
        for row in rows:
            try:
                result.append(_ticket(row, events[row[0]]))
            except (
                CustMgmtError, ValueError, TypeError, KeyError, IndexError, AttributeError,
                OverflowError,
            ) as exc:
                # The rows were valid when written: something else changed the database.
                raise StorageError(
                    f"sqlite: stored ticket {row[0]!r} is not valid any more: {exc}"
                ) from exc
        return result

    def _fetch(self, sql: str, params: Sequence[Any]) -> list[Row]:
        with self._store.lock:
            try:
                return self._store.connection.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise _storage_error("reading tickets", exc) from exc


def _check_ticket(ticket: Any) -> None:
    if not isinstance(ticket, Ticket):
        raise ValidationError("ticket", ticket, "a Ticket")
