"""Care reminders: stale profiles, birthdays, holidays and repurchase.

Each function returns :class:`CareReminder` values for staff (the library contacts no
one): who, what kind, the day it is about, and why in words.

* **Profile update**: the profile has not changed for ``stale_after_months`` or
  lacks a field the policy requires (the "information update reminder").
* **Birthday**: the customer's birthday is today in *their* time zone. Someone born
  on 29 February is remembered on 28 February in common years
  (``feb29_in_common_years="feb28"``, the default: still in their birth month) or on
  1 March (``"mar1"``, the day after 28 February, the legal choice in some countries).
* **Holiday**: today (in the customer's zone) is a holiday of the business calendar.
* **Repurchase**: for every product (SKU) bought by at least ``min_buyers`` customers
  in the last ``window_days``, its *typical repurchase interval* is the median gap
  between two consecutive purchases of it by the same customer (over all history to
  ``as_of``; a product nobody bought twice has none). A buyer is reminded when that
  interval has passed since their last purchase of it, they have not bought it again,
  and no more than ``window_days`` have passed since it fell due (so long-lapsed
  buyers are left to win-back campaigns).
"""

from __future__ import annotations

import enum
import itertools
import statistics
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

import attrs
from dateutil.relativedelta import relativedelta

from custmgmt.campaigns._zones import zone
from custmgmt.domain import Customer, Order
from custmgmt.domain import _validate as v
from custmgmt.errors import ValidationError

__all__ = [
    "CarePolicy",
    "CareReminder",
    "ReminderKind",
    "birthday_on",
    "birthday_reminders",
    "holiday_reminders",
    "profile_reminders",
    "repurchase_reminders",
]

_PROFILE_FIELDS = frozenset(
    {"phone", "email", "birth_date", "address", "gender", "occupation", "region"}
)


class ReminderKind(enum.Enum):
    """What a care reminder is about."""

    PROFILE_UPDATE = "profile_update"
    BIRTHDAY = "birthday"
    HOLIDAY = "holiday"
    REPURCHASE = "repurchase"


@attrs.frozen(kw_only=True)
class CareReminder:
    """One reminder for staff.

    Attributes:
        customer_id: the customer.
        kind: what it is about.
        on: the day it is about (local to the customer).
        reason: why, in words.
        sku: for a repurchase reminder, the product.
    """

    customer_id: str
    kind: ReminderKind
    on: date
    reason: str
    sku: str | None = None


def _fields(value: Any) -> frozenset[str]:
    found = v.text_set(value, "CarePolicy.required_fields")
    unknown = sorted(found - _PROFILE_FIELDS)
    if unknown:
        raise ValidationError(
            "CarePolicy.required_fields", unknown[0], f"one of {sorted(_PROFILE_FIELDS)}"
        )
    return found


def _check_feb29(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value not in ("feb28", "mar1"):
        raise ValidationError("CarePolicy.feb29_in_common_years", value, "'feb28' or 'mar1'")


def _check_positive(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    v.check_count(v.field_name(instance, attribute), value, minimum=1,
                  expected="a positive integer")


def _moved(moment: datetime, delta: timedelta | relativedelta) -> datetime:
    """``moment + delta``, held at the calendar's ends rather than overflowing."""
    try:
        return moment + delta
    except (OverflowError, ValueError):
        return (datetime.max if _sign(delta) > 0 else datetime.min).replace(tzinfo=UTC)


def _sign(delta: timedelta | relativedelta) -> int:
    if isinstance(delta, timedelta):
        return 1 if delta > timedelta(0) else -1
    return 1 if (delta.years, delta.months, delta.days) > (0, 0, 0) else -1


def _check_zone(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    zone(value, v.field_name(instance, attribute))


@attrs.frozen(kw_only=True)
class CarePolicy:
    """When to remind staff to take care of a customer.

    Attributes:
        stale_after_months: a profile unchanged this long is due for an update.
        required_fields: profile fields that must be filled in.
        feb29_in_common_years: ``"feb28"`` or ``"mar1"`` (see the module docstring).
        timezone: the business's zone: the customers' calendar unless given theirs.
        min_buyers: a product needs this many buyers in the window for repurchase
            reminders.
        window_days: that window, and how long after falling due a reminder stands.
    """

    stale_after_months: int = attrs.field(default=12, validator=v.count_up_to(1200))
    required_fields: frozenset[str] = attrs.field(
        default=frozenset({"phone"}), converter=_fields
    )
    feb29_in_common_years: str = attrs.field(default="feb28", validator=_check_feb29)
    timezone: str = attrs.field(default="Asia/Shanghai", validator=_check_zone)
    min_buyers: int = attrs.field(default=5, validator=_check_positive)
    window_days: int = attrs.field(default=90, validator=v.count_up_to(36_500))


def birthday_on(birth: date, year: int, rule: str = "feb28") -> date:
    """The day a birthday is celebrated in ``year`` (29 February by ``rule``).

    >>> birthday_on(date(2000, 2, 29), 2027), birthday_on(date(2000, 2, 29), 2027, "mar1")
    (datetime.date(2027, 2, 28), datetime.date(2027, 3, 1))
    >>> birthday_on(date(2000, 2, 29), 2028)
    datetime.date(2028, 2, 29)
    """
    if birth.month == 2 and birth.day == 29:
        try:
            return date(year, 2, 29)
        except ValueError:
            return date(year, 2, 28) if rule == "feb28" else date(year, 3, 1)
    return date(year, birth.month, birth.day)


def _day_in(moment: datetime, name: str, field: str) -> date | None:
    """``moment``'s calendar day in zone ``name``; None past the calendar's ends (the
    last hours of year 9999 UTC are year 10000 east of UTC, the first of year 1 are
    year 0 west of it: no birthday or holiday falls there)."""
    tz = zone(name, field)
    try:
        return moment.astimezone(tz).date()
    except (OverflowError, ValueError):
        return None


def _local_day(as_of: datetime, customer_id: str, policy: CarePolicy,
               timezones: Mapping[str, str] | None) -> date | None:
    name = (timezones or {}).get(customer_id, policy.timezone)
    return _day_in(as_of, name, f"timezones[{customer_id!r}]")


def _business_day(moment: datetime, policy: CarePolicy) -> date:
    """``moment``'s day in the policy's zone (the customers' calendar), held at the
    calendar's ends."""
    found = _day_in(moment, policy.timezone, "CarePolicy.timezone")
    if found is not None:
        return found
    return date.max if moment.year > 1 else date.min


def _check_inputs(as_of: Any, policy: Any) -> None:
    v.check_aware("as_of", as_of)
    if not isinstance(policy, CarePolicy):
        raise ValidationError("policy", policy, "a CarePolicy")


def profile_reminders(
    customers: Iterable[Customer], *, as_of: datetime, policy: CarePolicy
) -> list[CareReminder]:
    """Customers whose profile is stale or misses a required field."""
    _check_inputs(as_of, policy)
    out = []
    cutoff = _moved(as_of, relativedelta(months=-policy.stale_after_months))
    # The day the reminder is about is the customers' day (the policy's zone), not
    # the calendar day of whatever offset ``as_of`` was given in.
    today = _business_day(as_of, policy)
    for c in customers:
        missing = sorted(f for f in policy.required_fields if getattr(c, f) is None)
        reasons = []
        if c.updated_at <= cutoff:
            reasons.append(f"profile unchanged since {c.updated_at:%Y-%m-%d}")
        if missing:
            reasons.append("missing " + ", ".join(missing))
        if reasons:
            out.append(CareReminder(customer_id=c.id, kind=ReminderKind.PROFILE_UPDATE,
                                    on=today, reason="; ".join(reasons)))
    return out


def birthday_reminders(
    customers: Iterable[Customer],
    *,
    as_of: datetime,
    policy: CarePolicy,
    timezones: Mapping[str, str] | None = None,
) -> list[CareReminder]:
    """Customers whose birthday is today in their own time zone."""
    _check_inputs(as_of, policy)
    out = []
    for c in customers:
        if c.birth_date is None:
            continue
        today = _local_day(as_of, c.id, policy, timezones)
        if today is None:
            continue
        if birthday_on(c.birth_date, today.year, policy.feb29_in_common_years) == today:
            leap = (c.birth_date.month, c.birth_date.day) == (2, 29)
            note = " (born 29 February)" if leap else ""
            out.append(CareReminder(customer_id=c.id, kind=ReminderKind.BIRTHDAY, on=today,
                                    reason=f"birthday{note}"))
    return out


def holiday_reminders(
    customers: Iterable[Customer],
    *,
    as_of: datetime,
    holidays: Mapping[date, str] | Iterable[date],
    policy: CarePolicy,
    timezones: Mapping[str, str] | None = None,
) -> list[CareReminder]:
    """Every customer for whom today is a holiday (a business calendar's holidays, or
    ``{date: name}``)."""
    _check_inputs(as_of, policy)
    names: dict[date, str] = (
        dict(holidays) if isinstance(holidays, Mapping) else dict.fromkeys(holidays, "holiday")
    )
    for day in names:
        if not isinstance(day, date) or isinstance(day, datetime):
            raise ValidationError("holidays", day, "dates")
    out = []
    for c in customers:
        today = _local_day(as_of, c.id, policy, timezones)
        if today is not None and today in names:
            out.append(CareReminder(customer_id=c.id, kind=ReminderKind.HOLIDAY, on=today,
                                    reason=names[today]))
    return out


def repurchase_reminders(
    orders: Iterable[Order], *, as_of: datetime, policy: CarePolicy
) -> list[CareReminder]:
    """Buyers due to buy a product again (see the module docstring), by due day then id."""
    _check_inputs(as_of, policy)
    bought: dict[str, dict[str, list[datetime]]] = {}
    for order in orders:
        if not order.status.is_counted or order.placed_at > as_of:
            continue
        for line in order.lines:
            bought.setdefault(line.sku, {}).setdefault(order.customer_id, []).append(
                order.placed_at
            )
    window = timedelta(days=policy.window_days)
    out = []
    for sku, by_customer in sorted(bought.items()):
        since = _moved(as_of, -window)
        recent = sum(1 for times in by_customer.values() if max(times) > since)
        if recent < policy.min_buyers:
            continue
        gaps = []
        for times in by_customer.values():
            ordered = sorted(set(times))
            gaps += [b - a for a, b in itertools.pairwise(ordered)]
        if not gaps:
            continue
        typical = statistics.median_low(gaps)
        if typical <= timedelta(0):
            continue
        for customer_id, times in sorted(by_customer.items()):
            due = _moved(max(times), typical)
            if due <= as_of < _moved(due, window):
                out.append(CareReminder(
                    customer_id=customer_id, kind=ReminderKind.REPURCHASE,
                    on=_business_day(due, policy),
                    reason=f"{sku}: last bought {_business_day(max(times), policy)}, "
                    "typically rebought "
                    f"after {typical.days} days", sku=sku,
                ))
    return sorted(out, key=lambda r: (r.on, r.customer_id, r.sku or ""))
