"""SQLite stores at the edges of their life: one file opened by two stores, a folder,
a read-only file, a file that is not a database (never destroyed), a store closed
inside its own transaction (nothing of it is kept, on a file or on a host's
connection)."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.errors import StorageError, ValidationError
from custmgmt.testing import make_customer

MODES = ("create", "existing", "read_only")
#: The first 16 bytes of every SQLite database file.
SQLITE_HEADER = b"SQLite format 3\x00"


def _ids(path: Path) -> set[str]:
    with SQLiteStore(path, mode="read_only") as store:
        return {c.id for chunk in store.customers.iter_chunks() for c in chunk}


# -- one file, two stores ---------------------------------------------------------------
def test_two_stores_on_one_file_see_each_others_commits_and_close_apart(
    tmp_path: Path,
) -> None:
    path = tmp_path / "shop.sqlite3"
    first, second = SQLiteStore(path), SQLiteStore(path, timeout=0.1)
    first.customers.add(make_customer(id="c-1"))
    assert second.customers.get("c-1").id == "c-1"
    with first.transaction():
        first.customers.add(make_customer(id="c-2"))
        # The other store waits for the lock, then fails as a library error, and
        # writes nothing; it still reads the last committed state.
        with pytest.raises(StorageError, match="locked") as raised:
            second.customers.add(make_customer(id="c-3"))
        assert isinstance(raised.value.__cause__, sqlite3.Error)
        assert second.customers.count() == 1
    first.close()
    # Closing one store closes only that one.
    with pytest.raises(StorageError, match="the store is closed"):
        first.customers.count()
    second.customers.add(make_customer(id="c-3"))
    second.close()
    assert _ids(path) == {"c-1", "c-2", "c-3"}


def test_a_store_opens_while_another_holds_a_write_transaction_on_the_file(
    tmp_path: Path,
) -> None:
    # Opening took a write lock to check the schema: it waited for the other
    # transaction and then failed with "beginning a transaction failed: database is
    # locked", though the schema needed nothing.
    path = tmp_path / "shop.sqlite3"
    first = SQLiteStore(path)
    with first.transaction():
        first.customers.add(make_customer(id="c-1"))
        second = SQLiteStore(path, timeout=0)
        assert second.customers.count() == 0  # the last committed state
    assert second.customers.count() == 1
    second.close()
    first.close()


# -- what is not a database file ---------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
def test_a_folder_is_refused_naming_the_argument_and_nothing_is_made_in_it(
    tmp_path: Path, mode: str
) -> None:
    with pytest.raises(ValidationError, match="it is a folder") as raised:
        SQLiteStore(tmp_path, mode=mode)
    assert raised.value.field == "database"
    assert list(tmp_path.iterdir()) == []


def _refused_untouched(path: Path, content: bytes) -> None:
    for mode in MODES:
        for adopt in (False, True) if mode == "create" else (False,):
            with pytest.raises(StorageError, match=r"not an SQLite database|not a database"):
                SQLiteStore(path, mode=mode, adopt=adopt)
    assert path.read_bytes() == content
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


@pytest.mark.parametrize(
    "content",
    [b"\n", b"x", b"\x00", b"hello", "王芳 13812345678\n".encode(), b"\x00" * 4096,
     SQLITE_HEADER, SQLITE_HEADER + b"\x00" * 84, SQLITE_HEADER + b"\xff" * 4096],
    ids=["newline", "one-byte", "one-nul", "text", "utf8-text", "nul-page",
         "bare-header", "zero-header", "garbage-after-header"],
)  # fmt: skip
def test_a_file_that_is_no_database_is_refused_and_never_changed(
    tmp_path: Path, content: bytes
) -> None:
    # A file of one byte was taken for an empty database and overwritten by a store.
    path = tmp_path / "notes.txt"
    path.write_bytes(content)
    _refused_untouched(path, content)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(min_size=1, max_size=2048).filter(lambda b: not b.startswith(SQLITE_HEADER)))
def test_any_file_without_the_sqlite_header_is_refused_and_never_changed(
    tmp_path: Path, content: bytes
) -> None:
    folder = tmp_path / f"case-{os.urandom(6).hex()}"
    folder.mkdir()
    path = folder / "data.bin"
    path.write_bytes(content)
    _refused_untouched(path, content)


def test_an_empty_file_still_becomes_a_store(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite3"
    path.touch()
    with SQLiteStore(path) as store:
        store.customers.add(make_customer(id="c-1"))
    assert _ids(path) == {"c-1"}


# -- a read-only file --------------------------------------------------------------------
def test_a_store_opened_read_only_refuses_writes_as_storage_errors_and_changes_nothing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "shop.sqlite3"
    with SQLiteStore(path) as store:
        store.customers.add(make_customer(id="c-1"))
    before = path.read_bytes()
    with SQLiteStore(path, mode="read_only") as store:
        with pytest.raises(StorageError):
            store.customers.add(make_customer(id="c-2"))
        with pytest.raises(StorageError), store.transaction():
            store.customers.add(make_customer(id="c-2"))
        assert store.customers.count() == 1
    assert path.read_bytes() == before


@pytest.mark.skipif(
    os.name != "posix" or os.geteuid() == 0, reason="root writes to read-only files anyway"
)
def test_a_read_only_file_is_a_storage_error_to_write_and_readable_read_only(
    tmp_path: Path,
) -> None:
    path = tmp_path / "shop.sqlite3"
    with SQLiteStore(path) as store:
        store.customers.add(make_customer(id="c-1"))
    path.chmod(stat.S_IRUSR)
    try:
        before = path.read_bytes()
        try:
            store = SQLiteStore(path)
        except StorageError:
            pass  # refused on opening: fine
        else:
            with store, pytest.raises(StorageError):
                store.customers.add(make_customer(id="c-2"))
        assert _ids(path) == {"c-1"}
        assert path.read_bytes() == before
    finally:
        path.chmod(stat.S_IRUSR | stat.S_IWUSR)


# -- closing inside a transaction ------------------------------------------------------------
def test_a_store_closed_inside_its_transaction_keeps_nothing_of_it_on_disk(
    tmp_path: Path,
) -> None:
    path = tmp_path / "shop.sqlite3"
    store = SQLiteStore(path)
    store.customers.add(make_customer(id="c-kept"))
    with (  # noqa: PT012
        pytest.raises(StorageError, match="closed inside a transaction"),
        store.transaction(),
    ):
        store.customers.add(make_customer(id="c-lost"))
        store.close()
    assert _ids(path) == {"c-kept"}
    # The connection was released: another store opens, writes and closes normally.
    with SQLiteStore(path) as again:
        again.customers.add(make_customer(id="c-new"))
    assert _ids(path) == {"c-kept", "c-new"}


def test_closing_inside_a_transaction_on_a_hosts_connection_undoes_only_the_stores_block(
    tmp_path: Path,
) -> None:
    path = tmp_path / "shop.sqlite3"
    SQLiteStore(path).close()
    host = sqlite3.connect(path, isolation_level=None)
    host.execute("CREATE TABLE host_notes (text TEXT)")
    store = SQLiteStore(host)
    host.execute("BEGIN")
    host.execute("INSERT INTO host_notes VALUES ('mine')")
    with (  # noqa: PT012
        pytest.raises(StorageError, match="closed inside a transaction"),
        store.transaction(),
    ):
        store.customers.add(make_customer(id="c-lost"))
        store.close()
    # The host's transaction is still open, with its own write and without the store's.
    assert host.in_transaction
    host.execute("COMMIT")
    assert host.execute("SELECT text FROM host_notes").fetchall() == [("mine",)]
    assert host.execute("SELECT count(*) FROM customers").fetchone() == (0,)
    host.close()
