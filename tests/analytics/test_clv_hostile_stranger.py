"""The lifetime-value API and ``custmgmt clv`` used the way a stranger would: found by hand."""

from __future__ import annotations

import warnings
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pytest

pytest.importorskip("scipy")

from custmgmt.analytics.clv import (
    BetaGeo,
    GammaGamma,
    ParetoNBD,
    analyse_clv,
    summarize_transactions,
)
from custmgmt.analytics.frames import OrderFrame
from custmgmt.cli import main
from custmgmt.errors import ValidationError

TZ = timezone(timedelta(hours=8))
BG = BetaGeo()
BG.params_ = MappingProxyType({"r": 0.25, "alpha": 38.0, "a": 0.6, "b": 2.6})
PNBD = ParetoNBD()
PNBD.params_ = MappingProxyType({"r": 0.56, "alpha": 88.0, "s": 0.41, "beta": 74.0})
GG = GammaGamma()
GG.params_ = MappingProxyType({"p": 4.7, "q": 4.2, "v": 24.4})
X = np.array([1.0, 3.0, 0.0])
TX = np.array([10.0, 50.0, 0.0])
T = np.array([100.0, 100.0, 100.0])
M = np.array([10.0, 20.0, 0.0])


def test_a_numpy_integer_horizon_and_numpy_float_rate_are_numbers() -> None:
    # time=np.int64(12) was refused: "got 12, expected a whole number of months".
    plain = GG.customer_lifetime_value(BG, X, TX, T, M, time=12, discount_rate=0.25)
    numpy = GG.customer_lifetime_value(
        BG, X, TX, T, M, time=np.int64(12), discount_rate=np.float32(0.25)  # type: ignore[arg-type]
    )
    np.testing.assert_allclose(numpy, plain, rtol=1e-15)
    for bad in (np.bool_(True), np.int64(0), np.int64(1201)):
        with pytest.raises(ValidationError) as caught:
            GG.customer_lifetime_value(BG, X, TX, T, M, time=bad)  # type: ignore[arg-type]
        assert caught.value.field == "time"


def test_analyse_clv_takes_a_numpy_integer_horizon() -> None:
    start = datetime(2026, 1, 1, 10, tzinfo=TZ)
    ids, at, amount = [], [], []
    for c in range(20):
        for k in range(1 + c % 4):
            ids.append(f"c{c}")
            at.append(start + timedelta(days=7 * k + c))
            amount.append(f"{10 + c}.50")
    frame = OrderFrame.from_arrays(
        customer_id=ids, placed_at=at, amount=amount, currency="CNY", amount_unit="major"
    )
    report = analyse_clv(
        frame, as_of=datetime(2026, 4, 1, tzinfo=TZ), models="bg,gg", months=np.int64(6)  # type: ignore[arg-type]
    )
    assert report.months == 6
    assert type(report.months) is int


@pytest.mark.parametrize("model", [None, GG, "BetaGeo"])
def test_a_transaction_model_without_forecasts_is_refused_by_name(model: object) -> None:
    # None or the Gamma-Gamma model itself ended in AttributeError.
    with pytest.raises(ValidationError) as caught:
        GG.customer_lifetime_value(model, X, TX, T, M)  # type: ignore[arg-type]
    assert caught.value.field == "transaction_model"
    assert caught.value.value == type(model).__name__


def test_a_spend_near_the_largest_double_gives_inf_without_a_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        spend = GG.conditional_expected_average_profit(X, np.array([1e308, 20.0, 0.0]))
        value = GG.customer_lifetime_value(PNBD, X, TX, T, np.array([1e308, 20.0, 0.0]))
    assert spend[0] == np.inf
    assert np.isfinite(spend[1:]).all()
    assert value[0] == np.inf
    assert np.isfinite(value[1:]).all()


def test_int64_spend_sums_past_2_63_do_not_wrap_to_a_negative_mean() -> None:
    # Three orders of 2**62 minor units: their int64 sum wrapped to a negative number,
    # and the customer was "left out for a mean spend of 0 or less".
    day = 86_400_000_000
    at = np.array([0, 10 * day, 20 * day, 0, 5 * day], dtype=np.int64)
    amount = np.array([2**62, 2**62, 2**62, 500, 700], dtype=np.int64)
    summary = summarize_transactions(
        np.array([1, 1, 1, 2, 2]), at, amount, observation_end=30 * day
    )
    assert summary.monetary_value is not None
    assert summary.monetary_value.tolist() == [float(2**62), 700.0]
    # Two orders of one day merge into one purchase of their sum, also past 2**63.
    merged = summarize_transactions(
        np.array([1, 1, 1]),
        np.array([0, 3 * day, 3 * day], dtype=np.int64),
        np.array([5, 2**62, 2**62], dtype=np.int64),
        observation_end=30 * day,
    )
    assert merged.monetary_value is not None
    assert merged.monetary_value.tolist() == [float(2**63)]


def test_small_int64_spend_sums_stay_exact() -> None:
    day = 86_400_000_000
    summary = summarize_transactions(
        np.array([1, 1, 1]),
        np.array([0, day, 2 * day], dtype=np.int64),
        np.array([1, 2**53, 1], dtype=np.int64),
        observation_end=3 * day,
    )
    assert summary.monetary_value is not None
    assert summary.monetary_value.tolist() == [(2**53 + 1) / 2]


def test_clv_command_does_not_leave_out_a_customer_whose_huge_spend_wrapped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "orders.csv"
    big = "92233720368547758.07"  # 2**63 - 1 minor units
    path.write_text(
        "customer_id,placed_at,amount\n"
        f"A,2026-01-05,{big}\nA,2026-02-05,{big}\nA,2026-03-05,{big}\n"
        "B,2026-01-05,5\nB,2026-01-25,5\n",
        encoding="utf-8",
    )
    assert main(["clv", str(path), "--models", "bg,gg"]) == 0
    out = capsys.readouterr().out
    assert "average 0 or less" not in out
    assert "Gamma-Gamma  p=" in out
