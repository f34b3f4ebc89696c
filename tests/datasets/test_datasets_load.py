"""load_into: chunked, one transaction per chunk, progress reported, errors named."""

from __future__ import annotations

from contextlib import contextmanager

import pytest

from custmgmt.adapters.memory import MemoryStore
from custmgmt.datasets import LoadReport, load_into, make_dataset
from custmgmt.errors import Conflict, StorageError, ValidationError


@pytest.fixture(scope="module")
def dataset():
    return make_dataset(40, 250, seed=13)


class SpyStore:
    """A MemoryStore that records transactions and the add_many calls inside them."""

    def __init__(self, fail_on_call: int | None = None) -> None:
        self.inner = MemoryStore()
        self.events: list[tuple[str, int]] = []
        self.depth = 0
        self.calls = 0
        self.fail_on_call = fail_on_call
        spy = self

        class Repo:
            def __init__(self, name: str) -> None:
                self.name = name
                self.repo = getattr(spy.inner, name)

            def add_many(self, entities):
                spy.calls += 1
                assert spy.depth == 1, "add_many outside a transaction"
                entities = list(entities)
                stored = self.repo.add_many(entities)
                spy.events.append((self.name, len(entities)))
                if spy.calls == spy.fail_on_call:
                    raise StorageError("disk full")
                return stored

        self.customers = Repo("customers")
        self.orders = Repo("orders")
        self.interactions = Repo("interactions")

    @contextmanager
    def transaction(self):
        with self.inner.transaction():
            self.depth += 1
            try:
                yield
            finally:
                self.depth -= 1

    def close(self) -> None:
        pass


def test_everything_is_written_and_reported(dataset):
    store = MemoryStore()
    report = load_into(store, dataset, chunk_size=64)
    assert report == LoadReport(
        customers=40, orders=250, interactions=dataset.n_interactions
    )
    assert report.total == 40 + 250 + dataset.n_interactions
    assert store.customers.count() == 40
    assert store.orders.count() == 250
    assert store.interactions.count() == dataset.n_interactions


def test_each_chunk_is_one_add_many_inside_its_own_transaction(dataset):
    store = SpyStore()
    load_into(store, dataset, chunk_size=100)
    assert store.events[0] == ("customers", 40)
    assert store.events[1:4] == [("orders", 100), ("orders", 100), ("orders", 50)]
    assert all(size <= 100 for _, size in store.events)
    assert [name for name, _ in store.events] == sorted(
        (name for name, _ in store.events), key=["customers", "orders", "interactions"].index
    )


def test_progress_is_called_after_each_chunk_up_to_the_total(dataset):
    seen: list[tuple[int, int]] = []
    load_into(MemoryStore(), dataset, chunk_size=100, progress=lambda d, t: seen.append((d, t)))
    total = 40 + 250 + dataset.n_interactions
    assert all(t == total for _, t in seen)
    done = [d for d, _ in seen]
    assert done == sorted(done)
    assert done[:4] == [40, 140, 240, 290]
    assert done[-1] == total


def test_a_failing_chunk_is_rolled_back_and_earlier_chunks_stay(dataset):
    store = SpyStore(fail_on_call=3)  # customers, orders chunk 1, orders chunk 2 fails
    with pytest.raises(StorageError):
        load_into(store, dataset, chunk_size=100)
    assert store.inner.customers.count() == 40
    assert store.inner.orders.count() == 100
    assert store.inner.interactions.count() == 0


def test_loading_twice_conflicts_without_writing_more(dataset):
    store = MemoryStore()
    load_into(store, dataset)
    with pytest.raises(Conflict):
        load_into(store, dataset)
    assert store.orders.count() == 250


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"chunk_size": 0}, "chunk_size"),
        ({"chunk_size": -3}, "chunk_size"),
        ({"chunk_size": 2.5}, "chunk_size"),
        ({"progress": "yes"}, "progress"),
    ],
)
def test_bad_arguments_are_named(dataset, kwargs, field):
    store = MemoryStore()
    with pytest.raises(ValidationError) as caught:
        load_into(store, dataset, **kwargs)
    assert caught.value.field == field
    assert store.customers.count() == 0


def test_a_dataset_is_required():
    with pytest.raises(ValidationError) as caught:
        load_into(MemoryStore(), {"n_customers": 10})  # type: ignore[arg-type]
    assert caught.value.field == "dataset"


def test_a_dataset_round_trips_through_the_sqlite_store():
    sqlite = pytest.importorskip("custmgmt.adapters.sqlite")
    dataset = make_dataset(30, 150, seed=17)
    store = sqlite.SQLiteStore(":memory:")
    try:
        load_into(store, dataset, chunk_size=64)
        for customer in dataset.customers():
            assert store.customers.get(customer.id) == customer
        for order in dataset.orders():
            assert store.orders.get(order.id) == order
        for event in dataset.interactions():
            assert store.interactions.get(event.id) == event
    finally:
        store.close()
