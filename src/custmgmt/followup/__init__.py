"""Follow-up plans, approvals, due lists, care reminders and their measured effect.

Staff plan follow-ups per customer or per segment (a cadence in the customer's or the
business's time zone, a channel, an owner, a goal and the content); a key customer's
plan waits for the approver the policy names; the due and overdue lists say who to
contact; contact records keep the outcome; care reminders cover stale profiles,
birthdays, holidays and repurchase; and the effect evaluation compares followed-up
customers with comparable ones who were not.

See ``docs/campaigns-and-followups.md``.
"""

from custmgmt.followup.care import (
    CarePolicy,
    CareReminder,
    ReminderKind,
    birthday_on,
    birthday_reminders,
    holiday_reminders,
    profile_reminders,
    repurchase_reminders,
)
from custmgmt.followup.effect import FollowUpEffect, evaluate_followup_effect
from custmgmt.followup.plan import (
    Approval,
    ApprovalPolicy,
    ContactOutcome,
    ContactRecord,
    FollowUpPlan,
    PlanStatus,
)
from custmgmt.followup.ports import FOLLOWUPS, FollowUpRepository, FollowUpStore
from custmgmt.followup.services import (
    DueItem,
    approve_plan,
    create_plan,
    due_followups,
    followup_effect,
    overdue_followups,
    record_contact,
    set_plan_status,
)

__all__ = [
    "FOLLOWUPS",
    "Approval",
    "ApprovalPolicy",
    "CarePolicy",
    "CareReminder",
    "ContactOutcome",
    "ContactRecord",
    "DueItem",
    "FollowUpEffect",
    "FollowUpPlan",
    "FollowUpRepository",
    "FollowUpStore",
    "PlanStatus",
    "ReminderKind",
    "approve_plan",
    "birthday_on",
    "birthday_reminders",
    "create_plan",
    "due_followups",
    "evaluate_followup_effect",
    "followup_effect",
    "holiday_reminders",
    "overdue_followups",
    "profile_reminders",
    "record_contact",
    "repurchase_reminders",
    "set_plan_status",
]
