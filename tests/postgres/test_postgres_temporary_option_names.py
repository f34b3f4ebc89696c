"""TemporaryPostgres with database names that look like options: createdb and dropdb
read them as names (after ``--``), not as options ("-Uother" once meant "connect as
the role other", "--help" printed help and failed)."""

from __future__ import annotations

import psycopg
import pytest

from custmgmt.errors import StorageError
from custmgmt.testing.postgres import TemporaryPostgres


@pytest.mark.parametrize("name", ["-x", "--help", "-Uother", "--maintenance-db=template1"])
def test_a_name_that_looks_like_an_option_is_a_name(
    postgres_server: TemporaryPostgres | str, name: str
) -> None:
    if isinstance(postgres_server, str):
        pytest.skip("CUSTMGMT_TEST_DSN: no temporary server to create databases on")
    dsn = postgres_server.create_database(name)
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT current_database()").fetchone()
    assert row is not None
    assert row[0] == name
    postgres_server.drop_database(name)
    with pytest.raises(psycopg.OperationalError, match="does not exist"):
        psycopg.connect(dsn).close()


def test_a_failing_program_is_named_with_its_own_words_apart_from_the_server_log(
    postgres_server: TemporaryPostgres | str,
) -> None:
    if isinstance(postgres_server, str):
        pytest.skip("CUSTMGMT_TEST_DSN: no temporary server to create databases on")
    postgres_server.create_database("twice")
    try:
        with pytest.raises(StorageError) as caught:
            postgres_server.create_database("twice")
        first, _, log = str(caught.value).partition("\nserver log (end):\n")
        assert first.startswith("postgres: createdb failed (1): ")
        assert 'database "twice" already exists' in first
        assert log  # the server's log follows on lines of its own
    finally:
        postgres_server.drop_database("twice")
