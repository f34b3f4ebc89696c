"""The loyalty tests' store: memory and SQLite, each holding customer C-1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from _loyalty_support import add_customer

from custmgmt.adapters.memory import MemoryStore
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.loyalty.ports import LoyaltyStore


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest) -> Iterator[LoyaltyStore]:
    made: LoyaltyStore = MemoryStore() if request.param == "memory" else SQLiteStore(":memory:")
    add_customer(made)
    yield made
    made.close()
