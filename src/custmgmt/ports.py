"""Repository protocols: the ports that storage adapters and host applications implement.

custmgmt never talks to a database directly; it talks to these protocols. The bundled
adapters are :class:`custmgmt.adapters.memory.MemoryStore` (the default and the fast
fake) and :class:`custmgmt.adapters.sqlite.SQLiteStore`; a host may implement them on
its own storage and check its implementation with
:class:`custmgmt.testing.StoreContract`.

The contract every repository keeps:

* ``get`` returns exactly what was stored (Decimal money, timezone offsets, text in
  any script) or raises :class:`~custmgmt.errors.NotFound`.
* ``add`` refuses an id that is already stored with :class:`~custmgmt.errors.Conflict`.
* ``update`` is optimistic: the entity passed in was changed once (its ``version`` is
  one more than the stored one). Anything else is a
  :class:`~custmgmt.errors.Conflict` and nothing is written: a write based on a stale
  read is never a silent overwrite. Make several changes to one entity with a single
  method call (``Customer.update_profile(name=..., phone=...)``) or save in between.
* ``add_many`` is all or nothing.
* Every write inside ``Store.transaction()`` commits or rolls back together.
* Failures of the backend surface as :class:`~custmgmt.errors.StorageError` with the
  driver's exception as ``__cause__``.

Later capabilities (ratings, tickets ...) add protocols of their own next to these
rather than changing them, so a host store written today keeps working.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, TypeVar, runtime_checkable

from custmgmt.domain import Customer, Interaction, InteractionKind, Order

if TYPE_CHECKING:  # the tickets package needs numpy; the ports must not
    from custmgmt.rating.overrides import Override, OverrideStatus
    from custmgmt.rating.records import CustomerRating, RatingRun, StarHistoryEntry
    from custmgmt.tickets.ticket import Ticket, TicketStatus

__all__ = [
    "CustomerRepository",
    "InteractionRepository",
    "OrderRepository",
    "RatingRepository",
    "Repository",
    "Store",
    "TicketRepository",
]

T = TypeVar("T")

#: The default number of entities per chunk when streaming for analytics.
DEFAULT_CHUNK_SIZE = 10_000


class Repository(Protocol[T]):
    """What every entity repository offers; entities have ``id`` and ``version``."""

    def get(self, entity_id: str) -> T:
        """Return the stored entity with this id.

        Raises:
            NotFound: nothing is stored under ``entity_id``.
            StorageError: the backend failed.
        """
        ...

    def add(self, entity: T) -> None:
        """Store a new entity as it is (its ``version`` included).

        Raises:
            Conflict: an entity with the same id is already stored; nothing is written.
            StorageError: the backend failed; nothing is written.
        """
        ...

    def add_many(self, entities: Iterable[T]) -> int:
        """Store new entities atomically; returns how many were stored.

        Either every entity is stored or, on any failure, none is: a duplicate id
        (against the store or within the batch) stores nothing.

        Raises:
            Conflict: an id is already stored or repeats within the batch.
            StorageError: the backend failed.
        """
        ...

    def update(self, entity: T) -> None:
        """Replace the stored entity with ``entity``, a copy changed once since it was read.

        The stored ``version`` must be exactly ``entity.version - 1``; the stored
        entity then becomes ``entity``.

        Raises:
            NotFound: nothing is stored under ``entity.id``.
            Conflict: the stored version is not ``entity.version - 1`` (someone else
                wrote since it was read, or the copy was changed more than once);
                nothing is written. ``Conflict.expected_version`` and
                ``.actual_version`` say which versions disagreed.
            StorageError: the backend failed.
        """
        ...

    def remove(self, entity_id: str) -> None:
        """Delete the entity (used for erasure and corrections).

        Raises:
            NotFound: nothing is stored under ``entity_id``.
            StorageError: the backend failed.
        """
        ...

    def count(self) -> int:
        """How many entities are stored."""
        ...

    def iter_chunks(self, size: int = DEFAULT_CHUNK_SIZE) -> Iterator[Sequence[T]]:
        """Stream every stored entity in chunks of at most ``size``, for analytics.

        Memory stays bounded by one chunk. The order is the repository's natural
        order (``by_time`` order for orders and interactions, by id for customers).
        Writes made while iterating may or may not be seen.

        Raises:
            ValidationError: ``size`` is not a positive integer.
        """
        ...


@runtime_checkable
class CustomerRepository(Repository[Customer], Protocol):
    """Customers, keyed by :attr:`Customer.id`; ``iter_chunks`` goes by id."""


@runtime_checkable
class OrderRepository(Repository[Order], Protocol):
    """Orders with their lines, keyed by :attr:`Order.id`."""

    def for_customer(self, customer_id: str) -> list[Order]:
        """The customer's orders, oldest first (by ``placed_at``, then id).

        An unknown customer simply has no orders: the result is empty.
        """
        ...

    def between(self, start: datetime, end: datetime) -> Iterator[Order]:
        """Orders placed in ``[start, end)``, by ``placed_at`` then id.

        Raises:
            ValidationError: ``start`` or ``end`` is naive, or ``end < start``.
        """
        ...


@runtime_checkable
class InteractionRepository(Repository[Interaction], Protocol):
    """Interactions, keyed by :attr:`Interaction.id`."""

    def for_customer(
        self, customer_id: str, kinds: Collection[InteractionKind] | None = None
    ) -> list[Interaction]:
        """The customer's interactions (of ``kinds``, if given), oldest first (``at``, id)."""
        ...

    def between(
        self,
        start: datetime,
        end: datetime,
        kinds: Collection[InteractionKind] | None = None,
    ) -> Iterator[Interaction]:
        """Interactions at ``[start, end)`` (of ``kinds``, if given), by ``at`` then id.

        Raises:
            ValidationError: ``start`` or ``end`` is naive, or ``end < start``.
        """
        ...


@runtime_checkable
class Store(Protocol):
    """A storage backend: the core repositories sharing one transaction scope.

    Attributes:
        customers: the customer repository.
        orders: the order repository.
        interactions: the interaction repository.
    """

    @property
    def customers(self) -> CustomerRepository:
        """The customer repository."""
        ...

    @property
    def orders(self) -> OrderRepository:
        """The order repository."""
        ...

    @property
    def interactions(self) -> InteractionRepository:
        """The interaction repository."""
        ...

    def transaction(self) -> AbstractContextManager[None]:
        """A scope within which every write to any repository is all or nothing.

        Leaving the block normally commits; an exception rolls every write in the
        block back and propagates. A transaction opened inside another is nested: if
        the inner block fails, its own writes are undone and the exception propagates
        to the outer block, which decides whether the rest commits. Writes outside any
        transaction commit one call at a time.

        Raises:
            StorageError: the backend could not commit.
        """
        ...

    def close(self) -> None:
        """Release resources; the store must not be used afterwards."""
        ...


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


@runtime_checkable
class RatingRepository(Protocol):
    """Rating runs with their per-customer results, and manual overrides.

    Runs are written once and never changed; a customer's star history is the
    sequence of its results across runs. Overrides are versioned entities (see
    :class:`custmgmt.rating.Override`). The bundled stores expose theirs as
    ``store.ratings``, sharing the store's transaction. Check an implementation with
    :class:`custmgmt.testing.RatingRepositoryContract`.
    """

    def save_run(self, run: RatingRun, results: Iterable[CustomerRating]) -> int:
        """Store a run and all its results, all or nothing; returns the result count.

        Raises:
            Conflict: a run with this id is stored; nothing is written.
            ValidationError: a result belongs to another run, a customer repeats, or
                the count differs from ``run.customer_count``; nothing is written.
            StorageError: the backend failed; nothing is written.
        """
        ...

    def get_run(self, run_id: str) -> RatingRun:
        """The stored run.

        Raises:
            NotFound: no run with this id (entity ``"rating run"``).
        """
        ...

    def list_runs(self) -> list[RatingRun]:
        """Every run, oldest first (by ``as_of``, then ``created_at``, then id)."""
        ...

    def latest_run(self, at: datetime | None = None) -> RatingRun | None:
        """The last run of :meth:`list_runs` with ``as_of <= at`` (any, without ``at``).

        Raises:
            ValidationError: ``at`` is naive.
        """
        ...

    def results(self, run_id: str) -> list[CustomerRating]:
        """Every result of the run, by customer id.

        Raises:
            NotFound: no run with this id.
        """
        ...

    def result(self, run_id: str, customer_id: str) -> CustomerRating:
        """One customer's result in one run.

        Raises:
            NotFound: no such run (entity ``"rating run"``) or the customer has no
                result in it (entity ``"rating result"``, key ``(run_id, customer_id)``).
        """
        ...

    def star_history(self, customer_id: str) -> list[StarHistoryEntry]:
        """The customer's stars in every run that rated it, oldest run first.

        An unknown customer has an empty history.
        """
        ...

    def remove_run(self, run_id: str) -> None:
        """Delete a run and its results (retention, corrections).

        Raises:
            NotFound: no run with this id.
        """
        ...

    def add_override(self, override: Override) -> None:
        """Store a new override.

        Raises:
            Conflict: an override with this id is stored.
        """
        ...

    def update_override(self, override: Override) -> None:
        """Replace a stored override with a copy changed once since it was read.

        Raises:
            NotFound: no override with this id.
            Conflict: the stored version is not ``override.version - 1``; nothing
                is written.
        """
        ...

    def get_override(self, override_id: str) -> Override:
        """The stored override.

        Raises:
            NotFound: no override with this id (entity ``"override"``).
        """
        ...

    def overrides_for(self, customer_id: str) -> list[Override]:
        """The customer's overrides, oldest request first (``requested_at``, id)."""
        ...

    def list_overrides(self, status: OverrideStatus | None = None) -> list[Override]:
        """Every override (of ``status``, if given), oldest request first."""
        ...
