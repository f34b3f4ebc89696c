"""Round 4 of hostile testing: team figures at the calendar's ends, agents without
tickets beside busy ones, far-east and far-west office zones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custmgmt.calendars import BusinessCalendar
from custmgmt.team.performance import NO_TIME, PerformanceFrame, team_performance


def _us(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


@pytest.mark.parametrize(("zone_name", "opened", "as_of", "start", "end", "median"), [
    # The last hours of 9999 in Kiritimati (UTC+14): the table's day after was year
    # 10000, a bare OverflowError; the table's days are now clamped to the calendar.
    ("Pacific/Kiritimati", datetime(9999, 12, 31, tzinfo=UTC),
     datetime(9999, 12, 31, 23, tzinfo=UTC), datetime(9999, 12, 30, tzinfo=UTC),
     datetime(9999, 12, 31, 23, 59, tzinfo=UTC), timedelta(hours=1)),
    # The first day of year 1 in New York: the day before was year 0. The hour falls
    # on local 31 December of year 0, which has no working time in the calendar.
    ("America/New_York", datetime(1, 1, 1, tzinfo=UTC), datetime(1, 1, 3, tzinfo=UTC),
     datetime(1, 1, 1, tzinfo=UTC), datetime(1, 1, 4, tzinfo=UTC), timedelta(0)),
])
def test_a_period_at_the_calendars_ends_is_measured(
    zone_name: str, opened: datetime, as_of: datetime, start: datetime, end: datetime,
    median: timedelta,
) -> None:
    frame = PerformanceFrame.from_arrays(
        agent_ids=["a"], as_of=as_of, agent=[0], created=[_us(opened)],
        first_response=[_us(opened + timedelta(hours=1))])
    calendar = BusinessCalendar.round_the_clock(zone_name)
    perf = team_performance(frame, start=start, end=end, calendar=calendar)
    assert perf.row("a").first_response_median == median


def test_the_same_figures_a_few_days_inside_the_calendar_are_measured() -> None:
    opened = datetime(9999, 12, 20, tzinfo=UTC)
    frame = PerformanceFrame.from_arrays(
        agent_ids=["a", "客服-空"], as_of=opened + timedelta(days=2), agent=[0],
        created=[_us(opened)], first_response=[_us(opened + timedelta(hours=1))])
    perf = team_performance(frame, start=opened, end=opened + timedelta(days=1),
                            calendar=BusinessCalendar.round_the_clock("Pacific/Kiritimati"))
    assert perf.row("a").first_response_median == timedelta(hours=1)
    idle = perf.row("客服-空")
    assert (idle.measurable, idle.handled, idle.first_response_median) == (False, 0, None)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 10 * 24 * 3600),
                          st.one_of(st.none(), st.integers(0, 5 * 24 * 3600))),
                max_size=30),
       st.sampled_from(["Pacific/Kiritimati", "Pacific/Niue", "America/New_York",
                        "Asia/Shanghai"]))
def test_agents_without_tickets_are_never_zero_and_busy_ones_never_masked(
    tickets: list[tuple[int, int, int | None]], zone_name: str,
) -> None:
    base = datetime(2026, 3, 1, tzinfo=UTC)  # across the March DST changes
    created = [_us(base) + s * 1_000_000 for _, s, _ in tickets]
    answered = [NO_TIME if wait is None else c + wait * 1_000_000
                for c, (_, _, wait) in zip(created, tickets, strict=True)]
    frame = PerformanceFrame.from_arrays(
        agent_ids=["a0", "a1", "a2", "a3", "无单"], as_of=base + timedelta(days=20),
        agent=[a for a, _, _ in tickets], created=created, first_response=answered)
    perf = team_performance(frame, start=base, end=base + timedelta(days=11),
                            calendar=BusinessCalendar.round_the_clock(zone_name))
    for row in perf.rows():
        mine = [t for t in tickets if f"a{t[0]}" == row.agent_id]
        assert row.handled == len(mine)
        assert row.measurable == bool(mine)
        waits = sorted(w for _, _, w in mine if w is not None)
        if waits:
            assert row.first_response_median is not None
            mid = (waits[(len(waits) - 1) // 2] + waits[len(waits) // 2]) / 2
            assert row.first_response_median == timedelta(seconds=mid)
        else:
            assert row.first_response_median is None
        if not mine:
            assert row.reopen_rate is None
            assert row.complaints is None
