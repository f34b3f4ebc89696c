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
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Final

import attrs
import numpy as np
import numpy.typing as npt

from custmgmt.calendars.business import BusinessCalendar
from custmgmt.domain.time import from_epoch_micros, require_aware, to_epoch_micros
from custmgmt.errors import ValidationError

__all__ = ["MAX_SPAN_DAYS", "BusinessTimeTable"]

_ONE_DAY: Final = timedelta(days=1)
#: The most days one table spans: 400 Gregorian years. The table lists every working
#: interval, each day converted through the calendar's time zone (about 0.1 ms a day),
#: so a span of millennia (an ``as_of`` in year 8999 for tickets opened in 2026) took
#: minutes; this bounds a build to seconds and the caller gets a clear error instead.
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
        hi = to_epoch_micros(
            datetime.combine(last_day + _ONE_DAY, datetime.min.time(), tzinfo=zone)
        )
        # DST shifts can move an interval a little past midnight: widen, never cut.
        if starts:
            lo = min(lo, starts[0])
            hi = max(hi, ends[-1])
        start_arr = np.asarray(starts, dtype=np.int64)
        end_arr = np.asarray(ends, dtype=np.int64)
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
        ``then_at_least`` after ``end``.

        Raises:
            ValidationError: for naive datetimes, ``end`` before ``start``, or a
                negative ``then_at_least``.
        """
        a = require_aware("start", start)
        b = require_aware("end", end)
        if b < a:
            raise ValidationError("end", end, f"an instant at or after {start.isoformat()}")
        if not isinstance(then_at_least, timedelta) or then_at_least < timedelta(0):
            raise ValidationError("then_at_least", then_at_least, "a non-negative timedelta")
        zone = calendar.tzinfo
        first = a.astimezone(zone).date() - _ONE_DAY
        last = b.astimezone(zone).date() + _ONE_DAY
        needed = then_at_least // timedelta(microseconds=1)
        b_us = to_epoch_micros(b)
        extra = max(7, then_at_least.days * 2 + 7)
        while True:
            table = cls.build(calendar, first, last + timedelta(days=extra))
            after = int(table.business_time(np.asarray([table.hi]))[0]) - int(
                table.business_time(np.asarray([b_us]))[0]
            )
            if after >= needed:
                return table
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
