"""Shared test settings: hypothesis profiles for local runs, CI and long sweeps, and the
PostgreSQL server of ``tests/postgres``.

The profile is chosen by ``HYPOTHESIS_PROFILE`` (``dev``, ``ci`` or ``sweep``); without
it, ``ci`` when ``CI`` is set and ``dev`` otherwise. Both ``dev`` and ``ci`` run 100
examples per property (fewer where a test asks for fewer).

``sweep`` is the long hostile-input run: 10,000 examples for every property that does
not set its own number, meant for the bad-input sweeps::

    HYPOTHESIS_PROFILE=sweep pytest -p no:cacheprovider \\
        tests/domain/test_bad_input_sweep.py \\
        tests/architecture/test_bad_input_sweep_capabilities.py
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from custmgmt.testing.postgres import TemporaryPostgres, find_postgres_bin

settings.register_profile(
    "ci",
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None)
settings.register_profile(
    "sweep",
    max_examples=10_000,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
_DEFAULT = "ci" if os.environ.get("CI") else "dev"
# The documented longer run: HYPOTHESIS_PROFILE=long pytest ... (10,000 examples a test).
settings.register_profile("long", deadline=None, max_examples=10_000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or _DEFAULT)


# -- PostgreSQL ----------------------------------------------------------------------
# A session fixture starts a throwaway server (custmgmt.testing.postgres.TemporaryPostgres:
# initdb into a temporary directory, as the postgres user when the tests run as root,
# listening on a Unix socket in that directory only) and always stops and removes it at
# the end, failing tests or not; each test module gets a database of its own.
# CUSTMGMT_TEST_DSN points the tests at an existing server instead (each test then
# works in a schema of its own, dropped afterwards). Without PostgreSQL's programs the
# tests are skipped with the reason printed (-ra), except in CI (CI=true), where that
# is a failure. docs/postgres.md starts its own server, and is skipped likewise.

_NO_POSTGRES = (
    "PostgreSQL tests need initdb and pg_ctl (apt-get install postgresql, or set PG_BIN)"
    " or CUSTMGMT_TEST_DSN pointing at a server"
)


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("true", "1")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip docs/postgres.md, with the reason, where no PostgreSQL can be started
    (never in CI: there the page fails instead)."""
    if find_postgres_bin() is not None or _in_ci():
        return
    for item in items:
        if item.path.name == "postgres.md":
            item.add_marker(pytest.mark.skip(reason=f"docs/postgres.md: {_NO_POSTGRES}"))


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[TemporaryPostgres | str]:
    """The temporary server, or the DSN of ``CUSTMGMT_TEST_DSN``."""
    given = os.environ.get("CUSTMGMT_TEST_DSN")
    if given:
        yield given
        return
    if find_postgres_bin() is None:
        if _in_ci():
            pytest.fail(f"CI must run the PostgreSQL tests: {_NO_POSTGRES}")
        pytest.skip(_NO_POSTGRES)
    server = TemporaryPostgres()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def postgres_dsn(postgres_server: TemporaryPostgres | str, request: pytest.FixtureRequest) -> str:
    """A database for this test module (on an existing server: its one database)."""
    if isinstance(postgres_server, str):
        return postgres_server
    name = re.sub(r"[^a-z0-9_]", "_", request.module.__name__.rsplit(".", 1)[-1].lower())
    return postgres_server.create_database(name[:60])


_store_schemas = itertools.count()


@pytest.fixture
def postgres_store(postgres_dsn: str) -> Iterator[Any]:
    """A PostgresStore in a schema of its own in the module's database, dropped
    afterwards: for capability tests that run on every store (memory, SQLite, PostgreSQL)."""
    import psycopg  # the postgres extra: only tests that ask for this fixture need it

    from custmgmt.adapters.postgres import PostgresStore

    schema = f"s{os.getpid()}_{next(_store_schemas)}"
    store = PostgresStore(postgres_dsn, schema=schema, pool_size=2)
    try:
        yield store
    finally:
        store.close()
        with psycopg.connect(postgres_dsn, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
