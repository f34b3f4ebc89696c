"""A store written the way a host application would write one, from the ports' docs only.

Nothing here imports the bundled adapters: the repositories below are plain dicts
plus a snapshot-based transaction, written against the docstrings of
:mod:`custmgmt.ports`. That they pass :class:`StoreContract` shows the protocols can be
implemented from their documentation.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Generic, TypeVar

from custmgmt.domain import Customer, Interaction, InteractionKind, Order
from custmgmt.errors import Conflict, NotFound, ValidationError
from custmgmt.ports import (
    CustomerRepository,
    InteractionRepository,
    OrderRepository,
    Store,
)
from custmgmt.testing import StoreContract

E = TypeVar("E", Customer, Order, Interaction)


def _check_range(start: datetime, end: datetime) -> None:
    for name, value in (("start", start), ("end", end)):
        if not isinstance(value, datetime) or value.utcoffset() is None:
            raise ValidationError(name, value, "a timezone-aware datetime")
    if end < start:
        raise ValidationError("end", end, "not before start")


class DictRepository(Generic[E]):
    """One dict per entity type; entities are immutable, so storing them is enough."""

    def __init__(self, name: str, lock: threading.RLock) -> None:
        self.name = name
        self.rows: dict[str, E] = {}
        self.lock = lock

    def get(self, entity_id: str) -> E:
        if entity_id not in self.rows:
            raise NotFound(self.name, entity_id)
        return self.rows[entity_id]

    def add(self, entity: E) -> None:
        self.add_many([entity])

    def add_many(self, entities: Iterable[E]) -> int:
        batch = list(entities)
        with self.lock:
            ids = [e.id for e in batch]
            for i, entity_id in enumerate(ids):
                if entity_id in self.rows or entity_id in ids[:i]:
                    raise Conflict(self.name, entity_id, "already stored")
            for entity in batch:
                self.rows[entity.id] = entity
        return len(batch)

    def update(self, entity: E) -> None:
        with self.lock:
            stored = self.get(entity.id)
            if stored.version != entity.version - 1:
                raise Conflict(
                    self.name,
                    entity.id,
                    "stale version",
                    expected_version=entity.version - 1,
                    actual_version=stored.version,
                )
            self.rows[entity.id] = entity

    def remove(self, entity_id: str) -> None:
        with self.lock:
            self.get(entity_id)
            del self.rows[entity_id]

    def count(self) -> int:
        return len(self.rows)

    def sort_key(self, entity: E) -> tuple[datetime | str, str]:
        return (entity.id, entity.id)

    def iter_chunks(self, size: int = 10_000) -> Iterator[Sequence[E]]:
        if not isinstance(size, int) or size < 1:
            raise ValidationError("size", size, "a positive integer")
        ordered = sorted(self.rows.values(), key=self.sort_key)
        return iter([ordered[i : i + size] for i in range(0, len(ordered), size)])


class DictCustomers(DictRepository[Customer]):
    """Customers that refuse removal while orders or interactions belong to them."""

    def __init__(self, name: str, lock: threading.RLock, store: DictStore) -> None:
        super().__init__(name, lock)
        self.store = store

    def remove(self, entity_id: str) -> None:
        with self.lock:  # the check and the delete under one lock
            self.get(entity_id)
            interactions = self.store._interactions.rows.values()
            found = {
                "orders": sum(
                    o.customer_id == entity_id for o in self.store._orders.rows.values()
                ),
                "interactions": sum(i.customer_id == entity_id for i in interactions),
                "referrals": sum(
                    i.customer_id != entity_id
                    and getattr(i.details, "referred_customer_id", None) == entity_id
                    for i in interactions
                ),
            }
            if any(found.values()):
                raise Conflict.has_dependents(self.name, entity_id, found)
            del self.rows[entity_id]


class DictOrders(DictRepository[Order]):
    def sort_key(self, entity: Order) -> tuple[datetime, str]:
        return (entity.placed_at, entity.id)

    def for_customer(self, customer_id: str) -> list[Order]:
        return sorted(
            (o for o in self.rows.values() if o.customer_id == customer_id), key=self.sort_key
        )

    def between(self, start: datetime, end: datetime) -> Iterator[Order]:
        _check_range(start, end)
        found = [o for o in self.rows.values() if start <= o.placed_at < end]
        return iter(sorted(found, key=self.sort_key))


class DictInteractions(DictRepository[Interaction]):
    def sort_key(self, entity: Interaction) -> tuple[datetime, str]:
        return (entity.at, entity.id)

    def for_customer(
        self, customer_id: str, kinds: Collection[InteractionKind] | None = None
    ) -> list[Interaction]:
        found = [
            i
            for i in self.rows.values()
            if i.customer_id == customer_id and (kinds is None or i.kind in kinds)
        ]
        return sorted(found, key=self.sort_key)

    def between(
        self,
        start: datetime,
        end: datetime,
        kinds: Collection[InteractionKind] | None = None,
    ) -> Iterator[Interaction]:
        _check_range(start, end)
        found = [
            i
            for i in self.rows.values()
            if start <= i.at < end and (kinds is None or i.kind in kinds)
        ]
        return iter(sorted(found, key=self.sort_key))


class DictStore:
    """Three dicts and a transaction that restores a snapshot on failure."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._customers = DictCustomers("customer", self.lock, self)
        self._orders = DictOrders("order", self.lock)
        self._interactions = DictInteractions("interaction", self.lock)
        self._depth = 0

    @property
    def customers(self) -> CustomerRepository:
        return self._customers

    @property
    def orders(self) -> OrderRepository:
        return self._orders

    @property
    def interactions(self) -> InteractionRepository:
        return self._interactions

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self.lock:
            repositories: tuple[DictRepository[Any], ...] = (
                self._customers,
                self._orders,
                self._interactions,
            )
            # Shallow copies are enough: the entities themselves never change.
            snapshot = [copy.copy(r.rows) for r in repositories]
            self._depth += 1
            try:
                yield
            except BaseException:
                for repository, rows in zip(repositories, snapshot, strict=True):
                    repository.rows = rows
                raise
            finally:
                self._depth -= 1

    def close(self) -> None:
        pass


def test_the_dict_store_satisfies_the_store_protocol() -> None:
    store = DictStore()
    assert isinstance(store, Store)
    assert isinstance(store.orders, OrderRepository)


class TestHostDictStore(StoreContract):
    def make_store(self) -> Store:
        return DictStore()
