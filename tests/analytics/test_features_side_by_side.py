"""Two or more threads without a split into partitions: the order aggregates the
features need are computed side by side on threads, and the result is the
single-frame result bit for bit."""

from __future__ import annotations

import threading
from functools import cached_property
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_features_properties import (
    WINDOWS,
    _as_of,
    _interactions_frame,
    _orders_frame,
    histories,
)
from test_partitioned import _shop, assert_identical

from custmgmt.analytics import features, partitioned
from custmgmt.analytics.features import customer_features, feature_names
from custmgmt.errors import ValidationError

ORDER_FEATURES = feature_names(WINDOWS, orders=True, interactions=False)


@pytest.fixture(autouse=True)
def side_by_side_from_one_row():
    # The threshold keeps threads off small frames; the tests' frames are small.
    with mock.patch.object(features, "SIDE_BY_SIDE_MIN_ROWS", 0):
        yield


@settings(max_examples=60, deadline=None)
@given(
    histories(),
    st.lists(st.sampled_from(ORDER_FEATURES), min_size=1, max_size=6, unique=True),
    st.integers(1, 8),
)
def test_any_features_on_any_threads_give_the_single_frame_values(
    h: dict, names: list[str], threads: int
) -> None:
    orders = _orders_frame(h["orders"], h["int_ids"])
    interactions = _interactions_frame(h["interactions"], h["int_ids"], orders)
    as_of = _as_of(h["as_of"])
    expected = customer_features(orders, interactions, as_of=as_of, features=names, windows=WINDOWS)
    got = features._features_on_threads(
        orders, interactions, as_of=as_of, features=names, windows=WINDOWS, threads=threads
    )
    assert_identical(got, expected)


def test_the_every_core_engine_on_two_threads_computes_the_aggregates_side_by_side() -> None:
    orders = _shop(5_000, seed=3)
    names = ("monetary_net", "frequency", "category_breadth")
    as_of = _as_of(int(orders.placed_at.max()))
    computed_on: dict[str, str] = {}
    real = features._Orders._sum

    def recording_sum(self: features._Orders, column: object) -> object:
        computed_on[threading.current_thread().name] = "sum"
        return real(self, column)

    with mock.patch.object(features._Orders, "_sum", recording_sum):
        got = partitioned.customer_features(orders, as_of=as_of, features=names, threads=2)
    assert_identical(got, customer_features(orders, as_of=as_of, features=names))
    # The money sums ran on the pool's threads, not on the caller's.
    assert computed_on
    assert threading.current_thread().name not in computed_on


def test_an_error_in_an_aggregate_on_a_thread_reaches_the_caller() -> None:
    orders = _shop(2_000, seed=4)
    as_of = _as_of(int(orders.placed_at.max()))

    def failing(self: features._Orders, column: object) -> object:
        raise ValidationError("amount", "x", "a test failure")

    with mock.patch.object(features._Orders, "_sum", failing), pytest.raises(ValidationError):
        partitioned.customer_features(
            orders, as_of=as_of, features=("monetary_net", "frequency"), threads=2
        )


def _cached(name: str) -> bool:
    return isinstance(getattr(features._Orders, name, None), cached_property)


def test_every_order_feature_names_its_aggregates_and_each_reads_no_other() -> None:
    # A feature left out of the map is only slower; an aggregate that read another
    # would compute the shared one twice at once, so each must fill only itself.
    for name in ORDER_FEATURES:
        assert features._order_leaves(name), name
    leaves = {leaf for name in ORDER_FEATURES for leaf in features._order_leaves(name)}
    assert leaves <= set(features._LEAVES_BY_COST)
    orders = _shop(3_000, seed=5)
    as_of = _as_of(int(orders.placed_at.max()))
    for leaf in features._LEAVES_BY_COST:
        assert _cached(leaf), leaf
        limit = features.to_epoch_micros(as_of)
        part = features._Orders(orders, orders.n_customers, limit, (7, 30))
        getattr(part, leaf)
        filled = {key for key in vars(part) if _cached(key)}
        assert filled == {leaf}, leaf


def test_interaction_windows_do_not_ask_for_the_order_windows() -> None:
    assert features._order_leaves("reviews_30d") == ()
    assert features._order_leaves("spend_prev_30d") == ("window_tables",)
