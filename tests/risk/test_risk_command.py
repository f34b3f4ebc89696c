"""``custmgmt risk`` (overview of a store) and ``custmgmt risk fit`` (a learnt card)."""

from __future__ import annotations

import csv
import sqlite3
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from _risk_support import AS_OF, fill

from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.cli import main
from custmgmt.cli.demo_risk import DEMO_CARD
from custmgmt.risk import impose_restriction, raise_alerts, save_scorecard, score_customers
from custmgmt.risk.alerts import ReviewBurstRule


def write_table(path: Path, n: int = 3000, *, label_values: str = "01") -> Path:
    rng = np.random.default_rng(2)
    x = rng.normal(size=(n, 2))
    y = (rng.random(n) < 1 / (1 + np.exp(-(-1.5 + 1.2 * x[:, 0])))).astype(int)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["客户", "逾期天数", "退货率", "坏"])
        for i in range(n):
            label = label_values[y[i]] if len(label_values) == 2 else label_values
            w.writerow([f"u{i}", "" if i % 50 == 0 else f"{x[i, 0]:.4f}", f"{x[i, 1]:.4f}",
                        label])
    return path


def test_fit_prints_bins_points_and_evaluation(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    table = write_table(tmp_path / "t.csv")
    assert main(["risk", "fit", str(table), "--label", "坏", "--id", "客户", "--bins", "5"]) == 0
    out = capsys.readouterr().out
    assert "逾期天数  (IV " in out
    assert "missing" in out
    auc = float(out.split("AUC")[1].split()[0])
    assert 0.65 < auc < 0.95
    assert "grades: A=" in out


def test_fit_refuses_a_label_that_is_not_binary_or_missing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    table = write_table(tmp_path / "t.csv", label_values="02")
    assert main(["risk", "fit", str(table), "--label", "坏", "--id", "客户"]) == 2
    assert "--label: got 2" in capsys.readouterr().err
    assert main(["risk", "fit", str(table), "--label", "nope", "--id", "客户"]) == 2
    assert "--label: got 'nope'" in capsys.readouterr().err
    assert main(["risk", "fit", str(table), "--label", "坏"]) == 2
    assert "客户 (row 2)" in capsys.readouterr().err
    assert main(["risk", "fit", str(tmp_path / "none.csv"), "--label", "坏"]) == 2
    assert main(["risk"]) == 2


def test_the_overview_lists_grades_alerts_and_restrictions(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "s.sqlite3"
    store = SQLiteStore(path)
    fill(store)
    save_scorecard(store, DEMO_CARD)
    score_customers(store, DEMO_CARD, as_of=AS_OF, run_id="q2")
    raise_alerts(store, [ReviewBurstRule(name="review-burst")], as_of=AS_OF)
    impose_restriction(store, id="R-1", customer_id="c02", kind="blacklisted",
                       reason="恶意差评", actor="officer", start=AS_OF - timedelta(days=1))
    store.close()
    assert main(["risk", "--db", str(path), "--as-of", "2025-06-30"]) == 0
    out = capsys.readouterr().out
    assert "grades of run q2 (card risk_demo v1" in out
    assert "current alerts: 1 (review-burst 1)" in out
    assert "c02" in out
    assert "恶意差评" in out
    assert "restrictions: 1 in force, 1 recorded" in out
    assert main(["risk", "--db", str(path), "--card", "other"]) == 0
    assert "no score runs for card 'other'" in capsys.readouterr().out




def test_a_store_from_before_the_risk_capability_reports_no_risk_data(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "old.sqlite3"
    store = SQLiteStore(path)
    store.close()
    conn = sqlite3.connect(path)
    for table in [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'risk_%'")]:
        conn.execute(f"DROP TABLE {table}")
    conn.execute("DELETE FROM custmgmt_schema WHERE component = 'risk'")
    conn.commit()
    conn.close()
    assert main(["risk", "--db", str(path)]) == 0
    assert "no risk data in this store yet" in capsys.readouterr().out
