"""Business calendars: working hours with breaks, time zones, holidays, make-up days.

:class:`BusinessCalendar` is the value and the reference arithmetic (per-day
working intervals; long spans count whole weeks); :class:`BusinessTimeTable`
tabulates a calendar as int64 arrays for vectorised arithmetic over many instants at
once (numpy).
"""

from custmgmt.calendars.business import BusinessCalendar, Interval, WeeklyHours
from custmgmt.calendars.table import BusinessTimeTable

__all__ = [
    "BusinessCalendar",
    "BusinessTimeTable",
    "Interval",
    "WeeklyHours",
]
