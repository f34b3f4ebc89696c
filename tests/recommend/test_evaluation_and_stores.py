"""Evaluation against the popularity baseline, its metrics, and purchases read from stores."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custmgmt.adapters.memory import MemoryStore
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.domain import Money
from custmgmt.errors import ValidationError
from custmgmt.recommend import (
    ItemItemModel,
    PopularityModel,
    Purchases,
    also_bought,
    evaluate,
    evaluate_store,
    recommend_for,
    synthetic_purchases,
)
from custmgmt.recommend.purchases import lines_from_orders
from custmgmt.testing import make_customer, make_order, make_order_line

CUTOFF = datetime(2025, 10, 1, tzinfo=UTC)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_item_item_beats_popularity_where_co_purchase_structure_is_planted(seed: int) -> None:
    p = synthetic_purchases(customers=1500, items=400, lines=15000, structure=True, seed=seed)
    report = evaluate(p, cutoff=CUTOFF, k=10)
    assert report.row("item-item (cosine)").hit_rate > report.row("popularity").hit_rate + 0.1
    assert report.row("item-item (cosine)").ndcg > report.row("popularity").ndcg


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_item_item_does_not_beat_popularity_without_structure(seed: int) -> None:
    p = synthetic_purchases(customers=1500, items=400, lines=15000, structure=False, seed=seed)
    report = evaluate(p, cutoff=CUTOFF, k=10)
    assert report.row("item-item (cosine)").hit_rate <= report.row("popularity").hit_rate
    assert report.row("item-item (lift)").hit_rate <= report.row("popularity").hit_rate


def reference_metrics(p: Purchases, cutoff_us: int, k: int) -> dict[str, tuple[float, ...]]:
    train = {(c, i) for c, i, t in zip(p.customer, p.item, p.at, strict=True) if t < cutoff_us}
    users_train = {c for c, _ in train}
    truth: dict[int, set[int]] = {}
    for c, i, t in zip(p.customer, p.item, p.at, strict=True):
        if t >= cutoff_us and c in users_train and (c, i) not in train:
            truth.setdefault(int(c), set()).add(int(i))
    users = sorted(truth)
    rows = np.flatnonzero(p.at < cutoff_us)
    train_p = Purchases(customer=p.customer[rows], item=p.item[rows], at=p.at[rows],
                        customer_ids=p.customer_ids, item_ids=p.item_ids)
    out = {}
    n_train_items = len({i for _, i in train})
    for name, model in (("cosine", ItemItemModel()), ("popularity", PopularityModel())):
        fitted = model.fit(train_p)
        hits = recall = ndcg = 0.0
        shown: set[str] = set()
        for u in users:
            listed = fitted.recommend([str(p.customer_ids[u])], k=k).for_customer(
                str(p.customer_ids[u]))
            shown.update(listed)
            codes = [int(np.searchsorted(p.item_ids, x)) for x in listed]
            found = [r for r, c in enumerate(codes) if c in truth[u]]
            hits += bool(found)
            recall += len(found) / len(truth[u])
            dcg = sum(1 / math.log2(r + 2) for r in found)
            ideal = sum(1 / math.log2(r + 2) for r in range(min(k, len(truth[u]))))
            ndcg += dcg / ideal
        m = len(users)
        out[name] = (hits / m, recall / m, ndcg / m, len(shown) / n_train_items)
    return out


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 1000), k=st.integers(1, 12))
def test_metrics_equal_a_per_customer_reference(seed: int, k: int) -> None:
    p = synthetic_purchases(customers=60, items=40, lines=500, seed=seed)
    report = evaluate(p, cutoff=CUTOFF, k=k, models={"cosine": ItemItemModel(),
                                                     "popularity": PopularityModel()})
    expected = reference_metrics(p, int(CUTOFF.timestamp() * 1_000_000), k)
    for name, values in expected.items():
        row = report.row(name)
        assert (row.hit_rate, row.recall, row.ndcg, row.coverage) == pytest.approx(values)


def test_leave_last_out_holds_out_each_customers_last_moment() -> None:
    p = synthetic_purchases(customers=400, items=100, lines=4000, seed=5)
    report = evaluate(p, split="last", k=5)
    assert report.cutoff is None
    assert 0 < report.customers <= 400
    assert "leave-last-out" in report.format_table()


def test_bad_evaluation_arguments_are_refused() -> None:
    p = synthetic_purchases(customers=20, items=10, lines=100, seed=1)
    with pytest.raises(ValidationError, match="split"):
        evaluate(p, split="random")
    with pytest.raises(ValidationError, match="cutoff"):
        evaluate(p)
    with pytest.raises(ValidationError, match="cutoff"):
        evaluate(p, cutoff=datetime(2025, 10, 1))
    with pytest.raises(ValidationError, match="k"):
        evaluate(p, cutoff=CUTOFF, k=0)
    with pytest.raises(ValidationError, match="purchases"):
        evaluate(p, cutoff=datetime(2030, 1, 1, tzinfo=UTC))


# -- purchases from stores ---------------------------------------------------------------
T0 = datetime(2025, 1, 1, 9, tzinfo=UTC)


def _fill(store: MemoryStore | SQLiteStore) -> None:
    rng = np.random.default_rng(4)
    for c in range(12):
        store.customers.add(make_customer(id=f"客户{c:02d}", registered_at=T0))
    for o in range(80):
        lines = [make_order_line(sku=f"SKU-{int(s):02d}", quantity=int(q),
                                 unit_price=Money(Decimal("9.90"), "CNY"))
                 for s, q in zip(rng.choice(15, rng.integers(1, 4), replace=False),
                                 rng.integers(1, 3, 3), strict=False)]
        order = make_order(id=f"O-{o:03d}", customer_id=f"客户{int(rng.integers(12)):02d}",
                           placed_at=T0 + timedelta(days=int(rng.integers(300))), lines=lines)
        if o % 7 == 0:
            order = order.cancel(order.placed_at)
        elif o % 11 == 0:
            order = order.pay(order.placed_at).record_return(order.total, order.placed_at)
        store.orders.add(order)


@pytest.mark.parametrize("since", [None, T0 + timedelta(days=100)])
def test_purchases_from_memory_and_sqlite_are_equal(since: datetime | None) -> None:
    as_of = T0 + timedelta(days=250)
    memory, sqlite = MemoryStore(), SQLiteStore(":memory:")
    _fill(memory)
    _fill(sqlite)
    a = Purchases.from_store(memory, as_of=as_of, since=since)
    b = Purchases.from_store(sqlite, as_of=as_of, since=since)
    for name in ("customer", "item", "at", "customer_ids", "item_ids"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    # Cancelled and wholly returned orders are left out; the window is respected.
    kept = [o for chunk in memory.orders.iter_chunks() for o in chunk
            if (since is None or o.placed_at >= since) and o.placed_at <= as_of
            and o.status.value not in ("cancelled", "returned")]
    assert len(a) == sum(len(o.lines) for o in kept)
    sqlite.close()


def test_the_sqlite_line_reader_equals_the_lines_of_the_entities() -> None:
    store = SQLiteStore(":memory:")
    _fill(store)
    window = (T0 + timedelta(days=30), T0 + timedelta(days=200))
    fast = store.purchase_lines.line_columns(since=window[0], as_of=window[1])
    slow = lines_from_orders(
        o for chunk in store.orders.iter_chunks() for o in chunk
        if window[0] <= o.placed_at <= window[1]
    )
    assert fast.order_id.tolist() == slow.order_id.tolist()
    assert fast.sku.tolist() == slow.sku.tolist()
    assert fast.quantity.tolist() == slow.quantity.tolist()
    store.close()


def test_the_store_services_answer_for_a_customer_and_a_product() -> None:
    store = SQLiteStore(":memory:")
    _fill(store)
    as_of = T0 + timedelta(days=300)
    picked = recommend_for(store, "客户00", as_of=as_of, k=5)
    history = Purchases.from_store(store, as_of=as_of)
    bought = set(history.item_ids[history.item[history.customer == 0]])
    assert len(picked.for_customer("客户00")) == 5
    assert not bought & set(picked.for_customer("客户00"))
    neighbours = also_bought(store, "SKU-01", as_of=as_of, k=3)
    assert len(neighbours) == 3
    assert all(score > 0 for _, score in neighbours)
    report = evaluate_store(store, as_of=as_of, holdout_days=60, k=5)
    assert report.customers > 0
    store.close()
