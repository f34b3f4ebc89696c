"""The privacy repositories (memory, SQLite file and :memory:) pass the contract suite."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from _contract_stores import MemoryStores, SQLiteFileStores, SQLiteMemoryStores
from custmgmt.adapters.memory import MemoryStore
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.errors import StorageError
from custmgmt.privacy import PrivacyStore, verify_audit_log
from custmgmt.testing import PrivacyRepositoryContract
from custmgmt.testing.privacy_contract import make_audit_log


class TestMemoryPrivacy(MemoryStores, PrivacyRepositoryContract):
    repository_attribute = "privacy"


class TestSQLiteMemoryPrivacy(SQLiteMemoryStores, PrivacyRepositoryContract):
    repository_attribute = "privacy"


class TestSQLiteFilePrivacy(SQLiteFileStores, PrivacyRepositoryContract):
    repository_attribute = "privacy"


def test_both_bundled_stores_are_privacy_stores() -> None:
    memory = MemoryStore()
    sqlite_store = SQLiteStore(":memory:")
    try:
        assert isinstance(memory, PrivacyStore)
        assert isinstance(sqlite_store, PrivacyStore)
        assert memory.privacy is memory.privacy
        assert "privacy" in sqlite_store.capabilities
    finally:
        sqlite_store.close()


@pytest.mark.parametrize(
    ("sql", "problem"),
    [
        ("UPDATE privacy_audit SET purpose = '改过' WHERE seq = 2", "hash does not match"),
        ("DELETE FROM privacy_audit WHERE seq = 2", "seq is 3, expected 2"),
        (("UPDATE privacy_audit SET seq = 100 WHERE seq = 2;"
         "UPDATE privacy_audit SET seq = 2 WHERE seq = 3;"
         "UPDATE privacy_audit SET seq = 3 WHERE seq = 100"), "previous hash"),
        ("UPDATE privacy_audit SET actor = 'someone-else' WHERE seq = 4", "hash does not match"),
    ],
)
def test_a_row_edited_behind_the_library_s_back_fails_verification(
    tmp_path: Path, sql: str, problem: str
) -> None:
    path = tmp_path / "audit.db"
    with SQLiteStore(path) as store:
        for entry in make_audit_log(6):
            store.privacy.append_audit(entry)
        assert verify_audit_log(store).ok
    conn = sqlite3.connect(path)
    conn.executescript(sql)
    conn.commit()
    conn.close()
    with SQLiteStore(path, mode="existing") as store:
        result = verify_audit_log(store, page=2)
        assert not result.ok
        assert problem in result.problem


def test_an_inserted_row_fails_verification(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    with SQLiteStore(path) as store:
        for entry in make_audit_log(4):
            store.privacy.append_audit(entry)
        head = verify_audit_log(store).head
    conn = sqlite3.connect(path)
    conn.execute("UPDATE privacy_audit SET seq = -seq - 1 WHERE seq >= 2")
    conn.execute("UPDATE privacy_audit SET seq = -seq WHERE seq < 0")
    conn.execute(
        "INSERT INTO privacy_audit SELECT 2, at_us, at_off, 'intruder', action, resource,"
        " purpose, outcome, prev_hash, hash FROM privacy_audit WHERE seq = 3"
    )
    conn.commit()
    conn.close()
    with SQLiteStore(path, mode="existing") as store:
        assert not verify_audit_log(store).ok
        assert not verify_audit_log(store, head=head).ok


def test_a_malformed_audit_row_is_a_storage_error(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    with SQLiteStore(path) as store:
        store.privacy.append_audit(make_audit_log(1)[0])
    conn = sqlite3.connect(path)
    conn.execute("UPDATE privacy_audit SET hash = 'not hex'")
    conn.commit()
    conn.close()
    with SQLiteStore(path, mode="existing") as store, pytest.raises(StorageError):
        store.privacy.audit_entries()
