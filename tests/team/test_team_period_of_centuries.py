"""A team period reaching centuries past its tickets: a clear error at once.

``custmgmt team --to 8999-12-31`` tabulated every working day from the tickets of
2026 to the year 9000 (about 0.1 ms a day) and printed nothing for minutes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from custmgmt.cli import main


def test_the_team_command_refuses_a_period_ending_millennia_away(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "demo.sqlite3"
    assert main(["demo", "--db", str(db), "--customers", "60"]) == 0
    capsys.readouterr()
    assert main(["team", "--db", str(db), "--from", "2026-01-01", "--to", "8999-12-31"]) == 2
    err = capsys.readouterr().err
    # The option the user typed, with the value typed (not the library's argument).
    assert err.startswith("custmgmt: error: --to: got '8999-12-31'")
    assert "400 years" in err
    assert main(["team", "--db", str(db), "--from", "2026-01-01", "--to", "2026-12-31"]) == 0
