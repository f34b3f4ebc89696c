"""Columnar writes of orders: OrderBatch validates like Order, load_orders is all or nothing."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custmgmt.adapters.memory import MemoryStore
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.adapters.sqlite.codecs import order_to_rows
from custmgmt.adapters.sqlite.orders import batch_rows
from custmgmt.analytics.batches import OrderBatch
from custmgmt.analytics.frames import STATUS_CODES, OrderFrame
from custmgmt.analytics.loading import load_orders
from custmgmt.domain import Money, Order, OrderLine, OrderStatus
from custmgmt.errors import Conflict, CustMgmtError, ValidationError
from custmgmt.ports import Store
from custmgmt.testing import assert_frames_equal, make_order

T0 = datetime(2025, 5, 1, 9, 30, tzinfo=timezone(timedelta(hours=8)))
STORES = [MemoryStore, lambda: SQLiteStore(":memory:")]


# Per column: values Order accepts, and values it refuses (or, for ids, repeats).
GOOD: dict[str, tuple[Any, ...]] = {
    "order_id": ("o-1", "订单-3", "x" * 128, " pad ", "a b"),
    "customer_id": ("c-1", "客户-甲", "=1+1", " c-1"),
    "placed_at": (
        T0,
        T0 + timedelta(microseconds=1),
        datetime(1, 1, 1, 0, 0, 1, tzinfo=UTC),
        datetime(9999, 12, 31, 22, 0, tzinfo=UTC),
    ),
    "amount": (0, 1, 199, 10**16 - 1),
    "returned_amount": (0, 0, 1),
    "status": tuple(s.value for s in OrderStatus),
    "status_at": (0, 1, 3600 * 10**6),
    "category": ("茶叶", "books", "c" * 200),
    "sku": ("S-1", "SKU 茶", "s" * 128),
    "channel": (None, "app", "小程序", "x" * 100),
}
BAD: dict[str, tuple[Any, ...]] = {
    "order_id": ("", "   ", "a\x01b", "a\nb", "a\tb", "y" * 129, None, 7, "repeat"),
    "customer_id": ("", "\x7f", "c\x85", 3, "z" * 129),
    "placed_at": (datetime(2025, 1, 1), "2025-01-01", None),
    "amount": (-1, 10**16, 1.5, None, "12", True),
    "returned_amount": (-1, 10**17, 10**16),
    "status": ("lost", None),
    "status_at": (-1,),
    "category": ("", " ", "a\x07", "c" * 201, None),
    "sku": ("", "S\r1", "s" * 129, None),
    "channel": ("", " ", "x" * 101, 5, "a\x1fb"),
}
COLUMNS = tuple(GOOD)
ROW = st.tuples(*(st.sampled_from(GOOD[c]) for c in COLUMNS))
# Good rows with distinct ids, and at most one bad cell: each test then decides on
# one refusal at a time, so a missing check cannot hide behind another one.
ROWS = st.tuples(
    st.lists(ROW, max_size=5, unique_by=lambda row: row[0]),
    st.none()
    | st.tuples(
        st.integers(0, 4),
        st.sampled_from(COLUMNS).flatmap(lambda c: st.tuples(st.just(c), st.sampled_from(BAD[c]))),
    ),
).map(lambda drawn: _spoil(*drawn))


def _spoil(rows: list[tuple[Any, ...]], bad: tuple[int, tuple[str, Any]] | None) -> list[Any]:
    if bad is None or not rows:
        return rows
    row, (column, value) = bad
    row %= len(rows)
    if value == "repeat":
        value = rows[row - 1][0] if len(rows) > 1 else rows[row][0]
    spoilt = list(rows[row])
    spoilt[COLUMNS.index(column)] = value
    return [*rows[:row], tuple(spoilt), *rows[row + 1 :]]


def _reference(rows: list[tuple[Any, ...]]) -> list[Order] | None:
    """The orders the rows describe, built one by one as Order entities (None when
    the domain refuses one of them, or when an id repeats)."""
    orders = []
    try:
        for oid, cid, placed, amount, refund, status, step, category, sku, channel in rows:
            fields: dict[str, Any] = {}
            status_enum = OrderStatus(status)
            column = {
                "paid": "paid_at", "shipped": "shipped_at", "delivered": "delivered_at",
                "cancelled": "cancelled_at", "returned": "returned_at",
                "partially_returned": "returned_at",
            }.get(status)  # fmt: skip
            if column is not None:
                fields[column] = placed + timedelta(microseconds=step)
            if refund is None:
                raise ValidationError("returned_amount", None, "an amount")
            if refund:
                fields["returned_amount"] = Money.from_minor(refund, "CNY")
            orders.append(
                Order(
                    id=oid,
                    customer_id=cid,
                    placed_at=placed,
                    lines=[
                        OrderLine(
                            sku=sku,
                            category=category,
                            quantity=1,
                            unit_price=Money.from_minor(amount, "CNY"),
                        )
                    ],
                    status=status_enum,
                    channel=channel,
                    **fields,
                )
            )
    except (ValidationError, ValueError, TypeError):
        return None
    if len({o.id for o in orders}) != len(orders):
        return None
    return orders


def _batch(rows: list[tuple[Any, ...]]) -> OrderBatch:
    columns = list(zip(*rows, strict=True)) if rows else [()] * 10
    oid, cid, placed, amount, refund, status, step, category, sku, channel = columns
    placed_values = np.empty(len(placed), dtype=object)
    placed_values[:] = list(placed)
    step_values = np.empty(len(placed), dtype=object)
    try:
        step_values[:] = [p + timedelta(microseconds=s) for p, s in zip(placed, step, strict=True)]
    except TypeError:
        step_values[:] = list(placed)  # a bad placed_at: refused before status_at is read
    amounts = np.empty(len(amount), dtype=object)
    amounts[:] = list(amount)
    return OrderBatch.from_arrays(
        order_id=list(oid),
        customer_id=list(cid),
        placed_at=placed_values,
        amount=amounts if any(not isinstance(a, int) for a in amount) else list(amount),
        returned_amount=list(refund),
        currency="CNY",
        category=list(category),
        sku=list(sku),
        status=list(status),
        status_at=step_values,
        channel=list(channel),
    )


@settings(max_examples=300)
@given(rows=ROWS)
def test_a_batch_is_valid_exactly_when_every_row_builds_an_order(rows: list[Any]) -> None:
    expected = _reference(rows)
    if expected is None:
        with pytest.raises(ValidationError):
            _batch(rows)
        return
    batch = _batch(rows)
    assert len(batch) == len(rows)
    assert list(batch.to_orders()) == expected


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"order_id": ["o-1", "o-1"]}, "order_id[1]"),
        ({"customer_id": ["c-1", "c\ud800"]}, "customer_id[1]"),
        ({"category": ["茶叶", "bad\ud83d"]}, "category[1]"),
        ({"amount": [1, 10**16]}, "amount[1]"),
        ({"amount": [1, -5]}, "amount[1]"),
        ({"returned_amount": [0, 3]}, "returned_amount[1]"),
        ({"status": ["delivered", "returned"]}, "returned_amount[1]"),
        ({"status_at": [T0, T0 - timedelta(microseconds=1)]}, "status_at[1]"),
        ({"placed_at": [T0, datetime(2025, 1, 1)]}, "placed_at[1]"),
        ({"placed_at": [T0, datetime(1, 1, 1, 1, tzinfo=timezone(timedelta(hours=5)))]},
         "placed_at[1]"),
        ({"customer_id": ["c-1"]}, "customer_id"),
        # Ids refuse every control character, as Order does (tab, line breaks, C1).
        ({"order_id": ["o-1", "o\n2"]}, "order_id[1]"),
        ({"order_id": ["o-1", "o\t2"]}, "order_id[1]"),
        ({"customer_id": ["c-1", "c\x85"]}, "customer_id[1]"),
        ({"sku": ["S-1", "S\r1"]}, "sku[1]"),
        ({"sku": "S\t1"}, "sku[0]"),
    ],
)  # fmt: skip
def test_bad_columns_name_the_column_and_row(change: dict[str, Any], field: str) -> None:
    columns: dict[str, Any] = {
        "order_id": ["o-1", "o-2"],
        "customer_id": ["c-1", "c-2"],
        "placed_at": [T0, T0],
        "amount": [100, 2],
        "currency": "CNY",
        "category": "茶叶",
        **change,
    }
    with pytest.raises(ValidationError) as caught:
        OrderBatch.from_arrays(**columns)
    assert caught.value.field == field


def _sample_batch(n: int, prefix: str = "o") -> OrderBatch:
    statuses = [s.value for s in OrderStatus]
    amounts = np.arange(n, dtype=np.int64) * 37 + 1
    status = [statuses[k % len(statuses)] for k in range(n)]
    refunds = [
        a // 2 if s in ("returned", "partially_returned") else 0
        for a, s in zip(amounts.tolist(), status, strict=True)
    ]
    return OrderBatch.from_arrays(
        order_id=[f"{prefix}-{k:04d}" for k in range(n)],
        customer_id=[f"客户-{k % 7}" for k in range(n)],
        placed_at=np.full(n, np.datetime64("2025-05-01T01:30", "us")) + np.arange(n) * 10**6,
        amount=amounts,
        returned_amount=refunds,
        currency="CNY",
        category=[("茶叶", "茶具", "书")[k % 3] for k in range(n)],
        sku="SKU-1",
        status=status,
        status_at=np.full(n, np.datetime64("2025-05-02T00:00", "us")),
        channel=[None if k % 4 else "小程序" for k in range(n)],
    )


@pytest.mark.parametrize("make", STORES)
def test_a_loaded_batch_reads_back_as_the_orders_it_describes(make: Any) -> None:
    store = make()
    batch = _sample_batch(50)
    assert load_orders(store, batch) == 50
    reference = MemoryStore()
    reference.orders.add_many(batch.to_orders())
    stored = list(itertools.chain.from_iterable(store.orders.iter_chunks()))
    assert stored == list(itertools.chain.from_iterable(reference.orders.iter_chunks()))
    assert store.orders.get("o-0003") == next(itertools.islice(batch.to_orders(), 3, None))
    assert_frames_equal(store.order_frame(currency="CNY"), reference.order_frame(currency="CNY"))


@pytest.mark.parametrize("make", STORES)
def test_a_frame_read_from_a_store_loads_into_another_unchanged(make: Any) -> None:
    source = make()
    load_orders(source, _sample_batch(30))
    frame = OrderFrame.from_store(source, currency="CNY")
    target = make()
    load_orders(target, OrderBatch.from_frame(frame, sku="SKU-1"))
    assert_frames_equal(target.order_frame(currency="CNY"), frame)


def test_a_frame_with_multi_category_orders_is_refused() -> None:
    store = MemoryStore()
    store.orders.add(
        make_order(
            id="o-1",
            lines=[OrderLine(sku="a", category="茶叶", quantity=1,
                             unit_price=Money.from_minor(100, "CNY")),
                   OrderLine(sku="b", category="茶具", quantity=1,
                             unit_price=Money.from_minor(100, "CNY"))],
        )
    )  # fmt: skip
    with pytest.raises(ValidationError, match="one category"):
        OrderBatch.from_frame(store.order_frame(currency="CNY"))


def _snapshot(store: Store) -> list[Order]:
    return list(itertools.chain.from_iterable(store.orders.iter_chunks()))


@pytest.mark.parametrize("make", STORES)
@settings(max_examples=25)
@given(taken=st.integers(0, 19), inside=st.booleans())
def test_a_load_with_a_stored_id_writes_nothing(make: Any, taken: int, inside: bool) -> None:
    store = make()
    load_orders(store, _sample_batch(20, prefix="old"))
    before = _snapshot(store)
    clash = OrderBatch.from_arrays(
        order_id=[*(f"new-{k}" for k in range(5)), f"old-{taken:04d}"],
        customer_id=["c"] * 6,
        placed_at=[T0] * 6,
        amount=[1] * 6,
        currency="CNY",
        category="茶叶",
    )

    def load() -> None:
        if inside:
            with store.transaction():
                load_orders(store, clash)
        else:
            load_orders(store, clash)

    with pytest.raises(Conflict) as caught:
        load()
    assert caught.value.key == f"old-{taken:04d}"
    assert _snapshot(store) == before


@pytest.mark.parametrize("make", STORES)
def test_a_load_in_a_failed_transaction_is_rolled_back(make: Any) -> None:
    store = make()

    def load_then_fail() -> None:
        with store.transaction():
            load_orders(store, _sample_batch(10))
            raise RuntimeError("after the load")

    with pytest.raises(RuntimeError):
        load_then_fail()
    assert _snapshot(store) == []


@pytest.mark.parametrize("make", STORES)
@settings(max_examples=40)
@given(rows=ROWS)
def test_random_bad_input_ends_in_a_library_error_and_writes_nothing(
    make: Any, rows: list[Any]
) -> None:
    store = make()
    try:
        load_orders(store, _batch(rows))
    except CustMgmtError:
        assert _snapshot(store) == []
    with pytest.raises(ValidationError):
        load_orders(store, "not a batch")  # type: ignore[arg-type]


def test_statuses_keep_their_step_time() -> None:
    batch = _sample_batch(len(STATUS_CODES))
    for order, status in zip(batch.to_orders(), STATUS_CODES, strict=True):
        assert order.status is status
        if status is OrderStatus.CANCELLED:
            assert order.cancelled_at == datetime(2025, 5, 2, tzinfo=UTC)


def test_the_sqlite_rows_of_a_batch_are_the_rows_of_its_orders() -> None:
    batch = _sample_batch(40)
    order_rows, line_rows = batch_rows(batch)
    expected = [order_to_rows(order) for order in batch.to_orders()]
    assert order_rows == [rows[0] for rows in expected]
    assert line_rows == [line for rows in expected for line in rows[1]]
