"""``demo --as-of`` outside the synthetic data's years is refused before any store is
opened (a new store was created, then left empty when the generator refused)."""

from __future__ import annotations

from pathlib import Path

import pytest

from custmgmt.cli import main


@pytest.mark.parametrize("as_of", ["1000-01-01", "1979-12-31", "2201-01-01", "8999-12-31"])
def test_a_demo_date_outside_the_data_years_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], as_of: str
) -> None:
    db = tmp_path / "new.db"
    with pytest.raises(SystemExit) as exited:
        main(["demo", "--db", str(db), "--as-of", as_of])
    assert exited.value.code == 2
    assert "1980 to 2200" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
