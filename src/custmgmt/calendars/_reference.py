"""The slow, obviously-correct business-time arithmetic the fast paths replaced.

:meth:`BusinessCalendar.add_business_time` used to walk the calendar day by day and
:meth:`BusinessTimeTable.build` to work out every day of its span through the zone;
both now count whole weeks and work out only the days that differ. The walks stay
here, once, as the reference the tests compare the fast paths with (under hypothesis)
and the "before" the benchmark (``benchmarks/bench_calendar.py``) times them against.
They are not used by the library itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta

from custmgmt.calendars import business as business_module
from custmgmt.calendars.business import BusinessCalendar
from custmgmt.domain.time import to_epoch_micros
from custmgmt.errors import ValidationError

__all__ = ["MAX_SEARCH_DAYS", "built_day_by_day", "walked_add"]

#: The walk's search limit (``business._MAX_SEARCH_DAYS`` when the walk was the code).
MAX_SEARCH_DAYS = 366 * 200

_ONE_DAY = timedelta(days=1)


def walked_add(calendar: BusinessCalendar, start: datetime, delta: timedelta) -> datetime:
    """``calendar.add_business_time(start, delta)`` by walking every day in turn.

    Raises:
        ValidationError: as ``add_business_time`` does (a naive ``start``, a negative
            ``delta``, a deadline past the end of year 9999 or the search limit).
    """
    moment = business_module._utc("start", start)
    if not isinstance(delta, timedelta) or delta < timedelta(0):
        raise ValidationError("delta", delta, "a non-negative timedelta")
    if delta == timedelta(0):
        return calendar._local("start", start, moment)
    remaining = delta
    for lo, hi in _intervals_from(calendar, moment):
        lo = max(lo, moment)
        available = hi - lo
        if available >= remaining:
            return (lo + remaining).astimezone(calendar.tzinfo)
        remaining -= available
    raise ValidationError(
        "delta", delta, "a delta whose deadline falls before the end of year 9999"
    )


def _intervals_from(
    calendar: BusinessCalendar, moment: datetime
) -> Iterator[tuple[datetime, datetime]]:
    """Working intervals (UTC) that end after ``moment``, in order, day by day."""
    first = calendar._local_day(moment) - 1
    for ordinal in range(first, min(first + MAX_SEARCH_DAYS, date.max.toordinal() + 1)):
        for start, end in calendar._day_intervals(ordinal):
            if end > moment:
                yield start, end


def built_day_by_day(
    calendar: BusinessCalendar, first_day: date, last_day: date
) -> tuple[int, int, list[int], list[int]]:
    """The ``lo``, ``hi``, starts and ends (epoch µs) of
    ``BusinessTimeTable.build(calendar, first_day, last_day)``, every day through the
    zone."""
    starts: list[int] = []
    ends: list[int] = []
    day = first_day
    while day <= last_day:
        for start, end in calendar.working_intervals(day):
            starts.append(to_epoch_micros(start))
            ends.append(to_epoch_micros(end))
        day += _ONE_DAY
    zone = calendar.tzinfo
    lo = to_epoch_micros(datetime.combine(first_day, datetime.min.time(), tzinfo=zone))
    hi = to_epoch_micros(datetime.combine(last_day + _ONE_DAY, datetime.min.time(), tzinfo=zone))
    if starts:
        lo = min(lo, starts[0])
        hi = max(hi, ends[-1])
    return lo, hi, starts, ends
