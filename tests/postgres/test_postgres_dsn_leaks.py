"""Passwords that a DSN error or the demo's banner still showed, and DSN ``options``
that broke the store's own settings (found driving the CLI with hostile DSNs).

* libpq quotes the DSN, or the token it could not read, in some parse errors (an
  unterminated IPv6 address, a bad percent escape), so the driver's words carry the
  password into the store's message: the message must be masked as a whole.
* ``custmgmt demo`` printed ``--db`` with only a URL's user password masked: a
  ``password=`` query parameter, and the part of a password after an unescaped ``@``,
  showed on standard output.
* The store appended ``-c search_path=...`` to the DSN's ``options`` as text: options
  ending in a backslash escaped the space before it, every pooled connection was
  refused, and the store waited ``connect_timeout`` before a "pool initialization
  incomplete" error.
"""

from __future__ import annotations

import pytest

from custmgmt.adapters.postgres import PostgresStore
from custmgmt.cli import main
from custmgmt.errors import StorageError

NO_SERVER = "/nonexistent-custmgmt-socket-dir"


@pytest.mark.parametrize(
    "dsn",
    [
        # libpq: 'end of string reached when looking for matching "]" ... in URI: "<the DSN>"'
        "postgresql://shop:ter2zzsecret@[::1/shop",
        # libpq: 'invalid percent-encoded token: "<the password>"'
        f"postgresql://shop:ter2%zzsecret@/shop?host={NO_SERVER}",
        f"postgresql://shop@/shop?host={NO_SERVER}&password=ter2%zzsecret",
    ],
)
def test_a_password_that_libpq_quotes_back_is_masked_in_the_error(dsn: str) -> None:
    with pytest.raises(StorageError) as caught:
        PostgresStore(dsn, connect_timeout=1)
    assert "zzsecret" not in str(caught.value)


@pytest.mark.parametrize(
    ("extra", "password"),
    [("&password=ter2secret", "ter2secret"), ("", "ter2secret")],
)
def test_the_demo_banner_masks_every_form_of_password(
    postgres_dsn: str, extra: str, password: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # The test server trusts every local connection: any password is accepted.
    dsn = postgres_dsn + extra
    if not extra:  # an unescaped "@" inside a URL's password
        dsn = dsn.replace("postgresql://postgres@", "postgresql://postgres:hun@ter2secret@")
    main(["demo", "--db", dsn, "--customers", "5"])
    captured = capsys.readouterr()
    assert password not in captured.out + captured.err


def test_options_ending_in_a_backslash_leave_the_stores_settings_in_force(
    postgres_dsn: str,
) -> None:
    dsn = f"{postgres_dsn}&options=-c%20application_name%3Dshop%5C"
    with PostgresStore(dsn, schema="backslash_options", connect_timeout=2) as store:
        assert store.customers.count() == 0
        with store.writing() as conn:
            row = conn.execute("SELECT current_setting('search_path')").fetchone()
        assert row is not None
        assert row[0] == "backslash_options"
