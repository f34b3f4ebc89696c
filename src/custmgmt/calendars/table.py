"""Vectorised business-time arithmetic on a precomputed table of working intervals.

A :class:`BusinessTimeTable` lists every working interval of a calendar over a span
of days as int64 microseconds since the epoch (UTC), with the cumulative working
time before each interval. With ``F(t)`` the working time from the start of the span
to ``t``:

* ``F`` is one :func:`numpy.searchsorted` per instant: the last interval starting
  at or before ``t``, plus the part of it already worked;
* ``between(a, b) = F(b) - F(a)``;
* ``add(start, delta)`` inverts ``F``: the first interval whose cumulative end
  reaches ``F(start) + delta``, found with one more ``searchsorted``.

The results equal :class:`~custmgmt.calendars.BusinessCalendar`'s day-by-day walk to
the microsecond (the tests check it with hypothesis).

A table is not built day by day through the time zone: between two of the zone's
offset changes every ordinary day is its weekday's schedule shifted by one offset, so
those days are tiled with numpy from seven patterns; only the days that may differ
(holidays, make-up days, the days around each offset change and the first and last
days of time) are worked out by the calendar itself. The arrays are exactly those of
the day-by-day build (a hypothesis test keeps it as the reference), in time that grows
with the exceptional days and offset changes rather than with the span.
"""

from __future__ import annotations

import bisect
from datetime import UTC, date, datetime, time, timedelta
from typing import Final

import attrs
import numpy as np
import numpy.typing as npt

from custmgmt.calendars.business import BusinessCalendar
from custmgmt.domain.time import from_epoch_micros, require_aware, to_epoch_micros
from custmgmt.errors import ValidationError

__all__ = ["MAX_SPAN_DAYS", "BusinessTimeTable"]

_ONE_DAY: Final = timedelta(days=1)
_DAY_US: Final = 86_400_000_000
_EPOCH_DAY: Final = date(1970, 1, 1).toordinal()
_FIRST_DAY: Final = date.min.toordinal()
_LAST_DAY: Final = date.max.toordinal()
_UTC_MIN_US: Final = to_epoch_micros(datetime.min.replace(tzinfo=UTC))
_UTC_MAX_US: Final = to_epoch_micros(datetime.max.replace(tzinfo=UTC))
#: The most days one table spans: 400 Gregorian years. The table lists every working
#: interval (a few per day: hundreds of thousands over 400 years), so this bounds its
#: memory; a span of millennia (an ``as_of`` in year 8999 for tickets opened in 2026)
#: gets a clear error instead.
MAX_SPAN_DAYS: Final = 146_097

Int64Array = npt.NDArray[np.int64]


@attrs.frozen(kw_only=True, eq=False)
class BusinessTimeTable:
    """The working intervals of a calendar over ``first_day..last_day``, as int64 arrays.

    Build it with :meth:`build` (or :meth:`covering`); every query must fall inside
    ``[lo, hi]``, the local midnights that bound the span.

    Attributes:
        calendar: the calendar the table was built from.
        first_day: the first local day covered.
        last_day: the last local day covered.
        lo: the start of the span, microseconds since the epoch (UTC).
        hi: the end of the span, microseconds since the epoch (UTC).
        starts: interval starts, ascending.
        ends: interval ends (``ends[i] <= starts[i + 1]``).
        cum_start: working microseconds in the span before interval ``i``.
        cum_end: ``cum_start + (ends - starts)``.
    """

    calendar: BusinessCalendar
    first_day: date
    last_day: date
    lo: int
    hi: int
    starts: Int64Array
    ends: Int64Array
    cum_start: Int64Array
    cum_end: Int64Array

    @classmethod
    def build(
        cls, calendar: BusinessCalendar, first_day: date, last_day: date
    ) -> BusinessTimeTable:
        """Tabulate ``calendar`` from ``first_day`` to ``last_day`` (local days, inclusive).

        Raises:
            ValidationError: if the days are not dates, ``last_day`` is before
                ``first_day``, or the span reaches :data:`MAX_SPAN_DAYS`.
        """
        for name, value in (("first_day", first_day), ("last_day", last_day)):
            if not isinstance(value, date) or isinstance(value, datetime):
                raise ValidationError(name, value, "a datetime.date")
        if last_day < first_day:
            raise ValidationError("last_day", last_day, f"a date on or after {first_day}")
        if (last_day - first_day).days >= MAX_SPAN_DAYS:
            raise ValidationError(
                "last_day",
                last_day,
                f"a date less than {MAX_SPAN_DAYS:,} days (400 years) after {first_day}",
            )
        start_arr, end_arr = _tabulate(calendar, first_day.toordinal(), last_day.toordinal())
        zone = calendar.tzinfo
        # The local midnights around the span (subtracting aware datetimes never
        # overflows, even where the zone's midnight is outside UTC's years 1..9999).
        lo = to_epoch_micros(datetime.combine(first_day, time(0), tzinfo=zone))
        if last_day < date.max:
            hi = to_epoch_micros(datetime.combine(last_day + _ONE_DAY, time(0), tzinfo=zone))
        else:
            hi = to_epoch_micros(datetime.combine(last_day, time.max, tzinfo=zone)) + 1
        # DST shifts can move an interval a little past midnight: widen, never cut.
        if start_arr.size:
            lo = min(lo, int(start_arr[0]))
            hi = max(hi, int(end_arr[-1]))
        # A span that reaches an end of time reaches every instant UTC has there (days
        # outside years 1..9999 have no working time), whatever the zone's offset.
        if first_day == date.min:
            lo = min(lo, _UTC_MIN_US)
        if last_day == date.max:
            hi = max(hi, _UTC_MAX_US)
        cum_end = np.cumsum(end_arr - start_arr, dtype=np.int64)
        cum_start = cum_end - (end_arr - start_arr)
        return cls(
            calendar=calendar,
            first_day=first_day,
            last_day=last_day,
            lo=lo,
            hi=hi,
            starts=start_arr,
            ends=end_arr,
            cum_start=cum_start,
            cum_end=cum_end,
        )

    @classmethod
    def covering(
        cls,
        calendar: BusinessCalendar,
        start: datetime,
        end: datetime,
        *,
        then_at_least: timedelta = timedelta(0),
    ) -> BusinessTimeTable:
        """A table spanning ``start..end`` plus enough days for ``then_at_least`` more work.

        The extra working time lets :meth:`add` find deadlines up to
        ``then_at_least`` after ``end``. The table takes a local day either side of
        the span, clamped to 0001-01-01 and 9999-12-31 (a table that reaches either
        holds every instant UTC has there).

        Raises:
            ValidationError: for naive datetimes, ``end`` before ``start``, a
                negative ``then_at_least``, or one the calendar's working time after
                ``end`` does not reach before the end of year 9999 (naming
                ``then_at_least``).
        """
        a = require_aware("start", start)
        b = require_aware("end", end)
        if b < a:
            raise ValidationError("end", end, f"an instant at or after {start.isoformat()}")
        if not isinstance(then_at_least, timedelta) or then_at_least < timedelta(0):
            raise ValidationError("then_at_least", then_at_least, "a non-negative timedelta")
        # The local days before and after, clamped to the days datetime has (the day
        # after 9999-12-31 was an OverflowError).
        first = max(_local_ordinal(calendar, a) - 1, _FIRST_DAY)
        last = min(_local_ordinal(calendar, b) + 1, _LAST_DAY)
        needed = then_at_least // timedelta(microseconds=1)
        b_us = to_epoch_micros(b)
        extra = max(7, then_at_least.days * 2 + 7)
        while True:
            until = min(last + extra, _LAST_DAY)
            table = cls.build(calendar, date.fromordinal(first), date.fromordinal(until))
            after = int(table.business_time(np.asarray([table.hi]))[0]) - int(
                table.business_time(np.asarray([b_us]))[0]
            )
            if after >= needed:
                return table
            if until == _LAST_DAY:
                raise ValidationError(
                    "then_at_least",
                    then_at_least,
                    "an amount of working time the calendar has after end, within years "
                    "1 to 9999",
                )
            if extra > 366 * 200:
                raise ValidationError(
                    "then_at_least", then_at_least, "an amount of working time the calendar has"
                )
            extra *= 2

    # -- queries ----------------------------------------------------------------------

    def _check_span(self, name: str, values: Int64Array) -> None:
        if values.size and (int(values.min()) < self.lo or int(values.max()) > self.hi):
            bad = values[(values < self.lo) | (values > self.hi)][0]
            raise ValidationError(
                name,
                int(bad),
                f"instants (µs since the epoch) within the table's span {self.lo}..{self.hi}",
            )

    def business_time(self, t: npt.ArrayLike) -> Int64Array:
        """``F(t)``: working microseconds from the start of the span to each ``t``.

        Raises:
            ValidationError: for instants outside the span.
        """
        times = np.asarray(t, dtype=np.int64)
        self._check_span("t", times)
        return self._f(times)

    def _f(self, times: Int64Array) -> Int64Array:
        if self.starts.size == 0:
            return np.zeros(times.shape, dtype=np.int64)
        index = np.searchsorted(self.starts, times, side="right") - 1
        safe = np.maximum(index, 0)
        length = self.ends[safe] - self.starts[safe]
        worked = np.clip(times - self.starts[safe], 0, length)
        return np.where(index >= 0, self.cum_start[safe] + worked, 0)

    def between(self, start: npt.ArrayLike, end: npt.ArrayLike) -> Int64Array:
        """Working microseconds from ``start`` to ``end`` (negative if ``end`` is earlier).

        Raises:
            ValidationError: for instants outside the span.
        """
        a = np.asarray(start, dtype=np.int64)
        b = np.asarray(end, dtype=np.int64)
        self._check_span("start", a)
        self._check_span("end", b)
        return self._f(b) - self._f(a)

    def add(self, start: npt.ArrayLike, delta: npt.ArrayLike) -> Int64Array:
        """The earliest instants at which ``delta`` working microseconds have passed.

        Equals :meth:`BusinessCalendar.add_business_time` element by element.

        Raises:
            ValidationError: for negative deltas, starts outside the span, or results
                past its end (build a longer table).
        """
        s = np.asarray(start, dtype=np.int64)
        d = np.asarray(delta, dtype=np.int64)
        self._check_span("start", s)
        if d.size and int(d.min()) < 0:
            raise ValidationError("delta", int(d.min()), "non-negative microseconds")
        return self._add_unchecked(s, self._f(s) + d)

    def add_from_level(self, start: npt.ArrayLike, level: npt.ArrayLike) -> Int64Array:
        """The earliest instants, not before ``start``, where ``F`` reaches ``level``.

        ``add(start, delta)`` is ``add_from_level(start, F(start) + delta)``; the SLA
        engine uses the level form to find deadlines inside a clock's counted spans.

        Raises:
            ValidationError: for starts outside the span, or levels past its end.
        """
        s = np.asarray(start, dtype=np.int64)
        self._check_span("start", s)
        return self._add_unchecked(s, np.asarray(level, dtype=np.int64))

    def _add_unchecked(self, s: Int64Array, level: Int64Array) -> Int64Array:
        total = int(self.cum_end[-1]) if self.cum_end.size else 0
        if level.size and int(level.max()) > total:
            raise ValidationError(
                "delta", int(level.max()) - total, "a result inside the table's span"
            )
        if self.starts.size == 0:
            return s.copy()
        j = np.searchsorted(self.cum_end, level, side="left")
        j = np.minimum(j, self.starts.size - 1)
        reached = self.starts[j] + (level - self.cum_start[j])
        # Already there at the start (adding nothing, or a level reached earlier):
        # the start itself is the earliest instant.
        return np.where(self._f(s) >= level, s, np.maximum(s, reached))

    def to_datetime(self, micros: int) -> datetime:
        """An int64 instant as an aware datetime in the calendar's zone."""
        return from_epoch_micros(int(micros), self.calendar.tzinfo)


# -- building -------------------------------------------------------------------------


def _local_ordinal(calendar: BusinessCalendar, moment: datetime) -> int:
    """The ordinal of ``moment``'s local date, clamped to the dates that exist."""
    try:
        return moment.astimezone(calendar.tzinfo).date().toordinal()
    except OverflowError:  # a local date of year 0 or 10000
        return _FIRST_DAY if to_epoch_micros(moment) < 0 else _LAST_DAY


def _wall_micros(wall: time) -> int:
    return ((wall.hour * 60 + wall.minute) * 60 + wall.second) * 1_000_000 + wall.microsecond


def _tabulate(
    calendar: BusinessCalendar, first: int, last: int
) -> tuple[Int64Array, Int64Array]:
    """The starts and ends (µs, UTC) of the working intervals of days ``first..last``.

    Day by day in order, each day's intervals as ``calendar._utc_intervals`` gives
    them. Days that keep the weekly schedule at a fixed offset are tiled with numpy;
    the others (holidays, make-up days, days near an offset change or the ends of
    time) are asked of the calendar one by one, as is every day of a zone whose
    offset changes cannot be listed.
    """
    changes = calendar._offset_change_days(first, last)
    if changes is None:
        return _walk(calendar, first, last)
    _, _, special = calendar._schedule()
    odd_days = set(special[bisect.bisect_left(special, first) : bisect.bisect_right(special, last)])
    changed = [d for d in changes if first <= d <= last]
    odd_days.update(changed)
    n_days = last - first + 1
    ordinals = np.arange(first, last + 1, dtype=np.int64)
    weekday = (ordinals - 1) % 7  # ordinal 1 (0001-01-01) was a Monday
    # The weekly schedule as padded (7, k) arrays of wall microseconds after midnight.
    widest = max(len(day) for day in calendar.hours)
    pattern_start = np.zeros((7, widest), dtype=np.int64)
    pattern_end = np.zeros((7, widest), dtype=np.int64)
    for w, day_hours in enumerate(calendar.hours):
        for k, (start, end) in enumerate(day_hours):
            pattern_start[w, k] = _wall_micros(start)
            pattern_end[w, k] = _DAY_US if end == time(0) else _wall_micros(end)
    pattern_count = np.asarray([len(day) for day in calendar.hours], dtype=np.int64)
    # Between offset changes every ordinary day has one offset: the zone's at noon of
    # the first ordinary day of its run (no change within two days of any of them).
    offset = np.zeros(n_days, dtype=np.int64)
    cursor = first
    for run_end in [*changed, last + 1]:
        sample = cursor
        while sample < run_end and sample in odd_days:
            sample += 1
        if sample < run_end:
            noon = calendar._wall_to_utc(date.fromordinal(sample), time(12))
            local_noon = (sample - _EPOCH_DAY) * _DAY_US + 12 * 3_600_000_000
            offset[cursor - first : run_end - first] = local_noon - to_epoch_micros(noon)
        cursor = run_end + 1
    odd_index = np.asarray(sorted(d - first for d in odd_days), dtype=np.int64)
    odd_intervals = [calendar._day_intervals(first + int(i)) for i in odd_index]
    ordinary = np.ones(n_days, dtype=bool)
    ordinary[odd_index] = False
    counts = pattern_count[weekday]
    counts[odd_index] = np.asarray([len(day) for day in odd_intervals], dtype=np.int64)
    position = np.cumsum(counts) - counts
    total = int(counts.sum())
    starts = np.empty(total, dtype=np.int64)
    ends = np.empty(total, dtype=np.int64)
    midnight = (ordinals - _EPOCH_DAY) * _DAY_US - offset
    for k in range(widest):
        chosen = ordinary & (pattern_count[weekday] > k)
        at = position[chosen] + k
        days = weekday[chosen]
        starts[at] = midnight[chosen] + pattern_start[days, k]
        ends[at] = midnight[chosen] + pattern_end[days, k]
    for i, intervals in zip(odd_index.tolist(), odd_intervals, strict=True):
        p = int(position[i])
        for j, (start_at, end_at) in enumerate(intervals):
            starts[p + j] = to_epoch_micros(start_at)
            ends[p + j] = to_epoch_micros(end_at)
    return starts, ends


def _walk(calendar: BusinessCalendar, first: int, last: int) -> tuple[Int64Array, Int64Array]:
    """:func:`_tabulate` one day at a time, through the calendar."""
    starts: list[int] = []
    ends: list[int] = []
    for ordinal in range(first, last + 1):
        for start, end in calendar._day_intervals(ordinal):
            starts.append(to_epoch_micros(start))
            ends.append(to_epoch_micros(end))
    return np.asarray(starts, dtype=np.int64), np.asarray(ends, dtype=np.int64)
