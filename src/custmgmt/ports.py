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

Analytics read a store through the *columnar port*, :class:`ColumnarStore`: a store
that answers ``order_frame(...)`` and ``interaction_frame(...)`` with numpy columns
built straight from its rows (filters pushed down into its query or index, no entity
objects), and stores new orders from columns (``load_orders(batch)``). It is optional:
:meth:`OrderFrame.from_store
<custmgmt.analytics.frames.OrderFrame.from_store>` and
:func:`custmgmt.analytics.loading.load_orders` use it when the store has it and
otherwise go through the entity repositories (``iter_chunks``, ``add_many``), so a
host store that implements only :class:`Store` keeps working, just slower. Check an
implementation with :class:`custmgmt.testing.ColumnarStoreContract`: its frames must
equal the frames built from the same store's entities.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, runtime_checkable

import attrs

from custmgmt.domain import Customer, Interaction, InteractionKind, Order
from custmgmt.errors import ValidationError

if TYPE_CHECKING:
    # Type names only: the frames module reads stores through this module, not the
    # other way round.
    from custmgmt.analytics.batches import OrderBatch
    from custmgmt.analytics.frames import InteractionFrame, OrderFrame

__all__ = [
    "CapabilityKey",
    "ColumnarStore",
    "CustomerDependents",
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
    """Customers, keyed by :attr:`Customer.id`; ``iter_chunks`` goes by id.

    ``remove`` refuses a customer that stored records still belong to: its orders,
    its interactions, interactions that name it as a referred customer, and the
    records of every capability repository of the store that counts them (see
    :class:`CustomerDependents`: tickets, rating results, overrides ...). The refusal
    is a :class:`~custmgmt.errors.Conflict` whose ``dependents`` gives the count of
    each kind, and nothing is deleted; the check and the delete are one atomic step,
    so a record added concurrently cannot be left behind. (Erasing a customer with
    everything that belongs to it is a separate, audited operation.)
    """


@runtime_checkable
class CustomerDependents(Protocol):
    """A repository whose records belong to customers and so block their removal.

    A capability repository implements this to keep ``customers.remove`` from leaving
    its records behind: the bundled stores ask every capability repository that has
    it before removing a customer, inside the removal's transaction.
    """

    def customer_dependents(self, customer_id: str) -> Mapping[str, int]:
        """How many stored records of each kind belong to the customer.

        Kinds are plural nouns (``{"tickets": 2}``); zero counts may be left out.
        An unknown customer has none.
        """
        ...


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
        """Release resources. Afterwards every repository call, ``transaction()``, frame
        read and bulk load raises :class:`~custmgmt.errors.StorageError` ("the store is
        closed"); closing again does nothing. Closed inside this thread's
        ``transaction()``, the block ends with ``StorageError`` and keeps none of its
        writes; a transaction another thread has open is waited for."""
        ...


@runtime_checkable
class ColumnarStore(Store, Protocol):
    """A store that answers analytics in columns: the columnar read port (and bulk load).

    Frames are built from the store's rows without creating entity objects, with the
    filters pushed down (an SQL ``WHERE`` on the indexed time and customer columns, a
    bisect on an in-memory time index). Whatever the backend, a frame must be *equal*
    to the frame :meth:`OrderFrame.from_store
    <custmgmt.analytics.frames.OrderFrame.from_store>` builds from the same store's
    entities (``store.orders.iter_chunks``) with the same arguments: the same rows in
    the same order, the same codes and names, the same customer index;
    :class:`custmgmt.testing.ColumnarStoreContract` checks exactly that on random
    stores. The conventions of :mod:`custmgmt.analytics.frames` apply: times are int64
    microseconds since the epoch (UTC), money int64 minor units computed exactly (never
    through floats), categorical columns are codes into sorted names.

    Rows come in the order of the repositories' ``iter_chunks``: by time, then by id
    (ids compare as Python strings compare, i.e. by code point, which is also the byte
    order of their UTF-8 encoding). The time window is ``since <= t <= as_of``: both
    bounds are inclusive, and either may be None (unbounded).

    A read sees one consistent state of the store: a write committed while a frame is
    being built is either wholly in it or wholly absent.
    """

    def order_frame(
        self,
        *,
        currency: str,
        as_of: datetime | None = None,
        since: datetime | None = None,
        customers: Collection[str] | None = None,
        rates: Mapping[str, Any] | None = None,
        customer_index: Any = None,
    ) -> OrderFrame:
        """The stored orders as an :class:`~custmgmt.analytics.frames.OrderFrame`.

        One row per order placed in ``[since, as_of]`` (by customers in
        ``customers``, when given), by ``placed_at`` then order id. Per row:
        ``amount`` is the order total (the sum of its lines' ``quantity *
        unit_price``) and ``returned_amount`` its refunded amount, both exact minor
        units of ``currency``; an order in another currency is converted with
        ``rates[its currency]``, exactly, rounded half-even to the minor unit (the
        refund is capped at the converted total). ``status`` is the code into
        :data:`~custmgmt.analytics.frames.STATUS_CODES`; ``category`` the order's main
        category (the category of the line with the largest subtotal, the first such
        line on ties), ``-1`` never occurs since every line has a category; orders
        with several distinct categories also list every (row, category) pair,
        rows ascending and names sorted within a row, in ``line_row`` /
        ``line_category`` (both None when no order has two categories);
        ``category_names`` holds every main and line category, sorted. ``channel``
        codes into sorted ``channel_names`` (``-1``: no channel). ``order_id`` holds
        the order ids (``str``). The customer index follows ``customer_index`` as
        :mod:`custmgmt.analytics.frames` describes (without it: the distinct customer
        ids of the rows, sorted); its ids are ``str`` in an object array.

        Args:
            currency: the frame's currency (ISO 4217).
            as_of: when given (aware), orders placed after it are left out.
            since: when given (aware), orders placed before it are left out.
            customers: when given, only these customers' orders (a collection of
                ``str`` ids, not a single string; unknown ids simply match nothing).
            rates: currency code -> ``Decimal`` (or int/str) rate into ``currency``.
            customer_index: fixes the first customer codes (a frame, a
                ``CustomerFeatures`` or a sequence of ids).

        Raises:
            ValidationError: an unknown ``currency``; a naive ``as_of`` or ``since``;
                ``customers`` that is a string or holds a non-string; invalid
                ``rates``; a selected order in a currency other than ``currency``
                without a rate; a selected order whose total or refund has no exact
                minor-unit value in its currency (field ``"order <id>"``).
            StorageError: the backend failed.
        """
        ...

    def interaction_frame(
        self,
        *,
        as_of: datetime | None = None,
        since: datetime | None = None,
        customers: Collection[str] | None = None,
        kinds: Collection[InteractionKind] | None = None,
        customer_index: Any = None,
    ) -> InteractionFrame:
        """The stored interactions as an :class:`~custmgmt.analytics.frames.InteractionFrame`.

        One row per interaction at ``[since, as_of]`` (of ``customers`` and of
        ``kinds``, when given), by ``at`` then interaction id. Per row: ``kind`` codes
        into :data:`~custmgmt.analytics.frames.KIND_CODES`; ``rating`` is a review's
        rating (0 for other kinds); ``complaint_category`` a complaint's category code
        into :data:`~custmgmt.analytics.frames.COMPLAINT_CATEGORY_CODES` (``-1`` for
        other kinds) and ``resolved`` whether a complaint is resolved (False for other
        kinds); ``channel`` codes into sorted ``channel_names`` (``-1``: none).

        Args:
            as_of: when given (aware), interactions after it are left out.
            since: when given (aware), interactions before it are left out.
            customers: when given, only these customers' interactions (``str`` ids).
            kinds: when given, only interactions of these kinds (members or values).
            customer_index: fixes the first customer codes; pass the ``OrderFrame``
                to code both frames alike.

        Raises:
            ValidationError: a naive ``as_of`` or ``since``; ``customers`` that is a
                string or holds a non-string; an unknown kind.
            StorageError: the backend failed.
        """
        ...

    def load_orders(self, batch: OrderBatch) -> int:
        """Store every order of a validated :class:`~custmgmt.analytics.batches.OrderBatch`.

        The columnar write: all or nothing, with the effect of
        ``orders.add_many(batch.to_orders())`` (which is what
        :func:`~custmgmt.analytics.loading.load_orders` does for a store without this
        method): afterwards ``orders.get`` returns exactly those entities, and the
        frames see them. The batch is already validated; the store only checks that
        no id is stored yet. Inside ``transaction()`` the load joins the transaction.
        Returns the number of orders stored.

        Raises:
            Conflict: an order id is already stored; nothing is written.
            ValidationError: ``batch`` is not an ``OrderBatch``; nothing is written.
            StorageError: the backend failed; nothing is written.
        """
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
