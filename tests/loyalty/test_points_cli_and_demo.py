"""The ``points`` and ``recommend`` commands and the two demo sections."""

from __future__ import annotations

import io
import random
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from _loyalty_support import T0, add_customer, paid_order

from custmgmt import datasets
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.cli import main
from custmgmt.cli.demo_context import DemoContext
from custmgmt.cli.demo_loyalty import demo_section as loyalty_section
from custmgmt.cli.demo_recommend import demo_section as recommend_section
from custmgmt.domain import Money
from custmgmt.loyalty import earn_for_order, redeem_points, reverse_for_order


def _store(path: Path) -> None:
    with SQLiteStore(path) as store:
        add_customer(store, "客户-1")
        for n, (yuan, day) in enumerate([("800.00", 1), ("300.00", 20), ("120.00", 40)]):
            store.orders.add(paid_order(f"O-{n}", yuan, T0 + timedelta(days=day),
                                        customer_id="客户-1"))
            earn_for_order(store, f"O-{n}")
        redeem_points(store, "客户-1", 500, key="r-1", at=T0 + timedelta(days=41))
        order = store.orders.get("O-0")
        store.orders.update(order.record_return(Money(Decimal("800.00"), "CNY"),
                                                T0 + timedelta(days=42)))
        reverse_for_order(store, "O-0")


def test_points_prints_the_statement_with_lots_and_the_clawback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "s.sqlite3"
    _store(db)
    assert main(["points", "--db", str(db), "--as-of", "2025-03-01", "客户-1"]) == 0
    out = capsys.readouterr().out
    # 800 + 300 earned, then 144 (120 x 1.2: silver since the 800 unlocked); 500 redeemed
    # from the first lot; the return takes its 300 left, the 300 of the second lot, and
    # 200 become a debt (the third lot was still locked), shown apart from the balance.
    assert "balance 144   locked 0   debt 200" in out
    assert "from 客户-1#1 (300), 客户-1#2 (300); debt 200" in out
    assert "reverse" in out
    assert "退货 O-0" in out
    assert "redeem" in out
    assert "expires 2026-01-02" in out


def test_points_for_an_unknown_customer_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "s.sqlite3"
    _store(db)
    assert main(["points", "--db", str(db), "nobody"]) == 2
    assert "nobody" in capsys.readouterr().err


def test_recommend_needs_exactly_one_question(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "s.sqlite3"
    _store(db)
    assert main(["recommend", "--db", str(db)]) == 2
    assert "CUSTOMER" in capsys.readouterr().err
    assert main(["recommend", "--db", str(db), "客户-1", "--evaluate"]) == 2
    assert main(["recommend", "--db", str(db), "客户-1", "--k", "0"]) == 2


def test_recommend_lists_items_for_a_customer_and_for_a_product(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "d.sqlite3"
    data = datasets.make_dataset(n_customers=120, seed=3, as_of=T0 + timedelta(days=400))
    with SQLiteStore(db) as store:
        datasets.load_into(store, data)
        customer = next(iter(store.customers.iter_chunks(size=1)))[0].id
    args = ["--db", str(db), "--as-of", "2026-02-01", "--k", "3"]
    assert main(["recommend", *args, customer]) == 0
    out = capsys.readouterr().out
    assert f"recommended for {customer}" in out
    assert out.count("\n") == 4
    assert main(["recommend", *args, "--evaluate", "--holdout-days", "120"]) == 0
    table = capsys.readouterr().out
    assert "popularity" in table
    assert "item-item (cosine)" in table


@pytest.mark.slow
def test_the_demo_sections_are_idempotent_and_show_the_whole_story() -> None:
    as_of = T0 + timedelta(days=800)
    data = datasets.make_dataset(n_customers=150, seed=7, as_of=as_of)
    with SQLiteStore(":memory:") as store:
        datasets.load_into(store, data)

        def run() -> str:
            out = io.StringIO()
            ctx = DemoContext(store=store, as_of=as_of, seed=7, out=out, rng=random.Random(7))
            loyalty_section(ctx)
            recommend_section(ctx)
            return out.getvalue()

        first = run()
        entries = store.loyalty.count()
        assert entries > 0
        for word in ("earn", "redeem", "expire", "reverse", "locked", "hit rate", "popularity"):
            assert word in first
        assert "left" in first
        assert "lots:" in first
        second = run()
        assert store.loyalty.count() == entries
        assert second == first
        for customer in next(iter(store.customers.iter_chunks(size=20))):
            assert customer.name not in first
