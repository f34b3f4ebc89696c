"""TemporaryPostgres with database names a stranger might choose: the DSN it hands
out opens that database and no other (the name is percent-encoded in the URL), and
names that look like options are names to createdb and dropdb (after ``--``: "-Uother"
once meant "connect as the role other", "--help" printed help and failed)."""

from __future__ import annotations

import psycopg
import pytest

from custmgmt.testing.postgres import TemporaryPostgres


@pytest.mark.parametrize(
    "name",
    ["shop tests", "a%41b", "x?host=/tmp", "q/r", "测试库 😀", "a#b",
     "-x", "--help", "-Uother", "--maintenance-db=template1"],
)
def test_the_dsn_of_any_name_opens_that_database(
    postgres_server: TemporaryPostgres | str, name: str
) -> None:
    if isinstance(postgres_server, str):
        pytest.skip("CUSTMGMT_TEST_DSN: no temporary server to create databases on")
    dsn = postgres_server.create_database(name)
    try:
        with psycopg.connect(dsn) as conn:
            row = conn.execute("SELECT current_database()").fetchone()
        assert row is not None
        assert row[0] == name
    finally:
        postgres_server.drop_database(name)
    with pytest.raises(psycopg.OperationalError, match="does not exist"):
        psycopg.connect(dsn).close()
