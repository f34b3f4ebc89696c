"""A stopped PostgreSQL server is reported soon, a busy pool is still waited for
(round 35).

A call on a store whose server had stopped waited for the pool's whole timeout (30 s)
before its StorageError: the pool only waits for a connection to come back. The store
now waits for its own pool :attr:`~PostgresDatabase.server_check_seconds` at a time and
checks the server in between, so a stopped server is a StorageError after about a
second, while a call that waits for a busy pool still waits up to ``pool_timeout``.
No test here measures time: they read the configured bounds back and check which
error comes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import psycopg
import pytest
from _pg_support import drop_schema, new_schema

from custmgmt.adapters.postgres import PostgresStore
from custmgmt.errors import StorageError, ValidationError
from custmgmt.testing import make_customer
from custmgmt.testing.postgres import TemporaryPostgres, find_postgres_bin


@pytest.fixture
def own_server() -> Iterator[TemporaryPostgres]:
    """A server of this test's own, which the test may stop."""
    if find_postgres_bin() is None:
        pytest.skip("needs PostgreSQL's initdb and pg_ctl (PG_BIN)")
    server = TemporaryPostgres()
    try:
        yield server
    finally:
        server.stop()


def test_a_call_after_the_server_stopped_is_a_storage_error_naming_the_lost_server(
    own_server: TemporaryPostgres,
) -> None:
    store = PostgresStore(own_server.dsn, pool_size=2)
    try:
        # The bound on how long a call waits before it checks the server: about a
        # second, not the pool's 30 s.
        assert store.server_check_seconds == 1.0
        assert store.pool_timeout == 30.0
        store.customers.add(make_customer(id="c1"))
        own_server.stop()
        for call in (lambda: store.customers.get("c1"), store.customers.count,
                     lambda: list(store.orders.iter_chunks())):  # fmt: skip
            with pytest.raises(StorageError, match="postgres: lost the server") as caught:
                call()
            assert str(caught.value).isprintable()  # one line, the server's hint included
            assert isinstance(caught.value.__cause__, psycopg.Error)
    finally:
        store.close()


def test_the_wait_bounds_are_settings_the_store_reports() -> None:
    # Checked before any connection is made.
    for bad in (0, -1, float("nan"), 3601, "5", True):
        with pytest.raises(ValidationError) as caught:
            PostgresStore("postgresql://nobody@/nowhere", pool_timeout=bad)  # type: ignore[arg-type]
        assert caught.value.field == "pool_timeout"


def test_a_busy_pool_is_still_waited_for_past_the_server_check(postgres_dsn: str) -> None:
    schema = new_schema()
    store = PostgresStore(postgres_dsn, schema=schema, pool_size=1)
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with store.transaction():
            store.customers.count()
            holding.set()
            # Longer than two server checks: the waiting call checks (and finds) the
            # server, and goes on waiting.
            release.wait(3 * store.server_check_seconds)

    holder = threading.Thread(target=hold)
    try:
        holder.start()
        assert holding.wait(30)
        assert store.customers.count() == 0  # got the connection once it was free
    finally:
        release.set()
        holder.join()
        store.close()
        drop_schema(postgres_dsn, schema)


def test_a_pool_that_stays_busy_is_a_storage_error_saying_so_not_a_lost_server(
    postgres_dsn: str,
) -> None:
    schema = new_schema()
    store = PostgresStore(postgres_dsn, schema=schema, pool_size=1, pool_timeout=1.5)
    assert store.pool_timeout == 1.5
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with store.transaction():
            store.customers.count()
            holding.set()
            release.wait(60)

    holder = threading.Thread(target=hold)
    try:
        holder.start()
        assert holding.wait(30)
        with pytest.raises(StorageError, match="no connection to the server became free"):
            store.customers.count()
    finally:
        release.set()
        holder.join()
        store.close()
        drop_schema(postgres_dsn, schema)
