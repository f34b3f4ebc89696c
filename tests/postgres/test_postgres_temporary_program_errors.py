"""TemporaryPostgres when one of its programs fails: the error names the program in its
own words, apart from the server log (names that look like options are in
``test_postgres_temporary_names.py``)."""

from __future__ import annotations

import pytest

from custmgmt.errors import StorageError
from custmgmt.testing.postgres import TemporaryPostgres


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
