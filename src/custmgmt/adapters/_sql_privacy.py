"""The privacy repository over a SQL database, shared by the SQLite and PostgreSQL adapters.

Both stores keep the same five tables (``privacy_audit``, ``privacy_keys``,
``privacy_sealed``, ``privacy_erasures``, ``privacy_key_checks``) with the same columns,
instants included (microseconds since the epoch plus the UTC offset in both, since an
audit entry's hash covers its offset), and run the same queries. What differs is the
dialect: the parameter style, how a sealed record is replaced (``INSERT OR REPLACE`` or
``ON CONFLICT``), how a rotation batch finds its keys, how many rows are written at once
(``executemany`` or ``COPY``), the locks PostgreSQL takes where SQLite's single writer
needs none, and how a read reports a driver error. :class:`SqlPrivacyRepository` holds
the queries and the decoding once; each adapter's subclass supplies those hooks and its
migrations.

SQL below is written with ``?`` placeholders;
:meth:`~custmgmt.adapters._sql_queries.SqlQueries._q` turns it into the dialect's text.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, ClassVar

from custmgmt.adapters._privacy_checks import (
    check_audit_append,
    check_customer_id,
    check_erasure,
    check_fingerprint,
    check_index_query,
    check_limit,
    check_sealed,
    check_wrapped,
)
from custmgmt.adapters._sql_codecs import datetime_of
from custmgmt.adapters._sql_queries import SqlQueries
from custmgmt.errors import Conflict, CustMgmtError, NotFound, StorageError
from custmgmt.privacy.audit import AuditEntry
from custmgmt.privacy.crypto import INDEX_KINDS, WrappedKey
from custmgmt.privacy.ports import ErasureRecord, SealedRecord

__all__ = ["AUDIT_COLUMNS", "SEALED_COLUMNS", "SqlPrivacyRepository"]

#: The columns of an audit row, in the order :class:`AuditEntry` is read from them.
AUDIT_COLUMNS = "seq, at_us, at_off, actor, action, resource, purpose, outcome, prev_hash, hash"
#: The columns of a sealed row: the id, the ciphertext, one digest per index kind.
SEALED_COLUMNS = "customer_id, ciphertext, email_ix, phone_ix, phone_last4_ix"
_KEY_COLUMNS = "customer_id, kek_id, blob"
_INDEX_COLUMN = {"email": "email_ix", "phone": "phone_ix", "phone_last4": "phone_last4_ix"}


def _sealed_row(record: SealedRecord) -> tuple[Any, ...]:
    ix = dict(record.indexes)
    return (record.customer_id, record.ciphertext, ix.get("email"), ix.get("phone"),
            ix.get("phone_last4"))


class SqlPrivacyRepository(SqlQueries):
    """Audit log, data keys, sealed records and erasures in a SQL store (see
    :class:`custmgmt.privacy.ports.PrivacyRepository`); subclasses name the dialect.

    Writes go through the store's ``writing()``, so they join its transaction and a
    failure writes nothing.
    """

    #: The ``LIMIT`` parameter that means no limit.
    no_limit: ClassVar[int | None]
    #: Stores a sealed record, replacing the customer's old one (the five
    #: :data:`SEALED_COLUMNS` as parameters).
    upsert_sealed: ClassVar[str]
    #: Up to ``?`` (the second parameter) ids of customers whose key the KEK ``?``
    #: (the first) wraps, in any order.
    keys_of_kek: ClassVar[str]
    #: Appended to the SELECT of the key that ``replace_key`` swaps.
    for_update: ClassVar[str] = ""

    # -- the dialect's hooks -----------------------------------------------------------
    @abstractmethod
    def _insert_rows(self, conn: Any, table: str, columns: str, rows: Iterable[Any]) -> None:
        """Insert many rows at once inside the open write."""

    @staticmethod
    @abstractmethod
    def _instant(value: datetime) -> tuple[int, int]:
        """(microseconds since the epoch, UTC offset in seconds) of an instant."""

    def _lookup_id(self, customer_id: Any) -> str | None:
        """``customer_id`` as the key a read looks up, or None where no row can match."""
        return str(customer_id)

    def _stored_kek(self, conn: Any, customer_id: str) -> str:
        """The id of the KEK that wraps the customer's stored key, the key's row locked
        (``for_update``) until the open write ends (NotFound: no key)."""
        rows = conn.execute(
            self._q("SELECT kek_id FROM privacy_keys WHERE customer_id = ?" + self.for_update),
            (str(customer_id),),
        ).fetchall()
        if not rows:
            raise NotFound("data key", customer_id)
        return str(rows[0][0])

    def _lock_audit(self, conn: Any) -> None:
        """Keep other writers from appending to the audit log until the write ends;
        by default nothing (SQLite's write transaction already does)."""

    def _entry(self, row: Sequence[Any]) -> AuditEntry:
        try:
            return AuditEntry(
                seq=row[0], at=datetime_of(row[1], row[2]), actor=row[3], action=row[4],
                resource=row[5], purpose=row[6], outcome=row[7], prev_hash=row[8],
                hash=row[9],
            )
        except CustMgmtError as exc:
            raise StorageError(
                f"{self.dialect}: audit entry {row[0]!r} is malformed ({exc})"
            ) from exc

    # -- the audit log --------------------------------------------------------------
    def append_audit(self, entry: AuditEntry) -> None:
        """Append the next link (see ``PrivacyRepository.append_audit``): two writers
        appending at once take turns, and the second finds the chain moved on (a
        Conflict)."""
        with self._store.writing() as conn:
            self._lock_audit(conn)
            check_audit_append(entry, self.last_audit())
            at_us, at_off = self._instant(entry.at)
            conn.execute(
                self._q(f"INSERT INTO privacy_audit ({AUDIT_COLUMNS}) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
                (entry.seq, at_us, at_off, entry.actor, entry.action, entry.resource,
                 entry.purpose, entry.outcome, entry.prev_hash, entry.hash),
            )

    def last_audit(self) -> AuditEntry | None:
        """The latest entry, or None."""
        rows = self._fetch(
            self._q(f"SELECT {AUDIT_COLUMNS} FROM privacy_audit ORDER BY seq DESC LIMIT 1")
        )
        return self._entry(rows[0]) if rows else None

    def audit_entries(self, start: int = 0, limit: int | None = None) -> list[AuditEntry]:
        """Entries from position ``start`` on, at most ``limit``, in stored order."""
        first = check_limit("start", start)
        count = check_limit("limit", limit, optional=True)
        rows = self._fetch(
            self._q(f"SELECT {AUDIT_COLUMNS} FROM privacy_audit ORDER BY seq LIMIT ? OFFSET ?"),
            (self.no_limit if count is None else count, first),
        )
        return [self._entry(r) for r in rows]

    # -- data keys ------------------------------------------------------------------
    def put_key(self, customer_id: str, key: WrappedKey) -> None:
        """Store a first key (see ``PrivacyRepository.put_key``)."""
        cid = check_customer_id(customer_id)
        check_wrapped(key)
        try:
            with self._store.writing() as conn:
                conn.execute(
                    self._q(f"INSERT INTO privacy_keys ({_KEY_COLUMNS}) VALUES (?, ?, ?)"),
                    (cid, key.kek_id, key.blob),
                )
        except Conflict:
            raise Conflict("data key", cid, "the customer has a data key already") from None

    def get_key(self, customer_id: str) -> WrappedKey:
        """The customer's wrapped key."""
        row = self._customer_row(
            "SELECT kek_id, blob FROM privacy_keys WHERE customer_id = ?", customer_id, "data key"
        )
        return WrappedKey(kek_id=row[0], blob=bytes(row[1]))

    def _customer_row(self, sql: str, customer_id: Any, what: str) -> Sequence[Any]:
        """The one row ``sql`` (with ``?``) reads for ``customer_id`` (NotFound: none)."""
        key = self._lookup_id(customer_id)
        rows = [] if key is None else self._fetch(self._q(sql), (key,))
        if not rows:
            raise NotFound(what, customer_id)
        return rows[0]  # type: ignore[no-any-return]

    def replace_key(self, customer_id: str, key: WrappedKey, *, expected_kek_id: str) -> None:
        """Swap in a rewrapped key (see ``PrivacyRepository.replace_key``); the stored
        key's row is locked while it is checked and replaced."""
        check_wrapped(key)
        with self._store.writing() as conn:
            stored = self._stored_kek(conn, customer_id)
            if stored != expected_kek_id:
                raise Conflict(
                    "data key", customer_id, f"wrapped by {stored!r}, not {expected_kek_id!r}"
                )
            conn.execute(
                self._q("UPDATE privacy_keys SET kek_id = ?, blob = ? WHERE customer_id = ?"),
                (key.kek_id, key.blob, customer_id),
            )

    def shred_key(self, customer_id: str) -> bool:
        """Delete the customer's key."""
        return self._delete("privacy_keys", customer_id)

    def _delete(self, table: str, customer_id: str) -> bool:
        """Delete the customer's row of ``table``; whether there was one."""
        with self._store.writing() as conn:
            cur = conn.execute(
                self._q(f"DELETE FROM {table} WHERE customer_id = ?"), (str(customer_id),)
            )
            return bool(cur.rowcount > 0)

    def keys_wrapped_with(self, kek_id: str, limit: int) -> list[str]:
        """Up to ``limit`` customer ids whose key ``kek_id`` wraps, sorted."""
        count = check_limit("limit", limit)
        rows = self._fetch(self._q(self.keys_of_kek), (str(kek_id), count))
        return sorted(r[0] for r in rows)

    def key_counts(self) -> dict[str, int]:
        """How many keys each KEK wraps."""
        rows = self._fetch("SELECT kek_id, count(*) FROM privacy_keys GROUP BY kek_id")
        return {r[0]: int(r[1]) for r in rows}

    # -- key fingerprints (custmgmt.privacy.KeyFingerprints) -------------------------
    def key_fingerprints(self) -> dict[str, bytes]:
        """The recorded fingerprint of each key id."""
        rows = self._fetch("SELECT key_id, fingerprint FROM privacy_key_checks")
        return {str(r[0]): bytes(r[1]) for r in rows}

    def put_key_fingerprint(self, key_id: str, fingerprint: bytes) -> None:
        """Record a key's fingerprint once (see ``KeyFingerprints.put_key_fingerprint``)."""
        kid, value = check_fingerprint(key_id, fingerprint)
        try:
            with self._store.writing() as conn:
                conn.execute(
                    self._q("INSERT INTO privacy_key_checks (key_id, fingerprint) VALUES (?, ?)"),
                    (kid, value),
                )
        except Conflict:
            raise Conflict("key fingerprint", kid, "recorded already") from None

    # -- sealed records -------------------------------------------------------------
    def put_sealed(self, record: SealedRecord) -> None:
        """Store or replace a sealed record."""
        check_sealed(record)
        with self._store.writing() as conn:
            conn.execute(self._q(self.upsert_sealed), _sealed_row(record))

    def put_sealed_many(
        self, records: Iterable[tuple[SealedRecord, WrappedKey | None]]
    ) -> int:
        """Store new sealed records with their keys, all or nothing."""
        batch = [(check_sealed(r), None if k is None else check_wrapped(k)) for r, k in records]
        try:
            with self._store.writing() as conn:
                self._insert_rows(
                    conn, "privacy_keys", _KEY_COLUMNS,
                    [(r.customer_id, k.kek_id, k.blob) for r, k in batch if k is not None],
                )
                self._insert_rows(
                    conn, "privacy_sealed", SEALED_COLUMNS, [_sealed_row(r) for r, _ in batch]
                )
        except Conflict as exc:
            raise Conflict("data key", None, f"a customer has a data key already ({exc})") from exc
        return len(batch)

    def get_sealed(self, customer_id: str) -> SealedRecord:
        """The customer's sealed record."""
        row = self._customer_row(
            "SELECT ciphertext, email_ix, phone_ix, phone_last4_ix FROM privacy_sealed"
            " WHERE customer_id = ?",
            customer_id, "sealed record",
        )
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
        return self._delete("privacy_sealed", customer_id)

    def find_by_index(self, kind: str, digest: bytes) -> list[str]:
        """Customer ids with index ``(kind, digest)``, sorted."""
        check_index_query(kind, digest)
        rows = self._fetch(
            self._q(f"SELECT customer_id FROM privacy_sealed WHERE {_INDEX_COLUMN[kind]} = ?"
                    " ORDER BY customer_id"),
            (digest,),
        )
        return [r[0] for r in rows]

    def customer_dependents(self, customer_id: str) -> dict[str, int]:
        """The customer's sealed record and data key, which block ``customers.remove``."""
        rows = self._fetch(
            self._q("SELECT (SELECT count(*) FROM privacy_sealed WHERE customer_id = ?),"
                    " (SELECT count(*) FROM privacy_keys WHERE customer_id = ?)"),
            (str(customer_id), str(customer_id)),
        )
        return {"sealed records": int(rows[0][0]), "data keys": int(rows[0][1])}

    # -- erasures -------------------------------------------------------------------
    def record_erasure(self, record: ErasureRecord) -> None:
        """Remember an erasure."""
        check_erasure(record)
        at_us, at_off = self._instant(record.at)
        try:
            with self._store.writing() as conn:
                conn.execute(
                    self._q("INSERT INTO privacy_erasures VALUES (?, ?, ?, ?)"),
                    (record.customer_id, record.pseudonym, at_us, at_off),
                )
        except Conflict:
            raise Conflict(
                "erasure", record.customer_id, "the customer was erased already"
            ) from None

    def erasure(self, customer_id: str) -> ErasureRecord | None:
        """The customer's erasure, or None."""
        rows = self._fetch(
            self._q("SELECT customer_id, pseudonym, at_us, at_off FROM privacy_erasures"
                    " WHERE customer_id = ?"),
            (str(customer_id),),
        )
        if not rows:
            return None
        r = rows[0]
        return ErasureRecord(customer_id=r[0], pseudonym=r[1], at=datetime_of(r[2], r[3]))

    def erased_ids(self) -> list[str]:
        """Erased customers' ids, sorted."""
        return [r[0] for r in self._fetch(
            "SELECT customer_id FROM privacy_erasures ORDER BY customer_id"
        )]
