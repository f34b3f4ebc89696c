"""The core reads of every store refuse input and a closed store when they are called
(round 35), and a bulk load refuses ids the domain refuses in every store.

``iter_chunks`` and ``between`` of the memory store raised at the call; the SQLite and
PostgreSQL ones (``adapters/_sql_core_reads.py``) returned a lazy iterator that raised
the closed store's StorageError only at its first ``next()``, so the same host code
failed at different lines on different stores. Also: ``store.load_orders(batch)``
wrote an id with a tab or a line break straight into SQLite or PostgreSQL (the memory
store made an ``Order`` of it and refused it), after which every read of the orders
failed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import attrs
import numpy as np
import pytest

from custmgmt.adapters.memory import MemoryStore
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.analytics.batches import OrderBatch
from custmgmt.errors import StorageError, ValidationError
from custmgmt.testing import make_customer, make_interaction, make_order

T0 = datetime(2026, 1, 1, tzinfo=UTC)
T1 = datetime(2026, 2, 1, tzinfo=UTC)


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest) -> Iterator[Any]:
    s = (MemoryStore() if request.param == "memory" else SQLiteStore(":memory:")
         if request.param == "sqlite" else request.getfixturevalue("postgres_store"))  # fmt: skip
    s.customers.add(make_customer(id="c1"))
    s.orders.add(make_order(id="o1", customer_id="c1", placed_at=T0))
    s.interactions.add(make_interaction(id="i1", customer_id="c1", at=T0))
    yield s
    s.close()


# Every lazy read of the core repositories: each returns an iterator.
LAZY_READS: dict[str, Callable[[Any], Any]] = {
    "customers.iter_chunks": lambda s: s.customers.iter_chunks(1),
    "orders.iter_chunks": lambda s: s.orders.iter_chunks(1),
    "interactions.iter_chunks": lambda s: s.interactions.iter_chunks(1),
    "orders.between": lambda s: s.orders.between(T0, T1),
    "interactions.between": lambda s: s.interactions.between(T0, T1),
    "interactions.between(kinds)": lambda s: s.interactions.between(T0, T1, kinds=()),
}
EAGER_READS: dict[str, Callable[[Any], Any]] = {
    "orders.for_customer": lambda s: s.orders.for_customer("c1"),
    "orders.for_customer(no id)": lambda s: s.orders.for_customer(None),
    "interactions.for_customer": lambda s: s.interactions.for_customer("c1"),
    "interactions.for_customer(bad id)": lambda s: s.interactions.for_customer("c1\n"),
}


@pytest.mark.parametrize("read", LAZY_READS)
def test_a_lazy_read_of_a_closed_store_raises_when_it_is_called(store: Any, read: str) -> None:
    store.close()
    with pytest.raises(StorageError, match="the store is closed"):
        LAZY_READS[read](store)  # not only at next()


@pytest.mark.parametrize("read", EAGER_READS)
def test_a_customer_read_of_a_closed_store_raises_whatever_the_id(store: Any, read: str) -> None:
    # An id no store can hold used to return [] from the SQL stores without asking
    # whether the store was open; the memory store raised.
    store.close()
    with pytest.raises(StorageError, match="the store is closed"):
        EAGER_READS[read](store)


@pytest.mark.parametrize("size", [0, -1, "3", True, 2.0])
def test_a_bad_chunk_size_is_refused_at_the_call_before_the_closed_store(
    store: Any, size: Any
) -> None:
    # The same order of checks everywhere: the arguments, then the store.
    store.close()
    for repository in (store.customers, store.orders, store.interactions):
        with pytest.raises(ValidationError) as caught:
            repository.iter_chunks(size)
        assert caught.value.field == "size"


def test_a_naive_range_is_refused_at_the_call_before_the_closed_store(store: Any) -> None:
    store.close()
    for repository in (store.orders, store.interactions):
        with pytest.raises(ValidationError):
            repository.between(datetime(2026, 1, 1), T1)


def test_an_open_store_still_streams_and_a_store_closed_midway_ends_the_stream(
    store: Any,
) -> None:
    assert [c.id for chunk in store.customers.iter_chunks(1) for c in chunk] == ["c1"]
    assert [o.id for o in store.orders.between(T0, T1)] == ["o1"]
    store.customers.add(make_customer(id="c2"))
    chunks = store.customers.iter_chunks(1)
    assert [c.id for c in next(chunks)] == ["c1"]
    store.close()
    with pytest.raises(StorageError, match="the store is closed"):
        next(chunks)


@pytest.mark.parametrize(
    ("column", "bad"),
    [("order_id", "o\t2"), ("customer_id", "c2\n"), ("customer_id", "c2\x85"), ("sku", "S\r1")],
)
def test_load_orders_refuses_an_id_the_domain_refuses_and_writes_nothing(
    store: Any, column: str, bad: str
) -> None:
    # OrderBatch.from_arrays refuses such ids itself: a batch built by hand (as a host
    # could) reaches the store's own check.
    batch = OrderBatch.from_arrays(
        order_id=["o2", "o3"], customer_id=["c1", "c1"], sku=["S-1", "S-1"],
        placed_at=[T0, T0], amount=[100, 200], currency="CNY", category="茶",
    )  # fmt: skip
    first = getattr(batch, column).tolist()[0]
    forged = attrs.evolve(batch, **{column: np.array([first, bad], dtype=object)})
    with pytest.raises(ValidationError) as caught:
        store.load_orders(forged)
    assert caught.value.field == f"{column}[1]"  # the same error from every store
    assert caught.value.value == bad
    assert store.orders.count() == 1
    assert [o.id for chunk in store.orders.iter_chunks() for o in chunk] == ["o1"]


def test_load_orders_refuses_a_hand_built_batch_whose_ids_are_not_text(store: Any) -> None:
    batch = OrderBatch.from_arrays(
        order_id=["o2", "o3"], customer_id=["c1", "c1"], placed_at=[T0, T0],
        amount=[100, 200], currency="CNY", category="茶",
    )  # fmt: skip
    forged = attrs.evolve(batch, order_id=np.array(["o2", 3], dtype=object))
    with pytest.raises(ValidationError) as caught:
        store.load_orders(forged)
    assert caught.value.field == "order_id[1]"
    assert store.orders.count() == 1
