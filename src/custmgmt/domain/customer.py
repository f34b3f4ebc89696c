"""Customers: people and businesses, their profile, contact details and consent."""

from __future__ import annotations

import enum
import re
from datetime import date, datetime
from typing import Any

import attrs
from dateutil.relativedelta import relativedelta

from custmgmt.domain import _validate as v
from custmgmt.domain.masking import mask_email, mask_name, mask_phone, mask_text
from custmgmt.domain.money import Money
from custmgmt.errors import ValidationError

__all__ = [
    "Address",
    "BusinessProfile",
    "Consent",
    "ContactChannel",
    "Customer",
    "CustomerKind",
    "Gender",
    "normalise_phone",
]


class CustomerKind(enum.Enum):
    """Whether the customer is a person (B2C) or a business (B2B)."""

    PERSON = "person"
    BUSINESS = "business"


class Gender(enum.Enum):
    """Self-described gender; optional on every profile."""

    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNDISCLOSED = "undisclosed"


class ContactChannel(enum.Enum):
    """Marketing channels that need the customer's consent."""

    EMAIL = "email"
    SMS = "sms"
    SOCIAL = "social"


# E.164: a plus, a country code that does not start with 0, at most 15 digits in all.
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
# Mainland China mobile numbers: 11 digits starting 13-19 (written without +86).
_CN_MOBILE = re.compile(r"^1[3-9]\d{9}$")
# Deliberately permissive (internationalised addresses are valid): one @, a dot after it.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")
_SEPARATORS = re.compile(r"[\s\-().]")


def normalise_phone(value: Any, field: str = "phone") -> str:
    """Strip spaces, dashes, dots and brackets; validate E.164 or a mainland-China mobile.

    >>> normalise_phone("+86 138-1234-5678")
    '+8613812345678'
    >>> normalise_phone("138 1234 5678")
    '13812345678'

    Raises:
        ValidationError: the number is neither E.164 nor a mainland-China mobile
            (the error shows it masked, like ``138****5678``).
    """
    if not isinstance(value, str):
        # A number given as an int is a phone number all the same: mask it too.
        is_number = isinstance(value, int) and not isinstance(value, bool) and abs(value) < 10**20
        raise ValidationError(
            field, mask_phone(str(value)) if is_number else value, "a phone number string"
        )
    compact = _SEPARATORS.sub("", value)
    if _E164.fullmatch(compact) or _CN_MOBILE.fullmatch(compact):
        return compact
    raise ValidationError(
        field,
        mask_phone(value),
        "an E.164 number like '+8613812345678' or a mainland-China mobile like '13812345678'",
    )


def _to_phone(value: Any) -> str | None:
    return None if value is None else normalise_phone(value, "Customer.phone")


def _to_kind(value: Any) -> CustomerKind:
    return v.coerce_enum(CustomerKind, value, "Customer.kind")


def _to_gender(value: Any) -> Gender | None:
    return None if value is None else v.coerce_enum(Gender, value, "Customer.gender")


def _to_tags(value: Any) -> frozenset[str]:
    return v.text_set(value, "Customer.tags")


def _check_email(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is None:
        return
    name = v.field_name(instance, attribute)
    expected = "an email address like name@example.com"
    if not isinstance(value, str):
        raise ValidationError(name, value, expected)
    # A refused address is shown masked: error messages end up in logs.
    if len(value) > 254 or not _EMAIL.fullmatch(value):
        raise ValidationError(name, mask_email(value), expected)
    v.check_unicode(name, value, mask_email(value))


def _repr_name(value: str) -> str:
    # A person's name identifies them: reprs show the surname only (张*, A**** S****).
    return repr(mask_name(value))


def _repr_phone(value: str | None) -> str:
    return "None" if value is None else repr(mask_phone(value))


def _repr_email(value: str | None) -> str:
    return "None" if value is None else repr(mask_email(value))


def _repr_text(value: str | None) -> str:
    return "None" if value is None else repr(mask_text(value))


def _personal_text(max_length: int) -> Any:
    return v.text(optional=True, max_length=max_length, mask=mask_text)


def _check_country(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, str) or not re.fullmatch(r"[A-Z]{2}", value):
        raise ValidationError(
            v.field_name(instance, attribute), value, "an ISO 3166-1 alpha-2 code such as 'CN'"
        )


@attrs.frozen(kw_only=True)
class Address:
    """A postal address; any field may be in any script (省, 市, 区 ...).

    ``repr()`` and error messages mask the street and the recipient
    (:func:`~custmgmt.domain.masking.mask_text`); the other fields locate the address
    only roughly and are shown.

    Attributes:
        country: ISO 3166-1 alpha-2 code, e.g. ``"CN"``.
        province: province, state or region of the country.
        city: city.
        district: district or county.
        street: street, building and room.
        postal_code: postal code as written locally.
        recipient: who receives deliveries, when not the customer.
    """

    country: str | None = attrs.field(default=None, validator=_check_country)
    province: str | None = attrs.field(
        default=None, validator=v.text(optional=True, max_length=200)
    )
    city: str | None = attrs.field(default=None, validator=v.text(optional=True, max_length=200))
    district: str | None = attrs.field(
        default=None, validator=v.text(optional=True, max_length=200)
    )
    street: str | None = attrs.field(
        default=None, validator=_personal_text(500), repr=_repr_text
    )
    postal_code: str | None = attrs.field(
        default=None, validator=v.text(optional=True, max_length=20)
    )
    recipient: str | None = attrs.field(
        default=None, validator=_personal_text(200), repr=_repr_text
    )

    def __attrs_post_init__(self) -> None:
        if not any(attrs.astuple(self)):
            raise ValidationError("Address", self, "at least one address field")


@attrs.frozen(kw_only=True)
class BusinessProfile:
    """What a B2B customer's file says about the business.

    ``repr()`` and error messages mask the contact person's name.

    Attributes:
        legal_name: registered name, if it differs from the display name.
        registration_number: e.g. a unified social credit code.
        industry: industry or sector.
        employees: head count.
        annual_revenue: the business's own revenue, as reported.
        contact_person: the buyer or account contact.
        situation: free text on the business's current situation (expansion, difficulty ...).
    """

    legal_name: str | None = attrs.field(
        default=None, validator=v.text(optional=True, max_length=300)
    )
    registration_number: str | None = attrs.field(
        default=None, validator=v.text(optional=True, max_length=64)
    )
    industry: str | None = attrs.field(
        default=None, validator=v.text(optional=True, max_length=200)
    )
    employees: int | None = attrs.field(default=None)
    annual_revenue: Money | None = attrs.field(
        default=None, validator=v.instance_of(Money, "a Money or None", optional=True)
    )
    contact_person: str | None = attrs.field(
        default=None, validator=_personal_text(200), repr=_repr_text
    )
    situation: str | None = attrs.field(default=None, validator=v.text(optional=True))

    @employees.validator
    def _check_employees(self, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is not None:
            v.check_count(v.field_name(self, attribute), value, expected="a non-negative integer")


@attrs.frozen(kw_only=True)
class Consent:
    """Marketing consent per channel; nothing is consented unless recorded.

    Attributes:
        email, sms, social: whether the customer agreed to be contacted that way.
        updated_at: when consent last changed (None: never recorded).
    """

    email: bool = attrs.field(default=False, validator=v.instance_of(bool, "True or False"))
    sms: bool = attrs.field(default=False, validator=v.instance_of(bool, "True or False"))
    social: bool = attrs.field(default=False, validator=v.instance_of(bool, "True or False"))
    updated_at: datetime | None = attrs.field(
        default=None, validator=v.aware_datetime(optional=True)
    )

    def allows(self, channel: ContactChannel | str) -> bool:
        """Whether the customer may be contacted on ``channel``.

        Raises:
            ValidationError: ``channel`` is not a :class:`ContactChannel` (or its value).
        """
        return bool(getattr(self, v.coerce_enum(ContactChannel, channel, "channel").value))


def _default_updated_at(self: Customer) -> datetime:
    return self.registered_at


@attrs.frozen(kw_only=True)
class Customer:
    """A customer's profile: identity, contact, demographics, credit and consent.

    Change a customer through its methods: each returns a new copy with ``version``
    bumped by one, which a repository's ``update`` checks against what it stores.

    Personal data is masked in ``repr()`` and ``str()`` (phone ``138****5678``, email
    ``z***@example.com``, the address's street) and in error messages; the attributes
    hold the real values.

    Attributes:
        id: the host's customer id.
        name: display name in any script (``"张伟"``, ``"Acme Ltd"``).
        kind: person or business.
        registered_at: when the customer registered (aware).
        updated_at: when the profile last changed (defaults to ``registered_at``).
        gender, birth_date, occupation: optional demographics (a person's).
        phone: normalised E.164 or mainland-China mobile number.
        email: email address.
        address: postal address.
        region: the host's sales region or market (``"华东"``, ``"EMEA"``).
        acquisition_channel: how the customer came (``"search"``, ``"referral"``).
        credit_limit: credit granted to the customer, if any.
        credit_rating: the host's or a bureau's credit grade, free text (``"AA"``).
        business: the business's profile, for business customers only.
        tags: free labels.
        consent: marketing consent per channel.
        version: optimistic-concurrency version, 1 for a new customer.
    """

    id: str = attrs.field(validator=v.an_id)
    # Errors show a refused name masked like the repr: messages end up in logs.
    name: str = attrs.field(validator=v.text(max_length=200, mask=mask_name), repr=_repr_name)
    registered_at: datetime = attrs.field(validator=v.aware_datetime())
    kind: CustomerKind = attrs.field(default=CustomerKind.PERSON, converter=_to_kind)
    updated_at: datetime = attrs.field(
        default=attrs.Factory(_default_updated_at, takes_self=True),
        validator=v.aware_datetime(),
    )
    gender: Gender | None = attrs.field(default=None, converter=_to_gender)
    birth_date: date | None = attrs.field(default=None, validator=v.optional_date)
    phone: str | None = attrs.field(default=None, converter=_to_phone, repr=_repr_phone)
    email: str | None = attrs.field(default=None, validator=_check_email, repr=_repr_email)
    address: Address | None = attrs.field(
        default=None, validator=v.instance_of(Address, "an Address or None", optional=True)
    )
    region: str | None = attrs.field(default=None, validator=v.text(optional=True, max_length=200))
    occupation: str | None = attrs.field(
        default=None, validator=v.text(optional=True, max_length=200)
    )
    acquisition_channel: str | None = attrs.field(
        default=None, validator=v.text(optional=True, max_length=100)
    )
    credit_limit: Money | None = attrs.field(
        default=None, validator=v.instance_of(Money, "a Money or None", optional=True)
    )
    credit_rating: str | None = attrs.field(
        default=None, validator=v.text(optional=True, max_length=20)
    )
    business: BusinessProfile | None = attrs.field(
        default=None,
        validator=v.instance_of(BusinessProfile, "a BusinessProfile or None", optional=True),
    )
    tags: frozenset[str] = attrs.field(factory=frozenset, converter=_to_tags)
    consent: Consent = attrs.field(factory=Consent, validator=v.instance_of(Consent, "a Consent"))
    version: int = attrs.field(default=1, validator=v.version)

    def __attrs_post_init__(self) -> None:
        if self.business is not None and self.kind is not CustomerKind.BUSINESS:
            raise ValidationError(
                "Customer.business", self.business, "None for a person (kind='business' only)"
            )
        if self.birth_date is not None:
            if self.kind is CustomerKind.BUSINESS:
                raise ValidationError("Customer.birth_date", self.birth_date, "None for a business")
            if self.birth_date > self.registered_at.date() or self.birth_date.year < 1900:
                raise ValidationError(
                    "Customer.birth_date",
                    self.birth_date,
                    "a date after 1900 and not after registration",
                )
        if self.updated_at < self.registered_at:
            raise ValidationError(
                "Customer.updated_at",
                self.updated_at,
                f"not before registered_at {self.registered_at}",
            )

    # -- reading -------------------------------------------------------------------
    @property
    def display_name(self) -> str:
        """The name as printouts and reports show it: a person's masked to the surname
        or initials (``张*``, ``A**** S****``), since it identifies them; a business's
        registered name whole, which is public and not personal data."""
        return self.name if self.kind is CustomerKind.BUSINESS else mask_name(self.name)

    def age(self, on: date) -> int | None:
        """Age in whole years on ``on``, or None when the birth date is unknown.

        Raises:
            ValidationError: ``on`` is not a date.
        """
        if not isinstance(on, date):
            raise ValidationError("on", on, "a date")
        if self.birth_date is None:
            return None
        on_date = on.date() if isinstance(on, datetime) else on
        return relativedelta(on_date, self.birth_date).years

    def may_contact(self, channel: ContactChannel) -> bool:
        """Whether marketing on ``channel`` is allowed (consent recorded)."""
        return self.consent.allows(channel)

    # -- changing ------------------------------------------------------------------
    def update_profile(self, *, at: datetime, **changes: Any) -> Customer:
        """A copy with the given profile fields changed, ``updated_at`` set to ``at``.

        Any field but ``id``, ``version``, ``registered_at`` and ``updated_at`` may be
        changed; several in one call count as one change (one version bump).

        Raises:
            ValidationError: an unknown or fixed field, or an invalid new value.
        """
        v.check_aware("Customer.updated_at", at)
        fixed = {"id", "version", "registered_at", "updated_at"}
        known = {a.name for a in attrs.fields(Customer)}
        for name in changes:
            if name in fixed or name not in known:
                raise ValidationError(
                    f"Customer.{name}", changes[name], "a changeable profile field"
                )
        return self._evolve(at, **changes)

    def with_tags(
        self,
        *,
        at: datetime,
        add: frozenset[str] | set[str] = frozenset(),
        remove: frozenset[str] | set[str] = frozenset(),
    ) -> Customer:
        """A copy with tags added and removed (one version bump).

        Raises:
            ValidationError: ``add`` or ``remove`` is not an iterable of tag strings.
        """
        added = v.text_set(add, "Customer.tags.add")
        removed = v.text_set(remove, "Customer.tags.remove")
        return self.update_profile(at=at, tags=(self.tags | added) - removed)

    def with_consent(
        self, channel: ContactChannel | str, granted: bool, *, at: datetime
    ) -> Customer:
        """A copy with consent on ``channel`` granted or withdrawn at ``at``."""
        ch = v.coerce_enum(ContactChannel, channel, "Customer.consent")
        if not isinstance(granted, bool):
            raise ValidationError("Consent." + ch.value, granted, "True or False")
        v.check_aware("Consent.updated_at", at)
        consent = attrs.evolve(self.consent, **{ch.value: granted}, updated_at=at)
        return self._evolve(at, consent=consent)

    def _evolve(self, at: datetime, **changes: Any) -> Customer:
        return attrs.evolve(self, updated_at=at, version=self.version + 1, **changes)
