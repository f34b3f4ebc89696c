"""Opening SQLite files: someone else's database is never taken over by accident, and a
store can be read without writing anything (issue 12, item 2)."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.adapters.sqlite.schema import CORE_MIGRATIONS
from custmgmt.cli import main
from custmgmt.errors import StorageError, ValidationError
from custmgmt.testing import make_customer, make_order

ANALYSES = [
    ["rate", "--as-of", "2026-01-01"],
    ["segment", "--as-of", "2026-01-01"],
    ["clv", "--as-of", "2026-01-01"],
    ["tickets", "--as-of", "2026-01-01"],
]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _journal_mode(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return str(conn.execute("PRAGMA journal_mode").fetchone()[0])
    finally:
        conn.close()


@pytest.fixture
def foreign(tmp_path: Path) -> Path:
    path = tmp_path / "theirs.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
    conn.execute("INSERT INTO users VALUES (1, 'x')")
    conn.commit()
    conn.close()
    return path


@pytest.fixture
def store_file(tmp_path: Path) -> Path:
    path = tmp_path / "shop.sqlite3"
    store = SQLiteStore(path)
    for k in range(3):
        store.customers.add(make_customer(id=f"c{k}"))
        store.orders.add(
            make_order(
                id=f"o{k}", customer_id=f"c{k}", placed_at=datetime(2025, 6, k + 1, tzinfo=UTC)
            )
        )
    store.close()
    return path


def test_a_foreign_database_is_refused_untouched(foreign: Path) -> None:
    before = _digest(foreign)
    with pytest.raises(StorageError, match="not a custmgmt store"):
        SQLiteStore(foreign)
    for mode in ("existing", "read_only"):
        with pytest.raises(StorageError, match="not a custmgmt store"):
            SQLiteStore(foreign, mode=mode)
    assert _digest(foreign) == before
    assert _journal_mode(foreign) == "delete"
    assert sorted(p.name for p in foreign.parent.iterdir()) == ["theirs.db"]


def test_adopting_a_foreign_database_is_explicit(foreign: Path) -> None:
    store = SQLiteStore(foreign, adopt=True)
    assert store.schema_version("core") == len(CORE_MIGRATIONS)
    store.close()
    conn = sqlite3.connect(foreign)
    assert conn.execute("SELECT name FROM users").fetchall() == [("x",)]
    conn.close()
    SQLiteStore(foreign).close()  # a custmgmt store from now on


@pytest.mark.parametrize("command", ANALYSES)
def test_the_analysing_commands_refuse_a_foreign_database(
    foreign: Path, command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    before = _digest(foreign)
    assert main([command[0], "--db", str(foreign), *command[1:]]) == 2
    assert "not a custmgmt store" in capsys.readouterr().err
    assert _digest(foreign) == before
    assert _journal_mode(foreign) == "delete"


def test_rate_save_refuses_a_foreign_database_too(
    foreign: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _digest(foreign)
    assert main(["rate", "--db", str(foreign), "--save"]) == 2
    assert "not a custmgmt store" in capsys.readouterr().err
    assert _digest(foreign) == before


def test_an_empty_file_becomes_a_store_only_when_creating(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    for mode in ("existing", "read_only"):
        with pytest.raises(StorageError, match="it is empty"):
            SQLiteStore(empty, mode=mode)
    assert main(["rate", "--db", str(empty)]) == 2
    SQLiteStore(empty).close()
    assert SQLiteStore(empty, mode="read_only").schema_version("core") == len(CORE_MIGRATIONS)


def test_a_missing_file_is_never_created_outside_create_mode(tmp_path: Path) -> None:
    for mode in ("existing", "read_only"):
        with pytest.raises(StorageError):
            SQLiteStore(tmp_path / "typo.db", mode=mode)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValidationError, match="mode"):
        SQLiteStore(":memory:", mode="read_only")
    with pytest.raises(ValidationError, match="mode"):
        SQLiteStore(tmp_path / "x.db", mode="append")


def test_read_only_reads_and_writes_nothing(store_file: Path) -> None:
    conn = sqlite3.connect(store_file)
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.close()
    before = _digest(store_file)
    store = SQLiteStore(store_file, mode="read_only")
    assert store.read_only
    assert [o.id for o in store.orders.for_customer("c1")] == ["o1"]
    assert store.ratings.list_runs() == []
    with pytest.raises(StorageError):
        store.customers.add(make_customer(id="c9"))
    store.close()
    assert _digest(store_file) == before
    assert _journal_mode(store_file) == "delete"
    assert sorted(p.name for p in store_file.parent.iterdir()) == ["shop.sqlite3"]


@pytest.mark.parametrize("command", ANALYSES)
def test_the_analysing_commands_leave_the_store_file_as_it_was(
    store_file: Path, command: list[str]
) -> None:
    conn = sqlite3.connect(store_file)
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.close()
    before = _digest(store_file)
    assert main([command[0], "--db", str(store_file), *command[1:]]) == 0
    assert _digest(store_file) == before
    assert _journal_mode(store_file) == "delete"


def test_save_still_writes_to_an_existing_store(
    store_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["rate", "--db", str(store_file), "--as-of", "2026-01-01", "--save"]) == 0
    assert "saved run" in capsys.readouterr().out
    store = SQLiteStore(store_file, mode="read_only")
    assert len(store.ratings.list_runs()) == 1
    store.close()


def test_a_read_only_store_with_another_schema_version_is_a_clear_error(
    store_file: Path,
) -> None:
    conn = sqlite3.connect(store_file)
    conn.execute("UPDATE custmgmt_schema SET version = 99 WHERE component = 'core'")
    conn.commit()
    conn.close()
    with pytest.raises(StorageError, match="newer"):
        SQLiteStore(store_file, mode="read_only")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through file permissions")
def test_a_store_on_read_only_files_can_still_be_analysed(
    store_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = store_file.parent
    for leftover in folder.glob("shop.sqlite3-*"):
        leftover.unlink()
    store_file.chmod(stat.S_IRUSR)
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        assert main(["rate", "--db", str(store_file), "--as-of", "2026-01-01"]) == 0
        assert "3 customers rated" in capsys.readouterr().out
    finally:
        folder.chmod(stat.S_IRWXU)
        store_file.chmod(stat.S_IRUSR | stat.S_IWUSR)
