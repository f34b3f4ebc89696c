"""Fixtures of the privacy tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from custmgmt.adapters.memory import MemoryStore
from custmgmt.adapters.sqlite import SQLiteStore


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store_of_each_kind(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A fresh empty store of each bundled kind (PostgreSQL: a schema of the test
    server, see ``postgres_store``)."""
    if request.param == "postgres":
        yield request.getfixturevalue("postgres_store")
        return
    made: Any = MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "s.db")
    yield made
    if request.param == "sqlite":
        made.close()
