"""The prospect: a potential customer moving through a development pipeline.

A :class:`Prospect` is a person or a business the sales or service team may develop
into a customer. It carries what was collected about it (source channel, interests,
estimated value, free-form information), the stage it stands in and the append-only
:attr:`Prospect.history` of its stage changes (who, when, why, approved by whom).
Stage changes go through a :class:`~custmgmt.prospects.pipeline.Pipeline`; this
module only keeps the record consistent: a history that starts with the creation,
never runs backwards in time and whose entries continue each other.

Contacts (calls, visits, standing arrangements) and investigation reports are
separate records (:class:`ContactRecord`, :class:`InvestigationReport`) that name the
prospect, so a prospect stays small however long its development takes.

>>> from datetime import datetime, timezone
>>> p = Prospect.new(id="P-1", name="杭州某某贸易有限公司", kind="business",
...     source="展会", owner="sales-1", stage="lead",
...     at=datetime(2026, 3, 2, 9, tzinfo=timezone.utc), actor="sales-1")
>>> p.stage, p.version, len(p.history)
('lead', 1, 1)
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import attrs

from custmgmt.domain import _validate as v
from custmgmt.domain.masking import mask_text
from custmgmt.domain.money import Money
from custmgmt.errors import ValidationError

__all__ = [
    "ContactKind",
    "ContactRecord",
    "CreditGrade",
    "InvestigationReport",
    "Prospect",
    "ProspectKind",
    "Recommendation",
    "StageChange",
    "check_stage_name",
]


class ProspectKind(enum.Enum):
    """Whether the prospect is a person or a business."""

    PERSON = "person"
    BUSINESS = "business"


class ContactKind(enum.Enum):
    """How a prospect was contacted (the manuals' three ways, and a message)."""

    CALL = "call"
    VISIT = "visit"
    STANDING = "standing"
    """A standing arrangement: a regular contact agreed with the prospect."""
    MESSAGE = "message"


class CreditGrade(enum.Enum):
    """The credit situation an investigation found."""

    GOOD = "good"
    FAIR = "fair"
    POOR = "poor"
    UNKNOWN = "unknown"


class Recommendation(enum.Enum):
    """What an investigation report recommends."""

    DEVELOP = "develop"
    WAIT = "wait"
    DECLINE = "decline"


def _stage_name(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    check_stage_name(v.field_name(instance, attribute), value)


def _optional_stage_name(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None:
        check_stage_name(v.field_name(instance, attribute), value)


def check_stage_name(name: str, value: Any) -> str:
    """Refuse anything but a stage name: 1-60 lowercase letters, digits and ``_``."""
    if (
        not isinstance(value, str)
        or not 1 <= len(value) <= 60
        or not all(c.isascii() and (c.islower() or c.isdigit() or c == "_") for c in value)
        or not value[0].isalpha()
    ):
        raise ValidationError(
            name, value, "a stage name: 1-60 lowercase ASCII letters, digits or '_', "
            "starting with a letter",
        )
    return value


def _approvers(value: Any) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValidationError("StageChange.approved_by", value, "a sequence of person ids")
    names = tuple(value)
    for name in names:
        v.check_id("StageChange.approved_by", name)
    if len(set(names)) != len(names):
        raise ValidationError("StageChange.approved_by", names, "each approver once")
    return names


@attrs.frozen(kw_only=True)
class StageChange:
    """One entry of a prospect's history.

    Attributes:
        at: when (aware).
        from_stage: the stage before (None only for the creation).
        to_stage: the stage after.
        actor: who moved it (the requester, for a move that needs approval).
        note: why, free text (a lost prospect's reason).
        approved_by: who approved the move, one person per approval level.
    """

    at: datetime = attrs.field(validator=v.aware_datetime())
    from_stage: str | None = attrs.field(validator=_optional_stage_name)
    to_stage: str = attrs.field(validator=_stage_name)
    actor: str = attrs.field(validator=v.an_id)
    note: str = attrs.field(default="", validator=v.text(blank_ok=True, max_length=2000))
    approved_by: tuple[str, ...] = attrs.field(default=(), converter=_approvers)


def _kind(value: Any) -> ProspectKind:
    return v.coerce_enum(ProspectKind, value, "Prospect.kind")


def _interests(value: Any) -> frozenset[str]:
    return v.text_set(value, "Prospect.interests")


#: Control characters other than tab and line breaks (the collected texts may be notes).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _info(value: Any) -> tuple[tuple[str, str], ...]:
    if isinstance(value, Mapping):
        items = list(value.items())
    elif isinstance(value, str) or not isinstance(value, Iterable):
        raise ValidationError("Prospect.info", value, "a mapping of topic to text")
    else:
        items = list(value)
    pairs: list[tuple[str, str]] = []
    for item in items:
        if not isinstance(item, tuple) or len(item) != 2:
            raise ValidationError("Prospect.info", item, "(topic, text) pairs")
        key, text = item
        if (not isinstance(key, str) or not key.strip() or len(key) > 100
                or _CONTROL.search(key)):
            raise ValidationError("Prospect.info", key,
                                  "a non-blank topic of at most 100 characters, without "
                                  "control characters")
        # The collected texts are personal data (phones, addresses): errors mask them.
        if not isinstance(text, str):
            raise ValidationError(f"Prospect.info[{key!r}]", type(text).__name__, "a string")
        if len(text) > 4000 or _CONTROL.search(text):
            raise ValidationError(f"Prospect.info[{key!r}]", mask_text(text),
                                  "text of at most 4000 characters, without control "
                                  "characters")
        v.check_unicode(f"Prospect.info[{key!r}]", text, shown=mask_text(text))
        v.check_unicode("Prospect.info", key)
        pairs.append((key, text))
    if len({k for k, _ in pairs}) != len(pairs):
        raise ValidationError("Prospect.info", [k for k, _ in pairs], "each topic once")
    return tuple(sorted(pairs))


def _history(value: Any) -> tuple[StageChange, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValidationError("Prospect.history", value, "a sequence of StageChange")
    entries = tuple(value)
    for i, entry in enumerate(entries):
        if not isinstance(entry, StageChange):
            raise ValidationError(f"Prospect.history[{i}]", entry, "a StageChange")
    return entries


def _money(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, Money) or value.amount < 0:
        raise ValidationError(
            v.field_name(instance, attribute), value, "a Money amount >= 0, or None"
        )


@attrs.frozen(kw_only=True)
class Prospect:
    """A potential customer, its collected information and its development history.

    Build one with :meth:`new`; move it with
    :meth:`Pipeline.move <custmgmt.prospects.pipeline.Pipeline.move>`; change its
    information with :meth:`revised`. Every change returns a copy with ``version``
    bumped. The name and the collected information are personal data: ``repr()``
    masks them.

    Attributes:
        id: the prospect id.
        kind: person or business.
        name: the person's or business's name, any script.
        source: the channel it came from (``"展会"``, ``"referral"``, ``"store:cart"``).
        owner: the person developing it (a sales or service agent id).
        interests: what it is interested in (product lines, services).
        estimated_value: the expected yearly value, if estimated.
        info: what was collected, as sorted ``(topic, text)`` pairs.
        stage: the current stage; always the last history entry's ``to_stage``.
        created_at: when it was recorded; the first history entry's ``at``.
        history: the stage changes, oldest first, starting with the creation.
        lost_reason: why it was lost (the note of the move into a lost stage).
        customer_id: the customer it became or already is (linked on conversion, or
            found as a lead among the store's customers).
        version: optimistic-concurrency version, 1 for a new prospect.

    Raises:
        ValidationError: for a bad field, or a history that could not have happened.
    """

    id: str = attrs.field(validator=v.an_id)
    kind: ProspectKind = attrs.field(converter=_kind)
    name: str = attrs.field(validator=v.text(max_length=200, mask=mask_text),
                            repr=lambda s: mask_text(s))
    source: str = attrs.field(validator=v.text(max_length=100))
    owner: str = attrs.field(validator=v.an_id)
    interests: frozenset[str] = attrs.field(factory=frozenset, converter=_interests)
    estimated_value: Money | None = attrs.field(default=None, validator=_money)
    info: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=_info,
                                                   repr=lambda i: f"<{len(i)} topics>")
    stage: str = attrs.field(validator=_stage_name)
    created_at: datetime = attrs.field(validator=v.aware_datetime())
    history: tuple[StageChange, ...] = attrs.field(converter=_history)
    lost_reason: str | None = attrs.field(default=None, validator=v.text(optional=True,
                                                                         max_length=2000))
    customer_id: str | None = attrs.field(default=None, validator=v.optional_id)
    version: int = attrs.field(default=1, validator=v.version)

    def __attrs_post_init__(self) -> None:
        history = self.history
        if not history:
            raise ValidationError("Prospect.history", history, "at least the creation entry")
        first = history[0]
        if first.from_stage is not None or first.at != self.created_at:
            raise ValidationError(
                "Prospect.history[0]", first,
                "the creation: from_stage None, at equal to created_at",
            )
        for i in range(1, len(history)):
            before, entry = history[i - 1], history[i]
            if entry.from_stage != before.to_stage:
                raise ValidationError(
                    f"Prospect.history[{i}].from_stage", entry.from_stage,
                    f"the previous entry's to_stage {before.to_stage!r}",
                )
            if entry.at < before.at:
                raise ValidationError(
                    f"Prospect.history[{i}].at", entry.at,
                    f"a time at or after the previous entry ({before.at.isoformat()})",
                )
        if history[-1].to_stage != self.stage:
            raise ValidationError(
                "Prospect.stage", self.stage,
                f"the last history entry's to_stage {history[-1].to_stage!r}",
            )

    @classmethod
    def new(
        cls,
        *,
        id: str,
        name: str,
        source: str,
        owner: str,
        stage: str,
        at: datetime,
        actor: str,
        kind: ProspectKind | str = ProspectKind.PERSON,
        interests: Iterable[str] = (),
        estimated_value: Money | None = None,
        info: Mapping[str, str] | Iterable[tuple[str, str]] = (),
        customer_id: str | None = None,
        note: str = "",
    ) -> Prospect:
        """A new prospect in ``stage`` (a pipeline's initial stage), version 1.

        Raises:
            ValidationError: for a bad field.
        """
        v.check_aware("at", at)
        created = StageChange(at=at, from_stage=None, to_stage=stage, actor=actor, note=note)
        return cls(
            id=id, kind=kind, name=name, source=source, owner=owner, interests=interests,
            estimated_value=estimated_value, info=info, stage=stage, created_at=at,
            history=(created,), customer_id=customer_id,
        )

    @property
    def updated_at(self) -> datetime:
        """When the stage last changed (the last history entry)."""
        return self.history[-1].at

    @property
    def info_dict(self) -> dict[str, str]:
        """The collected information as a dict."""
        return dict(self.info)

    def stage_entered_at(self, stage: str) -> datetime | None:
        """When the prospect first entered ``stage``, or None if it never did."""
        for entry in self.history:
            if entry.to_stage == stage:
                return entry.at
        return None

    def moved(self, change: StageChange, *, lost_reason: str | None = None) -> Prospect:
        """A copy with ``change`` appended (the pipeline checks the move; use it).

        Raises:
            ValidationError: ``change`` does not continue the history.
        """
        if not isinstance(change, StageChange):
            raise ValidationError("change", change, "a StageChange")
        return attrs.evolve(
            self, stage=change.to_stage, history=(*self.history, change),
            lost_reason=lost_reason, version=self.version + 1,
        )

    def revised(self, **changes: Any) -> Prospect:
        """A copy with collected information changed, version bumped.

        Only ``name``, ``kind``, ``source``, ``owner``, ``interests``,
        ``estimated_value``, ``info`` and ``customer_id`` may change; the stage and
        history change only through a pipeline.

        Raises:
            ValidationError: another field is named, or a value is bad.
        """
        allowed = {"name", "kind", "source", "owner", "interests", "estimated_value",
                   "info", "customer_id"}
        for key in changes:
            if key not in allowed:
                raise ValidationError(key, changes[key], f"one of {sorted(allowed)}")
        return attrs.evolve(self, **changes, version=self.version + 1)


def _contact_kind(value: Any) -> ContactKind:
    return v.coerce_enum(ContactKind, value, "ContactRecord.kind")


@attrs.frozen(kw_only=True)
class ContactRecord:
    """A call, visit, standing arrangement or message with a prospect (the visit record).

    Attributes:
        id: the record id.
        prospect_id: whom it was with.
        kind: how.
        at: when (aware).
        actor: who made the contact.
        summary: what was said or seen.
        outcome: what came of it (may be empty).
        next_step: what was agreed next (may be empty).
        campaign_id: the marketing campaign the contact belongs to, if any.
    """

    id: str = attrs.field(validator=v.an_id)
    prospect_id: str = attrs.field(validator=v.an_id)
    kind: ContactKind = attrs.field(converter=_contact_kind)
    at: datetime = attrs.field(validator=v.aware_datetime())
    actor: str = attrs.field(validator=v.an_id)
    summary: str = attrs.field(validator=v.text(max_length=4000))
    outcome: str = attrs.field(default="", validator=v.text(blank_ok=True, max_length=2000))
    next_step: str = attrs.field(default="", validator=v.text(blank_ok=True, max_length=2000))
    campaign_id: str | None = attrs.field(default=None, validator=v.optional_id)


def _grade(value: Any) -> CreditGrade:
    return v.coerce_enum(CreditGrade, value, "InvestigationReport.credit")


def _recommendation(value: Any) -> Recommendation:
    return v.coerce_enum(Recommendation, value, "InvestigationReport.recommendation")


def _employees(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None:
        v.check_count("InvestigationReport.employees", value)


def _risks(value: Any) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValidationError("InvestigationReport.risks", value, "a sequence of texts")
    items = tuple(value)
    for item in items:
        if not isinstance(item, str) or not item.strip() or len(item) > 500:
            raise ValidationError("InvestigationReport.risks", item,
                                  "non-blank texts of at most 500 characters")
        v.check_unicode("InvestigationReport.risks", item)
    return items


@attrs.frozen(kw_only=True)
class InvestigationReport:
    """The report of a prospect's investigation: credit and business situation.

    Attributes:
        id: the report id.
        prospect_id: whom it is about.
        at: when it was filed (aware).
        author: who investigated.
        credit: the credit situation found.
        business_situation: the business situation, free text.
        annual_revenue: the revenue found, if any.
        employees: the head count found, if any.
        risks: the risks noted.
        recommendation: develop, wait or decline.
    """

    id: str = attrs.field(validator=v.an_id)
    prospect_id: str = attrs.field(validator=v.an_id)
    at: datetime = attrs.field(validator=v.aware_datetime())
    author: str = attrs.field(validator=v.an_id)
    credit: CreditGrade = attrs.field(converter=_grade)
    business_situation: str = attrs.field(validator=v.text(max_length=4000))
    annual_revenue: Money | None = attrs.field(default=None, validator=_money)
    employees: int | None = attrs.field(default=None, validator=_employees)
    risks: tuple[str, ...] = attrs.field(default=(), converter=_risks)
    recommendation: Recommendation = attrs.field(converter=_recommendation)

