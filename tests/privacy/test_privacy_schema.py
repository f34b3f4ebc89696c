"""The SQLite privacy schema's second version: a store made with version 1 is upgraded,
its keys kept, and a rotation's batches are found through the new kek_id index."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.adapters.sqlite.database import SQLiteDatabase
from custmgmt.adapters.sqlite.privacy import PRIVACY_MIGRATIONS
from custmgmt.privacy import WrappedKey


def test_a_version_1_store_is_upgraded_and_keeps_its_keys(tmp_path: Path) -> None:
    path = tmp_path / "v1.db"
    old = SQLiteStore(path)
    old.close()
    with sqlite3.connect(path) as conn:  # back to version 1, as an older library left it
        conn.execute("DROP TABLE privacy_keys")
        conn.execute("DROP TABLE privacy_sealed")
        conn.execute("DROP TABLE privacy_audit")
        conn.execute("DROP TABLE privacy_erasures")
        conn.execute("DELETE FROM custmgmt_schema WHERE component = 'privacy'")
    db = SQLiteDatabase(path, mode="existing")
    db.apply_migrations("privacy", PRIVACY_MIGRATIONS[:1])
    with db.writing() as conn:
        conn.executemany("INSERT INTO privacy_keys VALUES (?, ?, ?)",
                         [(f"C-{i}", "old" if i % 2 else "new", bytes(60)) for i in range(9)])
    db.close()
    store = SQLiteStore(path, mode="existing")
    try:
        assert store.schema_version("privacy") == 3
        names = {r[0] for r in store.connection.execute(
            "SELECT name FROM sqlite_master WHERE tbl_name = 'privacy_keys' AND type = 'index'")}
        assert "privacy_keys_by_kek_only" in names
        assert "privacy_keys_by_kek" not in names
        assert store.privacy.key_counts() == {"old": 4, "new": 5}
        taken = store.privacy.keys_wrapped_with("old", 3)
        assert taken == sorted(taken)
        assert len(taken) == 3
        assert set(taken) <= {"C-1", "C-3", "C-5", "C-7"}
        assert store.privacy.get_key("C-1") == WrappedKey(kek_id="old", blob=bytes(60))
    finally:
        store.close()
