"""An orders file whose id cell holds a control character (a tab pasted from a
spreadsheet, a quoted line break, a C1 character) is refused by ``rate``, ``segment`` and
``clv`` in one line naming the line and the column, exit 2, and nothing is written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from custmgmt.cli import main

GOOD = "customer_id,order_id,placed_at,amount\nc1,o1,2026-01-03,10\nc2,o2,2026-02-03,20\n"


@pytest.mark.parametrize("command", ["rate", "segment", "clv"])
@pytest.mark.parametrize(
    ("row", "column"),
    [
        pytest.param("\tc3,o3,2026-03-01,5", "customer_id", id="tab-customer"),
        pytest.param('"c\n3",o3,2026-03-01,5', "customer_id", id="line-break-customer"),
        pytest.param("c3\u0085,o3,2026-03-01,5", "customer_id", id="c1-customer"),
        pytest.param("c3,o\t3,2026-03-01,5", "order_id", id="tab-order"),
        pytest.param('c3,"o3\r",2026-03-01,5', "order_id", id="carriage-return-order"),
    ],
)
def test_an_id_with_a_control_character_is_one_line_exit_2_and_nothing_written(
    tmp_path: Path, command: str, row: str, column: str, capsys: pytest.CaptureFixture[str]
) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text(GOOD + row + "\n", encoding="utf-8", newline="")
    out = tmp_path / "out.csv"
    argv = [command, str(orders)] + (["--out", str(out)] if command != "clv" else [])
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1  # one line
    assert f"line 4, column {column}" in captured.err
    assert "control characters" in captured.err
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["orders.csv"]


def test_the_refusal_is_no_traceback_from_the_command_line(tmp_path: Path) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text(GOOD + "c3\t,o3,2026-03-01,5\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    done = subprocess.run(
        [sys.executable, "-m", "custmgmt", "rate", str(orders), "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert len(done.stderr.splitlines()) == 1
    assert "line 4, column customer_id" in done.stderr
    assert not out.exists()
