"""``custmgmt clv``: the command line over a CSV of orders."""

from __future__ import annotations

import csv
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from custmgmt.cli import main


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
