"""The points ledger: append-only entries, lots, and balances derived by replay.

Every change to a customer's points is one :class:`LedgerEntry`, appended under the
next sequence number and never changed or removed. Entries that *award* points (an
``earn``, a positive ``adjust``) open a **lot**: the points, the moment they expire
and, for points from an order, the moment they unlock (the end of the return
window). Entries that *take* points (``redeem``, ``expire``, ``reverse``, a negative
``adjust``) name the lots they draw and how much from each, so a redemption is tied
to the awards it used and a later return or expiry can never take the same points
twice. ``lock`` / ``unlock`` put a hold on one lot and lift it.

Nothing stores a balance as the truth: :func:`replay` folds the entries into an
:class:`Account` (each lot's remainder and the outstanding clawback debt), and
:meth:`Account.balance` reads it at a moment::

    balance(as_of) = sum of the remainders of lots that are unexpired, unlocked and
                     not on hold at as_of  -  debt (negative-balance policy only)

A snapshot (an :class:`Account` saved after entry ``seq``) only saves replaying the
entries before it; :func:`replay` from a snapshot and from the first entry must
agree, and :func:`custmgmt.loyalty.services.check_snapshot` checks that they do.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import attrs

from custmgmt.domain import _validate as v
from custmgmt.domain.masking import mask_text
from custmgmt.errors import Conflict, StorageError, ValidationError

__all__ = [
    "Account",
    "Draw",
    "EntryKind",
    "InsufficientPoints",
    "LedgerEntry",
    "Lot",
    "replay",
]


class InsufficientPoints(Conflict):
    """A redemption or deduction asks for more points than the balance allows.

    A :class:`~custmgmt.errors.Conflict` with what is stored (the balance), like a
    stale version: retrying after the balance changed may succeed.

    Attributes:
        requested: the points asked for.
        available: the points the policy allowed at that moment.
    """

    def __init__(self, customer_id: str, requested: int, available: int) -> None:
        self.requested = requested
        self.available = available
        super().__init__(
            "points balance",
            customer_id,
            f"{requested:,} points requested, {available:,} available",
        )


class EntryKind(enum.Enum):
    """What a ledger entry does."""

    EARN = "earn"
    REDEEM = "redeem"
    EXPIRE = "expire"
    ADJUST = "adjust"
    REVERSE = "reverse"
    LOCK = "lock"
    UNLOCK = "unlock"


_DRAWING = frozenset({EntryKind.REDEEM, EntryKind.EXPIRE, EntryKind.REVERSE})


def _to_kind(value: Any) -> EntryKind:
    return v.coerce_enum(EntryKind, value, "LedgerEntry.kind")


def _positive_int(name: str, value: Any) -> int:
    return v.check_count(name, value, minimum=1, expected="a positive integer number of points")


def _int(name: str, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or abs(value) >= 2**62:
        raise ValidationError(name, value, "an integer number of points below 2**62")
    return value


@attrs.frozen(kw_only=True)
class Draw:
    """Points an entry takes from one lot.

    Attributes:
        lot: the id of the entry that opened the lot.
        points: how many points (positive).
    """

    lot: str = attrs.field(validator=v.an_id)
    points: int = attrs.field()

    @points.validator
    def _check_points(self, attribute: attrs.Attribute[Any], value: Any) -> None:
        _positive_int("Draw.points", value)


def _to_draws(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


@attrs.frozen(kw_only=True)
class LedgerEntry:
    """One line of a customer's points ledger; entries are never changed once stored.

    Attributes:
        id: the entry's id; a lot is named by the id of the entry that opened it.
        customer_id: whose points.
        seq: the entry's place in the customer's ledger, from 1 without gaps.
        kind: what it does (:class:`EntryKind`).
        points: an award's lot size (positive), the points an entry takes (negative),
            0 for ``lock`` / ``unlock``.
        at: when (aware).
        key: the idempotency key, unique per customer (``"order:O-1"``): a retried
            operation with the same key finds this entry and writes nothing.
        actor: who or what made the entry (``"system"``, ``"agent-王"``).
        reason: why, in words.
        rule: the earn rule that awarded the points, if any.
        order_id: the order the entry concerns, if any.
        expires_at: when an award's lot expires (after ``at``); None for other kinds.
        locked_until: an award's lot does not count before this moment (the end of
            an order's return window); None: unlocked at once.
        lot: the lot a ``lock`` / ``unlock`` holds or releases.
        draws: the lots a taking entry draws, soonest expiry first.
        debt: the change of clawback debt: positive when a reversal finds the points
            spent, negative when an award settles debt.
        written_off: points a reversal could not recover under the policy's limit.
    """

    id: str = attrs.field(validator=v.an_id)
    customer_id: str = attrs.field(validator=v.an_id)
    seq: int = attrs.field()
    kind: EntryKind = attrs.field(converter=_to_kind)
    points: int = attrs.field()
    at: datetime = attrs.field(validator=v.aware_datetime())
    key: str = attrs.field(validator=v.an_id)
    actor: str = attrs.field(validator=v.text(max_length=200))
    reason: str = attrs.field(validator=v.text(max_length=1000))
    rule: str | None = attrs.field(default=None, validator=v.optional_id)
    order_id: str | None = attrs.field(default=None, validator=v.optional_id)
    expires_at: datetime | None = attrs.field(
        default=None, validator=v.aware_datetime(optional=True)
    )
    locked_until: datetime | None = attrs.field(
        default=None, validator=v.aware_datetime(optional=True)
    )
    lot: str | None = attrs.field(default=None, validator=v.optional_id)
    draws: tuple[Draw, ...] = attrs.field(default=(), converter=_to_draws)
    debt: int = attrs.field(default=0)
    written_off: int = attrs.field(default=0)

    def __attrs_post_init__(self) -> None:
        v.check_count("LedgerEntry.seq", self.seq, minimum=1, expected="a sequence number from 1")
        _int("LedgerEntry.points", self.points)
        _int("LedgerEntry.debt", self.debt)
        v.check_count("LedgerEntry.written_off", self.written_off)
        if not isinstance(self.draws, tuple) or not all(isinstance(d, Draw) for d in self.draws):
            raise ValidationError("LedgerEntry.draws", self.draws, "a sequence of Draw")
        if self.opens_lot:
            self._check_award()
        elif self.kind in _DRAWING or self.kind is EntryKind.ADJUST:
            self._check_taking()
        else:
            if self.points != 0 or self.lot is None:
                raise ValidationError(
                    "LedgerEntry.lot",
                    self.lot,
                    f"the lot a {self.kind.value!r} holds, with 0 points",
                )
            self._no_lot_fields()
            if self.draws or self.debt or self.written_off:
                raise ValidationError("LedgerEntry.draws", self.draws, "no draws on a lock")

    def _check_award(self) -> None:
        if self.expires_at is None or self.expires_at <= self.at:
            raise ValidationError(
                "LedgerEntry.expires_at", self.expires_at, f"an expiry after the award at {self.at}"
            )
        if self.locked_until is not None and self.locked_until < self.at:
            raise ValidationError(
                "LedgerEntry.locked_until", self.locked_until, f"not before the award at {self.at}"
            )
        if self.draws or self.lot is not None or self.written_off:
            raise ValidationError("LedgerEntry.draws", self.draws, "no draws on an award")
        if self.debt > 0 or -self.debt > self.points:
            raise ValidationError(
                "LedgerEntry.debt", self.debt, f"a settlement from 0 to -{self.points}"
            )

    def _check_taking(self) -> None:
        if self.points >= 0:
            raise ValidationError(
                "LedgerEntry.points", self.points, f"negative points for a {self.kind.value!r}"
            )
        self._no_lot_fields()
        if self.lot is not None:
            raise ValidationError("LedgerEntry.lot", self.lot, "None (draws name the lots)")
        lots = [d.lot for d in self.draws]
        if len(set(lots)) != len(lots):
            raise ValidationError("LedgerEntry.draws", lots, "each lot drawn at most once")
        if self.kind is not EntryKind.REVERSE and (self.debt or self.written_off):
            raise ValidationError(
                "LedgerEntry.debt", self.debt, "debt and write-offs on reversals only"
            )
        if self.debt < 0:
            raise ValidationError("LedgerEntry.debt", self.debt, "no settlement on a reversal")
        taken = sum(d.points for d in self.draws) + self.debt + self.written_off
        if taken != -self.points:
            raise ValidationError(
                "LedgerEntry.draws",
                taken,
                f"draws, debt and write-off adding up to {-self.points}",
            )

    def _no_lot_fields(self) -> None:
        if self.expires_at is not None or self.locked_until is not None:
            raise ValidationError(
                "LedgerEntry.expires_at", self.expires_at, f"None for a {self.kind.value!r}"
            )

    @property
    def opens_lot(self) -> bool:
        """Whether the entry awards points (an earn, or an adjustment upwards)."""
        return self.kind is EntryKind.EARN or (self.kind is EntryKind.ADJUST and self.points > 0)

    def __repr__(self) -> str:
        return (
            f"LedgerEntry(id={self.id!r}, seq={self.seq}, kind={self.kind.value!r}, "
            f"points={self.points}, at={self.at.isoformat()}, key={self.key!r}, "
            f"reason={mask_text(self.reason)!r})"
        )


@attrs.frozen(kw_only=True)
class Lot:
    """An award and what is left of it.

    Attributes:
        id: the id of the entry that opened it.
        earned_at: when it was awarded.
        points: the points awarded.
        remaining: the points not yet drawn (nor used to settle debt).
        expires_at: from this moment the lot no longer counts.
        locked_until: before this moment the lot does not count (None: never locked).
        held: a ``lock`` entry holds the lot until an ``unlock``.
        kind: ``earn`` or ``adjust``.
        rule: the earn rule, if any.
        order_id: the order that earned it, if any.
    """

    id: str
    earned_at: datetime
    points: int
    remaining: int
    expires_at: datetime
    locked_until: datetime | None = None
    held: bool = False
    kind: EntryKind = EntryKind.EARN
    rule: str | None = None
    order_id: str | None = None

    def expired(self, at: datetime) -> bool:
        """Whether the lot has expired at ``at``."""
        return at >= self.expires_at

    def locked(self, at: datetime) -> bool:
        """Whether the lot is in its lock period or on hold at ``at``."""
        return self.held or (self.locked_until is not None and at < self.locked_until)

    def available(self, at: datetime) -> bool:
        """Whether the lot's remainder counts toward the balance at ``at``."""
        return self.remaining > 0 and not self.expired(at) and not self.locked(at)


@attrs.frozen(kw_only=True)
class Account:
    """A customer's ledger folded up to entry :attr:`seq`: lots and outstanding debt.

    Attributes:
        customer_id: whose.
        seq: the last entry folded in (0: none).
        at: the time of that entry (None: none).
        lots: every lot opened, by entry order.
        debt: clawback points still owed (see :class:`~custmgmt.loyalty.rules.ReturnPolicy`).
        debt_in_balance: whether the debt counts against the balance (the
            negative-balance policy) or is shown apart until an award settles it.
        reversed_by_order: points already reversed per order id.
    """

    customer_id: str
    seq: int = 0
    at: datetime | None = None
    lots: tuple[Lot, ...] = ()
    debt: int = 0
    debt_in_balance: bool = True
    reversed_by_order: tuple[tuple[str, int], ...] = ()

    def lot(self, lot_id: str) -> Lot:
        """The lot opened by entry ``lot_id``.

        Raises:
            ValidationError: no such lot.
        """
        for lot in self.lots:
            if lot.id == lot_id:
                return lot
        raise ValidationError("lot", lot_id, f"a lot of customer {self.customer_id!r}")

    def available_lots(self, at: datetime) -> list[Lot]:
        """Lots that count at ``at``, soonest expiry first (then oldest, then id)."""
        return sorted(
            (lot for lot in self.lots if lot.available(at)),
            key=lambda lot: (lot.expires_at, lot.earned_at, lot.id),
        )

    def available(self, at: datetime) -> int:
        """The sum of the remainders of lots that count at ``at``."""
        return sum(lot.remaining for lot in self.lots if lot.available(at))

    def balance(self, at: datetime) -> int:
        """The points balance at ``at``: available remainders less debt when it counts."""
        return self.available(at) - (self.debt if self.debt_in_balance else 0)

    def locked(self, at: datetime) -> int:
        """Points in unexpired lots still locked or on hold at ``at``."""
        return sum(
            lot.remaining for lot in self.lots if not lot.expired(at) and lot.locked(at)
        )

    def order_reversed(self, order_id: str) -> int:
        """Points reversed so far for ``order_id``."""
        return dict(self.reversed_by_order).get(order_id, 0)


def replay(
    entries: Iterable[LedgerEntry],
    *,
    customer_id: str | None = None,
    start: Account | None = None,
    debt_in_balance: bool = True,
) -> Account:
    """Fold ledger entries (in ``seq`` order) into an :class:`Account`.

    Args:
        entries: the customer's entries after ``start`` (all of them without it).
        customer_id: whose; taken from ``start`` or the first entry when omitted.
        start: a snapshot to continue from.
        debt_in_balance: see :attr:`Account.debt_in_balance` (ignored with ``start``).

    Raises:
        StorageError: the entries do not follow on (a gap in ``seq``, another
            customer's entry) or draw more than a lot holds: the stored ledger is
            inconsistent.
    """
    items = list(entries)
    if start is None:
        who = customer_id if customer_id is not None else (items[0].customer_id if items else "")
        start = Account(customer_id=who, debt_in_balance=debt_in_balance)
    fold = _Fold(start)
    for entry in items:
        fold.apply(entry)
    return fold.account()


class _Fold:
    """:func:`replay`'s running state, open to one more entry at a time.

    Earning keeps one per customer between calls (see
    :mod:`custmgmt.loyalty._running`), so an award folds in the entries after the last
    one it saw instead of replaying the whole ledger again.
    """

    def __init__(self, start: Account) -> None:
        self.start = start
        self.lots: dict[str, Lot] = {lot.id: lot for lot in start.lots}
        self.reversed_by_order = dict(start.reversed_by_order)
        self.debt, self.seq, self.at = start.debt, start.seq, start.at

    def apply(self, entry: LedgerEntry) -> None:
        """Fold in the next entry.

        Raises:
            StorageError: as :func:`replay`; the state is then unchanged.
        """
        start, lots = self.start, self.lots
        if entry.customer_id != start.customer_id or entry.seq != self.seq + 1:
            raise StorageError(
                f"points ledger of {start.customer_id!r}: entry {entry.id!r} (seq {entry.seq}) "
                f"does not follow seq {self.seq}"
            )
        if entry.opens_lot:
            assert entry.expires_at is not None
            settled = -entry.debt
            if settled > self.debt:
                raise StorageError(
                    f"points ledger of {start.customer_id!r}: entry {entry.id!r} settles "
                    f"{settled} points of a debt of {self.debt}"
                )
            self.debt -= settled
            lots[entry.id] = Lot(
                id=entry.id, earned_at=entry.at, points=entry.points,
                remaining=entry.points - settled, expires_at=entry.expires_at,
                locked_until=entry.locked_until, kind=entry.kind, rule=entry.rule,
                order_id=entry.order_id,
            )
        elif entry.kind in (EntryKind.LOCK, EntryKind.UNLOCK):
            target = _lot(lots, entry.lot or "", entry)
            lots[target.id] = attrs.evolve(target, held=entry.kind is EntryKind.LOCK)
        else:
            changed: dict[str, Lot] = {}
            for draw in entry.draws:
                target = changed.get(draw.lot) or _lot(lots, draw.lot, entry)
                if draw.points > target.remaining:
                    raise StorageError(
                        f"points ledger of {start.customer_id!r}: entry {entry.id!r} draws "
                        f"{draw.points} from lot {draw.lot!r} holding {target.remaining}"
                    )
                changed[target.id] = attrs.evolve(target, remaining=target.remaining - draw.points)
            lots.update(changed)
            self.debt += entry.debt
            if entry.kind is EntryKind.REVERSE and entry.order_id is not None:
                self.reversed_by_order[entry.order_id] = (
                    self.reversed_by_order.get(entry.order_id, 0) - entry.points
                )
        self.seq, self.at = entry.seq, entry.at

    def account(self) -> Account:
        """The state as an :class:`Account`."""
        return Account(
            customer_id=self.start.customer_id, seq=self.seq, at=self.at,
            lots=tuple(self.lots.values()), debt=self.debt,
            debt_in_balance=self.start.debt_in_balance,
            reversed_by_order=tuple(sorted(self.reversed_by_order.items())),
        )


def _lot(lots: dict[str, Lot], lot_id: str, entry: LedgerEntry) -> Lot:
    try:
        return lots[lot_id]
    except KeyError:
        raise StorageError(
            f"points ledger of {entry.customer_id!r}: entry {entry.id!r} names lot "
            f"{lot_id!r}, which no earlier entry opened"
        ) from None

