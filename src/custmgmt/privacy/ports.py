"""The privacy capability's port: the audit log, data keys, sealed records, erasures.

A store offers privacy by exposing a :class:`PrivacyRepository` as ``.privacy``;
:class:`PrivacyStore` is the store type the privacy services take. Check an
implementation with :class:`custmgmt.testing.PrivacyRepositoryContract`.

The repository keeps four things, all in the store's transaction:

* the audit log, append-only: an entry is accepted only as the next link of the
  chain (its ``seq`` one past the last and its ``prev_hash`` the last hash);
* customers' wrapped data keys, one per customer, with the id of the KEK that wraps
  each (so a rotation can find the keys still wrapped by an old KEK);
* sealed records: a customer's personal fields as one ciphertext, with the blind
  indexes that find it;
* erasures: who was erased, when, and under which pseudonym.

Bundled repositories also keep each key's fingerprint (:class:`KeyFingerprints`), so
the services can refuse a wrong key file before it writes anything.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

import attrs

from custmgmt.domain import _validate as v
from custmgmt.errors import ValidationError
from custmgmt.ports import CapabilityKey, Store
from custmgmt.privacy.audit import AuditEntry
from custmgmt.privacy.crypto import INDEX_KINDS, WrappedKey

__all__ = [
    "ERASED_TEXT",
    "PRIVACY",
    "ErasureRecord",
    "KeyFingerprints",
    "PrivacyRepository",
    "PrivacyStore",
    "SealedRecord",
    "SubjectRedaction",
]

#: What erased free text (a review, a ticket's subject, a points reason) is replaced with.
ERASED_TEXT = "[已删除 erased]"


def _to_indexes(value: Any) -> tuple[tuple[str, bytes], ...]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise ValidationError("SealedRecord.indexes", value, "(kind, digest) pairs")
    return tuple(tuple(item) if isinstance(item, list) else item for item in value)


def _check_indexes(
    instance: object, attribute: attrs.Attribute[Any], value: object
) -> None:
    if not isinstance(value, tuple):
        raise ValidationError("SealedRecord.indexes", value, "a tuple of (kind, digest) pairs")
    for item in value:
        if (
            not isinstance(item, tuple) or len(item) != 2 or item[0] not in INDEX_KINDS
            or not isinstance(item[1], bytes) or not item[1]
        ):
            raise ValidationError("SealedRecord.indexes", item, f"(kind in {INDEX_KINDS}, bytes)")
    kinds = [item[0] for item in value]
    if len(set(kinds)) != len(kinds):
        raise ValidationError("SealedRecord.indexes", kinds, "at most one digest per kind")


@attrs.frozen(kw_only=True)
class SealedRecord:
    """A customer's personal fields, encrypted, with the blind indexes that find them.

    Attributes:
        customer_id: whose fields.
        ciphertext: the sealed fields (not shown in ``repr``).
        indexes: ``(kind, digest)`` pairs, at most one per kind, e.g. ``("email", b"...")``.
    """

    customer_id: str = attrs.field(validator=v.an_id)
    ciphertext: bytes = attrs.field(
        validator=v.instance_of(bytes, "bytes"), repr=lambda b: f"<{len(b)} bytes>"
    )
    indexes: tuple[tuple[str, bytes], ...] = attrs.field(
        default=(), converter=_to_indexes, validator=_check_indexes, repr=False
    )


    @classmethod
    def trusted(
        cls, customer_id: str, ciphertext: bytes, indexes: tuple[tuple[str, bytes], ...]
    ) -> SealedRecord:
        """A record from parts the library made itself, without re-validating them
        (bulk sealing makes a million of these)."""
        record = object.__new__(cls)
        object.__setattr__(record, "customer_id", customer_id)
        object.__setattr__(record, "ciphertext", ciphertext)
        object.__setattr__(record, "indexes", indexes)
        return record


@attrs.frozen(kw_only=True)
class ErasureRecord:
    """A customer that was erased: their pseudonym and when.

    Attributes:
        customer_id: the erased customer's id.
        pseudonym: the name their records carry now.
        at: when they were erased (aware).
    """

    customer_id: str = attrs.field(validator=v.an_id)
    pseudonym: str = attrs.field(validator=v.text(max_length=200))
    at: datetime = attrs.field(validator=v.aware_datetime())


@runtime_checkable
class PrivacyRepository(Protocol):
    """Audit log, data keys, sealed records and erasures (see the module docstring)."""

    # -- the audit log --------------------------------------------------------------
    def append_audit(self, entry: AuditEntry) -> None:
        """Append ``entry`` as the next link of the chain.

        Raises:
            Conflict: ``entry.seq`` is not one past the last entry's, or its
                ``prev_hash`` is not the last entry's hash (a concurrent writer got
                there first); nothing is written.
            ValidationError: ``entry`` is not an AuditEntry.
        """
        ...

    def last_audit(self) -> AuditEntry | None:
        """The latest entry, or None for an empty log."""
        ...

    def audit_entries(self, start: int = 0, limit: int | None = None) -> list[AuditEntry]:
        """Entries from position ``start`` on (at most ``limit``), in stored order.

        Raises:
            ValidationError: ``start`` or ``limit`` is not a non-negative integer.
        """
        ...

    # -- data keys ------------------------------------------------------------------
    def put_key(self, customer_id: str, key: WrappedKey) -> None:
        """Store a customer's first wrapped data key.

        Raises:
            Conflict: the customer has a key already; nothing is written.
        """
        ...

    def get_key(self, customer_id: str) -> WrappedKey:
        """The customer's wrapped data key.

        Raises:
            NotFound: no key (never sealed, or shredded by an erasure).
        """
        ...

    def replace_key(self, customer_id: str, key: WrappedKey, *, expected_kek_id: str) -> None:
        """Swap in a rewrapped key, if the stored one is still wrapped by ``expected_kek_id``.

        Raises:
            NotFound: the customer has no key.
            Conflict: the stored key is wrapped by another KEK (someone rotated it).
        """
        ...

    def shred_key(self, customer_id: str) -> bool:
        """Delete the customer's data key; True if there was one."""
        ...

    def keys_wrapped_with(self, kek_id: str, limit: int) -> list[str]:
        """Up to ``limit`` customer ids whose key ``kek_id`` wraps, sorted.

        Which ones is the repository's choice (a rotation takes batches until none
        is left); fewer than ``limit`` means these are all.
        """
        ...

    def key_counts(self) -> dict[str, int]:
        """How many data keys each KEK wraps."""
        ...

    # -- sealed records -------------------------------------------------------------
    def put_sealed(self, record: SealedRecord) -> None:
        """Store or replace a customer's sealed record and its indexes."""
        ...

    def put_sealed_many(
        self, records: Iterable[tuple[SealedRecord, WrappedKey | None]]
    ) -> int:
        """Store new sealed records with their customers' first keys, all or nothing.

        A key of None stores no key (an unencrypted store keeps only the indexes).

        Raises:
            Conflict: a customer already has a key (or repeats in the batch).
        """
        ...

    def get_sealed(self, customer_id: str) -> SealedRecord:
        """The customer's sealed record.

        Raises:
            NotFound: no sealed record for ``customer_id``.
        """
        ...

    def remove_sealed(self, customer_id: str) -> bool:
        """Delete the customer's sealed record and indexes; True if there was one."""
        ...

    def find_by_index(self, kind: str, digest: bytes) -> list[str]:
        """Customer ids whose sealed record has index ``(kind, digest)``, sorted.

        Truncated digests collide: callers check the candidates.
        """
        ...

    def customer_dependents(self, customer_id: str) -> Mapping[str, int]:
        """How many sealed records and data keys the customer has (0 or 1 each).

        They hold the customer's personal data, so they block ``customers.remove``
        (:class:`custmgmt.ports.CustomerDependents`): erase the customer instead, which
        removes both and keeps the pseudonymised profile. Audit entries and the
        erasure record never block.
        """
        ...

    # -- erasures -------------------------------------------------------------------
    def record_erasure(self, record: ErasureRecord) -> None:
        """Remember an erasure.

        Raises:
            Conflict: the customer was erased already.
        """
        ...

    def erasure(self, customer_id: str) -> ErasureRecord | None:
        """The customer's erasure, or None."""
        ...

    def erased_ids(self) -> Sequence[str]:
        """Every erased customer's id, sorted."""
        ...


@runtime_checkable
class SubjectRedaction(Protocol):
    """A capability repository that can erase the personal text it keeps on a customer.

    :func:`custmgmt.privacy.erase_subject` calls ``redact_subject`` on every capability
    repository of the store that implements it, inside the erasure's transaction (so
    a failure leaves everything as it was). Bundled: loyalty (entry reasons), ratings
    (override reasons), risk (appeal statements and reasons, staff notes on alerts),
    follow-ups (plan goals, contents and notes), prospects (a linked person's name
    becomes the pseudonym; info, history notes, the lost reason, contact summaries,
    outcomes and next steps) and
    campaigns (suppression notes), in every adapter that has them.
    """

    def redact_subject(self, customer_id: str, pseudonym: str) -> int:
        """Replace the personal free text held on ``customer_id``; the rows changed.

        Free text becomes :data:`ERASED_TEXT`; a field that names the customer becomes
        ``pseudonym``. Amounts, states and times stay, so totals and KPIs do not move.
        Running it again changes nothing (returns 0); an unknown customer is 0.
        Written in place. Records a host saves back with optimistic concurrency
        (prospects, follow-up plans) get their version raised by one, so a copy read
        before the erasure is refused as stale (``Conflict``) instead of writing the
        personal text back; append-only records (ledger entries, logs) keep theirs.
        """
        ...


@runtime_checkable
class KeyFingerprints(Protocol):
    """A privacy repository that remembers the keys its store was written with.

    Each key id the privacy services use (the index key, the KEKs) gets its keyed
    fingerprint (:meth:`custmgmt.privacy.FieldCipher.key_fingerprint`) recorded once,
    when it is first used; afterwards a key of the same id with another fingerprint is
    refused with :class:`custmgmt.privacy.KeyMismatch` before anything is written. Only
    fingerprints are stored, never keys. All bundled repositories implement it; a
    host's repository that does not is used without the check.
    """

    def key_fingerprints(self) -> dict[str, bytes]:
        """The recorded fingerprint of each key id (empty for a store that has none)."""
        ...

    def put_key_fingerprint(self, key_id: str, fingerprint: bytes) -> None:
        """Record ``key_id``'s fingerprint; a recorded one is never replaced.

        Raises:
            Conflict: ``key_id`` has a fingerprint already; nothing is written.
            ValidationError: ``key_id`` is not a key id, or ``fingerprint`` is not 16
                to 64 bytes.
        """
        ...


#: The key bundled stores register their privacy repository under (``store.privacy``).
PRIVACY: CapabilityKey[PrivacyRepository] = CapabilityKey("privacy", PrivacyRepository)


@runtime_checkable
class PrivacyStore(Store, Protocol):
    """A :class:`~custmgmt.ports.Store` that also keeps the privacy capability's data."""

    @property
    def privacy(self) -> PrivacyRepository:
        """The privacy repository, sharing the store's transaction."""
        ...
