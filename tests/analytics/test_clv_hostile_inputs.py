"""Hostile inputs to the CLV models, ``analyse_clv`` and ``custmgmt clv``: found by hand."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("scipy")

from custmgmt.analytics.clv import MAX_MONTHS, BetaGeo, GammaGamma, ParetoNBD, analyse_clv
from custmgmt.analytics.frames import OrderFrame
from custmgmt.cli import main
from custmgmt.errors import ValidationError

TZ = timezone(timedelta(hours=8))


def _histories() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    x = np.array([3.0, 0.0, 5.0, 1.0, 2.0, 0.0, 4.0])
    tx = np.array([50.0, 0.0, 90.0, 10.0, 60.0, 0.0, 80.0])
    T = np.full(7, 100.0)
    m = np.array([20.0, 0.0, 35.0, 12.0, 18.0, 0.0, 25.0])
    return x, tx, T, m


@pytest.fixture(scope="module")
def fitted() -> tuple[BetaGeo, GammaGamma]:
    x, tx, T, m = _histories()
    bg = BetaGeo(penalizer_coef=0.01).fit(x, tx, T)
    gg = GammaGamma(penalizer_coef=0.01).fit(x[x > 0], m[x > 0])
    return bg, gg


def test_a_discount_rate_whose_discount_overflows_gives_zero_not_overflowerror(
    fitted: tuple[BetaGeo, GammaGamma],
) -> None:
    # (1 + 1e308) ** 2 overflowed a Python float: OverflowError, a traceback in the CLI.
    bg, gg = fitted
    x, tx, T, m = _histories()
    value = gg.customer_lifetime_value(bg, x, tx, T, m, time=3, discount_rate=1e308)
    assert np.all(np.isfinite(value))
    assert np.all(value >= 0.0)
    assert np.all(value < 1e-300)


@pytest.mark.parametrize("months", [0, -1, MAX_MONTHS + 1, 10**8, 1.5, True])
def test_a_horizon_outside_1_to_max_months_is_refused(
    fitted: tuple[BetaGeo, GammaGamma], months: object
) -> None:
    # 10**8 months ran one forecast per month: it never finished. The refusal comes
    # before any forecast: a forecaster that fails the test if asked is never asked.
    _, gg = fitted
    x, tx, T, m = _histories()
    with pytest.raises(ValidationError) as caught:
        gg.customer_lifetime_value(
            _MustNotForecast(), x, tx, T, m, time=months  # type: ignore[arg-type]
        )
    assert caught.value.field == "time"


class _MustNotForecast:
    """A purchase model that fails the test if it is ever asked for a forecast."""

    def predict_purchases(self, t: object, *history: object) -> np.ndarray:
        raise AssertionError(f"forecast for t={t!r} before the terms were checked")


def _frame() -> OrderFrame:
    start = datetime(2026, 1, 1, 10, tzinfo=TZ)
    rng = np.random.default_rng(4)
    ids, at, amount = [], [], []
    for c in range(40):
        for k in range(int(rng.integers(1, 6))):
            ids.append(f"c{c}")
            at.append(start + timedelta(days=int(rng.integers(0, 150)) + k))
            amount.append(f"{rng.uniform(5, 90):.2f}")
    return OrderFrame.from_arrays(
        customer_id=ids, placed_at=at, amount=amount, currency="CNY", amount_unit="major"
    )


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"months": 10**8}, "months"),
        ({"discount_rate": float("nan")}, "discount_rate"),
        ({"discount_rate": -0.5}, "discount_rate"),
        ({"discount_rate": float("inf")}, "discount_rate"),
    ],
)
def test_analyse_clv_refuses_bad_terms_before_fitting(
    monkeypatch: pytest.MonkeyPatch, kwargs: dict[str, object], field: str
) -> None:
    # The discount rate was checked only after every model had been fitted.
    _forbid_work(monkeypatch)
    events: list[object] = []
    with pytest.raises(ValidationError) as caught:
        analyse_clv(
            _frame(), as_of=datetime(2026, 7, 1, tzinfo=TZ), progress=events.append, **kwargs
        )
    assert caught.value.field == field
    assert events == []


def test_a_calibration_end_too_late_names_the_dates_not_microseconds() -> None:
    as_of = datetime(2026, 6, 30, tzinfo=TZ)
    with pytest.raises(ValidationError) as caught:
        analyse_clv(_frame(), as_of=as_of, calibration_end=as_of + timedelta(hours=5))
    assert caught.value.field == "calibration_end"
    assert caught.value.value == "2026-06-30T05:00:00+08:00"
    assert "2026-06-30T00:00:00+08:00" in str(caught.value)


def _csv(tmp_path: Path) -> Path:
    path = tmp_path / "orders.csv"
    rows = ["customer_id,placed_at,amount"]
    for c in range(30):
        for k in range(1 + c % 4):
            rows.append(f"客户{c},2026-0{1 + k}-{10 + c % 15},{10 + c}.50")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("extra", "option"),
    [
        (["--discount-rate", "1e308"], None),
        (["--discount-rate", "nan"], "--discount-rate"),
        (["--discount-rate", "-1"], "--discount-rate"),
        (["--months", "100000000"], "--months"),
        (["--months", str(MAX_MONTHS + 1)], "--months"),
    ],
)
def test_clv_command_refuses_bad_terms_up_front_and_never_traces_back(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    extra: list[str],
    option: str | None,
) -> None:
    path = _csv(tmp_path)
    if option is not None:
        # Refused up front: reading the orders, fitting or forecasting fails the test.
        _forbid_work(monkeypatch)
    code = main(["clv", str(path), "--models", "bg,gg", *extra])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    if option is None:
        assert code == 0
        assert "lifetime value" in out
    else:
        assert code != 0
        assert f"custmgmt: error: {option}: got" in err
        assert out == ""


def _forbid_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make reading orders, fitting a model and forecasting fail the test."""
    import custmgmt.cli.clv as clv_command

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("work started before the options were checked")

    monkeypatch.setattr(clv_command, "orders_from_csv", forbidden)
    monkeypatch.setattr(clv_command, "analyse_clv", forbidden)
    for cls in (BetaGeo, GammaGamma, ParetoNBD):
        monkeypatch.setattr(cls, "fit", forbidden)
    for cls in (BetaGeo, ParetoNBD):
        monkeypatch.setattr(cls, "predict_purchases", forbidden)


def test_clv_command_calibration_end_error_shows_dates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _csv(tmp_path)
    code = main(["clv", str(path), "--calibration-end", "2026-04-30"])
    err = capsys.readouterr().err
    assert code != 0
    assert "calibration_end: got '2026-04-30T23:59:59.999999+08:00'" in err


def test_the_top_customers_align_chinese_ids_by_terminal_width(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Ids were padded by characters: a Chinese id shifted its row's numbers right.
    from custmgmt.notebook.display import text_width

    assert main(["clv", str(_csv(tmp_path)), "--models", "bg,gg", "--top", "5"]) == 0
    out = capsys.readouterr().out
    lines = out[out.index("  customer ") :].splitlines()
    assert len(lines) == 6
    assert any("客户" in line for line in lines[1:])
    assert {text_width(line) for line in lines} == {text_width(lines[0])}


def test_summarize_transactions_refuses_ids_of_mixed_types() -> None:
    # numpy turned [1, "1"] into ["1", "1"]: two customers were summarised as one.
    from custmgmt.analytics.clv import summarize_transactions

    at = [datetime(2026, 1, 5, tzinfo=TZ), datetime(2026, 1, 6, tzinfo=TZ)]
    end = datetime(2026, 1, 10, tzinfo=TZ)
    with pytest.raises(ValidationError) as caught:
        summarize_transactions([1, "1"], at, [1.0, 2.0], observation_end=end)
    assert caught.value.field == "customer_id"
    same = summarize_transactions([np.str_("甲"), "乙"], at, [1.0, 2.0], observation_end=end)
    assert sorted(same.customer_ids.tolist()) == sorted(["甲", "乙"])
