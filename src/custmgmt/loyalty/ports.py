"""The loyalty capability's port: an append-only points ledger with tier history.

Bundled stores offer it as ``store.loyalty`` (registered under :data:`LOYALTY`); the
services take a :class:`LoyaltyStore`. Check an implementation with
:class:`custmgmt.testing.PointsRepositoryContract`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol, runtime_checkable

from custmgmt.loyalty.ledger import Account, LedgerEntry
from custmgmt.loyalty.tiers import TierChange
from custmgmt.ports import DEFAULT_CHUNK_SIZE, CapabilityKey, Store

__all__ = ["LOYALTY", "LoyaltyStore", "PointsRepository"]


@runtime_checkable
class PointsRepository(Protocol):
    """Ledger entries (append only), account snapshots and tier history.

    Entries are never updated or removed: a correction is a new entry. Each
    customer's entries are numbered ``seq = 1, 2, ...`` without gaps, which is what
    makes concurrent writers safe: two writers that read the same ledger both try to
    append the same next ``seq``, and the second is refused.
    """

    def append(self, entry: LedgerEntry) -> None:
        """Add ``entry`` as the customer's next entry.

        Raises:
            Conflict: ``entry.seq`` is not one more than the customer's last seq
                (another writer got there first), its id is taken, or the customer
                already has an entry with ``entry.key``; nothing is written.
            ValidationError: ``entry`` is not a LedgerEntry.
            StorageError: the backend failed.
        """
        ...

    def entries(self, customer_id: str, *, after_seq: int = 0) -> list[LedgerEntry]:
        """The customer's entries with ``seq > after_seq``, by seq (empty if none)."""
        ...

    def by_key(self, customer_id: str, key: str) -> LedgerEntry | None:
        """The customer's entry with idempotency key ``key``, or None."""
        ...

    def last_seq(self, customer_id: str) -> int:
        """The customer's last seq (0 when the ledger is empty)."""
        ...

    def customer_ids(self) -> list[str]:
        """Every customer with at least one entry, sorted."""
        ...

    def count(self) -> int:
        """How many entries are stored, over all customers."""
        ...

    def iter_chunks(self, size: int = DEFAULT_CHUNK_SIZE) -> Iterator[Sequence[LedgerEntry]]:
        """Every entry, by customer id then seq, in chunks of at most ``size``.

        Raises:
            ValidationError: ``size`` is not a positive integer.
        """
        ...

    def save_snapshot(self, account: Account) -> None:
        """Keep ``account`` as the customer's snapshot, replacing an older one.

        Raises:
            Conflict: the stored snapshot is newer (a higher ``seq``).
            ValidationError: ``account.seq`` is beyond the customer's last entry.
        """
        ...

    def snapshot(self, customer_id: str) -> Account | None:
        """The customer's latest snapshot, or None."""
        ...

    def add_tier_change(self, change: TierChange) -> None:
        """Append a change to the customer's tier history.

        Raises:
            Conflict: ``change.seq`` is not one more than the last stored change's.
        """
        ...

    def tier_history(self, customer_id: str) -> list[TierChange]:
        """The customer's tier changes, by seq (empty if none)."""
        ...


#: The key bundled stores register their points ledger under (``store.loyalty``).
LOYALTY: CapabilityKey[PointsRepository] = CapabilityKey("loyalty", PointsRepository)


@runtime_checkable
class LoyaltyStore(Store, Protocol):
    """A :class:`~custmgmt.ports.Store` that also keeps a points ledger."""

    @property
    def loyalty(self) -> PointsRepository:
        """The points ledger, sharing the store's transaction."""
        ...
