"""Checks the privacy repositories of every adapter make, shared sideways.

They validate arguments before anything is written, so the memory, SQLite and later
adapters refuse the same input with the same error.
"""

from __future__ import annotations

from typing import Any

from custmgmt.domain._validate import check_id
from custmgmt.errors import Conflict, ValidationError
from custmgmt.privacy.audit import AuditEntry
from custmgmt.privacy.crypto import INDEX_KINDS, WrappedKey
from custmgmt.privacy.ports import ErasureRecord, SealedRecord

__all__ = [
    "check_audit_append",
    "check_customer_id",
    "check_erasure",
    "check_fingerprint",
    "check_index_query",
    "check_limit",
    "check_sealed",
    "check_wrapped",
]


def check_customer_id(value: Any) -> str:
    """A customer id argument."""
    check_id("customer_id", value)
    return str(value)


def check_wrapped(value: Any) -> WrappedKey:
    """A wrapped key argument."""
    if not isinstance(value, WrappedKey):
        raise ValidationError("key", type(value).__name__, "a WrappedKey")
    return value


def check_sealed(value: Any) -> SealedRecord:
    """A sealed record argument."""
    if not isinstance(value, SealedRecord):
        raise ValidationError("record", type(value).__name__, "a SealedRecord")
    return value


def check_erasure(value: Any) -> ErasureRecord:
    """An erasure record argument."""
    if not isinstance(value, ErasureRecord):
        raise ValidationError("record", type(value).__name__, "an ErasureRecord")
    return value


def check_fingerprint(key_id: Any, fingerprint: Any) -> tuple[str, bytes]:
    """A key fingerprint's arguments: a key id (non-blank text of at most 200
    characters, no control characters) and 16 to 64 bytes."""
    if (
        not isinstance(key_id, str) or not key_id.strip() or len(key_id) > 200
        or any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 or 0xD800 <= ord(c) < 0xE000
               for c in key_id)
    ):
        shown = key_id[:40] if isinstance(key_id, str) else type(key_id).__name__
        raise ValidationError("key_id", shown, "a key id of 1 to 200 characters")
    if not isinstance(fingerprint, bytes) or not 16 <= len(fingerprint) <= 64:
        raise ValidationError(
            "fingerprint", type(fingerprint).__name__, "16 to 64 bytes"
        )
    return key_id, fingerprint


#: The largest integer SQLite and PostgreSQL bind (a signed 64-bit one).
_SQL_MAX_INT = 2**63 - 1


def check_limit(name: str, value: Any, *, optional: bool = False) -> int | None:
    """A non-negative integer (or None when ``optional``).

    A value beyond what SQL can bind (``2**63 - 1``) is taken as that bound, which no
    table reaches, so it means the same; binding it raised ``OverflowError``.
    """
    if value is None and optional:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValidationError(name, value, "a non-negative integer")
    return min(value, _SQL_MAX_INT)


def check_index_query(kind: Any, digest: Any) -> None:
    """A blind-index lookup's arguments."""
    if kind not in INDEX_KINDS:
        raise ValidationError("kind", kind, f"one of {INDEX_KINDS}")
    if not isinstance(digest, bytes) or not digest:
        raise ValidationError("digest", digest, "non-empty bytes")


def check_audit_append(entry: Any, last: AuditEntry | None) -> AuditEntry:
    """An entry that links onto ``last`` (the stored tail), or a Conflict."""
    if not isinstance(entry, AuditEntry):
        raise ValidationError("entry", type(entry).__name__, "an AuditEntry")
    want_seq = 0 if last is None else last.seq + 1
    want_prev = "0" * 64 if last is None else last.hash
    if entry.seq != want_seq or entry.prev_hash != want_prev:
        raise Conflict(
            "audit entry", entry.seq,
            f"the log's next entry is seq {want_seq} after hash {want_prev[:12]}...",
        )
    return entry
