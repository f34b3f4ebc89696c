"""Hostile input, second round: overflowing scalings, repeated ids, unbounded resamples.

The repository side (every update a logged step, never backdated) is in the contract
suite, ``test_every_update_is_a_logged_step_in_time_order``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custmgmt.cli import main
from custmgmt.errors import ValidationError
from custmgmt.risk import PDOScaling, ScorecardFitter, evaluate
from custmgmt.risk.evaluation import MAX_BOOT
from custmgmt.risk.scorecard import MAX_POINTS

Y = np.array([0, 1, 0, 1, 0, 1])


def test_a_scaling_whose_base_overflows_is_a_validation_error_naming_the_scaling() -> None:
    # A constant feature leaves only the base, which this scaling puts at infinity:
    # it was an OverflowError from round(inf).
    scaling = PDOScaling(base_score=1.7e308, base_odds=1e-300, pdo=1e306)
    with pytest.raises(ValidationError, match=r"^scaling: got 'PDO 1e\+306 at 1\.7e\+308"):
        ScorecardFitter(scaling=scaling).fit({"x": np.ones(6)}, Y)


def test_a_scaling_whose_points_leave_the_range_names_the_scaling_not_a_bin(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    table = tmp_path / "t.csv"
    table.write_text("x,y\n1,0\n2,1\n3,0\n4,1\n", encoding="utf-8")
    for option, value in (("--pdo", "1e308"), ("--base-score", "2e9")):
        assert main(["risk", "fit", str(table), "--label", "y", option, value]) == 2
        err = capsys.readouterr().err
        assert "--pdo/--base-odds/--base-score: got 'PDO" in err, err
        assert "Traceback" not in err


@settings(max_examples=40, deadline=None)
@given(base_score=st.floats(-1e12, 1e12), pdo=st.floats(1e-3, 1e12),
       base_odds=st.floats(1e-300, 1e300))
def test_any_finite_scaling_gives_a_card_in_range_or_a_validation_error(
        base_score: float, pdo: float, base_odds: float) -> None:
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    try:
        card = ScorecardFitter(n_bins=3, scaling=PDOScaling(
            base_score=base_score, base_odds=base_odds, pdo=pdo)).fit({"x": x}, Y).card
    except ValidationError:
        return
    low, high = card.score_range
    assert -MAX_POINTS <= low <= high <= MAX_POINTS


def test_an_id_given_twice_in_the_id_column_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The same case twice would weigh double in the fit: it was fitted silently.
    table = tmp_path / "t.csv"
    table.write_text("id,x,y\na,1,0\nb,2,1\na,3,0\nc,4,1\n", encoding="utf-8")
    assert main(["risk", "fit", str(table), "--label", "y", "--id", "id"]) == 2
    assert "id (row 4): got 'a', expected ids given once each (row 2 has it too)" in (
        capsys.readouterr().err)
    table.write_text("id,x,y\na,1,0\nb,2,1\n,3,0\n,4,1\n", encoding="utf-8")
    assert main(["risk", "fit", str(table), "--label", "y", "--id", "id"]) == 0


def test_bootstrap_resamples_beyond_the_cap_are_refused() -> None:
    # An unbounded count looped for as long as the number said (10**12: for ever).
    with pytest.raises(ValidationError, match=r"^n_boot: got 1000000000000"):
        evaluate(Y, np.arange(6.0), n_boot=10**12)
    with pytest.raises(ValidationError, match="n_boot"):
        evaluate(Y, np.arange(6.0), n_boot=MAX_BOOT + 1)
    auc = evaluate(Y, np.arange(6.0), n_boot=0).auc
    assert auc.low == auc.value == auc.high
