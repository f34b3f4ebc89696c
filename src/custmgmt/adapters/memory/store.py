"""The in-memory store: the default backend and the fast fake for tests.

Entities are immutable, so the store keeps references, never copies. Writes take one
re-entrant lock, which makes the store safe to share between threads; a transaction
holds the lock for its whole block and keeps an undo log, so a failed block leaves
the store exactly as it was. Reads of single entities, counts and the ordered
indexes take the lock too, so they wait for another thread's open transaction
rather than see part of it (a thread sees its own writes at once).

Once closed, the store refuses every use as the SQLite and PostgreSQL stores do: the
lock itself raises :class:`~custmgmt.errors.StorageError` ("the store is closed"), and
lazy reads check before each step.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Generic, Self, TypeVar

from custmgmt.adapters._checks import (
    check_chunk_size,
    check_entity,
    check_range,
    first_taken_id,
    stale_copy,
)
from custmgmt.adapters._core_store import CoreStore
from custmgmt.adapters._registry import Capability, CapabilityHost
from custmgmt.adapters.memory import frames
from custmgmt.adapters.memory.campaigns import MemoryCampaignRepository
from custmgmt.adapters.memory.followups import MemoryFollowUpRepository
from custmgmt.adapters.memory.loyalty import MemoryPointsRepository
from custmgmt.adapters.memory.privacy import MemoryPrivacyRepository
from custmgmt.adapters.memory.prospects import MemoryProspectRepository
from custmgmt.adapters.memory.ratings import MemoryRatingRepository
from custmgmt.adapters.memory.risk import MemoryRiskRepository
from custmgmt.adapters.memory.team import MemoryAgentRepository, MemoryAssignmentRepository
from custmgmt.adapters.memory.tickets import MemoryTicketRepository
from custmgmt.adapters.memory.transaction import StoreLock, TransactionLog
from custmgmt.analytics.batches import OrderBatch
from custmgmt.campaigns.ports import CAMPAIGNS
from custmgmt.domain import Customer, Interaction, InteractionKind, Order
from custmgmt.domain._validate import coerce_enum
from custmgmt.domain.time import to_epoch_micros
from custmgmt.errors import Conflict, NotFound, ValidationError
from custmgmt.followup.ports import FOLLOWUPS
from custmgmt.loyalty.ports import LOYALTY
from custmgmt.ports import DEFAULT_CHUNK_SIZE, CapabilityKey
from custmgmt.privacy.ports import PRIVACY
from custmgmt.prospects.ports import PROSPECTS
from custmgmt.rating.ports import RATINGS
from custmgmt.risk.ports import RISK
from custmgmt.team.ports import AGENTS, ASSIGNMENTS
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


class _SortedKeys:
    """Sort keys kept in order as they come and go: a list of short sorted runs.

    Adding or removing a key costs a binary search plus a shift inside one run of at
    most ``2 * _LOAD`` keys, and a range query a binary search plus the keys it
    returns, so alternating writes and ordered reads stay near-linear (re-sorting
    after every write made them quadratic). The runs are what ``sortedcontainers``
    calls a load-balanced sorted list, without the dependency.
    """

    _LOAD = 1000

    def __init__(self, keys: Iterable[SortKey] = ()) -> None:
        ordered = sorted(keys)
        self._runs: list[list[SortKey]] = [
            ordered[i : i + self._LOAD] for i in range(0, len(ordered), self._LOAD)
        ]
        self._maxes: list[SortKey] = [run[-1] for run in self._runs]
        self._size = len(ordered)

    def __len__(self) -> int:
        return self._size

    def add(self, key: SortKey) -> None:
        """Insert ``key`` in order."""
        self._size += 1
        if not self._runs:
            self._runs.append([key])
            self._maxes.append(key)
            return
        i = bisect.bisect_left(self._maxes, key)
        if i == len(self._maxes):
            i -= 1
            self._runs[i].append(key)
            self._maxes[i] = key
        else:
            bisect.insort(self._runs[i], key)
        run = self._runs[i]
        if len(run) > 2 * self._LOAD:
            self._runs[i : i + 1] = [run[: self._LOAD], run[self._LOAD :]]
            self._maxes[i : i + 1] = [run[self._LOAD - 1], run[-1]]

    def discard(self, key: SortKey) -> None:
        """Remove ``key`` if present."""
        i = bisect.bisect_left(self._maxes, key)
        if i == len(self._maxes):
            return
        run = self._runs[i]
        j = bisect.bisect_left(run, key)
        if j == len(run) or run[j] != key:
            return
        del run[j]
        self._size -= 1
        if run:
            self._maxes[i] = run[-1]
        else:
            del self._runs[i]
            del self._maxes[i]

    def ids(self) -> list[str]:
        """Every key's entity id, in key order."""
        return [key[1] for run in self._runs for key in run]

    def ids_between(self, lo: int, hi: int) -> list[str]:
        """The entity ids of keys whose time is in ``[lo, hi)``, in key order."""
        first, last = (lo, ""), (hi, "")
        found: list[str] = []
        i = bisect.bisect_left(self._maxes, first)
        start = bisect.bisect_left(self._runs[i], first) if i < len(self._runs) else 0
        while i < len(self._runs):
            run = self._runs[i]
            stop = bisect.bisect_left(run, last)
            found.extend(key[1] for key in run[start:stop])
            if stop < len(run):
                break
            i, start = i + 1, 0
        return found


class _MemoryRepository(Generic[T]):
    """A dict of entities plus a sorted index for ordered reads, kept up to date."""

    entity_name: str
    entity_type: type[T]

    def __init__(self, tx: TransactionLog) -> None:
        self._tx = tx
        self._items: dict[str, T] = {}
        # None until an ordered read needs it: bulk loads then sort once.
        self._sorted: _SortedKeys | None = None

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
        for entity in batch:
            self._check_type(entity)
        with self._tx.lock:
            taken = first_taken_id(self.entity_name, (e.id for e in batch), self._items)
            if taken is not None:
                raise taken
            if self._sorted is not None and len(batch) > len(self._sorted):
                self._sorted = None  # cheaper to sort everything once on the next read
            for entity in batch:
                self._put(entity)
            self._tx.record(lambda: self._forget([e.id for e in batch]))
        return len(batch)

    def update(self, entity: T) -> None:
        self._check_type(entity)
        with self._tx.lock:
            stored = self.get(entity.id)
            if stored.version != entity.version - 1:
                raise stale_copy(self.entity_name, entity.id, stored.version, entity.version,
                                 unchanged=stored == entity)
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
        size = check_chunk_size(size)
        return self._chunks(self._ordered_ids(), size)

    # -- helpers -------------------------------------------------------------------
    def _chunks(self, ids: list[str], size: int) -> Iterator[Sequence[T]]:
        for start in range(0, len(ids), size):
            self._tx.check_open()  # a store closed during the iteration ends it
            chunk = [self._items[i] for i in ids[start : start + size] if i in self._items]
            if chunk:
                yield chunk

    def _check_type(self, entity: Any) -> None:
        check_entity(self.entity_name, entity, self.entity_type)

    def _sort_key(self, entity: T) -> SortKey:
        return (0, entity.id)

    def _put(self, entity: T) -> None:
        self._items[entity.id] = entity
        if self._sorted is not None:
            self._sorted.add(self._sort_key(entity))

    def _replace(self, old: T, new: T) -> None:
        self._items[new.id] = new
        if self._sorted is not None:
            old_key, new_key = self._sort_key(old), self._sort_key(new)
            if old_key != new_key:
                self._sorted.discard(old_key)
                self._sorted.add(new_key)

    def _forget(self, ids: list[str]) -> None:
        index = self._sorted
        if index is not None and len(ids) > len(index) // 2:
            index = self._sorted = None  # most of it goes: sort what stays on the next read
        for entity_id in ids:
            entity = self._items.pop(entity_id, None)
            if entity is not None and index is not None:
                index.discard(self._sort_key(entity))

    def _index(self) -> _SortedKeys:
        # Callers hold the lock: the index changes in place with every write.
        if self._sorted is None:
            self._sorted = _SortedKeys(self._sort_key(e) for e in self._items.values())
        return self._sorted

    def _ordered_ids(self) -> list[str]:
        with self._tx.lock:
            return self._index().ids()

    # -- what the columnar port reads (adapters/memory/frames.py) ---------------------
    @property
    def lock(self) -> StoreLock:
        """The store's lock; hold it while reading :attr:`items` and :meth:`window_ids`
        (taking it raises StorageError once the store is closed)."""
        return self._tx.lock

    @property
    def items(self) -> Mapping[str, T]:
        """The stored entities by id (read-only use, under :attr:`lock`)."""
        return self._items

    def window_ids(self, lo: int | None, hi: int | None) -> list[str]:
        """Ids of the entities whose time in µs is in ``[lo, hi]`` (``None``: no
        bound), in ``(µs, id)`` order, the order of ``iter_chunks``."""
        keys = self._index()
        if lo is None and hi is None:
            return keys.ids()
        first = -(2**63) if lo is None else lo
        # Every id sorts after "", so (hi + 1, "") is the first key past ``hi``.
        return keys.ids_between(first, 2**63 if hi is None else hi + 1)

    def _open(self) -> bool:
        """True, or StorageError once the store is closed (checked by lazy reads)."""
        self._tx.check_open()
        return True

    def _ids_between(self, start: datetime, end: datetime) -> list[str]:
        lo, hi = check_range(start, end)
        with self._tx.lock:
            return self._index().ids_between(lo, hi)


class MemoryCustomerRepository(_MemoryRepository[Customer]):
    """Customers in memory (see :class:`custmgmt.ports.CustomerRepository`).

    Args:
        tx: the store's transaction log.
        dependents: counts the records that belong to a customer, by kind; a
            customer with any is not removed (``Conflict``). The store passes its own.
    """

    entity_name = "customer"
    entity_type = Customer

    def __init__(
        self,
        tx: TransactionLog,
        dependents: Callable[[str], Mapping[str, int]] | None = None,
    ) -> None:
        super().__init__(tx)
        self._dependents = dependents

    def remove(self, entity_id: str) -> None:
        """Delete a customer that no stored record belongs to.

        Raises:
            NotFound: no such customer.
            Conflict: records still belong to it (``dependents`` counts them by kind);
                nothing is deleted.
        """
        # One lock around the check and the delete: no record can slip in between.
        with self._tx.lock:
            self.get(entity_id)
            if self._dependents is not None:
                found = {k: n for k, n in self._dependents(entity_id).items() if n > 0}
                if found:
                    raise Conflict.has_dependents(self.entity_name, entity_id, found)
            super().remove(entity_id)


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
        return (self._items[i] for i in ids if self._open() and i in self._items)


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
        items = (self._items.get(i) for i in ids if self._open())
        return (i for i in items if i is not None and (wanted is None or i.kind in wanted))


def _kinds(kinds: Collection[InteractionKind] | None) -> frozenset[InteractionKind] | None:
    if kinds is None:
        return None
    given: object = kinds  # hosts call this untyped too: check at run time
    if isinstance(given, str) or not isinstance(given, Collection):
        raise ValidationError("kinds", kinds, "a collection of InteractionKind or None")
    return frozenset(coerce_enum(InteractionKind, k, "kinds") for k in given)


class MemoryStore(
    CoreStore[MemoryCustomerRepository, MemoryOrderRepository, MemoryInteractionRepository],
    CapabilityHost,
):
    """A complete store in memory: the default backend and the test double.

    >>> from custmgmt.testing import make_customer
    >>> store = MemoryStore()
    >>> store.customers.add(make_customer(id="c1", name="李娜"))
    >>> store.customers.get("c1").name
    '李娜'
    >>> {"ratings", "tickets"} <= set(store.capabilities)
    True

    Capability repositories are registered below, one line each (see
    :mod:`custmgmt.adapters._registry`); all share the store's lock and transactions.

    Closing (:meth:`close`, or leaving a ``with MemoryStore() as store:`` block) ends
    the store's life as it does for the SQLite and PostgreSQL stores: every later
    repository call, transaction, frame read or bulk load raises
    :class:`~custmgmt.errors.StorageError` ("the store is closed").

    Args:
        capabilities: more capability repositories for this store, as
            ``{key: factory(transaction_log)}``, read with :meth:`repository`.
    """

    loyalty = Capability(LOYALTY, MemoryPointsRepository)
    privacy = Capability(PRIVACY, MemoryPrivacyRepository)
    campaigns = Capability(CAMPAIGNS, MemoryCampaignRepository)
    followups = Capability(FOLLOWUPS, MemoryFollowUpRepository)
    ratings = Capability(RATINGS, MemoryRatingRepository)
    risk = Capability(RISK, MemoryRiskRepository)
    tickets = Capability(TICKETS, MemoryTicketRepository)
    prospects = Capability(PROSPECTS, MemoryProspectRepository)
    agents = Capability(AGENTS, MemoryAgentRepository)
    assignments = Capability(ASSIGNMENTS, MemoryAssignmentRepository)

    def __init__(
        self,
        *,
        capabilities: Mapping[CapabilityKey[Any], Callable[[TransactionLog], Any]] | None = None,
    ) -> None:
        self.tx = TransactionLog()
        self._tx = self.tx
        self._customers = MemoryCustomerRepository(self._tx, self._customer_dependents)
        self._orders = MemoryOrderRepository(self._tx)
        self._interactions = MemoryInteractionRepository(self._tx)
        # The registry takes the lock itself: a closed store still hands out its
        # repositories, whose every call then fails.
        self._init_capabilities(capabilities, self.tx.raw_lock)

    def transaction(self) -> AbstractContextManager[None]:
        """All-or-nothing scope for writes (see :meth:`custmgmt.ports.Store.transaction`).

        Raises:
            StorageError: the store is closed, or was closed inside the block (whose
                writes are then undone).
        """
        return self._tx.transaction()

    @property
    def in_transaction(self) -> bool:
        """Whether this thread has a :meth:`transaction` block open: what it writes now
        may still be undone."""
        return self._tx.in_transaction

    # -- the core store's hooks (see CoreStore) ---------------------------------------------
    # The columnar port scans the repositories' entities (see :mod:`.frames`).
    _read_order_frame = staticmethod(frames.order_frame)
    _read_interaction_frame = staticmethod(frames.interaction_frame)

    def _order_source(self) -> MemoryOrderRepository:
        return self._orders

    def _interaction_source(self) -> MemoryInteractionRepository:
        return self._interactions

    def _load_batch(self, batch: OrderBatch) -> int:
        """The batch's orders are added as entities (all or nothing)."""
        return self._orders.add_many(batch.to_orders())

    def close(self) -> None:
        """Close the store: every later use raises StorageError ("the store is closed").

        Closing again does nothing. A transaction another thread has open is waited
        for (it holds the store's lock). Closing inside this thread's own
        ``transaction()`` block undoes the block's writes when it ends, and the block
        ends with StorageError: nothing of it is kept.
        """
        self._tx.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _check_open(self) -> None:
        self._tx.check_open()

    def _customer_dependents(self, customer_id: str) -> dict[str, int]:
        """What still belongs to a customer: the core records and each capability's."""
        with self._tx.lock:
            orders = sum(1 for o in self._orders.items.values() if o.customer_id == customer_id)
            interactions = referrals = 0
            for i in self._interactions.items.values():
                if i.customer_id == customer_id:
                    interactions += 1
                elif getattr(i.details, "referred_customer_id", None) == customer_id:
                    referrals += 1
            found = {"orders": orders, "interactions": interactions, "referrals": referrals}
            found.update(self._capability_dependents(customer_id))
        return found

    def _capability_context(self) -> TransactionLog:
        return self.tx
