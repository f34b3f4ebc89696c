"""Settings for the documentation's examples, which run as doctests.

``postgres.md`` runs against a real server: a throwaway one started for the page
(:class:`custmgmt.testing.postgres.TemporaryPostgres`, stopped afterwards) or the one
``CUSTMGMT_TEST_DSN`` names; its examples get ``dsn`` (an empty database) and ``pg_bin``
(where ``pg_dump`` is). Without PostgreSQL's programs the page is skipped with the
reason printed, except in CI (``CI=true``), where that is a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def _docs_postgres() -> Iterator[tuple[str, str | None]]:
    from custmgmt.testing.postgres import TemporaryPostgres, find_postgres_bin

    given = os.environ.get("CUSTMGMT_TEST_DSN")
    if given:
        yield given, find_postgres_bin()
        return
    if find_postgres_bin() is None:
        reason = "docs/postgres.md needs PostgreSQL's programs (apt-get install postgresql)"
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(reason)
        pytest.skip(reason)
    server = TemporaryPostgres()
    try:
        yield server.create_database("docs"), server.bin_dir
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def _postgres_page(request: pytest.FixtureRequest, doctest_namespace: dict[str, Any]) -> None:
    if request.node.path.name != "postgres.md":
        return
    dsn, pg_bin = request.getfixturevalue("_docs_postgres")
    doctest_namespace["dsn"] = dsn
    doctest_namespace["pg_bin"] = pg_bin
