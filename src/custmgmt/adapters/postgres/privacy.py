"""The privacy capability in PostgreSQL (see :class:`custmgmt.privacy.ports.PrivacyRepository`).

The same four tables as in SQLite, owned by the component ``"privacy"``:
``privacy_audit`` (the hash chain, keyed by ``seq``), ``privacy_keys`` (each
customer's wrapped data key with its KEK's id), ``privacy_sealed`` (each customer's
sealed fields, with one ``bytea`` column and one partial index per blind-index kind)
and ``privacy_erasures``. Only ciphertext, digests and pseudonyms are stored here, and
the customer rows of a sealed customer keep a pseudonym and no contact data, so a
``pg_dump`` of an encrypted store holds no plaintext personal values (a test greps
one). Times are microseconds since the epoch plus the UTC offset, as in SQLite, so
an audit entry reads back with the offset it was written with (its hash covers it).

Erasure deletes the key and the sealed row and updates rows in place; PostgreSQL keeps
the old row versions in the table's pages until ``VACUUM`` reclaims them (and in its
WAL segments until they are recycled): crypto-shredding is what makes old copies of
sealed fields unreadable, and ``docs/privacy.md`` says when to run ``VACUUM``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Final

from custmgmt.adapters._privacy_checks import (
    check_audit_append,
    check_customer_id,
    check_erasure,
    check_index_query,
    check_limit,
    check_sealed,
    check_wrapped,
)
from custmgmt.adapters.postgres.codecs import datetime_of
from custmgmt.adapters.postgres.database import PostgresDatabase
from custmgmt.adapters.postgres.repository import copy_rows
from custmgmt.adapters.postgres.schema import Migration
from custmgmt.domain.time import to_epoch_micros
from custmgmt.errors import Conflict, CustMgmtError, NotFound, StorageError, ValidationError
from custmgmt.privacy.audit import AuditEntry
from custmgmt.privacy.crypto import INDEX_KINDS, WrappedKey
from custmgmt.privacy.ports import ErasureRecord, SealedRecord

__all__ = ["PRIVACY_MIGRATIONS", "PostgresPrivacyRepository"]

_V1 = """
CREATE TABLE privacy_audit (
    seq bigint PRIMARY KEY,
    at_us bigint NOT NULL,
    at_off integer NOT NULL,
    actor text NOT NULL,
    action text NOT NULL,
    resource text NOT NULL,
    purpose text NOT NULL,
    outcome text NOT NULL,
    prev_hash text NOT NULL,
    hash text NOT NULL
);
CREATE TABLE privacy_keys (
    customer_id text COLLATE "C" PRIMARY KEY,
    kek_id text COLLATE "C" NOT NULL,
    blob bytea NOT NULL
);
CREATE INDEX privacy_keys_by_kek ON privacy_keys (kek_id, customer_id);
CREATE TABLE privacy_sealed (
    customer_id text COLLATE "C" PRIMARY KEY,
    ciphertext bytea NOT NULL,
    email_ix bytea,
    phone_ix bytea,
    phone_last4_ix bytea
);
CREATE INDEX privacy_sealed_by_email ON privacy_sealed (email_ix) WHERE email_ix IS NOT NULL;
CREATE INDEX privacy_sealed_by_phone ON privacy_sealed (phone_ix) WHERE phone_ix IS NOT NULL;
CREATE INDEX privacy_sealed_by_last4 ON privacy_sealed (phone_last4_ix)
    WHERE phone_last4_ix IS NOT NULL;
CREATE TABLE privacy_erasures (
    customer_id text COLLATE "C" PRIMARY KEY,
    pseudonym text NOT NULL,
    at_us bigint NOT NULL,
    at_off integer NOT NULL
);
"""

#: The privacy component's schema, one migration per version.
PRIVACY_MIGRATIONS: Final[tuple[Migration, ...]] = (_V1,)

_AUDIT_COLUMNS: Final = (
    "seq, at_us, at_off, actor, action, resource, purpose, outcome, prev_hash, hash"
)
_SEALED_COLUMNS: Final = "customer_id, ciphertext, email_ix, phone_ix, phone_last4_ix"
_INDEX_COLUMN: Final = {"email": "email_ix", "phone": "phone_ix", "phone_last4": "phone_last4_ix"}


def _instant(value: datetime) -> tuple[int, int]:
    offset = value.utcoffset()
    assert offset is not None  # the domain types refuse naive datetimes
    return to_epoch_micros(value), int(offset.total_seconds())


def _entry(row: tuple[Any, ...]) -> AuditEntry:
    try:
        return AuditEntry(
            seq=row[0], at=datetime_of(row[1], row[2]), actor=row[3], action=row[4],
            resource=row[5], purpose=row[6], outcome=row[7], prev_hash=row[8], hash=row[9],
        )
    except CustMgmtError as exc:
        raise StorageError(f"postgres: audit entry {row[0]!r} is malformed ({exc})") from exc


class PostgresPrivacyRepository:
    """Audit log, data keys, sealed records and erasures in a PostgreSQL store.

    Args:
        store: the PostgreSQL store (``store.privacy`` makes one when it opens).

    Raises:
        StorageError: the schema cannot be created.
    """

    def __init__(self, store: PostgresDatabase) -> None:
        self._store = store
        store.apply_migrations("privacy", PRIVACY_MIGRATIONS)

    def _read(self, sql: str, params: Any = ()) -> list[Any]:
        try:
            return self._store.fetch(sql, params, doing="reading privacy data")
        except UnicodeEncodeError as exc:
            raise ValidationError("customer_id", exc.object, "valid Unicode text") from None

    # -- the audit log --------------------------------------------------------------
    def append_audit(self, entry: AuditEntry) -> None:
        """Append the next link (see ``PrivacyRepository.append_audit``).

        The log's last row is locked first (``FOR UPDATE``), so two writers appending
        at once take turns and the second finds the chain moved on (a Conflict).
        """
        with self._store.writing() as conn:
            conn.execute("LOCK TABLE privacy_audit IN SHARE ROW EXCLUSIVE MODE")
            check_audit_append(entry, self.last_audit())
            at_us, at_off = _instant(entry.at)
            conn.execute(
                f"INSERT INTO privacy_audit ({_AUDIT_COLUMNS}) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (entry.seq, at_us, at_off, entry.actor, entry.action, entry.resource,
                 entry.purpose, entry.outcome, entry.prev_hash, entry.hash),
            )

    def last_audit(self) -> AuditEntry | None:
        """The latest entry, or None."""
        rows = self._read(f"SELECT {_AUDIT_COLUMNS} FROM privacy_audit ORDER BY seq DESC LIMIT 1")
        return _entry(rows[0]) if rows else None

    def audit_entries(self, start: int = 0, limit: int | None = None) -> list[AuditEntry]:
        """Entries from position ``start`` on, at most ``limit``, in stored order."""
        first = check_limit("start", start)
        count = check_limit("limit", limit, optional=True)
        rows = self._read(
            f"SELECT {_AUDIT_COLUMNS} FROM privacy_audit ORDER BY seq LIMIT %s OFFSET %s",
            (count, first),
        )
        return [_entry(r) for r in rows]

    # -- data keys ------------------------------------------------------------------
    def put_key(self, customer_id: str, key: WrappedKey) -> None:
        """Store a first key (see ``PrivacyRepository.put_key``)."""
        cid = check_customer_id(customer_id)
        check_wrapped(key)
        try:
            with self._store.writing() as conn:
                conn.execute(
                    "INSERT INTO privacy_keys VALUES (%s, %s, %s)", (cid, key.kek_id, key.blob)
                )
        except Conflict:
            raise Conflict("data key", cid, "the customer has a data key already") from None

    def get_key(self, customer_id: str) -> WrappedKey:
        """The customer's wrapped key."""
        if not isinstance(customer_id, str):
            raise NotFound("data key", customer_id)
        rows = self._read(
            "SELECT kek_id, blob FROM privacy_keys WHERE customer_id = %s", (customer_id,)
        )
        if not rows:
            raise NotFound("data key", customer_id)
        return WrappedKey(kek_id=rows[0][0], blob=bytes(rows[0][1]))

    def replace_key(self, customer_id: str, key: WrappedKey, *, expected_kek_id: str) -> None:
        """Swap in a rewrapped key (see ``PrivacyRepository.replace_key``)."""
        check_wrapped(key)
        with self._store.writing() as conn:
            row = conn.execute(
                "SELECT kek_id FROM privacy_keys WHERE customer_id = %s FOR UPDATE",
                (str(customer_id),),
            ).fetchone()
            if row is None:
                raise NotFound("data key", customer_id)
            if row[0] != expected_kek_id:
                raise Conflict(
                    "data key", customer_id, f"wrapped by {row[0]!r}, not {expected_kek_id!r}"
                )
            conn.execute(
                "UPDATE privacy_keys SET kek_id = %s, blob = %s WHERE customer_id = %s",
                (key.kek_id, key.blob, customer_id),
            )

    def shred_key(self, customer_id: str) -> bool:
        """Delete the customer's key."""
        with self._store.writing() as conn:
            cur = conn.execute(
                "DELETE FROM privacy_keys WHERE customer_id = %s", (str(customer_id),)
            )
            return cur.rowcount > 0

    def keys_wrapped_with(self, kek_id: str, limit: int) -> list[str]:
        """Up to ``limit`` customer ids whose key ``kek_id`` wraps, sorted."""
        count = check_limit("limit", limit)
        rows = self._read(
            "SELECT customer_id FROM privacy_keys WHERE kek_id = %s ORDER BY customer_id LIMIT %s",
            (str(kek_id), count),
        )
        return [r[0] for r in rows]

    def key_counts(self) -> dict[str, int]:
        """How many keys each KEK wraps."""
        rows = self._read("SELECT kek_id, count(*) FROM privacy_keys GROUP BY kek_id")
        return {r[0]: int(r[1]) for r in rows}

    # -- sealed records -------------------------------------------------------------
    @staticmethod
    def _row(record: SealedRecord) -> tuple[Any, ...]:
        ix = dict(record.indexes)
        return (record.customer_id, record.ciphertext, ix.get("email"), ix.get("phone"),
                ix.get("phone_last4"))

    def put_sealed(self, record: SealedRecord) -> None:
        """Store or replace a sealed record."""
        check_sealed(record)
        with self._store.writing() as conn:
            conn.execute(
                f"INSERT INTO privacy_sealed ({_SEALED_COLUMNS}) VALUES (%s, %s, %s, %s, %s) "
                "ON CONFLICT (customer_id) DO UPDATE SET ciphertext = EXCLUDED.ciphertext, "
                "email_ix = EXCLUDED.email_ix, phone_ix = EXCLUDED.phone_ix, "
                "phone_last4_ix = EXCLUDED.phone_last4_ix",
                self._row(record),
            )

    def put_sealed_many(
        self, records: Iterable[tuple[SealedRecord, WrappedKey | None]]
    ) -> int:
        """Store new sealed records with their keys, all or nothing (two COPYs)."""
        batch = [(check_sealed(r), None if k is None else check_wrapped(k)) for r, k in records]
        try:
            with self._store.writing() as conn:
                copy_rows(conn, "privacy_keys", "customer_id, kek_id, blob",
                          [(r.customer_id, k.kek_id, k.blob) for r, k in batch if k is not None])
                copy_rows(conn, "privacy_sealed", _SEALED_COLUMNS,
                          [self._row(r) for r, _ in batch])
        except Conflict as exc:
            raise Conflict("data key", None, f"a customer has a data key already ({exc})") from exc
        return len(batch)

    def get_sealed(self, customer_id: str) -> SealedRecord:
        """The customer's sealed record."""
        if not isinstance(customer_id, str):
            raise NotFound("sealed record", customer_id)
        rows = self._read(
            f"SELECT {_SEALED_COLUMNS} FROM privacy_sealed WHERE customer_id = %s",
            (customer_id,),
        )
        if not rows:
            raise NotFound("sealed record", customer_id)
        row = rows[0]
        indexes = tuple(
            (kind, bytes(digest))
            for kind, digest in zip(INDEX_KINDS, row[2:], strict=True)
            if digest is not None
        )
        return SealedRecord(customer_id=customer_id, ciphertext=bytes(row[1]), indexes=indexes)

    def remove_sealed(self, customer_id: str) -> bool:
        """Delete the sealed record and its indexes."""
        with self._store.writing() as conn:
            cur = conn.execute(
                "DELETE FROM privacy_sealed WHERE customer_id = %s", (str(customer_id),)
            )
            return cur.rowcount > 0

    def find_by_index(self, kind: str, digest: bytes) -> list[str]:
        """Customer ids with index ``(kind, digest)``, sorted."""
        check_index_query(kind, digest)
        rows = self._read(
            f"SELECT customer_id FROM privacy_sealed WHERE {_INDEX_COLUMN[kind]} = %s"
            " ORDER BY customer_id",
            (digest,),
        )
        return [r[0] for r in rows]

    def customer_dependents(self, customer_id: str) -> dict[str, int]:
        """The customer's sealed record and data key, which block ``customers.remove``."""
        rows = self._read(
            "SELECT (SELECT count(*) FROM privacy_sealed WHERE customer_id = %(c)s),"
            " (SELECT count(*) FROM privacy_keys WHERE customer_id = %(c)s)",
            {"c": str(customer_id)},
        )
        return {"sealed records": int(rows[0][0]), "data keys": int(rows[0][1])}

    # -- erasures -------------------------------------------------------------------
    def record_erasure(self, record: ErasureRecord) -> None:
        """Remember an erasure."""
        check_erasure(record)
        at_us, at_off = _instant(record.at)
        try:
            with self._store.writing() as conn:
                conn.execute(
                    "INSERT INTO privacy_erasures VALUES (%s, %s, %s, %s)",
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
            " WHERE customer_id = %s",
            (str(customer_id),),
        )
        if not rows:
            return None
        r = rows[0]
        return ErasureRecord(customer_id=r[0], pseudonym=r[1], at=datetime_of(r[2], r[3]))

    def erased_ids(self) -> list[str]:
        """Erased customers' ids, sorted."""
        return [r[0] for r in self._read(
            "SELECT customer_id FROM privacy_erasures ORDER BY customer_id"
        )]

