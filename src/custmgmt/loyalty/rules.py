"""A points programme as data: earn rules, lot expiry, the return window, clawback policy.

Rules are plain frozen values, so a programme can be read from configuration, shown,
compared and tested like any other data:

* :class:`EarnRule`: what earns points (an order by amount, or an activity: a review,
  a Q&A answer, a referral for both sides, a lottery prize, a birthday), how many, and
  a cap per calendar period.
* :class:`Expiry`: when a lot expires (12 months after earning by default).
* :class:`ReturnPolicy`: what a return does when the order's points were spent.
* :class:`Program`: all of it, plus the return window, tier scheme and star multipliers.

Rounding of order points is documented on :meth:`EarnRule.base_points`: points per
currency unit times the net amount, rounded *down* by default (``"floor"``), so a
customer is never awarded a point for money not spent; multipliers apply after that
and round down too.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from typing import Any

import attrs
from dateutil.relativedelta import relativedelta

from custmgmt.domain import _validate as v
from custmgmt.domain.money import Money
from custmgmt.errors import ValidationError
from custmgmt.loyalty.tiers import TierScheme

__all__ = [
    "DEFAULT_PROGRAM",
    "ROUNDINGS",
    "ClawbackMode",
    "EarnRule",
    "Expiry",
    "ExpiryMode",
    "Program",
    "ReturnPolicy",
    "Trigger",
]

#: Rounding modes for order points, by name.
ROUNDINGS: Mapping[str, str] = {
    "floor": ROUND_FLOOR,
    "half_up": ROUND_HALF_UP,
    "half_even": ROUND_HALF_EVEN,
}
_PERIODS = ("day", "week", "month", "year")


class Trigger(enum.Enum):
    """What earns points under a rule."""

    ORDER = "order"
    REVIEW = "review"
    ANSWER = "answer"
    REFERRAL = "referral"
    REFERRED = "referred"
    LOTTERY = "lottery"
    BIRTHDAY = "birthday"
    OTHER = "other"


class ExpiryMode(enum.Enum):
    """How a lot's expiry is computed from the moment it was earned."""

    MONTHS = "months"
    DAYS = "days"
    END_OF_MONTH = "end_of_month"


class ClawbackMode(enum.Enum):
    """What happens to reversed points that were already spent (see :class:`ReturnPolicy`)."""

    NEGATIVE_BALANCE = "negative_balance"
    DEBT_LOT = "debt_lot"


def _to_trigger(value: Any) -> Trigger:
    return v.coerce_enum(Trigger, value, "EarnRule.trigger")


def _to_expiry_mode(value: Any) -> ExpiryMode:
    return v.coerce_enum(ExpiryMode, value, "Expiry.mode")


def _to_clawback(value: Any) -> ClawbackMode:
    return v.coerce_enum(ClawbackMode, value, "ReturnPolicy.mode")


def _count(minimum: int = 0, maximum: int | None = None) -> Any:
    def validate(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        name = v.field_name(instance, attribute)
        v.check_count(name, value, minimum=minimum)
        if maximum is not None and value > maximum:
            # Longer spans cannot be added to any date: 0001-01-01 to 9999-12-31.
            raise ValidationError(name, value, f"an integer from {minimum} to {maximum:,}")

    return validate


#: Most days a span of the programme may take: 0001-01-01 to 9999-12-31 (an expiry in
#: months past the calendar's end is refused when an award's expiry is computed).
_MAX_DAYS = 3_652_058


def _multiplier(name: str, value: Any) -> Decimal:
    number = v.check_decimal(name, value)
    if number < 0 or number > 1000:
        raise ValidationError(name, value, "a multiplier from 0 to 1000")
    return number


@attrs.frozen(kw_only=True)
class Expiry:
    """When a lot expires.

    * ``months`` (the default, 12): the same wall-clock time ``amount`` months later
      (a 31 January award expires on 30 or 31 ... of the month, clamped by
      ``relativedelta``);
    * ``days``: ``amount`` days later, same time of day in the award's time zone;
    * ``end_of_month``: at the end of the month ``amount`` months after the award
      (the lot counts up to the last moment of that month: it expires at midnight
      starting the next month, in the award's time zone).

    >>> from datetime import datetime, timezone
    >>> at = datetime(2025, 1, 31, 15, 30, tzinfo=timezone.utc)
    >>> Expiry().expires_at(at).isoformat()
    '2026-01-31T15:30:00+00:00'
    >>> Expiry(mode="days", amount=90).expires_at(at).isoformat()
    '2025-05-01T15:30:00+00:00'
    >>> Expiry(mode="end_of_month", amount=1).expires_at(at).isoformat()
    '2025-03-01T00:00:00+00:00'
    """

    mode: ExpiryMode = attrs.field(default=ExpiryMode.MONTHS, converter=_to_expiry_mode)
    amount: int = attrs.field(default=12, validator=_count(minimum=1, maximum=_MAX_DAYS))

    def expires_at(self, earned_at: datetime) -> datetime:
        """When a lot earned at ``earned_at`` expires (always after ``earned_at``)."""
        v.check_aware("earned_at", earned_at)
        if self.mode is ExpiryMode.DAYS:
            return earned_at + relativedelta(days=self.amount)
        later = earned_at + relativedelta(months=self.amount)
        if self.mode is ExpiryMode.MONTHS:
            return later
        first = later.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        return first + relativedelta(months=1)


@attrs.frozen(kw_only=True)
class ReturnPolicy:
    """What a return does to the points its order earned.

    A return or cancellation reverses the points the order earned, pro rata to the
    refunded share of the order, never more than once per refunded amount. The
    points come first from the order's own lot, then from the customer's other
    available lots, soonest expiry first. What is still missing (the points were
    spent) is handled by ``mode``:

    * ``negative_balance``: the balance may go negative down to ``-negative_limit``;
      the rest is written off (recorded on the reversal). The debt counts against
      the balance until the next awards settle it.
    * ``debt_lot`` (the default): the missing points become a debt, shown apart from
      the balance (which never goes negative), settled by the next awards before
      they count.

    Attributes:
        mode: a :class:`ClawbackMode`.
        negative_limit: the most the balance may go below zero (``negative_balance``).
    """

    mode: ClawbackMode = attrs.field(default=ClawbackMode.DEBT_LOT, converter=_to_clawback)
    negative_limit: int = attrs.field(default=0, validator=_count())

    @property
    def debt_in_balance(self) -> bool:
        """Whether outstanding debt counts against the balance."""
        return self.mode is ClawbackMode.NEGATIVE_BALANCE

    @property
    def debt_limit(self) -> int | None:
        """The most debt that may be outstanding (None: no limit)."""
        return self.negative_limit if self.mode is ClawbackMode.NEGATIVE_BALANCE else None


@attrs.frozen(kw_only=True)
class EarnRule:
    """One way to earn points.

    Attributes:
        name: the rule's id (``"order"``, ``"review"`` ...), unique in a programme.
        trigger: what earns (:class:`Trigger`).
        points: fixed points per occurrence (activities); 0 for order rules.
        per_unit: points per unit of ``currency`` (order rules).
        currency: the currency ``per_unit`` is counted in (order rules).
        rounding: how order points are rounded, a key of :data:`ROUNDINGS`.
        cap: the most points this rule awards one customer per ``cap_period``.
        cap_period: ``"day"``, ``"week"`` (from Monday), ``"month"`` or ``"year"``,
            calendar periods in the award's time zone.
        multiplied: whether tier and star multipliers apply.
    """

    name: str = attrs.field(validator=v.an_id)
    trigger: Trigger = attrs.field(converter=_to_trigger)
    points: int = attrs.field(default=0, validator=_count())
    per_unit: Decimal = attrs.field(default=Decimal(0))
    currency: str | None = attrs.field(default=None)
    rounding: str = attrs.field(default="floor")
    cap: int | None = attrs.field(default=None)
    cap_period: str | None = attrs.field(default=None)
    multiplied: bool = attrs.field(default=True, validator=v.instance_of(bool, "True or False"))

    def __attrs_post_init__(self) -> None:
        per_unit = _multiplier("EarnRule.per_unit", self.per_unit)
        object.__setattr__(self, "per_unit", per_unit)
        if not isinstance(self.rounding, str) or self.rounding not in ROUNDINGS:
            raise ValidationError("EarnRule.rounding", self.rounding, f"one of {sorted(ROUNDINGS)}")
        if self.trigger is Trigger.ORDER:
            if per_unit <= 0 or not isinstance(self.currency, str):
                raise ValidationError(
                    "EarnRule.per_unit", self.per_unit, "positive points per unit of a currency"
                )
            Money(Decimal(0), self.currency)  # an unknown currency is refused here
        elif self.points <= 0:
            raise ValidationError(
                "EarnRule.points", self.points, f"positive points for a {self.trigger.value!r} rule"
            )
        if (self.cap is None) != (self.cap_period is None):
            raise ValidationError("EarnRule.cap_period", self.cap_period, "given with cap")
        if self.cap is not None:
            v.check_count("EarnRule.cap", self.cap, minimum=1)
            if self.cap_period not in _PERIODS:
                raise ValidationError("EarnRule.cap_period", self.cap_period, f"one of {_PERIODS}")

    def base_points(self, amount: Money | None = None) -> int:
        """Points before multipliers: ``points``, or ``amount * per_unit`` rounded.

        >>> rule = EarnRule(name="order", trigger="order", per_unit=Decimal(1), currency="CNY")
        >>> rule.base_points(Money(Decimal("99.99"), "CNY"))
        99

        Raises:
            ValidationError: an order rule without an amount in its currency, or a
                negative amount.
        """
        if self.trigger is not Trigger.ORDER:
            return self.points
        if not isinstance(amount, Money) or amount.currency != self.currency:
            raise ValidationError("amount", amount, f"a Money in {self.currency}")
        if amount.amount < 0:
            raise ValidationError("amount", amount, "a non-negative amount")
        raw = amount.amount * self.per_unit
        return int(raw.quantize(Decimal(1), rounding=ROUNDINGS[self.rounding]))

    def period_start(self, at: datetime) -> datetime:
        """The start of the cap period containing ``at`` (in ``at``'s time zone)."""
        day = at.replace(hour=0, minute=0, second=0, microsecond=0)
        if self.cap_period == "week":
            return day - timedelta(days=day.weekday())
        if self.cap_period == "month":
            return day.replace(day=1)
        if self.cap_period == "year":
            return day.replace(month=1, day=1)
        return day


def _to_rules(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _to_star_multipliers(value: Any) -> Any:
    if isinstance(value, Mapping):
        return tuple(sorted(value.items()))
    return value


@attrs.frozen(kw_only=True)
class Program:
    """A points programme.

    Attributes:
        rules: the earn rules (unique names).
        expiry: when lots expire.
        return_window_days: points from an order stay locked this many days after
            delivery (after placement when the order records no delivery), and do
            not count toward balance or tiers before.
        returns: the clawback policy for returns and cancellations.
        tiers: the tier scheme, if the programme has tiers.
        star_multipliers: ``{stars: multiplier}`` for customers' star levels.
    """

    rules: tuple[EarnRule, ...] = attrs.field(converter=_to_rules)
    expiry: Expiry = attrs.field(factory=Expiry, validator=v.instance_of(Expiry, "an Expiry"))
    return_window_days: int = attrs.field(default=7, validator=_count(maximum=_MAX_DAYS))
    returns: ReturnPolicy = attrs.field(
        factory=ReturnPolicy, validator=v.instance_of(ReturnPolicy, "a ReturnPolicy")
    )
    tiers: TierScheme | None = attrs.field(
        default=None, validator=v.instance_of(TierScheme, "a TierScheme or None", optional=True)
    )
    star_multipliers: tuple[tuple[int, Decimal], ...] = attrs.field(
        default=(), converter=_to_star_multipliers
    )

    def __attrs_post_init__(self) -> None:
        rules = self.rules
        if not isinstance(rules, tuple) or not all(isinstance(r, EarnRule) for r in rules):
            raise ValidationError("Program.rules", self.rules, "a sequence of EarnRule")
        names = [r.name for r in self.rules]
        if len(set(names)) != len(names):
            raise ValidationError("Program.rules", names, "rules with unique names")
        pairs = self.star_multipliers
        if not isinstance(pairs, tuple) or not all(
            isinstance(p, tuple) and len(p) == 2 for p in pairs
        ):
            raise ValidationError(
                "Program.star_multipliers", pairs, "a mapping of star level to multiplier"
            )
        checked = []
        for stars, factor in pairs:
            if not isinstance(stars, int) or isinstance(stars, bool) or not 1 <= stars <= 5:
                raise ValidationError("Program.star_multipliers", stars, "star levels 1 to 5")
            checked.append((stars, _multiplier(f"Program.star_multipliers[{stars}]", factor)))
        object.__setattr__(self, "star_multipliers", tuple(checked))

    def rule(self, name: str) -> EarnRule:
        """The rule named ``name``.

        Raises:
            ValidationError: the programme has no such rule.
        """
        for rule in self.rules:
            if rule.name == name:
                return rule
        known = sorted(r.name for r in self.rules)
        raise ValidationError("rule", name, f"one of the programme's rules {known}")

    def rule_for(self, trigger: Trigger) -> EarnRule | None:
        """The first rule with ``trigger``, or None."""
        return next((r for r in self.rules if r.trigger is trigger), None)

    def star_multiplier(self, stars: int | None) -> Decimal:
        """The multiplier for a star level (1 when none is configured)."""
        return dict(self.star_multipliers).get(stars, Decimal(1)) if stars else Decimal(1)


#: A programme as a Chinese marketplace might run it: 1 point per yuan, activities,
#: 12-month lots, a 7-day return window, debt settled by the next awards, four tiers.
DEFAULT_PROGRAM = Program(
    rules=(
        EarnRule(name="order", trigger=Trigger.ORDER, per_unit=Decimal(1), currency="CNY"),
        EarnRule(name="review", trigger=Trigger.REVIEW, points=20, cap=100, cap_period="month"),
        EarnRule(name="answer", trigger=Trigger.ANSWER, points=10, cap=50, cap_period="month"),
        EarnRule(name="referral", trigger=Trigger.REFERRAL, points=200),
        EarnRule(name="referred", trigger=Trigger.REFERRED, points=100),
        EarnRule(name="lottery", trigger=Trigger.LOTTERY, points=50, multiplied=False),
        EarnRule(name="birthday", trigger=Trigger.BIRTHDAY, points=100, cap=100, cap_period="year"),
    ),
    tiers=TierScheme.default(),
    star_multipliers={4: Decimal("1.1"), 5: Decimal("1.2")},
)
