"""What the PostgreSQL tests share: a fresh schema per store, dropped afterwards."""

from __future__ import annotations

import itertools
import os
from typing import Any

import psycopg
import pytest

_numbers = itertools.count()


def new_schema() -> str:
    """A schema name no other test (or test process) uses."""
    return f"t{os.getpid()}_{next(_numbers)}"


def drop_schema(dsn: str, schema: str) -> None:
    """Drop ``schema`` and everything in it."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


class OnPostgres:
    """Mixin for test classes: ``self.dsn`` is the module's database."""

    dsn: str

    # Class scope: set before pytest's setup_method (which the contract suites use to
    # make their store) runs for each test.
    @pytest.fixture(autouse=True, scope="class")
    @classmethod
    def _postgres(cls, postgres_dsn: str) -> None:
        cls.dsn = postgres_dsn

    def connect(self, **kwargs: Any) -> psycopg.Connection[Any]:
        """A new connection of the host's own."""
        return psycopg.connect(self.dsn, **kwargs)
