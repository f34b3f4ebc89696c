"""The ``recommend`` command's errors name what the user typed (round 35d): ``--item``
for an unknown product (it said ``item_id``), and an evaluation with nothing to score
says what was missing (it said ``got 2, expected customers to evaluate``)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.cli import main
from custmgmt.testing import make_customer, make_order, make_order_line

AT = datetime(2025, 3, 1, tzinfo=UTC)


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = tmp_path / "r.sqlite3"
    with SQLiteStore(path) as store:
        store.customers.add(make_customer(id="客户-1", registered_at=AT))
        lines = [make_order_line(sku="茶叶"), make_order_line(sku="茶杯")]
        store.orders.add(make_order(id="订单-1", customer_id="客户-1", placed_at=AT,
                                    lines=lines))
    return str(path)


def test_an_unknown_product_names_the_item_option(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["recommend", "--db", db, "--item", "不存在", "--as-of", "2025-03-02"]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("custmgmt: error: --item: got '不存在'")
    assert "item_id" not in captured.err
    assert captured.out == ""


def test_the_chinese_product_round_trips(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["recommend", "--db", db, "--item", "茶叶", "--as-of", "2025-03-02"]) == 0
    assert "茶杯" in capsys.readouterr().out


def test_an_evaluation_with_nobody_to_score_says_what_it_needs(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["recommend", "--db", db, "--evaluate", "--as-of", "2025-03-02"]) == 2
    err = capsys.readouterr().err
    assert "customers to evaluate" in err
    assert "bought before the split and something new after it" in err
    assert "Traceback" not in err
