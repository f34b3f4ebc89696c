"""The ticket repository over a SQL database, shared by the SQLite and PostgreSQL adapters.

Both stores keep the same two tables, ``tickets`` (one row per ticket, with its
version) and ``ticket_events`` (one row per log entry, keyed by ticket and sequence
number), and run the same queries; the dialect's hooks
(:class:`~custmgmt.adapters._sql_repository.SqlRepository`) say how instants are
stored, how many rows are written at once, how a read sees one state and which locks
an update and a count of a customer's tickets take. An update checks the version and
that the new log extends the stored one, then appends only the new entries under the
next sequence numbers, so entries are never rewritten, lost or reordered.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from typing import Any, ClassVar, Final

from custmgmt.adapters._checks import (
    check_chunk_size,
    check_statuses,
    check_update,
    could_be_id,
    stored_key,
)
from custmgmt.adapters._sql_codecs import datetime_of
from custmgmt.adapters._sql_repository import DECODE_ERRORS, Row, SqlRepository
from custmgmt.domain._validate import check_id
from custmgmt.errors import Conflict, NotFound, ValidationError
from custmgmt.ports import DEFAULT_CHUNK_SIZE
from custmgmt.tickets.ticket import Ticket, TicketEventRecord, TicketStatus
from custmgmt.tickets.workflow import DEFAULT_WORKFLOW, Workflow

__all__ = ["SqlTicketRepository"]

_COLUMNS: Final = (
    "id, version, customer_id, category, channel, priority, subject, description, status, "
    "{created}, created_off, assignee, solution, satisfaction, reopened_from, merged_into"
)
_EVENT_COLUMNS: Final = (
    "ticket_id, seq, {at}, at_off, event, from_status, to_status, actor, reason, score"
)
_PAGE: Final = 1000
_READING: Final = "reading tickets"


def _ticket(row: Row, events: Sequence[Row]) -> Ticket:
    records = tuple(
        TicketEventRecord(
            at=datetime_of(e[2], e[3]), event=e[4], from_status=e[5], to_status=e[6],
            actor=e[7], reason=e[8], score=e[9],
        )
        for e in events
    )
    return Ticket(
        id=row[0], version=row[1], customer_id=row[2], category=row[3], channel=row[4],
        priority=row[5], subject=row[6], description=row[7], status=row[8],
        created_at=datetime_of(row[9], row[10]), assignee=row[11], solution=row[12],
        satisfaction=row[13], reopened_from=row[14], merged_into=row[15], events=records,
    )


class SqlTicketRepository(SqlRepository):
    """Tickets in a SQL store, in its transactions (see
    :class:`custmgmt.tickets.ports.TicketRepository`); subclasses name the dialect.

    Args:
        store: the store (``store.tickets`` makes one on first use).
        workflow: the workflow every saved ticket's log must follow.

    Raises:
        StorageError: the schema cannot be created.
        ValidationError: ``workflow`` is not a Workflow.
    """

    component = "tickets"
    decode_errors: ClassVar[tuple[type[Exception], ...]] = (*DECODE_ERRORS, OverflowError)

    def __init__(self, store: Any, *, workflow: Workflow = DEFAULT_WORKFLOW) -> None:
        if not isinstance(workflow, Workflow):
            raise ValidationError("workflow", workflow, "a Workflow")
        self._workflow = workflow
        super().__init__(store)

    @property
    def workflow(self) -> Workflow:
        """The workflow every saved ticket's log must follow."""
        return self._workflow

    # -- the dialect's hooks -----------------------------------------------------------
    def _count_dependents(self, sql: str, params: Sequence[Any]) -> int:
        """The count ``sql`` (written with ``?``) of a customer's tickets."""
        return int(self._query(sql, params, _READING)[0][0])

    # -- rows --------------------------------------------------------------------------
    def _ticket_row(self, ticket: Ticket) -> Row:
        created, created_off = self.codec.instant(ticket.created_at)
        return (
            ticket.id, ticket.version, ticket.customer_id, ticket.category.value,
            ticket.channel, ticket.priority.value, ticket.subject, ticket.description,
            ticket.status.value, created, created_off, ticket.assignee, ticket.solution,
            ticket.satisfaction, ticket.reopened_from, ticket.merged_into,
        )  # fmt: skip

    def _event_rows(self, ticket: Ticket, start: int) -> list[Row]:
        rows = []
        for seq in range(start, len(ticket.events)):
            record = ticket.events[seq]
            at, at_off = self.codec.instant(record.at)
            rows.append((
                ticket.id, seq, at, at_off, record.event.value,
                None if record.from_status is None else record.from_status.value,
                record.to_status.value, record.actor, record.reason, record.score,
            ))  # fmt: skip
        return rows

    def _add_events(self, conn: Any, ticket: Ticket, start: int) -> None:
        rows = self._event_rows(ticket, start)
        self._insert_rows(conn, "ticket_events", self._q(_EVENT_COLUMNS), rows)

    # -- the TicketRepository protocol -------------------------------------------------
    def get(self, ticket_id: str) -> Ticket:
        """The stored ticket (see ``TicketRepository.get``)."""
        key = stored_key("ticket", ticket_id)  # a lone surrogate: NotFound, not a driver error
        return self._one("ticket", key, lambda: self._load(
            f"SELECT {self._select(_COLUMNS)} FROM tickets WHERE id = ?", (key,)))

    def add(self, ticket: Ticket) -> None:
        """Store a new ticket (see ``TicketRepository.add``).

        Raises:
            TransitionNotAllowed: its log is not a path of the workflow.
        """
        _check_ticket(ticket)
        self._workflow.check_path(ticket)
        try:
            with self._store.writing() as conn:
                conn.execute(self._insert_sql("tickets", _COLUMNS), self._ticket_row(ticket))
                self._add_events(conn, ticket, 0)
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
            stored = self._locked(conn, "tickets", "ticket", ticket.id, self.get)
            check_update(stored, ticket, expected_version)
            self._workflow.check_path(ticket, stored=stored)
            changed = conn.execute(
                self._update_sql("tickets", _COLUMNS),
                (*self._ticket_row(ticket)[1:], ticket.id, stored.version),
            ).rowcount
            if changed != 1:  # pragma: no cover - the write (or the row) is locked
                raise Conflict("ticket", ticket.id, "changed while updating")
            self._add_events(conn, ticket, len(stored.events))

    def remove(self, ticket_id: str) -> None:
        """Delete a ticket and its log (see ``TicketRepository.remove``)."""
        stored_key("ticket", ticket_id)
        with self._store.writing() as conn:
            conn.execute(self._q("DELETE FROM ticket_events WHERE ticket_id = ?"), (ticket_id,))
            removed = conn.execute(
                self._q("DELETE FROM tickets WHERE id = ?"), (ticket_id,)
            ).rowcount
        if removed == 0:
            raise NotFound("ticket", ticket_id)

    def count(self) -> int:
        """How many tickets are stored."""
        return int(self._query("SELECT count(*) FROM tickets", (), _READING)[0][0])

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
            condition, values = self._any("status", sorted(s.value for s in wanted))
            where.append(condition)
            params.extend(values)
        sql = f"SELECT {self._select(_COLUMNS)} FROM tickets"
        if where:
            sql += " WHERE " + " AND ".join(where)
        return self._load(sql + " ORDER BY {created}, id", params)

    def customer_dependents(self, customer_id: str) -> dict[str, int]:
        """The customer's tickets (see :class:`custmgmt.ports.CustomerDependents`)."""
        if not could_be_id(customer_id):
            return {"tickets": 0}
        count = self._count_dependents(
            "SELECT count(*) FROM tickets WHERE customer_id = ?", (customer_id,)
        )
        return {"tickets": count}

    def iter_chunks(self, size: int = DEFAULT_CHUNK_SIZE) -> Iterator[Sequence[Ticket]]:
        """Every ticket in chunks (see ``TicketRepository.iter_chunks``)."""
        size = check_chunk_size(size)
        return self._chunks(size)

    # -- helpers -----------------------------------------------------------------------
    def _chunks(self, size: int) -> Iterator[Sequence[Ticket]]:
        after: tuple[Any, str] | None = None
        page = min(size, _PAGE)
        pending: list[Ticket] = []
        while True:
            sql = f"SELECT {self._select(_COLUMNS)} FROM tickets"
            params: tuple[Any, ...] = ()
            if after is not None:
                sql += " WHERE ({created}, id) > (?, ?)"
                params = after
            found = self._query(sql + f" ORDER BY {{created}}, id LIMIT {page}", params, _READING)
            if not found:
                break
            tickets = self._with_events(found)
            # The last ticket's stored instant and id: where the next page starts.
            after = (self._instant(tickets[-1].created_at), tickets[-1].id)
            pending.extend(tickets)
            while len(pending) >= size:
                yield pending[:size]
                pending = pending[size:]
        if pending:
            yield pending

    def _load(self, sql: str, params: Sequence[Any]) -> list[Ticket]:
        with self._reading():  # the tickets and their events: one state
            return self._with_events(self._query(sql, params, _READING))

    def _with_events(self, rows: list[Row]) -> list[Ticket]:
        events: dict[str, list[Row]] = {row[0]: [] for row in rows}
        ids = list(events)
        for start in range(0, len(ids), self.ids_per_query):
            condition, params = self._any("ticket_id", ids[start : start + self.ids_per_query])
            for event in self._query(
                f"SELECT {self._select(_EVENT_COLUMNS)} FROM ticket_events WHERE {condition} "
                "ORDER BY ticket_id, seq",
                params,
                _READING,
            ):
                events[event[0]].append(event)
        return self._decoded("ticket", lambda row: _ticket(row, events[row[0]]), rows)


def _check_ticket(ticket: Any) -> None:
    if not isinstance(ticket, Ticket):
        raise ValidationError("ticket", ticket, "a Ticket")
