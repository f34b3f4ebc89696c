"""Loyalty use cases: earn, redeem, reverse, expire, adjust, hold, statements and tiers.

Every writing service runs in one ``store.transaction()``: it reads the customer's
ledger, decides, and appends the next entry (or nothing), so a failure writes
nothing, and two writers racing for one ledger cannot both win: the second either
sees the first's entry (SQLite's ``BEGIN IMMEDIATE``, the memory store's lock) or is
refused by the repository's next-seq check, a :class:`~custmgmt.errors.Conflict`.

Every award carries an idempotency key (``order:<id>``, ``interaction:<id>``,
``reverse:<order>:<points>``, ``expire:<lot>`` ...): running a service again with the
same key returns the stored entry and writes nothing, so retries never award twice.

Entries of one customer are appended in time order: a service refuses an ``at``
earlier than the ledger's last entry, except reversals and expiries, which a job may
record late: they are dated at the later of the event and the last entry.

The services read the customer's ledger through its running state
(:mod:`custmgmt.loyalty._running`): only the entries after the last one seen are read
and folded in, so a call on a long ledger does not replay it all. Where the state
cannot be trusted, or none is kept for a read, they compute afresh from the whole
ledger; both ways give the same results.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING, Any

import attrs

from custmgmt.domain import Interaction, InteractionKind, Money, Order, OrderStatus
from custmgmt.domain._validate import check_id
from custmgmt.domain.time import require_aware
from custmgmt.errors import CustMgmtError, StorageError, ValidationError
from custmgmt.loyalty._running import LedgerState, running, service_transaction
from custmgmt.loyalty.ledger import (
    Account,
    Draw,
    EntryKind,
    InsufficientPoints,
    LedgerEntry,
    Lot,
    replay,
)
from custmgmt.loyalty.ports import LoyaltyStore
from custmgmt.loyalty.rules import DEFAULT_PROGRAM, EarnRule, Program, Trigger
from custmgmt.loyalty.tiers import TierChange, TierEvent, TierStatus, evaluate_tier
from custmgmt.notebook.display import Displayed, Report, Table, short_repr
from custmgmt.rating.ports import RatingStore
from custmgmt.services import record_interaction, record_order

if TYPE_CHECKING:
    from custmgmt.rating.incremental import IncrementalRater

__all__ = [
    "Statement",
    "account",
    "adjust_points",
    "award_birthdays",
    "check_snapshot",
    "earn_for_interaction",
    "earn_for_order",
    "earn_points",
    "expire_points",
    "hold_lot",
    "record_interaction_with_points",
    "record_order_with_points",
    "redeem_points",
    "release_lot",
    "reverse_for_order",
    "statement",
    "take_snapshot",
    "tier_events",
    "tier_status",
    "update_tier",
]

_EARNING_STATUSES = frozenset({
    OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.DELIVERED,
    OrderStatus.PARTIALLY_RETURNED, OrderStatus.RETURNED,
})


@attrs.frozen(kw_only=True)
class Statement(Displayed):
    """A customer's points at a moment: the ledger, its lots and what they add up to.

    Attributes:
        customer_id: whose.
        as_of: the moment described.
        entries: every entry up to ``as_of``, by seq.
        lots: every lot opened up to ``as_of``, with its remainder.
        balance: points that can be spent at ``as_of``.
        locked: points in lots still in the return window or on hold.
        debt: clawback points owed (see :class:`~custmgmt.loyalty.rules.ReturnPolicy`).
        expiring: ``(expires_at, points)`` of available lots expiring in the next 30
            days, soonest first.
        tier: the tier status, when the programme has tiers.
    """

    customer_id: str
    as_of: datetime
    entries: tuple[LedgerEntry, ...]
    lots: tuple[Lot, ...]
    balance: int
    locked: int
    debt: int
    expiring: tuple[tuple[datetime, int], ...]
    tier: TierStatus | None

    def __repr__(self) -> str:
        return short_repr(
            "Statement", customer_id=self.customer_id, as_of=self.as_of, balance=self.balance,
            entries=len(self.entries), tier=None if self.tier is None else self.tier.tier.name,
        )

    def _display(self) -> Report:
        """Balances, points per entry kind, lots expiring soon and the tier."""
        facts: list[tuple[str, Any]] = [
            ("customer", self.customer_id), ("as of", self.as_of), ("balance", self.balance),
            ("locked", self.locked), ("debt", self.debt), ("entries", len(self.entries)),
            ("lots", len(self.lots)),
        ]
        if self.tier is not None:
            facts.append(("tier", self.tier.tier.name))
        report = Report("Points statement", facts=facts)
        per_kind: dict[str, list[int]] = {}
        for entry in self.entries:
            kind = str(getattr(entry.kind, "value", entry.kind))
            counted = per_kind.setdefault(kind, [0, 0])
            counted[0] += 1
            counted[1] += entry.points
        report.add(Table(caption="entries per kind", header=("kind", "entries", "points"),
                         rows=tuple((k, n, p) for k, (n, p) in per_kind.items())))
        if self.expiring:
            report.add(Table(caption="expiring in the next 30 days",
                             header=("expires at", "points"), rows=tuple(self.expiring)))
        return report


# -- reading ------------------------------------------------------------------------------
def account(
    store: LoyaltyStore, customer_id: str, *, program: Program = DEFAULT_PROGRAM
) -> Account:
    """The customer's ledger folded into an :class:`Account` (from its snapshot, if any).

    Raises:
        ValidationError: a bad customer id.
        StorageError: the stored ledger is inconsistent.
    """
    check_id("customer_id", customer_id)
    with running(store, customer_id, None) as run:
        if run is not None:
            return run.account(program.returns.debt_in_balance)
    return _account_afresh(store, customer_id, program)


def _account_afresh(store: LoyaltyStore, customer_id: str, program: Program) -> Account:
    """:func:`account` from the stored snapshot and every entry after it."""
    start = store.loyalty.snapshot(customer_id)
    if start is not None and start.debt_in_balance != program.returns.debt_in_balance:
        start = attrs.evolve(start, debt_in_balance=program.returns.debt_in_balance)
    after = 0 if start is None else start.seq
    return replay(
        store.loyalty.entries(customer_id, after_seq=after),
        customer_id=customer_id,
        start=start,
        debt_in_balance=program.returns.debt_in_balance,
    )


def take_snapshot(
    store: LoyaltyStore, customer_id: str, *, program: Program = DEFAULT_PROGRAM
) -> Account:
    """Replay the whole ledger and keep the result as the customer's snapshot.

    Raises:
        ValidationError: a bad customer id.
        NotFound: no such customer (no snapshot is kept for a customer who is not there).
    """
    check_id("customer_id", customer_id)
    with service_transaction(store):
        store.customers.get(customer_id)
        folded = replay(
            store.loyalty.entries(customer_id), customer_id=customer_id,
            debt_in_balance=program.returns.debt_in_balance,
        )
        store.loyalty.save_snapshot(folded)
    return folded


def check_snapshot(
    store: LoyaltyStore, customer_id: str, *, program: Program = DEFAULT_PROGRAM
) -> Account:
    """Check the snapshot against a full replay; returns the replayed account.

    Raises:
        StorageError: the snapshot plus the entries after it disagree with a replay of
            every entry.
    """
    full = replay(
        store.loyalty.entries(customer_id), customer_id=customer_id,
        debt_in_balance=program.returns.debt_in_balance,
    )
    check_id("customer_id", customer_id)
    fast = _account_afresh(store, customer_id, program)  # the stored snapshot, not a state
    if fast != full:
        raise StorageError(
            f"points snapshot of {customer_id!r} disagrees with a replay of its ledger "
            f"(at seq {fast.seq}: debt {fast.debt} against {full.debt}, lots "
            f"{[(lot.id, lot.remaining) for lot in fast.lots if lot not in full.lots]} differ)"
        )
    return full


def statement(
    store: LoyaltyStore,
    customer_id: str,
    *,
    as_of: datetime,
    program: Program = DEFAULT_PROGRAM,
) -> Statement:
    """The customer's statement at ``as_of``: entries, lots, balance, expiries, tier.

    Raises:
        NotFound: no such customer.
        ValidationError: ``as_of`` is naive.
    """
    require_aware("as_of", as_of)
    customer = store.customers.get(customer_id)
    # The entries are read whatever the state holds: they are the statement's, and a
    # redaction may have rewritten their reasons in place.
    stored = store.loyalty.entries(customer_id)
    with running(store, customer_id, None) as run:
        if (
            run is not None
            and run.seq == (stored[-1].seq if stored else 0)
            and (run.at is None or as_of >= run.at)
            and (kept := run.replayed(program.returns.debt_in_balance)) is not None
        ):
            tier: TierStatus | None = None
            scheme = program.tiers
            if scheme is not None and scheme.basis == "points":
                with _calendar("as_of", as_of):
                    tier = run.tier_status(
                        scheme, customer.registered_at, max(as_of, customer.registered_at)
                    )
            elif scheme is not None:
                tier = tier_status(store, customer_id, as_of=as_of, program=program)
            return _statement(customer_id, as_of, stored, kept, tier)
    entries = [e for e in stored if e.at <= as_of]
    folded = replay(
        entries, customer_id=customer_id, debt_in_balance=program.returns.debt_in_balance
    )
    tier = tier_status(store, customer_id, as_of=as_of, program=program) if program.tiers else None
    return _statement(customer_id, as_of, entries, folded, tier)


def _statement(
    customer_id: str, as_of: datetime, entries: Sequence[LedgerEntry], folded: Account,
    tier: TierStatus | None,
) -> Statement:
    with _calendar("as_of", as_of):
        soon = as_of + timedelta(days=30)
    expiring = tuple(
        (lot.expires_at, lot.remaining)
        for lot in folded.available_lots(as_of)
        if lot.expires_at <= soon
    )
    return Statement(
        customer_id=customer_id, as_of=as_of, entries=tuple(entries), lots=folded.lots,
        balance=folded.balance(as_of), locked=folded.locked(as_of), debt=folded.debt,
        expiring=expiring, tier=tier,
    )


# -- earning ------------------------------------------------------------------------------
def earn_points(
    store: LoyaltyStore,
    customer_id: str,
    *,
    rule: str,
    key: str,
    at: datetime,
    program: Program = DEFAULT_PROGRAM,
    amount: Money | None = None,
    points: int | None = None,
    order_id: str | None = None,
    locked_until: datetime | None = None,
    actor: str = "system",
    reason: str | None = None,
) -> LedgerEntry | None:
    """Award points under ``rule``; returns the entry, or None when the cap leaves nothing.

    Points: ``points`` when given (a lottery prize), else the rule's
    :meth:`~custmgmt.loyalty.rules.EarnRule.base_points` (of ``amount`` for an order
    rule); times the tier's and the star level's multipliers when the rule allows,
    rounded down; cut to what the rule's cap leaves in the period. Debt is settled
    first (the entry records it). A retried call with the same ``key`` returns the
    stored entry and writes nothing.

    Raises:
        NotFound: no such customer.
        ValidationError: an unknown rule, a naive ``at``, ``at`` before the ledger's
            last entry, ``points`` that is not positive, ``locked_until`` before ``at``.
    """
    require_aware("at", at)
    check_id("key", key)
    earn_rule = program.rule(rule)
    if points is not None:
        _check_points("points", points)
    with service_transaction(store):
        found = store.loyalty.by_key(customer_id, key)
        if found is not None:
            return found
        customer = store.customers.get(customer_id)
        if at < customer.registered_at:
            raise ValidationError("at", at, f"not before registration {customer.registered_at}")
        # The ledger's running state saves replaying it and walking the tier afresh on
        # every award (quadratic over a long ledger); None: compute afresh.
        with running(
            store, customer_id, lambda: _account_afresh(store, customer_id, program)
        ) as run:
            folded: Account | LedgerState = (
                _account_afresh(store, customer_id, program) if run is None else run
            )
            _check_order_in_time(folded, at)
            base = points if points is not None else earn_rule.base_points(amount)
            factor = _multiplier(
                store, program, earn_rule, customer_id, at, run=run,
                registered_at=customer.registered_at,
            )
            award = int((Decimal(base) * factor).to_integral_value(rounding=ROUND_FLOOR))
            award = min(award, _cap_left(store, earn_rule, customer_id, at, run=run))
            if award <= 0:
                return None
            settle = min(folded.debt, award)
            with _calendar("at", at):
                expires = program.expiry.expires_at(at)
            entry = LedgerEntry(
                id=_entry_id(customer_id, folded.seq + 1), customer_id=customer_id,
                seq=folded.seq + 1, kind=EntryKind.EARN, points=award, at=at, key=key,
                actor=actor,
                reason=reason or f"{earn_rule.name}: {base} points x {factor.normalize()}",
                rule=earn_rule.name, order_id=order_id, expires_at=expires,
                locked_until=locked_until, debt=-settle,
            )
            store.loyalty.append(entry)
            return entry


def earn_for_order(
    store: LoyaltyStore,
    order_id: str,
    *,
    program: Program = DEFAULT_PROGRAM,
    actor: str = "system",
    reverse_refunds: bool = True,
) -> LedgerEntry | None:
    """Award an order's points once (key ``order:<id>``), locked through the return window.

    The order rule (the programme's first ``order`` trigger) counts the order total;
    the lot is dated at payment (placement when no payment time is recorded) and
    stays locked until ``return_window_days`` after delivery (after placement when
    no delivery is recorded). An order already partly or wholly refunded is reversed
    pro rata at once, unless ``reverse_refunds`` is False (a job replaying history
    calls :func:`reverse_for_order` at the refund's moment instead). Unpaid and
    cancelled orders earn nothing (None).

    Raises:
        NotFound: no such order or customer.
        ValidationError: the programme has no order rule, or the order's currency is
            not the rule's.
    """
    rule = program.rule_for(Trigger.ORDER)
    if rule is None:
        raise ValidationError("program.rules", [r.name for r in program.rules], "an order rule")
    with service_transaction(store):
        order = store.orders.get(order_id)
        if order.status not in _EARNING_STATUSES:
            return None
        earned_at = order.paid_at or order.placed_at
        start = order.delivered_at or order.placed_at
        with _calendar("order.delivered_at", start):
            unlock = start + timedelta(days=program.return_window_days)
        entry = earn_points(
            store, order.customer_id, rule=rule.name, key=f"order:{order.id}", at=earned_at,
            program=program, amount=order.total, order_id=order.id,
            locked_until=max(earned_at, unlock),
            actor=actor, reason=f"订单 {order.id}",
        )
        if entry is not None and reverse_refunds and not order.refunded.is_zero:
            reverse_for_order(store, order.id, program=program, actor=actor)
        return entry


def earn_for_interaction(
    store: LoyaltyStore,
    interaction_id: str,
    *,
    program: Program = DEFAULT_PROGRAM,
    actor: str = "system",
) -> list[LedgerEntry]:
    """Award points for a stored interaction: a review, or a referral (both sides).

    Keys ``interaction:<id>`` (and ``referred:<id>`` for the referred customer), so
    each interaction earns once. Kinds without a rule in the programme earn nothing.

    Raises:
        NotFound: no such interaction.
    """
    with service_transaction(store):
        interaction = store.interactions.get(interaction_id)
        awarded: list[LedgerEntry] = []
        pairs: list[tuple[Trigger, str, str]] = []
        if interaction.kind is InteractionKind.REVIEW:
            pairs.append((Trigger.REVIEW, interaction.customer_id, f"interaction:{interaction.id}"))
        elif interaction.kind is InteractionKind.REFERRAL:
            referred = getattr(interaction.details, "referred_customer_id", None)
            pairs.append(
                (Trigger.REFERRAL, interaction.customer_id, f"interaction:{interaction.id}")
            )
            if referred is not None:
                pairs.append((Trigger.REFERRED, referred, f"referred:{interaction.id}"))
        for trigger, who, key in pairs:
            rule = program.rule_for(trigger)
            if rule is None:
                continue
            entry = earn_points(
                store, who, rule=rule.name, key=key, at=interaction.at, program=program,
                actor=actor, reason=f"{rule.name} {interaction.id}",
            )
            if entry is not None:
                awarded.append(entry)
        return awarded


def award_birthdays(
    store: LoyaltyStore,
    *,
    as_of: datetime,
    program: Program = DEFAULT_PROGRAM,
    actor: str = "birthday job",
) -> list[LedgerEntry]:
    """The birthday job: award the birthday rule to customers whose birthday is ``as_of``'s date.

    The date is read in ``as_of``'s time zone; a 29 February birthday counts on 28
    February in other years. Key ``birthday:<year>``, so running the job twice on one
    day (or on two days of one year) awards once. Returns the entries written.

    Raises:
        ValidationError: ``as_of`` is naive, or the programme has no birthday rule.
    """
    require_aware("as_of", as_of)
    rule = program.rule_for(Trigger.BIRTHDAY)
    if rule is None:
        raise ValidationError("program.rules", [r.name for r in program.rules], "a birthday rule")
    today = as_of.date()
    leap_day_today = today.month == 2 and today.day == 28 and not _is_leap(today.year)
    written: list[LedgerEntry] = []
    for chunk in store.customers.iter_chunks():
        for customer in chunk:
            born = customer.birth_date
            if born is None or customer.registered_at > as_of:
                continue
            same = (born.month, born.day) == (today.month, today.day)
            if not same and not (leap_day_today and (born.month, born.day) == (2, 29)):
                continue
            key = f"birthday:{today.year}"
            if store.loyalty.by_key(customer.id, key) is not None:
                continue
            entry = earn_points(store, customer.id, rule=rule.name, key=key, at=as_of,
                                program=program, actor=actor, reason=f"生日礼 {today.year}")
            if entry is not None:
                written.append(entry)
    return written


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def record_order_with_points(
    store: LoyaltyStore,
    order: Order,
    *,
    program: Program = DEFAULT_PROGRAM,
    rater: IncrementalRater | None = None,
) -> LedgerEntry | None:
    """Record a new order (:func:`custmgmt.services.record_order`) and earn its points, atomically.

    Recording the same order twice is a :class:`~custmgmt.errors.Conflict` and earns
    nothing; earning is idempotent on its own too. ``rater`` is passed on to
    ``record_order`` (real-time stars).
    """
    with service_transaction(store):
        record_order(store, order, rater=rater)
        return earn_for_order(store, order.id, program=program)


def record_interaction_with_points(
    store: LoyaltyStore,
    interaction: Interaction,
    *,
    program: Program = DEFAULT_PROGRAM,
    rater: IncrementalRater | None = None,
) -> list[LedgerEntry]:
    """Record a new interaction (:func:`custmgmt.services.record_interaction`) and earn for it."""
    with service_transaction(store):
        record_interaction(store, interaction, rater=rater)
        return earn_for_interaction(store, interaction.id, program=program)


# -- taking -------------------------------------------------------------------------------
def redeem_points(
    store: LoyaltyStore,
    customer_id: str,
    points: int,
    *,
    key: str,
    at: datetime,
    program: Program = DEFAULT_PROGRAM,
    actor: str = "system",
    reason: str = "兑换",
) -> LedgerEntry:
    """Spend ``points``, drawing available lots soonest expiry first.

    Raises:
        ValidationError: ``points`` is not a positive integer, ``at`` is naive or
            before the ledger's last entry.
        InsufficientPoints: more than the balance at ``at`` (a Conflict); nothing is
            written.
        Conflict: ``key`` was used for a different redemption.
    """
    _check_points("points", points)
    require_aware("at", at)
    check_id("key", key)
    with service_transaction(store):
        found = store.loyalty.by_key(customer_id, key)
        if found is not None:
            if found.kind is not EntryKind.REDEEM or found.points != -points:
                raise ValidationError("key", key, "a key not used for another entry")
            return found
        store.customers.get(customer_id)
        with _ledger(store, customer_id, program) as folded:
            _check_order_in_time(folded, at)
            allowed = _balance(folded, at, program)
            if points > allowed:
                raise InsufficientPoints(customer_id, points, max(allowed, 0))
            draws = _draw(folded.available_lots(at), points)
            entry = LedgerEntry(
                id=_entry_id(customer_id, folded.seq + 1), customer_id=customer_id,
                seq=folded.seq + 1, kind=EntryKind.REDEEM, points=-points, at=at, key=key,
                actor=actor, reason=reason, draws=draws,
            )
            store.loyalty.append(entry)
            return entry


def reverse_for_order(
    store: LoyaltyStore,
    order_id: str,
    *,
    program: Program = DEFAULT_PROGRAM,
    actor: str = "system",
) -> LedgerEntry | None:
    """Reverse the points an order earned, pro rata to what was refunded (all if cancelled).

    The points due are ``earned * refunded / total`` rounded down (all of them for a
    full refund or a cancellation), less what earlier reversals took; the key
    ``reverse:<order>:<points due in total>`` makes a retried reversal of the same
    refund a no-op. Points come from the order's own lot, then other available lots
    soonest expiry first; the rest follows the programme's
    :class:`~custmgmt.loyalty.rules.ReturnPolicy`. Dated at the refund (or
    cancellation), or at the ledger's last entry when that is later.

    Returns None when the order earned nothing or nothing more is due.

    Raises:
        NotFound: no such order.
    """
    with service_transaction(store):
        order = store.orders.get(order_id)
        customer_id = order.customer_id
        earned = store.loyalty.by_key(customer_id, f"order:{order.id}")
        if earned is None:
            return None
        if order.status is OrderStatus.CANCELLED or order.refunded == order.total:
            target = earned.points
        else:
            share = order.refunded.amount / order.total.amount if order.total.amount else 0
            target = int((earned.points * Decimal(share)).to_integral_value(rounding=ROUND_FLOOR))
        with _ledger(store, customer_id, program) as folded:
            due = target - folded.order_reversed(order.id)
            if due <= 0:
                return None
            key = f"reverse:{order.id}:{target}"
            found = store.loyalty.by_key(customer_id, key)
            if found is not None:
                return found
            cancelled = order.status is OrderStatus.CANCELLED
            when = order.cancelled_at if cancelled else order.returned_at
            at = max(when or earned.at, folded.at or earned.at)
            own = folded.lot(earned.id)
            draws: list[Draw] = []
            left = due
            if own.remaining > 0 and not own.expired(at):
                take = min(own.remaining, left)
                draws.append(Draw(lot=own.id, points=take))
                left -= take
            others = [lot for lot in folded.available_lots(at) if lot.id != own.id]
            if left:
                drawn = _draw(others, min(left, sum(lot.remaining for lot in others)))
                draws.extend(drawn)
                left -= sum(d.points for d in drawn)
            debt, written_off = left, 0
            limit = program.returns.debt_limit
            if limit is not None and folded.debt + debt > limit:
                debt = max(0, limit - folded.debt)
                written_off = left - debt
            policy = f" ({program.returns.mode.value})" if debt or written_off else ""
            entry = LedgerEntry(
                id=_entry_id(customer_id, folded.seq + 1), customer_id=customer_id,
                seq=folded.seq + 1, kind=EntryKind.REVERSE, points=-due, at=at, key=key,
                actor=actor, reason=f"退货 {order.id}{policy}",
                order_id=order.id, draws=tuple(draws), debt=debt, written_off=written_off,
            )
            store.loyalty.append(entry)
            return entry


def expire_points(
    store: LoyaltyStore,
    *,
    as_of: datetime,
    customer_ids: Iterable[str] | None = None,
    program: Program = DEFAULT_PROGRAM,
    actor: str = "expiry job",
) -> list[LedgerEntry]:
    """The expiry job: record an ``expire`` entry for each lot expired by ``as_of``.

    Balances already leave expired lots out; the job makes it explicit in the ledger.
    One entry per lot, key ``expire:<lot>``, so running the job again writes nothing.
    Each customer is done in its own transaction.

    Raises:
        ValidationError: ``as_of`` is naive, or ``customer_ids`` holds something that
            is not a customer id (before anything is written).
    """
    require_aware("as_of", as_of)
    if isinstance(customer_ids, str):  # list("C-1") would be three one-letter ids
        raise ValidationError("customer_ids", customer_ids, "an iterable of customer ids")
    who = store.loyalty.customer_ids() if customer_ids is None else list(customer_ids)
    # Every id is checked before any customer's lots are expired: a bad id late in the
    # list used to fail after the earlier customers' expiries were committed.
    for customer_id in who:
        check_id("customer_id", customer_id)
    written: list[LedgerEntry] = []
    for customer_id in who:
        written.extend(_expire_lots(store, customer_id, as_of, program, actor))
    return written


def _expire_lots(
    store: LoyaltyStore, customer_id: str, as_of: datetime, program: Program, actor: str
) -> list[LedgerEntry]:
    """One customer's part of :func:`expire_points`, in its own transaction."""
    written: list[LedgerEntry] = []
    with service_transaction(store), running(store, customer_id, None) as run:
        folded: Account | LedgerState
        if run is None:
            folded = _account_afresh(store, customer_id, program)
            expired = [
                lot for lot in sorted(folded.lots, key=lambda lot: (lot.expires_at, lot.id))
                if lot.remaining > 0 and lot.expired(as_of)
            ]
        else:
            folded, expired = run, run.expired_lots(as_of)
        seq, last_at = folded.seq, folded.at
        for lot in expired:
            if store.loyalty.by_key(customer_id, f"expire:{lot.id}") is not None:
                continue
            seq += 1
            entry = LedgerEntry(
                id=_entry_id(customer_id, seq), customer_id=customer_id, seq=seq,
                kind=EntryKind.EXPIRE, points=-lot.remaining,
                at=max(lot.expires_at, last_at or lot.expires_at), key=f"expire:{lot.id}",
                actor=actor, reason=f"到期 {lot.expires_at.date().isoformat()}",
                draws=(Draw(lot=lot.id, points=lot.remaining),),
            )
            store.loyalty.append(entry)
            written.append(entry)
    return written


def adjust_points(
    store: LoyaltyStore,
    customer_id: str,
    points: int,
    *,
    key: str,
    at: datetime,
    actor: str,
    reason: str,
    expires_at: datetime | None = None,
    program: Program = DEFAULT_PROGRAM,
) -> LedgerEntry:
    """A manual correction: a new lot (``points > 0``) or a deduction (``points < 0``).

    Corrections are new entries; nothing stored is edited.

    Raises:
        NotFound: no such customer.
        ValidationError: ``points`` is 0 or not an integer; ``expires_at`` is not
            after ``at``; ``at`` is before the customer's registration or the
            ledger's last entry.
        InsufficientPoints: a deduction beyond the balance.
    """
    if not isinstance(points, int) or isinstance(points, bool) or points == 0:
        raise ValidationError("points", points, "a non-zero integer number of points")
    require_aware("at", at)
    check_id("key", key)
    if expires_at is not None:
        require_aware("expires_at", expires_at)
        if expires_at <= at:
            raise ValidationError("expires_at", expires_at, f"an expiry after the award at {at}")
    with service_transaction(store):
        found = store.loyalty.by_key(customer_id, key)
        if found is not None:
            return found
        customer = store.customers.get(customer_id)
        if at < customer.registered_at:  # as earn_points: no points before the customer
            raise ValidationError("at", at, f"not before registration {customer.registered_at}")
        with _ledger(store, customer_id, program) as folded:
            _check_order_in_time(folded, at)
            common: dict[str, Any] = {
                "id": _entry_id(customer_id, folded.seq + 1), "customer_id": customer_id,
                "seq": folded.seq + 1, "kind": EntryKind.ADJUST, "points": points, "at": at,
                "key": key, "actor": actor, "reason": reason,
            }
            if points > 0:
                settle = min(folded.debt, points)
                if expires_at is None:
                    with _calendar("at", at):
                        expires_at = program.expiry.expires_at(at)
                entry = LedgerEntry(**common, expires_at=expires_at, debt=-settle)
            else:
                allowed = _balance(folded, at, program)
                if -points > allowed:
                    raise InsufficientPoints(customer_id, -points, max(allowed, 0))
                entry = LedgerEntry(**common, draws=_draw(folded.available_lots(at), -points))
            store.loyalty.append(entry)
            return entry


def hold_lot(
    store: LoyaltyStore,
    customer_id: str,
    lot_id: str,
    *,
    at: datetime,
    actor: str,
    reason: str,
    program: Program = DEFAULT_PROGRAM,
) -> LedgerEntry:
    """Put a lot on hold (a ``lock`` entry): it stops counting until released.

    Raises:
        ValidationError: no such lot, or it is on hold already.
    """
    return _lock(store, customer_id, lot_id, EntryKind.LOCK, at, actor, reason, program)


def release_lot(
    store: LoyaltyStore,
    customer_id: str,
    lot_id: str,
    *,
    at: datetime,
    actor: str,
    reason: str,
    program: Program = DEFAULT_PROGRAM,
) -> LedgerEntry:
    """Release a held lot (an ``unlock`` entry).

    Raises:
        ValidationError: no such lot, or it is not on hold.
    """
    return _lock(store, customer_id, lot_id, EntryKind.UNLOCK, at, actor, reason, program)


def _lock(
    store: LoyaltyStore, customer_id: str, lot_id: str, kind: EntryKind, at: datetime,
    actor: str, reason: str, program: Program,
) -> LedgerEntry:
    require_aware("at", at)
    with service_transaction(store), _ledger(store, customer_id, program) as folded:
        lot = folded.lot(lot_id)
        if lot.held == (kind is EntryKind.LOCK):
            raise ValidationError(
                "lot", lot_id, "a lot not on hold" if lot.held else "a lot on hold"
            )
        _check_order_in_time(folded, at)
        seq = folded.seq + 1
        entry = LedgerEntry(
            id=_entry_id(customer_id, seq), customer_id=customer_id, seq=seq, kind=kind,
            points=0, at=at, key=f"{kind.value}:{lot_id}:{seq}", actor=actor, reason=reason,
            lot=lot_id,
        )
        store.loyalty.append(entry)
        return entry


# -- tiers --------------------------------------------------------------------------------
def tier_events(folded: Account, entries: Sequence[LedgerEntry]) -> list[TierEvent]:
    """What a points tier scheme counts, from a customer's ledger.

    Each ``earn`` lot counts from the moment it unlocks, less reversals made before
    then (those points never counted); a reversal after that is a negative event
    named after the lot, which is what lets an automatic downgrade recognise the
    reversal of the promoting order. Redemptions and expiries do not count: tiers are
    earned, not held.
    """
    lots = {lot.id: lot for lot in folded.lots if lot.kind is EntryKind.EARN}
    lot_of_order = {lot.order_id: lot.id for lot in lots.values() if lot.order_id}
    counted = {lot.id: lot.points for lot in lots.values()}
    late: list[TierEvent] = []
    for entry in entries:
        if entry.kind is not EntryKind.REVERSE or entry.order_id not in lot_of_order:
            continue
        lot = lots[lot_of_order[entry.order_id]]
        unlock = max(lot.earned_at, lot.locked_until or lot.earned_at)
        if entry.at < unlock:
            counted[lot.id] += entry.points
        else:
            late.append(TierEvent(at=entry.at, points=entry.points, source=lot.id))
    events = [
        TierEvent(
            at=max(lot.earned_at, lot.locked_until or lot.earned_at),
            points=counted[lot.id],
            source=lot.id,
        )
        for lot in lots.values()
        if counted[lot.id] > 0
    ]
    return events + late


def tier_status(
    store: LoyaltyStore,
    customer_id: str,
    *,
    as_of: datetime,
    program: Program = DEFAULT_PROGRAM,
) -> TierStatus:
    """The customer's tier at ``as_of`` (see :func:`~custmgmt.loyalty.tiers.evaluate_tier`).

    A star-based scheme reads the customer's star history from the store's ratings.

    Raises:
        ValidationError: the programme has no tiers.
        NotFound: no such customer.
    """
    scheme = program.tiers
    if scheme is None:
        raise ValidationError("program.tiers", None, "a programme with a tier scheme")
    require_aware("as_of", as_of)
    customer = store.customers.get(customer_id)
    if scheme.basis == "stars":
        events = [
            TierEvent(at=h.as_of, points=h.stars, source=h.run_id)
            for h in (store.ratings.star_history(customer_id) if isinstance(store, RatingStore)
                      else [])
        ]
    else:
        entries = [e for e in store.loyalty.entries(customer_id) if e.at <= as_of]
        folded = replay(entries, customer_id=customer_id)
        events = tier_events(folded, entries)
    with _calendar("as_of", as_of):
        return evaluate_tier(
            scheme, events, customer_id=customer_id, registered_at=customer.registered_at,
            as_of=max(as_of, customer.registered_at),
        )


def update_tier(
    store: LoyaltyStore,
    customer_id: str,
    *,
    as_of: datetime,
    program: Program = DEFAULT_PROGRAM,
) -> TierStatus:
    """Evaluate the tier and append the changes not yet in the stored tier history.

    Running it again with the same ``as_of`` writes nothing, and so does an ``as_of``
    before the last stored change. Other capabilities read the stored history
    (``store.loyalty.tier_history``) and the tier's benefits, so it must end in the
    tier the ledger gives: when a late entry rewrote the past (a return recorded after
    the tier job, dated before its lot unlocked, so the promoting points never
    counted), the stored history no longer leads to the evaluated one, and a
    ``"correction"`` change at the last stored change's moment brings it to the tier
    evaluated there, followed by the evaluated changes after that moment.
    """
    with service_transaction(store):
        status = tier_status(store, customer_id, as_of=as_of, program=program)
        stored = store.loyalty.tier_history(customer_id)
        for change in _tier_changes_to_add(stored, status.history, customer_id, as_of):
            store.loyalty.add_tier_change(change)
        return status


def _tier_changes_to_add(
    stored: Sequence[TierChange], computed: Sequence[TierChange], customer_id: str,
    as_of: datetime,
) -> list[TierChange]:
    """What to append to the stored history so it ends where the evaluated one does."""
    if stored and stored[-1].at > as_of:
        return []  # a look into the past: the stored history is later than it

    def key(c: TierChange) -> tuple[datetime, str | None, str]:
        return c.at, c.from_tier, c.to_tier

    n = len(stored)
    if n <= len(computed) and all(key(a) == key(b) for a, b in zip(stored, computed, strict=False)):
        return list(computed[n:])
    last = stored[-1]
    then = [c.to_tier for c in computed if c.at <= last.at]
    current = last.to_tier
    added: list[TierChange] = []
    if then and then[-1] != current:
        added.append(TierChange(
            customer_id=customer_id, seq=n + 1, at=last.at, from_tier=current,
            to_tier=then[-1], reason="correction", source=None,
        ))
        current = then[-1]
    for change in computed:
        if change.at > last.at:
            added.append(attrs.evolve(change, seq=n + len(added) + 1, from_tier=current))
            current = change.to_tier
    return added


# -- helpers ------------------------------------------------------------------------------
@contextmanager
def _calendar(name: str, moment: datetime) -> Iterator[None]:
    """Turn calendar arithmetic running past year 9999 into a ValidationError on ``name``."""
    try:
        yield
    except CustMgmtError:
        raise
    except (OverflowError, ValueError) as exc:
        if not isinstance(exc, OverflowError) and "out of range" not in str(exc):
            raise  # not datetime's range error ("year 10000 is out of range"): a real bug
        raise ValidationError(
            name, moment, f"a moment far enough before year 10000 for the programme's dates ({exc})"
        ) from exc


@contextmanager
def _ledger(
    store: LoyaltyStore, customer_id: str, program: Program
) -> Iterator[Account | LedgerState]:
    """The customer's ledger as :func:`account` folds it: the running state, or afresh."""
    with running(
        store, customer_id, lambda: _account_afresh(store, customer_id, program)
    ) as run:
        yield _account_afresh(store, customer_id, program) if run is None else run


def _balance(folded: Account | LedgerState, at: datetime, program: Program) -> int:
    """As :meth:`Account.balance` of the account :func:`account` folds."""
    return folded.available(at) - (folded.debt if program.returns.debt_in_balance else 0)


def _entry_id(customer_id: str, seq: int) -> str:
    return f"{customer_id}#{seq}"


def _check_points(name: str, points: object) -> None:
    if not isinstance(points, int) or isinstance(points, bool) or not 0 < points < 2**53:
        raise ValidationError(name, points, "a positive integer number of points")


def _check_order_in_time(folded: Account | LedgerState, at: datetime) -> None:
    if folded.at is not None and at < folded.at:
        raise ValidationError(
            "at", at, f"not before the ledger's last entry at {folded.at.isoformat()}"
        )


def _draw(lots: Sequence[Lot], points: int) -> tuple[Draw, ...]:
    """Take ``points`` from ``lots`` in order (the caller checked there are enough)."""
    draws: list[Draw] = []
    left = points
    for lot in lots:
        if left == 0:
            break
        take = min(lot.remaining, left)
        if take > 0:
            draws.append(Draw(lot=lot.id, points=take))
            left -= take
    if left:
        raise AssertionError(f"{left} points short after the balance check")  # pragma: no cover
    return tuple(draws)


def _cap_left(
    store: LoyaltyStore, rule: EarnRule, customer_id: str, at: datetime,
    *, run: LedgerState | None = None,
) -> int:
    if rule.cap is None:
        return 2**53
    start = rule.period_start(at)
    if run is not None:
        used = run.cap_used(rule, start, at)
    else:
        used = sum(
            e.points for e in store.loyalty.entries(customer_id)
            if e.kind is EntryKind.EARN and e.rule == rule.name and start <= e.at <= at
        )
    return max(0, rule.cap - used)


def _multiplier(
    store: LoyaltyStore, program: Program, rule: EarnRule, customer_id: str, at: datetime,
    *, run: LedgerState | None = None, registered_at: datetime | None = None,
) -> Decimal:
    if not rule.multiplied:
        return Decimal(1)
    factor = Decimal(1)
    scheme = program.tiers
    if scheme is not None and run is not None and registered_at is not None and (
        scheme.basis == "points"
    ):
        # As tier_status(store, customer_id, as_of=at), which walks the whole ledger.
        with _calendar("as_of", at):
            level = run.tier_level(scheme, registered_at, max(at, registered_at))
        factor *= scheme.tiers[level].multiplier
    elif scheme is not None:
        factor *= tier_status(store, customer_id, as_of=at, program=program).tier.multiplier
    if program.star_multipliers and isinstance(store, RatingStore):
        stars = [h.stars for h in store.ratings.star_history(customer_id) if h.as_of <= at]
        factor *= program.star_multiplier(stars[-1] if stars else None)
    return factor

