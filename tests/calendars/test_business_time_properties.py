"""Properties of business-time arithmetic, and the numpy table against the reference walk."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custmgmt.calendars import BusinessCalendar, BusinessTimeTable
from custmgmt.domain.time import to_epoch_micros
from custmgmt.errors import ValidationError

US = timedelta(microseconds=1)
ZONES = (
    "UTC",
    "Asia/Shanghai",
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",  # a 30-minute DST shift
    "America/Santiago",  # DST changes at midnight
)
LO = datetime(2024, 1, 1, tzinfo=UTC)
HI = datetime(2024, 12, 31, tzinfo=UTC)


@st.composite
def day_hours(draw: st.DrawFn) -> list[tuple[time, time]]:
    """Up to three non-overlapping intervals of a day on a 5-minute grid (may touch)."""
    cuts = sorted(draw(st.lists(st.integers(0, 24 * 12), max_size=6, unique=True)))
    if len(cuts) % 2:
        cuts = cuts[:-1]
    intervals = []
    for lo, hi in zip(cuts[::2], cuts[1::2], strict=True):
        start = time(lo * 5 // 60, lo * 5 % 60)
        end = time(0) if hi == 24 * 12 else time(hi * 5 // 60, hi * 5 % 60)
        intervals.append((start, end))
    return intervals


@st.composite
def calendars(draw: st.DrawFn) -> BusinessCalendar:
    hours = {day: draw(day_hours()) for day in range(7)}
    if not any(hours.values()):
        hours[0] = [(time(9), time(17))]
    days = st.dates(date(2024, 1, 1), date(2024, 12, 31))
    holidays = draw(st.sets(days, max_size=30))
    makeup = draw(st.sets(days, max_size=5)) - holidays
    return BusinessCalendar(
        tz=draw(st.sampled_from(ZONES)),
        hours=hours,
        holidays=holidays,
        extra_workdays=makeup,
        extra_workday_hours_from=draw(st.sampled_from([d for d in range(7) if hours[d]])),
    )


def instants(lo: datetime = LO, hi: datetime = HI) -> st.SearchStrategy[datetime]:
    span = (hi - lo) // US
    return st.integers(0, span).map(lambda us: lo + us * US)


def near(base: st.SearchStrategy[datetime], days: int = 10) -> st.SearchStrategy[datetime]:
    """Instants within ``days`` after a drawn base (keeps the reference walk short)."""
    return st.tuples(base, st.integers(0, days * 86_400 * 10**6)).map(lambda p: p[0] + p[1] * US)


deltas = st.integers(0, 30 * 3600 * 10**6).map(lambda us: us * US)


@settings(max_examples=200, deadline=None)
@given(
    calendars(), instants(), st.integers(0, 5 * 86_400 * 10**6), st.integers(0, 5 * 86_400 * 10**6)
)
def test_business_time_is_additive_over_adjacent_intervals(
    calendar: BusinessCalendar, a: datetime, ab: int, bc: int
) -> None:
    b = a + ab * US
    c = b + bc * US
    between = calendar.business_time_between
    assert between(a, b) + between(b, c) == between(a, c)
    # Antisymmetry keeps it true in any order.
    assert between(c, a) == -between(a, c)


@settings(max_examples=200, deadline=None)
@given(calendars(), instants(), st.integers(0, 10 * 86_400 * 10**6))
def test_business_time_never_exceeds_wall_time(
    calendar: BusinessCalendar, a: datetime, span: int
) -> None:
    b = a + span * US
    assert timedelta(0) <= calendar.business_time_between(a, b) <= b - a


@settings(max_examples=200, deadline=None)
@given(calendars(), instants(), deltas)
def test_adding_business_time_then_measuring_gives_it_back(
    calendar: BusinessCalendar, start: datetime, delta: timedelta
) -> None:
    end = calendar.add_business_time(start, delta)
    assert end >= start
    assert calendar.business_time_between(start, end) == delta
    if delta:
        # ... and it is the earliest such instant.
        assert calendar.business_time_between(start, end - US) < delta
        assert calendar.is_working_time(end - US)


@settings(max_examples=150, deadline=None)
@given(calendars(), instants())
def test_next_working_time_is_working_and_skips_no_work(
    calendar: BusinessCalendar, t: datetime
) -> None:
    found = calendar.next_working_time(t)
    assert found >= t
    assert calendar.is_working_time(found)
    assert calendar.business_time_between(t, found) == timedelta(0)
    assert calendar.is_working_time(t) == (found == t)


@settings(max_examples=150, deadline=None)
@given(
    calendars(), instants(), st.lists(st.integers(0, 20 * 86_400 * 10**6), min_size=1, max_size=8)
)
def test_the_table_equals_the_reference_walk(
    calendar: BusinessCalendar, base: datetime, offsets: list[int]
) -> None:
    points = [base + us * US for us in offsets]
    table = BusinessTimeTable.covering(
        calendar, base, max(points), then_at_least=timedelta(hours=40)
    )
    micros = np.asarray([to_epoch_micros(p) for p in points], dtype=np.int64)
    start = np.full(micros.size, to_epoch_micros(base), dtype=np.int64)
    expected = [calendar.business_time_between(base, p) // US for p in points]
    assert table.between(start, micros).tolist() == expected
    assert table.between(micros, start).tolist() == [-e for e in expected]
    delta_us = np.asarray(offsets, dtype=np.int64) % (40 * 3600 * 10**6)
    added = table.add(micros, delta_us)
    for point, delta, result in zip(points, delta_us.tolist(), added.tolist(), strict=True):
        reference = calendar.add_business_time(point, delta * US)
        assert table.to_datetime(result) == reference


def test_the_table_refuses_instants_outside_its_span() -> None:
    calendar = BusinessCalendar.round_the_clock("UTC")
    table = BusinessTimeTable.build(calendar, date(2024, 1, 1), date(2024, 1, 2))
    outside = to_epoch_micros(datetime(2024, 2, 1, tzinfo=UTC))
    with pytest.raises(ValidationError, match="span"):
        table.business_time([outside])
    with pytest.raises(ValidationError, match="delta"):
        table.add([table.lo], [-1])
    with pytest.raises(ValidationError, match="span"):
        table.add([table.lo], [10 * 86_400 * 10**6])


def test_the_table_of_a_round_the_clock_calendar_is_wall_time() -> None:
    calendar = BusinessCalendar.round_the_clock("America/New_York")
    table = BusinessTimeTable.build(calendar, date(2024, 3, 9), date(2024, 3, 11))
    # Saturday, Sunday (23 h: spring forward) and Monday, one interval each.
    assert table.starts.size == 3
    assert int(table.cum_end[-1]) == (24 + 23 + 24) * 3600 * 10**6
