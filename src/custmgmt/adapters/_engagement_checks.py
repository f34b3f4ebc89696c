"""Argument checks the campaign and follow-up adapters share (every backend the same)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from custmgmt.campaigns.campaign import Campaign
from custmgmt.campaigns.draws import DrawRecord
from custmgmt.campaigns.records import SendDecision, Suppression
from custmgmt.errors import ValidationError
from custmgmt.followup.plan import ContactRecord, FollowUpPlan

__all__ = [
    "check_campaign",
    "check_contact",
    "check_decisions",
    "check_draw",
    "check_plan",
    "check_suppression",
]


def _check(name: str, value: Any, kind: type[Any]) -> None:
    if not isinstance(value, kind):
        raise ValidationError(name, value, f"a {kind.__name__}")


def check_campaign(campaign: Any) -> None:
    """Refuse anything but a Campaign."""
    _check("campaign", campaign, Campaign)


def check_draw(draw: Any) -> None:
    """Refuse anything but a DrawRecord."""
    _check("draw", draw, DrawRecord)


def check_suppression(suppression: Any) -> None:
    """Refuse anything but a Suppression."""
    _check("suppression", suppression, Suppression)


def check_decisions(decisions: Any) -> list[SendDecision]:
    """A list of SendDecision, or a ValidationError naming the first bad item."""
    if isinstance(decisions, str | bytes) or not isinstance(decisions, Sequence | list | tuple):
        try:
            decisions = list(decisions)
        except TypeError:
            raise ValidationError("decisions", decisions, "a sequence of SendDecision") from None
    batch = list(decisions)
    for item in batch:
        _check("decisions[]", item, SendDecision)
    return batch


def check_plan(plan: Any) -> None:
    """Refuse anything but a FollowUpPlan."""
    _check("plan", plan, FollowUpPlan)


def check_contact(record: Any) -> None:
    """Refuse anything but a ContactRecord."""
    _check("contact", record, ContactRecord)
