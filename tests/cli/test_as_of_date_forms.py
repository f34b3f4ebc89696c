"""Every ISO form of a date given as ``--as-of`` means the end of that day.

Only the ten-character form (2026-01-01) was read as a whole day: 20260101 and
2026-W01-4 meant the day's first instant, so that day's own orders were left out.
"""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from custmgmt.cli import main
from custmgmt.cli._inputs import parse_as_of

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize("text", ["2026-01-01", "20260101", "2026-W01-4", " 2026-01-01 "])
def test_every_iso_date_form_is_the_end_of_the_day(text: str) -> None:
    assert parse_as_of(text, SHANGHAI).isoformat() == "2026-01-01T23:59:59.999999+08:00"


def test_a_datetime_keeps_its_time() -> None:
    assert parse_as_of("20260101T10:30", SHANGHAI).isoformat() == "2026-01-01T10:30:00+08:00"


def test_rate_counts_the_days_own_orders_in_the_basic_form(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "customer_id,placed_at,amount\n甲,2025-12-01 09:00,10.00\n乙,2026-01-01 10:00,30.00\n",
        encoding="utf-8",
    )
    outputs = []
    for text in ("2026-01-01", "20260101"):
        out = tmp_path / f"stars-{text}.csv"
        assert main(["rate", str(orders), "--as-of", text, "--out", str(out)]) == 0
        outputs.append(out.read_text(encoding="utf-8"))
    capsys.readouterr()
    assert outputs[0] == outputs[1]
    assert "乙" in outputs[1]


def test_a_wall_time_skipped_by_daylight_saving_reads_as_the_instant_it_names() -> None:
    # 02:30 on New York's spring-forward night never showed on a clock: it was taken
    # and printed as "02:30 -05:00"; it is the instant 07:30 UTC, 03:30 -04:00.
    new_york = ZoneInfo("America/New_York")
    assert parse_as_of("2026-03-08T02:30", new_york).isoformat() == "2026-03-08T03:30:00-04:00"
    # An ambiguous time keeps its first reading (fold 0), a date its day's end.
    assert parse_as_of("2026-11-01T01:30", new_york).isoformat() == "2026-11-01T01:30:00-04:00"
    assert parse_as_of("2026-03-08", new_york).isoformat() == "2026-03-08T23:59:59.999999-04:00"
