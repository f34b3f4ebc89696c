"""Long spans and the ends of time: business_time_between counts whole weeks, and
instants of years 1 and 9999 end in a ValidationError, never an OverflowError."""

from __future__ import annotations

import contextlib
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custmgmt.calendars import BusinessCalendar
from custmgmt.calendars import business as business_module
from custmgmt.errors import ValidationError

US = timedelta(microseconds=1)
ZONES = (
    "UTC",
    "Asia/Shanghai",
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",  # a 30-minute DST shift
    "America/Santiago",  # DST changes at midnight
    "Africa/Casablanca",  # DST suspended for Ramadan: several changes a year
    "EST5EDT,M3.2.0,M11.1.0",  # a POSIX rule string: dateutil's tzstr
    "Etc/GMT-14",
)
OFFICE = [(time(9), time(12)), (time(13), time(18))]


def walked(calendar: BusinessCalendar, start: datetime, end: datetime) -> timedelta:
    """The previous implementation, kept as the slow reference: every day of the span."""
    a, b = start.astimezone(UTC), end.astimezone(UTC)
    if b < a:
        return -walked(calendar, end, start)
    total = timedelta(0)
    day = a.astimezone(calendar.tzinfo).date() - timedelta(days=1)
    last = b.astimezone(calendar.tzinfo).date()
    while day <= last:
        for lo, hi in calendar._utc_intervals(day):
            lo, hi = max(lo, a), min(hi, b)
            if hi > lo:
                total += hi - lo
        day += timedelta(days=1)
    return total


@st.composite
def day_hours(draw: st.DrawFn) -> list[tuple[time, time]]:
    """Up to three non-overlapping intervals of a day on a 15-minute grid (may touch)."""
    cuts = sorted(draw(st.lists(st.integers(0, 24 * 4), max_size=6, unique=True)))
    if len(cuts) % 2:
        cuts = cuts[:-1]
    return [
        (time(lo // 4, lo % 4 * 15), time(0) if hi == 96 else time(hi // 4, hi % 4 * 15))
        for lo, hi in zip(cuts[::2], cuts[1::2], strict=True)
    ]


@st.composite
def calendars(draw: st.DrawFn, first: int = 1995, last: int = 2045) -> BusinessCalendar:
    hours = {day: draw(day_hours()) for day in range(7)}
    if not any(hours.values()):
        hours[0] = list(OFFICE)
    days = st.dates(date(first, 1, 1), date(last, 12, 31))
    holidays = draw(st.sets(days, max_size=40))
    makeup = draw(st.sets(days, max_size=8)) - holidays
    return BusinessCalendar(
        tz=draw(st.sampled_from(ZONES)),
        hours=hours,
        holidays=holidays,
        extra_workdays=makeup,
        extra_workday_hours_from=draw(st.sampled_from([d for d in range(7) if hours[d]])),
    )


def instants(lo: datetime, hi: datetime) -> st.SearchStrategy[datetime]:
    return st.integers(0, (hi - lo) // US).map(lambda us: lo + us * US)


@settings(max_examples=60, deadline=None)
@given(
    calendars(),
    instants(datetime(1995, 1, 1, tzinfo=UTC), datetime(2045, 12, 31, tzinfo=UTC)),
    st.integers(0, 400 * 86_400 * 10**6),
    st.booleans(),
)
def test_a_long_span_gives_exactly_what_the_day_by_day_walk_gives(
    calendar: BusinessCalendar, a: datetime, span: int, backwards: bool
) -> None:
    b = a + span * US
    if backwards:
        a, b = b, a
    assert calendar.business_time_between(a, b) == walked(calendar, a, b)


@settings(max_examples=25, deadline=None)
@given(
    calendars(first=1, last=40),
    instants(datetime(1, 1, 3, tzinfo=UTC), datetime(30, 1, 1, tzinfo=UTC)),
    st.integers(0, 400 * 86_400 * 10**6),
)
def test_spans_near_year_one_agree_with_the_walk(
    calendar: BusinessCalendar, a: datetime, span: int
) -> None:
    b = a + span * US
    assert calendar.business_time_between(a, b) == walked(calendar, a, b)


@pytest.mark.parametrize("zone", ZONES)
def test_decades_across_offset_changes_agree_with_the_walk(zone: str) -> None:
    calendar = BusinessCalendar(
        tz=zone,
        hours={**dict.fromkeys(range(5), OFFICE), 6: [(time(0), time(0))]},
        holidays=[date(year, 10, 1) for year in range(1985, 2000)],
        extra_workdays=[date(year, 9, 28) for year in range(1985, 2000)
                        if date(year, 9, 28).weekday() == 6],
    )
    a = datetime(1990, 3, 30, 1, 30, tzinfo=UTC)
    b = datetime(1996, 11, 2, 6, 45, tzinfo=UTC)
    assert calendar.business_time_between(a, b) == walked(calendar, a, b)


def test_thousands_of_years_are_counted_without_walking_each_day(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calendar = BusinessCalendar(tz="Asia/Shanghai", hours=dict.fromkeys(range(5), OFFICE),
                                holidays=[date(2024, 10, d) for d in range(1, 8)])
    days_worked_out: list[date] = []
    original = BusinessCalendar._utc_intervals

    def counting(self: BusinessCalendar, day: date) -> Any:
        days_worked_out.append(day)
        return original(self, day)

    monkeypatch.setattr(BusinessCalendar, "_utc_intervals", counting)
    a = datetime(2000, 1, 1, tzinfo=UTC)
    b = datetime(9999, 1, 1, tzinfo=UTC)
    # 8,000 years (both ends outside office hours in Shanghai): whole weeks of 40
    # hours, the working days of the odd days, less the 5 working days of the holidays.
    weeks, rest = divmod((b - a).days, 7)
    odd_days = sum(1 for k in range(rest) if (a.date() + timedelta(days=k)).weekday() < 5)
    expected = weeks * timedelta(hours=40) + (odd_days - 5) * timedelta(hours=8)
    assert calendar.business_time_between(a, b) == expected
    # The old walk worked out all 2.9 million days; now a few dozen around the offset
    # changes, the holidays and the two ends.
    assert len(set(days_worked_out)) < 100


# -- the ends of time ---------------------------------------------------------------

EDGES = (
    datetime(1, 1, 1, tzinfo=UTC),
    datetime(1, 1, 1, 23, 59, tzinfo=UTC),
    datetime(1, 1, 1, 1, tzinfo=timezone(timedelta(hours=14))),
    datetime(1, 1, 2, 3, tzinfo=timezone(timedelta(hours=-12))),
    datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
    datetime(9999, 12, 31, 12, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-5))),
    datetime(9999, 12, 30, 22, tzinfo=timezone(timedelta(hours=-14))),
)
CALENDARS = (
    BusinessCalendar(tz="Asia/Shanghai", hours=dict.fromkeys(range(7), OFFICE)),
    BusinessCalendar.round_the_clock("America/New_York"),
    BusinessCalendar.round_the_clock("Pacific/Kiritimati"),
    BusinessCalendar(tz="Etc/GMT+12", hours={0: [(time(22), time(0))]}),
)
MIDDLE = datetime(2000, 6, 1, tzinfo=UTC)


def _calls(calendar: BusinessCalendar, t: datetime) -> dict[str, Any]:
    return {
        "is_working_time": lambda: calendar.is_working_time(t),
        "next_working_time": lambda: calendar.next_working_time(t),
        "between_from": lambda: calendar.business_time_between(t, MIDDLE),
        "between_to": lambda: calendar.business_time_between(MIDDLE, t),
        "add_nothing": lambda: calendar.add_business_time(t, timedelta(0)),
        "add_an_hour": lambda: calendar.add_business_time(t, timedelta(hours=1)),
    }


@pytest.mark.parametrize("calendar", CALENDARS, ids=lambda c: c.tz)
@pytest.mark.parametrize("t", EDGES, ids=str)
def test_instants_of_years_one_and_9999_answer_or_name_the_argument(
    calendar: BusinessCalendar, t: datetime
) -> None:
    refused: dict[str, ValidationError] = {}
    for name, call in _calls(calendar, t).items():
        try:
            call()
        except ValidationError as error:
            refused[name] = error
    for name, error in refused.items():
        assert error.field in ("t", "start", "end", "delta"), name
        assert error.value in (t, timedelta(hours=1)), name


def test_the_overflows_found_by_hypothesis_are_validation_errors_naming_the_argument() -> None:
    shanghai, new_york = CALENDARS[0], CALENDARS[1]
    late = datetime(9999, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-5)))
    early = datetime(1, 1, 1, tzinfo=UTC)
    with pytest.raises(ValidationError) as box:
        shanghai.is_working_time(late)
    assert (box.value.field, box.value.value) == ("t", late)
    with pytest.raises(ValidationError) as box:
        new_york.business_time_between(late, MIDDLE)
    assert (box.value.field, box.value.value) == ("start", late)
    with pytest.raises(ValidationError) as box:
        shanghai.add_business_time(datetime(9999, 12, 31, 23, tzinfo=UTC), timedelta(0))
    assert box.value.field == "start"
    with pytest.raises(ValidationError) as box:
        shanghai.next_working_time(datetime(9999, 12, 31, 23, tzinfo=UTC))
    assert box.value.field == "t"
    # Questions about the first day of time have answers.
    assert new_york.is_working_time(early) is False  # 0000-12-31 in New York
    first_midnight = datetime(1, 1, 1, tzinfo=new_york.tzinfo)  # 04:56:02 UTC (local mean time)
    assert new_york.next_working_time(early) == first_midnight
    second_midnight = datetime(1, 1, 2, tzinfo=new_york.tzinfo)
    assert new_york.business_time_between(early, second_midnight) == timedelta(hours=24)
    assert shanghai.add_business_time(early, timedelta(hours=1)) == datetime(
        1, 1, 1, 10, tzinfo=shanghai.tzinfo
    )


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(CALENDARS),
    st.one_of(
        st.datetimes(
            min_value=datetime(1, 1, 1), max_value=datetime(1, 1, 10),
            timezones=st.sampled_from([UTC, timezone(timedelta(hours=14)),
                                       timezone(timedelta(hours=-12))]),
        ),
        st.datetimes(
            min_value=datetime(9999, 12, 20), max_value=datetime.max,
            timezones=st.sampled_from([UTC, timezone(timedelta(hours=14)),
                                       timezone(timedelta(hours=-12))]),
        ),
    ),
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=30)),
)
def test_random_instants_at_the_ends_of_time_never_overflow(
    calendar: BusinessCalendar, t: datetime, delta: timedelta
) -> None:
    calls = [
        lambda: calendar.is_working_time(t),
        lambda: calendar.next_working_time(t),
        lambda: calendar.business_time_between(t, MIDDLE),
        lambda: calendar.business_time_between(MIDDLE, t),
        lambda: calendar.add_business_time(t, delta),
    ]
    for call in calls:
        with contextlib.suppress(ValidationError):
            call()


def test_a_zone_whose_changes_cannot_be_listed_is_walked_day_by_day(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calendar = BusinessCalendar(tz="Europe/London", hours=dict.fromkeys(range(5), OFFICE))
    a = datetime(2020, 1, 1, tzinfo=UTC)
    b = datetime(2023, 6, 1, 12, tzinfo=UTC)
    fast = calendar.business_time_between(a, b)
    monkeypatch.setattr(business_module.BusinessCalendar, "_offset_change_days",
                        lambda self, first, last: None)
    assert calendar.business_time_between(a, b) == fast == walked(calendar, a, b)
