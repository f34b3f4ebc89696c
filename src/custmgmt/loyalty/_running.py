"""Earning's running state per customer: the ledger folded and the tier walked so far.

An award needs the ledger's last seq, time and debt, the tier at the award's moment
(its multiplier) and what the rule's cap has awarded in the period. Computed afresh,
each award replays the whole ledger and walks the tier from registration, so awards
to one customer cost O(n) each and O(n^2) together (1,500 orders: 14 s in memory).

:func:`running` keeps, per repository and customer, what the ledger gave up to its
last entry: the fold (:class:`~custmgmt.loyalty.ledger._Fold`, as
:func:`~custmgmt.loyalty.services.account` starts it, from the snapshot), the tier
events of every lot (as :func:`~custmgmt.loyalty.services.tier_events` derives them),
the awards per rule and, per tier scheme, the tier walk up to the last entry's moment.
The next call reads only the entries after the last one it saw (checking that one is
still stored, equal, under its seq) and folds them in; an award then costs
O(log n) plus the lots still locked in their return window.

Why the walk can stop at the last entry's moment ``C``: entries are appended in time
order, so every later entry is at ``C`` or after; a lot's tier event is at its unlock
(not before its award), a reversal changes a lot that unlocks after it or adds an
event at its own moment. Events before ``C`` are settled; only lots still locked and
events at ``C`` or after are pending, recomputed for each evaluation.

The other services use the same state: redeeming, adjusting, holding and releasing
need the fold's seq, time, debt and lots; a reversal what its order had reversed and
its own lot; the expiry job the lots that expired. :attr:`LedgerState.live` keeps the
keys of the lots with points left, sorted as :meth:`Account.available_lots` sorts them
(expiry, award time, id): a remainder never grows, so a lot drawn empty leaves for
good, and the lots that count at a moment are those past a bisection on the expiry,
less the few still locked. A redemption then costs O(log n) plus the unexpired lots
with points left, whatever the ledger's length. Statements and :func:`account` answer
from the state too (they return every entry and lot, so they stay O(n), but read the
ledger once and replay nothing). Reading services (``account``, ``statement``) and the
expiry job use a state only when one is kept already (``running(..., None)``): building one
reads the ledger twice, which a job over many customers would pay for nothing.

Where that reasoning does not hold, the caller computes afresh (``running`` returns
None): a ledger not in time order (a host appending entries directly), a second lot
for one order or a reversal stored before its order's lot (which changes which lot
earlier reversals count against), a repository that cannot be weakly referenced. A
state that fails midway is dropped. The cache holds at most :data:`_MAX_CUSTOMERS`
customers per repository.

The check of the last entry cannot see a suffix of the ledger rolled back after the
state read it and written again with a different earlier entry but an equal last one
(a retry that corrects an amount, then redeems exactly as before). So a state is kept
only when nothing it read can still be rolled back: a service called inside a
transaction opened around it (the host's ``with store.transaction():``, or on an SQLite
or PostgreSQL connection the host passed in, the host's own transaction) uses the kept
state but keeps nothing afterwards. A store says so with an ``in_transaction``
property (and ``in_host_transaction``); one that says neither is taken to have a
transaction open, and its services compute afresh.
"""

from __future__ import annotations

import bisect
import itertools
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import TYPE_CHECKING

import attrs

from custmgmt.errors import CustMgmtError, StorageError, ValidationError
from custmgmt.loyalty.ledger import Account, EntryKind, LedgerEntry, Lot, _Fold
from custmgmt.loyalty.ports import LoyaltyStore, PointsRepository
from custmgmt.loyalty.tiers import (
    TierEvent,
    TierScheme,
    TierStatus,
    _Running,
    _Split,
    _Walk,
)

if TYPE_CHECKING:
    from custmgmt.loyalty.rules import EarnRule

__all__ = ["LedgerState", "forget", "may_roll_back", "running", "service_transaction"]

#: Whether a transaction was open around the outermost loyalty service running now
#: (None: no service is running): what it writes may then still be rolled back.
_ENCLOSED: ContextVar[bool | None] = ContextVar("custmgmt_loyalty_enclosed", default=None)


def may_roll_back(store: LoyaltyStore) -> bool:
    """Whether a transaction open in this thread may still undo what is written now:
    the store's own ``transaction()`` block or, on a connection the host passed in, the
    host's transaction. A store that cannot say is taken to have one open."""
    in_transaction = getattr(store, "in_transaction", None)
    if not isinstance(in_transaction, bool):
        return True
    return in_transaction or getattr(store, "in_host_transaction", False) is True


@contextmanager
def service_transaction(store: LoyaltyStore) -> Iterator[None]:
    """``store.transaction()`` for a writing service, noting for :func:`running` whether
    a transaction was already open around the outermost service call."""
    token = _ENCLOSED.set(may_roll_back(store)) if _ENCLOSED.get() is None else None
    try:
        with store.transaction():
            yield
    finally:
        if token is not None:
            _ENCLOSED.reset(token)

#: Customers whose state one repository keeps (least recently used dropped first).
_MAX_CUSTOMERS = 1024


class _Unsupported(Exception):
    """The ledger breaks an assumption of the running state: compute afresh."""


class _Tiers:
    """Tier events of a points scheme, kept up to date one entry at a time.

    The same events :func:`~custmgmt.loyalty.services.tier_events` derives from the
    whole ledger: each ``earn`` lot counts from its unlock, less reversals before
    then; a reversal after the unlock is a negative event named after the lot.
    """

    def __init__(self) -> None:
        self.settled = _Running([])  # every event before ``until``, sorted
        self.until: datetime | None = None
        self.lot_of_order: dict[str, tuple[str, datetime]] = {}
        self.reversed_orders: set[str] = set()
        # Lots not settled yet: (unlock, lot id), sorted, and what each counts.
        self.open: list[tuple[datetime, str]] = []
        self.counted: dict[str, int] = {}
        self.late: list[TierEvent] = []  # reversal events not settled yet, in entry order
        self.walks: dict[tuple[TierScheme, datetime], tuple[_Walk, int]] = {}

    def apply(self, entry: LedgerEntry) -> None:
        if entry.kind is EntryKind.EARN:
            unlock = max(entry.at, entry.locked_until or entry.at)
            if entry.order_id:
                if entry.order_id in self.lot_of_order or entry.order_id in self.reversed_orders:
                    raise _Unsupported  # earlier reversals may now count against this lot
                self.lot_of_order[entry.order_id] = (entry.id, unlock)
            bisect.insort(self.open, (unlock, entry.id))
            self.counted[entry.id] = entry.points
        elif entry.kind is EntryKind.REVERSE and entry.order_id is not None:
            self.reversed_orders.add(entry.order_id)
            found = self.lot_of_order.get(entry.order_id)
            if found is None:
                return
            lot_id, unlock = found
            if entry.at < unlock:
                if lot_id not in self.counted:  # pragma: no cover - unlock > at >= until
                    raise _Unsupported
                self.counted[lot_id] += entry.points
            else:
                self.late.append(TierEvent(at=entry.at, points=entry.points, source=lot_id))

    def _pending(self, before: datetime, *, inclusive: bool) -> list[TierEvent]:
        """Pending events before ``before`` (or at it), sorted as the walk takes them."""
        cut = (bisect.bisect_right if inclusive else bisect.bisect_left)(
            self.open, before, key=lambda pair: pair[0]
        )
        lots = [TierEvent(at=unlock, points=self.counted[lot_id], source=lot_id)
                for unlock, lot_id in self.open[:cut] if self.counted[lot_id] > 0]
        late = [e for e in self.late if (e.at <= before if inclusive else e.at < before)]
        # Lot events before reversal events, each in entry order, as tier_events lists them.
        return sorted(lots + late, key=lambda e: (e.at, e.source))

    def settle(self, until: datetime) -> None:
        """Settle every event before ``until`` (no later entry can change them)."""
        if self.until is not None and until <= self.until:
            return
        events = self._pending(until, inclusive=False)
        cut = bisect.bisect_left(self.open, until, key=lambda pair: pair[0])
        for _, lot_id in self.open[:cut]:
            del self.counted[lot_id]
        del self.open[:cut]
        self.late = [e for e in self.late if e.at >= until]
        self.settled.extend(events)
        self.until = until

    def _all_pending(self) -> list[TierEvent]:
        """Every event not settled yet, sorted as the walk takes them."""
        lots = [TierEvent(at=unlock, points=self.counted[lot_id], source=lot_id)
                for unlock, lot_id in self.open if self.counted[lot_id] > 0]
        return sorted(lots + self.late, key=lambda e: (e.at, e.source))

    def _walk(self, scheme: TierScheme, customer_id: str, registered_at: datetime
              ) -> tuple[_Walk, int]:
        """The kept walk of ``scheme``, brought up to ``until`` (taken out of the cache)."""
        key = (scheme, registered_at)
        found = self.walks.pop(key, None)
        walk, walked = found if found is not None else (
            _Walk(scheme, customer_id, registered_at), 0
        )
        if self.until is not None:
            fresh = self.settled.events[walked:]
            done = walk.run(fresh, self.settled, self.until, before=True)
            if done != len(fresh):  # pragma: no cover - settled events are before until
                raise StorageError("tier walk: a settled event after the settled moment")
            walked = len(self.settled.events)
        return walk, walked

    def status(self, scheme: TierScheme, customer_id: str, registered_at: datetime,
               as_of: datetime) -> TierStatus:
        """The tier status at ``as_of`` (not before ``until``), as evaluate_tier gives it."""
        walk, walked = self._walk(scheme, customer_id, registered_at)
        pending = self._all_pending()
        running = _Split(self.settled, _Running(pending))
        twin = walk.copy()
        twin.run([e for e in pending if e.at <= as_of], running, as_of)
        self.walks[(scheme, registered_at)] = (walk, walked)
        return twin.status(running, as_of)

    def level_at(self, scheme: TierScheme, customer_id: str, registered_at: datetime,
                 at: datetime) -> int:
        """The tier index at ``at`` (not before ``until``)."""
        key = (scheme, registered_at)
        walk, walked = self._walk(scheme, customer_id, registered_at)
        pending = self._pending(at, inclusive=True)
        level = walk.level_at(pending, _Split(self.settled, _Running(pending)), at)
        self.walks[key] = (walk, walked)
        return level


def _lot_key(lot: Lot) -> tuple[datetime, datetime, str]:
    """Where a lot sorts among the available ones (as :meth:`Account.available_lots`)."""
    return lot.expires_at, lot.earned_at, lot.id


class LedgerState:
    """What the services need from one customer's ledger, up to its last entry.

    It answers as the :class:`~custmgmt.loyalty.ledger.Account` that
    :func:`~custmgmt.loyalty.services.account` folds would (``seq``, ``at``, ``debt``,
    ``available``, ``available_lots``, ``lot``, ``order_reversed``), without building it.

    Attributes:
        seq: the last entry's seq (0: none).
        at: the last entry's moment (None: none).
        debt: the outstanding clawback debt, as :func:`account` folds it.
        live: the keys (expiry, award time, id) of the lots with points left, sorted.
    """

    def __init__(self, repo: PointsRepository, start: Account, entries: list[LedgerEntry]
                 ) -> None:
        self.customer_id = start.customer_id
        self.fold = _Fold(start)  # as account(): from the snapshot
        # As tier_status folds the ledger: every entry, not the snapshot. Only a snapshot
        # that disagrees with the entries (check_snapshot's error) makes the two differ.
        self.full = _Fold(Account(customer_id=start.customer_id)) if start.seq else None
        self.full_error: StorageError | None = None
        self.tiers = _Tiers()
        self.earned: dict[str, tuple[list[datetime], list[int]]] = {}
        self.last: LedgerEntry | None = None
        for entry in entries:
            if entry.seq > start.seq:
                self.fold.apply(entry)
            self._track(entry)
        if self.fold.seq != (entries[-1].seq if entries else 0):
            raise _Unsupported  # the snapshot is past the entries read: a concurrent writer
        self.live = sorted(_lot_key(lot) for lot in self.fold.lots.values() if lot.remaining > 0)

    @property
    def seq(self) -> int:
        return self.fold.seq

    @property
    def at(self) -> datetime | None:
        return self.fold.at

    @property
    def debt(self) -> int:
        return self.fold.debt

    def _track(self, entry: LedgerEntry) -> None:
        """Everything but the snapshot-based fold."""
        if self.last is not None and entry.at < self.last.at:
            raise _Unsupported  # not in time order
        if self.full is not None and self.full_error is None:
            try:
                self.full.apply(entry)
            except StorageError as exc:
                self.full_error = exc
        self.tiers.apply(entry)
        if entry.kind is EntryKind.EARN and entry.rule is not None:
            times, sums = self.earned.setdefault(entry.rule, ([], [0]))
            times.append(entry.at)
            sums.append(sums[-1] + entry.points)
        self.last = entry

    def add(self, entry: LedgerEntry) -> None:
        """Fold in the next stored entry."""
        self.fold.apply(entry)
        self._track(entry)
        lots = self.fold.lots
        if entry.opens_lot:
            lot = lots[entry.id]
            if lot.remaining > 0:
                bisect.insort(self.live, _lot_key(lot))
        else:
            for draw in entry.draws:
                lot = lots[draw.lot]
                if lot.remaining == 0:
                    key = _lot_key(lot)
                    i = bisect.bisect_left(self.live, key)
                    if i < len(self.live) and self.live[i] == key:
                        del self.live[i]

    # -- as the Account that account() folds -----------------------------------------
    def _unexpired(self, at: datetime) -> Iterator[Lot]:
        """Lots with points left that have not expired at ``at``, in ``live`` order."""
        lots = self.fold.lots
        start = bisect.bisect_right(self.live, at, key=lambda key: key[0])
        for _, _, lot_id in itertools.islice(self.live, start, None):
            yield lots[lot_id]

    def available(self, at: datetime) -> int:
        """As :meth:`Account.available`: the remainders of the lots that count at ``at``."""
        return sum(lot.remaining for lot in self._unexpired(at) if not lot.locked(at))

    def available_lots(self, at: datetime) -> list[Lot]:
        """As :meth:`Account.available_lots`: soonest expiry first, then oldest, then id."""
        return [lot for lot in self._unexpired(at) if not lot.locked(at)]

    def expired_lots(self, at: datetime) -> list[Lot]:
        """Lots with points left that have expired at ``at``, by (expiry, id)."""
        lots = self.fold.lots
        end = bisect.bisect_right(self.live, at, key=lambda key: key[0])
        return sorted((lots[lot_id] for _, _, lot_id in self.live[:end]),
                      key=lambda lot: (lot.expires_at, lot.id))

    def lot(self, lot_id: str) -> Lot:
        """As :meth:`Account.lot`.

        Raises:
            ValidationError: no such lot.
        """
        found = self.fold.lots.get(lot_id)
        if found is None:
            raise ValidationError("lot", lot_id, f"a lot of customer {self.customer_id!r}")
        return found

    def order_reversed(self, order_id: str) -> int:
        """As :meth:`Account.order_reversed`."""
        return self.fold.reversed_by_order.get(order_id, 0)

    def account(self, debt_in_balance: bool) -> Account:
        """The :class:`Account` that :func:`account` folds (from the snapshot)."""
        folded = self.fold.account()
        if folded.debt_in_balance != debt_in_balance:
            folded = attrs.evolve(folded, debt_in_balance=debt_in_balance)
        return folded

    def replayed(self, debt_in_balance: bool) -> Account | None:
        """Every entry replayed from the first (as a statement does); None if that failed."""
        if self.full_error is not None:
            return None
        folded = (self.full if self.full is not None else self.fold).account()
        if folded.debt_in_balance != debt_in_balance:
            folded = attrs.evolve(folded, debt_in_balance=debt_in_balance)
        return folded

    def tier_status(self, scheme: TierScheme, registered_at: datetime, as_of: datetime
                    ) -> TierStatus:
        """The status ``tier_status`` gives at ``as_of`` (at or after the last entry).

        Raises:
            StorageError: a full replay of the ledger fails (as ``tier_status`` would).
        """
        return self._settled_tiers().status(scheme, self.customer_id, registered_at, as_of)

    def cap_used(self, rule: EarnRule, start: datetime, at: datetime) -> int:
        """Points ``rule`` awarded in ``[start, at]``."""
        times, sums = self.earned.get(rule.name, ([], [0]))
        return sums[bisect.bisect_right(times, at)] - sums[bisect.bisect_left(times, start)]

    def tier_level(self, scheme: TierScheme, registered_at: datetime, at: datetime) -> int:
        """The tier index at ``at`` (at or after the last entry) of a points scheme.

        Raises:
            StorageError: a full replay of the ledger fails (as ``tier_status`` would).
        """
        return self._settled_tiers().level_at(scheme, self.customer_id, registered_at, at)

    def _settled_tiers(self) -> _Tiers:
        """The tier walk with every event before the last entry settled."""
        if self.full_error is not None:
            raise self.full_error
        if self.at is not None:
            self.tiers.settle(self.at)
        return self.tiers


class _Cache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.states: OrderedDict[str, LedgerState] = OrderedDict()


# By identity (a repository's own __eq__ / __hash__ must not merge two ledgers): the
# weak reference checks the id still names the same object; its callback drops the entry.
# Re-entrant: a collection inside _cache may run _forget's callback in the same thread.
_CACHES: dict[int, tuple[weakref.ref[PointsRepository], _Cache]] = {}
_CACHES_LOCK = threading.RLock()


def _cache(repo: PointsRepository) -> _Cache | None:
    key = id(repo)
    with _CACHES_LOCK:
        found = _CACHES.get(key)
        if found is not None and found[0]() is repo:
            return found[1]
        try:
            ref = weakref.ref(repo, lambda _ref: _forget(key, _ref))
        except TypeError:  # not weakly referable: no cache
            return None
        cache = _Cache()
        _CACHES[key] = (ref, cache)
        return cache


def _forget(key: int, ref: weakref.ref[PointsRepository]) -> None:
    with _CACHES_LOCK:
        found = _CACHES.get(key)
        if found is not None and found[0] is ref:
            del _CACHES[key]


def _catch_up(repo: PointsRepository, state: LedgerState) -> bool:
    """Fold in the entries stored after ``state``'s; False when the state is stale."""
    if state.last is None:
        return False
    last = repo.last_seq(state.customer_id)
    if last < state.seq:
        return False  # rolled back
    after = repo.entries(state.customer_id, after_seq=state.seq - 1)
    if not after or after[0] != state.last:
        return False  # replaced or rewritten (a redacted reason): start again
    try:
        for entry in itertools.islice(after, 1, None):
            state.add(entry)
    except StorageError:
        # As the fold from the snapshot sees it; a full replay may not (a snapshot that
        # disagrees with the ledger). Start again, or compute afresh, as for a new state.
        return False
    return True


@contextmanager
def running(
    store: LoyaltyStore, customer_id: str, account: Callable[[], Account] | None,
) -> Iterator[LedgerState | None]:
    """The customer's :class:`LedgerState`, brought up to the stored ledger, or None.

    ``account`` folds the customer's ledger as the services do (from the snapshot);
    it starts a new state (None: no new state, so None unless one is kept).
    Use the state inside the caller's transaction, without changing it; it goes back
    to the cache when the block ends, or ends with a library error other than a
    :class:`~custmgmt.errors.StorageError` (a refusal: nothing was folded in the
    block), and is dropped otherwise; it is dropped too when a transaction open around
    the service may still roll back what the state read (see :func:`may_roll_back`).

    Raises:
        StorageError: the stored ledger is inconsistent (as ``account`` says).
    """
    repo = store.loyalty
    cache = _cache(repo)
    if cache is None:
        yield None
        return
    enclosed = _ENCLOSED.get()
    keep = not (may_roll_back(store) if enclosed is None else enclosed)
    with cache.lock:
        state = cache.states.pop(customer_id, None)
    try:
        if state is None or not _catch_up(repo, state):
            if account is None:
                yield None
                return
            start = account()
            state = LedgerState(repo, start, repo.entries(customer_id))
    except _Unsupported:
        yield None
        return
    try:
        yield state
    except CustMgmtError as exc:
        if keep and not isinstance(exc, StorageError):
            _keep(cache, customer_id, state)
        raise
    if keep:
        _keep(cache, customer_id, state)


def forget(repo: PointsRepository, customer_id: str) -> None:
    """Drop the state kept for ``customer_id`` in ``repo`` (an erasure rewrote the
    reasons of the customer's entries: the process must not keep the old text)."""
    with _CACHES_LOCK:
        found = _CACHES.get(id(repo))
    if found is None or found[0]() is not repo:
        return
    with found[1].lock:
        found[1].states.pop(customer_id, None)


def _keep(cache: _Cache, customer_id: str, state: LedgerState) -> None:
    with cache.lock:
        cache.states[customer_id] = state
        while len(cache.states) > _MAX_CUSTOMERS:
            cache.states.popitem(last=False)
