"""``custmgmt clv``: the command line over a CSV of orders."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from custmgmt.analytics.clv import FitProgress
from custmgmt.cli import main
from custmgmt.cli.clv import ProgressPrinter


def write_orders(path: Path, customers: int = 400, seed: int = 3) -> Path:
    """Orders of customers who buy at their own rate and may drop out after a purchase."""
    rng = np.random.default_rng(seed)
    start = datetime(2024, 1, 1, 9, 0)
    rows = []
    for c in range(customers):
        rate = rng.gamma(1.0, 1 / 20.0)
        dropout = rng.beta(0.8, 3.0)
        t = rng.uniform(0, 200)
        mean_spend = rng.gamma(4.0, 40.0)
        while t < 400:
            placed = start + timedelta(days=float(t))
            amount = rng.gamma(6.0, mean_spend / 6.0)
            rows.append([f"客户{c:04d}", placed.isoformat(timespec="minutes"), f"{amount:.2f}"])
            if rng.random() < dropout and len(rows) > 1:
                break
            t += rng.exponential(1 / rate)
    rows.append(["客户0000", "2024-03-03T10:00", "0.00"])  # a zero-value order is fine
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(["customer_id", "placed_at", "amount"])
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def orders(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_orders(tmp_path_factory.mktemp("clv") / "orders.csv")


def test_clv_prints_the_three_models_and_the_top_customers(
    orders: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["clv", str(orders), "--top", "3"]) == 0
    out = capsys.readouterr().out
    for name in ("BG/NBD", "Pareto/NBD", "Gamma-Gamma"):
        assert name in out
    assert "log-likelihood=" in out
    assert "top 3 customers by predicted 12-month lifetime value (CNY;" in out
    assert "客户" in out


def test_clv_with_a_calibration_end_compares_forecast_and_holdout(
    orders: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["clv", str(orders), "--calibration-end", "2024-10-31", "--unit", "week"]) == 0
    out = capsys.readouterr().out
    assert "calibration period ends 2024-10-31" in out
    assert "holdout:" in out
    assert "times in weeks" in out
    total = next(line for line in out.splitlines() if line.strip().startswith("total"))
    actual, *forecasts = (float(v) for v in total.split()[2:])
    assert actual > 0
    assert all(f > 0 for f in forecasts)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["clv"], "ORDERS.csv"),
        (["clv", "{orders}", "--calibration-end", "2030-01-01"], "calibration_end"),
        (["clv", "{orders}", "--tz", "Mars/Olympus"], "--tz"),
        (["clv", "{orders}", "--months", "0"], "--months"),
        (["clv", "{orders}", "--db", "x.sqlite3"], "--db"),
    ],
)
def test_clv_reports_bad_arguments_as_custmgmt_errors(
    orders: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    argv = [a.format(orders=orders) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("custmgmt: error:")
    assert message in err


# ------------------------------------------------------------- issue 11 (CLV)

CDNOW = Path(__file__).parents[1] / "data" / "cdnow"


def figures(out: str, model: str) -> dict[str, float]:
    """The parameters printed on a model's line."""
    line = next(line for line in out.splitlines() if line.strip().startswith(model))
    pairs = (item.split("=") for item in line.split() if "=" in item)
    return {key: float(value) for key, value in pairs}


def test_cdnow_with_a_daily_period_and_weekly_unit_prints_the_published_estimates(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["clv", str(CDNOW / "cdnow_sample.csv"), "--period", "day", "--unit", "week"]
    assert main([*argv, "--calibration-end", "1997-09-30"]) == 0
    out = capsys.readouterr().out
    # Fader, Hardie & Lee (2005): r = 0.243, alpha = 4.414, a = 0.793, b = 2.426
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    got = figures(out, "BG/NBD")
    for name, value in published.items():
        assert got[name] == pytest.approx(value, abs=6e-4)
    # Pareto/NBD, same data: r = 0.553, alpha = 10.578, s = 0.606, beta = 11.669
    pareto = figures(out, "Pareto/NBD")
    for name, value in {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}.items():
        assert pareto[name] == pytest.approx(value, abs=6e-4)
    assert "times in weeks, purchases merged per day" in out
    assert "warning" not in out


def test_week_and_day_units_merge_purchases_per_day_alike(
    capsys: pytest.CaptureFixture[str],
) -> None:
    csv_file = str(CDNOW / "cdnow_sample.csv")
    assert main(["clv", csv_file, "--unit", "day", "--top", "0"]) == 0
    by_day = capsys.readouterr().out
    assert main(["clv", csv_file, "--unit", "week", "--top", "0"]) == 0
    by_week = capsys.readouterr().out
    # the same repeat purchases, and the same shapes; alpha in days is 7x alpha in weeks
    assert by_day.splitlines()[0].split(";")[0] == by_week.splitlines()[0].split(";")[0]
    day, week = figures(by_day, "BG/NBD"), figures(by_week, "BG/NBD")
    for name in ("r", "a", "b"):
        assert week[name] == pytest.approx(day[name], rel=1e-5)
    assert 7 * week["alpha"] == pytest.approx(day["alpha"], rel=1e-5)


def test_as_of_long_after_the_last_order_ends_with_a_warning_not_a_hang(
    capsys: pytest.CaptureFixture[str],
) -> None:
    csv_file = str(CDNOW / "cdnow_sample.csv")
    assert main(["clv", csv_file, "--as-of", "1998-12-31", "--top", "3"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    pareto = next(i for i, line in enumerate(lines) if line.strip().startswith("Pareto/NBD"))
    assert lines[pareto + 1].strip().startswith("warning: s ran off to infinity")
    assert "nan" not in out.lower()
    assert "top 3 customers" in out


def write_rows(path: Path, rows: list[str]) -> Path:
    path.write_text("customer_id,placed_at,amount,status\n" + "\n".join(rows) + "\n")
    return path


def test_a_two_customer_file_prints_that_nothing_is_identified(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = ["A,2024-01-01,10,", "A,2024-01-05,12,", "A,2024-01-20,9,", "A,2024-01-29,11,"]
    rows += ["B,2024-01-02,30,", "B,2024-01-08,25,"]
    assert main(["clv", str(write_rows(tmp_path / "two.csv", rows))]) == 0
    out = capsys.readouterr().out
    for model in ("BG/NBD", "Pareto/NBD"):
        lines = out.splitlines()
        at = next(i for i, line in enumerate(lines) if line.strip().startswith(model))
        assert "warning: only 2 customers with repeat purchases" in lines[at + 1]


def test_a_zero_repeat_purchase_leaves_out_one_customer_and_names_its_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    orders_csv = write_orders(tmp_path / "orders.csv")
    text = orders_csv.read_text(encoding="utf-8").splitlines()
    # customer 客户9999 buys twice, the second time for nothing
    text += ["", "客户9999,2024-02-01T10:00,35.00", "客户9999,2024-03-01T10:00,0.00"]
    orders_csv.write_text("\n".join(text) + "\n", encoding="utf-8")
    assert main(["clv", str(orders_csv), "--top", "3"]) == 0
    out = capsys.readouterr().out
    for name in ("BG/NBD", "Pareto/NBD", "Gamma-Gamma"):
        assert "log-likelihood=" in next(
            line for line in out.splitlines() if line.strip().startswith(name)
        )
    last = len(text)
    assert (
        "Gamma-Gamma left out 1 customers whose repeat purchases average 0 or less: "
        f"客户9999 (lines {last - 1}, {last})"
    ) in out
    assert "row" not in out


def test_returned_orders_count_as_purchases_like_everywhere_else(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [
        "A,2024-01-01,10,delivered",
        "A,2024-01-05,12,returned",
        "A,2024-01-09,14,cancelled",
        "B,2024-01-02,30,delivered",
    ]
    path = write_rows(tmp_path / "returns.csv", rows)
    assert main(["clv", str(path), "--models", "bg", "--as-of", "2024-02-01"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("2 customers, 1 repeat purchases;")
    assert "3 orders counted (1 cancelled left out;" in out


def test_models_chooses_what_is_fitted(orders: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["clv", str(orders), "--models", "bg,gg", "--top", "1"]) == 0
    out = capsys.readouterr().out
    assert "BG/NBD " in out
    assert "Gamma-Gamma " in out
    assert "Pareto/NBD" not in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--models", "bg,lifetimes"], "--models"),
        (["--unit", "month"], "--period"),
        (["--time-limit", "0"], "--time-limit"),
    ],
)
def test_bad_clv_options_are_named(
    orders: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(["clv", str(orders), *argv]) == 2
    assert message in capsys.readouterr().err


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def progress(elapsed: float) -> FitProgress:
    return FitProgress(model="Pareto/NBD", iteration=3, log_likelihood=-10.0, elapsed=elapsed)


def test_progress_shows_on_a_terminal_for_fits_over_a_second() -> None:
    out, err = io.StringIO(), FakeTerminal()
    printer = ProgressPrinter(out, err)
    printer(progress(0.5))
    assert err.getvalue() == ""
    printer(progress(1.5))
    assert "Pareto/NBD: iteration 3, log-likelihood -10, 1.5 s" in err.getvalue()
    printer(ResultStandIn())
    assert err.getvalue().endswith("\r")  # the progress line is wiped before results
    assert out.getvalue() == "  result\n"


def test_progress_stays_off_when_stderr_is_not_a_terminal() -> None:
    out, err = io.StringIO(), io.StringIO()
    printer = ProgressPrinter(out, err)
    printer(progress(5.0))
    assert err.getvalue() == ""


class ResultStandIn:
    """Prints like a ModelFit."""

    def __str__(self) -> str:
        return "  result\n"


@pytest.mark.slow
def test_cdnow_master_runs_through(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["clv", str(CDNOW / "cdnow_master.csv"), "--top", "3"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("23570 customers,")
    assert "not fitted" not in out
    assert "nan" not in out.lower()
    # customer 10244's second purchase was $0 (the old command aborted with "row 10243")
    assert "left out 1 customers whose repeat purchases average 0 or less: 10244" in out
    assert "(lines 31716, 31717)" in out


def test_clv_on_a_store_as_of_now_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from custmgmt.adapters.sqlite import SQLiteStore
    from custmgmt.datasets import load_into, make_dataset

    db = tmp_path / "store.sqlite3"
    store = SQLiteStore(db)
    try:
        load_into(store, make_dataset(n_customers=150, seed=2, interactions=False), progress=None)
    finally:
        store.close()
    # the synthetic history ends in 2026: "now" is months or years after it
    assert main(["clv", "--db", str(db), "--top", "3"]) == 0
    out = capsys.readouterr().out
    assert "nan" not in out.lower()
    assert "BG/NBD " in out
