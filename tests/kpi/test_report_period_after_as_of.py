"""``report`` refuses a period that starts after --as-of: no data after it is read, so
every figure came out "not measurable" and the report looked like a dead business."""

from __future__ import annotations

from pathlib import Path

import pytest

from custmgmt.cli import main

_SAMPLE = Path(__file__).parents[1] / "data" / "cdnow" / "cdnow_sample.csv"
_BASE = ["report", str(_SAMPLE), "--currency", "USD", "--tz", "UTC"]


@pytest.mark.parametrize(("extra", "option"), [
    (["--from", "2030-01-01", "--to", "2030-03-31"], "--from"),
    (["--from", "2030-01-01", "--to", "2030-03-31",
      "--baseline-from", "2029-01-01", "--baseline-to", "2029-03-31"], "--from"),
    (["--from", "1998-04-01", "--to", "1998-06-30",
      "--baseline-from", "1998-07-01", "--baseline-to", "1998-08-30"], "--baseline-from"),
    (["--as-of", "1998-03-01", "--from", "1998-04-01", "--to", "1998-06-30"], "--from"),
])
def test_a_period_after_as_of_is_refused(
    extra: list[str], option: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*_BASE, *extra]) == 2
    captured = capsys.readouterr()
    assert f"{option}: got" in captured.err
    assert "on or before --as-of" in captured.err
    assert "Customer KPI report" not in captured.out


def test_a_period_running_past_as_of_is_still_reported(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The last order is on 1998-06-30 (the default --as-of): a period from that day on
    # is a period to date, not refused.
    assert main([*_BASE, "--from", "1998-06-30", "--to", "1998-12-31"]) == 0
    assert "current 1998-06-30 .. 1999-01-01" in capsys.readouterr().out
