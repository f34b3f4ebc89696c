"""The bundled stores' columnar port beyond the contract: chunking, query plans, the
schema migration that adds the order summary columns, and no entity on the way."""

from __future__ import annotations

import itertools
import sqlite3
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from custmgmt.adapters.memory import MemoryStore
from custmgmt.adapters.memory import frames as memory_frames
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.adapters.sqlite import frames as sqlite_frames
from custmgmt.analytics.frames import InteractionFrame, OrderFrame
from custmgmt.domain import Money, Order, OrderStatus
from custmgmt.errors import ValidationError
from custmgmt.testing import assert_frames_equal, make_interaction, make_order, make_order_line

T0 = datetime(2025, 3, 1, tzinfo=UTC)


def _orders(n: int) -> list[Order]:
    categories = ("茶叶", "茶具", "书")
    orders = []
    for k in range(n):
        lines = [
            make_order_line(
                sku=f"S{j}",
                category=categories[(k + j) % 3],
                quantity=1 + j,
                unit_price=Money(Decimal(100 + k) / 100, "CNY"),
            )
            for j in range(1 + k % 3)
        ]
        orders.append(
            make_order(
                id=f"o-{k:03d}",
                customer_id=f"客户-{k % 4}",
                placed_at=T0 + timedelta(hours=k // 2),
                lines=lines,
                channel=None if k % 5 else "小程序",
            )
        )
    return orders


def _entity_frame(store: Any, **kwargs: Any) -> OrderFrame:
    return OrderFrame.from_orders(
        itertools.chain.from_iterable(store.orders.iter_chunks()), **kwargs
    )


@pytest.mark.parametrize("coded", [1, 64])
@pytest.mark.parametrize("scan_share", [0.0, 1.0])
@pytest.mark.parametrize("make", [MemoryStore, lambda: SQLiteStore(":memory:")])
def test_frames_read_in_many_chunks_equal_the_entity_frames(
    make: Any, scan_share: float, coded: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Multi-category orders in every chunk: their line rows count from the frame's
    # start. SQLite either scans the table and sorts (share 0) or walks the index (1).
    monkeypatch.setattr(sqlite_frames, "SCAN_SHARE", scan_share)
    # Later chunks get the labels seen so far as codes from SQL (all, or just one).
    monkeypatch.setattr(sqlite_frames, "MAX_CODED_LABELS", coded)
    monkeypatch.setattr(sqlite_frames, "CHUNK", 4)
    monkeypatch.setattr(sqlite_frames, "MIN_CHUNK", 4)
    monkeypatch.setattr(memory_frames, "_CHUNK", 4)
    store = make()
    store.orders.add_many(_orders(23)[::-1])  # stored against frame order
    store.interactions.add_many(
        [
            make_interaction(customer_id=f"客户-{k % 5}", at=T0 + timedelta(minutes=k))
            for k in range(9)
        ]
    )
    frame = store.order_frame(currency="CNY", since=T0 + timedelta(hours=1))
    assert frame.line_row is not None
    assert frame.placed_at.tolist() == sorted(frame.placed_at.tolist())
    assert len(frame) == 21
    assert_frames_equal(frame, _entity_frame(store, currency="CNY", since=T0 + timedelta(hours=1)))
    interactions = store.interaction_frame(customer_index=frame, since=T0)
    assert_frames_equal(
        interactions,
        InteractionFrame.from_interactions(
            itertools.chain.from_iterable(store.interactions.iter_chunks()),
            customer_index=frame,
            since=T0,
        ),
    )


def test_the_sqlite_frame_is_built_without_creating_an_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The old path decoded every row into an Order (about 19k orders/s).
    store = SQLiteStore(":memory:")
    store.orders.add_many(_orders(10))
    expected = _entity_frame(store, currency="CNY")

    def no_entities(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("an entity was decoded while building a frame")

    monkeypatch.setattr("custmgmt.adapters.sqlite.orders.order_from_rows", no_entities)
    monkeypatch.setattr("custmgmt.adapters.sqlite.interactions.interaction_from_row", no_entities)
    assert_frames_equal(OrderFrame.from_store(store, currency="CNY"), expected)
    InteractionFrame.from_store(store)
    with pytest.raises(AssertionError, match="entity was decoded"):
        store.orders.get("o-001")


@pytest.mark.parametrize(
    ("kwargs", "index"),
    [
        ({"as_of": T0}, "orders_by_time"),
        ({"since": T0, "as_of": T0 + timedelta(days=1)}, "orders_by_time"),
        ({"customers": ["客户-1", "客户-2"]}, "orders_by_customer"),
        ({"customers": ["客户-1"], "as_of": T0}, "orders_by_customer"),
    ],
)
def test_the_sqlite_filters_run_in_the_query_on_an_index(kwargs: Any, index: str) -> None:
    store = SQLiteStore(":memory:")
    store.orders.add_many(_orders(30))
    store.connection.execute("ANALYZE")
    sql, params = sqlite_frames.order_query(currency="CNY", **kwargs)
    rows = store.connection.execute(f"EXPLAIN QUERY PLAN {sql}", params)
    plan = " ".join(row[-1] for row in rows)
    # SEARCH: the filter narrows the index walk; SCAN would visit every order.
    assert f"SEARCH orders USING INDEX {index}" in plan


def test_a_version_1_database_gets_the_summary_columns_filled_in(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    orders = _orders(12)
    returned = orders[4].pay(T0 + timedelta(days=2)).record_return(
        Money(Decimal("0.50"), "CNY"), T0 + timedelta(days=3)
    )
    orders[4] = returned
    with SQLiteStore(path) as store:
        store.orders.add_many(orders)
        expected = _entity_frame(store, currency="CNY")
    # Make it a database written by the previous version: no summary columns.
    connection = sqlite3.connect(path)
    for column in ("total_minor", "returned_minor", "main_category", "line_categories"):
        connection.execute(f"ALTER TABLE orders DROP COLUMN {column}")
    connection.execute("UPDATE custmgmt_schema SET version = 1 WHERE component = 'core'")
    connection.commit()
    connection.close()
    with SQLiteStore(path) as store:
        assert store.schema_version("core") == 2
        frame = store.order_frame(currency="CNY")
        assert_frames_equal(frame, expected)
        assert frame.status.tolist()[4] == list(OrderStatus).index(OrderStatus.PARTIALLY_RETURNED)
        assert frame.returned_amount.tolist()[4] == 50


def test_an_update_keeps_the_summary_columns_true() -> None:
    store = SQLiteStore(":memory:")
    order = _orders(3)[2]
    store.orders.add(order)
    paid = order.pay(T0 + timedelta(days=1))
    store.orders.update(paid)
    store.orders.update(paid.record_return(Money(Decimal("1.00"), "CNY"), T0 + timedelta(days=2)))
    assert_frames_equal(store.order_frame(currency="CNY"), _entity_frame(store, currency="CNY"))
    assert store.order_frame(currency="CNY").returned_amount.tolist() == [100]


class _EntitiesOnly:
    """A host store without the columnar port: only what Store promises."""

    def __init__(self, inner: Any) -> None:
        self.customers = inner.customers
        self.orders = inner.orders
        self.interactions = inner.interactions
        self.transaction = inner.transaction
        self.close = inner.close


def test_a_store_without_the_port_is_read_through_its_entities() -> None:
    inner = SQLiteStore(":memory:")
    inner.orders.add_many(_orders(12))
    host = _EntitiesOnly(inner)
    assert not hasattr(host, "order_frame")
    assert_frames_equal(
        OrderFrame.from_store(host, currency="CNY", since=T0 + timedelta(hours=2)),
        inner.order_frame(currency="CNY", since=T0 + timedelta(hours=2)),
    )
    assert_frames_equal(InteractionFrame.from_store(host), inner.interaction_frame())


def test_a_port_that_returns_something_else_is_refused() -> None:
    host = _EntitiesOnly(MemoryStore())
    host.order_frame = lambda **kwargs: "not a frame"  # type: ignore[attr-defined]
    with pytest.raises(ValidationError, match="order_frame"):
        OrderFrame.from_store(host, currency="CNY")
