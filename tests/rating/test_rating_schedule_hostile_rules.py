"""Hostile recurrence rules: refused with a ValidationError, never a hang or wrong runs."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

import pytest
from dateutil.rrule import rrulestr

from custmgmt.errors import ValidationError
from custmgmt.rating import Schedule
from custmgmt.rating.policy import SCHEDULE_ANCHOR


def refusal_of(rule: str) -> str:
    """The message of ``Schedule(rule=rule)``'s ValidationError, from a child process
    killed after 20 seconds (a hang fails the test instead of the suite)."""
    code = (
        "import sys\n"
        "from custmgmt.errors import ValidationError\n"
        "from custmgmt.rating import Schedule\n"
        "try:\n"
        "    Schedule(rule=sys.argv[1])\n"
        "except ValidationError as e:\n"
        "    print(e)\n"
        "else:\n"
        "    print('accepted')\n"
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", code, rule], capture_output=True, text=True, timeout=20
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"Schedule(rule={rule!r}) did not return in 20 seconds")
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize(
    "rule", ["FREQ=DAILY;INTERVAL=0", "FREQ=WEEKLY;INTERVAL=000", "FREQ=MONTHLY;INTERVAL=0"]
)
def test_a_zero_interval_is_refused_instead_of_looping_forever(rule: str) -> None:
    # rrule's iterator never advances with INTERVAL=0: Schedule() used to hang.
    assert "positive whole INTERVAL" in refusal_of(rule)


@pytest.mark.parametrize("rule", ["FREQ=DAILY;INTERVAL=-2", "FREQ=DAILY;INTERVAL=+2"])
def test_a_signed_interval_is_refused(rule: str) -> None:
    assert "positive whole INTERVAL" in refusal_of(rule)


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=DAILY;FREQ=SECONDLY",  # rrulestr keeps the last: a secondly rule
        "FREQ=DAILY;INTERVAL=1;INTERVAL=3",  # rrulestr keeps INTERVAL=3
        "FREQ=WEEKLY;BYDAY=MO;BYDAY=TU",
    ],
)
def test_a_part_given_twice_is_refused(rule: str) -> None:
    with pytest.raises(ValidationError, match="given twice"):
        Schedule(rule=rule)


def test_an_rrule_prefix_is_read_like_the_bare_rule() -> None:
    after = datetime(2026, 1, 15, tzinfo=UTC)
    prefixed = Schedule(rule="RRULE:FREQ=DAILY;INTERVAL=3").next_runs(after, 3)
    bare = Schedule(rule="FREQ=DAILY;INTERVAL=3").next_runs(after, 3)
    walked = rrulestr("FREQ=DAILY;INTERVAL=3", dtstart=SCHEDULE_ANCHOR.replace(tzinfo=UTC))
    assert prefixed == bare == list(walked.xafter(after, count=3))
