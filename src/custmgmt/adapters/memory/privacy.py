"""The privacy capability in memory (see :class:`custmgmt.privacy.ports.PrivacyRepository`).

Writes hold the store's lock and record an undo action, so they join
:meth:`MemoryStore.transaction <custmgmt.adapters.memory.MemoryStore.transaction>`.
"""

from __future__ import annotations

from collections.abc import Iterable

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
from custmgmt.adapters.memory.transaction import TransactionLog
from custmgmt.errors import Conflict, NotFound
from custmgmt.privacy.audit import AuditEntry
from custmgmt.privacy.crypto import WrappedKey
from custmgmt.privacy.ports import ErasureRecord, SealedRecord

__all__ = ["MemoryPrivacyRepository"]


class MemoryPrivacyRepository:
    """Audit log, data keys, sealed records and erasures in memory.

    >>> from custmgmt.adapters.memory import MemoryStore
    >>> repo = MemoryPrivacyRepository(MemoryStore().tx)
    >>> repo.last_audit() is None
    True

    Args:
        tx: the store's transaction log (``MemoryStore.tx``).
    """

    def __init__(self, tx: TransactionLog) -> None:
        self._tx = tx
        self._audit: list[AuditEntry] = []
        self._keys: dict[str, WrappedKey] = {}
        self._sealed: dict[str, SealedRecord] = {}
        self._erased: dict[str, ErasureRecord] = {}
        self._index: dict[tuple[str, bytes], set[str]] = {}
        self._fingerprints: dict[str, bytes] = {}

    def _swap_sealed(
        self, customer_id: str, new: SealedRecord | None, *, undoable: bool = True
    ) -> None:
        old = self._sealed.pop(customer_id, None)
        if old is not None:
            for pair in old.indexes:
                self._index[pair].discard(customer_id)
        if new is not None:
            self._sealed[customer_id] = new
            for pair in new.indexes:
                self._index.setdefault(pair, set()).add(customer_id)
        if undoable:
            self._tx.record(lambda: self._swap_sealed(customer_id, old, undoable=False))

    # -- the audit log --------------------------------------------------------------
    def append_audit(self, entry: AuditEntry) -> None:
        """Append the next link (see ``PrivacyRepository.append_audit``)."""
        with self._tx.lock:
            check_audit_append(entry, self.last_audit())
            self._audit.append(entry)
            self._tx.record(self._audit.pop)

    def last_audit(self) -> AuditEntry | None:
        """The latest entry, or None."""
        with self._tx.lock:
            return self._audit[-1] if self._audit else None

    def audit_entries(self, start: int = 0, limit: int | None = None) -> list[AuditEntry]:
        """Entries from ``start`` on, at most ``limit``."""
        first = check_limit("start", start)
        count = check_limit("limit", limit, optional=True)
        assert first is not None
        with self._tx.lock:
            end = None if count is None else first + count
            return self._audit[first:end]

    # -- data keys ------------------------------------------------------------------
    def _set_key(self, customer_id: str, key: WrappedKey | None) -> None:
        old = self._keys.get(customer_id)
        if key is None:
            self._keys.pop(customer_id, None)
        else:
            self._keys[customer_id] = key
        self._tx.record(lambda: self._restore(self._keys, customer_id, old))

    @staticmethod
    def _restore(table: dict[str, WrappedKey], key: str, old: WrappedKey | None) -> None:
        if old is None:
            table.pop(key, None)
        else:
            table[key] = old

    def put_key(self, customer_id: str, key: WrappedKey) -> None:
        """Store a first key (see ``PrivacyRepository.put_key``)."""
        cid = check_customer_id(customer_id)
        check_wrapped(key)
        with self._tx.lock:
            if cid in self._keys:
                raise Conflict("data key", cid, "the customer has a data key already")
            self._set_key(cid, key)

    def get_key(self, customer_id: str) -> WrappedKey:
        """The customer's wrapped key."""
        with self._tx.lock:
            try:
                return self._keys[customer_id]
            except (KeyError, TypeError):
                raise NotFound("data key", customer_id) from None

    def replace_key(self, customer_id: str, key: WrappedKey, *, expected_kek_id: str) -> None:
        """Swap in a rewrapped key (see ``PrivacyRepository.replace_key``)."""
        check_wrapped(key)
        with self._tx.lock:
            stored = self.get_key(customer_id)
            if stored.kek_id != expected_kek_id:
                raise Conflict(
                    "data key", customer_id,
                    f"wrapped by {stored.kek_id!r}, not {expected_kek_id!r}",
                )
            self._set_key(customer_id, key)

    def shred_key(self, customer_id: str) -> bool:
        """Delete the customer's key."""
        with self._tx.lock:
            if customer_id not in self._keys:
                return False
            self._set_key(customer_id, None)
            return True

    def keys_wrapped_with(self, kek_id: str, limit: int) -> list[str]:
        """Customer ids whose key ``kek_id`` wraps, in id order."""
        count = check_limit("limit", limit)
        with self._tx.lock:
            found = sorted(c for c, k in self._keys.items() if k.kek_id == kek_id)
        return found[:count]

    def key_counts(self) -> dict[str, int]:
        """How many keys each KEK wraps."""
        counts: dict[str, int] = {}
        with self._tx.lock:
            for key in self._keys.values():
                counts[key.kek_id] = counts.get(key.kek_id, 0) + 1
        return counts

    # -- key fingerprints (custmgmt.privacy.KeyFingerprints) -------------------------
    def key_fingerprints(self) -> dict[str, bytes]:
        """The recorded fingerprint of each key id."""
        with self._tx.lock:
            return dict(self._fingerprints)

    def put_key_fingerprint(self, key_id: str, fingerprint: bytes) -> None:
        """Record a key's fingerprint once (see ``KeyFingerprints.put_key_fingerprint``)."""
        kid, value = check_fingerprint(key_id, fingerprint)
        with self._tx.lock:
            if kid in self._fingerprints:
                raise Conflict("key fingerprint", kid, "recorded already")
            self._fingerprints[kid] = value
            self._tx.record(lambda: self._fingerprints.pop(kid, None))

    # -- sealed records -------------------------------------------------------------
    def put_sealed(self, record: SealedRecord) -> None:
        """Store or replace a sealed record."""
        check_sealed(record)
        with self._tx.lock:
            self._swap_sealed(record.customer_id, record)

    def put_sealed_many(
        self, records: Iterable[tuple[SealedRecord, WrappedKey | None]]
    ) -> int:
        """Store new sealed records with their keys, all or nothing."""
        batch = [(check_sealed(r), None if k is None else check_wrapped(k)) for r, k in records]
        with self._tx.transaction():
            for record, key in batch:
                if key is not None:
                    self.put_key(record.customer_id, key)
                self.put_sealed(record)
        return len(batch)

    def get_sealed(self, customer_id: str) -> SealedRecord:
        """The customer's sealed record."""
        with self._tx.lock:
            try:
                return self._sealed[customer_id]
            except (KeyError, TypeError):
                raise NotFound("sealed record", customer_id) from None

    def remove_sealed(self, customer_id: str) -> bool:
        """Delete the sealed record."""
        with self._tx.lock:
            if customer_id not in self._sealed:
                return False
            self._swap_sealed(customer_id, None)
            return True

    def find_by_index(self, kind: str, digest: bytes) -> list[str]:
        """Customer ids with index ``(kind, digest)``, sorted."""
        check_index_query(kind, digest)
        with self._tx.lock:
            return sorted(self._index.get((kind, digest), ()))

    def customer_dependents(self, customer_id: str) -> dict[str, int]:
        """The customer's sealed record and data key, which block ``customers.remove``."""
        with self._tx.lock:
            return {
                "sealed records": int(customer_id in self._sealed),
                "data keys": int(customer_id in self._keys),
            }

    # -- erasures -------------------------------------------------------------------
    def record_erasure(self, record: ErasureRecord) -> None:
        """Remember an erasure."""
        check_erasure(record)
        with self._tx.lock:
            if record.customer_id in self._erased:
                raise Conflict("erasure", record.customer_id, "the customer was erased already")
            self._erased[record.customer_id] = record
            self._tx.record(lambda: self._erased.pop(record.customer_id))

    def erasure(self, customer_id: str) -> ErasureRecord | None:
        """The customer's erasure, or None."""
        with self._tx.lock:
            return self._erased.get(customer_id)

    def erased_ids(self) -> list[str]:
        """Erased customers' ids, sorted."""
        with self._tx.lock:
            return sorted(self._erased)
