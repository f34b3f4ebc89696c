"""The ticket capability's ports: where service tickets and their logs are stored.

A host store offers tickets by exposing a :class:`TicketRepository` as ``.tickets``;
:class:`TicketStore` is the store type the ticket services take. Check an
implementation with :class:`custmgmt.testing.TicketRepositoryContract`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from typing import Protocol, runtime_checkable

from custmgmt.ports import DEFAULT_CHUNK_SIZE, CapabilityKey, Store
from custmgmt.tickets.ticket import Ticket, TicketStatus

__all__ = ["TICKETS", "TicketRepository", "TicketStore"]


@runtime_checkable
class TicketRepository(Protocol):
    """Service tickets with their event logs, keyed by :attr:`Ticket.id`.

    Stores expose it as ``store.tickets``, sharing the store's transaction. Besides the
    common contract (exact round-trip, :class:`~custmgmt.errors.Conflict` on
    duplicate ids and stale versions, :class:`~custmgmt.errors.StorageError` for the
    backend), a ticket's event log is append-only: an update may only add entries
    after the stored ones, so entries are never lost, changed or reordered.
    """

    def get(self, ticket_id: str) -> Ticket:
        """The stored ticket, its whole event log included.

        Raises:
            NotFound: nothing is stored under ``ticket_id``.
            StorageError: the backend failed.
        """
        ...

    def add(self, ticket: Ticket) -> None:
        """Store a new ticket as it is (version and log included).

        Raises:
            Conflict: a ticket with the same id is stored; nothing is written.
            ValidationError: ``ticket`` is not a Ticket.
            StorageError: the backend failed; nothing is written.
        """
        ...

    def update(self, ticket: Ticket, *, expected_version: int | None = None) -> None:
        """Replace the stored ticket with ``ticket``, read at ``expected_version``.

        ``expected_version`` defaults to ``ticket.version - 1`` (changed once since it
        was read); pass the version read to save several transitions at once. The
        stored log must be a prefix of ``ticket.events``; only the new entries are
        appended.

        Raises:
            NotFound: nothing is stored under ``ticket.id``.
            Conflict: the stored version is not ``expected_version`` (a stale copy), or
                the update would drop, change or reorder stored log entries; nothing is
                written.
            ValidationError: ``ticket`` is not a Ticket or ``expected_version`` is not
                below ``ticket.version``.
            StorageError: the backend failed.
        """
        ...

    def remove(self, ticket_id: str) -> None:
        """Delete the ticket and its log (erasure, corrections).

        Raises:
            NotFound: nothing is stored under ``ticket_id``.
            StorageError: the backend failed.
        """
        ...

    def count(self) -> int:
        """How many tickets are stored."""
        ...

    def find(
        self,
        *,
        customer_id: str | None = None,
        statuses: Collection[TicketStatus] | None = None,
    ) -> list[Ticket]:
        """Tickets of one customer and/or in some statuses, by ``created_at`` then id.

        Raises:
            ValidationError: ``statuses`` holds something that is not a status.
        """
        ...

    def iter_chunks(self, size: int = DEFAULT_CHUNK_SIZE) -> Iterator[Sequence[Ticket]]:
        """Stream every ticket in chunks of at most ``size``, by ``created_at`` then id.

        Raises:
            ValidationError: ``size`` is not a positive integer.
        """
        ...


#: The key bundled stores register their ticket repository under (``store.tickets``).
TICKETS: CapabilityKey[TicketRepository] = CapabilityKey("tickets", TicketRepository)


@runtime_checkable
class TicketStore(Store, Protocol):
    """A :class:`~custmgmt.ports.Store` that also keeps service tickets."""

    @property
    def tickets(self) -> TicketRepository:
        """The ticket repository, sharing the store's transaction."""
        ...
