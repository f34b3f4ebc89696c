"""Which fields of which types hold personal data, in one place.

Every field of every domain type (and of the capability types that hold customer
data) is classified here as one of :class:`Sensitivity`; a test walks the types and
fails when a new field is not classified, so the table stays complete as types grow.

The classification drives the rest of :mod:`custmgmt.privacy`: identifying and
contact fields of a customer are sealed (encrypted) when a store encrypts, and
every personal field (sensitive ones included) is cleared when a customer is erased.

>>> CLASSIFICATION["Customer"]["phone"]
<Sensitivity.CONTACT: 'contact'>
>>> sorted(personal_fields("Address"))
['postal_code', 'recipient', 'street']
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType

from custmgmt.errors import ValidationError

__all__ = ["CLASSIFICATION", "Sensitivity", "classify", "personal_fields"]


class Sensitivity(enum.Enum):
    """How a field relates to a person.

    ``IDENTIFYING``: names a person (name, birth date, ID number); ``CONTACT``: reaches
    them (phone, email, street address); ``SENSITIVE``: says something about them a
    customer may not want known (free text they wrote, demographics); ``NONE``: no
    personal data (ids are pseudonymous keys, amounts, timestamps, statuses).
    """

    IDENTIFYING = "identifying"
    CONTACT = "contact"
    SENSITIVE = "sensitive"
    NONE = "none"


_I, _C, _S, _N = (
    Sensitivity.IDENTIFYING,
    Sensitivity.CONTACT,
    Sensitivity.SENSITIVE,
    Sensitivity.NONE,
)


def _table(**fields: Sensitivity) -> Mapping[str, Sensitivity]:
    return MappingProxyType(fields)


#: Type name -> field name -> sensitivity, for every attrs type that holds customer data.
CLASSIFICATION: Mapping[str, Mapping[str, Sensitivity]] = MappingProxyType({
    "Customer": _table(
        id=_N, name=_I, registered_at=_N, kind=_N, updated_at=_N, gender=_S,
        birth_date=_I, phone=_C, email=_C, address=_C, region=_N, occupation=_S,
        acquisition_channel=_N, credit_limit=_N, credit_rating=_S, business=_N,
        tags=_S, consent=_N, version=_N,
    ),
    "Address": _table(
        country=_N, province=_N, city=_N, district=_N, street=_C, postal_code=_C,
        recipient=_I,
    ),
    "BusinessProfile": _table(
        legal_name=_N, registration_number=_N, industry=_N, employees=_N,
        annual_revenue=_N, contact_person=_I, situation=_N,
    ),
    "Consent": _table(email=_N, sms=_N, social=_N, updated_at=_N),
    "Money": _table(amount=_N, currency=_N),
    "Order": _table(
        id=_N, customer_id=_N, placed_at=_N, lines=_N, status=_N, paid_at=_N,
        shipped_at=_N, delivered_at=_N, cancelled_at=_N, returned_at=_N,
        returned_amount=_N, channel=_N, version=_N,
    ),
    "OrderLine": _table(sku=_N, category=_N, quantity=_N, unit_price=_N),
    "Interaction": _table(
        id=_N, customer_id=_N, kind=_N, at=_N, channel=_N, order_id=_N, sku=_N,
        details=_N, version=_N,
    ),
    "Review": _table(rating=_N, text=_S),
    "Complaint": _table(category=_N, text=_S, resolved=_N),
    "Search": _table(query=_S),
    "Referral": _table(referred_customer_id=_N),
    "Ticket": _table(
        id=_N, customer_id=_N, category=_N, channel=_N, priority=_N, subject=_S,
        description=_S, status=_N, created_at=_N, events=_N, assignee=_N, solution=_S,
        satisfaction=_N, reopened_from=_N, merged_into=_N, version=_N,
    ),
    "TicketEventRecord": _table(
        at=_N, event=_N, from_status=_N, to_status=_N, actor=_N, reason=_S, score=_N,
    ),
})


def classify(type_name: str, field: str) -> Sensitivity:
    """The sensitivity of ``type_name.field``.

    Raises:
        ValidationError: the type or the field is not classified.
    """
    table = CLASSIFICATION.get(type_name)
    if table is None:
        raise ValidationError("type_name", type_name, f"one of {sorted(CLASSIFICATION)}")
    if field not in table:
        raise ValidationError("field", f"{type_name}.{field}", "a classified field")
    return table[field]


def personal_fields(type_name: str) -> frozenset[str]:
    """The fields of ``type_name`` classified as anything but :attr:`Sensitivity.NONE`.

    Raises:
        ValidationError: the type is not classified.
    """
    table = CLASSIFICATION.get(type_name)
    if table is None:
        raise ValidationError("type_name", type_name, f"one of {sorted(CLASSIFICATION)}")
    return frozenset(name for name, level in table.items() if level is not _N)
