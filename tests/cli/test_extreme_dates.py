"""Dates at the ends of the calendar are clear errors, never tracebacks.

Regression: ``--as-of 9999-12-31`` (and ``--due``, ``--week``, ``--from`` ...) reached
the commands' date arithmetic and died with ``OverflowError: date value out of range``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.cli import main

CASES = [
    (["points", "C-1", "--as-of", "9999-12-31"], "--as-of"),
    (["followups", "--due", "9999-12-31"], "--due"),
    (["followups", "--holiday", "9999-12-31=元旦"], "--holiday"),
    (["prospects", "--week", "9999-12-31"], "--week"),
    (["tickets", "--as-of", "9999-12-31T08:00"], "--as-of"),
    (["team", "--from", "0001-01-01", "--to", "2026-01-01"], "--from"),
    (["report", "--as-of", "9999-12-31"], "--as-of"),
    (["risk", "--as-of", "0001-01-01"], "--as-of"),
    (["recommend", "C-1", "--as-of", "9999-12-31"], "--as-of"),
]


@pytest.fixture(scope="module")
def empty_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("extreme") / "store.sqlite3"
    SQLiteStore(path).close()
    return path


@pytest.mark.parametrize(("arguments", "option"), CASES, ids=[" ".join(a) for a, _ in CASES])
def test_a_day_at_the_ends_of_the_calendar_is_a_clear_error(
    empty_store: Path, arguments: list[str], option: str, capsys: pytest.CaptureFixture[str]
) -> None:
    command, *rest = arguments
    assert main([command, "--db", str(empty_store), *rest]) == 2
    err = capsys.readouterr().err
    assert f"{option}: got " in err
    assert "from 1000-01-01 to 8999-12-31" in err
    assert "Traceback" not in err


def test_the_last_supported_day_still_works(
    empty_store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["tickets", "--db", str(empty_store), "--as-of", "8999-12-31"]) == 0
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize("lookback", ["0", "36501", "99999999999999999999"])
def test_a_lookback_out_of_range_is_refused_before_anything_is_printed(
    empty_store: Path, lookback: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Regression: a huge --lookback printed the day's follow-ups, then failed.
    assert main(["followups", "--db", str(empty_store), "--lookback", lookback]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "--lookback: got " in err
    assert "from 1 to 36,500" in err
