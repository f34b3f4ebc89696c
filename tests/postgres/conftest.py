"""The PostgreSQL server the tests in this folder run against.

A session fixture starts a throwaway server (:class:`custmgmt.testing.postgres.
TemporaryPostgres`: ``initdb`` into a temporary directory, as the ``postgres`` user when
the tests run as root, listening on a Unix socket in that directory only) and always
stops and removes it at the end, failing tests or not; each test module gets a
database of its own. ``CUSTMGMT_TEST_DSN`` points the tests at an existing server
instead (each test then works in a schema of its own, dropped afterwards).

Without PostgreSQL's programs the tests are skipped with the reason printed
(``-ra``), except in CI (``CI=true``), where that is a failure.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

import pytest

from custmgmt.testing.postgres import TemporaryPostgres, find_postgres_bin


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[TemporaryPostgres | str]:
    """The temporary server, or the DSN of ``CUSTMGMT_TEST_DSN``."""
    given = os.environ.get("CUSTMGMT_TEST_DSN")
    if given:
        yield given
        return
    if find_postgres_bin() is None:
        reason = (
            "PostgreSQL tests need initdb and pg_ctl (apt-get install postgresql, or set "
            "PG_BIN) or CUSTMGMT_TEST_DSN pointing at a server"
        )
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(f"CI must run the PostgreSQL tests: {reason}")
        pytest.skip(reason)
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
