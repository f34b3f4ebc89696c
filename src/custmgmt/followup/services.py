"""Follow-up use cases: plan, approve, record contacts, list what is due, measure.

Every function takes a :class:`~custmgmt.followup.ports.FollowUpStore`; the command
line and host applications call the same ones.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import attrs
import numpy as np

from custmgmt.campaigns._zones import zone
from custmgmt.campaigns.campaign import MAX_DAYS
from custmgmt.domain import _validate as v
from custmgmt.domain.time import to_epoch_micros
from custmgmt.errors import ValidationError
from custmgmt.followup.effect import FollowUpEffect, evaluate_followup_effect
from custmgmt.followup.plan import (
    ApprovalPolicy,
    ContactRecord,
    FollowUpPlan,
    PlanStatus,
    _instant,
)
from custmgmt.followup.ports import FollowUpStore

__all__ = [
    "DueItem",
    "approve_plan",
    "create_plan",
    "due_followups",
    "followup_effect",
    "overdue_followups",
    "record_contact",
    "set_plan_status",
]


def create_plan(
    store: FollowUpStore,
    plan: FollowUpPlan,
    *,
    policy: ApprovalPolicy | None = None,
    stars: int | None = None,
    segments: Collection[str] = (),
) -> FollowUpPlan:
    """Store a new plan; a key customer's plan waits for its approver.

    With a ``policy``, the plan is for a key customer when the customer's ``stars``
    or ``segments`` (or the plan's own segment) make them key; it must then name an
    approver from the policy, and it is stored pending approval.

    Raises:
        ValidationError: not a plan; a key customer's plan without an approver, or
            with one the policy does not name.
        NotFound: the plan's customer is not stored.
        Conflict: the plan id is taken.
    """
    if not isinstance(plan, FollowUpPlan):
        raise ValidationError("plan", plan, "a FollowUpPlan")
    if policy is not None and not isinstance(policy, ApprovalPolicy):
        raise ValidationError("policy", policy, "an ApprovalPolicy or None")
    # A bare string would be read letter by letter ("VIP" as V, I, P) and a key
    # customer's plan would skip its approval: text_set refuses it.
    labels = set(v.text_set(segments, "segments")) | (
        {plan.segment} if plan.segment is not None else set()
    )
    if plan.requires_approval or (policy is not None and policy.is_key(stars=stars,
                                                                         segments=labels)):
        named = sorted(policy.approvers) if policy is not None else []
        if plan.approver is None:
            raise ValidationError(
                "FollowUpPlan.approver", None,
                f"an approver the policy names ({', '.join(named)}) for a key customer's plan",
            )
        if policy is not None and plan.approver not in policy.approvers:
            raise ValidationError(
                "FollowUpPlan.approver", plan.approver, f"one of {', '.join(named)}"
            )
        if plan.approval is None:
            plan = attrs.evolve(plan, requires_approval=True, status=PlanStatus.PENDING_APPROVAL)
    with store.transaction():
        if plan.customer_id is not None:
            store.customers.get(plan.customer_id)
        store.followups.add_plan(plan)
    return plan


def approve_plan(
    store: FollowUpStore, plan_id: str, *, by: str, at: datetime, note: str = ""
) -> FollowUpPlan:
    """Record the approval of a pending plan and activate it.

    Raises:
        NotFound: no such plan.
        PermissionDenied: ``by`` is not its approver, or wrote the plan.
        TransitionNotAllowed: the plan is not pending approval.
    """
    with store.transaction():
        plan = store.followups.get_plan(plan_id).approved(by, at, note)
        store.followups.update_plan(plan)
    return plan


def set_plan_status(store: FollowUpStore, plan_id: str, status: PlanStatus | str) -> FollowUpPlan:
    """Pause, resume or end a plan.

    Raises:
        NotFound: no such plan.
        TransitionNotAllowed: the change is not allowed from its status.
    """
    with store.transaction():
        plan = store.followups.get_plan(plan_id).with_status(
            v.coerce_enum(PlanStatus, status, "status")
        )
        store.followups.update_plan(plan)
    return plan


def record_contact(store: FollowUpStore, record: ContactRecord) -> ContactRecord:
    """Store a contact with its outcome and notes.

    Raises:
        ValidationError: not a ContactRecord, or it names a plan for someone else.
        NotFound: the customer or the plan is not stored.
        Conflict: the record id is taken.
    """
    if not isinstance(record, ContactRecord):
        raise ValidationError("record", record, "a ContactRecord")
    with store.transaction():
        store.customers.get(record.customer_id)
        if record.plan_id is not None:
            plan = store.followups.get_plan(record.plan_id)
            if plan.customer_id is not None and plan.customer_id != record.customer_id:
                raise ValidationError(
                    "ContactRecord.plan_id", record.plan_id,
                    f"a plan of customer {record.customer_id!r}",
                )
        store.followups.add_contact(record)
    return record


#: The days the follow-up listings accept: with a century of look-back or window on
#: either side (:data:`~custmgmt.campaigns.MAX_DAYS`), every bound stays on the calendar.
_FIRST_DAY, _LAST_DAY = date(1000, 1, 1), date(8999, 12, 31)


def _check_days(name: str, days: Any) -> int:
    expected = f"a number of days from 1 to {MAX_DAYS:,}"
    v.check_count(name, days, minimum=1, expected=expected)
    if days > MAX_DAYS:
        raise ValidationError(name, days, expected)
    return int(days)


@attrs.frozen(kw_only=True)
class DueItem:
    """One follow-up due for one customer.

    Attributes:
        plan_id, customer_id: the plan and the customer.
        due_at: when it is due (in the plan's zone).
        owner, channel, goal: from the plan.
        done: a contact for this plan and customer was recorded since it fell due
            (and before the next occurrence).
    """

    plan_id: str
    customer_id: str
    due_at: datetime
    owner: str
    channel: str
    goal: str
    done: bool

    def __str__(self) -> str:
        state = "done" if self.done else "open"
        return (
            f"{self.due_at:%Y-%m-%d %H:%M %Z} {self.customer_id} [{self.channel}] {self.goal} "
            f"(owner {self.owner}, plan {self.plan_id}): {state}"
        )


def _members(plan: FollowUpPlan, members: Mapping[str, Sequence[str]] | None) -> list[str]:
    if plan.customer_id is not None:
        return [plan.customer_id]
    assert plan.segment is not None
    return list((members or {}).get(plan.segment, ()))


def _distinct_instants(times: list[datetime]) -> list[datetime]:
    """``times`` without repeats of one instant, first kept: a wall time that the
    spring-forward skips (02:00) is the instant of the one after it (03:00 at the new
    offset), and an hourly plan listed the same follow-up twice on that day."""
    seen: set[timedelta] = set()
    kept = []
    for moment in times:
        key = _instant(moment)
        if key not in seen:
            seen.add(key)
            kept.append(moment)
    return kept


def _items(
    store: FollowUpStore,
    start: datetime,
    end: datetime,
    members: Mapping[str, Sequence[str]] | None,
) -> list[DueItem]:
    out: list[DueItem] = []
    for plan in store.followups.plans(status=PlanStatus.ACTIVE):
        times = _distinct_instants(plan.occurrences(start, end))
        if not times:
            continue
        nexts = [*times[1:], plan.next_after(times[-1])]
        # In UTC: a store comparing within one zone compares wall times (see below).
        contacts = store.followups.contacts(plan_id=plan.id, since=times[0].astimezone(UTC))
        for customer_id in _members(plan, members):
            # As instants: a contact kept in the plan's own zone compares by wall time,
            # and in the repeated hour after a fall-back change that runs backwards.
            seen = [_instant(c.at) for c in contacts if c.customer_id == customer_id]
            for due, nxt in zip(times, nexts, strict=True):
                due_at = _instant(due)
                nxt_at = None if nxt is None else _instant(nxt)
                done = any(due_at <= at and (nxt_at is None or at < nxt_at) for at in seen)
                out.append(DueItem(plan_id=plan.id, customer_id=customer_id, due_at=due,
                                   owner=plan.owner, channel=plan.channel, goal=plan.goal,
                                   done=done))
    return sorted(out, key=lambda i: (i.due_at, i.customer_id, i.plan_id))


def due_followups(
    store: FollowUpStore,
    day: date,
    *,
    timezone: str = "Asia/Shanghai",
    members: Mapping[str, Sequence[str]] | None = None,
) -> list[DueItem]:
    """The follow-ups due on ``day`` (a calendar day in ``timezone``) of active plans.

    Args:
        members: a segment plan's members, by segment (segment plans without members
            list nothing).

    Raises:
        ValidationError: ``day`` is not a date, or an unknown zone.
    """
    if not isinstance(day, date) or isinstance(day, datetime):
        raise ValidationError("day", day, "a date")
    tz = zone(timezone)
    if not _FIRST_DAY <= day <= _LAST_DAY:
        raise ValidationError("day", day, f"a day from {_FIRST_DAY} to {_LAST_DAY}")
    start = datetime.combine(day, time(0), tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    return _items(store, start, end, members)


def overdue_followups(
    store: FollowUpStore,
    *,
    as_of: datetime,
    lookback_days: int = 30,
    members: Mapping[str, Sequence[str]] | None = None,
) -> list[DueItem]:
    """Follow-ups that fell due in the last ``lookback_days`` before ``as_of`` and
    have no contact recorded for them.

    Raises:
        ValidationError: a naive ``as_of`` or a bad lookback.
    """
    v.check_aware("as_of", as_of)
    _check_days("lookback_days", lookback_days)
    if not _FIRST_DAY <= as_of.date() <= _LAST_DAY:
        raise ValidationError("as_of", as_of, f"a moment from {_FIRST_DAY} to {_LAST_DAY}")
    items = _items(store, as_of - timedelta(days=lookback_days), as_of, members)
    return [i for i in items if not i.done]


def followup_effect(
    store: FollowUpStore,
    *,
    period_start: datetime,
    period_end: datetime,
    window_days: int,
    currency: str,
    segments: Mapping[str, str],
    stars: Mapping[str, int],
    replicates: int = 1000,
    seed: int = 0,
) -> FollowUpEffect:
    """What follow-ups in ``[period_start, period_end)`` changed, matched and before/after.

    The customers compared are those in ``segments``; those with a contact record in
    the period are the followed-up group. Each customer's purchases (counted
    orders), spend (net, major units) and satisfaction (mean review rating) are taken
    over ``window_days`` before ``period_start`` and ``window_days`` from it; prior
    spend over the year before ``period_start`` gives the spend band. See
    :mod:`custmgmt.followup.effect`.

    Raises:
        ValidationError: naive or reversed period, no customers, nobody followed up.
    """
    from custmgmt.analytics.frames import InteractionFrame, OrderFrame
    from custmgmt.campaigns.effect import window_outcomes
    from custmgmt.domain import InteractionKind, currency_digits

    v.check_aware("period_start", period_start)
    v.check_aware("period_end", period_end)
    if period_end <= period_start:
        raise ValidationError("period_end", period_end, f"after {period_start}")
    _check_days("window_days", window_days)
    for name, moment in (("period_start", period_start), ("period_end", period_end)):
        if not _FIRST_DAY <= moment.date() <= _LAST_DAY:
            raise ValidationError(name, moment, f"a moment from {_FIRST_DAY} to {_LAST_DAY}")
    ids = np.array(sorted(segments), dtype=object)
    if ids.size == 0:
        raise ValidationError("segments", {}, "at least one customer with a segment")
    touched = {c.customer_id for c in store.followups.contacts(since=period_start,
                                                                until=period_end)}
    followed = np.array([c in touched for c in ids.tolist()], dtype=bool)
    window = timedelta(days=window_days)
    frame = OrderFrame.from_store(
        store, currency=currency, since=period_start - timedelta(days=365),
        as_of=period_start + window,
    )
    n = ids.size

    def span(a: datetime, b: datetime) -> tuple[Any, Any]:
        return window_outcomes(frame, ids, np.full(n, to_epoch_micros(a), np.int64),
                               np.full(n, to_epoch_micros(b), np.int64))

    scale = 10.0 ** currency_digits(currency)
    _, prior_spend = span(period_start - timedelta(days=365), period_start)
    b_orders, b_spend = span(period_start - window, period_start)
    a_orders, a_spend = span(period_start, period_start + window)
    inter = InteractionFrame.from_store(store, since=period_start - window,
                                        as_of=period_start + window,
                                        kinds=[InteractionKind.REVIEW])
    position = {cid: i for i, cid in enumerate(ids.tolist())}
    rows = np.array([position.get(str(c), -1) for c in inter.customer_ids.tolist()],
                    dtype=np.int64)[np.asarray(inter.customer_code, dtype=np.int64)] \
        if len(inter) else np.zeros(0, dtype=np.int64)
    at = np.asarray(inter.at, dtype=np.int64) if len(inter) else np.zeros(0, np.int64)
    rating = np.asarray(inter.rating, dtype=np.float64) if len(inter) else np.zeros(0)
    start_us = to_epoch_micros(period_start)

    def mean_rating(mask: Any) -> Any:
        keep = mask & (rows >= 0) & (rating > 0)
        total = np.bincount(rows[keep], weights=rating[keep], minlength=n)
        count = np.bincount(rows[keep], minlength=n)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(count > 0, total / np.maximum(count, 1), np.nan)

    return evaluate_followup_effect(
        followed=followed,
        segment=np.array([segments[c] for c in ids.tolist()], dtype=object).astype(str),
        stars=np.array([int(stars.get(c, 0)) for c in ids.tolist()], dtype=np.int64),
        prior_spend=prior_spend / scale,
        before={"purchases": b_orders, "spend": b_spend / scale,
                "satisfaction": mean_rating(at < start_us)},
        after={"purchases": a_orders, "spend": a_spend / scale,
               "satisfaction": mean_rating(at >= start_us)},
        replicates=replicates, seed=seed, currency=currency,
    )
