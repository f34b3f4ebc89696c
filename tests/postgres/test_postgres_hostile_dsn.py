"""Hostile DSNs: a password never shows in an error, however it is written, and a DSN
that libpq would read only in part is refused before anything connects."""

from __future__ import annotations

import pytest

from custmgmt.adapters.postgres import PostgresStore
from custmgmt.errors import StorageError

NO_SERVER = "/nonexistent-custmgmt-socket-dir"


@pytest.mark.parametrize(
    "dsn",
    [
        # An unescaped "@" in a URL's password: all of it is the password.
        f"postgresql://shop:hun@ter2secret@/shop?host={NO_SERVER}",
        # A quoted password with an escaped quote inside.
        f"host={NO_SERVER} password='a\\'ter2secret' user=shop",
        # A quote written twice (not libpq's escape, but a stranger's).
        f"host={NO_SERVER} password='it''s ter2secret' user=shop",
        # Keywords in capitals (libpq refuses them, the message still shows the DSN).
        f"host={NO_SERVER} PASSWORD=ter2secret",
        # In a URL's query.
        f"postgresql://shop@/shop?host={NO_SERVER}&password=ter2secret",
    ],
)
def test_no_part_of_a_password_is_in_the_error(dsn: str) -> None:
    with pytest.raises(StorageError) as caught:
        PostgresStore(dsn, connect_timeout=1)
    assert "ter2secret" not in str(caught.value)
    assert "***" in str(caught.value)


def test_a_dsn_with_a_nul_is_refused_before_connecting() -> None:
    # libpq stops at the NUL: "dbname=shop" would be opened instead of the one named.
    with pytest.raises(StorageError, match=r"not a valid DSN .*NUL"):
        PostgresStore(f"host={NO_SERVER} dbname=shop\x00_test", connect_timeout=1)
