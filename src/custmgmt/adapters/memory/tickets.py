"""Service tickets in memory (see :class:`custmgmt.tickets.ports.TicketRepository`).

Tickets are immutable, so the repository keeps references. Writes hold the store's
lock and record an undo action, so they join :meth:`MemoryStore.transaction
<custmgmt.adapters.memory.MemoryStore.transaction>`. A ticket is saved only when its
log is a path of the repository's workflow (:meth:`Workflow.check_path
<custmgmt.tickets.workflow.Workflow.check_path>`); an update replays only the entries
it adds.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from typing import Any

from custmgmt.adapters._checks import check_chunk_size, check_statuses, check_update
from custmgmt.adapters.memory.transaction import TransactionLog
from custmgmt.domain._validate import check_id
from custmgmt.errors import Conflict, NotFound, ValidationError
from custmgmt.ports import DEFAULT_CHUNK_SIZE
from custmgmt.tickets.ticket import Ticket, TicketStatus
from custmgmt.tickets.workflow import DEFAULT_WORKFLOW, Workflow

__all__ = ["MemoryTicketRepository"]


def _sort_key(ticket: Ticket) -> tuple[Any, str]:
    return (ticket.created_at, ticket.id)


class MemoryTicketRepository:
    """Tickets in memory, joining an in-memory store's transactions.

    >>> from datetime import datetime, timezone
    >>> from custmgmt.adapters.memory import MemoryStore
    >>> from custmgmt.tickets import Ticket
    >>> store = MemoryStore()
    >>> repo = MemoryTicketRepository(store.tx)
    >>> repo.add(Ticket.open(id="T-1", customer_id="C-1", category="inquiry",
    ...     priority="normal", subject="退货地址", actor="web",
    ...     at=datetime(2024, 9, 23, 9, tzinfo=timezone.utc)))
    >>> repo.get("T-1").subject
    '退货地址'

    Args:
        tx: the store's transaction log (``MemoryStore.tx``).
        workflow: the workflow every saved ticket's log must follow.
    """

    def __init__(self, tx: TransactionLog, *, workflow: Workflow = DEFAULT_WORKFLOW) -> None:
        if not isinstance(workflow, Workflow):
            raise ValidationError("workflow", workflow, "a Workflow")
        self._tx = tx
        self._workflow = workflow
        self._items: dict[str, Ticket] = {}

    @property
    def workflow(self) -> Workflow:
        """The workflow every saved ticket's log must follow."""
        return self._workflow

    def get(self, ticket_id: str) -> Ticket:
        """The stored ticket (see ``TicketRepository.get``)."""
        self._tx.check_open()
        try:
            return self._items[ticket_id]
        except (KeyError, TypeError):
            raise NotFound("ticket", ticket_id) from None

    def add(self, ticket: Ticket) -> None:
        """Store a new ticket (see ``TicketRepository.add``).

        Raises:
            TransitionNotAllowed: its log is not a path of the workflow.
        """
        _check_ticket(ticket)
        self._workflow.check_path(ticket)
        with self._tx.lock:
            if ticket.id in self._items:
                raise Conflict("ticket", ticket.id, "a ticket with this id exists")
            self._items[ticket.id] = ticket
            self._tx.record(lambda: self._items.pop(ticket.id, None))

    def update(self, ticket: Ticket, *, expected_version: int | None = None) -> None:
        """Replace a stored ticket (see ``TicketRepository.update``).

        Raises:
            TransitionNotAllowed: the entries it adds are not a path of the workflow
                from the stored ticket.
        """
        _check_ticket(ticket)
        with self._tx.lock:
            stored = self.get(ticket.id)
            check_update(stored, ticket, expected_version)
            self._workflow.check_path(ticket, stored=stored)
            self._items[ticket.id] = ticket
            self._tx.record(lambda: self._items.__setitem__(ticket.id, stored))

    def remove(self, ticket_id: str) -> None:
        """Delete a ticket (see ``TicketRepository.remove``)."""
        with self._tx.lock:
            stored = self.get(ticket_id)
            del self._items[stored.id]
            self._tx.record(lambda: self._items.__setitem__(stored.id, stored))

    def count(self) -> int:
        """How many tickets are stored."""
        self._tx.check_open()
        return len(self._items)

    def find(
        self,
        *,
        customer_id: str | None = None,
        statuses: Collection[TicketStatus] | None = None,
    ) -> list[Ticket]:
        """Matching tickets (see ``TicketRepository.find``)."""
        wanted = check_statuses(statuses)
        if customer_id is not None:
            check_id("customer_id", customer_id)
        with self._tx.lock:
            found = [
                t for t in self._items.values()
                if (customer_id is None or t.customer_id == customer_id)
                and (wanted is None or t.status in wanted)
            ]
        return sorted(found, key=_sort_key)

    def customer_dependents(self, customer_id: str) -> dict[str, int]:
        """The customer's tickets (see :class:`custmgmt.ports.CustomerDependents`)."""
        with self._tx.lock:
            return {"tickets": sum(1 for t in self._items.values() if t.customer_id == customer_id)}

    def iter_chunks(self, size: int = DEFAULT_CHUNK_SIZE) -> Iterator[Sequence[Ticket]]:
        """Every ticket in chunks (see ``TicketRepository.iter_chunks``)."""
        size = check_chunk_size(size)
        return self._chunks(size)

    def _chunks(self, size: int) -> Iterator[Sequence[Ticket]]:
        every = self.find()
        for start in range(0, len(every), size):
            self._tx.check_open()  # a store closed during the iteration ends it
            yield every[start : start + size]


def _check_ticket(ticket: Any) -> None:
    if not isinstance(ticket, Ticket):
        raise ValidationError("ticket", ticket, "a Ticket")
