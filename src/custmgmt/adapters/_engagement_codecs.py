"""Campaigns, offers, draws and follow-up plans as plain JSON-able dicts, for any backend.

Instants are ISO 8601 with their UTC offset (a zone name becomes its offset at that
instant: the same moment, equal on reading); money is ``[decimal text, currency]``;
the audience rule uses :meth:`Rule.to_dict <custmgmt.segmentation.rules.Rule.to_dict>`.
Reading rebuilds every value through its validating constructor.
"""

from __future__ import annotations

from datetime import datetime, time
from decimal import Decimal
from typing import Any

from custmgmt.campaigns.campaign import Campaign, FrequencyCap, Offer, QuietHours
from custmgmt.campaigns.draws import DrawRecord
from custmgmt.domain import Money
from custmgmt.followup.plan import Approval, FollowUpPlan
from custmgmt.segmentation.rules import rule_from_dict

__all__ = [
    "campaign_from_dict",
    "campaign_to_dict",
    "draw_from_dict",
    "draw_to_dict",
    "plan_from_dict",
    "plan_to_dict",
]


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _when(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _money(value: Money | None) -> list[str] | None:
    return None if value is None else [str(value.amount), value.currency]


def _to_money(value: list[str] | None) -> Money | None:
    return None if value is None else Money(Decimal(value[0]), value[1])


def _cost(value: list[str]) -> Money:
    return Money(Decimal(value[0]), value[1])


def _offer_to_dict(offer: Offer) -> dict[str, Any]:
    return {
        "kind": offer.kind.value, "valid_from": _iso(offer.valid_from),
        "valid_until": _iso(offer.valid_until), "unit_cost": _money(offer.unit_cost),
        "description": offer.description, "for_customers": offer.for_customers.value,
        "amount": _money(offer.amount),
        "percent": None if offer.percent is None else str(offer.percent),
        "points": offer.points, "gift": offer.gift, "friend_amount": _money(offer.friend_amount),
    }


def _offer_from_dict(data: dict[str, Any]) -> Offer:
    return Offer(
        kind=data["kind"], valid_from=_at(data["valid_from"]),
        valid_until=_at(data["valid_until"]), unit_cost=_cost(data["unit_cost"]),
        description=data["description"], for_customers=data["for_customers"],
        amount=_to_money(data["amount"]),
        percent=None if data["percent"] is None else Decimal(data["percent"]),
        points=data["points"], gift=data["gift"], friend_amount=_to_money(data["friend_amount"]),
    )


def campaign_to_dict(campaign: Campaign) -> dict[str, Any]:
    """A campaign as plain data."""
    cap = campaign.frequency_cap
    quiet = campaign.quiet_hours
    return {
        "id": campaign.id, "name": campaign.name, "channel": campaign.channel.value,
        "audience": campaign.audience.to_dict(),
        "offers": [_offer_to_dict(o) for o in campaign.offers], "template": campaign.template,
        "starts_at": _iso(campaign.starts_at), "ends_at": _iso(campaign.ends_at),
        "created_at": _iso(campaign.created_at), "attribution_days": campaign.attribution_days,
        "holdout_share": campaign.holdout_share, "salt": campaign.salt,
        "kind": campaign.kind.value,
        "frequency_cap": None if cap is None else [cap.messages, cap.window_days],
        "quiet_hours": None if quiet is None else [quiet.start.isoformat(), quiet.end.isoformat()],
        "timezone": campaign.timezone, "created_by": campaign.created_by,
        "ran_at": _iso(campaign.ran_at), "version": campaign.version,
    }


def campaign_from_dict(data: dict[str, Any]) -> Campaign:
    """The campaign :func:`campaign_to_dict` wrote."""
    cap = data["frequency_cap"]
    quiet = data["quiet_hours"]
    return Campaign(
        id=data["id"], name=data["name"], channel=data["channel"],
        audience=rule_from_dict(data["audience"]),
        offers=tuple(_offer_from_dict(o) for o in data["offers"]), template=data["template"],
        starts_at=_at(data["starts_at"]), ends_at=_at(data["ends_at"]),
        created_at=_at(data["created_at"]), attribution_days=data["attribution_days"],
        holdout_share=data["holdout_share"], salt=data["salt"], kind=data["kind"],
        frequency_cap=None if cap is None else FrequencyCap(messages=cap[0], window_days=cap[1]),
        quiet_hours=None if quiet is None else QuietHours(
            start=time.fromisoformat(quiet[0]), end=time.fromisoformat(quiet[1])
        ),
        timezone=data["timezone"], created_by=data["created_by"], ran_at=_when(data["ran_at"]),
        version=data["version"],
    )


def draw_to_dict(draw: DrawRecord) -> dict[str, Any]:
    """A draw record as plain data."""
    return {
        "id": draw.id, "campaign_id": draw.campaign_id, "seed": draw.seed,
        "entrants": list(draw.entrants), "winners": list(draw.winners), "prize": draw.prize,
        "at": _iso(draw.at), "algorithm": draw.algorithm, "digest": draw.digest,
    }


def draw_from_dict(data: dict[str, Any]) -> DrawRecord:
    """The draw record :func:`draw_to_dict` wrote."""
    return DrawRecord(
        id=data["id"], campaign_id=data["campaign_id"], seed=data["seed"],
        entrants=tuple(data["entrants"]), winners=tuple(data["winners"]), prize=data["prize"],
        at=_at(data["at"]), algorithm=data["algorithm"], digest=data["digest"],
    )


def plan_to_dict(plan: FollowUpPlan) -> dict[str, Any]:
    """A follow-up plan as plain data."""
    approval = plan.approval
    return {
        "id": plan.id, "customer_id": plan.customer_id, "segment": plan.segment,
        "cadence": plan.cadence, "timezone": plan.timezone, "starts_at": _iso(plan.starts_at),
        "ends_at": _iso(plan.ends_at), "channel": plan.channel, "owner": plan.owner,
        "goal": plan.goal, "content": plan.content, "created_at": _iso(plan.created_at),
        "created_by": plan.created_by, "requires_approval": plan.requires_approval,
        "approver": plan.approver, "status": plan.status.value,
        "approval": None if approval is None else {
            "by": approval.by, "at": _iso(approval.at), "note": approval.note,
        },
        "version": plan.version,
    }


def plan_from_dict(data: dict[str, Any]) -> FollowUpPlan:
    """The plan :func:`plan_to_dict` wrote."""
    approval = data["approval"]
    return FollowUpPlan(
        id=data["id"], customer_id=data["customer_id"], segment=data["segment"],
        cadence=data["cadence"], timezone=data["timezone"], starts_at=_at(data["starts_at"]),
        ends_at=_when(data["ends_at"]), channel=data["channel"], owner=data["owner"],
        goal=data["goal"], content=data["content"], created_at=_at(data["created_at"]),
        created_by=data["created_by"], requires_approval=data["requires_approval"],
        approver=data["approver"], status=data["status"],
        approval=None if approval is None else Approval(
            by=approval["by"], at=_at(approval["at"]), note=approval["note"]
        ),
        version=data["version"],
    )
