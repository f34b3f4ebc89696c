"""``custmgmt rate``: CSV in, distribution and explanations out, stars written atomically."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from _rate_support import three_customer_store

from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.cli import main
from custmgmt.rating import RatingPolicy

ORDERS = """customer_id,placed_at,amount,category,order_id
王芳,2026-01-03,199.90,书,o1
李娜,2026-01-05 10:00,50,食品,o2
王芳,2026-02-01T08:00:00+08:00,20.50,衣服,o3
张伟,2026-02-03,1000,书,o4
李娜,2026-02-04,10,书,o5
"""


def write(tmp_path: Path, text: str, name: str = "orders.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_rate_prints_the_distribution_and_writes_one_row_per_customer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    orders = write(tmp_path, ORDERS)
    out = tmp_path / "stars.csv"
    assert main(["rate", str(orders), "--out", str(out), "--top", "2"]) == 0
    printed = capsys.readouterr().out
    assert "3 customers rated" in printed
    assert "★★★★★" in printed
    assert "top 2 customers" in printed
    with out.open(encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    assert [r["customer_id"] for r in rows] == ["张伟", "李娜", "王芳"]
    assert list(rows[0]) == ["customer_id", "score", "stars", "spend", "frequency",
                             "category_breadth"]
    for row in rows:
        parts = float(row["spend"]) + float(row["frequency"]) + float(row["category_breadth"])
        assert parts == pytest.approx(float(row["score"]), abs=1e-5)
        assert 1 <= int(row["stars"]) <= 5


def test_as_of_a_date_counts_that_whole_day_and_ignores_later_orders(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    orders = write(tmp_path, ORDERS)
    assert main(["rate", str(orders), "--as-of", "2026-01-05"]) == 0
    printed = capsys.readouterr().out
    assert "as of 2026-01-05T23:59:59.999999+08:00" in printed
    assert "张伟" not in printed.split("top")[1].split("\n")[1]


def test_a_policy_file_is_used(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    orders = write(tmp_path, ORDERS)
    policy = RatingPolicy.from_dict(
        {"criteria": {"spend": {"weight": 1.0}}, "levels": 3,
         "bands": {"kind": "absolute", "cuts": [0.4, 0.8]}}
    )
    policy_path = write(tmp_path, policy.to_json(), "policy.json")
    out = tmp_path / "stars.csv"
    assert main(["rate", str(orders), "--policy", str(policy_path), "--out", str(out)]) == 0
    header = out.read_text(encoding="utf-8").splitlines()[0]
    assert header == "customer_id,score,stars,spend"
    assert "★★★" in capsys.readouterr().out


def test_a_malformed_row_names_line_column_and_value_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    orders = write(tmp_path, ORDERS + "赵六,2026-02-05,1二3,书,o6\n")
    out = tmp_path / "stars.csv"
    assert main(["rate", str(orders), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "line 7" in err
    assert "amount" in err
    assert "1二3" in err
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [orders]


def test_an_existing_output_survives_a_failed_run(tmp_path: Path) -> None:
    orders = write(tmp_path, "customer_id,placed_at,amount\nx,not a date,1\n")
    out = write(tmp_path, "old", "stars.csv")
    assert main(["rate", str(orders), "--out", str(out)]) == 2
    assert out.read_text(encoding="utf-8") == "old"


def test_bad_arguments_are_clear_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    orders = write(tmp_path, ORDERS)
    assert main(["rate"]) == 2
    assert main(["rate", str(orders), "--as-of", "yesterday"]) == 2
    assert main(["rate", str(orders), "--tz", "Mars/Base"]) == 2
    assert main(["rate", str(orders), "--policy", str(tmp_path / "missing.json")]) == 2
    bad_policy = write(tmp_path, json.dumps({"criteria": {"spend": {"weight": 2}}}), "p.json")
    assert main(["rate", str(orders), "--policy", str(bad_policy)]) == 2
    err = capsys.readouterr().err
    assert "--as-of" in err
    assert "--tz" in err
    assert "criteria.weights" in err


def test_db_rates_the_store_and_save_keeps_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = three_customer_store(tmp_path / "shop.sqlite3")
    assert main(["rate", "--db", str(db), "--as-of", "2026-01-01", "--save"]) == 0
    assert "saved run" in capsys.readouterr().out
    store = SQLiteStore(db)
    assert len(store.ratings.list_runs()) == 1
    store.close()
    assert main(["rate", "--db", str(tmp_path / "none.sqlite3")]) == 2
