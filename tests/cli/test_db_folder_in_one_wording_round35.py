"""A folder (or a FIFO) given as ``--db`` is refused by every command in the same one
line, naming ``--db`` and the path, with exit status 2, and left untouched.

The commands said it in their own words: the demo "an SQLite file or a new path (it
is a folder)", backup "an existing database file", restore named the library's
parameter ("to: got ..., expected a regular file") and the others "an existing SQLite
store", which does not say what was wrong with the folder.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custmgmt.cli import build_parser, main

#: One call per command (and action) that takes --db; ``DB`` is replaced by the path.
CALLS: dict[str, list[str]] = {
    "demo": ["demo", "--db", "DB", "--customers", "5"],
    "rate": ["rate", "--db", "DB"],
    "segment": ["segment", "--db", "DB"],
    "clv": ["clv", "--db", "DB"],
    "tickets": ["tickets", "--db", "DB"],
    "privacy verify": ["privacy", "verify", "--db", "DB"],
    "privacy export": ["privacy", "export", "--db", "DB", "--customer", "C1",
                       "--out", "OUT"],
    "privacy erase": ["privacy", "erase", "--db", "DB", "--customer", "C1"],
    "backup": ["backup", "--db", "DB", "--to", "OUT"],
    "restore": ["restore", "--db", "DB", "--from", "OUT"],
    "prospects": ["prospects", "--db", "DB"],
    "team": ["team", "--db", "DB"],
    "campaign": ["campaign", "--db", "DB", "plan", "X", "--name", "n", "--coupon", "5"],
    "followups": ["followups", "--db", "DB"],
    "risk": ["risk", "--db", "DB"],
    "points": ["points", "C1", "--db", "DB"],
    "recommend": ["recommend", "C1", "--db", "DB"],
    "report": ["report", "--db", "DB"],
}


def _commands_with_db(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> set[str]:
    found = {" ".join(path)} if any("--db" in a.option_strings for a in parser._actions) else set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found |= _commands_with_db(sub, (*path, name))
    return found


def test_every_command_that_takes_db_is_tried() -> None:
    assert _commands_with_db(build_parser()) == set(CALLS)


@pytest.mark.parametrize("kind", ["folder", "fifo"])
@pytest.mark.parametrize("command", sorted(CALLS))
def test_a_folder_or_fifo_as_db_is_refused_in_one_wording_and_left_untouched(
    command: str, kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)  # short relative paths: errors cut long values off
    target = Path("target")
    if kind == "folder":
        target.mkdir()
        (target / "keep.txt").write_text("mine", encoding="utf-8")
        what = "a folder"
    else:
        os.mkfifo(target)
        what = "a FIFO"
    out = Path("out.file")
    argv = [str(target) if a == "DB" else str(out) if a == "OUT" else a
            for a in CALLS[command]]
    before = sorted(p.name for p in tmp_path.rglob("*"))
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"custmgmt: error: --db: got {str(target)!r}, expected an SQLite database file "
        f"(it is {what})\n"
    )
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
    if kind == "folder":
        assert (target / "keep.txt").read_text(encoding="utf-8") == "mine"


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.text(st.characters(exclude_characters="/\x00", exclude_categories=("Cs",)),
                    min_size=1, max_size=12).filter(lambda n: n not in (".", "..")),
       command=st.sampled_from(["demo", "rate", "backup", "restore", "campaign"]))
def test_any_folder_name_gets_the_same_one_line_refusal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, command: str
) -> None:
    case = tmp_path / os.urandom(6).hex()
    case.mkdir()
    folder = case / name
    try:
        folder.mkdir()
    except OSError:  # a name this file system refuses
        return
    argv = [str(folder) if a == "DB" else str(case / "out.file") if a == "OUT" else a
            for a in CALLS[command]]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("custmgmt: error: --db: got ")
    assert captured.err.endswith(", expected an SQLite database file (it is a folder)\n")
    assert captured.err.count("\n") == 1
    assert list(case.iterdir()) == [folder]
    assert list(folder.iterdir()) == []
