"""``custmgmt report --json -`` (or ``--html -``) puts that document alone on standard
output, so that ``| jq`` reads it: the text report and a "JSON written to -" line were
printed around it, and the JSON read from the pipe was invalid."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from custmgmt.cli import main

CDNOW = Path(__file__).parents[1] / "data" / "cdnow" / "cdnow_sample.csv"


def test_json_to_standard_output_is_json_alone(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(CDNOW), "--currency", "USD", "--json", "-"]) == 0
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert data["currency"] == "USD"
    assert "Customer KPI report" in captured.err  # the text report, beside the pipe


def test_html_to_standard_output_is_html_alone(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "r.json"
    assert main(["report", str(CDNOW), "--currency", "USD", "--html", "-",
                 "--json", str(target)]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("<!DOCTYPE html>")
    assert captured.out.rstrip().endswith("</html>")
    assert f"JSON written to {target}" in captured.err
    assert json.loads(target.read_text(encoding="utf-8"))["currency"] == "USD"


def test_both_documents_to_standard_output_are_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["report", str(CDNOW), "--currency", "USD", "--html", "-", "--json", "-"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("custmgmt: error: --json: got '-'")


def test_files_keep_the_text_report_on_standard_output(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "r.json"
    assert main(["report", str(CDNOW), "--currency", "USD", "--json", str(target)]) == 0
    captured = capsys.readouterr()
    assert "Customer KPI report" in captured.out
    assert f"JSON written to {target}" in captured.out
    assert captured.err == ""
