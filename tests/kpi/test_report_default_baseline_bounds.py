"""The default baseline (the same length just before --from) near the calendar's start.

``report --from 1000-01-01 --to 8999-12-31`` put the baseline's start before year 1
and died with an OverflowError traceback.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from custmgmt.cli import main

CDNOW = Path(__file__).parents[1] / "data" / "cdnow" / "cdnow_sample.csv"


def _report(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["report", str(CDNOW), "--currency", "USD", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_default_baseline_before_the_first_day_names_from(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = _report(capsys, "--from", "1000-01-01", "--to", "8999-12-31")
    assert code == 2
    assert out == ""
    assert err.startswith("custmgmt: error: --from: got '1000-01-01'")
    assert "--baseline-from" in err


def test_a_baseline_given_in_full_needs_no_room_before_the_current_period(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = _report(capsys, "--from", "1000-01-02", "--to", "8999-12-31",
                           "--baseline-from", "1000-01-01", "--baseline-to", "1000-01-01")
    assert code == 0
    assert "baseline 1000-01-01 .. 1000-01-02" in out


def test_the_default_baseline_is_the_same_length_just_before(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = _report(capsys, "--from", "1997-07-01", "--to", "1998-06-30")
    assert code == 0
    assert "baseline 1996-07-01 .. 1997-07-01   current 1997-07-01 .. 1998-07-01" in out
