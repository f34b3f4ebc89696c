"""BusinessCalendar refuses zone names that are paths and days that are not dates."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest

from custmgmt.calendars import BusinessCalendar
from custmgmt.errors import ValidationError

OFFICE = {0: [(time(9), time(12))]}


@pytest.mark.parametrize(
    "tz", ["/etc/passwd", "../../../../etc/passwd", ":/dev/stdin", "/dev/zero", "a\x00b"]
)
def test_a_zone_name_that_is_a_path_is_refused_without_opening_it(tz: str) -> None:
    with pytest.raises(ValidationError, match=r"^BusinessCalendar\.tz: .*not a path"):
        BusinessCalendar(tz=tz, hours=OFFICE)


@pytest.mark.parametrize("tz", ["Nowhere/Atlantis", "Asia/Shanghai/x"])
def test_an_unknown_zone_is_refused(tz: str) -> None:
    with pytest.raises(ValidationError, match=r"^BusinessCalendar\.tz"):
        BusinessCalendar(tz=tz, hours=OFFICE)


@pytest.mark.parametrize("tz", ["Asia/Shanghai", "Etc/GMT-14", "America/Port-au-Prince"])
def test_iana_names_are_accepted(tz: str) -> None:
    assert BusinessCalendar(tz=tz, hours=OFFICE).tz == tz


@pytest.mark.parametrize("day", [timedelta(days=1), None, "2024-09-30", 20240930])
def test_day_hours_and_working_intervals_refuse_what_is_not_a_date(day: object) -> None:
    cal = BusinessCalendar(tz="Asia/Shanghai", hours=OFFICE)
    with pytest.raises(ValidationError, match=r"^day: got"):
        cal.day_hours(day)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match=r"^day: got"):
        cal.working_intervals(day)  # type: ignore[arg-type]


def test_day_hours_reads_a_date_or_a_datetime() -> None:
    cal = BusinessCalendar(tz="Asia/Shanghai", hours=OFFICE)
    assert cal.day_hours(date(2024, 9, 30)) == ((time(9), time(12)),)
    assert cal.day_hours(datetime(2024, 9, 30, 15)) == ((time(9), time(12)),)
