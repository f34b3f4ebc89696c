"""Campaigns and their offers: who is aimed at, over which channel, with what, when.

A :class:`Campaign` names its audience as a segmentation rule
(:mod:`custmgmt.segmentation.rules`) over whatever columns the host supplies (segment
codes, ``stars``, churn flags, ``is_new`` ...), one consent channel, the offers
(coupon by amount or percent with a validity, points, a gift; variants for new and
for returning customers; a referral reward for both sides), a message template, a
period and an attribution window, the holdout share and the contact rules (frequency
cap, quiet hours).

Templates use ``{field}`` placeholders from :data:`TEMPLATE_FIELDS`; an unknown field
is refused when the campaign is built, not when the first message is rendered.

>>> from datetime import datetime, timedelta, timezone
>>> from decimal import Decimal
>>> from custmgmt.domain import Money
>>> from custmgmt.segmentation import feature
>>> cst = timezone(timedelta(hours=8))
>>> offer = Offer(kind="amount_coupon", amount=Money(Decimal("20"), "CNY"),
...     valid_from=datetime(2026, 6, 1, tzinfo=cst), valid_until=datetime(2026, 7, 31, tzinfo=cst),
...     unit_cost=Money(Decimal("20"), "CNY"), description="满199减20")
>>> c = Campaign(id="C-618", name="618 回馈", channel="sms", audience=feature("stars") >= 4,
...     offers=(offer,), template="{name}您好，送您{offer}，有效期至{valid_until}",
...     starts_at=datetime(2026, 6, 18, tzinfo=cst), ends_at=datetime(2026, 6, 21, tzinfo=cst),
...     created_at=datetime(2026, 6, 10, tzinfo=cst))
>>> c.render(0, {"name": "王芳"})
'王芳您好，送您满199减20，有效期至2026-07-31'
"""

from __future__ import annotations

import enum
import string
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any, Final

import attrs

from custmgmt.domain import ContactChannel, Money, currency_digits
from custmgmt.domain import _validate as v
from custmgmt.errors import ValidationError
from custmgmt.segmentation.rules import Rule

__all__ = [
    "MAX_DAYS",
    "TEMPLATE_FIELDS",
    "Campaign",
    "CampaignKind",
    "FrequencyCap",
    "Offer",
    "OfferAudience",
    "OfferKind",
    "QuietHours",
    "template_fields",
]

#: The longest window in days (attribution, frequency cap): a century, so that every
#: window fits the calendar whatever the campaign's dates.
MAX_DAYS: Final = 36_500

#: The placeholders a template may use.
TEMPLATE_FIELDS: Final = frozenset(
    {"name", "customer_id", "city", "region", "offer", "valid_until", "campaign", "referral_reward"}
)


class OfferKind(enum.Enum):
    """What an offer gives."""

    AMOUNT_COUPON = "amount_coupon"
    PERCENT_COUPON = "percent_coupon"
    POINTS = "points"
    GIFT = "gift"
    REFERRAL = "referral"


class OfferAudience(enum.Enum):
    """Which customers an offer variant is for."""

    ALL = "all"
    NEW = "new"
    RETURNING = "returning"


class CampaignKind(enum.Enum):
    """A plain campaign, or an activity with a draw of winners."""

    STANDARD = "standard"
    LOTTERY = "lottery"
    QA = "qa"


def _kind(value: Any) -> OfferKind:
    return v.coerce_enum(OfferKind, value, "Offer.kind")


def _for(value: Any) -> OfferAudience:
    return v.coerce_enum(OfferAudience, value, "Offer.for_customers")


def _money(optional: bool = True) -> Any:
    return v.instance_of(Money, "a Money" + (" or None" if optional else ""), optional=optional)


@attrs.frozen(kw_only=True)
class Offer:
    """One offer of a campaign.

    Attributes:
        kind: amount coupon, percent coupon, points, gift or referral reward.
        valid_from, valid_until: when the offer can be used (aware).
        unit_cost: what one offer costs the business when given (for ROI).
        description: how the offer is named in messages (``"满199减20"``).
        for_customers: all, new or returning customers only (variants).
        amount: the coupon's amount, or the referrer's reward for a referral.
        percent: the percent-off coupon's discount, in ``(0, 100)``.
        points: the points given.
        gift: the gift given.
        friend_amount: for a referral, the new customer's reward.
    """

    kind: OfferKind = attrs.field(converter=_kind)
    valid_from: datetime = attrs.field(validator=v.aware_datetime())
    valid_until: datetime = attrs.field(validator=v.aware_datetime())
    unit_cost: Money = attrs.field(validator=_money(False))
    description: str = attrs.field(validator=v.text(max_length=200))
    for_customers: OfferAudience = attrs.field(default=OfferAudience.ALL, converter=_for)
    amount: Money | None = attrs.field(default=None, validator=_money())
    percent: Decimal | None = attrs.field(default=None)
    points: int | None = attrs.field(default=None)
    gift: str | None = attrs.field(default=None, validator=v.text(optional=True, max_length=200))
    friend_amount: Money | None = attrs.field(default=None, validator=_money())

    def __attrs_post_init__(self) -> None:
        if self.valid_until <= self.valid_from:
            raise ValidationError(
                "Offer.valid_until", self.valid_until, f"after valid_from {self.valid_from}"
            )
        if self.unit_cost.amount < 0:
            raise ValidationError("Offer.unit_cost", self.unit_cost, "a non-negative cost")
        needs = {
            OfferKind.AMOUNT_COUPON: ("amount",),
            OfferKind.PERCENT_COUPON: ("percent",),
            OfferKind.POINTS: ("points",),
            OfferKind.GIFT: ("gift",),
            OfferKind.REFERRAL: ("amount", "friend_amount"),
        }[self.kind]
        for name in ("amount", "percent", "points", "gift", "friend_amount"):
            value = getattr(self, name)
            if name in needs and value is None:
                raise ValidationError(f"Offer.{name}", None, f"a value for a {self.kind.value}")
            if name not in needs and value is not None:
                raise ValidationError(f"Offer.{name}", value, f"None for a {self.kind.value}")
        for name in ("amount", "friend_amount"):
            value = getattr(self, name)
            if value is not None and value.amount <= 0:
                raise ValidationError(f"Offer.{name}", value, "a positive amount")
        for name in ("amount", "friend_amount", "unit_cost"):
            # Costs and rewards are summed in minor units for the report's ROI: an
            # amount finer than the currency's smallest unit is refused when planned.
            value = getattr(self, name)
            if value is not None:
                digits = currency_digits(value.currency)
                if value.amount != round(value.amount, digits):
                    raise ValidationError(
                        f"Offer.{name}", value,
                        f"an amount in whole {value.currency} minor units "
                        f"(at most {digits} decimals)",
                    )
        if self.percent is not None:
            p = v.check_decimal("Offer.percent", self.percent)
            if not 0 < p < 100:
                raise ValidationError("Offer.percent", self.percent, "a percentage in (0, 100)")
        if self.points is not None:
            v.check_count("Offer.points", self.points, minimum=1, expected="a positive integer")

    def check_valid_at(self, moment: datetime, field: str = "offer") -> None:
        """Refuse an offer that has expired at ``moment`` (one valid from a later day
        may be sent ahead).

        Raises:
            ValidationError: ``moment`` is not before ``valid_until``.
        """
        v.check_aware("moment", moment)
        if moment >= self.valid_until:
            raise ValidationError(
                f"{field}.valid_until", self.valid_until, f"a coupon still valid at {moment}"
            )

    def applies_to(self, is_new: bool) -> bool:
        """Whether this variant is for a new (``True``) or returning customer."""
        if self.for_customers is OfferAudience.ALL:
            return True
        return (self.for_customers is OfferAudience.NEW) == is_new


def _check_cap_count(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    v.check_count(v.field_name(instance, attribute), value, minimum=1,
                  expected="a positive integer")


#: A window of days: a positive count no longer than a century (MAX_DAYS).
_check_window = v.count_up_to(MAX_DAYS, what="a number of days")


@attrs.frozen(kw_only=True)
class FrequencyCap:
    """At most ``messages`` per customer over ``window_days`` of their calendar days."""

    messages: int = attrs.field(validator=_check_cap_count)
    window_days: int = attrs.field(validator=_check_window)


def _check_time(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, time) or value.tzinfo is not None:
        raise ValidationError(v.field_name(instance, attribute), value, "a local time of day")


@attrs.frozen(kw_only=True)
class QuietHours:
    """A daily local window without messages (may wrap past midnight: 21:00-09:00).

    The window is kept in whole minutes (seconds are dropped), so the start and the
    end must fall in different minutes.
    """

    start: time = attrs.field(validator=_check_time)
    end: time = attrs.field(validator=_check_time)

    def __attrs_post_init__(self) -> None:
        start, end = self.minutes
        if start == end:
            # 21:00:30-21:00 was accepted, then refused by every run: no window at all.
            raise ValidationError(
                "QuietHours.end", self.end, "a time in another minute than the start"
            )

    @property
    def minutes(self) -> tuple[int, int]:
        """Start and end in minutes after midnight."""
        return (self.start.hour * 60 + self.start.minute, self.end.hour * 60 + self.end.minute)


def template_fields(template: str) -> frozenset[str]:
    """The placeholders of a template.

    Raises:
        ValidationError: the template is malformed, or uses positional, indexed or
            attribute placeholders, a format spec or a conversion (``!r``).
    """
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValidationError("Campaign.template", template, f"a valid template ({exc})") from None
    found = set()
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        # A conversion is refused too: "{name!a}" sent customers '\u738b\u82b3' and
        # "{name!r}" their name in quotes.
        if not name.isidentifier() or spec or conversion:
            shown = "{" + name + (f"!{conversion}" if conversion else "") + (
                f":{spec}" if spec else "") + "}"
            raise ValidationError("Campaign.template", shown, "plain {field} placeholders")
        found.add(name)
    return frozenset(found)


def _check_template(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    v.text(max_length=2000)(instance, attribute, value)
    unknown = sorted(template_fields(value) - TEMPLATE_FIELDS)
    if unknown:
        raise ValidationError(
            "Campaign.template", "{" + unknown[0] + "}",
            f"a field among {', '.join(sorted(TEMPLATE_FIELDS))}",
        )


def _channel(value: Any) -> ContactChannel:
    return v.coerce_enum(ContactChannel, value, "Campaign.channel")


def _campaign_kind(value: Any) -> CampaignKind:
    return v.coerce_enum(CampaignKind, value, "Campaign.kind")


def _offers(value: Any) -> tuple[Offer, ...]:
    if isinstance(value, Offer):
        return (value,)
    try:
        items = tuple(value)
    except TypeError:
        raise ValidationError("Campaign.offers", value, "a sequence of Offer") from None
    for item in items:
        if not isinstance(item, Offer):
            raise ValidationError("Campaign.offers", item, "an Offer")
    return items


def _check_share(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 0.5:
        raise ValidationError("Campaign.holdout_share", value, "a share in [0, 0.5]")


def _check_zone(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    from custmgmt.campaigns._zones import zone

    zone(value, v.field_name(instance, attribute))


@attrs.frozen(kw_only=True)
class Campaign:
    """A campaign: audience, channel, offers, message, period and contact rules.

    Attributes:
        id: the campaign id.
        name: its name, any script.
        channel: the consent channel it uses (email, sms, social).
        audience: the segmentation rule that selects its candidates.
        offers: its offers; a customer gets the first that applies to them (new or
            returning). At least one.
        template: the message, with ``{field}`` placeholders from :data:`TEMPLATE_FIELDS`.
        starts_at, ends_at: the campaign's period.
        created_at: when it was planned.
        attribution_days: how long after a message an order counts for the campaign.
        holdout_share: the share of eligible customers held out, in ``[0, 0.5]``.
        salt: the holdout hash's salt (default: the id).
        kind: standard, lottery or Q&A.
        frequency_cap: the cap across campaigns, or None.
        quiet_hours: the quiet window, or None.
        timezone: the business's IANA time zone (the customers' calendar unless the
            host gives each customer theirs).
        created_by: who planned it.
        ran_at: when its audience was run (None: not yet).
        version: optimistic-concurrency version.
    """

    id: str = attrs.field(validator=v.an_id)
    name: str = attrs.field(validator=v.text(max_length=200))
    channel: ContactChannel = attrs.field(converter=_channel)
    audience: Rule = attrs.field(validator=v.instance_of(Rule, "a segmentation Rule"))
    offers: tuple[Offer, ...] = attrs.field(converter=_offers)
    template: str = attrs.field(validator=_check_template)
    starts_at: datetime = attrs.field(validator=v.aware_datetime())
    ends_at: datetime = attrs.field(validator=v.aware_datetime())
    created_at: datetime = attrs.field(validator=v.aware_datetime())
    attribution_days: int = attrs.field(default=14, validator=_check_window)
    holdout_share: float = attrs.field(default=0.1, validator=_check_share)
    salt: str = attrs.field(default=attrs.Factory(lambda self: self.id, takes_self=True),
                            validator=v.text(max_length=200))
    kind: CampaignKind = attrs.field(default=CampaignKind.STANDARD, converter=_campaign_kind)
    frequency_cap: FrequencyCap | None = attrs.field(
        default=None, validator=v.instance_of(FrequencyCap, "a FrequencyCap or None", optional=True)
    )
    quiet_hours: QuietHours | None = attrs.field(
        default=None, validator=v.instance_of(QuietHours, "a QuietHours or None", optional=True)
    )
    timezone: str = attrs.field(default="Asia/Shanghai", validator=_check_zone)
    created_by: str = attrs.field(default="system", validator=v.text(max_length=200))
    ran_at: datetime | None = attrs.field(default=None, validator=v.aware_datetime(optional=True))
    version: int = attrs.field(default=1, validator=v.version)

    def __attrs_post_init__(self) -> None:
        if not self.offers:
            raise ValidationError("Campaign.offers", (), "at least one offer")
        if self.ends_at <= self.starts_at:
            raise ValidationError("Campaign.ends_at", self.ends_at, f"after {self.starts_at}")
        for is_new, who in ((True, "new"), (False, "returning")):
            if self.offer_for(is_new) is None:
                raise ValidationError(
                    "Campaign.offers", [o.for_customers.value for o in self.offers],
                    f"an offer for {who} customers (or one for all)",
                )
        currencies = {o.unit_cost.currency for o in self.offers}
        if len(currencies) > 1:
            raise ValidationError("Campaign.offers", sorted(currencies), "one currency for costs")
        for i, offer in enumerate(self.offers):
            if offer.valid_until <= self.starts_at:
                raise ValidationError(
                    f"Campaign.offers[{i}].valid_until", offer.valid_until,
                    f"a coupon still valid when the campaign starts ({self.starts_at})",
                )

    @property
    def attribution_window(self) -> timedelta:
        """How long after a message an order counts for the campaign."""
        return timedelta(days=self.attribution_days)

    def offer_for(self, is_new: bool) -> int | None:
        """The index of the first offer for a new (or returning) customer, or None."""
        for i, offer in enumerate(self.offers):
            if offer.applies_to(is_new):
                return i
        return None

    def render(self, offer_index: int, fields: dict[str, str]) -> str:
        """The message for one customer: the template filled from ``fields``.

        The offer's fields (``offer``, ``valid_until``, ``referral_reward``) and
        ``campaign`` are filled in here; missing customer fields become empty.
        """
        offer = self.offers[offer_index]
        values = dict.fromkeys(TEMPLATE_FIELDS, "")
        values.update(
            offer=offer.description,
            valid_until=f"{offer.valid_until:%Y-%m-%d}",
            campaign=self.name,
            referral_reward="" if offer.friend_amount is None else str(offer.friend_amount),
        )
        values.update({k: val for k, val in fields.items() if k in TEMPLATE_FIELDS})
        return self.template.format(**values)

    def marked_run(self, at: datetime) -> Campaign:
        """A copy marked as run at ``at`` (version bumped)."""
        v.check_aware("Campaign.ran_at", at)
        return attrs.evolve(self, ran_at=at, version=self.version + 1)
