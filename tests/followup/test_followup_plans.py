"""Follow-up plans: cadence, approval, due and overdue lists, contacts, bad input."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest

from custmgmt.adapters.memory import MemoryStore
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.errors import NotFound, PermissionDenied, TransitionNotAllowed, ValidationError
from custmgmt.followup import (
    ApprovalPolicy,
    PlanStatus,
    approve_plan,
    create_plan,
    due_followups,
    overdue_followups,
    record_contact,
    set_plan_status,
)
from custmgmt.testing import make_customer
from custmgmt.testing.followup_contract import make_contact, make_plan

CST = timezone(timedelta(hours=8))
POLICY = ApprovalPolicy(approvers={"经理-李", "总监-赵"}, min_stars=5, key_segments={"VIP"})


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest) -> Any:
    s = (MemoryStore() if request.param == "memory" else SQLiteStore(":memory:")
         if request.param == "sqlite" else request.getfixturevalue("postgres_store"))
    for cid in ("C-1", "C-2", "C-3"):
        s.customers.add(make_customer(id=cid, registered_at=datetime(2025, 1, 1, tzinfo=CST)))
    yield s
    s.close()


def test_a_key_customers_plan_waits_for_its_named_approver(store: Any) -> None:
    plan = create_plan(store, make_plan(approver="经理-李"), policy=POLICY, stars=5)
    assert plan.status is PlanStatus.PENDING_APPROVAL
    assert plan.requires_approval
    assert due_followups(store, date(2026, 6, 8)) == []  # not active yet
    with pytest.raises(PermissionDenied):
        approve_plan(store, "P-1", by="总监-赵", at=datetime(2026, 6, 1, 12, tzinfo=CST))
    approved = approve_plan(store, "P-1", by="经理-李", at=datetime(2026, 6, 1, 12, tzinfo=CST),
                            note="同意，注意语气")
    assert approved.status is PlanStatus.ACTIVE
    stored = store.followups.get_plan("P-1")
    assert stored.approval is not None
    assert stored.approval.by == "经理-李"
    assert stored.approval.note == "同意，注意语气"
    with pytest.raises(TransitionNotAllowed):
        approve_plan(store, "P-1", by="经理-李", at=datetime(2026, 6, 2, tzinfo=CST))


def test_the_author_may_not_approve_their_own_plan(store: Any) -> None:
    create_plan(store, make_plan(approver="经理-李", created_by="经理-李"), policy=POLICY,
                segments={"VIP"})
    with pytest.raises(PermissionDenied, match="author"):
        approve_plan(store, "P-1", by="经理-李", at=datetime(2026, 6, 2, tzinfo=CST))


def test_a_key_plan_without_an_approver_or_with_an_unnamed_one_is_refused(store: Any) -> None:
    with pytest.raises(ValidationError, match="approver"):
        create_plan(store, make_plan(), policy=POLICY, stars=5)
    with pytest.raises(ValidationError, match="approver"):
        create_plan(store, make_plan(approver="实习生"), policy=POLICY, segments={"VIP"})
    with pytest.raises(ValidationError, match="approver"):
        make_plan(requires_approval=True, status="pending_approval")
    assert store.followups.plans() == []
    # An ordinary customer's plan is active at once.
    assert create_plan(store, make_plan(), policy=POLICY, stars=3).status is PlanStatus.ACTIVE


@pytest.mark.parametrize("cadence", [
    "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
    "FREQ=DAILY;BYMONTH=4;BYMONTHDAY=31",
    "FREQ=WEEKLY;UNTIL=20200101T000000",
    "FREQ=DAILY;COUNT=0",
    "FREQ=SOMETIMES",
    "",
    "DTSTART:20260101T000000\nRRULE:FREQ=DAILY",
])
def test_a_cadence_that_never_fires_or_does_not_parse_is_refused(cadence: str) -> None:
    with pytest.raises(ValidationError, match="cadence"):
        make_plan(cadence=cadence)


def test_a_cadence_must_fire_before_the_plan_ends() -> None:
    with pytest.raises(ValidationError, match="ends_at"):
        make_plan(cadence="FREQ=MONTHLY;BYMONTHDAY=28",
                  ends_at=datetime(2026, 6, 20, tzinfo=CST))


def test_cadences_keep_wall_clock_time_across_daylight_saving() -> None:
    plan = make_plan(timezone="Europe/Berlin", cadence="FREQ=WEEKLY;BYDAY=SU;BYHOUR=10",
                     starts_at=datetime(2026, 3, 20, tzinfo=CST))
    times = plan.occurrences(plan.starts_at, datetime(2026, 4, 6, tzinfo=CST))
    assert [(t.day, t.hour, t.utcoffset()) for t in times] == [
        (22, 10, timedelta(hours=1)), (29, 10, timedelta(hours=2)), (5, 10, timedelta(hours=2)),
    ]


def test_due_lists_show_each_days_followups_and_whether_they_were_done(store: Any) -> None:
    create_plan(store, make_plan())  # Mondays 10:00 Shanghai from 2026-06-01
    create_plan(store, make_plan("P-2", customer_id="C-2", cadence="FREQ=DAILY;BYHOUR=15"))
    create_plan(store, make_plan("P-S", customer_id=None, segment="沉睡客户",
                                 cadence="FREQ=MONTHLY;BYMONTHDAY=8;BYHOUR=9"))
    monday = date(2026, 6, 8)
    due = due_followups(store, monday, members={"沉睡客户": ["C-3", "C-1"]})
    assert [(i.plan_id, i.customer_id, i.due_at.hour) for i in due] == [
        ("P-S", "C-1", 9), ("P-S", "C-3", 9), ("P-1", "C-1", 10), ("P-2", "C-2", 15),
    ]
    assert not any(i.done for i in due)
    record_contact(store, make_contact(plan_id="P-1", at=datetime(2026, 6, 8, 11, tzinfo=CST)))
    due = due_followups(store, monday, members={"沉睡客户": ["C-3", "C-1"]})
    assert [i.done for i in due] == [False, False, True, False]
    assert due_followups(store, date(2026, 6, 9)) == due_followups(store, date(2026, 6, 9))
    assert [i.plan_id for i in due_followups(store, date(2026, 6, 9))] == ["P-2"]


def test_overdue_lists_what_fell_due_without_a_contact(store: Any) -> None:
    create_plan(store, make_plan())
    record_contact(store, make_contact("K-1", plan_id="P-1",
                                       at=datetime(2026, 6, 8, 16, tzinfo=CST)))
    overdue = overdue_followups(store, as_of=datetime(2026, 6, 23, 9, tzinfo=CST))
    assert [i.due_at.date() for i in overdue] == [date(2026, 6, 1), date(2026, 6, 15),
                                                  date(2026, 6, 22)]
    set_plan_status(store, "P-1", "paused")
    assert overdue_followups(store, as_of=datetime(2026, 6, 23, 9, tzinfo=CST)) == []
    with pytest.raises(TransitionNotAllowed):
        set_plan_status(store, "P-1", "pending_approval")


def test_contacts_need_their_customer_and_a_plan_for_them(store: Any) -> None:
    create_plan(store, make_plan())
    with pytest.raises(NotFound):
        record_contact(store, make_contact(customer_id="C-404"))
    with pytest.raises(ValidationError, match="plan_id"):
        record_contact(store, make_contact(customer_id="C-2", plan_id="P-1"))
    with pytest.raises(NotFound):
        create_plan(store, make_plan("P-9", customer_id="C-404"))
    assert store.followups.contacts() == []
    record = record_contact(store, make_contact(notes="客户说下周出差，改约周五"))
    assert "出差" not in repr(record)


def test_bad_plan_fields_are_refused_by_name() -> None:
    with pytest.raises(ValidationError, match="customer_id"):
        make_plan(segment="VIP")  # both a customer and a segment
    with pytest.raises(ValidationError, match="timezone"):
        make_plan(timezone="../etc/passwd")
    with pytest.raises(ValidationError, match="satisfaction"):
        make_contact(satisfaction=6)
    with pytest.raises(ValidationError, match="approvers"):
        ApprovalPolicy(approvers=set())
