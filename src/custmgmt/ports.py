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

Capabilities (ratings, tickets ...) own their ports: each capability package has a
``ports.py`` with its repository protocols, a :class:`CapabilityKey` naming its
repository, and a typed store protocol that extends :class:`Store` (for example
``RatingStore(Store, Protocol)`` with ``.ratings``). This module imports no
capability, so a host store written against it keeps working as capabilities are
added; ``docs/adding-a-capability.md`` walks through adding one.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

import attrs

from custmgmt.domain import Customer, Interaction, InteractionKind, Order
from custmgmt.errors import ValidationError

__all__ = [
    "CapabilityKey",
    "CustomerRepository",
    "InteractionRepository",
    "OrderRepository",
    "Repository",
    "Store",
]

T = TypeVar("T")
R = TypeVar("R")

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


@attrs.frozen
class CapabilityKey(Generic[R]):
    """Names a capability's repository, typed by the repository protocol it returns.

    Each capability declares one in its ``ports.py``
    (``RATINGS: CapabilityKey[RatingRepository] = CapabilityKey("ratings", RatingRepository)``);
    the bundled stores map keys to repository factories, and
    ``store.repository(RATINGS)`` is typed as a ``RatingRepository``.

    Attributes:
        name: the attribute name stores expose the repository under (``"ratings"``).
        protocol: the repository protocol (a runtime-checkable :class:`typing.Protocol`).
    """

    name: str
    # ``type[R]`` would refuse a Protocol class (mypy's type-abstract), so the type
    # parameter comes from the declaration: ``RATINGS: CapabilityKey[RatingRepository]``.
    protocol: type[Any] = attrs.field(repr=False)

    def check(self, repository: Any) -> R:
        """Return ``repository``, checked to provide :attr:`protocol`'s methods.

        Raises:
            ValidationError: the object does not implement the protocol.
        """
        if not isinstance(repository, self.protocol):
            raise ValidationError(
                f"capability {self.name!r}",
                type(repository).__name__,
                f"an implementation of {self.protocol.__name__}",
            )
        checked: R = repository
        return checked
