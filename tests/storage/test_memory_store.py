"""What the memory store promises beyond the contract: isolation between threads."""

from __future__ import annotations

import threading

import pytest

from custmgmt.adapters.memory import MemoryStore
from custmgmt.errors import NotFound
from custmgmt.testing import make_customer


def test_another_thread_never_sees_a_transaction_half_done() -> None:
    store = MemoryStore()
    inside = threading.Event()
    seen: list[object] = []

    def reader() -> None:
        inside.wait()
        try:
            seen.append(store.customers.get("c-1"))
        except NotFound as exc:
            seen.append(exc)
        seen.append(store.customers.count())

    thread = threading.Thread(target=reader)
    thread.start()
    with pytest.raises(RuntimeError), store.transaction():  # noqa: PT012
        store.customers.add(make_customer(id="c-1"))
        inside.set()
        # Give the reader every chance to read while the block is open.
        thread.join(timeout=0.2)
        raise RuntimeError("roll back")
    thread.join()
    assert isinstance(seen[0], NotFound)
    assert seen[1] == 0


def test_a_thread_reads_its_own_writes_inside_a_transaction() -> None:
    store = MemoryStore()
    with store.transaction():
        customer = make_customer(id="c-1")
        store.customers.add(customer)
        assert store.customers.get("c-1") == customer
        assert store.customers.count() == 1
