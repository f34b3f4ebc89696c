"""The points ledger in memory (see :class:`custmgmt.loyalty.ports.PointsRepository`).

Entries are immutable, so the repository keeps references: one list per customer
(its index is ``seq - 1``), an index of idempotency keys, snapshots and tier history.
Writes hold the store's lock and record an undo action, so they join
:meth:`MemoryStore.transaction <custmgmt.adapters.memory.MemoryStore.transaction>`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from custmgmt.adapters._checks import check_chunk_size
from custmgmt.adapters._redaction import redacted_entry
from custmgmt.adapters.memory.transaction import TransactionLog
from custmgmt.domain._validate import check_id
from custmgmt.errors import Conflict, ValidationError
from custmgmt.loyalty.ledger import Account, LedgerEntry
from custmgmt.loyalty.tiers import TierChange
from custmgmt.ports import DEFAULT_CHUNK_SIZE

__all__ = ["MemoryPointsRepository"]


class MemoryPointsRepository:
    """A points ledger in memory, joining an in-memory store's transactions.

    >>> from datetime import datetime, timezone
    >>> from custmgmt.adapters.memory import MemoryStore
    >>> from custmgmt.loyalty import LedgerEntry
    >>> at = datetime(2025, 3, 1, tzinfo=timezone.utc)
    >>> repo = MemoryPointsRepository(MemoryStore().tx)
    >>> repo.append(LedgerEntry(id="C-1#1", customer_id="C-1", seq=1, kind="earn",
    ...     points=120, at=at, key="order:O-1", actor="system", reason="订单 O-1",
    ...     expires_at=datetime(2026, 3, 1, tzinfo=timezone.utc)))
    >>> repo.last_seq("C-1"), repo.by_key("C-1", "order:O-1").points
    (1, 120)

    Args:
        tx: the store's transaction log (``MemoryStore.tx``).
    """

    def __init__(self, tx: TransactionLog) -> None:
        self._tx = tx
        self._ledgers: dict[str, list[LedgerEntry]] = {}
        self._keys: dict[tuple[str, str], LedgerEntry] = {}
        self._ids: set[str] = set()
        self._snapshots: dict[str, Account] = {}
        self._tiers: dict[str, list[TierChange]] = {}

    def append(self, entry: LedgerEntry) -> None:
        """Add the customer's next entry (see ``PointsRepository.append``)."""
        if not isinstance(entry, LedgerEntry):
            raise ValidationError("entry", entry, "a LedgerEntry")
        with self._tx.lock:
            ledger = self._ledgers.get(entry.customer_id, [])
            if entry.seq != len(ledger) + 1:
                raise Conflict(
                    "points ledger", entry.customer_id,
                    f"entry seq {entry.seq} is not the next seq {len(ledger) + 1}",
                    expected_version=entry.seq - 1, actual_version=len(ledger),
                )
            if entry.id in self._ids:
                raise Conflict("ledger entry", entry.id, "an entry with this id exists")
            key = (entry.customer_id, entry.key)
            if key in self._keys:
                raise Conflict("ledger entry", entry.key, "an entry with this key exists")
            self._ledgers.setdefault(entry.customer_id, ledger).append(entry)
            self._keys[key] = entry
            self._ids.add(entry.id)

            def undo() -> None:
                ledger.pop()
                if not ledger:
                    self._ledgers.pop(entry.customer_id, None)
                del self._keys[key]
                self._ids.discard(entry.id)

            self._tx.record(undo)

    def entries(self, customer_id: str, *, after_seq: int = 0) -> list[LedgerEntry]:
        """The customer's entries after ``after_seq`` (see ``PointsRepository.entries``)."""
        check_id("customer_id", customer_id)
        _check_seq(after_seq)
        with self._tx.lock:
            return list(self._ledgers.get(customer_id, [])[after_seq:])

    def by_key(self, customer_id: str, key: str) -> LedgerEntry | None:
        """The entry with this idempotency key, or None."""
        check_id("customer_id", customer_id)
        check_id("key", key)
        with self._tx.lock:
            return self._keys.get((customer_id, key))

    def last_seq(self, customer_id: str) -> int:
        """The customer's last seq (0: none)."""
        check_id("customer_id", customer_id)
        with self._tx.lock:
            return len(self._ledgers.get(customer_id, []))

    def customer_ids(self) -> list[str]:
        """Customers with entries, sorted."""
        with self._tx.lock:
            return sorted(self._ledgers)

    def count(self) -> int:
        """How many entries are stored."""
        with self._tx.lock:
            return sum(len(ledger) for ledger in self._ledgers.values())

    def iter_chunks(self, size: int = DEFAULT_CHUNK_SIZE) -> Iterator[Sequence[LedgerEntry]]:
        """Every entry by customer then seq, in chunks."""
        size = check_chunk_size(size)
        return self._chunks(size)

    def _chunks(self, size: int) -> Iterator[Sequence[LedgerEntry]]:
        with self._tx.lock:
            every = [e for cid in sorted(self._ledgers) for e in self._ledgers[cid]]
        for start in range(0, len(every), size):
            self._tx.check_open()  # a store closed during the iteration ends it
            yield every[start : start + size]

    def save_snapshot(self, account: Account) -> None:
        """Keep a snapshot (see ``PointsRepository.save_snapshot``)."""
        if not isinstance(account, Account):
            raise ValidationError("account", account, "an Account")
        with self._tx.lock:
            last = len(self._ledgers.get(account.customer_id, []))
            if account.seq > last:
                raise ValidationError(
                    "account.seq", account.seq, f"at most the last seq {last}"
                )
            old = self._snapshots.get(account.customer_id)
            if old is not None and old.seq > account.seq:
                raise Conflict(
                    "points snapshot", account.customer_id,
                    f"a snapshot at seq {old.seq} is newer than seq {account.seq}",
                )
            self._snapshots[account.customer_id] = account

            def undo() -> None:
                if old is None:
                    self._snapshots.pop(account.customer_id, None)
                else:
                    self._snapshots[account.customer_id] = old

            self._tx.record(undo)

    def snapshot(self, customer_id: str) -> Account | None:
        """The latest snapshot, or None."""
        check_id("customer_id", customer_id)
        with self._tx.lock:
            return self._snapshots.get(customer_id)

    def add_tier_change(self, change: TierChange) -> None:
        """Append a tier change (see ``PointsRepository.add_tier_change``)."""
        if not isinstance(change, TierChange):
            raise ValidationError("change", change, "a TierChange")
        with self._tx.lock:
            history = self._tiers.setdefault(change.customer_id, [])
            if change.seq != len(history) + 1:
                raise Conflict(
                    "tier history", change.customer_id,
                    f"change seq {change.seq} is not the next seq {len(history) + 1}",
                )
            history.append(change)
            self._tx.record(history.pop)

    def tier_history(self, customer_id: str) -> list[TierChange]:
        """The customer's tier changes, by seq."""
        check_id("customer_id", customer_id)
        with self._tx.lock:
            return list(self._tiers.get(customer_id, []))

    def redact_subject(self, customer_id: str, pseudonym: str) -> int:
        """Erase the reasons of the customer's entries (see
        :class:`custmgmt.privacy.SubjectRedaction`); returns the entries changed."""
        changed = 0
        with self._tx.lock:
            ledger = self._ledgers.get(customer_id, [])
            for i, entry in enumerate(list(ledger)):
                redacted = redacted_entry(entry)
                if redacted is None:
                    continue
                key = (entry.customer_id, entry.key)
                ledger[i] = self._keys[key] = redacted

                def undo(i: int = i, old: LedgerEntry = entry, key: tuple[str, str] = key) -> None:
                    ledger[i] = self._keys[key] = old

                self._tx.record(undo)
                changed += 1
        return changed


def _check_seq(value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValidationError("after_seq", value, "a non-negative integer")
