from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.cli import COMMANDS, build_parser, main
from custmgmt.cli.demo_privacy import PSEUDONYM_PREFIX
from custmgmt.domain import CustomerKind
from custmgmt.domain.masking import mask_name


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for command in COMMANDS:
        assert command in out


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    assert "usage:" in capsys.readouterr().out


def test_no_command_prints_help_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "commands" in capsys.readouterr().out


def test_the_parser_builds_without_optional_extras_being_imported() -> None:
    # Building the parser imports each command module; none may need scipy/pandas.
    code = (
        "import sys; from custmgmt.cli import build_parser; build_parser(); "
        "bad = [m for m in ('scipy', 'pandas', 'polars', 'holidays') if m in sys.modules]; "
        "sys.exit(str(bad) if bad else 0)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_bad_demo_arguments_are_clear_errors(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["demo", "--db", str(tmp_path / "d.sqlite3"), "--customers", "0"]) == 2
    assert "--customers" in capsys.readouterr().err


def test_a_fifo_or_folder_as_the_demo_database_is_refused_naming_db(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    os.mkfifo(tmp_path / "pipe")
    assert main(["demo", "--db", str(tmp_path / "pipe")]) == 2
    assert "--db: got " in capsys.readouterr().err
    assert main(["demo", "--db", str(tmp_path)]) == 2
    assert "(it is a folder)" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]


@pytest.mark.slow
def test_the_demo_fills_once_and_reopens_without_duplicating(tmp_path: Path) -> None:
    db = tmp_path / "demo.sqlite3"
    command = [sys.executable, "-m", "custmgmt", "demo", "--db", str(db), "--customers", "150"]
    first = subprocess.run(command, capture_output=True, text=True, check=True)
    assert "generating 150 synthetic customers" in first.stdout
    assert "150 customers" in first.stdout
    second = subprocess.run(command, capture_output=True, text=True, check=True)
    assert "reopened an existing store" in second.stdout
    # the same store summary both times: nothing was added on reopening
    summary = [
        line for line in first.stdout.splitlines() if " orders, " in line and "customers" in line
    ]
    assert summary
    # Orders and interactions are the same both times: nothing was added on reopening.
    # (Customers may grow by the prospects the first run converted, never on the second.)
    assert summary[-1].split(" customers, ")[1] in second.stdout
    assert "the demo prospects are already stored: nothing added" in second.stdout
    assert "Traceback" not in first.stderr + second.stderr
    # Regression: the summary's sample customers, the customer overview and the ticket
    # lines printed whole names. A person's name may appear only masked (surname,
    # initials); a business's name is not personal data, an erased one's pseudonym no
    # longer is.
    with SQLiteStore(db) as store:
        names = {
            c.name
            for chunk in store.customers.iter_chunks()
            for c in chunk
            if c.kind is CustomerKind.PERSON and not c.name.startswith(PSEUDONYM_PREFIX)
        }
    printed = first.stdout + second.stdout
    shown = sorted(name for name in names if mask_name(name) != name and name in printed)
    assert not shown, f"names printed in plain text: {shown[:5]}"
    assert "DEMO-T01 " in first.stdout
    assert "e.g. C" in first.stdout


def test_build_parser_is_reusable() -> None:
    assert build_parser().prog == "custmgmt"


def test_a_closed_pipe_ends_the_command_quietly(tmp_path: Path) -> None:
    # `custmgmt ... | head` closes the pipe early: no traceback, just an exit.
    script = (
        "import sys; from custmgmt.cli import main\n"
        "import custmgmt.cli.demo as demo\n"
        "def flood(args):\n"
        "    for i in range(100000):\n"
        "        print('line', i)\n"
        "    return 0\n"
        "demo.run = flood\n"
        "sys.exit(main(['demo', '--db', sys.argv[1]]))\n"
    )
    reader = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path / "x.sqlite3")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert reader.stdout is not None
    reader.stdout.readline()
    reader.stdout.close()
    _, err = reader.communicate(timeout=60)
    assert b"Traceback" not in err
    assert reader.returncode == 141
