"""A schedule's timezone is an IANA zone that means the same on every machine: never
the host's ``localtime``, its ``posixrules``, a copy under ``posix/`` or ``right/``, a
path, or a name that only a case-insensitive file system finds."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import available_timezones

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custmgmt.domain.time import HOST_ZONE_NAMES
from custmgmt.errors import ValidationError
from custmgmt.rating import RatingPolicy, Schedule

HOST_DEPENDENT = [
    "localtime",
    "posixrules",
    "posix/UTC",
    "posix/Asia/Shanghai",
    "right/UTC",
    "right/Europe/Berlin",
    "local",
    "",
    " ",
    "/etc/localtime",
    "/usr/share/zoneinfo/UTC",
    "../zoneinfo/UTC",
    "Europe/../UTC",
    "./UTC",
    "utc",
    "asia/shanghai",
    "Asia/Shanghai ",
    "zone.tab",
    "tzdata.zi",
    "UTC\x00",
]


@pytest.mark.parametrize("name", HOST_DEPENDENT)
def test_a_host_dependent_or_unknown_zone_is_refused_naming_timezone(name: str) -> None:
    # "localtime" (and "posixrules", "posix/...", "right/...") used to be accepted:
    # zoneinfo opens them from the host's zone files, so the same policy ran at
    # other hours on another machine.
    with pytest.raises(ValidationError) as caught:
        Schedule(timezone=name)
    assert caught.value.field == "schedule.timezone"
    assert caught.value.value == name


@pytest.mark.parametrize("name", ["localtime", "posixrules", "posix/UTC"])
def test_a_policy_from_data_refuses_a_host_zone(name: str) -> None:
    data = {"criteria": {"spend": {"weight": 1.0}},
            "schedule": {"rule": "monthly", "timezone": name}}
    with pytest.raises(ValidationError) as caught:
        RatingPolicy.from_dict(data)
    assert caught.value.field == "schedule.timezone"
    assert caught.value.value == name


@pytest.mark.parametrize(
    "name", ["UTC", "Asia/Shanghai", "Europe/Berlin", "America/New_York", "Etc/GMT+5",
             "US/Eastern"],
)
def test_iana_zones_are_accepted(name: str) -> None:
    schedule = Schedule(rule="monthly", timezone=name)
    due = schedule.previous_run(datetime(2026, 3, 15, tzinfo=UTC))
    assert due is not None
    assert (due.day, due.hour, due.minute) == (1, 0, 0)


@pytest.mark.parametrize("name", [None, 0, 8.0, b"UTC", ["UTC"], {"UTC": 1}])
def test_a_timezone_that_is_not_text_is_refused(name: object) -> None:
    with pytest.raises(ValidationError) as caught:
        Schedule(timezone=name)  # type: ignore[arg-type]
    assert caught.value.field == "schedule.timezone"


KNOWN = sorted(available_timezones() - HOST_ZONE_NAMES)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_junk_zone_names_are_refused_or_are_iana_zones(name: str) -> None:
    # Any text: either an IANA zone (the schedule works) or a ValidationError naming
    # the field, never another exception, and never a host-dependent zone.
    if name not in KNOWN:
        with pytest.raises(ValidationError) as caught:
            Schedule(timezone=name)
        assert caught.value.field == "schedule.timezone"
        assert caught.value.value == name
        return
    schedule = Schedule(timezone=name)
    assert schedule.previous_run(datetime(2026, 1, 1, tzinfo=UTC)) is not None


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(KNOWN), st.sampled_from(["posix/", "right/", "/usr/share/zoneinfo/",
                                                 "./", "../", " "]))
def test_any_zone_behind_a_host_prefix_is_refused(zone: str, prefix: str) -> None:
    assert Schedule(timezone=zone).timezone == zone
    with pytest.raises(ValidationError) as caught:
        Schedule(timezone=prefix + zone)
    assert caught.value.field == "schedule.timezone"
