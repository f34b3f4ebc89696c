"""Row codecs shared by the SQL adapters: how customers, orders and interactions become
rows and back.

SQLite and PostgreSQL store the same columns in the same order; they differ only in
how a few kinds of value are kept (an instant as microseconds or a ``timestamptz``,
money as Decimal text or ``numeric``, JSON as text or ``jsonb``, a flag as an integer
or a boolean). :class:`RowCodec` holds the row layouts and the validating decoding
once; each adapter's ``codecs`` module makes one with its kinds of value and exports
its methods under the names the adapter's repositories import.

Reading goes through the validating constructors: a row another program changed is
refused, never trusted. Analytics never come this way (frames are read column by
column), so these are the transactional paths and can afford it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from decimal import Decimal
from typing import Any, TypeVar

from custmgmt.adapters._columns import order_summary
from custmgmt.domain import (
    Address,
    BusinessProfile,
    Complaint,
    ComplaintCategory,
    Consent,
    Customer,
    CustomerKind,
    Gender,
    Interaction,
    InteractionKind,
    Money,
    Order,
    OrderLine,
    OrderStatus,
    Referral,
    Review,
    Search,
)
from custmgmt.errors import ValidationError

__all__ = ["NO_INSTANT", "RowCodec", "datetime_of", "optional_datetime_of", "utc_offset"]

E = TypeVar("E")
Row = tuple[Any, ...]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ZONES: dict[int, tuple[tzinfo, datetime]] = {0: (UTC, _EPOCH)}
# Offsets (seconds) of the fixed-offset zones seen so far; a zone with rules (zoneinfo)
# is asked every time, since its offset depends on the date.
_FIXED_OFFSETS: dict[tzinfo, int] = {UTC: 0}
#: The two columns of an absent instant.
NO_INSTANT = (None, None)


def utc_offset(value: datetime) -> int:
    """The UTC offset of an aware datetime in whole seconds.

    Raises:
        ValidationError: the UTC offset has a fraction of a second.
    """
    zone = value.tzinfo
    # Only fixed-offset zones are cached: other tzinfo classes need not be hashable
    # (dateutil's tzfile, which the business calendars hand out, is not).
    offset = _FIXED_OFFSETS.get(zone) if type(zone) is timezone else None
    if offset is None:
        delta = value.utcoffset()
        assert delta is not None  # the domain refuses naive datetimes
        if delta.microseconds:
            raise ValidationError("utcoffset", delta, "a UTC offset in whole seconds")
        offset = delta.days * 86_400 + delta.seconds
        if type(zone) is timezone:
            _FIXED_OFFSETS[zone] = offset
    return offset


def datetime_of(micros: int, offset: int) -> datetime:
    """The datetime ``micros`` after the epoch, shown at UTC offset ``offset`` seconds."""
    zone = _ZONES.get(offset)
    if zone is None:
        tz = timezone(timedelta(seconds=offset))
        zone = _ZONES.setdefault(offset, (tz, _EPOCH.astimezone(tz)))
    # Adding to the epoch shown in the zone keeps the fixed offset and is exact.
    return zone[1] + timedelta(microseconds=micros)


def optional_datetime_of(micros: int | None, offset: int | None) -> datetime | None:
    """:func:`datetime_of`, or None for an absent instant."""
    return None if micros is None or offset is None else datetime_of(micros, offset)


def _checked(cls: type[E], **fields: Any) -> E:
    """An instance through its validating constructor."""
    return cls(**fields)


_ADDRESS_FIELDS = dict.fromkeys(
    ("country", "province", "city", "district", "street", "postal_code", "recipient")
)
_BUSINESS_FIELDS = dict.fromkeys(
    (
        "legal_name",
        "registration_number",
        "industry",
        "employees",
        "annual_revenue",
        "contact_person",
        "situation",
    )
)
_CUSTOMER_KINDS = {m.value: m for m in CustomerKind}
_GENDERS = {m.value: m for m in Gender}
_ORDER_STATUSES = {m.value: m for m in OrderStatus}
_INTERACTION_KINDS = {m.value: m for m in InteractionKind}
_COMPLAINT_CATEGORIES = {m.value: m for m in ComplaintCategory}


def _address_fields(address: Address) -> dict[str, Any]:
    fields = {
        "country": address.country,
        "province": address.province,
        "city": address.city,
        "district": address.district,
        "street": address.street,
        "postal_code": address.postal_code,
        "recipient": address.recipient,
    }
    return {k: v for k, v in fields.items() if v is not None}


def _business_fields(business: BusinessProfile) -> dict[str, Any]:
    revenue = business.annual_revenue
    fields: dict[str, Any] = {
        "legal_name": business.legal_name,
        "registration_number": business.registration_number,
        "industry": business.industry,
        "employees": business.employees,
        "annual_revenue": None if revenue is None else [str(revenue.amount), revenue.currency],
        "contact_person": business.contact_person,
        "situation": business.situation,
    }
    return {k: v for k, v in fields.items() if v is not None}


def _business(stored: dict[str, Any], new: Callable[..., Any]) -> BusinessProfile:
    fields = {**_BUSINESS_FIELDS, **stored}
    revenue = fields["annual_revenue"]
    if revenue is not None:
        fields["annual_revenue"] = new(Money, amount=Decimal(revenue[0]), currency=revenue[1])
    business: BusinessProfile = new(BusinessProfile, **fields)
    return business


class RowCodec(ABC):
    """The rows of customers, orders and interactions in one SQL dialect; the
    subclass says how an instant, money, JSON, a date and a flag are stored."""

    @abstractmethod
    def instant(self, value: datetime) -> tuple[Any, int]:
        """The two columns of an aware instant: its stored form and its UTC offset."""

    @abstractmethod
    def json_object(self, value: dict[str, Any]) -> Any:
        """The stored form of a JSON object (an address, a business profile)."""

    @abstractmethod
    def json_list(self, value: list[Any]) -> Any:
        """The stored form of a JSON list (tags)."""

    @abstractmethod
    def read_json(self, stored: Any) -> Any:
        """A stored JSON value back as Python values."""

    @abstractmethod
    def money(self, amount: Decimal) -> Any:
        """The stored form of an exact amount (scale kept)."""

    @abstractmethod
    def day(self, value: date) -> Any:
        """The stored form of a calendar date."""

    @abstractmethod
    def flag(self, value: bool) -> Any:
        """The stored form of a boolean."""

    def _optional_instant(self, value: datetime | None) -> tuple[Any, int | None]:
        return NO_INSTANT if value is None else self.instant(value)

    # -- customers ---------------------------------------------------------------------
    def customer_to_row(self, customer: Customer) -> Row:
        """The ``customers`` row of a customer (columns in schema order)."""
        c = customer
        credit = c.credit_limit
        consent = c.consent
        flag = self.flag
        return (
            c.id,
            c.version,
            c.name,
            c.kind.value,
            *self.instant(c.registered_at),
            *self.instant(c.updated_at),
            None if c.gender is None else c.gender.value,
            None if c.birth_date is None else self.day(c.birth_date),
            c.phone,
            c.email,
            None if c.address is None else self.json_object(_address_fields(c.address)),
            c.region,
            c.occupation,
            c.acquisition_channel,
            None if credit is None else self.money(credit.amount),
            None if credit is None else credit.currency,
            c.credit_rating,
            None if c.business is None else self.json_object(_business_fields(c.business)),
            self.json_list(sorted(c.tags)),
            flag(consent.email),
            flag(consent.sms),
            flag(consent.social),
            *self._optional_instant(consent.updated_at),
        )

    def customer_from_row(self, row: Row) -> Customer:
        """Rebuild a customer from its ``customers`` row, through the validating
        constructors.

        Args:
            row: the columns in schema order, as :meth:`customer_to_row` made them.
        """
        (
            id_, version, name, kind, reg_us, reg_off, upd_us, upd_off, gender, birth, phone,
            email, address, region, occupation, channel, credit, credit_cur, rating, business,
            tags, c_email, c_sms, c_social, c_us, c_off,
        ) = row  # fmt: skip
        new = _checked
        read_json = self.read_json
        return new(
            Customer,
            id=id_,
            version=version,
            name=name,
            kind=_CUSTOMER_KINDS[kind],
            registered_at=datetime_of(reg_us, reg_off),
            updated_at=datetime_of(upd_us, upd_off),
            gender=None if gender is None else _GENDERS[gender],
            birth_date=birth if birth is None or type(birth) is date else date.fromisoformat(birth),
            phone=phone,
            email=email,
            address=None
            if address is None
            else new(Address, **{**_ADDRESS_FIELDS, **read_json(address)}),
            region=region,
            occupation=occupation,
            acquisition_channel=channel,
            credit_limit=None
            if credit is None
            else new(Money, amount=Decimal(credit), currency=credit_cur),
            credit_rating=rating,
            business=None if business is None else _business(read_json(business), new),
            tags=frozenset(read_json(tags)),
            consent=new(
                Consent,
                email=bool(c_email),
                sms=bool(c_sms),
                social=bool(c_social),
                updated_at=optional_datetime_of(c_us, c_off),
            ),
        )

    # -- orders ------------------------------------------------------------------------
    def order_to_rows(self, order: Order) -> tuple[Row, list[Row]]:
        """The ``orders`` row (the columns of ``ORDER_WRITE_COLUMNS``) and the
        ``order_lines`` rows of an order."""
        return self.order_row(order), self.line_rows(order)

    def order_row(self, order: Order) -> Row:
        """The ``orders`` row of an order (the columns of ``ORDER_WRITE_COLUMNS``)."""
        # The bulk-load hot path: attribute reads and inline None checks only. The
        # columns of ORDER_WRITE_COLUMNS: the entity's, then its summary for the
        # columnar port.
        o = order
        instant = self.instant
        returned = o.returned_amount
        paid, shipped, delivered = o.paid_at, o.shipped_at, o.delivered_at
        cancelled, returned_at = o.cancelled_at, o.returned_at
        return (
            o.id,
            o.version,
            o.customer_id,
            *instant(o.placed_at),
            o.status._value_,
            o.lines[0].unit_price.currency,
            *(NO_INSTANT if paid is None else instant(paid)),
            *(NO_INSTANT if shipped is None else instant(shipped)),
            *(NO_INSTANT if delivered is None else instant(delivered)),
            *(NO_INSTANT if cancelled is None else instant(cancelled)),
            *(NO_INSTANT if returned_at is None else instant(returned_at)),
            None if returned is None else self.money(returned.amount),
            o.channel,
            *order_summary(o),
        )

    def line_rows(self, order: Order) -> list[Row]:
        """The ``order_lines`` rows of an order."""
        oid = order.id
        money = self.money
        return [
            (oid, n, line.sku, line.category, line.quantity, money(line.unit_price.amount))
            for n, line in enumerate(order.lines)
        ]

    def order_from_rows(self, rows: Sequence[Row]) -> Order:
        """Rebuild an order from its joined rows (the order's columns, then a line's),
        through the validating constructors.

        Args:
            rows: the rows of one order, one per line, in line order (as the store's
                queries return them).
        """
        new = _checked
        first = rows[0]
        currency = first[6]
        lines = tuple(
            [
                OrderLine(
                    sku=r[19],
                    category=r[20],
                    quantity=r[21],
                    unit_price=Money(Decimal(r[22]), currency),
                )
                for r in rows
            ]
        )
        returned = first[17]
        order: Order = new(
            Order,
            id=first[0],
            version=first[1],
            customer_id=first[2],
            placed_at=datetime_of(first[3], first[4]),
            status=_ORDER_STATUSES[first[5]],
            lines=lines,
            paid_at=optional_datetime_of(first[7], first[8]),
            shipped_at=optional_datetime_of(first[9], first[10]),
            delivered_at=optional_datetime_of(first[11], first[12]),
            cancelled_at=optional_datetime_of(first[13], first[14]),
            returned_at=optional_datetime_of(first[15], first[16]),
            returned_amount=None
            if returned is None
            else new(Money, amount=Decimal(returned), currency=currency),
            channel=first[18],
        )
        return order

    # -- interactions ------------------------------------------------------------------
    def interaction_to_row(self, interaction: Interaction) -> Row:
        """The ``interactions`` row of an interaction (details spread over columns)."""
        i = interaction
        d = i.details
        rating = text = category = resolved = query = referred = None
        if d is not None:
            if isinstance(d, Review):
                rating, text = d.rating, d.text
            elif isinstance(d, Complaint):
                category, text, resolved = d.category.value, d.text, self.flag(d.resolved)
            elif isinstance(d, Search):
                query = d.query
            else:
                referred = d.referred_customer_id
        return (
            i.id,
            i.version,
            i.customer_id,
            i.kind.value,
            *self.instant(i.at),
            i.channel,
            i.order_id,
            i.sku,
            rating,
            text,
            category,
            resolved,
            query,
            referred,
        )

    def interaction_from_row(self, row: Row) -> Interaction:
        """Rebuild an interaction from its ``interactions`` row, through the validating
        constructors.

        Args:
            row: the columns in schema order, as :meth:`interaction_to_row` made them.
        """
        (
            id_, version, customer_id, kind, at_us, at_off, channel, order_id, sku, rating,
            text, category, resolved, query, referred,
        ) = row  # fmt: skip
        new = _checked
        kind_ = _INTERACTION_KINDS[kind]
        details: Review | Complaint | Search | Referral | None = None
        if kind_ is InteractionKind.REVIEW:
            details = new(Review, rating=rating, text=text)
        elif kind_ is InteractionKind.COMPLAINT:
            details = new(
                Complaint,
                category=_COMPLAINT_CATEGORIES[category],
                text=text,
                resolved=bool(resolved),
            )
        elif kind_ is InteractionKind.SEARCH:
            details = new(Search, query=query)
        elif kind_ is InteractionKind.REFERRAL:
            details = new(Referral, referred_customer_id=referred)
        return new(
            Interaction,
            id=id_,
            version=version,
            customer_id=customer_id,
            kind=kind_,
            at=datetime_of(at_us, at_off),
            channel=channel,
            order_id=order_id,
            sku=sku,
            details=details,
        )
