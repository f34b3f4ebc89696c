"""Membership tiers: a pure evaluation from points earned (or stars) over time.

A tier is reached by points *earned* in a rolling window (never by the balance, so
redeeming or expiring points does not demote anyone), counted from the moment the
points unlock (the end of the order's return window), less points reversed by returns.
Or, with ``basis="stars"``, by the customer's star level.

Upgrades are immediate. Downgrades follow the scheme's :class:`DowngradeMode`:

* ``none``: a tier once reached is kept.
* ``automatic``: only when the transaction that promoted the customer to the current
  tier is reversed (its order returned): the tier is then recomputed from the points
  left.
* ``periodic``: at review dates (every ``period_days`` from registration or from the
  last tier change, or each anniversary of registration) the tier is recomputed; a
  lower tier takes effect after ``grace_days``, unless points earned during the grace
  period keep it.

:func:`evaluate_tier` is a pure function of the events, the registration date and
``as_of``; it also says how many points keep or reach a tier and when the tier expires.
Tier benefits (:class:`Tier`: a points multiplier, free shipping, priority service) are
data that other capabilities read.
"""

from __future__ import annotations

import bisect
import copy
import enum
import itertools
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs
from dateutil.relativedelta import relativedelta

from custmgmt.domain import _validate as v
from custmgmt.errors import ValidationError
from custmgmt.notebook.display import MAX_TABLE_ROWS, Displayed, Report, Table, short_repr

__all__ = [
    "DowngradeMode",
    "ReviewAnchor",
    "Tier",
    "TierChange",
    "TierEvent",
    "TierScheme",
    "TierStatus",
    "evaluate_tier",
]


class DowngradeMode(enum.Enum):
    """When a customer may move down a tier."""

    NONE = "none"
    AUTOMATIC = "automatic"
    PERIODIC = "periodic"


class ReviewAnchor(enum.Enum):
    """Where periodic reviews count from."""

    REGISTRATION = "registration"
    LAST_CHANGE = "last_change"
    ANNIVERSARY = "anniversary"


@attrs.frozen(kw_only=True)
class Tier:
    """A membership tier and its benefits.

    Attributes:
        name: the tier's name (``"金卡"``).
        threshold: points earned in the window (or stars, for a star scheme) needed.
        multiplier: points multiplier for earn rules that allow it.
        free_shipping: whether orders ship free.
        priority_service: whether service tickets get priority.
    """

    name: str = attrs.field(validator=v.text(max_length=100))
    threshold: int = attrs.field()
    multiplier: Decimal = attrs.field(default=Decimal(1))
    free_shipping: bool = attrs.field(default=False, validator=v.instance_of(bool, "True or False"))
    priority_service: bool = attrs.field(
        default=False, validator=v.instance_of(bool, "True or False")
    )

    def __attrs_post_init__(self) -> None:
        v.check_count("Tier.threshold", self.threshold)
        factor = v.check_decimal("Tier.multiplier", self.multiplier)
        if not 0 <= factor <= 1000:
            raise ValidationError("Tier.multiplier", self.multiplier, "a multiplier from 0 to 1000")
        object.__setattr__(self, "multiplier", factor)


def _to_tiers(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _to_mode(value: Any) -> DowngradeMode:
    return v.coerce_enum(DowngradeMode, value, "TierScheme.downgrade")


def _to_anchor(value: Any) -> ReviewAnchor:
    return v.coerce_enum(ReviewAnchor, value, "TierScheme.anchor")


#: Most days a scheme's window, period or grace may span: 0001-01-01 to 9999-12-31.
#: Longer spans cannot be added to any date (``timedelta`` itself stops at 999,999,999).
_MAX_SPAN_DAYS = 3_652_058


def _days(minimum: int) -> Any:
    def validate(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        name = v.field_name(instance, attribute)
        v.check_count(name, value, minimum=minimum)
        if value > _MAX_SPAN_DAYS:
            raise ValidationError(name, value, f"days from {minimum} to {_MAX_SPAN_DAYS:,}")

    return validate


@attrs.frozen(kw_only=True)
class TierScheme(Displayed):
    """How tiers are reached and lost.

    Attributes:
        tiers: from lowest to highest, strictly increasing thresholds, the first 0.
        basis: ``"points"`` (earned in ``window_days``) or ``"stars"``.
        window_days: the rolling window points are counted in.
        downgrade: a :class:`DowngradeMode`.
        period_days: the review period (``periodic`` with a registration or
            last-change anchor).
        anchor: a :class:`ReviewAnchor`.
        grace_days: how long a downgrade found at a review waits.
    """

    tiers: tuple[Tier, ...] = attrs.field(converter=_to_tiers)
    basis: str = attrs.field(default="points")
    window_days: int = attrs.field(default=365, validator=_days(1))
    downgrade: DowngradeMode = attrs.field(default=DowngradeMode.PERIODIC, converter=_to_mode)
    period_days: int = attrs.field(default=365, validator=_days(1))
    anchor: ReviewAnchor = attrs.field(default=ReviewAnchor.REGISTRATION, converter=_to_anchor)
    grace_days: int = attrs.field(default=30, validator=_days(0))

    def __repr__(self) -> str:
        return short_repr("TierScheme", tiers=[t.name for t in self.tiers], basis=self.basis,
                          downgrade=self.downgrade.value)

    def _display(self) -> Report:
        """The tiers and their benefits, and how they are reviewed."""
        report = Report("Tier scheme", facts=[
            ("basis", self.basis), ("window (days)", self.window_days),
            ("downgrade", self.downgrade.value), ("review period (days)", self.period_days),
            ("anchor", self.anchor.value), ("grace (days)", self.grace_days),
        ])
        report.add(Table(
            caption="tiers", header=("tier", "threshold", "multiplier", "free shipping",
                                     "priority service"),
            rows=tuple((t.name, t.threshold, str(t.multiplier), t.free_shipping,
                        t.priority_service) for t in self.tiers),
        ))
        return report

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.tiers, tuple) or not self.tiers or not all(
            isinstance(t, Tier) for t in self.tiers
        ):
            raise ValidationError("TierScheme.tiers", self.tiers, "a non-empty sequence of Tier")
        thresholds = [t.threshold for t in self.tiers]
        if thresholds[0] != 0 or any(b <= a for a, b in itertools.pairwise(thresholds)):
            raise ValidationError(
                "TierScheme.tiers", thresholds, "strictly increasing thresholds starting at 0"
            )
        if len({t.name for t in self.tiers}) != len(self.tiers):
            raise ValidationError("TierScheme.tiers", [t.name for t in self.tiers], "unique names")
        if self.basis not in ("points", "stars"):
            raise ValidationError("TierScheme.basis", self.basis, "'points' or 'stars'")

    @classmethod
    def default(cls) -> TierScheme:
        """Four tiers on points earned in 365 days, reviewed yearly from registration."""
        return cls(
            tiers=(
                Tier(name="普通会员", threshold=0),
                Tier(name="银卡", threshold=1_000, multiplier=Decimal("1.2")),
                Tier(name="金卡", threshold=5_000, multiplier=Decimal("1.5"), free_shipping=True),
                Tier(
                    name="钻石", threshold=20_000, multiplier=Decimal(2), free_shipping=True,
                    priority_service=True,
                ),
            )
        )

    def tier(self, name: str) -> Tier:
        """The tier named ``name``.

        Raises:
            ValidationError: no such tier.
        """
        for tier in self.tiers:
            if tier.name == name:
                return tier
        raise ValidationError("tier", name, f"one of {[t.name for t in self.tiers]}")

    def level_for(self, value: int) -> int:
        """The index of the highest tier whose threshold ``value`` reaches."""
        level = 0
        for i, tier in enumerate(self.tiers):
            if value >= tier.threshold:
                level = i
        return level


@attrs.frozen(kw_only=True)
class TierEvent:
    """A change of what tiers are computed from.

    For a points scheme: points that start counting (an award unlocking, positive)
    or stop (a reversal, negative); ``source`` names the lot. For a star scheme:
    ``points`` is the new star level.

    Attributes:
        at: when.
        points: the change (points) or the new level (stars).
        source: the lot (or rating run) behind it.
    """

    at: datetime = attrs.field(validator=v.aware_datetime())
    points: int = attrs.field()
    source: str = attrs.field(validator=v.an_id)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.points, int) or isinstance(self.points, bool):
            raise ValidationError("TierEvent.points", self.points, "an integer")


@attrs.frozen(kw_only=True)
class TierChange:
    """One move between tiers, as kept in a customer's tier history.

    Attributes:
        customer_id: whose.
        seq: the change's place in the history, from 1.
        at: when it took effect.
        from_tier: the tier before (None for the first entry).
        to_tier: the tier after.
        reason: ``"upgrade"``, ``"reversal"``, ``"review"``, or ``"correction"`` (the
            stored history brought to the evaluated tier after a late entry rewrote
            the past; see :func:`~custmgmt.loyalty.update_tier`).
        source: the lot (or review date) that caused it.
    """

    customer_id: str = attrs.field(validator=v.an_id)
    seq: int = attrs.field()
    at: datetime = attrs.field(validator=v.aware_datetime())
    from_tier: str | None = attrs.field(validator=v.text(optional=True, max_length=100))
    to_tier: str = attrs.field(validator=v.text(max_length=100))
    reason: str = attrs.field(validator=v.text(max_length=200))
    source: str | None = attrs.field(default=None, validator=v.text(optional=True, max_length=200))

    def __attrs_post_init__(self) -> None:
        v.check_count("TierChange.seq", self.seq, minimum=1)


@attrs.frozen(kw_only=True)
class TierStatus(Displayed):
    """A customer's tier at a moment, what it took and what it will take.

    Attributes:
        tier: the current tier.
        since: when it took effect (registration for the base tier).
        qualifying: points earned in the window (or the star level) at ``as_of``.
        points_to_next: points still needed for the next tier (None at the top).
        next_tier: the next tier's name (None at the top).
        points_to_keep: points to earn before the next review to keep the tier
            (0 when nothing is needed or the scheme never downgrades by review).
        review_at: the next periodic review (None unless periodic).
        expires_at: when the tier ends unless kept: the review plus grace (None
            when the tier cannot lapse, or is kept already).
        history: every change up to ``as_of``, oldest first.
    """

    tier: Tier
    since: datetime
    qualifying: int
    points_to_next: int | None
    next_tier: str | None
    points_to_keep: int
    review_at: datetime | None
    expires_at: datetime | None
    history: tuple[TierChange, ...]

    def __repr__(self) -> str:
        return short_repr("TierStatus", tier=self.tier.name, qualifying=self.qualifying,
                          next_tier=self.next_tier, points_to_next=self.points_to_next)

    def _display(self) -> Report:
        """The tier, what the next one takes, what keeping it takes, the history."""
        report = Report("Tier status", facts=[
            ("tier", self.tier.name), ("since", self.since), ("qualifying", self.qualifying),
            ("next tier", self.next_tier or "none (top)"),
            ("points to next", "" if self.points_to_next is None else self.points_to_next),
            ("points to keep", self.points_to_keep),
            ("review at", self.review_at or ""), ("expires at", self.expires_at or ""),
        ])
        report.add(Table(
            caption="tier history", header=("at", "from", "to", "reason"),
            rows=tuple((c.at, c.from_tier or "", c.to_tier, c.reason)
                       for c in self.history[-MAX_TABLE_ROWS:]),
        ))
        return report


class _Running:
    """Points in a trailing window, or the last star level, at any moment, by bisection.

    The walk asks at every event, review and grace end; summing the window afresh each
    time made one evaluation quadratic in the events, and earning (which evaluates the
    tier for its multiplier) cubic over a long ledger.
    """

    def __init__(self, events: Sequence[TierEvent]) -> None:
        self.events = list(events)  # sorted by time
        self.times = [e.at for e in events]
        self.prefix = list(itertools.accumulate((e.points for e in events), initial=0))

    def window_sum(self, at: datetime, window: timedelta) -> int:
        """The points of events in ``(at - window, at]``."""
        hi = bisect.bisect_right(self.times, at)
        try:
            lo = bisect.bisect_right(self.times, at - window)
        except OverflowError:  # the window reaches before year 1: it holds everything
            lo = 0
        return self.prefix[hi] - self.prefix[min(lo, hi)]

    def stars_at(self, at: datetime) -> int:
        """The level of the last event at or before ``at`` (0 before any)."""
        hi = bisect.bisect_right(self.times, at)
        return self.events[hi - 1].points if hi else 0

    def extend(self, events: Sequence[TierEvent]) -> None:
        """Add events, none earlier than the last one held (sorted)."""
        self.events.extend(events)
        self.times.extend(e.at for e in events)
        total = self.prefix[-1]
        for e in events:
            total += e.points
            self.prefix.append(total)


class _Split:
    """Window sums over settled events (every one before a moment) plus pending ones."""

    def __init__(self, settled: _Running, pending: _Running) -> None:
        self.settled, self.pending = settled, pending

    def window_sum(self, at: datetime, window: timedelta) -> int:
        """The points of events in ``(at - window, at]``."""
        return self.settled.window_sum(at, window) + self.pending.window_sum(at, window)

    def stars_at(self, at: datetime) -> int:
        """The level of the last event at or before ``at`` (0 before any)."""
        if self.pending.times and self.pending.times[0] <= at:
            return self.pending.stars_at(at)
        return self.settled.stars_at(at)


def evaluate_tier(
    scheme: TierScheme,
    events: Iterable[TierEvent],
    *,
    customer_id: str,
    registered_at: datetime,
    as_of: datetime,
) -> TierStatus:
    """Walk a customer's events up to ``as_of`` and return the tier and its history.

    Args:
        scheme: the tier scheme.
        events: qualifying changes (see :class:`TierEvent`), any order.
        customer_id: whose (for the history).
        registered_at: when the customer registered (the base tier's start and the
            periodic reviews' anchor).
        as_of: the moment to evaluate at (aware, not before registration).

    Raises:
        ValidationError: a naive ``as_of`` or ``registered_at``, or ``as_of`` before
            ``registered_at``.
    """
    if not isinstance(scheme, TierScheme):
        raise ValidationError("scheme", scheme, "a TierScheme")
    v.check_aware("registered_at", registered_at)
    v.check_aware("as_of", as_of)
    if as_of < registered_at:
        raise ValidationError("as_of", as_of, f"not before registration {registered_at}")
    given = list(events)
    for e in given:  # before sorting, which would fail on anything else unclearly
        if not isinstance(e, TierEvent):
            raise ValidationError("events", e, "TierEvent items")
    items = sorted(given, key=lambda e: (e.at, e.source))
    running = _Running(items)
    walk = _Walk(scheme, customer_id, registered_at)
    walk.run(items, running, as_of)
    return walk.status(running, as_of)


class _Walk:
    """The tier walk's state: :func:`evaluate_tier` runs it over the events in time order.

    It can stop before a moment and go on later with more events, all at or after that
    moment: earning keeps one per customer, walked up to its ledger's last entry (no
    later entry can change an event before it), and goes on from there for each award.
    """

    def __init__(self, scheme: TierScheme, customer_id: str, registered_at: datetime) -> None:
        self.scheme, self.customer_id, self.registered_at = scheme, customer_id, registered_at
        self.stars = scheme.basis == "stars"
        self.window = timedelta(days=scheme.window_days)
        self.level, self.since, self.promoted_by = 0, registered_at, ""
        self.history: list[TierChange] = [
            TierChange(customer_id=customer_id, seq=1, at=registered_at, from_tier=None,
                       to_tier=scheme.tiers[0].name, reason="registration")
        ]
        self.periodic = scheme.downgrade is DowngradeMode.PERIODIC
        self.review = (
            _next_review(scheme, registered_at, registered_at, registered_at)
            if self.periodic else None
        )
        self.grace_end: datetime | None = None

    def copy(self) -> _Walk:
        """An independent copy (the history list too)."""
        twin = copy.copy(self)
        twin.history = list(self.history)
        return twin

    def _value(self, running: _Running | _Split, at: datetime) -> int:
        return running.stars_at(at) if self.stars else running.window_sum(at, self.window)

    def _move(self, to: int, at: datetime, reason: str, source: str | None) -> None:
        tiers = self.scheme.tiers
        self.history.append(TierChange(
            customer_id=self.customer_id, seq=len(self.history) + 1, at=at,
            from_tier=tiers[self.level].name, to_tier=tiers[to].name,
            reason=reason, source=source,
        ))
        self.level, self.since = to, at

    def run(
        self, items: Sequence[TierEvent], running: _Running | _Split, until: datetime,
        *, before: bool = False,
    ) -> int:
        """Walk the moments up to ``until`` (``before``: strictly before it).

        ``items`` are the events not walked yet, sorted by (time, source); ``running``
        sums every event. Returns how many of ``items`` were walked.
        """
        scheme, registered_at = self.scheme, self.registered_at
        i = 0
        while True:
            # The next moment something can happen: an event, a review or a grace end.
            candidates = [t for t in (
                items[i].at if i < len(items) else None, self.review, self.grace_end
            ) if t is not None and (t < until if before else t <= until)]
            if not candidates:
                return i
            now = min(candidates)
            while i < len(items) and items[i].at == now:
                event = items[i]
                i += 1
                target = scheme.level_for(self._value(running, now))
                if target > self.level:
                    self._move(target, now, "upgrade", event.source)
                    self.promoted_by, self.grace_end = event.source, None
                    if scheme.anchor is ReviewAnchor.LAST_CHANGE and self.periodic:
                        self.review = _next_review(scheme, registered_at, now, now)
                elif (
                    scheme.downgrade is DowngradeMode.AUTOMATIC
                    and event.points < 0
                    and event.source == self.promoted_by
                    and target < self.level
                ):
                    self._move(target, now, "reversal", event.source)
                    self.promoted_by = ""
            if self.grace_end is not None and self.grace_end == now:
                self.grace_end = None
                target = scheme.level_for(self._value(running, now))
                if target < self.level:
                    self._move(target, now, "review", f"review {now.date().isoformat()}")
                    self.promoted_by = ""
                    if scheme.anchor is ReviewAnchor.LAST_CHANGE:
                        self.review = _next_review(scheme, registered_at, now, now)
            if self.review is not None and self.review == now:
                if scheme.level_for(self._value(running, now)) < self.level:
                    self.grace_end = now + timedelta(days=scheme.grace_days)
                    if scheme.grace_days == 0:
                        continue  # the grace end is now: handled on the next pass
                self.review = _next_review(scheme, registered_at, self.since, now)

    def level_at(
        self, items: Sequence[TierEvent], running: _Running | _Split, until: datetime
    ) -> int:
        """The tier index the walk reaches at ``until``; the walk itself stays where it is."""
        saved = self.level, self.since, self.promoted_by, self.review, self.grace_end
        walked = len(self.history)
        try:
            self.run(items, running, until)
            return self.level
        finally:
            self.level, self.since, self.promoted_by, self.review, self.grace_end = saved
            del self.history[walked:]

    def status(self, running: _Running | _Split, as_of: datetime) -> TierStatus:
        """The status at ``as_of``, once the walk has run up to it."""
        scheme, level, review, grace_end = self.scheme, self.level, self.review, self.grace_end
        qualifying = self._value(running, as_of)
        top = level + 1 >= len(scheme.tiers)
        next_tier = None if top else scheme.tiers[level + 1]
        keep = 0
        expires_at: datetime | None = None
        if self.periodic and review is not None:
            pending = grace_end if grace_end is not None and grace_end > as_of else None
            at_review = self._value(running, review) if not self.stars else qualifying
            keep = max(0, scheme.tiers[level].threshold - at_review)
            if pending is not None:
                expires_at = pending
                keep = max(keep, scheme.tiers[level].threshold - self._value(running, pending))
            elif keep > 0:
                expires_at = review + timedelta(days=scheme.grace_days)
        return TierStatus(
            tier=scheme.tiers[level],
            since=self.since,
            qualifying=qualifying,
            points_to_next=None if next_tier is None else max(0, next_tier.threshold - qualifying),
            next_tier=None if next_tier is None else next_tier.name,
            points_to_keep=keep,
            review_at=review if self.periodic else None,
            expires_at=expires_at,
            history=tuple(self.history),
        )


def _next_review(
    scheme: TierScheme, registered_at: datetime, last_change: datetime, after: datetime
) -> datetime:
    """The first review strictly after ``after``."""
    if scheme.anchor is ReviewAnchor.ANNIVERSARY:
        # Start two years short of ``after``'s year (that anniversary is surely not
        # after it) and step: counting from 1 every time made a walk over n years of
        # reviews O(n^2) (a member since year 1 evaluated in 3000: 31 s).
        k = max(1, after.year - registered_at.year - 2)
        while registered_at + relativedelta(years=k) <= after:
            k += 1
        return registered_at + relativedelta(years=k)
    period = timedelta(days=scheme.period_days)
    base = last_change if scheme.anchor is ReviewAnchor.LAST_CHANGE else registered_at
    steps = max(1, (after - base) // period + 1)
    return base + steps * period
