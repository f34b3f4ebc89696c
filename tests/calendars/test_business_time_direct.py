"""add_business_time counts whole weeks instead of walking every working day.

The day-by-day walk it replaced is kept below, verbatim, as the slow reference; the
direct computation must give exactly its answer (to the microsecond, in the same zone)
and the same ValidationError for bad input, on random calendars, zones, starts and
durations from nothing to decades. Two deliberate differences are tested on their own:
the walk gave up after 200 years of days (a deadline 250 years ahead, before year 9999,
was refused), and a deadline at 24:00 on 9999-12-31 east of UTC raised OverflowError.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custmgmt.calendars import BusinessCalendar
from custmgmt.calendars import business as business_module
from custmgmt.calendars._reference import walked_add
from custmgmt.errors import ValidationError

US = timedelta(microseconds=1)
H = timedelta(hours=1)
ZONES = (
    "UTC",
    "Asia/Shanghai",
    "Europe/Berlin",
    "America/Sao_Paulo",  # DST changed at midnight until 2019, then none
    "America/New_York",
    "Australia/Lord_Howe",  # a 30-minute DST shift
    "America/Santiago",  # DST changes at midnight
    "Africa/Casablanca",  # DST suspended for Ramadan: several changes a year
    "EST5EDT,M3.2.0,M11.1.0",  # a POSIX rule string: dateutil's tzstr
    "Etc/GMT-14",
)
OFFICE = [(time(9), time(12)), (time(13), time(18))]

def outcome(call: Any) -> tuple[str, Any]:
    """A result with its offset, or a refusal as (field, value, message)."""
    try:
        result = call()
    except ValidationError as error:
        return "refused", (error.field, error.value, str(error))
    return "result", (result, result.isoformat(), result.tzinfo)


# -- random calendars, starts and durations ---------------------------------------------


@st.composite
def day_hours(draw: st.DrawFn) -> list[tuple[time, time]]:
    """Up to three non-overlapping intervals (split shifts), on a 5-minute grid; often none."""
    cuts = sorted(draw(st.lists(st.integers(0, 24 * 12), max_size=6, unique=True)))
    if len(cuts) % 2:
        cuts = cuts[:-1]
    return [
        (time(lo // 12, lo % 12 * 5), time(0) if hi == 24 * 12 else time(hi // 12, hi % 12 * 5))
        for lo, hi in zip(cuts[::2], cuts[1::2], strict=True)
    ]


@st.composite
def calendars(draw: st.DrawFn, first: int = 1995, last: int = 2060) -> BusinessCalendar:
    hours = {day: draw(day_hours()) for day in range(7)}
    if not any(hours.values()):
        hours[draw(st.integers(0, 6))] = list(OFFICE)
    days = st.dates(date(first, 1, 1), date(last, 12, 31))
    holidays = draw(st.sets(days, max_size=60))
    makeup = draw(st.sets(days, max_size=10)) - holidays
    return BusinessCalendar(
        tz=draw(st.sampled_from(ZONES)),
        hours=hours,
        holidays=holidays,
        extra_workdays=makeup,
        extra_workday_hours_from=draw(st.sampled_from([d for d in range(7) if hours[d]])),
    )


def instants(lo: datetime, hi: datetime) -> st.SearchStrategy[datetime]:
    return st.integers(0, (hi - lo) // US).map(lambda us: lo + us * US)


def weekly(calendar: BusinessCalendar) -> timedelta:
    return sum(calendar._schedule()[0], start=timedelta(0))


#: Durations in weeks of the calendar's own working time: up to a fortnight, two
#: years, or thirty years (the reference walks every day of them).
WEEKS = st.one_of(st.floats(0, 2), st.floats(0, 104), st.floats(0, 52 * 30))


@st.composite
def durations(draw: st.DrawFn, calendar: BusinessCalendar) -> timedelta:
    """A duration of up to decades of the calendar's working time, to the microsecond
    or on a 5-minute grid (deadlines then often fall exactly at an interval's end)."""
    us = int(draw(WEEKS) * (weekly(calendar) // US))
    us += draw(st.integers(-10**9, 10**9))
    if draw(st.booleans()):
        us -= us % (5 * 60 * 10**6)
    return max(us, 0) * US


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_adding_gives_exactly_what_the_day_by_day_walk_gives(data: st.DataObject) -> None:
    calendar = data.draw(calendars())
    start = data.draw(st.one_of(
        instants(datetime(1995, 1, 1, tzinfo=UTC), datetime(2030, 12, 31, tzinfo=UTC)),
        # In the zone: local midnights and working intervals' edges come up often.
        st.datetimes(datetime(1995, 1, 1), datetime(2030, 12, 31),
                     timezones=st.just(calendar.tzinfo)).map(
            lambda t: t.replace(minute=t.minute - t.minute % 5, second=0, microsecond=0)),
    ))
    delta = data.draw(durations(calendar))
    expected = outcome(lambda: walked_add(calendar, start, delta))
    assert outcome(lambda: calendar.add_business_time(start, delta)) == expected


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_a_deadline_at_the_end_of_a_working_interval_is_that_end(data: st.DataObject) -> None:
    # The working time up to the end of some later interval, often a whole number of
    # weeks of it: the earliest instant is that end, not the next morning.
    calendar = data.draw(calendars())
    start = data.draw(
        instants(datetime(1995, 1, 1, tzinfo=UTC), datetime(2030, 12, 31, tzinfo=UTC)))
    day = start.date() + timedelta(days=data.draw(st.one_of(
        st.integers(0, 40), st.integers(0, 7 * 200).map(lambda d: d - d % 7 + 6),
        st.integers(0, 366 * 25))))
    intervals = calendar.working_intervals(day)
    if not intervals:
        day += timedelta(days=1)
        intervals = calendar.working_intervals(day)
    ends = [end for _, end in intervals if end > start]
    end = data.draw(st.sampled_from(ends)) if ends else start + timedelta(days=1)
    delta = calendar.business_time_between(start, end)
    expected = outcome(lambda: walked_add(calendar, start, delta))
    assert outcome(lambda: calendar.add_business_time(start, delta)) == expected


@pytest.mark.parametrize("weeks", [0, 1, 2, 5, 52, 520])
@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin"])
def test_whole_weeks_end_on_the_last_working_day_of_the_week(zone: str, weeks: int) -> None:
    calendar = BusinessCalendar(tz=zone, hours=dict.fromkeys(range(5), OFFICE))
    thursday = datetime(2024, 1, 4, 0, 30, tzinfo=calendar.tzinfo)
    # Thursday and Friday, then whole 40-hour weeks: Friday 18:00 of the last one.
    delta = 16 * H + weeks * 40 * H
    end = calendar.add_business_time(thursday, delta)
    assert end == walked_add(calendar, thursday, delta)
    assert end == datetime(2024, 1, 5, 18, tzinfo=calendar.tzinfo) + timedelta(weeks=weeks)


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_near_the_ends_of_time_adding_answers_or_refuses_as_the_walk_does(
    data: st.DataObject,
) -> None:
    late = data.draw(st.booleans())
    calendar = data.draw(calendars(first=9970, last=9999) if late else calendars(first=1, last=40))
    lo, hi = (
        (datetime(9975, 1, 1, tzinfo=UTC), datetime(9999, 12, 30, tzinfo=UTC)) if late
        else (datetime(1, 1, 3, tzinfo=UTC), datetime(20, 1, 1, tzinfo=UTC))
    )
    start = data.draw(instants(lo, hi))
    delta = data.draw(durations(calendar))
    expected = outcome(lambda: walked_add(calendar, start, delta))
    assert outcome(lambda: calendar.add_business_time(start, delta)) == expected


@pytest.mark.parametrize("zone", ZONES)
def test_decades_across_offset_changes_agree_with_the_walk(zone: str) -> None:
    calendar = BusinessCalendar(
        tz=zone,
        hours={**dict.fromkeys(range(5), OFFICE), 5: [(time(0), time(2)), (time(22), time(0))],
               6: [(time(0), time(0))]},
        holidays=[date(year, 10, 1) for year in range(1985, 2020)],
        extra_workdays=[date(year, 9, 28) for year in range(1985, 2020)
                        if date(year, 9, 28).weekday() == 6],
    )
    start = datetime(1990, 3, 30, 1, 30, tzinfo=UTC)
    span = calendar.business_time_between(start, datetime(2015, 11, 2, 6, 45, tzinfo=UTC))
    for delta in (span, span - US, span + US, span - 7 * H, span + 30 * H):
        assert calendar.add_business_time(start, delta) == walked_add(calendar, start, delta)


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/Sao_Paulo", "America/Santiago"])
def test_deadlines_on_the_days_the_clocks_change_agree_with_the_walk(zone: str) -> None:
    calendar = BusinessCalendar(tz=zone, hours={d: [(time(0), time(3)), (time(22), time(0))]
                                                for d in range(7)})
    changes = [datetime.fromtimestamp(t, UTC) for t in calendar.tzinfo._trans_list_utc]
    changes = [c for c in changes if datetime(2005, 1, 1, tzinfo=UTC) < c
               < datetime(2018, 1, 1, tzinfo=UTC)]
    assert changes
    for change in changes[:8]:
        # Deadlines every 20 minutes of working time from two days before the change to
        # two days after it, from a start just before them (the first days' walk) and
        # from a start 40 days before (the days counted in bulk).
        for start in (change - timedelta(days=2, minutes=7), change - timedelta(days=40)):
            before = calendar.business_time_between(start, change - timedelta(days=2))
            for minutes in range(0, 4 * 5 * 60, 20):
                delta = before + timedelta(minutes=minutes, seconds=minutes % 7)
                found = calendar.add_business_time(start, delta)
                expected = walked_add(calendar, start, delta)
                assert (found, found.isoformat()) == (expected, expected.isoformat()), delta


# -- bad input: the same errors, naming the field ---------------------------------------

SHANGHAI = BusinessCalendar(tz="Asia/Shanghai", hours=dict.fromkeys(range(5), OFFICE))


@pytest.mark.parametrize(
    ("start", "delta", "field"),
    [
        (datetime(2024, 9, 24, 10), H, "start"),  # naive
        ("2024-09-24T10:00+08:00", H, "start"),
        (None, H, "start"),
        (datetime(2024, 9, 24, 10, tzinfo=UTC), -US, "delta"),
        (datetime(2024, 9, 24, 10, tzinfo=UTC), 3600, "delta"),
        (datetime(2024, 9, 24, 10, tzinfo=UTC), None, "delta"),
        (datetime(2024, 9, 24, 10, tzinfo=UTC), -timedelta(days=10**6), "delta"),
        # Not an instant of years 1 to 9999 in UTC.
        (datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-5))), H, "start"),
        (datetime(1, 1, 1, 1, tzinfo=timezone(timedelta(hours=14))), H, "start"),
        # Adding nothing answers in the zone, which cannot show 9999-12-31 23:00 UTC.
        (datetime(9999, 12, 31, 23, tzinfo=UTC), timedelta(0), "start"),
        # Deadlines past year 9999.
        (datetime(9999, 12, 1, 10, tzinfo=UTC), timedelta(days=10_000), "delta"),
        (datetime(9990, 1, 1, tzinfo=UTC), timedelta(days=10**6), "delta"),
        (datetime(9999, 12, 31, 9, tzinfo=UTC), timedelta(days=999_999_999), "delta"),
    ],
)
def test_bad_input_is_refused_as_the_walk_refuses_it(
    start: Any, delta: Any, field: str
) -> None:
    expected = outcome(lambda: walked_add(SHANGHAI, start, delta))
    assert expected[0] == "refused"
    assert expected[1][0] == field
    assert outcome(lambda: SHANGHAI.add_business_time(start, delta)) == expected


# -- deliberate differences from the walk -----------------------------------------------


def test_a_deadline_more_than_200_years_ahead_is_found() -> None:
    # The walk gave up after 200 years of days and refused the delta, naming year 9999.
    start = datetime(2000, 1, 3, 10, tzinfo=SHANGHAI.tzinfo)
    delta = timedelta(hours=40 * 52 * 250)  # 250 years of 40-hour weeks
    end = SHANGHAI.add_business_time(start, delta)
    assert datetime(2249, 1, 1, tzinfo=UTC) < end < datetime(2251, 1, 1, tzinfo=UTC)
    assert SHANGHAI.business_time_between(start, end) == delta
    assert SHANGHAI.business_time_between(start, end - US) < delta
    around_the_clock = BusinessCalendar.round_the_clock("UTC")
    start = datetime(2000, 1, 1, tzinfo=UTC)
    assert around_the_clock.add_business_time(start, timedelta(days=366 * 250)) == (
        start + timedelta(days=366 * 250)
    )


def test_a_deadline_at_the_end_of_9999_east_of_utc_is_refused_naming_delta() -> None:
    # The walk reached the deadline 24:00 on 9999-12-31 in Shanghai and raised
    # OverflowError showing it in the zone (10000-01-01 00:00).
    calendar = BusinessCalendar.round_the_clock("Asia/Shanghai")
    start = datetime(9999, 12, 31, tzinfo=calendar.tzinfo)
    with pytest.raises(OverflowError):
        walked_add(calendar, start, timedelta(hours=24))
    with pytest.raises(ValidationError) as caught:
        calendar.add_business_time(start, timedelta(hours=24))
    assert (caught.value.field, caught.value.value) == ("delta", timedelta(hours=24))
    assert "9999" in str(caught.value)
    last = calendar.add_business_time(start, timedelta(hours=24) - US)
    assert last == datetime.max.replace(tzinfo=calendar.tzinfo)


# -- how it works: whole weeks, not every day --------------------------------------------


def test_a_thousand_years_are_added_without_working_out_each_day(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calendar = BusinessCalendar(tz="Europe/Berlin", hours=dict.fromkeys(range(5), OFFICE),
                                holidays=[date(2024, 12, d) for d in range(23, 32)])
    days_worked_out: set[date] = set()
    original = BusinessCalendar._utc_intervals

    def counting(self: BusinessCalendar, day: date) -> Any:
        days_worked_out.add(day)
        return original(self, day)

    monkeypatch.setattr(BusinessCalendar, "_utc_intervals", counting)
    start = datetime(2024, 1, 1, 9, tzinfo=calendar.tzinfo)  # a Monday
    # 1,000 years of 40-hour weeks, less the holidays' 7 working days.
    delta = timedelta(hours=40) * 52_000 - 7 * 8 * H
    end = calendar.add_business_time(start, delta)
    # Berlin's offset changes end in 2037 (dateutil reads no rule past the last
    # listed change): the days around them, the holidays and the ends are worked out.
    assert len(days_worked_out) < 1_500
    # 52,000 weeks less the holidays' days: the Friday of the last week, at 18:00.
    assert end == datetime(3020, 8, 4, 18, tzinfo=calendar.tzinfo)
    assert calendar.business_time_between(start, end) == delta
    assert calendar.business_time_between(start, end - US) < delta


def test_a_zone_whose_changes_cannot_be_listed_is_walked_day_by_day(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calendar = BusinessCalendar(tz="Europe/London", hours=dict.fromkeys(range(5), OFFICE))
    start = datetime(2020, 1, 1, 11, tzinfo=UTC)
    deltas = [timedelta(hours=h) for h in (1, 100, 5_000, 20_000)]
    counted = [calendar.add_business_time(start, d) for d in deltas]
    monkeypatch.setattr(business_module.BusinessCalendar, "_offset_change_days",
                        lambda self, first, last: None)
    assert [calendar.add_business_time(start, d) for d in deltas] == counted == [
        walked_add(calendar, start, d) for d in deltas
    ]
