"""``custmgmt report`` on a store and on an orders CSV; bad options are clear errors."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from _fifo import fifo_with_reader
from custmgmt.cli import COMMANDS, main


def test_report_is_a_registered_command() -> None:
    assert "report" in COMMANDS


def test_report_of_the_demo_store_writes_text_html_and_json(
    demo_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    html, data = tmp_path / "r.html", tmp_path / "r.json"
    code = main(["report", "--db", str(demo_db), "--as-of", "2026-06-30", "--from", "2026-04-01",
                 "--to", "2026-06-30", "--baseline-from", "2026-01-01", "--baseline-to",
                 "2026-03-31", "--html", str(html), "--json", str(data), "--summary"])
    out = capsys.readouterr().out
    assert code == 0
    assert "baseline 2026-01-01 .. 2026-04-01   current 2026-04-01 .. 2026-07-01" in out
    assert "## Expected results and criteria" in out
    parsed = json.loads(data.read_text(encoding="utf-8"))
    assert parsed["schema"] == "custmgmt.kpi.report"
    assert parsed["current"]["start"] == "2026-04-01T00:00:00+08:00"
    assert html.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    # the same data gives the same file
    first = html.read_bytes()
    assert main(["report", "--db", str(demo_db), "--as-of", "2026-06-30", "--html",
                 str(html)]) == 0
    assert html.read_bytes() == first


def test_report_from_an_orders_csv_measures_the_order_kpis_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "orders.csv"
    csv.write_text("customer_id,placed_at,amount,status,category\n"
                   "c1,2026-01-10,100.00,delivered,茶叶\nc2,2026-02-10,50.50,delivered,图书\n"
                   "c1,2026-04-10,120.00,delivered,茶叶\nc3,2026-05-10,80.00,returned,图书\n",
                   encoding="utf-8")
    assert main(["report", str(csv), "--as-of", "2026-06-30"]) == 0
    out = capsys.readouterr().out
    assert "Net sales" in out
    assert "current not measurable: no interactions in the inputs" in out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--from", "2026-05-01", "--to", "2026-04-01"], "--to"),
        (["--from", "2026-04-01", "--to", "2026-06-30", "--baseline-from", "2026-03-01",
          "--baseline-to", "2026-04-15"], "does not overlap"),
        (["--from", "2026-04-01"], "both --from and --to"),
        (["--from", "April", "--to", "2026-06-30"], "ISO date"),
    ],
)
def test_bad_periods_are_clear_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    csv = tmp_path / "orders.csv"
    csv.write_text("customer_id,placed_at,amount\nc1,2026-01-10,100.00\n", encoding="utf-8")
    assert main(["report", str(csv), "--as-of", "2026-06-30", *extra]) == 2
    assert message in capsys.readouterr().err


def test_a_target_for_an_unknown_kpi_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "orders.csv"
    csv.write_text("customer_id,placed_at,amount\nc1,2026-01-10,100.00\n", encoding="utf-8")
    targets = tmp_path / "targets.json"
    targets.write_text('[{"kpi": "nps", "kind": "level", "value": 50}]', encoding="utf-8")
    assert main(["report", str(csv), "--targets", str(targets)]) == 2
    err = capsys.readouterr().err
    assert "Target.kpi" in err
    assert "nps" in err


@pytest.mark.parametrize("option", ["--html", "--json"])
def test_an_output_over_the_input_is_refused_naming_its_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str
) -> None:
    csv = tmp_path / "orders.csv"
    text = "customer_id,placed_at,amount\nc1,2026-01-10,100.00\n"
    csv.write_text(text, encoding="utf-8")
    assert main(["report", str(csv), "--as-of", "2026-06-30", option, str(csv)]) == 2
    err = capsys.readouterr().err
    assert f"{option}: got" in err
    assert "a file other than the input ORDERS.csv" in err
    assert csv.read_text(encoding="utf-8") == text
    assert main(["report", str(csv), "--as-of", "2026-06-30", option, str(tmp_path)]) == 2
    assert f"{option}: got" in capsys.readouterr().err


@pytest.mark.parametrize("option", ["--html", "--json"])
def test_report_files_follow_the_out_rules_a_fifo_and_a_link_survive(
    tmp_path: Path, option: str
) -> None:
    # Regression: --html and --json were renamed over their path, so a FIFO (or
    # /dev/null) was replaced by a regular file and a symbolic link by a copy.
    csv = tmp_path / "orders.csv"
    csv.write_text("customer_id,placed_at,amount\nc1,2026-01-10,100.00\n", encoding="utf-8")
    fifo = tmp_path / "pipe"
    with fifo_with_reader(fifo) as received:
        assert main(["report", str(csv), "--as-of", "2026-06-30", option, str(fifo)]) == 0
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert received[0].lstrip().startswith(b"<" if option == "--html" else b"{")
    real, link = tmp_path / "real.out", tmp_path / "link.out"
    real.write_text("old", encoding="utf-8")
    real.chmod(0o600)
    link.symlink_to(real)
    assert main(["report", str(csv), "--as-of", "2026-06-30", option, str(link)]) == 0
    assert link.is_symlink()
    assert stat.S_IMODE(real.stat().st_mode) == 0o600
    assert real.read_text(encoding="utf-8") != "old"
