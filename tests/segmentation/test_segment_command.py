"""``custmgmt segment``: CSV in, report out, one row per customer written atomically."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from _segment_cli import ORDERS_CSV, store_of_60_customers, write_orders

from custmgmt.cli import main


def test_the_command_prints_segments_rfm_and_the_churn_list(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "segments.csv"
    code = main(
        ["segment", str(write_orders(tmp_path)), "--as-of", "2025-03-10", "--out", str(out)]
    )
    printed = capsys.readouterr().out
    assert code == 0
    assert "3 customers as of 2025-03-10" in printed
    assert "value tiers:" in printed
    assert "quality tiers: skipped" in printed
    assert "potential loyalists" in printed
    assert "张三: medium risk because silent 49 days > 1.5 x purchase cycle 10 days" in printed
    assert "reactivation_reminder" in printed
    with out.open(encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    assert [r["customer_id"] for r in rows] == ["li", "wang", "张三"]
    zhang = rows[2]
    assert zhang["churn_rules"] == "purchase cycle"
    assert zhang["churn_risk"] == "medium"
    assert zhang["winback_action"] == "reactivation_reminder"
    assert zhang["rfm_segment"] == "at risk"
    assert rows[0]["churn_rules"] == ""
    assert rows[0]["value_tiers"] == "mid"


def test_the_default_as_of_is_the_last_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["segment", str(write_orders(tmp_path)), "--top", "0"]) == 0
    assert "as of 2025-03-01T00:00:00+08:00" in capsys.readouterr().out


def test_a_malformed_row_is_an_error_and_nothing_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "segments.csv"
    bad = write_orders(tmp_path, ORDERS_CSV + "wang,2025-02-03,lots,books\n")
    assert main(["segment", str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "custmgmt: error: line 8, column amount" in err
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [bad]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["segment"], "ORDERS.csv"),
        (["segment", "x.csv", "--db", "y.sqlite3"], "no CSV file together with --db"),
        (["segment", "--db", "/nonexistent/store.sqlite3"], "an existing SQLite store"),
        (["segment", "ORDERS", "--tz", "Mars/Olympus"], "--tz"),
        (["segment", "ORDERS", "--as-of", "yesterday"], "--as-of"),
        (["segment", "ORDERS", "--top", "-1"], "--top"),
    ],
)
def test_bad_command_lines_are_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    argv = [str(write_orders(tmp_path)) if a == "ORDERS" else a for a in argv]
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_the_command_reads_a_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from custmgmt.datasets import DEFAULT_AS_OF

    db = store_of_60_customers(tmp_path)
    out = tmp_path / "segments.csv"
    argv = ["segment", "--db", str(db), "--as-of", DEFAULT_AS_OF.isoformat(), "--out", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "quality tiers: core" in printed
    assert "acquisition: carted" in printed
    with out.open(encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == 60
    assert "quality_tiers" in rows[0]
