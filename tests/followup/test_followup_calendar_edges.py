"""Follow-up plans at the ends of the calendar: library errors, never OverflowError."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custmgmt.errors import ValidationError
from custmgmt.testing.followup_contract import make_plan

LAST = datetime(9999, 12, 31, 23, 59, tzinfo=UTC)
FIRST = datetime(1, 1, 1, tzinfo=UTC)


def test_a_start_with_no_wall_time_in_the_plans_zone_is_refused_by_field() -> None:
    # 23:00 UTC on the last day is already year 10000 in Shanghai (was OverflowError).
    late = datetime(9999, 12, 31, 23, 0, tzinfo=UTC)
    with pytest.raises(ValidationError, match=r"FollowUpPlan\.starts_at.*Asia/Shanghai"):
        make_plan(starts_at=late, created_at=late)
    # West of UTC the same instant has a wall time: the plan is fine.
    plan = make_plan(timezone="America/New_York", starts_at=late, created_at=late,
                     cadence="FREQ=HOURLY")
    assert [t.hour for t in plan.occurrences(late, LAST)] == [18]


def test_windows_reaching_the_calendars_last_instant_are_answered() -> None:
    # East of UTC, the window's end has no wall time (was OverflowError).
    start = datetime(8999, 12, 1, tzinfo=UTC)
    plan = make_plan(starts_at=start, created_at=start, cadence="FREQ=DAILY;BYHOUR=10")
    found = plan.occurrences(datetime(9999, 12, 25, tzinfo=UTC), LAST)
    assert [t.day for t in found] == [25, 26, 27, 28, 29, 30, 31]
    assert plan.next_after(LAST) is None
    assert plan.next_after(datetime(9999, 12, 31, 20, tzinfo=UTC)) is None


def test_a_plan_starting_at_the_calendars_first_instant_has_a_next_follow_up() -> None:
    plan = make_plan(starts_at=FIRST, created_at=FIRST, cadence="FREQ=DAILY;BYHOUR=10")
    found = plan.next_after(FIRST)  # was OverflowError (the start less a microsecond)
    assert found is not None
    assert found >= FIRST


@settings(max_examples=50, deadline=None)
@given(
    zone=st.sampled_from(["Asia/Shanghai", "Pacific/Kiritimati", "Pacific/Pago_Pago", "UTC"]),
    moment=st.datetimes(min_value=datetime(9999, 12, 29), max_value=datetime(9999, 12, 31, 23),
                        timezones=st.just(UTC)),
)
def test_near_the_end_a_plan_answers_or_refuses_with_a_library_error(
    zone: str, moment: datetime
) -> None:
    try:
        plan = make_plan(timezone=zone, starts_at=moment, created_at=moment,
                         cadence="FREQ=HOURLY")
    except ValidationError:
        return
    times = plan.occurrences(moment, LAST)
    assert times == sorted(times)
    assert all(moment <= t < LAST for t in times)
    nxt = plan.next_after(moment)
    assert nxt is None or nxt > moment
