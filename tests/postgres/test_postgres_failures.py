"""What goes wrong gives a clear library error: bad DSNs, no server, a newer or a foreign
schema, a lost connection, a process killed in the middle of a COPY."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from datetime import UTC, datetime
from typing import Any

import numpy as np
import psycopg
import psycopg.conninfo
import pytest
from _pg_support import OnPostgres, drop_schema, new_schema
from psycopg_pool import ConnectionPool

from custmgmt.adapters.postgres import PostgresStore
from custmgmt.analytics.batches import OrderBatch
from custmgmt.errors import Conflict, StorageError, ValidationError
from custmgmt.testing import make_customer

FORK = multiprocessing.get_context("fork")


def test_a_malformed_dsn_is_a_storage_error_naming_what_was_expected() -> None:
    with pytest.raises(StorageError, match=r"not a valid DSN.*expected 'postgresql://") as info:
        PostgresStore("host=localhost port=5432 dbname")
    assert isinstance(info.value.__cause__, psycopg.Error)


def test_a_password_in_a_dsn_never_shows_in_the_error() -> None:
    with pytest.raises(StorageError) as info:
        PostgresStore("postgresql://shop:s3cret@/db?host=/nonexistent-dir&connect_timeout=1")
    assert "s3cret" not in str(info.value)
    assert "***" in str(info.value)


def test_an_unreachable_server_is_a_storage_error() -> None:
    with pytest.raises(StorageError, match=r"cannot connect.*expected a running PostgreSQL"):
        PostgresStore("postgresql://postgres@/db?host=/nonexistent-dir", connect_timeout=1)


@pytest.mark.parametrize(
    ("option", "value"),
    [("schema", "Bad-Name"), ("schema", "pg_catalog"), ("schema", ""), ("pool_size", 0),
     ("retries", -1), ("connect_timeout", float("nan"))],
)  # fmt: skip
def test_bad_arguments_are_validation_errors_before_connecting(option: str, value: Any) -> None:
    with pytest.raises(ValidationError, match=option):
        PostgresStore("postgresql://postgres@/db?host=/nonexistent-dir", **{option: value})


def test_a_target_of_the_wrong_type_is_a_validation_error() -> None:
    with pytest.raises(ValidationError, match=r"a DSN, a psycopg_pool\.ConnectionPool"):
        PostgresStore(42)  # type: ignore[arg-type]


def _load_and_hang(dsn: str, schema: str, n: int) -> None:
    with PostgresStore(dsn, schema=schema, pool_size=1) as store:
        rng = np.random.default_rng(1)
        batch = OrderBatch.from_arrays(
            order_id=np.array([f"o{k:07d}" for k in range(n)], dtype=object),
            customer_id=np.array([f"c{k % 5000:05d}" for k in range(n)], dtype=object),
            placed_at=rng.integers(1.7e15, 1.75e15, n),
            amount=rng.integers(100, 100_000, n),
            currency="CNY",
            category="茶叶",
            channel="app",
        )
        store.load_orders(batch)


class TestSchemasAndConnections(OnPostgres):
    def test_a_schema_with_a_newer_version_is_refused(self) -> None:
        schema = new_schema()
        PostgresStore(self.dsn, schema=schema).close()
        with self.connect(autocommit=True) as conn:
            conn.execute(
                f"UPDATE {schema}.custmgmt_schema SET version = 99 WHERE component = 'core'"
            )
        with pytest.raises(StorageError, match=r"'core' is at version 99, newer than the 1"):
            PostgresStore(self.dsn, schema=schema)
        drop_schema(self.dsn, schema)

    def test_a_schema_of_another_application_is_refused_untouched(self) -> None:
        schema = new_schema()
        with self.connect(autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
            conn.execute(f"CREATE TABLE {schema}.invoices (id int)")
        with pytest.raises(StorageError, match=r"not a custmgmt schema.*\['invoices'\]"):
            PostgresStore(self.dsn, schema=schema)
        with self.connect() as conn:
            tables = conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                (schema,),
            ).fetchall()
        assert tables == [("invoices",)]
        # adopt=True adds the custmgmt tables beside the others.
        with PostgresStore(self.dsn, schema=schema, adopt=True) as store:
            store.customers.add(make_customer(id="c1"))
            assert store.customers.count() == 1
        drop_schema(self.dsn, schema)

    def test_two_schemas_in_one_database_are_two_stores(self) -> None:
        first, second = new_schema(), new_schema()
        with (
            PostgresStore(self.dsn, schema=first) as a,
            PostgresStore(self.dsn, schema=second) as b,
        ):
            a.customers.add(make_customer(id="c1", name="李娜"))
            assert b.customers.count() == 0
            assert a.customers.get("c1").name == "李娜"
        drop_schema(self.dsn, first)
        drop_schema(self.dsn, second)

    def test_stores_opening_at_once_migrate_once(self) -> None:
        schema = new_schema()
        processes = [FORK.Process(target=_open_and_close, args=(self.dsn, schema))
                     for _ in range(6)]  # fmt: skip
        for process in processes:
            process.start()
        for process in processes:
            process.join(timeout=60)
        assert [p.exitcode for p in processes] == [0] * 6
        with self.connect() as conn:
            rows = conn.execute(
                f"SELECT component, version FROM {schema}.custmgmt_schema ORDER BY component"
            ).fetchall()
        assert rows == [
            ("campaigns", 1), ("core", 1), ("followups", 1), ("loyalty", 1), ("privacy", 2),
            ("prospects", 1), ("ratings", 2), ("risk", 1), ("team", 1), ("tickets", 1),
        ]
        drop_schema(self.dsn, schema)

    def test_a_lost_connection_is_a_storage_error_and_the_pool_recovers(self) -> None:
        schema = new_schema()
        with PostgresStore(self.dsn, schema=schema, pool_size=1) as store:
            store.customers.add(make_customer(id="c1"))
            def cut_off_mid_transaction() -> None:
                with store.transaction():
                    store.customers.get("c1")
                    with self.connect(autocommit=True) as admin:
                        admin.execute(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE pid <> pg_backend_pid() AND datname = current_database() "
                            "AND state LIKE 'idle in transaction%'"
                        )
                    store.customers.add(make_customer(id="c2"))

            with pytest.raises(StorageError, match="connection was lost") as info:
                cut_off_mid_transaction()
            assert isinstance(info.value.__cause__, psycopg.Error)
            # The pool replaced the broken connection: the store works again.
            assert store.customers.count() == 1
            store.customers.add(make_customer(id="c2"))
            assert store.customers.count() == 2
        drop_schema(self.dsn, schema)

    def test_a_host_pool_keeps_its_own_settings(self) -> None:
        schema = new_schema()
        with ConnectionPool(self.dsn, min_size=1, max_size=2, open=True) as pool:
            with PostgresStore(pool, schema=schema) as store:
                store.customers.add(make_customer(id="c1"))
            with pool.connection() as conn:
                assert conn.execute("SHOW search_path").fetchone() == ('"$user", public',)
                assert conn.execute(f"SELECT count(*) FROM {schema}.customers").fetchone() == (1,)
        drop_schema(self.dsn, schema)

    def test_a_failing_statement_inside_a_transaction_undoes_only_itself(self) -> None:
        schema = new_schema()
        with PostgresStore(self.dsn, schema=schema) as store:
            with store.transaction():
                store.customers.add(make_customer(id="c1"))
                with pytest.raises(Conflict):
                    store.customers.add(make_customer(id="c1"))
                store.customers.add(make_customer(id="c2"))
            assert store.customers.count() == 2
        drop_schema(self.dsn, schema)

    @pytest.mark.slow
    def test_a_process_killed_in_the_middle_of_a_copy_leaves_none_of_the_batch(self) -> None:
        schema = new_schema()
        PostgresStore(self.dsn, schema=schema).close()
        loader = FORK.Process(target=_load_and_hang, args=(self.dsn, schema, 100_000))
        loader.start()
        seen = False
        try:
            with self.connect(autocommit=True) as admin:
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline and loader.is_alive():
                    found = admin.execute(
                        "SELECT 1 FROM pg_stat_activity WHERE state = 'active' "
                        "AND query LIKE 'COPY orders%%'"
                    ).fetchone()
                    if found:
                        seen = True
                        assert loader.pid is not None
                        os.kill(loader.pid, signal.SIGKILL)
                        break
                    time.sleep(0.002)
        finally:
            loader.join(timeout=30)
        assert seen, "the COPY was never seen running"
        assert loader.exitcode == -signal.SIGKILL
        with PostgresStore(self.dsn, schema=schema) as store:
            assert store.orders.count() == 0
            # The same batch loads completely afterwards: nothing half-written blocks it.
        _load_and_hang(self.dsn, schema, 100_000)
        with PostgresStore(self.dsn, schema=schema) as store:
            assert store.orders.count() == 100_000
            frame = store.order_frame(currency="CNY")
            assert len(frame) == 100_000
        drop_schema(self.dsn, schema)


def _open_and_close(dsn: str, schema: str) -> None:
    PostgresStore(dsn, schema=schema, pool_size=1).close()


def test_naive_bounds_are_refused_before_any_query() -> None:
    # The checks are the shared ones: no server needed to refuse bad input.
    from custmgmt.adapters.postgres.frames import order_query

    with pytest.raises(ValidationError, match="as_of"):
        order_query(currency="CNY", as_of=datetime(2026, 1, 1))
    sql, params = order_query(currency="CNY", as_of=datetime(2026, 1, 1, tzinfo=UTC))
    assert "placed_at <=" in sql
    assert params[0] == "CNY"


class TestDsnOptions(OnPostgres):
    def test_options_in_the_dsn_stay_in_force_beside_the_stores(self) -> None:
        schema = new_schema()
        dsn = psycopg.conninfo.make_conninfo(self.dsn, options="-c statement_timeout=4321")
        with PostgresStore(dsn, schema=schema) as store:
            assert store.fetch("SHOW statement_timeout") == [("4321ms",)]
            assert store.fetch("SHOW search_path") == [(schema,)]
            assert store.fetch("SHOW TimeZone") == [("UTC",)]
        drop_schema(self.dsn, schema)
