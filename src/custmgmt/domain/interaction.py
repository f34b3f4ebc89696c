"""Interactions: everything a customer does besides ordering, with kind-specific data.

Each :class:`InteractionKind` may carry typed details: a review's rating and text, a
complaint's category, a search's query, a referral's referred customer. The details
must match the kind (a ``Review`` only on a ``review``), and the kinds that need
details (review, complaint, search, referral) must have them.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import attrs

from custmgmt.domain import _validate as v
from custmgmt.domain.masking import hide_text
from custmgmt.errors import ValidationError

__all__ = [
    "Complaint",
    "ComplaintCategory",
    "Interaction",
    "InteractionKind",
    "Referral",
    "Review",
    "Search",
]


class InteractionKind(enum.Enum):
    """What the customer did."""

    BROWSE = "browse"
    SEARCH = "search"
    FAVORITE = "favorite"
    CART = "cart"
    PURCHASE = "purchase"
    RETURN = "return"
    REVIEW = "review"
    INQUIRY = "inquiry"
    COMPLAINT = "complaint"
    FEEDBACK = "feedback"
    REFERRAL = "referral"
    SHARE = "share"
    FOLLOW = "follow"


class ComplaintCategory(enum.Enum):
    """Why a customer complained; service tickets use the same classification."""

    PRODUCT_QUALITY = "product_quality"
    LOGISTICS = "logistics"
    AFTER_SALES = "after_sales"
    PRICE = "price"
    SERVICE = "service"
    OTHER = "other"


def _to_kind(value: Any) -> InteractionKind:
    return v.coerce_enum(InteractionKind, value, "Interaction.kind")


def _to_complaint_category(value: Any) -> ComplaintCategory:
    return v.coerce_enum(ComplaintCategory, value, "Complaint.category")


def _check_rating(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 5:
        raise ValidationError(
            v.field_name(instance, attribute), value, "an integer rating from 1 to 5"
        )


@attrs.frozen(kw_only=True)
class Review:
    """A product or service review: a 1–5 rating and optional text (its repr shows
    only the text's length: reviews name people and quote phone numbers)."""

    rating: int = attrs.field(validator=_check_rating)
    text: str | None = attrs.field(
        default=None, validator=v.text(optional=True, blank_ok=True), repr=hide_text
    )


@attrs.frozen(kw_only=True)
class Complaint:
    """A complaint: its category, text, and whether it has been resolved (its repr
    shows only the text's length)."""

    category: ComplaintCategory = attrs.field(converter=_to_complaint_category)
    text: str | None = attrs.field(
        default=None, validator=v.text(optional=True, blank_ok=True), repr=hide_text
    )
    resolved: bool = attrs.field(default=False, validator=v.instance_of(bool, "True or False"))


@attrs.frozen(kw_only=True)
class Search:
    """A search: the query as typed."""

    query: str = attrs.field(validator=v.text(max_length=1000))


@attrs.frozen(kw_only=True)
class Referral:
    """A referral: the customer who was referred."""

    referred_customer_id: str = attrs.field(validator=v.an_id)


Details = Review | Complaint | Search | Referral

_DETAILS_FOR: dict[InteractionKind, type[Any]] = {
    InteractionKind.REVIEW: Review,
    InteractionKind.COMPLAINT: Complaint,
    InteractionKind.SEARCH: Search,
    InteractionKind.REFERRAL: Referral,
}


@attrs.frozen(kw_only=True)
class Interaction:
    """One thing a customer did, at a moment, on a channel.

    Attributes:
        id: the host's id for the event.
        customer_id: who did it.
        kind: what they did.
        at: when (aware).
        channel: where (``"app"``, ``"web"``, ``"phone"``, ``"微信"``).
        order_id: the order it concerns, if any (purchase, return, review, complaint).
        sku: the product it concerns, if any (browse, favorite, cart, review).
        details: kind-specific data; required for review, complaint, search and referral.
        version: optimistic-concurrency version, 1 for a new interaction.
    """

    id: str = attrs.field(validator=v.an_id)
    customer_id: str = attrs.field(validator=v.an_id)
    kind: InteractionKind = attrs.field(converter=_to_kind)
    at: datetime = attrs.field(validator=v.aware_datetime())
    channel: str | None = attrs.field(default=None, validator=v.text(optional=True, max_length=100))
    order_id: str | None = attrs.field(default=None, validator=v.optional_id)
    sku: str | None = attrs.field(default=None, validator=v.optional_id)
    details: Details | None = attrs.field(default=None)
    version: int = attrs.field(default=1, validator=v.version)

    @details.validator
    def _check_details(self, attribute: attrs.Attribute[Any], value: Any) -> None:
        expected = _DETAILS_FOR.get(self.kind)
        if expected is None:
            if value is not None:
                raise ValidationError(
                    "Interaction.details", value, f"None for a {self.kind.value!r}"
                )
        elif not isinstance(value, expected):
            raise ValidationError(
                "Interaction.details", value, f"a {expected.__name__} for a {self.kind.value!r}"
            )

    @property
    def rating(self) -> int | None:
        """A review's rating, else None."""
        return self.details.rating if isinstance(self.details, Review) else None

    def resolve_complaint(self) -> Interaction:
        """A copy of a complaint marked resolved.

        Raises:
            ValidationError: this is not a complaint.
        """
        if not isinstance(self.details, Complaint):
            raise ValidationError("Interaction.kind", self.kind.value, "a complaint")
        return attrs.evolve(
            self, details=attrs.evolve(self.details, resolved=True), version=self.version + 1
        )
