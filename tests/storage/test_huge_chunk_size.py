"""A chunk size past SQL's 64-bit integers reads everything at once, in every store.

``SQLiteStore(...).customers.iter_chunks(10**30)`` raised a raw OverflowError (the
LIMIT could not take it) while the memory store read everything.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from custmgmt.adapters.memory import MemoryStore
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.errors import ValidationError
from custmgmt.testing import make_customer, make_order


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    s = MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "s.db")
    s.customers.add(make_customer(id="客户-1"))
    s.orders.add(make_order(id="O-1", customer_id="客户-1",
                            placed_at=datetime(2026, 1, 2, tzinfo=UTC)))
    yield s
    s.close()


@pytest.mark.parametrize("size", [10**30, 2**63, 2**63 - 1])
def test_a_chunk_size_past_64_bits_reads_everything(store: Any, size: int) -> None:
    assert [[c.id for c in chunk] for chunk in store.customers.iter_chunks(size)] == [["客户-1"]]
    assert [[o.id for o in chunk] for chunk in store.orders.iter_chunks(size)] == [["O-1"]]
    assert list(store.interactions.iter_chunks(size)) == []
    assert list(store.tickets.iter_chunks(size)) == []


@pytest.mark.parametrize("size", [0, -1, True, 1.5, "10"])
def test_a_chunk_size_that_is_not_a_positive_integer_is_refused(store: Any, size: Any) -> None:
    with pytest.raises(ValidationError):
        list(store.customers.iter_chunks(size))
