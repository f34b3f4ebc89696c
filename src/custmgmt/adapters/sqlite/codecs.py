"""Row codecs of the SQLite adapter: how entities become rows and back.

How entities become rows:

* Money is Decimal text (``"88.00"``) plus a currency code: exact for every amount
  the domain accepts, scale included (``Decimal("88.00")`` comes back as written).
* A datetime is two integers: microseconds since the epoch in UTC (``*_us``, sortable
  and indexable) and the original UTC offset in seconds (``*_off``). Reading gives
  an equal datetime with the same ``utcoffset()`` (the tzinfo itself becomes a fixed
  ``datetime.timezone``).
* Text is stored as SQLite TEXT (UTF-8), so Chinese names and reviews round-trip.
* Order lines live in their own table, ``order_lines``, keyed by order id and line
  number; nested values (an address, a business profile, tags) are JSON text.

Transactions are explicit: every write runs inside ``BEGIN IMMEDIATE`` ... ``COMMIT``
(or inside a savepoint when it joins an open transaction), so concurrent writers on
other connections queue on SQLite's lock (``busy_timeout``) instead of failing, and
the optimistic check ``UPDATE ... WHERE id = ? AND version = ?`` is race-free across
connections and processes. One store holds one connection, shared by its threads
under a re-entrant lock.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from decimal import Decimal
from typing import Any, TypeVar

from custmgmt.adapters._columns import order_summary
from custmgmt.adapters.sqlite.schema import Row
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
from custmgmt.errors import StorageError, ValidationError

E = TypeVar("E")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ZONES: dict[int, tuple[tzinfo, datetime]] = {0: (UTC, _EPOCH)}

__all__ = [
    "customer_from_row",
    "customer_to_row",
    "interaction_from_row",
    "interaction_to_row",
    "order_from_rows",
    "order_to_rows",
    "storage_error",
]



# Offsets (seconds) of the fixed-offset zones seen so far; a zone with rules (zoneinfo)
# is asked every time, since its offset depends on the date.
_FIXED_OFFSETS: dict[tzinfo, int] = {UTC: 0}
_NO_INSTANT = (None, None)
_EPOCH_ORDINAL = _EPOCH.toordinal()


def _instant(value: datetime) -> tuple[int, int]:
    """(microseconds since the epoch in UTC, UTC offset in seconds), exactly.

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
    # Plain integer arithmetic on the wall time: about twice as fast as subtracting
    # aware datetimes, and exact.
    seconds = (
        ((value.toordinal() - _EPOCH_ORDINAL) * 24 + value.hour) * 60 + value.minute
    ) * 60 + value.second
    return (seconds - offset) * 1_000_000 + value.microsecond, offset


def _optional_instant(value: datetime | None) -> tuple[int | None, int | None]:
    return _NO_INSTANT if value is None else _instant(value)


def _datetime(micros: int, offset: int) -> datetime:
    zone = _ZONES.get(offset)
    if zone is None:
        tz = timezone(timedelta(seconds=offset))
        zone = _ZONES.setdefault(offset, (tz, _EPOCH.astimezone(tz)))
    # Adding to the epoch shown in the zone keeps the fixed offset and is exact.
    return zone[1] + timedelta(microseconds=micros)


def _optional_datetime(micros: int | None, offset: int | None) -> datetime | None:
    return None if micros is None or offset is None else _datetime(micros, offset)


def _json(value: dict[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _address_json(address: Address | None) -> str | None:
    if address is None:
        return None
    fields = {
        "country": address.country,
        "province": address.province,
        "city": address.city,
        "district": address.district,
        "street": address.street,
        "postal_code": address.postal_code,
        "recipient": address.recipient,
    }
    return _json({k: v for k, v in fields.items() if v is not None})


def _business_json(business: BusinessProfile | None) -> str | None:
    if business is None:
        return None
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
    return _json({k: v for k, v in fields.items() if v is not None})


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


def _business(text: str | None, new: Callable[..., Any]) -> BusinessProfile | None:
    if text is None:
        return None
    fields = {**_BUSINESS_FIELDS, **json.loads(text)}
    revenue = fields["annual_revenue"]
    if revenue is not None:
        fields["annual_revenue"] = new(Money, amount=Decimal(revenue[0]), currency=revenue[1])
    business: BusinessProfile = new(BusinessProfile, **fields)
    return business


def customer_to_row(customer: Customer) -> Row:
    """The ``customers`` row of a customer (columns in schema order)."""
    c = customer
    credit = c.credit_limit
    consent = c.consent
    return (
        c.id,
        c.version,
        c.name,
        c.kind.value,
        *_instant(c.registered_at),
        *_instant(c.updated_at),
        None if c.gender is None else c.gender.value,
        None if c.birth_date is None else c.birth_date.isoformat(),
        c.phone,
        c.email,
        _address_json(c.address),
        c.region,
        c.occupation,
        c.acquisition_channel,
        None if credit is None else str(credit.amount),
        None if credit is None else credit.currency,
        c.credit_rating,
        _business_json(c.business),
        json.dumps(sorted(c.tags), ensure_ascii=False),
        int(consent.email),
        int(consent.sms),
        int(consent.social),
        *_optional_instant(consent.updated_at),
    )


def customer_from_row(row: Row) -> Customer:
    """Rebuild a customer from its ``customers`` row, through the validating
    constructors (a row another program changed is refused, never trusted).

    Args:
        row: the columns in schema order, as :func:`customer_to_row` made them.
    """
    (
        id_, version, name, kind, reg_us, reg_off, upd_us, upd_off, gender, birth, phone,
        email, address, region, occupation, channel, credit, credit_cur, rating, business,
        tags, c_email, c_sms, c_social, c_us, c_off,
    ) = row  # fmt: skip
    new = _checked
    return new(
        Customer,
        id=id_,
        version=version,
        name=name,
        kind=_CUSTOMER_KINDS[kind],
        registered_at=_datetime(reg_us, reg_off),
        updated_at=_datetime(upd_us, upd_off),
        gender=None if gender is None else _GENDERS[gender],
        birth_date=None if birth is None else date.fromisoformat(birth),
        phone=phone,
        email=email,
        address=None
        if address is None
        else new(Address, **{**_ADDRESS_FIELDS, **json.loads(address)}),
        region=region,
        occupation=occupation,
        acquisition_channel=channel,
        credit_limit=None
        if credit is None
        else new(Money, amount=Decimal(credit), currency=credit_cur),
        credit_rating=rating,
        business=_business(business, new),
        tags=frozenset(json.loads(tags)),
        consent=new(
            Consent,
            email=bool(c_email),
            sms=bool(c_sms),
            social=bool(c_social),
            updated_at=_optional_datetime(c_us, c_off),
        ),
    )


def order_to_rows(order: Order) -> tuple[Row, list[Row]]:
    """The ``orders`` row (the columns of ``ORDER_WRITE_COLUMNS``) and the
    ``order_lines`` rows of an order."""
    return _order_row(order), _line_rows(order)


def _order_row(order: Order) -> Row:
    # The bulk-load hot path: attribute reads and inline None checks only. The columns
    # of ORDER_WRITE_COLUMNS: the entity's, then its summary for the columnar port.
    o = order
    returned = o.returned_amount
    paid, shipped, delivered = o.paid_at, o.shipped_at, o.delivered_at
    cancelled, returned_at = o.cancelled_at, o.returned_at
    return (
        o.id,
        o.version,
        o.customer_id,
        *_instant(o.placed_at),
        o.status._value_,
        o.lines[0].unit_price.currency,
        *(_NO_INSTANT if paid is None else _instant(paid)),
        *(_NO_INSTANT if shipped is None else _instant(shipped)),
        *(_NO_INSTANT if delivered is None else _instant(delivered)),
        *(_NO_INSTANT if cancelled is None else _instant(cancelled)),
        *(_NO_INSTANT if returned_at is None else _instant(returned_at)),
        None if returned is None else str(returned.amount),
        o.channel,
        *order_summary(o),
    )


def _line_rows(order: Order) -> list[Row]:
    oid = order.id
    return [
        (oid, n, line.sku, line.category, line.quantity, str(line.unit_price.amount))
        for n, line in enumerate(order.lines)
    ]


def order_from_rows(rows: Sequence[Row]) -> Order:
    """Rebuild an order from its joined rows (the order's columns, then a line's),
    through the validating constructors.

    Analytics never come this way: frames are read column by column
    (:mod:`custmgmt.adapters.sqlite.frames`), so entity reads are the transactional
    path (one order, one customer's orders) and can afford full validation.

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
        placed_at=_datetime(first[3], first[4]),
        status=_ORDER_STATUSES[first[5]],
        lines=lines,
        paid_at=_optional_datetime(first[7], first[8]),
        shipped_at=_optional_datetime(first[9], first[10]),
        delivered_at=_optional_datetime(first[11], first[12]),
        cancelled_at=_optional_datetime(first[13], first[14]),
        returned_at=_optional_datetime(first[15], first[16]),
        returned_amount=None
        if returned is None
        else new(Money, amount=Decimal(returned), currency=currency),
        channel=first[18],
    )
    return order


def interaction_to_row(interaction: Interaction) -> Row:
    """The ``interactions`` row of an interaction (details spread over columns)."""
    i = interaction
    d = i.details
    rating = text = category = resolved = query = referred = None
    if d is not None:
        if isinstance(d, Review):
            rating, text = d.rating, d.text
        elif isinstance(d, Complaint):
            category, text, resolved = d.category.value, d.text, int(d.resolved)
        elif isinstance(d, Search):
            query = d.query
        else:
            referred = d.referred_customer_id
    return (
        i.id,
        i.version,
        i.customer_id,
        i.kind.value,
        *_instant(i.at),
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


def interaction_from_row(row: Row) -> Interaction:
    """Rebuild an interaction from its ``interactions`` row, through the validating
    constructors.

    Args:
        row: the columns in schema order, as :func:`interaction_to_row` made them.
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
        at=_datetime(at_us, at_off),
        channel=channel,
        order_id=order_id,
        sku=sku,
        details=details,
    )


_CUSTOMER_KINDS = {m.value: m for m in CustomerKind}
_GENDERS = {m.value: m for m in Gender}
_ORDER_STATUSES = {m.value: m for m in OrderStatus}
_INTERACTION_KINDS = {m.value: m for m in InteractionKind}
_COMPLAINT_CATEGORIES = {m.value: m for m in ComplaintCategory}



def storage_error(doing: str, exc: sqlite3.Error) -> StorageError:
    """The library error for a driver error raised while ``doing`` something."""
    return StorageError(f"sqlite: {doing} failed: {exc}")
