"""``custmgmt demo`` on the smallest stores, and a refused ``--seed``.

``demo --customers 1`` stopped with "audience: got 'DEMO-CAMP-1', expected a rule
that selects at least one customer" in the campaign section, on every run, and never
showed the sections after it; ``demo --seed -5`` created the database, then failed as
"seed: got -5" (the generator's parameter) and left the empty store behind.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from custmgmt.cli import main


def test_a_one_customer_demo_runs_every_section_twice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "one.sqlite3"
    for _ in range(2):
        assert main(["demo", "--db", str(db), "--customers", "1"]) == 0
        captured = capsys.readouterr()
        assert captured.err == ""
        assert "the campaign is not run" in captured.out
        assert "Privacy and security" in captured.out  # the last section was reached


def test_a_negative_seed_is_refused_naming_the_option_before_any_store_is_made(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "seed.sqlite3"
    assert main(["demo", "--db", str(db), "--seed", "-5", "--customers", "3"]) == 2
    assert capsys.readouterr().err == (
        "custmgmt: error: --seed: got -5, expected a non-negative integer\n"
    )
    assert list(tmp_path.iterdir()) == []
