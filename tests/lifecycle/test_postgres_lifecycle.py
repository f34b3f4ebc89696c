"""PostgresStore at the edges of its life: closed inside its own transaction (nothing of
it commits), closed while another thread's transaction is open (that one ends as it
would have), and a server that goes away: library errors, never the driver's or the
connection pool's warnings, on stderr; the CLI's stderr holds its one-line error and
nothing else."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from custmgmt.adapters.postgres import PostgresStore
from custmgmt.errors import StorageError
from custmgmt.testing import make_customer
from custmgmt.testing.postgres import TemporaryPostgres, find_postgres_bin

_schemas = itertools.count()
needs_postgres_programs = pytest.mark.skipif(
    find_postgres_bin() is None, reason="needs initdb and pg_ctl (a server of its own)"
)


@pytest.fixture
def schema(postgres_dsn: str) -> Iterator[str]:
    name = f"lc{os.getpid()}_{next(_schemas)}"
    yield name
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


def _ids(dsn: str, schema: str) -> set[str]:
    with PostgresStore(dsn, schema=schema, create=False, pool_size=1) as store:
        return {c.id for chunk in store.customers.iter_chunks() for c in chunk}


# -- closing inside a transaction ------------------------------------------------------------
def test_a_store_closed_inside_its_transaction_commits_nothing_of_it(
    postgres_dsn: str, schema: str
) -> None:
    store = PostgresStore(postgres_dsn, schema=schema, pool_size=2)
    store.customers.add(make_customer(id="c-kept"))
    with (  # noqa: PT012
        pytest.raises(StorageError, match="closed inside a transaction"),
        store.transaction(),
    ):
        store.customers.add(make_customer(id="c-lost"))
        with store.transaction():
            store.customers.add(make_customer(id="c-lost-too"))
        store.close()
        with pytest.raises(StorageError, match="the store is closed"):
            store.customers.add(make_customer(id="c-after"))
    assert _ids(postgres_dsn, schema) == {"c-kept"}


def test_closing_inside_a_transaction_on_a_hosts_connection_undoes_only_the_stores_block(
    postgres_dsn: str, schema: str
) -> None:
    PostgresStore(postgres_dsn, schema=schema, pool_size=1).close()
    host: psycopg.Connection[Any] = psycopg.connect(postgres_dsn)  # not autocommit
    try:
        host.execute(f"CREATE TABLE {schema}.host_notes (text text)")
        host.commit()
        store = PostgresStore(host, schema=schema)
        host.execute(f"INSERT INTO {schema}.host_notes VALUES ('mine')")  # the host's own
        with (  # noqa: PT012
            pytest.raises(StorageError, match="closed inside a transaction"),
            store.transaction(),
        ):
            store.customers.add(make_customer(id="c-lost"))
            store.close()
        host.commit()
        notes = host.execute(f"SELECT text FROM {schema}.host_notes").fetchall()
        assert notes == [("mine",)]
        assert host.execute(f"SELECT count(*) FROM {schema}.customers").fetchone() == (0,)
    finally:
        host.close()


def test_closing_waits_for_another_threads_transaction_which_commits(
    postgres_dsn: str, schema: str
) -> None:
    store = PostgresStore(postgres_dsn, schema=schema, pool_size=2)
    inside, go_on = threading.Event(), threading.Event()
    outcome: dict[str, BaseException | None] = {}

    def work() -> None:
        try:
            with store.transaction():
                store.customers.add(make_customer(id="c-first"))
                inside.set()
                go_on.wait()
                store.customers.add(make_customer(id="c-second"))
            outcome["work"] = None
        except BaseException as exc:  # reported below
            outcome["work"] = exc
        finally:
            inside.set()

    worker = threading.Thread(target=work)
    worker.start()
    inside.wait()
    closer = threading.Thread(target=store.close)
    closer.start()
    # Once close() has begun, new work is refused at once (this thread has no
    # transaction); the worker's open transaction is not.
    while True:
        try:
            store.customers.count()
        except StorageError as exc:
            refused = str(exc)
            break
    assert "the store is closed" in refused
    go_on.set()
    worker.join()
    closer.join()
    assert outcome == {"work": None}
    assert _ids(postgres_dsn, schema) == {"c-first", "c-second"}


def test_closing_inside_a_transaction_waits_for_nobody_and_ends_every_open_transaction(
    postgres_dsn: str, schema: str
) -> None:
    # Waiting for the other thread here would never end: it waits for this thread's
    # row lock, which only ends with this thread's block.
    store = PostgresStore(postgres_dsn, schema=schema, pool_size=2)
    kept = make_customer(id="c-1")
    store.customers.add(kept)
    changed = kept.update_profile(at=kept.registered_at, name="周芷若")
    outcome: dict[str, BaseException | None] = {}

    def work() -> None:
        try:
            with store.transaction():
                store.customers.update(changed)  # waits for the main thread's row lock
            outcome["work"] = None
        except BaseException as exc:  # reported below
            outcome["work"] = exc

    worker = threading.Thread(target=work)
    with (  # noqa: PT012
        pytest.raises(StorageError, match="closed inside a transaction"),
        store.transaction(),
    ):
        store.customers.update(changed)
        worker.start()
        with psycopg.connect(postgres_dsn, autocommit=True) as watcher:
            waiting = (
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                " AND datname = current_database()"
            )
            while watcher.execute(waiting).fetchone() == (0,):
                pass
        store.close()
    worker.join(120)  # a guard against the old hang, not a measure of time
    assert not worker.is_alive()
    assert isinstance(outcome["work"], StorageError), outcome
    assert "the store is closed" in str(outcome["work"])
    with PostgresStore(postgres_dsn, schema=schema, create=False, pool_size=1) as again:
        assert again.customers.get("c-1") == kept


# -- a server that goes away -----------------------------------------------------------------
def _python(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``script`` in a fresh interpreter with no logging configured (as a host
    application's script or the CLI), so that nothing but Python's last-resort
    handler would print the pool's log records."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip


@needs_postgres_programs
def test_a_lost_server_gives_library_errors_and_nothing_from_the_pool_on_stderr() -> None:
    # The pool's threads kept reconnecting and logged "error connecting in ..." on
    # stderr, every few tenths of a second, until the call gave up.
    done = _python("""
        from psycopg_pool import ConnectionPool
        from custmgmt.adapters.postgres import PostgresStore
        from custmgmt.errors import StorageError
        from custmgmt.testing.postgres import TemporaryPostgres

        server = TemporaryPostgres()
        try:
            dsn = server.create_database("gone")
            pool = ConnectionPool(dsn, min_size=1, max_size=2, timeout=3, open=True)
            store = PostgresStore(pool, schema="s")
            store.customers.count()
            server.stop()
            try:
                store.customers.count()
            except StorageError as exc:
                print("StorageError")
            store.close()
            pool.close()
        finally:
            server.stop()
        print("done")
    """)
    assert done.stdout.split() == ["StorageError", "done"], done
    assert done.stderr == ""


@needs_postgres_programs
def test_a_server_lost_inside_a_transaction_prints_no_rollback_warning() -> None:
    # psycopg logged "error ignored in rollback of <psycopg.Transaction ...>" on stderr
    # when the block's own exception met a server that was gone.
    done = _python("""
        from custmgmt.adapters.postgres import PostgresStore
        from custmgmt.testing import make_customer
        from custmgmt.testing.postgres import TemporaryPostgres

        server = TemporaryPostgres()
        try:
            store = PostgresStore(server.create_database("gone"), pool_size=1)
            try:
                with store.transaction():
                    store.customers.add(make_customer(id="c-1"))
                    server.stop()
                    raise KeyError("the block's own error")
            except KeyError:
                print("KeyError")
            store.close()
        finally:
            server.stop()
        print("done")
    """)
    assert done.stdout.split() == ["KeyError", "done"], done
    assert done.stderr == ""


@needs_postgres_programs
def test_the_stores_own_pool_names_a_lost_server_in_the_servers_words() -> None:
    with TemporaryPostgres() as server:
        store = PostgresStore(server.create_database("gone"), pool_size=1, connect_timeout=2)
        store.customers.add(make_customer(id="c-1"))
        # The pool waits 30 s for a connection; the test need not (the pool's own
        # setting, as a host passing its own pool would set it).
        store._pool.timeout = 2  # type: ignore[union-attr]
        server.stop()
        with pytest.raises(StorageError, match=r"lost the server of .*expected a running"):
            store.customers.count()
        store.close()


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    """``python -m custmgmt ARGS`` in a fresh interpreter, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "custmgmt", *args],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def _one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = done.stderr.splitlines()
    assert done.returncode == 2, done
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("custmgmt: error: postgres: "), lines
    return lines[0]


@pytest.mark.parametrize(
    "dsn",
    [
        "postgresql://postgres@/shop?host=/nonexistent-dir",
        "postgresql://postgres@127.0.0.1:1/shop?connect_timeout=2",
        "postgresql://postgres@no-such-host.invalid/shop?connect_timeout=2",
        "postgresql://shop:s3cret@/shop?host=/nonexistent-dir",
        "postgresql://postgres@/shop?host=/nonexistent-dir&no_such_option=1",
    ],
)
def test_the_cli_on_an_unreachable_or_malformed_dsn_prints_one_error_line(dsn: str) -> None:
    done = _cli("demo", "--db", dsn)
    line = _one_error_line(done)
    assert "s3cret" not in line
    assert done.stdout == ""


@needs_postgres_programs
@pytest.mark.slow
def test_the_cli_demo_on_postgres_has_a_clean_stderr_and_one_line_when_the_server_goes() -> None:
    with TemporaryPostgres() as server:
        dsn = server.create_database("demo")
        done = _cli("demo", "--db", dsn, "--customers", "80")
        assert done.returncode == 0, done.stderr
        assert done.stderr == ""
        # Again, with the server stopped once the demo has begun to print.
        demo = subprocess.Popen(
            [sys.executable, "-m", "custmgmt", "demo", "--db", dsn, "--customers", "80"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
        assert demo.stdout is not None
        demo.stdout.readline()
        server.stop()
        out, err = demo.communicate(timeout=300)
        _one_error_line(subprocess.CompletedProcess(demo.args, demo.returncode, out, err))
