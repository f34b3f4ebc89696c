"""Hostile input found by hand: cadences that flood memory, days off the calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from custmgmt.adapters.memory import MemoryStore
from custmgmt.errors import ValidationError
from custmgmt.followup import create_plan, due_followups, followup_effect, overdue_followups
from custmgmt.followup.plan import MAX_OCCURRENCES
from custmgmt.testing import make_customer
from custmgmt.testing.followup_contract import make_contact, make_plan

CST = timezone(timedelta(hours=8))
AS_OF = datetime(2026, 7, 1, tzinfo=CST)


@pytest.fixture
def store() -> Any:
    s = MemoryStore()
    s.customers.add(make_customer(id="C-1", registered_at=datetime(2025, 1, 1, tzinfo=CST)))
    return s


@pytest.mark.parametrize("cadence", ["FREQ=MINUTELY", "FREQ=SECONDLY;INTERVAL=30",
                                     "freq=minutely;byhour=10", "RRULE:FREQ=MINUTELY"])
def test_a_cadence_finer_than_hourly_is_refused(cadence: str) -> None:
    with pytest.raises(ValidationError, match="an hour"):
        make_plan(cadence=cadence)


def test_a_window_with_too_many_follow_ups_is_refused_not_left_to_fill_memory(
    store: Any,
) -> None:
    every_minute = "FREQ=HOURLY;BYMINUTE=" + ",".join(str(m) for m in range(60))
    plan = create_plan(store, make_plan(cadence=every_minute))
    start = plan.starts_at
    n = len(plan.occurrences(start, start + timedelta(days=MAX_OCCURRENCES // 1440)))
    assert 0 < n <= MAX_OCCURRENCES
    with pytest.raises(ValidationError, match="at most"):
        plan.occurrences(start, start + timedelta(days=36_500))
    # The next occurrence is found without listing a long window (it used to list
    # 400 days of them, which this plan refused).
    overdue = overdue_followups(store, as_of=start + timedelta(days=2), lookback_days=1)
    assert len(overdue) == 1440
    assert plan.next_after(start) == start + timedelta(minutes=1)


def test_next_after_ends_with_the_plan(store: Any) -> None:
    plan = make_plan(ends_at=datetime(2026, 6, 30, tzinfo=CST))
    first = plan.occurrences(plan.starts_at, AS_OF)
    assert plan.next_after(plan.starts_at - timedelta(days=30)) == first[0]
    assert plan.next_after(first[-1]) is None
    assert [plan.next_after(t) for t in first[:-1]] == first[1:]


def test_a_contact_after_the_last_listed_occurrence_marks_it_done(store: Any) -> None:
    plan = create_plan(store, make_plan(cadence="FREQ=YEARLY;INTERVAL=3"))
    due = plan.starts_at
    from custmgmt.followup import record_contact

    record_contact(store, make_contact(at=due + timedelta(days=500), plan_id="P-1"))
    items = due_followups(store, due.astimezone(CST).date())
    assert [i.done for i in items] == [True]


@pytest.mark.parametrize("call", [
    lambda s: overdue_followups(s, as_of=AS_OF, lookback_days=10**12),
    lambda s: overdue_followups(s, as_of=AS_OF, lookback_days=36_501),
    lambda s: overdue_followups(s, as_of=datetime(1, 1, 2, tzinfo=UTC)),
    lambda s: overdue_followups(s, as_of=datetime(9999, 12, 31, tzinfo=UTC)),
    lambda s: due_followups(s, date(9999, 12, 31)),
    lambda s: due_followups(s, date(1, 1, 1)),
    lambda s: followup_effect(s, period_start=AS_OF, period_end=AS_OF + timedelta(days=1),
                              window_days=10**12, currency="CNY", segments={"C-1": "a"},
                              stars={}),
    lambda s: followup_effect(s, period_start=datetime(1, 1, 2, tzinfo=UTC),
                              period_end=AS_OF, window_days=30, currency="CNY",
                              segments={"C-1": "a"}, stars={}),
])
def test_days_and_windows_off_the_calendar_are_validation_errors(store: Any, call: Any) -> None:
    create_plan(store, make_plan())
    with pytest.raises(ValidationError):
        call(store)


@pytest.mark.parametrize(("field", "value"), [
    ("stale_after_months", 10**6), ("stale_after_months", 1201),
    ("window_days", 10**12), ("window_days", 36_501),
])
def test_a_care_policy_refuses_periods_past_the_calendar(field: str, value: int) -> None:
    from custmgmt.followup import CarePolicy

    with pytest.raises(ValidationError, match=field):
        CarePolicy(**{field: value})


def test_care_reminders_at_the_calendars_start_do_not_overflow() -> None:
    from custmgmt.followup import CarePolicy, profile_reminders, repurchase_reminders

    policy = CarePolicy(stale_after_months=1200, window_days=36_500)
    customer = make_customer(id="C-1", registered_at=datetime(2025, 1, 1, tzinfo=CST))
    early = datetime(1, 1, 2, tzinfo=UTC)
    # A century before year 1 is off the calendar: nobody's profile is that stale.
    reminders = profile_reminders([customer], as_of=early, policy=policy)
    assert all("unchanged" not in r.reason for r in reminders)
    assert repurchase_reminders([], as_of=early, policy=policy) == []


@pytest.mark.parametrize(("spend", "bands", "field"), [
    ([1.0, 2.0, 3.0], -1, "bands"),  # was every spender in band 1
    ([1.0, 2.0, 3.0], 0, "bands"),
    ([1.0, 2.0, 3.0], 2.5, "bands"),  # was a TypeError
    ([1.0, float("nan"), 3.0], 5, "prior_spend"),  # was silently band 0
    ([1.0, float("inf"), 3.0], 5, "prior_spend"),
    ([[1.0]], 5, "prior_spend"),  # was an IndexError
    (["a"], 5, "prior_spend"),  # was a bare ValueError
])
def test_spend_bands_refuses_bad_input_by_field(spend: Any, bands: Any, field: str) -> None:
    from custmgmt.followup.effect import spend_bands

    with pytest.raises(ValidationError, match=field):
        spend_bands(spend, bands)


def test_reprs_show_no_part_of_notes_or_content_that_may_name_the_customer() -> None:
    from custmgmt.campaigns import Suppression

    text = "王芳 13812345678 要求退订"
    record = make_contact(notes=text)
    plan = make_plan(content=text)
    listed = Suppression(customer_id="C-1", reason="unsubscribed", at=AS_OF, note=text)
    for shown in (repr(record), repr(plan), repr(listed)):
        assert "王芳" not in shown  # mask_text(keep=4) used to keep the name
        assert "138" not in shown
        assert f"<{len(text)} characters>" in shown


_CADENCES = ["FREQ=WEEKLY;BYDAY=MO;BYHOUR=10;BYMINUTE=0", "FREQ=DAILY;BYHOUR=2;BYMINUTE=30",
             "FREQ=HOURLY;INTERVAL=7", "FREQ=MONTHLY;BYMONTHDAY=31", "FREQ=YEARLY;COUNT=3",
             "FREQ=DAILY;BYHOUR=1,2,3;BYMINUTE=0,30"]


@pytest.mark.parametrize("zone_name", ["America/New_York", "Asia/Shanghai", "Australia/Lord_Howe"])
@pytest.mark.parametrize("cadence", _CADENCES)
def test_lazy_occurrences_and_next_after_match_a_plain_rrule_reference(
    cadence: str, zone_name: str
) -> None:
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(zone_name)
    plan = make_plan(cadence=cadence, timezone=zone_name,
                     starts_at=datetime(2026, 1, 5, 9, 0, tzinfo=tz))
    rule = plan._rule()
    for lo, hi in [(datetime(2026, 3, 1, tzinfo=tz), datetime(2026, 4, 15, tzinfo=tz)),
                   (datetime(2026, 10, 20, tzinfo=tz), datetime(2026, 11, 10, tzinfo=tz)),
                   (datetime(2025, 1, 1, tzinfo=tz), datetime(2026, 1, 20, tzinfo=tz))]:
        walls = rule.between(plan._local(max(lo, plan.starts_at)) - timedelta(days=1),
                             plan._local(hi) + timedelta(days=1), inc=True)
        expected = [w.replace(tzinfo=tz) for w in walls]
        expected = [t for t in expected if max(lo, plan.starts_at) <= t < hi]
        assert plan.occurrences(lo, hi) == expected
        later = [w.replace(tzinfo=tz) for w in rule.between(
            plan._local(hi) - timedelta(days=1), plan._local(hi) + timedelta(days=800),
            inc=True)]
        later = [t for t in later if t > hi]
        assert plan.next_after(hi) == (min(later) if later else None)


def test_one_segment_given_as_a_string_cannot_skip_a_key_customers_approval(
    store: Any,
) -> None:
    from custmgmt.followup import ApprovalPolicy

    policy = ApprovalPolicy(approvers={"经理-李"}, key_segments={"VIP"})
    with pytest.raises(ValidationError, match="segments"):
        create_plan(store, make_plan(), policy=policy, segments="VIP")  # was stored active
    with pytest.raises(ValidationError, match="segments"):
        policy.is_key(segments="VIP")
    assert store.followups.plans() == []
    assert policy.is_key(segments=["VIP"])
    assert create_plan(store, make_plan(approver="经理-李"), policy=policy,
                       segments=("VIP",)).status.value == "pending_approval"
