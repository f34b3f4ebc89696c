"""What ``--out`` may and may not do to the file it points at, CSV formula injection, and
the CSV options of the analyst commands (issue 12, items 1, 3 and 4)."""

from __future__ import annotations

import csv
import io
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from _fifo import fifo_with_reader
from custmgmt.cli import main
from custmgmt.cli._inputs import neutralise

ORDERS = (
    "customer_id,placed_at,amount,category\n"
    '=HYPERLINK("http://evil.example"),2026-01-03,199.90,tea\n'
    " =1+1,2026-01-05,50,books\n"
    "=1+1,2026-02-01,20.50,tea\n"
    "+cmd,2026-02-03,1000,books\n"
    "@SUM(A1),2026-02-04,10,tea\n"
    "-2,2026-02-04,10,tea\n"
    "'quoted,2026-02-05,10,tea\n"
    "-x,2026-02-05,10,tea\n"  # was "\tx": an id with a tab is now refused (round35b)
    "plain,2026-02-05,10,tea\n"
)
COMMANDS = [["rate"], ["segment"]]


@pytest.fixture
def orders(tmp_path: Path) -> Path:
    path = tmp_path / "orders.csv"
    path.write_text(ORDERS, encoding="utf-8")
    return path


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


# -- item 1: --out ---------------------------------------------------------------------
@pytest.mark.parametrize("command", COMMANDS)
def test_an_existing_file_is_replaced_and_keeps_its_mode(
    orders: Path, tmp_path: Path, command: list[str]
) -> None:
    out = tmp_path / "out.csv"
    out.write_text("old", encoding="utf-8")
    out.chmod(0o644)
    assert main([*command, str(orders), "--out", str(out)]) == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
    assert out.read_text(encoding="utf-8").startswith("customer_id,")


def test_a_new_file_gets_the_modes_of_the_umask(orders: Path, tmp_path: Path) -> None:
    out = tmp_path / "new.csv"
    old = os.umask(0o027)
    try:
        assert main(["rate", str(orders), "--out", str(out)]) == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o640


@pytest.mark.parametrize("command", COMMANDS)
def test_the_input_file_is_refused_as_out_however_it_is_named(
    orders: Path, tmp_path: Path, command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    link = tmp_path / "link.csv"
    link.symlink_to(orders)
    for name in (str(orders), str(link), str(tmp_path / "." / "orders.csv")):
        assert main([*command, str(orders), "--out", name]) == 2
        assert orders.read_text(encoding="utf-8") == ORDERS
    assert "expected a file other than the input ORDERS.csv" in capsys.readouterr().err


def test_the_policy_file_is_refused_as_out(
    orders: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = tmp_path / "policy.json"
    policy.write_text('{"criteria": {"spend": {"weight": 1.0}}}', encoding="utf-8")
    assert main(["rate", str(orders), "--policy", str(policy), "--out", str(policy)]) == 2
    assert "--policy" in capsys.readouterr().err
    assert policy.read_text(encoding="utf-8").startswith('{"criteria"')


@pytest.mark.parametrize("command", COMMANDS)
def test_a_directory_as_out_is_a_clear_error(
    orders: Path, tmp_path: Path, command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    assert main([*command, str(orders), "--out", str(folder)]) == 2
    assert "--out: got" in capsys.readouterr().err
    assert folder.is_dir()
    assert list(folder.iterdir()) == []


def test_out_in_a_missing_directory_or_a_link_loop_is_a_clear_error(
    orders: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["rate", str(orders), "--out", str(tmp_path / "no" / "x.csv")]) == 2
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    assert main(["rate", str(orders), "--out", str(tmp_path / "a")]) == 2
    err = capsys.readouterr().err
    assert "an existing directory" in err
    assert "symbolic links" in err


def test_a_symlink_is_followed_and_stays_a_link(orders: Path, tmp_path: Path) -> None:
    target = tmp_path / "real.csv"
    target.write_text("old", encoding="utf-8")
    target.chmod(0o600)
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    assert main(["rate", str(orders), "--out", str(link)]) == 0
    assert link.is_symlink()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.read_text(encoding="utf-8").startswith("customer_id,")
    dangling = tmp_path / "dangling.csv"
    dangling.symlink_to(tmp_path / "created.csv")
    assert main(["rate", str(orders), "--out", str(dangling)]) == 0
    assert dangling.is_symlink()
    assert (tmp_path / "created.csv").read_text(encoding="utf-8").startswith("customer_id,")


def test_a_fifo_is_written_through(orders: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    with fifo_with_reader(fifo) as received:
        assert main(["rate", str(orders), "--out", str(fifo)]) == 0
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert received[0].startswith(b"customer_id,")


@pytest.fixture
def device_nodes(tmp_path: Path) -> tuple[Path, Path]:
    """Private copies of /dev/null and /dev/full (never the real ones)."""
    if os.geteuid() != 0:
        pytest.skip("making device nodes needs root")
    null, full = tmp_path / "null", tmp_path / "full"
    try:
        os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))
        os.mknod(full, stat.S_IFCHR | 0o666, os.makedev(1, 7))
    except PermissionError:
        pytest.skip("this system does not allow mknod")
    return null, full


@pytest.mark.parametrize("command", COMMANDS)
def test_a_character_device_is_written_through_and_never_replaced(
    orders: Path,
    device_nodes: tuple[Path, Path],
    command: list[str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    null, full = device_nodes
    assert main([*command, str(orders), "--out", str(null)]) == 0
    assert stat.S_ISCHR(null.stat().st_mode)
    assert main([*command, str(orders), "--out", str(full)]) == 2
    assert stat.S_ISCHR(full.stat().st_mode)
    assert "No space left on device" in capsys.readouterr().err
    assert sorted(p.name for p in null.parent.iterdir()) == ["full", "null", "orders.csv"]


@pytest.mark.parametrize("command", COMMANDS)
def test_dash_writes_the_csv_to_standard_output_and_the_report_to_standard_error(
    orders: Path, command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*command, str(orders), "--out", "-"]) == 0
    captured = capsys.readouterr()
    rows = _rows(captured.out)
    assert rows[0][0] == "customer_id"
    assert len(rows) == 1 + 9
    assert "customers" in captured.err
    assert "wrote" not in captured.out + captured.err


# -- item 3: formula injection -----------------------------------------------------------
@pytest.mark.parametrize("command", COMMANDS)
def test_written_cells_cannot_start_a_spreadsheet_formula(
    orders: Path, tmp_path: Path, command: list[str]
) -> None:
    out = tmp_path / "out.csv"
    assert main([*command, str(orders), "--out", str(out)]) == 0
    ids = [row[0] for row in _rows(out.read_text(encoding="utf-8"))[1:]]
    for cell in ids:
        assert cell == "-2" or not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    assert sorted(ids) == sorted(
        [
            "'=HYPERLINK(\"http://evil.example\")",
            " =1+1",
            "'=1+1",
            "'+cmd",
            "'@SUM(A1)",
            "-2",  # a plain number is no formula
            "''quoted",
            "'-x",  # not a number: a formula
            "plain",
        ]
    )


def test_ids_differing_only_in_whitespace_stay_distinct_customers(
    orders: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out.csv"
    assert main(["rate", str(orders), "--out", str(out)]) == 0
    ids = [row[0] for row in _rows(out.read_text(encoding="utf-8"))[1:]]
    assert " =1+1" in ids
    assert "'=1+1" in ids
    assert len(ids) == len(set(ids)) == 9


def test_neutralising_can_be_undone_by_removing_one_leading_quote() -> None:
    values = ["=a", "'=a", "''", "-1", "-x", "a", "", "\r", "1e5", "+1.5"]
    written = [neutralise(v) for v in values]
    assert len(set(written)) == len(values)
    undone = [w.removeprefix("'") for w in written]
    assert undone == values


@pytest.mark.parametrize("command", ["rate", "segment"])
def test_help_explains_the_out_rules_and_the_csv_columns(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for word in ("formula injection", "atomically", "symlink", "'-' for standard output"):
        assert word in text
    for column in ("customer_id", "placed_at", "amount", "order_id", "returned_amount"):
        assert column in text
    assert "CNY" in text
    assert "Asia/Shanghai" in text
    assert "case-insensitively" in text
    assert "--encoding" in text


# -- item 4: CSV input on the command line ------------------------------------------------
@pytest.mark.parametrize("command", [["rate"], ["segment"], ["clv"]])
@pytest.mark.parametrize(
    ("row", "column"),
    [
        ("c,2026-01-01,1e999999", "amount"),
        ("c,0001-01-01,1", "placed_at"),
        ("c,9999-12-31T23:00-05:00,1", "placed_at"),
    ],
)
def test_extreme_cells_are_errors_not_tracebacks(
    tmp_path: Path,
    command: list[str],
    row: str,
    column: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "x.csv"
    path.write_text(f"customer_id,placed_at,amount\nok,2026-01-01,1\n{row}\n", encoding="utf-8")
    assert main([*command, str(path)]) == 2
    assert f"line 3, column {column}" in capsys.readouterr().err


def test_encoding_reads_a_gb18030_file_and_a_bad_byte_names_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "gbk.csv"
    text = "Customer_ID,Placed_At,Amount\n王芳,2026-01-01,1\n李雷,2026-01-02,2\n"
    path.write_bytes(text.encode("gb18030"))
    assert main(["rate", str(path)]) == 2
    assert "line 2, column customer_id" in capsys.readouterr().err
    assert main(["rate", str(path), "--encoding", "gb18030"]) == 0
    assert "王芳" in capsys.readouterr().out
    assert main(["rate", str(path), "--encoding", "klingon"]) == 2
    assert "encoding" in capsys.readouterr().err


def test_a_traceback_never_reaches_the_user(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(b"customer_id,placed_at,amount\na,2026-01-01,1e999999\n")
    done = subprocess.run(
        [sys.executable, "-m", "custmgmt", "rate", str(path), "--out", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
