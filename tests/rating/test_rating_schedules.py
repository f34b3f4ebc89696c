"""Rating schedules find the runs next to any moment without walking from 2000."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr
from hypothesis import given, settings
from hypothesis import strategies as st

from custmgmt.errors import ValidationError
from custmgmt.rating import RatingPolicy, Schedule
from custmgmt.rating.policy import NAMED_SCHEDULES, SCHEDULE_ANCHOR

RULES = [
    "monthly",
    "quarterly",
    "FREQ=DAILY",
    "FREQ=DAILY;BYHOUR=0,6,12,18;BYMINUTE=0,30;BYSECOND=0",
    "FREQ=DAILY;INTERVAL=3;BYHOUR=2,14",
    "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=29;BYHOUR=3",
    "FREQ=WEEKLY",
    "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH;BYHOUR=6",
    "FREQ=MONTHLY;BYDAY=-1FR",
    "FREQ=MONTHLY;INTERVAL=5;BYSETPOS=-1;BYDAY=MO,TU",
    "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
    "FREQ=YEARLY;INTERVAL=3;BYWEEKNO=20;BYDAY=WE",
    "FREQ=DAILY;UNTIL=20100101T000000Z",
]
ZONES = ["UTC", "Asia/Shanghai", "Europe/Berlin", "America/New_York"]


def walked_from_the_anchor(rule: str, zone: str) -> object:
    """The reference: dateutil's rule iterated from the anchor, as before."""
    text = NAMED_SCHEDULES.get(rule, rule)
    return rrulestr(text, dtstart=SCHEDULE_ANCHOR.replace(tzinfo=ZoneInfo(zone)))


@settings(max_examples=60, deadline=None)
@given(
    rule=st.sampled_from(RULES),
    zone=st.sampled_from(ZONES),
    moment=st.datetimes(
        min_value=datetime(1999, 6, 1), max_value=datetime(2031, 1, 1), timezones=st.just(UTC)
    ),
)
def test_next_and_previous_runs_are_those_of_the_rule_walked_from_the_anchor(
    rule: str, zone: str, moment: datetime
) -> None:
    schedule = Schedule(rule=rule, timezone=zone)
    reference = walked_from_the_anchor(rule, zone)
    expected_next = reference.after(moment, inc=False)  # type: ignore[attr-defined]
    assert schedule.next_runs(moment) == ([] if expected_next is None else [expected_next])
    assert schedule.previous_run(moment) == reference.before(moment, inc=True)  # type: ignore[attr-defined]


def test_runs_far_from_2000_are_found_directly() -> None:
    policy = RatingPolicy.default()
    runs = policy.next_runs(after=datetime(9000, 1, 15, tzinfo=UTC), count=2)
    assert runs == [datetime(9000, 2, 1, tzinfo=UTC), datetime(9000, 3, 1, tzinfo=UTC)]
    assert policy.previous_run_time(datetime(9000, 1, 15, tzinfo=UTC)) == datetime(
        9000, 1, 1, tzinfo=UTC
    )
    leap = Schedule(rule="FREQ=DAILY;BYMONTH=2;BYMONTHDAY=29;BYHOUR=6")
    assert leap.previous_run(datetime(8000, 1, 1, tzinfo=UTC)) == datetime(
        7996, 2, 29, 6, tzinfo=UTC
    )


def test_before_the_anchor_there_is_no_previous_run() -> None:
    schedule = Schedule(rule="FREQ=DAILY")
    assert schedule.previous_run(datetime(1999, 12, 31, tzinfo=UTC)) is None
    assert schedule.next_runs(datetime(1, 1, 1, tzinfo=UTC)) == [
        datetime(2000, 1, 3, tzinfo=UTC)
    ]


def test_at_the_end_of_the_calendar_there_is_no_next_run() -> None:
    schedule = Schedule(rule="FREQ=DAILY;BYHOUR=23;BYMINUTE=59", timezone="Asia/Shanghai")
    end = datetime.max.replace(tzinfo=UTC)
    assert schedule.next_runs(end) == []
    previous = schedule.previous_run(end)
    assert previous is not None
    assert end - previous < timedelta(days=1)


@pytest.mark.parametrize("freq", ["SECONDLY", "MINUTELY", "HOURLY"])
def test_sub_daily_schedules_are_refused_with_a_daily_alternative(freq: str) -> None:
    text = json.dumps({"criteria": {"spend": {"weight": 1}}, "schedule": f"FREQ={freq}"})
    with pytest.raises(ValidationError, match=r"^schedule\.rule: .*FREQ=DAILY;BYHOUR="):
        RatingPolicy.from_json(text)


def test_several_runs_a_day_are_written_as_a_daily_rule() -> None:
    schedule = Schedule(rule="FREQ=DAILY;BYHOUR=0,12")
    assert schedule.next_runs(datetime(2026, 5, 1, 6, tzinfo=UTC), count=2) == [
        datetime(2026, 5, 1, 12, tzinfo=UTC),
        datetime(2026, 5, 2, tzinfo=UTC),
    ]


def test_a_count_is_refused_since_it_would_count_from_2000() -> None:
    with pytest.raises(ValidationError, match=r"^schedule\.rule: .*without COUNT.*UNTIL"):
        Schedule(rule="FREQ=MONTHLY;COUNT=12")


@pytest.mark.parametrize("rule", ["FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "FREQ=DAILY;BYSETPOS=2"])
def test_a_rule_without_runs_is_refused(rule: str) -> None:
    with pytest.raises(ValidationError, match=r"^schedule\.rule: .*a rule that recurs"):
        Schedule(rule=rule)
