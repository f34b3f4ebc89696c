"""BusinessTimeTable.build tiles the weekly schedule instead of walking every day.

The day-by-day build it replaced is kept below, verbatim, as the slow reference: the
direct build must give exactly its arrays (starts, ends, cumulative sums, ``lo`` and
``hi``) on random calendars (split shifts, empty days, holidays, make-up days), zones
with and without DST (changes at midnight, 30-minute changes, the date line) and spans
from one day to centuries. The ends of time are tested on their own: the old build and
``covering`` raised OverflowError for the day after 9999-12-31, and a table that
reaches an end of time now spans every instant UTC has there.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custmgmt.calendars import BusinessCalendar, BusinessTimeTable
from custmgmt.calendars._reference import built_day_by_day
from custmgmt.domain.time import to_epoch_micros
from custmgmt.errors import ValidationError
from custmgmt.team.performance import PerformanceFrame, team_performance

ONE_DAY = timedelta(days=1)
ZONES = (
    "UTC",
    "Europe/Berlin",
    "America/Sao_Paulo",  # DST changed at midnight until 2019, then none
    "Pacific/Kiritimati",  # UTC+14 since 1995 (skipped 1994-12-31), -10:40 before
    "Asia/Shanghai",
    "America/New_York",
    "Australia/Lord_Howe",  # a 30-minute DST shift
    "America/Santiago",  # DST changes at midnight
    "Africa/Casablanca",  # DST suspended for Ramadan: several changes a year
    "Asia/Manila",  # LMT east of the date line until 1844, then west of it
    "EST5EDT,M3.2.0,M11.1.0",  # a POSIX rule string: dateutil's tzstr
    "Etc/GMT-14",
    "Etc/GMT+12",
)


def assert_same_as_reference(
    calendar: BusinessCalendar, first_day: date, last_day: date
) -> BusinessTimeTable:
    table = BusinessTimeTable.build(calendar, first_day, last_day)
    lo, hi, starts, ends = built_day_by_day(calendar, first_day, last_day)
    assert table.starts.dtype == np.int64
    assert table.starts.tolist() == starts
    assert table.ends.tolist() == ends
    lengths = np.asarray(ends, dtype=np.int64) - np.asarray(starts, dtype=np.int64)
    assert table.cum_end.tolist() == np.cumsum(lengths, dtype=np.int64).tolist()
    assert table.cum_start.tolist() == (table.cum_end - lengths).tolist()
    if first_day == date.min:  # the one deliberate difference (tested below)
        lo = min(lo, to_epoch_micros(datetime.min.replace(tzinfo=UTC)))
    assert (table.lo, table.hi) == (lo, hi)
    return table


# -- random calendars -----------------------------------------------------------------

_minutes = st.integers(0, 24 * 60)


@st.composite
def day_hours(draw: st.DrawFn) -> list[tuple[time, time]]:
    """Nothing, one shift, or a split shift (touching shifts and 24:00 ends included)."""
    cuts = sorted(draw(st.lists(_minutes, min_size=0, max_size=6, unique=True)))
    if len(cuts) % 2:
        cuts = cuts[:-1]
    hours: list[tuple[time, time]] = []
    for a, b in zip(cuts[::2], cuts[1::2], strict=True):
        start = time(a // 60, a % 60)
        end = time(0) if b == 24 * 60 else time(b // 60, b % 60)
        hours.append((start, end))
    if draw(st.booleans()) and len(hours) >= 2:  # make two shifts touch
        hours[1] = (hours[0][1], hours[1][1]) if hours[0][1] != time(0) else hours[1]
    return hours


@st.composite
def calendars_and_spans(draw: st.DrawFn) -> tuple[BusinessCalendar, date, date]:
    week = {d: draw(day_hours()) for d in range(7)}
    if not any(week.values()):
        week[draw(st.integers(0, 6))] = [(time(9), time(17))]
    zone = draw(st.sampled_from(ZONES))
    span = draw(st.one_of(st.integers(0, 40), st.integers(0, 800), st.integers(0, 4_000),
                          st.integers(0, 40_000)))
    first = draw(st.one_of(
        st.dates(date(1880, 1, 1), date(2100, 12, 31)),  # where zones change offsets
        st.dates(date(1, 1, 1), date(9999, 12, 30)),
        st.dates(date(1, 1, 1), date(1, 1, 20)),  # the first days of time
    ))
    last = min(first + timedelta(days=span), date(9999, 12, 30))
    inside = st.dates(first, last)
    holidays = set(draw(st.lists(inside, max_size=12)))
    makeup = set(draw(st.lists(inside, max_size=6))) - holidays
    hours_from = draw(st.sampled_from([d for d in range(7) if week[d]]))
    calendar = BusinessCalendar(tz=zone, hours=week, holidays=holidays,
                                extra_workdays=makeup, extra_workday_hours_from=hours_from)
    return calendar, first, last


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(calendars_and_spans())
def test_the_direct_build_equals_the_day_by_day_build(
    case: tuple[BusinessCalendar, date, date],
) -> None:
    calendar, first, last = case
    assert_same_as_reference(calendar, first, last)


@pytest.mark.parametrize(("zone", "first", "last"), [
    ("Europe/Berlin", date(1800, 1, 1), date(2199, 12, 30)),  # 400 years, the longest
    ("America/Sao_Paulo", date(1900, 1, 1), date(2099, 12, 31)),
    ("Pacific/Kiritimati", date(1901, 1, 1), date(2100, 1, 1)),
    ("Asia/Manila", date(1700, 6, 1), date(2000, 1, 1)),
])
def test_centuries_equal_the_day_by_day_build(zone: str, first: date, last: date) -> None:
    office = [(time(9), time(12)), (time(13), time(18))]
    week = {0: office, 1: office, 2: office, 3: office, 4: office,
            5: [(time(0), time(1)), (time(23), time(0))]}
    holidays = {date(y, m, d) for y in range(first.year, last.year)
                for m, d in ((1, 1), (5, 1), (10, 3), (12, 25))} - {first, last}
    makeup = {date(y, 2, 7) for y in range(first.year, last.year, 3)} - holidays
    calendar = BusinessCalendar(tz=zone, hours=week, holidays=holidays,
                                extra_workdays=makeup)
    table = assert_same_as_reference(calendar, first, last)
    assert table.starts.size > 100_000


def test_a_round_the_clock_calendar_across_sao_paulos_midnight_changes() -> None:
    # DST began at 00:00 (that midnight did not exist) and ended at 00:00 (the hour
    # 23:00-24:00 came twice): the days' intervals are 23 and 25 hours long.
    calendar = BusinessCalendar.round_the_clock("America/Sao_Paulo")
    table = assert_same_as_reference(calendar, date(2017, 1, 1), date(2019, 12, 31))
    lengths = set((table.ends - table.starts).tolist())
    assert lengths == {h * 3_600_000_000 for h in (23, 24, 25)}


# -- the ends of time -----------------------------------------------------------------


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Etc/GMT+12", "UTC",
                                  "America/New_York"])
def test_a_table_ending_on_9999_12_31_spans_the_last_utc_instant(zone: str) -> None:
    # The old build computed the midnight after 9999-12-31 (OverflowError).
    calendar = BusinessCalendar.round_the_clock(zone)
    table = BusinessTimeTable.build(calendar, date(9999, 12, 20), date.max)
    last = to_epoch_micros(datetime.max.replace(tzinfo=UTC))
    assert table.hi >= last
    # Working time ends where datetime ends (the calendar's convention).
    start = datetime(9999, 12, 25, tzinfo=UTC)
    expected = calendar.business_time_between(start, datetime.max.replace(tzinfo=UTC))
    got = table.between([to_epoch_micros(start)], [last])
    assert int(got[0]) == expected // timedelta(microseconds=1)
    # Up to the day before the end the arrays are the reference's.
    before = BusinessTimeTable.build(calendar, date(9999, 12, 20), date(9999, 12, 30))
    lo, hi, starts, ends = built_day_by_day(calendar, date(9999, 12, 20), date(9999, 12, 30))
    assert (before.lo, before.hi, before.starts.tolist(), before.ends.tolist()) == (
        lo, hi, starts, ends)


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "America/New_York", "Etc/GMT+12"])
def test_a_table_starting_on_0001_01_01_spans_the_first_utc_instant(zone: str) -> None:
    calendar = BusinessCalendar.round_the_clock(zone)
    table = BusinessTimeTable.build(calendar, date.min, date(1, 1, 10))
    first = to_epoch_micros(datetime.min.replace(tzinfo=UTC))
    assert table.lo <= first
    end = datetime(1, 1, 5, tzinfo=UTC)
    expected = calendar.business_time_between(datetime.min.replace(tzinfo=UTC), end)
    assert int(table.between([first], [to_epoch_micros(end)])[0]) == (
        expected // timedelta(microseconds=1))


@pytest.mark.parametrize(("zone", "start", "end"), [
    # The day after 9999-12-31 in Kiritimati's zone: OverflowError.
    ("Pacific/Kiritimati", datetime(9999, 12, 31, tzinfo=UTC),
     datetime(9999, 12, 31, 23, tzinfo=UTC)),
    # 9999-12-31 12:00 UTC is already year 10000 in Kiritimati.
    ("Pacific/Kiritimati", datetime(9999, 12, 31, 12, tzinfo=UTC),
     datetime.max.replace(tzinfo=UTC)),
    # The day before 0001-01-01 in New York (and the instant is year 0 there).
    ("America/New_York", datetime(1, 1, 1, tzinfo=UTC), datetime(1, 1, 3, tzinfo=UTC)),
])
def test_covering_clamps_the_days_around_the_span_to_the_ends_of_time(
    zone: str, start: datetime, end: datetime,
) -> None:
    calendar = BusinessCalendar.round_the_clock(zone)
    table = BusinessTimeTable.covering(calendar, start, end)
    got = table.between([to_epoch_micros(start)], [to_epoch_micros(end)])
    expected = calendar.business_time_between(start, end)
    assert int(got[0]) == expected // timedelta(microseconds=1)


def test_covering_names_then_at_least_when_time_ends_first() -> None:
    calendar = BusinessCalendar.round_the_clock("Pacific/Kiritimati")
    at = datetime(9999, 12, 30, tzinfo=UTC)
    # It computed days past 9999-12-31 (OverflowError); now time ends first, by name.
    with pytest.raises(ValidationError, match="within years 1 to 9999") as caught:
        BusinessTimeTable.covering(calendar, at, at, then_at_least=timedelta(days=5))
    assert caught.value.field == "then_at_least"
    enough = BusinessTimeTable.covering(calendar, at, at, then_at_least=timedelta(hours=20))
    assert int(enough.add([to_epoch_micros(at)], [20 * 3_600_000_000])[0]) == (
        to_epoch_micros(at + timedelta(hours=20)))


def _us(moment: datetime) -> int:
    return to_epoch_micros(moment)


def test_team_performance_of_a_ticket_opened_on_9999_12_31_in_kiritimati() -> None:
    # The repro: covering() computed the local day after 9999-12-31 (OverflowError,
    # turned into a refusal by team_performance); the figures exist.
    opened = datetime(9999, 12, 31, tzinfo=UTC)
    frame = PerformanceFrame.from_arrays(
        agent_ids=["a"], as_of=datetime(9999, 12, 31, 23, tzinfo=UTC), agent=[0],
        created=[_us(opened)], first_response=[_us(opened + timedelta(hours=1))])
    perf = team_performance(frame, start=datetime(9999, 12, 30, tzinfo=UTC),
                            end=datetime(9999, 12, 31, 23, 59, tzinfo=UTC),
                            calendar=BusinessCalendar.round_the_clock("Pacific/Kiritimati"))
    assert perf.row("a").first_response_median == timedelta(hours=1)
