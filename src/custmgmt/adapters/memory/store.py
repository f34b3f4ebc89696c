"""The in-memory store: the default backend and the fast fake for tests.

Entities are immutable, so the store keeps references, never copies. Writes take one
re-entrant lock, which makes the store safe to share between threads; a transaction
holds the lock for its whole block and keeps an undo log, so a failed block leaves
the store exactly as it was. Reads of single entities, counts and the ordered
indexes take the lock too, so they wait for another thread's open transaction
rather than see part of it (a thread sees its own writes at once).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Generic, TypeVar

from custmgmt.adapters._checks import check_chunk_size, check_range
from custmgmt.adapters._registry import Capability, CapabilityHost
from custmgmt.adapters.memory.ratings import MemoryRatingRepository
from custmgmt.adapters.memory.tickets import MemoryTicketRepository
from custmgmt.adapters.memory.transaction import TransactionLog
from custmgmt.domain import Customer, Interaction, InteractionKind, Order
from custmgmt.domain._validate import coerce_enum
from custmgmt.domain.time import to_epoch_micros
from custmgmt.errors import Conflict, NotFound, ValidationError
from custmgmt.ports import DEFAULT_CHUNK_SIZE, CapabilityKey
from custmgmt.rating.ports import RATINGS
from custmgmt.tickets.ports import TICKETS

__all__ = [
    "MemoryCustomerRepository",
    "MemoryInteractionRepository",
    "MemoryOrderRepository",
    "MemoryStore",
    "TransactionLog",
]

T = TypeVar("T", Customer, Order, Interaction)
SortKey = tuple[int, str]


class _MemoryRepository(Generic[T]):
    """A dict of entities plus a lazily sorted index for ordered reads."""

    entity_name: str
    entity_type: type[T]

    def __init__(self, tx: TransactionLog) -> None:
        self._tx = tx
        self._items: dict[str, T] = {}
        self._sorted: list[SortKey] | None = []

    # -- the Repository protocol ---------------------------------------------------
    def get(self, entity_id: str) -> T:
        # Under the lock: another thread's open transaction is never seen half-done.
        with self._tx.lock:
            try:
                return self._items[entity_id]
            except (KeyError, TypeError):
                raise NotFound(self.entity_name, entity_id) from None

    def add(self, entity: T) -> None:
        self.add_many((entity,))

    def add_many(self, entities: Iterable[T]) -> int:
        try:
            batch = list(entities)
        except TypeError:
            raise ValidationError(
                "entities", entities, f"an iterable of {self.entity_type.__name__}"
            ) from None
        with self._tx.lock:
            seen: set[str] = set()
            for entity in batch:
                self._check_type(entity)
                if entity.id in self._items or entity.id in seen:
                    raise Conflict(self.entity_name, entity.id, "an entity with this id exists")
                seen.add(entity.id)
            for entity in batch:
                self._put(entity)
            self._tx.record(lambda: self._forget([e.id for e in batch]))
        return len(batch)

    def update(self, entity: T) -> None:
        self._check_type(entity)
        with self._tx.lock:
            stored = self.get(entity.id)
            if stored.version != entity.version - 1:
                raise Conflict(
                    self.entity_name,
                    entity.id,
                    f"stored version is {stored.version}, but this copy was made from "
                    f"version {entity.version - 1} (reload, change once, then update)",
                    expected_version=entity.version - 1,
                    actual_version=stored.version,
                )
            self._replace(stored, entity)
            self._tx.record(lambda: self._replace(entity, stored))

    def remove(self, entity_id: str) -> None:
        with self._tx.lock:
            stored = self.get(entity_id)
            self._forget([entity_id])
            self._tx.record(lambda: self._put(stored))

    def count(self) -> int:
        with self._tx.lock:
            return len(self._items)

    def iter_chunks(self, size: int = DEFAULT_CHUNK_SIZE) -> Iterator[Sequence[T]]:
        check_chunk_size(size)
        return self._chunks(self._ordered_ids(), size)

    # -- helpers -------------------------------------------------------------------
    def _chunks(self, ids: list[str], size: int) -> Iterator[Sequence[T]]:
        for start in range(0, len(ids), size):
            chunk = [self._items[i] for i in ids[start : start + size] if i in self._items]
            if chunk:
                yield chunk

    def _check_type(self, entity: Any) -> None:
        if not isinstance(entity, self.entity_type):
            raise ValidationError(self.entity_name, entity, f"a {self.entity_type.__name__}")

    def _sort_key(self, entity: T) -> SortKey:
        return (0, entity.id)

    def _put(self, entity: T) -> None:
        self._items[entity.id] = entity
        self._sorted = None

    def _replace(self, old: T, new: T) -> None:
        self._items[new.id] = new
        if self._sort_key(old) != self._sort_key(new):
            self._sorted = None

    def _forget(self, ids: list[str]) -> None:
        for entity_id in ids:
            self._items.pop(entity_id, None)
        self._sorted = None

    def _index(self) -> list[SortKey]:
        with self._tx.lock:
            if self._sorted is None:
                self._sorted = sorted(self._sort_key(e) for e in self._items.values())
            return self._sorted

    def _ordered_ids(self) -> list[str]:
        return [key[1] for key in self._index()]

    def _ids_between(self, start: datetime, end: datetime) -> list[str]:
        lo, hi = check_range(start, end)
        index = self._index()
        first = bisect.bisect_left(index, (lo, ""))
        last = bisect.bisect_left(index, (hi, ""))
        return [key[1] for key in index[first:last]]


class MemoryCustomerRepository(_MemoryRepository[Customer]):
    """Customers in memory (see :class:`custmgmt.ports.CustomerRepository`)."""

    entity_name = "customer"
    entity_type = Customer


class MemoryOrderRepository(_MemoryRepository[Order]):
    """Orders in memory (see :class:`custmgmt.ports.OrderRepository`)."""

    entity_name = "order"
    entity_type = Order

    def _sort_key(self, entity: Order) -> SortKey:
        return (to_epoch_micros(entity.placed_at), entity.id)

    def for_customer(self, customer_id: str) -> list[Order]:
        """The customer's orders, oldest first."""
        with self._tx.lock:
            found = [o for o in self._items.values() if o.customer_id == customer_id]
        return sorted(found, key=self._sort_key)

    def between(self, start: datetime, end: datetime) -> Iterator[Order]:
        """Orders placed in ``[start, end)``, oldest first."""
        ids = self._ids_between(start, end)
        return (self._items[i] for i in ids if i in self._items)


class MemoryInteractionRepository(_MemoryRepository[Interaction]):
    """Interactions in memory (see :class:`custmgmt.ports.InteractionRepository`)."""

    entity_name = "interaction"
    entity_type = Interaction

    def _sort_key(self, entity: Interaction) -> SortKey:
        return (to_epoch_micros(entity.at), entity.id)

    def for_customer(
        self, customer_id: str, kinds: Collection[InteractionKind] | None = None
    ) -> list[Interaction]:
        """The customer's interactions (of ``kinds``, if given), oldest first."""
        wanted = _kinds(kinds)
        with self._tx.lock:
            found = [
                i
                for i in self._items.values()
                if i.customer_id == customer_id and (wanted is None or i.kind in wanted)
            ]
        return sorted(found, key=self._sort_key)

    def between(
        self,
        start: datetime,
        end: datetime,
        kinds: Collection[InteractionKind] | None = None,
    ) -> Iterator[Interaction]:
        """Interactions at ``[start, end)`` (of ``kinds``, if given), oldest first."""
        wanted = _kinds(kinds)
        ids = self._ids_between(start, end)
        items = (self._items.get(i) for i in ids)
        return (i for i in items if i is not None and (wanted is None or i.kind in wanted))


def _kinds(kinds: Collection[InteractionKind] | None) -> frozenset[InteractionKind] | None:
    if kinds is None:
        return None
    given: object = kinds  # hosts call this untyped too: check at run time
    if isinstance(given, str) or not isinstance(given, Collection):
        raise ValidationError("kinds", kinds, "a collection of InteractionKind or None")
    return frozenset(coerce_enum(InteractionKind, k, "kinds") for k in given)


class MemoryStore(CapabilityHost):
    """A complete store in memory: the default backend and the test double.

    >>> from custmgmt.testing import make_customer
    >>> store = MemoryStore()
    >>> store.customers.add(make_customer(id="c1", name="李娜"))
    >>> store.customers.get("c1").name
    '李娜'
    >>> store.capabilities
    ('ratings', 'tickets')

    Capability repositories are registered below, one line each (see
    :mod:`custmgmt.adapters._registry`); all share the store's lock and transactions.

    Args:
        capabilities: more capability repositories for this store, as
            ``{key: factory(transaction_log)}``, read with :meth:`repository`.
    """

    ratings = Capability(RATINGS, MemoryRatingRepository)
    tickets = Capability(TICKETS, MemoryTicketRepository)

    def __init__(
        self,
        *,
        capabilities: Mapping[CapabilityKey[Any], Callable[[TransactionLog], Any]] | None = None,
    ) -> None:
        self.tx = TransactionLog()
        self._tx = self.tx
        self._customers = MemoryCustomerRepository(self._tx)
        self._orders = MemoryOrderRepository(self._tx)
        self._interactions = MemoryInteractionRepository(self._tx)
        self._init_capabilities(capabilities, self.tx.lock)

    @property
    def customers(self) -> MemoryCustomerRepository:
        """The customer repository."""
        return self._customers

    @property
    def orders(self) -> MemoryOrderRepository:
        """The order repository."""
        return self._orders

    @property
    def interactions(self) -> MemoryInteractionRepository:
        """The interaction repository."""
        return self._interactions

    def transaction(self) -> AbstractContextManager[None]:
        """All-or-nothing scope for writes (see :meth:`custmgmt.ports.Store.transaction`)."""
        return self._tx.transaction()

    def close(self) -> None:
        """Nothing to release; present for the protocol."""

    def _capability_context(self) -> TransactionLog:
        return self.tx
