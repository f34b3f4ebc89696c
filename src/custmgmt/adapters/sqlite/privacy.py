"""The privacy capability in SQLite (see :class:`custmgmt.privacy.ports.PrivacyRepository`).

Four tables, owned by the component ``"privacy"``: ``privacy_audit`` (the hash chain,
keyed by ``seq``), ``privacy_keys`` (each customer's wrapped data key with its KEK's
id), ``privacy_sealed`` (each customer's sealed fields with one column, and one
partial index, per blind-index kind) and ``privacy_erasures``. Only ciphertext,
digests and pseudonyms are stored here; nothing in these tables is plaintext
personal data.

>>> from custmgmt.adapters.sqlite import SQLiteStore
>>> store = SQLiteStore(":memory:")
>>> store.privacy.key_counts()
{}
>>> store.close()
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

from custmgmt.adapters._privacy_checks import (
    check_audit_append,
    check_customer_id,
    check_erasure,
    check_index_query,
    check_limit,
    check_sealed,
    check_wrapped,
)
from custmgmt.adapters._sql_codecs import datetime_of as _datetime
from custmgmt.adapters.sqlite.codecs import _instant
from custmgmt.adapters.sqlite.database import SQLiteDatabase
from custmgmt.errors import Conflict, CustMgmtError, NotFound, StorageError
from custmgmt.privacy.audit import AuditEntry
from custmgmt.privacy.crypto import INDEX_KINDS, WrappedKey
from custmgmt.privacy.ports import ErasureRecord, SealedRecord

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

#: The privacy component's schema, one migration per version.
PRIVACY_MIGRATIONS = [_V1, _V2]

_AUDIT_COLUMNS = "seq, at_us, at_off, actor, action, resource, purpose, outcome, prev_hash, hash"


def _entry(row: tuple[Any, ...]) -> AuditEntry:
    try:
        return AuditEntry(
            seq=row[0], at=_datetime(row[1], row[2]), actor=row[3], action=row[4],
            resource=row[5], purpose=row[6], outcome=row[7], prev_hash=row[8], hash=row[9],
        )
    except CustMgmtError as exc:
        raise StorageError(f"sqlite: audit entry {row[0]!r} is malformed ({exc})") from exc


class SQLitePrivacyRepository:
    """Audit log, data keys, sealed records and erasures in the store's database.

    Args:
        db: the store (``SQLiteStore``) or any :class:`SQLiteDatabase`.
    """

    def __init__(self, db: SQLiteDatabase) -> None:
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
        rows = self._read("PRAGMA wal_checkpoint(TRUNCATE)")
        return not rows or int(rows[0][0]) == 0

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        with self._db.lock:
            try:
                return self._db.connection.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise StorageError(f"sqlite: reading privacy data failed ({exc})") from exc

    # -- the audit log --------------------------------------------------------------
    def append_audit(self, entry: AuditEntry) -> None:
        """Append the next link (see ``PrivacyRepository.append_audit``)."""
        with self._db.writing() as conn:
            check_audit_append(entry, self.last_audit())
            at_us, at_off = _instant(entry.at)
            conn.execute(
                f"INSERT INTO privacy_audit ({_AUDIT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (entry.seq, at_us, at_off, entry.actor, entry.action, entry.resource,
                 entry.purpose, entry.outcome, entry.prev_hash, entry.hash),
            )

    def last_audit(self) -> AuditEntry | None:
        """The latest entry, or None."""
        rows = self._read(
            f"SELECT {_AUDIT_COLUMNS} FROM privacy_audit ORDER BY seq DESC LIMIT 1"
        )
        return _entry(rows[0]) if rows else None

    def audit_entries(self, start: int = 0, limit: int | None = None) -> list[AuditEntry]:
        """Entries from position ``start`` on, at most ``limit``, in stored order."""
        first = check_limit("start", start)
        count = check_limit("limit", limit, optional=True)
        rows = self._read(
            f"SELECT {_AUDIT_COLUMNS} FROM privacy_audit ORDER BY seq LIMIT ? OFFSET ?",
            (-1 if count is None else count, first),
        )
        return [_entry(r) for r in rows]

    # -- data keys ------------------------------------------------------------------
    def put_key(self, customer_id: str, key: WrappedKey) -> None:
        """Store a first key (see ``PrivacyRepository.put_key``)."""
        cid = check_customer_id(customer_id)
        check_wrapped(key)
        try:
            with self._db.writing() as conn:
                conn.execute(
                    "INSERT INTO privacy_keys VALUES (?, ?, ?)", (cid, key.kek_id, key.blob)
                )
        except Conflict:
            raise Conflict("data key", cid, "the customer has a data key already") from None

    def get_key(self, customer_id: str) -> WrappedKey:
        """The customer's wrapped key."""
        rows = self._read(
            "SELECT kek_id, blob FROM privacy_keys WHERE customer_id = ?", (str(customer_id),)
        )
        if not rows:
            raise NotFound("data key", customer_id)
        return WrappedKey(kek_id=rows[0][0], blob=bytes(rows[0][1]))

    def replace_key(self, customer_id: str, key: WrappedKey, *, expected_kek_id: str) -> None:
        """Swap in a rewrapped key (see ``PrivacyRepository.replace_key``)."""
        check_wrapped(key)
        with self._db.writing() as conn:
            stored = self.get_key(customer_id)
            if stored.kek_id != expected_kek_id:
                raise Conflict(
                    "data key", customer_id,
                    f"wrapped by {stored.kek_id!r}, not {expected_kek_id!r}",
                )
            conn.execute(
                "UPDATE privacy_keys SET kek_id = ?, blob = ? WHERE customer_id = ?",
                (key.kek_id, key.blob, customer_id),
            )

    def shred_key(self, customer_id: str) -> bool:
        """Delete the customer's key."""
        with self._db.writing() as conn:
            cur = conn.execute(
                "DELETE FROM privacy_keys WHERE customer_id = ?", (str(customer_id),)
            )
            return cur.rowcount > 0

    def keys_wrapped_with(self, kek_id: str, limit: int) -> list[str]:
        """Up to ``limit`` customer ids whose key ``kek_id`` wraps, sorted."""
        count = check_limit("limit", limit)
        # The index on kek_id alone yields the keys in insertion (rowid) order, so a
        # batch of a rotation reads only its own rows; the batch is then sorted.
        rows = self._read(
            "SELECT customer_id FROM privacy_keys INDEXED BY privacy_keys_by_kek_only"
            " WHERE kek_id = ? LIMIT ?",
            (str(kek_id), count),
        )
        return sorted(r[0] for r in rows)

    def key_counts(self) -> dict[str, int]:
        """How many keys each KEK wraps."""
        rows = self._read("SELECT kek_id, count(*) FROM privacy_keys GROUP BY kek_id")
        return {r[0]: r[1] for r in rows}

    # -- sealed records -------------------------------------------------------------
    @staticmethod
    def _row(record: SealedRecord) -> tuple[Any, ...]:
        ix = dict(record.indexes)
        return (record.customer_id, record.ciphertext, ix.get("email"), ix.get("phone"),
                ix.get("phone_last4"))

    def put_sealed(self, record: SealedRecord) -> None:
        """Store or replace a sealed record."""
        check_sealed(record)
        with self._db.writing() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO privacy_sealed VALUES (?, ?, ?, ?, ?)", self._row(record)
            )

    def put_sealed_many(
        self, records: Iterable[tuple[SealedRecord, WrappedKey | None]]
    ) -> int:
        """Store new sealed records with their keys, all or nothing."""
        batch = [(check_sealed(r), None if k is None else check_wrapped(k)) for r, k in records]
        try:
            with self._db.writing() as conn:
                conn.executemany(
                    "INSERT INTO privacy_keys VALUES (?, ?, ?)",
                    [(r.customer_id, k.kek_id, k.blob) for r, k in batch if k is not None],
                )
                conn.executemany(
                    "INSERT INTO privacy_sealed VALUES (?, ?, ?, ?, ?)",
                    [self._row(r) for r, _ in batch],
                )
        except Conflict as exc:
            raise Conflict("data key", None, f"a customer has a data key already ({exc})") from exc
        return len(batch)

    def get_sealed(self, customer_id: str) -> SealedRecord:
        """The customer's sealed record."""
        rows = self._read(
            "SELECT ciphertext, email_ix, phone_ix, phone_last4_ix FROM privacy_sealed"
            " WHERE customer_id = ?",
            (str(customer_id),),
        )
        if not rows:
            raise NotFound("sealed record", customer_id)
        row = rows[0]
        indexes = tuple(
            (kind, bytes(digest))
            for kind, digest in zip(INDEX_KINDS, row[1:], strict=True)
            if digest is not None
        )
        return SealedRecord(
            customer_id=str(customer_id), ciphertext=bytes(row[0]), indexes=indexes
        )

    def remove_sealed(self, customer_id: str) -> bool:
        """Delete the sealed record and its indexes."""
        with self._db.writing() as conn:
            cur = conn.execute(
                "DELETE FROM privacy_sealed WHERE customer_id = ?", (str(customer_id),)
            )
            return cur.rowcount > 0

    def find_by_index(self, kind: str, digest: bytes) -> list[str]:
        """Customer ids with index ``(kind, digest)``, sorted."""
        check_index_query(kind, digest)
        column = {"email": "email_ix", "phone": "phone_ix", "phone_last4": "phone_last4_ix"}[kind]
        rows = self._read(
            f"SELECT customer_id FROM privacy_sealed WHERE {column} = ? ORDER BY customer_id",
            (digest,),
        )
        return [r[0] for r in rows]

    def customer_dependents(self, customer_id: str) -> dict[str, int]:
        """The customer's sealed record and data key, which block ``customers.remove``."""
        rows = self._read(
            "SELECT (SELECT count(*) FROM privacy_sealed WHERE customer_id = ?),"
            " (SELECT count(*) FROM privacy_keys WHERE customer_id = ?)",
            (str(customer_id), str(customer_id)),
        )
        return {"sealed records": int(rows[0][0]), "data keys": int(rows[0][1])}

    # -- erasures -------------------------------------------------------------------
    def record_erasure(self, record: ErasureRecord) -> None:
        """Remember an erasure."""
        check_erasure(record)
        at_us, at_off = _instant(record.at)
        try:
            with self._db.writing() as conn:
                conn.execute(
                    "INSERT INTO privacy_erasures VALUES (?, ?, ?, ?)",
                    (record.customer_id, record.pseudonym, at_us, at_off),
                )
        except Conflict:
            raise Conflict(
                "erasure", record.customer_id, "the customer was erased already"
            ) from None

    def erasure(self, customer_id: str) -> ErasureRecord | None:
        """The customer's erasure, or None."""
        rows = self._read(
            "SELECT customer_id, pseudonym, at_us, at_off FROM privacy_erasures"
            " WHERE customer_id = ?",
            (str(customer_id),),
        )
        if not rows:
            return None
        r = rows[0]
        return ErasureRecord(customer_id=r[0], pseudonym=r[1], at=_datetime(r[2], r[3]))

    def erased_ids(self) -> list[str]:
        """Erased customers' ids, sorted."""
        return [r[0] for r in self._read(
            "SELECT customer_id FROM privacy_erasures ORDER BY customer_id"
        )]
