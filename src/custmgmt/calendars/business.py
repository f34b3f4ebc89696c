"""Business calendars: working hours, time zones, public holidays and make-up days.

A :class:`BusinessCalendar` answers "how much working time lies between these two
instants?" and "when has this much working time passed?". SLA clocks run on it.

The arithmetic here is the reference: it works out each day's working intervals in
plain :mod:`datetime`. The vectorised tables in :mod:`custmgmt.calendars.table` are
tested against it. ``business_time_between`` and ``add_business_time`` walk only the
first (and last) days of a long span: the whole days between them count the weekly
schedule's hours per weekday (whole weeks at once), corrected on the few days that
differ from it: holidays, make-up days and the days around the zone's offset changes
(DST), which are worked out one by one. They give exactly the day-by-day walk's results
(hypothesis tests compare them with it), in time that grows with the holidays and
offset changes in the span rather than its days.

Conventions, decided once for the whole library:

* Working intervals are half-open, ``[start, end)`` in local wall time. An end of
  ``time(0)`` means midnight at the end of the day ("24:00"), so a round-the-clock
  day is ``(time(0), time(0))``.
* Arithmetic is done on absolute instants (UTC), never on wall-clock differences, so
  a day that springs forward has one hour less of "00:00 to 24:00" and a working
  interval that spans the change is an hour shorter.
* A wall time that does not exist (skipped by a DST change) is read as dateutil's
  :func:`~dateutil.tz.resolve_imaginary` reads it: shifted forward by the length of
  the gap. An ambiguous wall time (repeated when clocks fall back) is its first
  occurrence (``fold=0``). A day's intervals are then clipped so they never overlap.
* ``business_time_between(a, b)`` is antisymmetric: with ``b`` before ``a`` it is the
  negative of ``business_time_between(b, a)``, exactly like ``b - a`` for
  datetimes. This keeps ``between(a, b) + between(b, c) == between(a, c)`` true for
  any three instants.
* ``add_business_time(start, delta)`` returns the *earliest* instant at which
  ``delta`` of working time has passed: a deadline that falls exactly at the end of
  a working day is that evening, not the next morning; adding nothing returns
  ``start`` itself, even outside working hours.
* Time ends where :mod:`datetime` ends: days before 0001-01-01 or after 9999-12-31
  (local) have no working time, and an interval that would run past the last
  representable UTC instant stops there. An instant that cannot be expressed in UTC,
  or an answer that cannot be expressed in the calendar's zone, is a
  :class:`~custmgmt.errors.ValidationError` naming the argument, never an
  ``OverflowError``.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from typing import Any, Final, TypeAlias

import attrs
from dateutil import tz as dateutil_tz

from custmgmt._extras import require
from custmgmt.domain.time import require_aware
from custmgmt.errors import ValidationError

__all__ = [
    "DEFAULT_HOURS",
    "BusinessCalendar",
    "Interval",
    "WeeklyHours",
]

#: One working interval of a day, in local wall time: ``(start, end)``, half-open.
Interval: TypeAlias = tuple[time, time]

#: The weekly schedule as stored: seven tuples of intervals, Monday (0) to Sunday (6).
WeeklyHours: TypeAlias = tuple[tuple[Interval, ...], ...]

_ZERO: Final = timedelta(0)
_ONE_DAY: Final = timedelta(days=1)
_ONE_MICROSECOND: Final = timedelta(microseconds=1)
_MIDNIGHT: Final = time(0)
_UTC_MIN: Final = datetime.min.replace(tzinfo=UTC)
_UTC_MAX: Final = datetime.max.replace(tzinfo=UTC)
_FIRST_DAY: Final = date.min.toordinal()
_LAST_DAY: Final = date.max.toordinal()
_MIDDLE_DAY: Final = (_FIRST_DAY + _LAST_DAY) // 2
_EPOCH_DAY: Final = date(1970, 1, 1).toordinal()
#: Spans up to this many days are walked day by day; longer ones count whole weeks.
_WALK_DAYS: Final = 28
#: add_business_time walks the days up to this many after the day before its start's
#: (they may hold intervals that end before the start); later days are counted.
_HEAD_DAYS: Final = 4
#: Days either side of an offset change (in UTC days) that are worked out one by one:
#: a local day is within one day of its UTC date, and a day's last interval may end
#: at the next midnight.
_AROUND_CHANGE: Final = 2

#: Chinese office hours with a lunch break, Monday to Friday: the default for
#: :meth:`BusinessCalendar.from_holidays`, whose first user is a mainland-China shop.
DEFAULT_HOURS: Final[Mapping[int, Sequence[Interval]]] = {
    day: ((time(9), time(12)), (time(13), time(18))) for day in range(5)
}

#: Countries whose whole territory keeps one clock; :meth:`BusinessCalendar.from_holidays`
#: picks the zone from here when none is given. Countries with several zones must name one.
_SINGLE_ZONE_COUNTRIES: Final[Mapping[str, str]] = {
    "CN": "Asia/Shanghai",
    "DE": "Europe/Berlin",
    "FR": "Europe/Paris",
    "GB": "Europe/London",
    "HK": "Asia/Hong_Kong",
    "IN": "Asia/Kolkata",
    "IT": "Europe/Rome",
    "JP": "Asia/Tokyo",
    "KR": "Asia/Seoul",
    "MO": "Asia/Macau",
    "NL": "Europe/Amsterdam",
    "SG": "Asia/Singapore",
    "TW": "Asia/Taipei",
}

#: How far the calendar is searched day by day for working time before giving up
#: (next_working_time, and add_business_time in a zone whose offset changes cannot be
#: listed). A calendar always has working time in a normal week, so only absurd
#: deltas get this far; add_business_time otherwise counts on to year 9999.
_MAX_SEARCH_DAYS: Final = 366 * 200


def _is_time(value: Any) -> bool:
    return isinstance(value, time) and value.tzinfo is None


def _convert_hours(value: Any) -> WeeklyHours:
    """Normalise a weekly schedule to seven sorted, validated tuples of intervals."""
    field = "BusinessCalendar.hours"
    if isinstance(value, Mapping):
        items = list(value.items())
    elif isinstance(value, tuple | list) and len(value) == 7:
        # The stored form (a seven-tuple) comes back through attrs.evolve.
        items = list(enumerate(value))
    else:
        raise ValidationError(
            field, value, "a mapping of weekday (0=Monday..6=Sunday) to (start, end) times"
        )
    week: list[tuple[Interval, ...]] = [() for _ in range(7)]
    for key, intervals in items:
        if not isinstance(key, int) or isinstance(key, bool) or not 0 <= key <= 6:
            raise ValidationError(field, key, "a weekday key 0 (Monday) to 6 (Sunday)")
        week[key] = _convert_day(f"{field}[{key}]", intervals)
    if not any(week):
        raise ValidationError(field, value, "at least one working interval in the week")
    return tuple(week)


def _convert_day(field: str, intervals: Any) -> tuple[Interval, ...]:
    if isinstance(intervals, str | bytes) or not isinstance(intervals, Iterable):
        raise ValidationError(field, intervals, "a sequence of (start, end) time pairs")
    parsed: list[Interval] = []
    for pair in intervals:
        if not isinstance(pair, tuple | list) or len(pair) != 2:
            raise ValidationError(field, pair, "a (start, end) pair of datetime.time")
        start, end = pair
        if not _is_time(start) or not _is_time(end):
            raise ValidationError(field, pair, "a (start, end) pair of naive datetime.time")
        if end != _MIDNIGHT and end <= start:
            raise ValidationError(
                field, pair, "an interval whose end is after its start (time(0) ends at 24:00)"
            )
        parsed.append((start, end))
    parsed.sort()
    for previous, current in itertools.pairwise(parsed):
        # Touching intervals (12:00 end, 12:00 start) are fine; overlapping ones are
        # almost always a typo and would count the same minutes twice.
        if previous[1] == _MIDNIGHT or current[0] < previous[1]:
            raise ValidationError(
                field, (previous, current), "working intervals that do not overlap"
            )
    return tuple(parsed)


def _convert_holidays(value: Any) -> frozenset[date]:
    return _check_dates("BusinessCalendar.holidays", value)


def _convert_extra_workdays(value: Any) -> frozenset[date]:
    return _check_dates("BusinessCalendar.extra_workdays", value)


def _check_dates(field: str, value: Any) -> frozenset[date]:
    if isinstance(value, str | bytes | date) or not isinstance(value, Iterable):
        raise ValidationError(field, value, "an iterable of datetime.date")
    days = list(value)
    for day in days:
        if not isinstance(day, date) or isinstance(day, datetime):
            raise ValidationError(field, day, "a datetime.date (not a datetime)")
    return frozenset(days)


def _check_tz(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("BusinessCalendar.tz", value, "an IANA time zone name")
    # dateutil's gettz opens a path it is given: a name is never one ("/dev/stdin"
    # would block, "../../etc/passwd" would be read).
    if value.startswith(("/", ".", ":", "~")) or ".." in value or "\x00" in value or "\\" in value:
        raise ValidationError("BusinessCalendar.tz", value, "an IANA time zone name, not a path")


def _check_weekday(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 6:
        raise ValidationError(
            "BusinessCalendar.extra_workday_hours_from", value, "a weekday 0 (Monday) to 6"
        )


@attrs.frozen(kw_only=True)
class BusinessCalendar:
    """Working time: a weekly schedule in a time zone, with holidays and make-up days.

    A day's working intervals are, in order of precedence: none on a holiday; the
    hours of weekday ``extra_workday_hours_from`` (Monday by default) on a make-up
    working day; otherwise the hours of its weekday.

    Example:
        >>> from datetime import date, datetime, time, timedelta
        >>> office = {d: [(time(9), time(12)), (time(13), time(18))] for d in range(5)}
        >>> cal = BusinessCalendar(tz="Asia/Shanghai", hours=office,
        ...                        holidays=[date(2024, 10, 1)])
        >>> friday = datetime(2024, 9, 27, 17, 0, tzinfo=cal.tzinfo)
        >>> cal.add_business_time(friday, timedelta(hours=2)).isoformat()
        '2024-09-30T10:00:00+08:00'
        >>> cal.business_time_between(friday, datetime(2024, 10, 2, 9, tzinfo=cal.tzinfo))
        datetime.timedelta(seconds=32400)

    Attributes:
        tz: an IANA time zone name, resolved with :func:`dateutil.tz.gettz`.
        hours: the weekly schedule: weekday (0 = Monday) to ``(start, end)`` pairs of
            :class:`datetime.time`. Missing weekdays are days off. Stored as a
            seven-tuple, so ``cal.hours[0]`` reads Monday either way.
        holidays: dates without working time.
        extra_workdays: make-up working days (mainland China moves weekends to
            bridge holidays); they may not also be holidays.
        extra_workday_hours_from: whose hours a make-up day works (0 = Monday).

    Raises:
        ValidationError: naming the field, for an unknown zone, weekday keys outside
            0..6, an interval that ends before it starts, overlapping intervals, a
            week without working time, or a make-up day that is also a holiday.
    """

    tz: str = attrs.field(validator=_check_tz)
    hours: WeeklyHours = attrs.field(converter=_convert_hours)
    holidays: frozenset[date] = attrs.field(factory=frozenset, converter=_convert_holidays)
    extra_workdays: frozenset[date] = attrs.field(
        factory=frozenset, converter=_convert_extra_workdays
    )
    extra_workday_hours_from: int = attrs.field(default=0, validator=_check_weekday)
    _tzinfo: tzinfo = attrs.field(init=False, repr=False, eq=False, hash=False)
    # Per-day intervals are a pure function of the fields: caching them keeps the
    # day-by-day reference walk usable on large batches.
    _day_cache: dict[date, tuple[tuple[datetime, datetime], ...]] = attrs.field(
        init=False, repr=False, eq=False, hash=False, factory=dict
    )
    # The weekly totals and the sorted special days, worked out on first use.
    _span_cache: dict[str, Any] = attrs.field(
        init=False, repr=False, eq=False, hash=False, factory=dict
    )

    def __attrs_post_init__(self) -> None:
        try:
            zone = dateutil_tz.gettz(self.tz)
        except (ValueError, OSError):  # gettz reads a path it is given ("/etc/passwd")
            zone = None
        if zone is None:
            raise ValidationError("BusinessCalendar.tz", self.tz, "a known IANA time zone name")
        object.__setattr__(self, "_tzinfo", zone)
        both = sorted(self.holidays & self.extra_workdays)
        if both:
            raise ValidationError(
                "BusinessCalendar.extra_workdays", both[0], "a make-up day that is not a holiday"
            )
        if self.extra_workdays and not self.hours[self.extra_workday_hours_from]:
            raise ValidationError(
                "BusinessCalendar.extra_workday_hours_from",
                self.extra_workday_hours_from,
                "a weekday with working hours, for the make-up days to work",
            )

    # -- construction -----------------------------------------------------------------

    @classmethod
    def round_the_clock(cls, tz: str = "UTC") -> BusinessCalendar:
        """A calendar where every instant is working time (SLAs in calendar hours)."""
        return cls(tz=tz, hours={day: [(_MIDNIGHT, _MIDNIGHT)] for day in range(7)})

    @classmethod
    def from_holidays(
        cls,
        country: str,
        *,
        years: int | Iterable[int],
        hours: Mapping[int, Sequence[Interval]] | None = None,
        tz: str | None = None,
        subdiv: str | None = None,
        extra_workday_hours_from: int = 0,
    ) -> BusinessCalendar:
        """A calendar with the public holidays and make-up days of the ``holidays`` package.

        The ``holidays`` package (the ``custmgmt[holidays]`` extra) lists each
        country's days off, including substituted ones; for countries that move
        weekends (mainland China) its ``weekend_workdays`` are the make-up days.
        Only ``years`` are loaded: outside them the calendar knows no holidays.

        Args:
            country: ISO 3166-1 alpha-2 code, e.g. ``"CN"``.
            years: the year or years to load.
            hours: the weekly schedule; Monday to Friday 09:00-12:00 and 13:00-18:00
                by default.
            tz: the time zone; defaults to the country's only zone when it has one.
            subdiv: a subdivision code, for regional holidays.
            extra_workday_hours_from: whose hours a make-up day works (0 = Monday).

        Raises:
            MissingDependency: the ``holidays`` package is not installed.
            ValidationError: for an unknown country, or a country with several time
                zones and no ``tz``.
        """
        holidays_package = require(
            "holidays", extra="holidays", purpose="BusinessCalendar.from_holidays"
        )
        if not isinstance(country, str):
            raise ValidationError("country", country, "an ISO 3166-1 alpha-2 country code")
        year_list = [years] if isinstance(years, int) else list(years)
        if not year_list or not all(
            isinstance(y, int) and not isinstance(y, bool) and 1 <= y <= 9998 for y in year_list
        ):
            raise ValidationError("years", years, "a year or a non-empty iterable of years")
        if tz is None:
            tz = _SINGLE_ZONE_COUNTRIES.get(country.upper())
            if tz is None:
                raise ValidationError(
                    "tz", None, f"a time zone name (custmgmt has no single zone for {country!r})"
                )
        try:
            days_off = holidays_package.country_holidays(
                country.upper(), subdiv=subdiv, years=year_list
            )
        except NotImplementedError as error:
            raise ValidationError(
                "country", country, "a country code the holidays package supports"
            ) from error
        wanted = set(year_list)
        holiday_dates = [day for day in days_off if day.year in wanted]
        # weekend_workdays is filled while the years load and may hold dates from
        # other years' special cases: keep only what was asked for.
        makeup = [day for day in getattr(days_off, "weekend_workdays", ()) if day.year in wanted]
        return cls(
            tz=tz,
            hours=DEFAULT_HOURS if hours is None else hours,
            holidays=holiday_dates,
            extra_workdays=makeup,
            extra_workday_hours_from=extra_workday_hours_from,
        )

    # -- the schedule -----------------------------------------------------------------

    @property
    def tzinfo(self) -> tzinfo:
        """The resolved :class:`datetime.tzinfo` of :attr:`tz`."""
        return self._tzinfo

    def day_hours(self, day: date) -> tuple[Interval, ...]:
        """The wall-clock working intervals of ``day`` (holidays and make-up days applied).

        Raises:
            ValidationError: ``day`` is not a date.
        """
        if not isinstance(day, date):
            raise ValidationError("day", day, "a datetime.date")
        if day in self.holidays:
            return ()
        if day in self.extra_workdays:
            return self.hours[self.extra_workday_hours_from]
        return self.hours[day.weekday()]

    def working_intervals(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        """The working intervals of ``day`` as aware datetimes in the calendar's zone.

        Intervals that a DST change reduces to nothing are left out.

        Raises:
            ValidationError: ``day`` is not a date.
        """
        if not isinstance(day, date):
            raise ValidationError("day", day, "a datetime.date")
        zone = self._tzinfo
        return tuple(
            (start.astimezone(zone), end.astimezone(zone))
            for start, end in self._utc_intervals(day)
        )

    def _utc_intervals(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        cached = self._day_cache.get(day)
        if cached is not None:
            return cached
        result: list[tuple[datetime, datetime]] = []
        floor: datetime | None = None
        for start_time, end_time in self.day_hours(day):
            start = self._to_utc(day, start_time)
            end = self._to_utc(day, end_time, end=True)
            if floor is not None and start < floor:
                start = floor  # a DST shift pushed an earlier interval into this one
            if end > start:
                result.append((start, end))
                floor = end
        intervals = tuple(result)
        if len(self._day_cache) > 100_000:  # bound memory for very long-running hosts
            self._day_cache.clear()
        self._day_cache[day] = intervals
        return intervals

    def _to_utc(self, day: date, wall: time, *, end: bool = False) -> datetime:
        """The UTC instant of a wall time of ``day`` (an ``end`` of 00:00 is 24:00).

        Clipped to the UTC instants :mod:`datetime` can represent at both ends of time.
        """
        try:
            if end and wall == _MIDNIGHT:
                if day == date.max:
                    return self._wall_to_utc(day, time.max) + _ONE_MICROSECOND
                day += _ONE_DAY
            return self._wall_to_utc(day, wall)
        except OverflowError:
            return _UTC_MAX if day.toordinal() > _MIDDLE_DAY else _UTC_MIN

    def _wall_to_utc(self, day: date, wall: time) -> datetime:
        local = datetime.combine(day, wall, tzinfo=self._tzinfo)
        if not dateutil_tz.datetime_exists(local):
            local = dateutil_tz.resolve_imaginary(local)
        return local.astimezone(UTC)

    def _local_day(self, moment: datetime) -> int:
        """The ordinal of ``moment``'s local date, clamped to the dates that exist."""
        try:
            return moment.astimezone(self._tzinfo).date().toordinal()
        except OverflowError:
            return _LAST_DAY if moment.toordinal() > _MIDDLE_DAY else _FIRST_DAY

    def _day_intervals(self, ordinal: int) -> tuple[tuple[datetime, datetime], ...]:
        """The UTC working intervals of the day with this ordinal (none outside time)."""
        if _FIRST_DAY <= ordinal <= _LAST_DAY:
            return self._utc_intervals(date.fromordinal(ordinal))
        return ()

    def _local(self, field: str, value: Any, moment: datetime) -> datetime:
        """``moment`` in the calendar's zone, or a ValidationError naming the argument."""
        try:
            return moment.astimezone(self._tzinfo)
        except OverflowError:
            raise ValidationError(
                field, value, f"an instant whose answer the calendar's zone ({self.tz}) "
                "can show (between years 1 and 9999)",
            ) from None

    # -- questions about instants -----------------------------------------------------

    def is_working_time(self, t: datetime) -> bool:
        """Whether ``t`` lies inside a working interval (start included, end excluded).

        Raises:
            ValidationError: if ``t`` is not a timezone-aware datetime.
        """
        moment = _utc("t", t)
        day = self._local_day(moment)
        return any(
            start <= moment < end
            for d in (day - 1, day)
            for start, end in self._day_intervals(d)
        )

    def next_working_time(self, t: datetime) -> datetime:
        """``t`` itself if it is working time, else the start of the next working interval.

        The result is in the calendar's zone.

        Raises:
            ValidationError: if ``t`` is not a timezone-aware datetime, or no working
                time follows it before the end of year 9999.
        """
        moment = _utc("t", t)
        for start, end in self._intervals_from(moment):
            if start <= moment < end:
                return self._local("t", t, moment)
            if start >= moment:
                return self._local("t", t, start)
        raise ValidationError("t", t, "an instant followed by working time (before year 10000)")

    # -- business-time arithmetic -----------------------------------------------------

    def business_time_between(self, start: datetime, end: datetime) -> timedelta:
        """The working time between two instants.

        Negative when ``end`` is before ``start`` (the arithmetic is antisymmetric,
        like subtracting datetimes).

        Raises:
            ValidationError: if either argument is not a timezone-aware datetime (or
                not an instant of years 1 to 9999 in UTC).
        """
        a = _utc("start", start)
        b = _utc("end", end)
        if b < a:
            return -self._between(b, a)
        return self._between(a, b)

    def _between(self, a: datetime, b: datetime) -> timedelta:
        first = self._local_day(a) - 1
        last = self._local_day(b)
        if last - first <= _WALK_DAYS:
            return self._walk(a, b, first, last)
        changes = self._offset_change_days(first, last)
        if changes is None:  # a zone whose offset changes cannot be listed
            return self._walk(a, b, first, last)
        # Days first+4 .. last-4 lie wholly inside [a, b] (offsets are under a day);
        # the days at either end are clipped to it, as the walk does.
        return (
            self._walk(a, b, first, first + 3)
            + self._whole_days(first + 4, last - 4, changes)
            + self._walk(a, b, last - 3, last)
        )

    def _walk(self, a: datetime, b: datetime, first: int, last: int) -> timedelta:
        """The working time in ``[a, b]`` of the days ``first`` to ``last``, day by day."""
        total = _ZERO
        for ordinal in range(max(first, _FIRST_DAY), min(last, _LAST_DAY) + 1):
            for start, end in self._utc_intervals(date.fromordinal(ordinal)):
                lo = max(start, a)
                hi = min(end, b)
                if hi > lo:
                    total += hi - lo
        return total

    def _whole_days(self, first: int, last: int, changes: list[int]) -> timedelta:
        """All the working time of the days ``first`` to ``last`` (ordinals, inclusive).

        The weekly schedule per weekday, plus, on each day that may differ from it
        (a holiday, a make-up day, a day near an offset change or the end of time),
        that day's own total minus its weekday's.
        """
        nominal, week, special = self._schedule()
        weeks, rest = divmod(last - first + 1, 7)
        total = week * weeks
        weekday = (first - 1) % 7  # ordinal 1 (0001-01-01) was a Monday
        for k in range(rest):
            total += nominal[(weekday + k) % 7]
        odd = set(special[bisect.bisect_left(special, first) : bisect.bisect_right(special, last)])
        odd.update(d for d in changes if first <= d <= last)
        for ordinal in odd:
            exact = sum(
                (end - start for start, end in self._day_intervals(ordinal)), start=_ZERO
            )
            total += exact - nominal[(ordinal - 1) % 7]
        return total

    def _schedule(self) -> tuple[tuple[timedelta, ...], timedelta, list[int]]:
        """Per-weekday wall-clock totals, their sum, and the sorted special day ordinals."""
        found = self._span_cache.get("schedule")
        if found is None:
            nominal = tuple(
                sum((_wall_length(start, end) for start, end in day), start=_ZERO)
                for day in self.hours
            )
            edges = {*range(_FIRST_DAY, _FIRST_DAY + 3), *range(_LAST_DAY - 2, _LAST_DAY + 1)}
            special = sorted(
                {d.toordinal() for d in self.holidays | self.extra_workdays} | edges
            )
            found = (nominal, sum(nominal, start=_ZERO), special)
            self._span_cache["schedule"] = found
        return found

    def _offset_change_days(self, first: int, last: int) -> list[int] | None:
        """Ordinals of the days in ``first..last`` that an offset change may touch.

        None when the zone cannot list its changes (the caller then walks every day).
        """
        zone = self._tzinfo
        if isinstance(zone, dateutil_tz.tzutc | dateutil_tz.tzoffset | timezone):
            return []
        if isinstance(zone, dateutil_tz.tzfile):
            # dateutil's tzfile changes offset only at these instants (POSIX seconds).
            changes = getattr(zone, "_trans_list_utc", None)
            if not isinstance(changes, list | tuple):
                return None
            lo = (first - _AROUND_CHANGE - _EPOCH_DAY) * 86_400
            hi = (last + _AROUND_CHANGE + 1 - _EPOCH_DAY) * 86_400
            days: set[int] = set()
            inside = changes[bisect.bisect_left(changes, lo) : bisect.bisect_right(changes, hi)]
            for instant in inside:
                day = _EPOCH_DAY + int(instant) // 86_400
                days.update(range(day - _AROUND_CHANGE, day + _AROUND_CHANGE + 1))
            return sorted(days)
        if isinstance(zone, dateutil_tz.tzrange):  # tzstr too: yearly DST rules
            rules: Any = zone
            if not rules.hasdst:
                return []
            days = set()
            lo_year = date.fromordinal(max(first, _FIRST_DAY)).year
            hi_year = date.fromordinal(min(last, _LAST_DAY)).year
            for year in range(lo_year, hi_year + 1):
                try:
                    moments = rules.transitions(year)
                except (OverflowError, ValueError):
                    return None
                for moment in moments or ():
                    day = moment.toordinal()
                    days.update(range(day - _AROUND_CHANGE, day + _AROUND_CHANGE + 1))
            return sorted(days)
        return None

    def add_business_time(self, start: datetime, delta: timedelta) -> datetime:
        """The earliest instant at which ``delta`` of working time has passed since ``start``.

        The result is in the calendar's zone. Adding ``timedelta(0)`` returns
        ``start``; a deadline that is reached exactly at the end of a working interval
        is that end, not the start of the next interval.

        The first days are walked one by one (clipped to ``start``); after them whole
        weeks of the weekly schedule are counted at once, corrected on the few days
        that differ from it (holidays, make-up days, days near offset changes), so the
        time grows with those days rather than with the length of ``delta``.

        Raises:
            ValidationError: if ``start`` is naive, or ``delta`` is not a non-negative
                timedelta (or so large that the result would pass year 9999).
        """
        moment = _utc("start", start)
        if not isinstance(delta, timedelta):
            raise ValidationError("delta", delta, "a non-negative timedelta")
        if delta < _ZERO:
            raise ValidationError("delta", delta, "a non-negative timedelta")
        if delta == _ZERO:
            return self._local("start", start, moment)
        first = self._local_day(moment) - 1
        # Days first..first+4 may hold intervals that end before ``moment`` or start
        # before it (offsets are under a day): walk them, clipped, as the reference does.
        remaining = delta
        head_last = min(first + _HEAD_DAYS, _LAST_DAY)
        for ordinal in range(max(first, _FIRST_DAY), head_last + 1):
            for lo, hi in self._utc_intervals(date.fromordinal(ordinal)):
                if hi <= moment:
                    continue
                lo = max(lo, moment)
                available = hi - lo
                if available >= remaining:
                    return self._deadline(delta, lo + remaining)
                remaining -= available
        # Every later day lies wholly after ``moment``: find the day on which the rest is
        # reached, then walk that day's intervals.
        found = self._reach(head_last + 1, remaining, first + _MAX_SEARCH_DAYS - 1)
        if found is not None:
            day, remaining = found
            for lo, hi in self._day_intervals(day):
                available = hi - lo
                if available >= remaining:
                    return self._deadline(delta, lo + remaining)
                remaining -= available
        raise ValidationError(
            "delta", delta, "a delta whose deadline falls before the end of year 9999"
        )

    def _deadline(self, delta: timedelta, instant: datetime) -> datetime:
        """``instant`` in the calendar's zone; past local year 9999 it names ``delta``."""
        try:
            return instant.astimezone(self._tzinfo)
        except OverflowError:  # the end (24:00) of 9999-12-31 east of UTC
            raise ValidationError(
                "delta", delta, "a delta whose deadline falls before the end of year 9999"
            ) from None

    def _reach(
        self, first: int, remaining: timedelta, walk_limit: int
    ) -> tuple[int, timedelta] | None:
        """The day on which ``remaining`` working time, counted from day ``first``, is reached.

        Returns the day's ordinal and the working time still to go at its start (more
        than nothing, at most the day's total), or None when time ends first. Whole
        weeks count the weekly schedule at once; holidays, make-up days, days near
        an offset change and the first and last days of time are worked out one by
        one. A zone whose offset changes cannot be listed is walked day by day up to
        ``walk_limit``, as the reference walk searches.
        """
        _, week, special = self._schedule()
        cursor = first
        while cursor <= _LAST_DAY:
            # Enough days for the weekly schedule alone to reach ``remaining``, and a year
            # more for holidays and offset changes; what is missing is looked for after.
            last = min(cursor + (remaining // week + 1) * 7 + 366, _LAST_DAY)
            changes = self._offset_change_days(cursor, last)
            if changes is None:
                return self._reach_by_walking(cursor, remaining, walk_limit)
            odd = set(special[bisect.bisect_left(special, cursor) :
                              bisect.bisect_right(special, last)])
            odd.update(d for d in changes if cursor <= d <= last)
            for day in sorted(odd):
                run = self._nominal_total(cursor, day - 1)
                if run >= remaining:
                    return self._reach_nominal(cursor, remaining)
                remaining -= run
                exact = self._day_total(day)
                if exact >= remaining:
                    return day, remaining
                remaining -= exact
                cursor = day + 1
            run = self._nominal_total(cursor, last)
            if run >= remaining:
                return self._reach_nominal(cursor, remaining)
            remaining -= run
            cursor = last + 1
        return None

    def _reach_nominal(self, first: int, remaining: timedelta) -> tuple[int, timedelta]:
        """:meth:`_reach` over days that all keep the weekly schedule (enough of them)."""
        nominal, week, _ = self._schedule()
        weeks = (remaining - _ONE_MICROSECOND) // week  # whole weeks that stay short of it
        day = first + 7 * weeks
        remaining -= week * weeks
        while True:
            hours = nominal[(day - 1) % 7]  # ordinal 1 (0001-01-01) was a Monday
            if hours >= remaining:
                return day, remaining
            remaining -= hours
            day += 1

    def _reach_by_walking(
        self, first: int, remaining: timedelta, last: int
    ) -> tuple[int, timedelta] | None:
        """:meth:`_reach` one day at a time, up to day ``last``."""
        for ordinal in range(first, min(last, _LAST_DAY) + 1):
            exact = self._day_total(ordinal)
            if exact >= remaining:
                return ordinal, remaining
            remaining -= exact
        return None

    def _nominal_total(self, first: int, last: int) -> timedelta:
        """The weekly schedule's working time over the days ``first`` to ``last``."""
        if last < first:
            return _ZERO
        nominal, week, _ = self._schedule()
        weeks, rest = divmod(last - first + 1, 7)
        weekday = (first - 1) % 7
        return week * weeks + sum(
            (nominal[(weekday + k) % 7] for k in range(rest)), start=_ZERO
        )

    def _day_total(self, ordinal: int) -> timedelta:
        """All the working time of the day with this ordinal."""
        return sum((end - start for start, end in self._day_intervals(ordinal)), start=_ZERO)

    def _intervals_from(self, moment: datetime) -> Iterable[tuple[datetime, datetime]]:
        """Working intervals (UTC) that end after ``moment``, in order, day by day."""
        first = self._local_day(moment) - 1
        for ordinal in range(first, min(first + _MAX_SEARCH_DAYS, _LAST_DAY + 1)):
            for start, end in self._day_intervals(ordinal):
                if end > moment:
                    yield start, end


def _utc(field: str, value: Any) -> datetime:
    """An aware datetime argument in UTC, or a ValidationError naming it."""
    moment = require_aware(field, value)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValidationError(
            field, value, "an instant between years 1 and 9999 in UTC"
        ) from None


def _wall_length(start: time, end: time) -> timedelta:
    """The wall-clock length of an interval (an end of 00:00 is 24:00)."""
    begin = timedelta(hours=start.hour, minutes=start.minute, seconds=start.second,
                      microseconds=start.microsecond)
    if end == _MIDNIGHT:
        return _ONE_DAY - begin
    return timedelta(hours=end.hour, minutes=end.minute, seconds=end.second,
                     microseconds=end.microsecond) - begin
