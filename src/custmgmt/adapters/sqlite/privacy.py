"""The privacy capability in SQLite (see :class:`custmgmt.privacy.ports.PrivacyRepository`).

Five tables, owned by the component ``"privacy"``: ``privacy_audit`` (the hash chain,
keyed by ``seq``), ``privacy_keys`` (each customer's wrapped data key with its KEK's
id), ``privacy_sealed`` (each customer's sealed fields with one column, and one
partial index, per blind-index kind), ``privacy_erasures`` and ``privacy_key_checks``
(since version 3: each key id's keyed fingerprint, which refuses a wrong key file).
Only ciphertext, digests, fingerprints and pseudonyms are stored here; nothing in
these tables is plaintext personal data. The queries are
:class:`~custmgmt.adapters._sql_privacy.SqlPrivacyRepository`'s.

>>> from custmgmt.adapters.sqlite import SQLiteStore
>>> store = SQLiteStore(":memory:")
>>> store.privacy.key_counts()
{}
>>> store.close()
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from custmgmt.adapters._sql_privacy import SqlPrivacyRepository
from custmgmt.adapters.sqlite.codecs import _instant as _instant_pair
from custmgmt.adapters.sqlite.database import SQLiteDatabase
from custmgmt.errors import StorageError

__all__ = ["PRIVACY_MIGRATIONS", "SQLitePrivacyRepository"]

_V1 = """
CREATE TABLE privacy_audit (
    seq INTEGER PRIMARY KEY,
    at_us INTEGER NOT NULL,
    at_off INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    resource TEXT NOT NULL,
    purpose TEXT NOT NULL,
    outcome TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TABLE privacy_keys (
    customer_id TEXT PRIMARY KEY,
    kek_id TEXT NOT NULL,
    blob BLOB NOT NULL
);
CREATE INDEX privacy_keys_by_kek ON privacy_keys (kek_id, customer_id);
CREATE TABLE privacy_sealed (
    customer_id TEXT PRIMARY KEY,
    ciphertext BLOB NOT NULL,
    email_ix BLOB,
    phone_ix BLOB,
    phone_last4_ix BLOB
);
CREATE INDEX privacy_sealed_by_email ON privacy_sealed (email_ix) WHERE email_ix IS NOT NULL;
CREATE INDEX privacy_sealed_by_phone ON privacy_sealed (phone_ix) WHERE phone_ix IS NOT NULL;
CREATE INDEX privacy_sealed_by_last4 ON privacy_sealed (phone_last4_ix)
    WHERE phone_last4_ix IS NOT NULL;
CREATE TABLE privacy_erasures (
    customer_id TEXT PRIMARY KEY,
    pseudonym TEXT NOT NULL,
    at_us INTEGER NOT NULL,
    at_off INTEGER NOT NULL
);
"""

# Version 2: the index that finds the keys a KEK wraps is on ``kek_id`` alone. Its
# entries are then (kek_id, rowid), and new keys (increasing rowids) are appended at
# its end instead of landing at random places of a (kek_id, customer_id) index: at
# a million customers that random insert was a large part of the cost of sealing.
_V2 = """
DROP INDEX privacy_keys_by_kek;
CREATE INDEX privacy_keys_by_kek_only ON privacy_keys (kek_id);
"""

# Version 3: the keyed fingerprint of each key the store was written with (see
# custmgmt.privacy.KeyFingerprints). A store upgraded from version 2 has none: the
# services check a key against the stored data the first time they use it.
_V3 = """
CREATE TABLE IF NOT EXISTS privacy_key_checks (
    key_id TEXT PRIMARY KEY,
    fingerprint BLOB NOT NULL
);
"""

#: The privacy component's schema, one migration per version.
PRIVACY_MIGRATIONS = [_V1, _V2, _V3]


class SQLitePrivacyRepository(SqlPrivacyRepository):
    """Audit log, data keys, sealed records and erasures in the store's database.

    Args:
        db: the store (``SQLiteStore``) or any :class:`SQLiteDatabase`.
    """

    dialect = "sqlite"
    no_limit = -1
    # A new record takes a new row: the old one is deleted, and with secure_delete its
    # bytes are zeroed.
    upsert_sealed = "INSERT OR REPLACE INTO privacy_sealed VALUES (?, ?, ?, ?, ?)"
    # The index on kek_id alone yields the keys in insertion (rowid) order, so a batch
    # of a rotation reads only its own rows; the batch is then sorted.
    keys_of_kek = (
        "SELECT customer_id FROM privacy_keys INDEXED BY privacy_keys_by_kek_only"
        " WHERE kek_id = ? LIMIT ?"
    )
    _instant = staticmethod(_instant_pair)

    def __init__(self, db: SQLiteDatabase) -> None:
        super().__init__(db)
        self._db = db
        db.apply_migrations("privacy", PRIVACY_MIGRATIONS)
        if not db.read_only:
            # Deleted and overwritten content is zeroed, not left in free space of a
            # page or on the freelist: an erasure must not leave the old text in the
            # file (nor in a page-copy backup of it).
            with db.lock:
                db.connection.execute("PRAGMA secure_delete = ON")

    def purge_history(self) -> bool:
        """Move the WAL into the database file and empty it (``wal_checkpoint(TRUNCATE)``).

        Erasure calls it after committing, so replaced text survives in no WAL frame.
        Returns False when another connection's open read kept the checkpoint from
        finishing (the frames are overwritten at a later checkpoint; call it again),
        and True for a store without a WAL (in memory).

        Raises:
            StorageError: the database failed.
        """
        if self._db.read_only or self._db.connection.in_transaction:
            return False
        rows = self._fetch("PRAGMA wal_checkpoint(TRUNCATE)")
        return not rows or int(rows[0][0]) == 0

    def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._db.lock:
            try:
                return self._db.connection.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise StorageError(f"sqlite: reading privacy data failed ({exc})") from exc

    def _insert_rows(self, conn: Any, table: str, columns: str, rows: Iterable[Any]) -> None:
        marks = ", ".join("?" * (columns.count(",") + 1))
        conn.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)

    def _stored_kek(self, conn: Any, customer_id: str) -> str:
        # A plain read: SQLite has one writer at a time.
        return self.get_key(customer_id).kek_id
