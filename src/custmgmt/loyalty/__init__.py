"""Loyalty: membership points on an append-only ledger, earn rules as data, and tiers.

* :mod:`~custmgmt.loyalty.ledger`: :class:`LedgerEntry` (earn, redeem, expire, adjust,
  reverse, lock, unlock, each with an idempotency key), :class:`Lot`, and
  :func:`replay`, which derives balances from the entries.
* :mod:`~custmgmt.loyalty.rules`: :class:`Program`, :class:`EarnRule`, :class:`Expiry`,
  :class:`ReturnPolicy`.
* :mod:`~custmgmt.loyalty.tiers`: :class:`TierScheme`, :class:`Tier` and the pure
  :func:`evaluate_tier`.
* :mod:`~custmgmt.loyalty.replay`: balances of many customers at once, vectorised.
* :mod:`~custmgmt.loyalty.ports`: :class:`PointsRepository`, :data:`LOYALTY`,
  :class:`LoyaltyStore` (``store.loyalty`` on the bundled stores).
* :mod:`~custmgmt.loyalty.services`: the use cases (earn, redeem, reverse, expire,
  statements, tiers).

See ``docs/loyalty.md``.
"""

from custmgmt.loyalty.ledger import (
    Account,
    Draw,
    EntryKind,
    InsufficientPoints,
    LedgerEntry,
    Lot,
    replay,
)
from custmgmt.loyalty.ports import LOYALTY, LoyaltyStore, PointsRepository
from custmgmt.loyalty.rules import (
    DEFAULT_PROGRAM,
    ClawbackMode,
    EarnRule,
    Expiry,
    ExpiryMode,
    Program,
    ReturnPolicy,
    Trigger,
)
from custmgmt.loyalty.services import (
    Statement,
    account,
    adjust_points,
    award_birthdays,
    check_snapshot,
    earn_for_interaction,
    earn_for_order,
    earn_points,
    expire_points,
    hold_lot,
    record_interaction_with_points,
    record_order_with_points,
    redeem_points,
    release_lot,
    reverse_for_order,
    statement,
    take_snapshot,
    tier_status,
    update_tier,
)
from custmgmt.loyalty.tiers import (
    DowngradeMode,
    ReviewAnchor,
    Tier,
    TierChange,
    TierEvent,
    TierScheme,
    TierStatus,
    evaluate_tier,
)

__all__ = [
    "DEFAULT_PROGRAM",
    "LOYALTY",
    "Account",
    "ClawbackMode",
    "DowngradeMode",
    "Draw",
    "EarnRule",
    "EntryKind",
    "Expiry",
    "ExpiryMode",
    "InsufficientPoints",
    "LedgerEntry",
    "Lot",
    "LoyaltyStore",
    "PointsRepository",
    "Program",
    "ReturnPolicy",
    "ReviewAnchor",
    "Statement",
    "Tier",
    "TierChange",
    "TierEvent",
    "TierScheme",
    "TierStatus",
    "Trigger",
    "account",
    "adjust_points",
    "award_birthdays",
    "check_snapshot",
    "earn_for_interaction",
    "earn_for_order",
    "earn_points",
    "evaluate_tier",
    "expire_points",
    "hold_lot",
    "record_interaction_with_points",
    "record_order_with_points",
    "redeem_points",
    "release_lot",
    "replay",
    "reverse_for_order",
    "statement",
    "take_snapshot",
    "tier_status",
    "update_tier",
]
