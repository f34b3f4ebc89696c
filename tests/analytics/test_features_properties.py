"""Every feature against the slow dict-and-loop reference, on generated histories."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from unittest import mock

import attrs
import numpy as np
from _features_reference import DAY, interaction_features, order_features, same
from hypothesis import given, settings
from hypothesis import strategies as st

from custmgmt.analytics import _grouping
from custmgmt.analytics import features as features_module
from custmgmt.analytics.features import customer_features, feature_names
from custmgmt.analytics.frames import InteractionFrame, OrderFrame
from custmgmt.domain import InteractionKind

T0 = 1_700_000_000_000_000  # 2023-11-14, µs
WINDOWS = (1, 7, 30, 365)
STATUSES = ["delivered", "paid", "cancelled", "returned", "partially_returned", "placed"]
CATEGORIES = [None, "服装", "图书", "电器", "茶"]
KINDS = [k.value for k in InteractionKind]

int_ids = st.sampled_from([5, -3, 2**40 + 7, 17, 0, 2**62])
str_ids = st.sampled_from(["王芳", "b", "a-1", "客户7", "Z"])
# Whole days, whole seconds and a few raw µs: ties and window boundaries both happen.
offsets = st.one_of(
    st.integers(0, 800).map(lambda d: d * DAY),
    st.integers(0, 800 * 86_400).map(lambda s: s * 1_000_000),
    st.integers(0, 800 * DAY),
)


@st.composite
def histories(draw: st.DrawFn) -> dict:
    ids = draw(st.sampled_from([int_ids, str_ids]))
    n = draw(st.integers(0, 25))
    rows = []
    for _ in range(n):
        amount = draw(st.integers(0, 100_000))
        status = draw(st.sampled_from(STATUSES))
        returned = (
            draw(st.integers(0, amount))
            if status in ("returned", "partially_returned")
            else (draw(st.sampled_from([0, 0, amount // 2])) if status != "cancelled" else 0)
        )
        if status in ("returned", "partially_returned") and returned == 0 and amount:
            returned = amount
        rows.append(
            {
                "customer": draw(ids),
                "t": T0 + draw(offsets),
                "amount": amount,
                "returned": returned,
                "status": status,
                "category": draw(st.sampled_from(CATEGORIES)),
            }
        )
    for row in rows:
        row["categories"] = {row["category"]} if row["category"] else set()
    m = draw(st.integers(0, 20))
    interactions = []
    for _ in range(m):
        kind = draw(st.sampled_from(KINDS))
        interactions.append(
            {
                "customer": draw(ids),
                "t": T0 + draw(offsets),
                "kind": kind,
                "rating": draw(st.integers(0, 5)) if kind == "review" else 0,
                "resolved": draw(st.booleans()) if kind == "complaint" else False,
            }
        )
    # as_of anywhere from before every order to after all of them.
    as_of = T0 + draw(st.one_of(st.integers(-5, 900).map(lambda d: d * DAY), offsets))
    return {"orders": rows, "interactions": interactions, "as_of": as_of, "int_ids": ids is int_ids}


def _orders_frame(rows: list[dict], int_ids: bool) -> OrderFrame:
    ids = [r["customer"] for r in rows]
    return OrderFrame.from_arrays(
        customer_id=np.array(ids, dtype=np.int64 if int_ids else object),
        placed_at=np.array([r["t"] for r in rows], dtype=np.int64),
        amount=np.array([r["amount"] for r in rows], dtype=np.int64),
        currency="CNY",
        status=[r["status"] for r in rows],
        returned_amount=np.array([r["returned"] for r in rows], dtype=np.int64),
        category=[r["category"] for r in rows],
    )


def _interactions_frame(rows: list[dict], int_ids: bool, orders: OrderFrame) -> InteractionFrame:
    return InteractionFrame.from_arrays(
        customer_id=np.array([r["customer"] for r in rows], dtype=np.int64 if int_ids else object),
        at=np.array([r["t"] for r in rows], dtype=np.int64),
        kind=[r["kind"] for r in rows],
        rating=np.array([r["rating"] for r in rows], dtype=np.int64),
        resolved=np.array([r["resolved"] for r in rows], dtype=bool),
        customer_index=orders,
    )


def _as_of(micros: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)


@settings(max_examples=150, deadline=None)
@given(histories())
def test_every_order_feature_matches_the_reference(h: dict) -> None:
    frame = _orders_frame(h["orders"], h["int_ids"])
    features = customer_features(frame, as_of=_as_of(h["as_of"]), windows=WINDOWS)
    customers = frame.customer_ids.tolist()
    expected = order_features(h["orders"], customers, h["as_of"], WINDOWS)
    assert features.names == feature_names(WINDOWS, interactions=False)
    assert len(features) == len(customers)
    for i, customer in enumerate(customers):
        for name in features.names:
            got = features[name][i].item()
            assert same(got, expected[customer][name]), (
                customer,
                name,
                got,
                expected[customer][name],
            )


@settings(max_examples=100, deadline=None)
@given(histories())
def test_interaction_features_match_the_reference_on_a_shared_index(h: dict) -> None:
    orders = _orders_frame(h["orders"], h["int_ids"])
    rows = h["interactions"]
    interactions = _interactions_frame(rows, h["int_ids"], orders)
    features = customer_features(orders, interactions, as_of=_as_of(h["as_of"]), windows=WINDOWS)
    customers = features.customer_ids.tolist()
    # Every customer of either frame is there, order customers first with their codes.
    assert customers[: orders.n_customers] == orders.customer_ids.tolist()
    assert set(customers) == {r["customer"] for r in h["orders"] + rows}
    expected_orders = order_features(h["orders"], customers, h["as_of"], WINDOWS)
    expected = interaction_features(rows, customers, h["as_of"], WINDOWS, KINDS)
    for i, customer in enumerate(customers):
        for name in features.names:
            want = expected[customer].get(name, expected_orders[customer].get(name))
            got = features[name][i].item()
            assert same(got, want), (customer, name, got, want)


@settings(max_examples=60, deadline=None)
@given(histories(), st.data())
def test_a_subset_of_features_equals_the_same_columns_of_the_full_set(
    h: dict, data: st.DataObject
) -> None:
    frame = _orders_frame(h["orders"], h["int_ids"])
    everything = customer_features(frame, as_of=_as_of(h["as_of"]), windows=WINDOWS)
    names = data.draw(
        st.lists(st.sampled_from(everything.names), min_size=1, max_size=6, unique=True)
    )
    subset = customer_features(frame, as_of=_as_of(h["as_of"]), features=names, windows=WINDOWS)
    assert subset.names == tuple(names)
    for name in names:
        np.testing.assert_array_equal(subset[name], everything[name])


@settings(max_examples=40, deadline=None)
@given(histories())
def test_interactions_indexed_separately_are_merged_onto_the_orders_index(h: dict) -> None:
    orders = _orders_frame(h["orders"], h["int_ids"])
    rows = h["interactions"]
    ids = np.array([r["customer"] for r in rows], dtype=np.int64 if h["int_ids"] else object)
    at = np.array([r["t"] for r in rows], dtype=np.int64)
    kinds = [r["kind"] for r in rows]
    separate = InteractionFrame.from_arrays(customer_id=ids, at=at, kind=kinds)
    shared = InteractionFrame.from_arrays(customer_id=ids, at=at, kind=kinds, customer_index=orders)
    as_of = _as_of(h["as_of"])
    a = customer_features(orders, separate, as_of=as_of, windows=(30,))
    b = customer_features(orders, shared, as_of=as_of, windows=(30,))
    assert a.customer_ids.tolist() == b.customer_ids.tolist()
    for name in a.names:
        np.testing.assert_array_equal(a[name], b[name])


@settings(max_examples=60, deadline=None)
@given(histories(), st.integers(1, 4))
def test_tiny_blocks_give_the_same_features_as_one_block(h: dict, chunk: int) -> None:
    # Production blocks are 2**18 rows; tiny ones exercise every seam between blocks.
    frame = _orders_frame(h["orders"], h["int_ids"])
    interactions = _interactions_frame(h["interactions"], h["int_ids"], frame)
    as_of = _as_of(h["as_of"])
    whole = customer_features(frame, interactions, as_of=as_of, windows=WINDOWS)
    with (
        mock.patch.object(features_module, "CHUNK", chunk),
        mock.patch.object(_grouping, "CHUNK", chunk),
    ):
        fresh = _orders_frame(h["orders"], h["int_ids"])
        blocks = customer_features(fresh, interactions, as_of=as_of, windows=WINDOWS)
    for name in whole.names:
        if whole[name].dtype.kind == "f":  # float sums in another order: last-bit noise
            np.testing.assert_allclose(blocks[name], whole[name], rtol=1e-12, err_msg=name)
        else:
            np.testing.assert_array_equal(blocks[name], whole[name], err_msg=name)


@settings(max_examples=80, deadline=None)
@given(histories(), st.data())
def test_category_breadth_by_sorting_pairs_matches_the_bitmap_and_the_reference(
    h: dict, data: st.DataObject
) -> None:
    frame = _orders_frame(h["orders"], h["int_ids"])
    # Extra (order, category) pairs as multi-category orders from a store carry them.
    k = len(frame.category_names)
    if len(frame) and k:
        pairs = data.draw(
            st.lists(st.tuples(st.integers(0, len(frame) - 1), st.integers(0, k - 1)), max_size=8)
        )
        frame = attrs.evolve(
            frame,
            line_row=np.array([r for r, _ in pairs], dtype=np.int64),
            line_category=np.array([c for _, c in pairs], dtype=np.int32),
        )
        for r, c in pairs:
            h["orders"][r]["categories"] = h["orders"][r]["categories"] | {
                frame.category_names[c]
            }
    as_of = _as_of(h["as_of"])
    bitmap = customer_features(frame, as_of=as_of, features=["category_breadth"])
    with (
        mock.patch.object(features_module, "_BITMAP_CELLS_PER_ROW", 0),
        mock.patch.object(features_module, "_BITMAP_MIN_CELLS", -1),
    ):
        by_sort = customer_features(frame, as_of=as_of, features=["category_breadth"])
    customers = frame.customer_ids.tolist()
    expected = order_features(h["orders"], customers, h["as_of"], WINDOWS)
    want = [expected[c]["category_breadth"] for c in customers]
    assert by_sort["category_breadth"].tolist() == want
    assert bitmap["category_breadth"].tolist() == want
