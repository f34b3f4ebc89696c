"""A schedule's runs near any moment, found without walking from the schedule's anchor.

``dateutil.rrule`` finds the occurrence after (or before) a moment by iterating from
the rule's ``DTSTART``. Rating schedules are anchored on Monday 2000-01-03, so a
``FREQ=SECONDLY`` rule asked about 2026 iterated 800 million times (minutes), and a
daily one asked about the year 9000 millions of days. A rule's occurrences repeat
with its period (``INTERVAL`` times the unit of ``FREQ``), counted in wall-clock time
from the anchor exactly as ``rrule`` counts them, so restarting the rule a whole
number of periods later changes none of the occurrences from there on.
:class:`Recurrence` restarts it one period before the moment asked about, and looks
back in doubling steps for the previous run: the work is proportional to the gap
between two runs, not to the time since 2000.

Rules are at most daily. ``rrule`` steps through a sub-daily rule's filtered-out days
slowly (about 2 ms a day for ``FREQ=SECONDLY;BYMONTH=2;BYMONTHDAY=29``: seconds per
search), and every sub-daily schedule can be written as a daily one with
``BYHOUR``/``BYMINUTE``/``BYSECOND`` (``FREQ=DAILY;BYHOUR=0,6,12,18``), which
``rrule`` steps through at about 2 µs a day. ``COUNT`` would count from the anchor,
so schedules refuse it (``UNTIL`` ends a schedule). A rule must recur: one without
a run in a thousand years (30 February) is refused, which also bounds every search.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from typing import Final

import attrs
from dateutil.relativedelta import relativedelta
from dateutil.rrule import rrule, rrulestr

__all__ = ["Recurrence"]

_UNITS: Final = ("YEARLY", "MONTHLY", "WEEKLY", "DAILY")
_DAYS: Final = {"WEEKLY": 7, "DAILY": 1}
_SUB_DAILY: Final = frozenset({"HOURLY", "MINUTELY", "SECONDLY"})
#: Every rule repeats within 400 years times its interval (the Gregorian cycle); a
#: schedule must have a run in every span this long.
RECURRENCE_YEARS: Final = 1000


class NotARecurrence(ValueError):
    """The text is not a rule a schedule can use; the message says why."""


def _parts(text: str) -> dict[str, str]:
    """The rule's ``NAME=VALUE`` parts by name, read as ``rrulestr`` reads them.

    Raises:
        NotARecurrence: more than one line, or a part given twice (``rrulestr`` keeps
            the last, so ``FREQ=DAILY;FREQ=SECONDLY`` would pass for a daily rule).
    """
    body = text.upper().strip()
    if len(body.split()) != 1:
        raise NotARecurrence("a single RRULE line")
    body = body.removeprefix("RRULE:")
    parts: dict[str, str] = {}
    for pair in body.split(";"):
        name, _, value = pair.partition("=")
        if name and name in parts:  # an empty part is rrulestr's to refuse
            raise NotARecurrence(f"each rule part once ({name} is given twice)")
        parts[name] = value
    return parts


@attrs.frozen
class Recurrence:
    """One RFC 5545 rule anchored at a wall-clock time in a zone.

    Attributes:
        text: the rule (no DTSTART, no COUNT).
        zone: the zone of its wall-clock times.
        anchor: the naive wall-clock start of its first period.
    """

    text: str
    zone: tzinfo
    anchor: datetime
    _unit: str = attrs.field(init=False)
    _interval: int = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        parts = _parts(self.text)
        freq = parts.get("FREQ")
        if freq in _SUB_DAILY:
            raise NotARecurrence(
                "a rule at most daily (FREQ=DAILY, WEEKLY, MONTHLY or YEARLY); for several "
                "runs a day list the times, e.g. FREQ=DAILY;BYHOUR=0,6,12,18"
            )
        if freq is None or freq not in _UNITS:
            raise NotARecurrence("a rule with FREQ=DAILY, WEEKLY, MONTHLY or YEARLY")
        if "COUNT" in parts:
            raise NotARecurrence(
                "a rule without COUNT (schedules start on 2000-01-03, so a count would run "
                "from there; end a schedule with UNTIL)"
            )
        interval = parts.get("INTERVAL", "1")
        # rrule loops forever on INTERVAL=0 and walks backwards on a negative one.
        if not (interval.isascii() and interval.isdigit()) or int(interval) < 1:
            raise NotARecurrence(f"a positive whole INTERVAL (got INTERVAL={interval})")
        object.__setattr__(self, "_unit", freq)
        object.__setattr__(self, "_interval", int(interval))
        self._rule(0)  # let rrulestr refuse what it cannot parse

    def _rule(self, periods: int) -> rrule:
        steps = periods * self._interval
        if self._unit == "YEARLY":
            start = self.anchor + relativedelta(years=steps)
        elif self._unit == "MONTHLY":
            start = self.anchor + relativedelta(months=steps)
        else:
            start = self.anchor + timedelta(days=steps * _DAYS[self._unit])
        parsed = rrulestr(self.text, dtstart=start.replace(tzinfo=self.zone))
        if not isinstance(parsed, rrule):
            raise NotARecurrence("a single RRULE")
        return parsed

    def _periods(self, moment: datetime) -> int:
        """Whole periods from the anchor to ``moment``'s wall-clock time (at least 0)."""
        try:
            wall = moment.astimezone(self.zone).replace(tzinfo=None)
        except OverflowError:
            # Out of datetime's range in this zone: the moment's own wall time is
            # earlier than the true one near year 9999 (safe: we start earlier) and
            # before the anchor near year 1.
            wall = moment.replace(tzinfo=None)
        unit, anchor = self._unit, self.anchor
        if unit == "YEARLY":
            count = wall.year - anchor.year
        elif unit == "MONTHLY":
            count = (wall.year - anchor.year) * 12 + wall.month - anchor.month
        else:
            count = (wall - anchor).days // _DAYS[unit]
        return max(count // self._interval, 0)

    def recurs(self) -> bool:
        """Whether the rule (UNTIL aside) has a run in the calendar's last ``RECURRENCE_YEARS``."""
        late = datetime(datetime.max.year - RECURRENCE_YEARS, 1, 1, tzinfo=self.zone)
        rule = self._rule(max(self._periods(late) - 1, 0)).replace(until=None)
        try:
            return rule.after(late, inc=True) is not None
        except (OverflowError, ValueError):
            return False

    def after(self, moment: datetime, *, inc: bool = False) -> datetime | None:
        """The first run after ``moment`` (at it, with ``inc``), or None."""
        try:
            found: datetime | None = self._rule(max(self._periods(moment) - 1, 0)).after(
                moment, inc=inc
            )
        except (OverflowError, ValueError):  # past the end of the calendar
            return None
        return found

    def before(self, moment: datetime, *, inc: bool = True) -> datetime | None:
        """The last run before ``moment`` (at it, with ``inc``), or None."""
        periods = self._periods(moment)
        back = 1
        while True:
            start = max(periods - back, 0)
            try:
                found: datetime | None = self._rule(start).before(moment, inc=inc)
            except (OverflowError, ValueError):
                found = None
            if found is not None or start == 0:
                return found
            back *= 2
