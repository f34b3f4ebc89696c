"""``custmgmt points`` with moments at the edges of the calendar (round 35d).

A lot expiring at 9999-12-31 20:00 UTC is in year 10000 in Asia/Shanghai, and an entry
at 0001-01-01 01:00 UTC in year 0 in New York: the statement converted every time to
``--tz`` and raised a bare ``OverflowError`` half way through its printout. Years
below 1000 printed unpadded (``1-01-01``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from _loyalty_support import add_customer

from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.cli import main
from custmgmt.loyalty import adjust_points

LATE = datetime(9999, 12, 31, 20, 0, tzinfo=UTC)


def test_a_lot_expiring_at_the_end_of_year_9999_prints_in_shanghai(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "far.sqlite3"
    with SQLiteStore(db) as store:
        add_customer(store, "客户-1", at=datetime(2025, 1, 1, tzinfo=UTC))
        adjust_points(store, "客户-1", 100, key="补偿-1", at=datetime(2025, 1, 2, tzinfo=UTC),
                      actor="客服", reason="补偿", expires_at=LATE)
    code = main(["points", "--db", str(db), "--as-of", "2025-02-01", "客户-1"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "Traceback" not in captured.err
    assert "expires 9999-12-31" in captured.out
    assert "客户-1#1" in captured.out
    assert "补偿" in captured.out


def test_an_entry_in_year_one_prints_west_of_greenwich(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "early.sqlite3"
    with SQLiteStore(db) as store:
        add_customer(store, "客户-2", at=datetime(1, 1, 1, tzinfo=UTC))
        adjust_points(store, "客户-2", 7, key="k-1", at=datetime(1, 1, 1, 1, tzinfo=UTC),
                      actor="客服", reason="开户")
    code = main(["points", "--db", str(db), "--as-of", "1000-01-01",
                 "--tz", "America/New_York", "客户-2"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "0001-01-01 01:00 adjust" in captured.out
    assert " 1-01-01" not in captured.out
