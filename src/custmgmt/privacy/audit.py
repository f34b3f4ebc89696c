"""The audit log: an append-only, hash-chained record of who did what, when and why.

Each :class:`AuditEntry` carries the SHA-256 of the previous entry's hash and its own
canonical encoding (:func:`canonical_bytes`: UTF-8 JSON with sorted keys), so
:func:`verify_chain` finds any entry that was edited, deleted, inserted or moved.
Entries name customers by id (a pseudonymous key) and never hold personal values, so
erasing a customer never breaks the chain.

The chain proves the log is *consistent*; someone able to rewrite the whole table
could rebuild it. Anchor the head: keep :attr:`AuditEntry.hash` of the latest entry
somewhere else (a ticket, a signed email, a second system) and pass it to
``verify_chain(..., head=...)`` to detect a rewrite or a truncated tail as well.

>>> from datetime import datetime, timezone
>>> at = datetime(2025, 1, 1, tzinfo=timezone.utc)
>>> first = AuditEntry.first(at=at, actor="u1", action="view_contact",
...                          resource="customer:C-1", purpose="回访")
>>> second = first.next(at=at, actor="u1", action="erase", resource="customer:C-1",
...                     purpose="PIPL request")
>>> verify_chain([first, second]).ok
True
>>> verify_chain([second, first]).problem
'entry 0: seq is 1, expected 0'
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import datetime

import attrs

from custmgmt.domain import _validate as v
from custmgmt.domain.time import to_epoch_micros
from custmgmt.errors import ValidationError

__all__ = ["GENESIS", "AuditEntry", "AuditVerification", "canonical_bytes", "verify_chain"]

#: The "previous hash" of the first entry.
GENESIS = "0" * 64

_OUTCOMES = ("allowed", "denied", "done")


def _check_hash(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    if not isinstance(value, str) or len(value) != 64 or any(
        c not in "0123456789abcdef" for c in value
    ):
        raise ValidationError(f"AuditEntry.{attribute.name}", value, "64 lower-case hex digits")


def _check_outcome(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    if value not in _OUTCOMES:
        raise ValidationError("AuditEntry.outcome", value, f"one of {_OUTCOMES}")


def _check_seq(instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    v.check_count("AuditEntry.seq", value, expected="a non-negative integer")


def canonical_bytes(
    *, seq: int, at: datetime, actor: str, action: str, resource: str, purpose: str,
    outcome: str, prev_hash: str,
) -> bytes:
    """The canonical encoding an entry's hash is computed over.

    UTF-8 JSON, keys sorted, no spaces, the time as integer microseconds since the
    epoch (UTC): two equal entries always encode to the same bytes.
    """
    record = {
        "action": action, "actor": actor, "at_us": to_epoch_micros(at), "outcome": outcome,
        "prev": prev_hash, "purpose": purpose, "resource": resource, "seq": seq,
    }
    return json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@attrs.frozen(kw_only=True)
class AuditEntry:
    """One line of the audit log.

    Build entries with :meth:`first` and :meth:`next`, which compute the hash; the
    constructor checks only the shapes (a repository reading a tampered row still
    gets an entry, which :func:`verify_chain` then flags).

    Attributes:
        seq: position in the log, from 0.
        at: when (aware).
        actor: who (a staff or service id).
        action: what (an :class:`~custmgmt.privacy.access.Action` value or a service's name).
        resource: on what (``"customer:C-1"``, ``"keys"``).
        purpose: why, as the actor stated it.
        outcome: ``"allowed"``, ``"denied"`` or ``"done"``.
        prev_hash: the previous entry's hash (:data:`GENESIS` for the first).
        hash: SHA-256 hex of ``prev_hash`` and this entry's canonical bytes.
    """

    seq: int = attrs.field(validator=_check_seq)
    at: datetime = attrs.field(validator=v.aware_datetime())
    actor: str = attrs.field(validator=v.text(max_length=200))
    action: str = attrs.field(validator=v.text(max_length=100))
    # 500: a key rotation's resource names two KEK ids of up to 200 characters each.
    resource: str = attrs.field(validator=v.text(max_length=500))
    purpose: str = attrs.field(validator=v.text(blank_ok=True, max_length=1000))
    outcome: str = attrs.field(validator=_check_outcome)
    prev_hash: str = attrs.field(validator=_check_hash)
    hash: str = attrs.field(validator=_check_hash)

    def encoded(self) -> bytes:
        """This entry's canonical bytes (everything but its own hash)."""
        return canonical_bytes(
            seq=self.seq, at=self.at, actor=self.actor, action=self.action,
            resource=self.resource, purpose=self.purpose, outcome=self.outcome,
            prev_hash=self.prev_hash,
        )

    def expected_hash(self) -> str:
        """The hash this entry must carry, recomputed from its fields."""
        return _digest(self.prev_hash.encode() + self.encoded())

    @classmethod
    def _make(
        cls, *, seq: int, prev_hash: str, at: datetime, actor: str, action: str,
        resource: str, purpose: str, outcome: str,
    ) -> AuditEntry:
        draft = cls(
            seq=seq, at=at, actor=actor, action=action, resource=resource, purpose=purpose,
            outcome=outcome, prev_hash=prev_hash, hash=GENESIS,
        )
        return attrs.evolve(draft, hash=draft.expected_hash())

    @classmethod
    def first(
        cls, *, at: datetime, actor: str, action: str, resource: str, purpose: str = "",
        outcome: str = "done",
    ) -> AuditEntry:
        """The first entry of a log.

        Raises:
            ValidationError: a field is out of shape (naive time, blank actor ...).
        """
        return cls._make(
            seq=0, prev_hash=GENESIS, at=at, actor=actor, action=action, resource=resource,
            purpose=purpose, outcome=outcome,
        )

    def next(
        self, *, at: datetime, actor: str, action: str, resource: str, purpose: str = "",
        outcome: str = "done",
    ) -> AuditEntry:
        """The entry that follows this one."""
        return self._make(
            seq=self.seq + 1, prev_hash=self.hash, at=at, actor=actor, action=action,
            resource=resource, purpose=purpose, outcome=outcome,
        )


@attrs.frozen(kw_only=True)
class AuditVerification:
    """What :func:`verify_chain` found.

    Attributes:
        ok: True when every entry checked out.
        checked: how many entries were read.
        first_bad: the position (in the sequence read) of the first entry that does
            not check out, or None.
        problem: what is wrong with it, in words ("" when ok).
        head: the hash of the last entry (anchor it elsewhere), :data:`GENESIS` when empty.
    """

    ok: bool
    checked: int
    first_bad: int | None
    problem: str
    head: str


def _check_head(head: object) -> str:
    text = head.strip().lower() if isinstance(head, str) else None
    if text is None or len(text) != 64 or any(c not in "0123456789abcdef" for c in text):
        raise ValidationError("head", head, "64 hex digits (the hash of the last entry)")
    return text


def verify_chain(entries: Iterable[AuditEntry], *, head: str | None = None) -> AuditVerification:
    """Check that ``entries`` (in stored order) form an unbroken chain from genesis.

    Finds an edited entry (its hash no longer matches its fields), a deleted or
    inserted one (a gap in ``seq`` and a broken ``prev_hash`` link) and reordering
    (``seq`` out of order). With ``head``, the last hash must equal it too, which also
    catches a truncated tail or a rebuilt log; it is compared as hex, so an anchor kept
    in upper case or copied with surrounding spaces is the same anchor.

    Raises:
        ValidationError: ``head`` is not 64 hex digits (a mistyped anchor is not a
            broken log).
    """
    if head is not None:
        head = _check_head(head)
    prev = GENESIS
    count = 0
    for position, entry in enumerate(entries):
        count = position + 1
        problem = ""
        if entry.seq != position:
            problem = f"seq is {entry.seq}, expected {position}"
        elif entry.prev_hash != prev:
            problem = "its previous hash does not match the entry before it"
        elif entry.hash != entry.expected_hash():
            problem = "its hash does not match its contents"
        if problem:
            return AuditVerification(
                ok=False, checked=count, first_bad=position,
                problem=f"entry {position}: {problem}", head=prev,
            )
        prev = entry.hash
    if head is not None and head != prev:
        return AuditVerification(
            ok=False, checked=count, first_bad=count,
            problem="the last hash is not the anchored head: entries were removed or rewritten",
            head=prev,
        )
    return AuditVerification(ok=True, checked=count, first_bad=None, problem="", head=prev)
