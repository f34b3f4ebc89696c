"""Follow-up plans, their approval, and the contact records staff keep.

A :class:`FollowUpPlan` is for one customer or for a segment's members: a cadence
(an RFC 5545 ``RRULE`` read with :mod:`dateutil.rrule`, in the wall-clock time of the
plan's time zone, the customer's or the business's), a channel, an owner, a goal and
the content. A plan for a key customer (as an :class:`ApprovalPolicy` defines: star
level or segment) names an approver from the policy's list and waits for that
person's :class:`Approval` before it is active; everything else is active at once.

Occurrences are wall-clock times: ``FREQ=WEEKLY;BYDAY=MO;BYHOUR=10`` is Monday 10:00
in the plan's zone in winter and in summer. A wall time that a daylight-saving change
skips is taken at the offset before the change (``fold=0``, Python's rule).

>>> from datetime import datetime, timezone, timedelta
>>> cst = timezone(timedelta(hours=8))
>>> plan = FollowUpPlan(id="P-1", customer_id="C-1",
...     cadence="FREQ=WEEKLY;BYDAY=MO;BYHOUR=10;BYMINUTE=0", timezone="Asia/Shanghai",
...     starts_at=datetime(2026, 6, 1, tzinfo=cst), channel="phone", owner="客服-王",
...     goal="复购", content="回访使用体验", created_at=datetime(2026, 5, 30, tzinfo=cst),
...     created_by="客服-王")
>>> until = datetime(2026, 6, 16, tzinfo=cst)
>>> [f"{t:%Y-%m-%d %H:%M %a}" for t in plan.occurrences(plan.starts_at, until)]
['2026-06-01 10:00 Mon', '2026-06-08 10:00 Mon', '2026-06-15 10:00 Mon']
"""

from __future__ import annotations

import enum
import re
from collections.abc import Collection
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

import attrs
from dateutil.rrule import DAILY, HOURLY, WEEKLY, YEARLY, rrule, rrulestr

from custmgmt.campaigns._zones import zone
from custmgmt.domain import _validate as v
from custmgmt.domain.masking import hide_text
from custmgmt.errors import PermissionDenied, TransitionNotAllowed, ValidationError

__all__ = [
    "MAX_OCCURRENCES",
    "Approval",
    "ApprovalPolicy",
    "ContactOutcome",
    "ContactRecord",
    "FollowUpPlan",
    "PlanStatus",
    "parse_cadence",
]

#: The most occurrences one plan lists in one window: a listing that would hold more
#: is refused rather than left to fill memory (a plan fires at most hourly, so this is
#: over eleven years of an hourly plan).
MAX_OCCURRENCES = 100_000

_SUB_HOURLY = re.compile(r"(?:^|;)\s*FREQ\s*=\s*(?:SECONDLY|MINUTELY)\s*(?:;|$)", re.IGNORECASE)


class PlanStatus(enum.Enum):
    """Where a plan is: waiting for approval, active, paused or ended."""

    PENDING_APPROVAL = "pending_approval"
    ACTIVE = "active"
    PAUSED = "paused"
    ENDED = "ended"


class ContactOutcome(enum.Enum):
    """What came of one contact."""

    REACHED = "reached"
    NO_ANSWER = "no_answer"
    DECLINED = "declined"
    PURCHASED = "purchased"
    RESCHEDULED = "rescheduled"
    COMPLAINT = "complaint"


@attrs.frozen(kw_only=True)
class Approval:
    """Who approved a plan, when, and with what note."""

    by: str = attrs.field(validator=v.text(max_length=200))
    at: datetime = attrs.field(validator=v.aware_datetime())
    note: str = attrs.field(default="", validator=v.text(max_length=1000, blank_ok=True))


def parse_cadence(cadence: str, start_local: datetime) -> rrule:
    """The cadence as a dateutil rule starting at ``start_local`` (naive wall time).

    Raises:
        ValidationError: not an RRULE, or one that never fires from the start on.
    """
    if not isinstance(cadence, str) or not cadence.strip():
        raise ValidationError("FollowUpPlan.cadence", cadence, "an RRULE like 'FREQ=WEEKLY'")
    text = cadence.strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    if "DTSTART" in text.upper() or "\n" in text:
        raise ValidationError(
            "FollowUpPlan.cadence", cadence, "one RRULE without DTSTART (starts_at gives it)"
        )
    if _SUB_HOURLY.search(text):
        raise ValidationError(
            "FollowUpPlan.cadence", cadence, "a cadence of at most one follow-up an hour "
            "(FREQ=HOURLY, DAILY, WEEKLY, MONTHLY or YEARLY)"
        )
    try:
        rule = rrulestr(text, dtstart=start_local)
    except (ValueError, TypeError, OverflowError) as exc:
        raise ValidationError("FollowUpPlan.cadence", cadence, f"a valid RRULE ({exc})") from None
    if not isinstance(rule, rrule):  # pragma: no cover - one RRULE gives one rule
        raise ValidationError("FollowUpPlan.cadence", cadence, "a single RRULE")
    if _never_fires(rule, start_local):
        raise ValidationError(
            "FollowUpPlan.cadence", cadence, "a cadence that fires at least once from starts_at"
        )
    return rule


def _never_fires(rule: rrule, start: datetime) -> bool:
    # dateutil walks an impossible rule (30 February) period by period up to year 9999,
    # which takes seconds for a daily or hourly rule. A yearly probe with the same BY*
    # parts finds the same calendar days in a few hundred yearly steps; only when it
    # fires is the rule itself asked for its first occurrence.
    try:
        probe = rule.replace(freq=YEARLY, interval=1, count=None, until=None)
        if probe.after(start, inc=True) is None:
            return True
        return rule.after(start, inc=True) is None
    except (ValueError, OverflowError):
        return True


def _wall_shift(wall: datetime, days: int) -> datetime:
    """A naive wall time moved by ``days``, held at the calendar's ends."""
    try:
        return wall + timedelta(days=days)
    except OverflowError:
        return datetime.max if days > 0 else datetime.min


def _instant(moment: datetime) -> timedelta:
    """``moment`` as a point on one time line (time since 0001-01-01 00:00 UTC).

    Aware datetimes that share a ``tzinfo`` compare by their wall times, offset and
    fold ignored; this key compares true instants, and never overflows at the
    calendar's ends as ``astimezone(UTC)`` can.
    """
    offset = moment.utcoffset() or timedelta(0)
    return moment.replace(tzinfo=None) - datetime.min - offset


_PERIODS = {HOURLY: timedelta(hours=1), DAILY: timedelta(days=1), WEEKLY: timedelta(weeks=1)}


def _rule_near(rule: rrule, wall: datetime) -> rrule:
    """``rule`` started whole periods later, at most a period or two before ``wall``.

    dateutil walks a rule from its start: asking an hourly plan of 2026 for a day in
    8999 stepped through sixty million hours first (minutes of work). Moving the start
    by whole multiples of ``INTERVAL`` periods keeps every occurrence from the new
    start on (the times and weekdays a rule takes from its start are the same), so
    the walk starts near ``wall``. A rule with ``COUNT`` counts from its own start,
    and monthly and yearly rules walk few periods: those are kept as they are.
    """
    freq, start = getattr(rule, "_freq", None), getattr(rule, "_dtstart", None)
    step = _PERIODS.get(freq) if isinstance(freq, int) else None
    if step is None or getattr(rule, "_count", None) is not None or start is None:
        return rule
    period = step * int(getattr(rule, "_interval", 1))
    if wall - start < 2 * period:
        return rule
    shifted: rrule = rule.replace(dtstart=start + ((wall - start) // period - 1) * period)
    return shifted


@lru_cache(maxsize=1024)
def _cached_rule(cadence: str, start_local: datetime) -> rrule:
    return parse_cadence(cadence, start_local)


def _check_channel(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    v.text(max_length=50)(instance, attribute, value)


def _status(value: Any) -> PlanStatus:
    return v.coerce_enum(PlanStatus, value, "FollowUpPlan.status")


def _check_zone(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    zone(value, v.field_name(instance, attribute))


@attrs.frozen(kw_only=True)
class FollowUpPlan:
    """A plan to keep in touch with one customer, or with each member of a segment.

    Attributes:
        id: the plan id.
        customer_id: the customer (or None for a segment plan).
        segment: the segment whose members are followed up (or None).
        cadence: an RRULE (``FREQ=MONTHLY;BYMONTHDAY=1;BYHOUR=10``) in wall time.
        timezone: the IANA zone of the wall time (customer's or business's).
        starts_at: the first moment the cadence may fire.
        ends_at: when the plan ends (None: open-ended).
        channel: how to get in touch (``"phone"``, ``"wechat"``, ``"visit"`` ...).
        owner: the member of staff responsible.
        goal: what the follow-up is for.
        content: what to say or do.
        created_at, created_by: when and by whom it was planned.
        requires_approval: whether it waits for an approval (a key customer).
        approver: who must approve it (required when ``requires_approval``).
        status: pending approval, active, paused or ended.
        approval: the recorded approval (None until approved).
        version: optimistic-concurrency version.
    """

    id: str = attrs.field(validator=v.an_id)
    cadence: str = attrs.field(validator=v.text(max_length=500))
    timezone: str = attrs.field(validator=_check_zone)
    starts_at: datetime = attrs.field(validator=v.aware_datetime())
    channel: str = attrs.field(validator=_check_channel)
    owner: str = attrs.field(validator=v.text(max_length=200))
    goal: str = attrs.field(validator=v.text(max_length=500))
    content: str = attrs.field(validator=v.text(max_length=4000), repr=hide_text)
    created_at: datetime = attrs.field(validator=v.aware_datetime())
    created_by: str = attrs.field(validator=v.text(max_length=200))
    customer_id: str | None = attrs.field(default=None, validator=v.optional_id)
    segment: str | None = attrs.field(
        default=None, validator=v.text(optional=True, max_length=200)
    )
    ends_at: datetime | None = attrs.field(default=None, validator=v.aware_datetime(optional=True))
    requires_approval: bool = attrs.field(
        default=False, validator=v.instance_of(bool, "True or False")
    )
    approver: str | None = attrs.field(
        default=None, validator=v.text(optional=True, max_length=200)
    )
    status: PlanStatus = attrs.field(default=PlanStatus.ACTIVE, converter=_status)
    approval: Approval | None = attrs.field(
        default=None, validator=v.instance_of(Approval, "an Approval or None", optional=True)
    )
    version: int = attrs.field(default=1, validator=v.version)

    def __attrs_post_init__(self) -> None:
        if (self.customer_id is None) == (self.segment is None):
            raise ValidationError(
                "FollowUpPlan.customer_id", self.customer_id, "a customer or a segment, not both"
            )
        if self.ends_at is not None and self.ends_at <= self.starts_at:
            raise ValidationError("FollowUpPlan.ends_at", self.ends_at, f"after {self.starts_at}")
        if self.requires_approval and self.approver is None:
            raise ValidationError(
                "FollowUpPlan.approver", None, "an approver: this plan needs approval"
            )
        if self.status is PlanStatus.ACTIVE and self.requires_approval and self.approval is None:
            raise ValidationError(
                "FollowUpPlan.status", self.status.value, "pending_approval until approved"
            )
        try:
            self.starts_at.astimezone(zone(self.timezone))
        except OverflowError:
            # 9999-12-31 23:00 UTC is already year 10000 in Shanghai: no wall time.
            raise ValidationError(
                "FollowUpPlan.starts_at", self.starts_at,
                f"a time whose wall-clock time in {self.timezone} is in the years 1..9999",
            ) from None
        rule = self._rule()
        if self.ends_at is not None:
            first = rule.after(self._local(self.starts_at), inc=True)
            if first is None or self._aware(first) >= self.ends_at:
                raise ValidationError(
                    "FollowUpPlan.cadence", self.cadence, "a cadence that fires before ends_at"
                )

    # -- time ------------------------------------------------------------------------
    def _local(self, moment: datetime) -> datetime:
        """``moment``'s naive wall time in the plan's zone, held at the calendar's ends
        (an instant in the last hours of year 9999 UTC is past them east of UTC)."""
        try:
            return moment.astimezone(zone(self.timezone)).replace(tzinfo=None)
        except OverflowError:
            return datetime.max if moment.year > 1 else datetime.min

    def _aware(self, wall: datetime) -> datetime:
        return wall.replace(tzinfo=zone(self.timezone))

    def _rule(self) -> rrule:
        return _cached_rule(self.cadence, self._local(self.starts_at))

    def occurrences(self, start: datetime, end: datetime) -> list[datetime]:
        """When the plan is due in ``[start, end)``, as aware times in its zone.

        Raises:
            ValidationError: naive bounds.
        """
        v.check_aware("start", start)
        v.check_aware("end", end)
        lo = max(start, self.starts_at, key=_instant)
        hi = end if self.ends_at is None else min(end, self.ends_at, key=_instant)
        if _instant(lo) >= _instant(hi):
            return []
        # Wall-clock bounds one day wider, then filtered on the true instants (offsets);
        # walked lazily, so that a window too long for the cadence is refused before
        # it fills memory.
        first, last = _wall_shift(self._local(lo), -1), _wall_shift(self._local(hi), 1)
        rule = _rule_near(self._rule(), first)
        found: list[datetime] = []
        lo_at, hi_at = _instant(lo), _instant(hi)
        for walked, wall in enumerate(rule.xafter(first, inc=True), start=1):
            if wall > last:
                break
            moment = self._aware(wall)
            # Compared as instants: same-zone comparisons ignore the offset and fold.
            if lo_at <= _instant(moment) < hi_at:
                found.append(moment)
            if len(found) > MAX_OCCURRENCES or walked > 2 * MAX_OCCURRENCES:
                raise ValidationError(
                    "end", end, f"a window with at most {MAX_OCCURRENCES:,} follow-ups of "
                    f"plan {self.id} (its cadence {self.cadence!r} fires more often)",
                )
        return found

    def next_after(self, moment: datetime) -> datetime | None:
        """The plan's first occurrence after ``moment`` (None: it never fires again).

        Raises:
            ValidationError: a naive ``moment``.
        """
        v.check_aware("moment", moment)
        try:
            lo = max(moment, self.starts_at - timedelta(microseconds=1), key=_instant)
        except OverflowError:  # starts at the first instant of the calendar
            lo = moment
        first = _wall_shift(self._local(lo), -1)
        for wall in _rule_near(self._rule(), first).xafter(first, inc=True):
            found = self._aware(wall)
            if self.ends_at is not None and _instant(found) >= _instant(self.ends_at):
                return None
            if _instant(found) > _instant(lo):
                return found
        return None

    # -- changing --------------------------------------------------------------------
    def approved(self, by: str, at: datetime, note: str = "") -> FollowUpPlan:
        """The plan approved by ``by`` and active (version bumped).

        Raises:
            TransitionNotAllowed: the plan is not waiting for approval.
            PermissionDenied: ``by`` is not the plan's approver, or is its author.
        """
        if self.status is not PlanStatus.PENDING_APPROVAL:
            raise TransitionNotAllowed(self.status.value, "approve")
        if by != self.approver:
            raise PermissionDenied(f"plan {self.id}: {by!r} is not its approver {self.approver!r}")
        if by == self.created_by:
            raise PermissionDenied(f"plan {self.id}: its author may not approve it")
        approval = Approval(by=by, at=at, note=note)
        return attrs.evolve(self, approval=approval, status=PlanStatus.ACTIVE,
                            version=self.version + 1)

    def with_status(self, status: PlanStatus) -> FollowUpPlan:
        """The plan paused, resumed or ended (version bumped).

        Raises:
            TransitionNotAllowed: ended plans stay ended; pending plans only end or
                get approved.
        """
        status = _status(status)
        allowed = {
            PlanStatus.ACTIVE: {PlanStatus.PAUSED, PlanStatus.ENDED},
            PlanStatus.PAUSED: {PlanStatus.ACTIVE, PlanStatus.ENDED},
            PlanStatus.PENDING_APPROVAL: {PlanStatus.ENDED},
            PlanStatus.ENDED: set(),
        }[self.status]
        if status not in allowed:
            raise TransitionNotAllowed(self.status.value, status.value)
        return attrs.evolve(self, status=status, version=self.version + 1)


def _approvers(value: Any) -> frozenset[str]:
    return v.text_set(value, "ApprovalPolicy.approvers")


def _key_segments(value: Any) -> frozenset[str]:
    return v.text_set(value, "ApprovalPolicy.key_segments")


@attrs.frozen(kw_only=True)
class ApprovalPolicy:
    """Which customers are key (their plans need approval) and who may approve.

    Attributes:
        approvers: the people who may approve key customers' plans.
        min_stars: customers with at least these stars are key (None: no star rule).
        key_segments: customers in these segments are key.
    """

    approvers: frozenset[str] = attrs.field(converter=_approvers)
    min_stars: int | None = attrs.field(default=None)
    key_segments: frozenset[str] = attrs.field(factory=frozenset, converter=_key_segments)

    def __attrs_post_init__(self) -> None:
        if not self.approvers:
            raise ValidationError("ApprovalPolicy.approvers", (), "at least one approver")
        if self.min_stars is not None:
            v.check_count("ApprovalPolicy.min_stars", self.min_stars, minimum=1)

    def is_key(self, *, stars: int | None = None, segments: Collection[str] = ()) -> bool:
        """Whether a customer with these stars and segments is a key customer.

        Raises:
            ValidationError: ``segments`` is one string rather than a collection.
        """
        labels = v.text_set(segments, "segments")
        if self.min_stars is not None and stars is not None and stars >= self.min_stars:
            return True
        return bool(self.key_segments & labels)


def _outcome(value: Any) -> ContactOutcome:
    return v.coerce_enum(ContactOutcome, value, "ContactRecord.outcome")


def _check_satisfaction(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
        raise ValidationError("ContactRecord.satisfaction", value, "an integer 1..5 or None")


@attrs.frozen(kw_only=True)
class ContactRecord:
    """One follow-up contact: who, when, how, and what came of it.

    Notes are masked in ``repr`` (they may hold personal details).

    Attributes:
        id: the record id.
        customer_id: the customer contacted.
        at: when.
        channel: how.
        staff: who made the contact.
        outcome: what came of it.
        notes: free text.
        plan_id: the plan it fulfils (None: an ad-hoc contact).
        satisfaction: the customer's satisfaction 1..5 if asked.
    """

    id: str = attrs.field(validator=v.an_id)
    customer_id: str = attrs.field(validator=v.an_id)
    at: datetime = attrs.field(validator=v.aware_datetime())
    channel: str = attrs.field(validator=_check_channel)
    staff: str = attrs.field(validator=v.text(max_length=200))
    outcome: ContactOutcome = attrs.field(converter=_outcome)
    notes: str = attrs.field(
        default="", validator=v.text(max_length=4000, blank_ok=True), repr=hide_text
    )
    plan_id: str | None = attrs.field(default=None, validator=v.optional_id)
    satisfaction: int | None = attrs.field(default=None, validator=_check_satisfaction)
