"""What a campaign run leaves behind: one decision per customer, and the suppression list."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import attrs

from custmgmt.campaigns.audience import SendReason
from custmgmt.domain import ContactChannel
from custmgmt.domain import _validate as v
from custmgmt.domain.masking import hide_text
from custmgmt.errors import ValidationError

__all__ = ["SendDecision", "Suppression", "SuppressionReason"]


def _reason(value: Any) -> SendReason:
    return v.coerce_enum(SendReason, value, "SendDecision.reason")


def _channel(value: Any) -> ContactChannel:
    return v.coerce_enum(ContactChannel, value, "SendDecision.channel")


@attrs.frozen(kw_only=True)
class SendDecision:
    """The decision for one customer of one campaign, with its reason.

    Attributes:
        campaign_id: the campaign.
        customer_id: the customer.
        reason: sent, held for quiet hours, holdout, or why they were dropped.
        channel: the campaign's channel.
        decided_at: when the audience was built.
        send_at: when the message goes (sent: ``decided_at``; held: the end of the
            quiet window); None for holdout and dropped customers.
        offer_index: the campaign offer the customer got (None: no message).
        message_id: the notifier's id for the message (None: no message).
    """

    campaign_id: str = attrs.field(validator=v.an_id)
    customer_id: str = attrs.field(validator=v.an_id)
    reason: SendReason = attrs.field(converter=_reason)
    channel: ContactChannel = attrs.field(converter=_channel)
    decided_at: datetime = attrs.field(validator=v.aware_datetime())
    send_at: datetime | None = attrs.field(default=None, validator=v.aware_datetime(optional=True))
    offer_index: int | None = attrs.field(default=None)
    message_id: str | None = attrs.field(default=None, validator=v.optional_id)

    def __attrs_post_init__(self) -> None:
        if self.reason.treated != (self.send_at is not None):
            raise ValidationError(
                "SendDecision.send_at", self.send_at,
                "a time for a sent or held message, None otherwise",
            )
        if self.send_at is not None and self.send_at < self.decided_at:
            raise ValidationError("SendDecision.send_at", self.send_at, "not before decided_at")
        if self.offer_index is not None:
            v.check_count("SendDecision.offer_index", self.offer_index)
            if not self.reason.treated:
                raise ValidationError(
                    "SendDecision.offer_index", self.offer_index, "None without a message"
                )

    @property
    def group(self) -> str | None:
        """``"treated"``, ``"holdout"``, or None for a dropped customer."""
        if self.reason.treated:
            return "treated"
        return "holdout" if self.reason is SendReason.HOLDOUT else None


class SuppressionReason(enum.Enum):
    """Why a customer is on the suppression list."""

    RESTRICTED = "restricted"
    BLACKLISTED = "blacklisted"
    ERASED = "erased"
    UNSUBSCRIBED = "unsubscribed"


def _supp_reason(value: Any) -> SuppressionReason:
    return v.coerce_enum(SuppressionReason, value, "Suppression.reason")


@attrs.frozen(kw_only=True)
class Suppression:
    """A customer no campaign may contact, and why.

    Attributes:
        customer_id: the customer.
        reason: restricted, blacklisted, erased or unsubscribed.
        at: since when.
        note: free text (who asked, the ticket ...); hidden in ``repr``.
    """

    customer_id: str = attrs.field(validator=v.an_id)
    reason: SuppressionReason = attrs.field(converter=_supp_reason)
    at: datetime = attrs.field(validator=v.aware_datetime())
    note: str = attrs.field(default="", validator=v.text(max_length=500, blank_ok=True),
                            repr=hide_text)
