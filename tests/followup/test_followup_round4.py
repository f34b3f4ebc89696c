"""Round 4 of hostile testing: care reminders at the calendar's ends and in the
customers' own day, follow-up times around daylight-saving changes."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custmgmt.followup import (
    CarePolicy,
    birthday_reminders,
    holiday_reminders,
    profile_reminders,
    repurchase_reminders,
)
from custmgmt.testing import make_customer, make_order
from custmgmt.testing.followup_contract import make_plan

NEW_YORK = ZoneInfo("America/New_York")
LEAP_BORN = date(2000, 2, 29)


def _leapling(**fields: object) -> object:
    return make_customer(**{"id": "C-1", "birth_date": LEAP_BORN, "phone": "13812345678",
                            **fields})


@pytest.mark.parametrize(("as_of", "zone_name"), [
    # Already year 10000 in Kiritimati (UTC+14) and Shanghai: was a bare OverflowError.
    (datetime(9999, 12, 31, 20, tzinfo=UTC), "Pacific/Kiritimati"),
    (datetime(9999, 12, 31, 20, tzinfo=UTC), "Asia/Shanghai"),
    # Still year 0 in Niue (UTC-11) and New York.
    (datetime(1, 1, 1, 1, tzinfo=UTC), "Pacific/Niue"),
    (datetime(1, 1, 1, 1, tzinfo=UTC), "America/New_York"),
])
def test_care_reminders_at_the_calendars_ends_list_nothing_rather_than_crash(
    as_of: datetime, zone_name: str,
) -> None:
    customer = _leapling(birth_date=date(2000, 12, 31))
    policy = CarePolicy(timezone=zone_name)
    assert birthday_reminders([customer], as_of=as_of, policy=policy) == []
    assert birthday_reminders([customer], as_of=as_of, policy=CarePolicy(),
                              timezones={"C-1": zone_name}) == []
    assert holiday_reminders([customer], as_of=as_of, holidays=[date(9999, 12, 31),
                                                                 date(1, 1, 1)],
                             policy=policy) == []


def test_a_customer_still_inside_the_calendar_is_reminded_beside_one_past_it() -> None:
    as_of = datetime(9999, 12, 31, 9, 30, tzinfo=UTC)  # 23:30 in Kiritimati, 17:30 in Shanghai
    east = make_customer(id="C-east", birth_date=date(1990, 12, 31))
    tonga = make_customer(id="C-tonga", birth_date=date(1990, 12, 31))
    found = birthday_reminders([east, tonga], as_of=as_of, policy=CarePolicy(),
                               timezones={"C-east": "Pacific/Kiritimati",
                                          "C-tonga": "Pacific/Tongatapu"})
    # 9999-12-31 22:30 in Tonga (UTC+13): still the birthday; Kiritimati too.
    assert [r.customer_id for r in found] == ["C-east", "C-tonga"]
    late = datetime(9999, 12, 31, 11, 30, tzinfo=UTC)  # year 10000 in both
    assert birthday_reminders([east, tonga], as_of=late, policy=CarePolicy(),
                              timezones={"C-east": "Pacific/Kiritimati",
                                         "C-tonga": "Pacific/Tongatapu"}) == []


@settings(max_examples=80, deadline=None)
@given(st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2099, 12, 31),
                    timezones=st.just(UTC)),
       st.sampled_from(["Asia/Shanghai", "Pacific/Kiritimati", "Pacific/Niue",
                        "America/New_York", "America/Santiago", "Asia/Tehran"]),
       st.sampled_from(["feb28", "mar1"]))
def test_a_leapling_is_reminded_on_exactly_one_day_in_each_common_year(
    moment: datetime, zone_name: str, rule: str,
) -> None:
    tz = ZoneInfo(zone_name)
    year = moment.astimezone(tz).year
    policy = CarePolicy(timezone=zone_name, feb29_in_common_years=rule)
    customer = _leapling()
    hits = []
    for day in range(56, 64):  # 25 Feb .. 4 Mar, at local noon
        local = datetime(year, 1, 1, 12, tzinfo=tz) + timedelta(days=day - 1)
        found = birthday_reminders([customer], as_of=local, policy=policy)
        hits += [r.on for r in found]
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    expected = date(year, 2, 29) if leap else (
        date(year, 2, 28) if rule == "feb28" else date(year, 3, 1))
    assert hits == [expected]


def test_a_profile_reminder_is_about_the_customers_day_not_the_offset_given() -> None:
    # 2026-02-28 20:00 UTC is already 1 March in Shanghai, the policy's zone: the
    # reminder said 2026-02-28 (the day of the UTC offset as_of came in).
    customer = make_customer(id="C-1", phone=None)
    found = profile_reminders([customer], as_of=datetime(2026, 2, 28, 20, tzinfo=UTC),
                              policy=CarePolicy())
    assert [r.on for r in found] == [date(2026, 3, 1)]
    west = profile_reminders([customer], as_of=datetime(2026, 2, 28, 20, tzinfo=UTC),
                             policy=CarePolicy(timezone="America/New_York"))
    assert [r.on for r in west] == [date(2026, 2, 28)]


def test_a_profile_reminder_at_the_calendars_end_is_held_there() -> None:
    customer = make_customer(id="C-1", phone=None)
    found = profile_reminders([customer], as_of=datetime(9999, 12, 31, 20, tzinfo=UTC),
                              policy=CarePolicy())
    assert [r.on for r in found] == [date(9999, 12, 31)]


def test_a_repurchase_reminder_falls_on_the_customers_day() -> None:
    # Orders stored in UTC at 18:00: 02:00 the next day in Shanghai. The due day was
    # the UTC day.
    first = datetime(2026, 1, 1, 18, tzinfo=UTC)
    orders = []
    for i in range(5):
        customer = f"C-{i}"
        orders.append(make_order(id=f"O-{i}a", customer_id=customer, placed_at=first))
        orders.append(make_order(id=f"O-{i}b", customer_id=customer,
                                 placed_at=first + timedelta(days=30)))
    found = repurchase_reminders(orders, as_of=first + timedelta(days=61),
                                 policy=CarePolicy(min_buyers=5))
    assert found
    assert {r.on for r in found} == {date(2026, 3, 3)}  # 2026-03-02 18:00 UTC
    assert all("last bought 2026-02-01" in r.reason for r in found)


def test_next_after_a_skipped_wall_time_is_strictly_later() -> None:
    # 02:00 on 2026-03-08 does not exist in New York; as the instant 07:00 UTC it is
    # 03:00 EDT. next_after returned 03:00 EDT: the same instant, not a later one.
    plan = make_plan(cadence="FREQ=HOURLY", timezone="America/New_York",
                     starts_at=datetime(2026, 3, 1, tzinfo=NEW_YORK))
    moment = datetime(2026, 3, 8, 2, tzinfo=NEW_YORK)
    found = plan.next_after(moment)
    assert found is not None
    assert found.astimezone(UTC) == datetime(2026, 3, 8, 8, tzinfo=UTC)


def test_next_after_in_the_repeated_hour_is_never_earlier() -> None:
    # 01:30 the second time (fold=1, EST, 06:30 UTC): the daily 01:45 has already
    # passed (its first, EDT reading is 05:45 UTC). It came back as the answer.
    plan = make_plan(cadence="FREQ=DAILY;BYHOUR=1;BYMINUTE=45", timezone="America/New_York",
                     starts_at=datetime(2026, 10, 1, tzinfo=NEW_YORK))
    moment = datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=NEW_YORK)
    found = plan.next_after(moment)
    assert found is not None
    assert found.astimezone(UTC) > moment.astimezone(UTC)
    assert found.astimezone(UTC) == datetime(2026, 11, 2, 6, 45, tzinfo=UTC)


def test_occurrences_bounded_in_the_repeated_hour_are_the_instants_inside() -> None:
    plan = make_plan(cadence="FREQ=DAILY;BYHOUR=1;BYMINUTE=45", timezone="America/New_York",
                     starts_at=datetime(2026, 10, 1, tzinfo=NEW_YORK))
    start = datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=NEW_YORK)  # 06:30 UTC
    end = datetime(2026, 11, 2, 12, tzinfo=NEW_YORK)
    found = [t.astimezone(UTC) for t in plan.occurrences(start, end)]
    assert found == [datetime(2026, 11, 2, 6, 45, tzinfo=UTC)]


@settings(max_examples=60, deadline=None)
@given(st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31),
                    timezones=st.just(UTC)),
       st.sampled_from(["America/New_York", "Australia/Lord_Howe", "America/Santiago",
                        "Europe/London"]),
       st.sampled_from(["FREQ=HOURLY", "FREQ=DAILY;BYHOUR=1,2,3;BYMINUTE=0,30"]))
def test_next_after_is_always_strictly_later_as_an_instant(
    moment: datetime, zone_name: str, cadence: str,
) -> None:
    tz = ZoneInfo(zone_name)
    plan = make_plan(cadence=cadence, timezone=zone_name,
                     starts_at=datetime(2025, 12, 1, tzinfo=tz))
    for fold in (0, 1):
        local = moment.astimezone(tz).replace(fold=fold)
        found = plan.next_after(local)
        assert found is not None
        assert found.astimezone(UTC) > local.astimezone(UTC)


def test_a_contact_in_the_repeated_hour_marks_the_follow_up_done() -> None:
    from custmgmt.adapters.memory import MemoryStore
    from custmgmt.followup import create_plan, overdue_followups, record_contact
    from custmgmt.testing.followup_contract import make_contact

    store = MemoryStore()
    store.customers.add(make_customer(id="C-1", registered_at=datetime(2025, 1, 1, tzinfo=UTC)))
    create_plan(store, make_plan(cadence="FREQ=DAILY;BYHOUR=1;BYMINUTE=45",
                                 timezone="America/New_York",
                                 starts_at=datetime(2026, 10, 25, tzinfo=NEW_YORK),
                                 created_at=datetime(2026, 10, 1, tzinfo=NEW_YORK)))
    # Due 01:45 EDT (05:45 UTC) on 1 November; the contact came at 01:15 EST (06:15
    # UTC), half an hour later, kept in the plan's own zone. Compared by wall time
    # (01:15 < 01:45) it was before the follow-up, which stayed overdue.
    record_contact(store, make_contact(plan_id="P-1", at=datetime(2026, 11, 1, 1, 15, fold=1,
                                                                  tzinfo=NEW_YORK)))
    overdue = overdue_followups(store, as_of=datetime(2026, 11, 1, 12, tzinfo=NEW_YORK),
                                lookback_days=1)
    assert overdue == []


def test_the_spring_forward_day_lists_each_follow_up_instant_once() -> None:
    from custmgmt.adapters.memory import MemoryStore
    from custmgmt.followup import create_plan, due_followups

    store = MemoryStore()
    store.customers.add(make_customer(id="C-1", registered_at=datetime(2025, 1, 1, tzinfo=UTC)))
    create_plan(store, make_plan(cadence="FREQ=HOURLY", timezone="America/New_York",
                                 starts_at=datetime(2026, 3, 1, tzinfo=NEW_YORK)))
    # 8 March 2026 has 23 hours in New York; the wall time 02:00 does not exist and
    # named the instant of 03:00 EDT: 24 items, two of them the same follow-up.
    items = due_followups(store, date(2026, 3, 8), timezone="America/New_York")
    instants = [i.due_at.astimezone(UTC) for i in items]
    assert len(instants) == len(set(instants)) == 23


class _CountingRule:
    """Counts the wall times dateutil generates while a plan lists its follow-ups."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from dateutil import rrule as module

        self.walked = 0
        original = module.rrule._iter

        def counting(rule: object) -> object:
            for wall in original(rule):  # type: ignore[arg-type]
                self.walked += 1
                yield wall

        monkeypatch.setattr(module.rrule, "_iter", counting)


def test_a_far_day_of_an_hourly_plan_does_not_walk_every_hour_before_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # An hourly plan of 2026 asked for a day in 2036 stepped through the 87,000
    # hours in between (for a day in 8999, sixty million: minutes of work).
    plan = make_plan(cadence="FREQ=HOURLY;INTERVAL=5", timezone="Asia/Shanghai",
                     starts_at=datetime(2026, 1, 5, 9, 17, tzinfo=UTC))
    counter = _CountingRule(monkeypatch)
    day = datetime(2036, 6, 1, tzinfo=ZoneInfo("Asia/Shanghai"))
    found = plan.occurrences(day, day + timedelta(days=1))
    after = plan.next_after(day)
    assert counter.walked < 1_000
    assert found
    assert after == found[0]
    step = (found[0].astimezone(UTC) - datetime(2026, 1, 5, 9, 17, tzinfo=UTC))
    assert step % timedelta(hours=5) == timedelta(0)
    assert all(b - a == timedelta(hours=5) for a, b in itertools.pairwise(found))


_FAR_CADENCES = ["FREQ=HOURLY;INTERVAL=7", "FREQ=DAILY;INTERVAL=3;BYHOUR=2,14",
                 "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH;BYSETPOS=-1",
                 "FREQ=WEEKLY;BYDAY=SU;BYHOUR=2;BYMINUTE=30", "FREQ=DAILY",
                 "FREQ=HOURLY;BYHOUR=1,2,3;INTERVAL=2", "FREQ=MONTHLY;BYMONTHDAY=31",
                 "FREQ=DAILY;COUNT=40"]


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(_FAR_CADENCES),
       st.sampled_from(["America/New_York", "Australia/Lord_Howe", "Asia/Shanghai",
                        "Pacific/Kiritimati"]),
       st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 31)),
       st.integers(0, 3 * 365 * 24), st.integers(1, 24 * 9))
def test_far_windows_list_what_the_plain_rule_lists(
    cadence: str, zone_name: str, start: datetime, offset_hours: int, length_hours: int,
) -> None:
    tz = ZoneInfo(zone_name)
    plan = make_plan(cadence=cadence, timezone=zone_name, starts_at=start.replace(tzinfo=tz))
    rule = plan._rule()
    lo = plan.starts_at + timedelta(hours=offset_hours)
    hi = lo + timedelta(hours=length_hours)
    walls = rule.between(plan._local(lo) - timedelta(days=1),
                         plan._local(hi) + timedelta(days=1), inc=True)
    expected = [w.replace(tzinfo=tz) for w in walls]
    expected = [t for t in expected
                if lo.astimezone(UTC) <= t.astimezone(UTC) < hi.astimezone(UTC)]
    assert plan.occurrences(lo, hi) == expected
    later = [w.replace(tzinfo=tz) for w in rule.xafter(plan._local(lo) - timedelta(days=1),
                                                        count=2000, inc=True)]
    later = [t for t in later if t.astimezone(UTC) > lo.astimezone(UTC)]
    assert plan.next_after(lo) == (later[0] if later else None)
