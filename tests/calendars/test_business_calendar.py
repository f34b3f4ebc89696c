"""BusinessCalendar: hand-computed business time, DST, holidays, make-up days, bad input."""

from __future__ import annotations

import pickle
from datetime import UTC, date, datetime, time, timedelta

import attrs
import pytest
from dateutil import tz

from custmgmt.calendars import BusinessCalendar
from custmgmt.errors import ValidationError

LUNCH_BREAK = [(time(9), time(12)), (time(13), time(18))]
SH = tz.gettz("Asia/Shanghai")
NY = tz.gettz("America/New_York")
H = timedelta(hours=1)
M = timedelta(minutes=1)


def shanghai(**kwargs: object) -> BusinessCalendar:
    return BusinessCalendar(
        tz="Asia/Shanghai", hours=dict.fromkeys(range(5), LUNCH_BREAK), **kwargs
    )


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)  # type: ignore[misc]


def ny(*args: int) -> datetime:
    return datetime(*args, tzinfo=NY)  # type: ignore[misc]


NATIONAL_DAY = shanghai(
    holidays=[date(2024, 10, d) for d in range(1, 8)],
    extra_workdays=[date(2024, 9, 29), date(2024, 10, 12)],
)
NEW_YORK = BusinessCalendar(
    tz="America/New_York", hours={d: [(time(9), time(17))] for d in range(5)}
)


# -- hand-computed business time ----------------------------------------------------


def test_the_lunch_break_is_not_working_time() -> None:
    # 11:00-12:00 (1 h) + 13:00-14:30 (1 h 30) = 2 h 30, though 3 h 30 pass on the wall.
    assert shanghai().business_time_between(sh(2024, 9, 24, 11), sh(2024, 9, 24, 14, 30)) == (
        2 * H + 30 * M
    )


def test_a_weekend_is_skipped() -> None:
    # Friday 16:30-18:00 (1 h 30) + Monday 09:00-10:00 (1 h) = 2 h 30.
    assert shanghai().business_time_between(sh(2024, 9, 20, 16, 30), sh(2024, 9, 23, 10)) == (
        2 * H + 30 * M
    )


def test_public_holidays_are_skipped() -> None:
    # Mon 30 Sep 17:00-18:00 (1 h); 1-7 Oct off; Tue 8 Oct 09:00-11:00 (2 h) = 3 h.
    assert NATIONAL_DAY.business_time_between(sh(2024, 9, 30, 17), sh(2024, 10, 8, 11)) == 3 * H


def test_a_make_up_saturday_works_monday_hours() -> None:
    # Sat 12 Oct is a make-up day: 09:00-12:00 (3 h) + 13:00-18:00 (5 h) = 8 h.
    assert NATIONAL_DAY.business_time_between(sh(2024, 10, 12), sh(2024, 10, 13)) == 8 * H
    # An ordinary Saturday has none.
    assert NATIONAL_DAY.business_time_between(sh(2024, 10, 19), sh(2024, 10, 20)) == timedelta(0)


def test_make_up_days_can_work_another_weekdays_hours() -> None:
    hours = {0: [(time(9), time(17))], 4: [(time(9), time(12))]}
    calendar = BusinessCalendar(
        tz="UTC", hours=hours, extra_workdays=[date(2024, 10, 12)], extra_workday_hours_from=4
    )
    day = datetime(2024, 10, 12, tzinfo=UTC)
    # Friday's hours, 09:00-12:00 = 3 h.
    assert calendar.business_time_between(day, day + 24 * H) == 3 * H


def test_adding_business_time_crosses_a_weekend_and_a_lunch_break() -> None:
    # Friday 17:00 + 5 h: 17:00-18:00 (1 h), Monday 09:00-12:00 (3 h), 13:00-14:00 (1 h).
    assert shanghai().add_business_time(sh(2024, 9, 20, 17), 5 * H) == sh(2024, 9, 23, 14)


def test_adding_business_time_crosses_the_national_day_week() -> None:
    # Fri 27 Sep 17:00 + 17 h: Fri 1 h, Sun 29 Sep (make-up) 8 h, Mon 30 Sep 8 h = 17 h,
    # reached at Monday 18:00; holidays follow but the deadline is already met.
    assert NATIONAL_DAY.add_business_time(sh(2024, 9, 27, 17), 17 * H) == sh(2024, 9, 30, 18)
    # One more hour falls after the holidays: Tue 8 Oct 10:00.
    assert NATIONAL_DAY.add_business_time(sh(2024, 9, 27, 17), 18 * H) == sh(2024, 10, 8, 10)


def test_a_deadline_at_the_end_of_a_day_is_that_evening() -> None:
    # 14:00 + 4 h = 18:00 the same day (earliest instant), not 09:00 the next morning.
    assert shanghai().add_business_time(sh(2024, 9, 24, 14), 4 * H) == sh(2024, 9, 24, 18)


def test_adding_nothing_returns_the_start_even_outside_working_hours() -> None:
    sunday = sh(2024, 9, 22, 3)
    assert shanghai().add_business_time(sunday, timedelta(0)) == sunday


def test_results_are_in_the_calendars_zone() -> None:
    result = shanghai().add_business_time(datetime(2024, 9, 23, 1, tzinfo=UTC), H)
    # 01:00 UTC is 09:00 in Shanghai; one hour later is 10:00 +08:00.
    assert result.isoformat() == "2024-09-23T10:00:00+08:00"


def test_a_utc_plus_8_calendar_reads_utc_inputs_in_local_time() -> None:
    # Sunday 23:00 UTC is Monday 07:00 in Shanghai; Monday 02:00 UTC is 10:00 there:
    # 09:00-10:00 = 1 h, though both inputs fall on a UTC Sunday/Monday night.
    start = datetime(2024, 9, 22, 23, tzinfo=UTC)
    end = datetime(2024, 9, 23, 2, tzinfo=UTC)
    assert shanghai().business_time_between(start, end) == H


def test_between_is_negative_when_end_is_before_start() -> None:
    a, b = sh(2024, 9, 24, 10), sh(2024, 9, 24, 11)
    assert shanghai().business_time_between(b, a) == -H


# -- DST ----------------------------------------------------------------------------


def test_dst_does_not_stretch_a_weekend_in_new_york() -> None:
    # Fall back on Sunday 3 Nov 2024. Fri 1 Nov 16:00 EDT to Mon 4 Nov 10:00 EST:
    # Friday 16:00-17:00 (1 h) + Monday 09:00-10:00 (1 h) = 2 h of business time,
    # while the wall clock shows 66 h (3 days less 6 h) and 67 h really elapse.
    start, end = ny(2024, 11, 1, 16), ny(2024, 11, 4, 10)
    assert NEW_YORK.business_time_between(start, end) == 2 * H
    assert end.astimezone(UTC) - start.astimezone(UTC) == 66 * H + H


def test_adding_across_the_spring_change_lands_on_local_wall_time() -> None:
    # Spring forward on Sunday 10 Mar 2024. Fri 8 Mar 16:00 EST + 3 h:
    # Friday 1 h, Monday 11 Mar 09:00-11:00 EDT 2 h -> 11:00 EDT (15:00 UTC).
    result = NEW_YORK.add_business_time(ny(2024, 3, 8, 16), 3 * H)
    assert result.astimezone(UTC) == datetime(2024, 3, 11, 15, tzinfo=UTC)


def test_round_the_clock_days_have_23_and_25_hours_on_dst_changes() -> None:
    calendar = BusinessCalendar.round_the_clock("America/New_York")
    assert calendar.business_time_between(ny(2024, 3, 10), ny(2024, 3, 11)) == 23 * H
    assert calendar.business_time_between(ny(2024, 11, 3), ny(2024, 11, 4)) == 25 * H


def test_working_intervals_spanning_a_dst_change_count_real_time() -> None:
    # Sunday hours 00:30-02:30 and 03:00-06:00.
    calendar = BusinessCalendar(
        tz="America/New_York", hours={6: [(time(0, 30), time(2, 30)), (time(3), time(6))]}
    )
    # Fall back: 00:30 EDT to 02:30 EST is 3 h (01:00-02:00 happens twice), then 3 h.
    assert calendar.business_time_between(ny(2024, 11, 3), ny(2024, 11, 4)) == 6 * H
    # Spring forward: 02:30 does not exist and reads as 03:30 EDT (dateutil shifts it
    # by the gap): 00:30 EST-03:30 EDT is 2 h; the second interval is clipped to start
    # at 03:30, 2 h 30: 4 h 30 in all.
    assert calendar.business_time_between(ny(2024, 3, 10), ny(2024, 3, 11)) == 4 * H + 30 * M


# -- instants -----------------------------------------------------------------------


def test_is_working_time_is_half_open() -> None:
    calendar = shanghai()
    assert calendar.is_working_time(sh(2024, 9, 24, 9))
    assert calendar.is_working_time(sh(2024, 9, 24, 11, 59))
    assert not calendar.is_working_time(sh(2024, 9, 24, 12))
    assert not calendar.is_working_time(sh(2024, 9, 22, 10))  # Sunday


def test_next_working_time_skips_lunch_nights_and_holidays() -> None:
    assert shanghai().next_working_time(sh(2024, 9, 24, 12, 30)) == sh(2024, 9, 24, 13)
    assert shanghai().next_working_time(sh(2024, 9, 24, 10)) == sh(2024, 9, 24, 10)
    assert NATIONAL_DAY.next_working_time(sh(2024, 9, 30, 19)) == sh(2024, 10, 8, 9)


# -- the holidays package -----------------------------------------------------------


def test_from_holidays_loads_chinas_days_off_and_make_up_days() -> None:
    calendar = BusinessCalendar.from_holidays("CN", years=2024)
    assert calendar.tz == "Asia/Shanghai"
    assert date(2024, 10, 1) in calendar.holidays
    # Sunday 4 Feb and Saturday 12 Oct 2024 were make-up working days.
    assert {date(2024, 2, 4), date(2024, 10, 12)} <= calendar.extra_workdays
    assert all(day.year == 2024 for day in calendar.holidays | calendar.extra_workdays)
    # Sat 12 Oct works Monday's default hours: 8 h.
    assert calendar.business_time_between(sh(2024, 10, 12), sh(2024, 10, 13)) == 8 * H


def test_from_holidays_needs_a_zone_for_countries_with_several() -> None:
    with pytest.raises(ValidationError, match="tz"):
        BusinessCalendar.from_holidays("US", years=2024)
    calendar = BusinessCalendar.from_holidays("US", years=[2024], tz="America/New_York")
    assert date(2024, 7, 4) in calendar.holidays


def test_from_holidays_refuses_unknown_countries() -> None:
    with pytest.raises(ValidationError, match="country"):
        BusinessCalendar.from_holidays("XX", years=2024, tz="UTC")


# -- value semantics ----------------------------------------------------------------


def test_a_calendar_is_a_frozen_hashable_value() -> None:
    a, b = shanghai(), shanghai()
    assert a == b
    assert hash(a) == hash(b)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        a.tz = "UTC"  # type: ignore[misc]
    assert attrs.evolve(a, tz="UTC").tz == "UTC"
    assert pickle.loads(pickle.dumps(NATIONAL_DAY)) == NATIONAL_DAY
    assert a.hours[0] == tuple(LUNCH_BREAK)
    assert a.hours[6] == ()


# -- bad input ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"tz": "Mars/Olympus"}, "BusinessCalendar.tz"),
        ({"tz": ""}, "BusinessCalendar.tz"),
        ({"hours": {7: LUNCH_BREAK}}, "BusinessCalendar.hours"),
        ({"hours": {-1: LUNCH_BREAK}}, "BusinessCalendar.hours"),
        ({"hours": {0: [(time(12), time(9))]}}, "BusinessCalendar.hours[0]"),
        ({"hours": {0: [(time(9), time(9))]}}, "BusinessCalendar.hours[0]"),
        ({"hours": {0: [(time(9), time(12)), (time(11), time(13))]}}, "BusinessCalendar.hours[0]"),
        ({"hours": {0: [(time(9), time(0)), (time(10), time(11))]}}, "BusinessCalendar.hours[0]"),
        ({"hours": {0: ["09:00-12:00"]}}, "BusinessCalendar.hours[0]"),
        ({"hours": {}}, "BusinessCalendar.hours"),
        ({"holidays": [datetime(2024, 10, 1)]}, "BusinessCalendar.holidays"),
        ({"holidays": date(2024, 10, 1)}, "BusinessCalendar.holidays"),
        (
            {"holidays": [date(2024, 10, 12)], "extra_workdays": [date(2024, 10, 12)]},
            "BusinessCalendar.extra_workdays",
        ),
        ({"extra_workday_hours_from": 7}, "BusinessCalendar.extra_workday_hours_from"),
        (
            {"extra_workdays": [date(2024, 10, 12)], "extra_workday_hours_from": 6},
            "BusinessCalendar.extra_workday_hours_from",
        ),
    ],
)
def test_bad_calendars_are_refused_naming_the_field(kwargs: dict[str, object], field: str) -> None:
    arguments: dict[str, object] = {"tz": "Asia/Shanghai", "hours": {0: LUNCH_BREAK}}
    arguments.update(kwargs)
    with pytest.raises(ValidationError) as caught:
        BusinessCalendar(**arguments)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_overlapping_intervals_are_named_in_the_error() -> None:
    with pytest.raises(ValidationError, match="do not overlap"):
        BusinessCalendar(tz="UTC", hours={2: [(time(9), time(12)), (time(11), time(14))]})


def test_a_make_up_day_that_is_also_a_holiday_is_refused() -> None:
    with pytest.raises(ValidationError, match="not a holiday") as caught:
        shanghai(holidays=[date(2024, 10, 12)], extra_workdays=[date(2024, 10, 12)])
    assert caught.value.value == date(2024, 10, 12)


def test_naive_datetimes_are_refused() -> None:
    naive = datetime(2024, 9, 24, 10)
    calendar = shanghai()
    with pytest.raises(ValidationError, match="naive"):
        calendar.business_time_between(naive, sh(2024, 9, 24, 11))
    with pytest.raises(ValidationError, match="naive"):
        calendar.add_business_time(naive, H)
    with pytest.raises(ValidationError, match="naive"):
        calendar.is_working_time(naive)
    with pytest.raises(ValidationError, match="naive"):
        calendar.next_working_time(naive)


@pytest.mark.parametrize("delta", [-M, 3600, None])
def test_add_refuses_negative_or_non_timedelta_deltas(delta: object) -> None:
    with pytest.raises(ValidationError) as caught:
        shanghai().add_business_time(sh(2024, 9, 24, 10), delta)  # type: ignore[arg-type]
    assert caught.value.field == "delta"


def test_add_refuses_deadlines_past_year_9999() -> None:
    with pytest.raises(ValidationError, match="9999"):
        shanghai().add_business_time(sh(9999, 12, 1, 10), timedelta(days=10_000))
