"""The array path: shapes, dtypes, determinism, consistency and the model's shape."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from custmgmt.datasets import (
    DEFAULT_AS_OF,
    make_arrays,
    make_customer_arrays,
    make_dataset,
    make_interaction_arrays,
    make_order_arrays,
)
from custmgmt.datasets.arrays import NO_TIME, order_lags
from custmgmt.domain import InteractionKind, OrderStatus
from custmgmt.domain.time import to_epoch_micros
from custmgmt.errors import ValidationError

AS_OF_US = to_epoch_micros(DEFAULT_AS_OF)


@pytest.fixture(scope="module")
def data():
    return make_arrays(400, 4_000, seed=11)


def same(a, b) -> bool:
    ca, cb = a.columns(), b.columns()
    return ca.keys() == cb.keys() and all(np.array_equal(ca[k], cb[k]) for k in ca)


def status_code(status: OrderStatus) -> int:
    return list(OrderStatus).index(status)


def kind_code(kind: InteractionKind) -> int:
    return list(InteractionKind).index(kind)


def test_order_arrays_have_the_documented_dtypes_and_lengths(data):
    orders = data.orders
    expected = {
        "order_id": "int64",
        "customer_id": "int64",
        "customer_index": "int32",
        "placed_at": "int64",
        "amount": "int64",
        "returned_amount": "int64",
        "category": "int8",
        "status": "int8",
        "channel": "int8",
        "n_lines": "int8",
    }
    columns = orders.columns()
    assert {k: v.dtype.name for k, v in columns.items()} == expected
    assert all(v.shape == (4_000,) for v in columns.values())
    assert len(orders) == 4_000
    assert orders.currency == "CNY"
    assert orders.statuses == tuple(s.value for s in OrderStatus)
    assert orders.categories[0] == "tea"
    assert set(np.unique(orders.n_lines)) <= {1, 2, 3}


def test_arrays_are_read_only(data):
    with pytest.raises(ValueError, match="read-only"):
        data.orders.amount[0] = 1
    with pytest.raises(ValueError, match="read-only"):
        data.customers.registered_at[0] = 1


def test_the_same_seed_gives_identical_arrays():
    a, b = make_arrays(200, 1_500, seed=5), make_arrays(200, 1_500, seed=5)
    assert same(a.customers, b.customers)
    assert same(a.orders, b.orders)
    assert same(a.interactions, b.interactions)


def test_different_seeds_give_different_arrays():
    a, b = make_arrays(200, 1_500, seed=5), make_arrays(200, 1_500, seed=6)
    assert not np.array_equal(a.customers.customer_id, b.customers.customer_id)
    assert not np.array_equal(a.orders.amount, b.orders.amount)


def test_the_convenience_functions_agree_with_make_arrays(data):
    orders = make_order_arrays(4_000, 400, seed=11)
    assert same(orders, data.orders)
    assert same(make_customer_arrays(400, seed=11), data.customers)
    assert same(make_interaction_arrays(400, 4_000, seed=11), data.interactions)
    # Interactions do not disturb orders and vice versa (independent streams).
    assert same(make_arrays(400, 4_000, seed=11, interactions=False).orders, data.orders)


def test_customer_ids_are_unique_sparse_and_unsorted(data):
    ids = data.customers.customer_id
    assert np.unique(ids).shape == ids.shape
    assert not (np.diff(ids) > 0).all()
    assert ids.max() - ids.min() > 100 * ids.shape[0]
    # Orders carry the same ids, and the dense index points at them.
    orders = data.orders
    assert np.array_equal(ids[orders.customer_index], orders.customer_id)
    assert not (np.diff(orders.customer_id) >= 0).all()


def test_orders_are_in_time_with_increasing_sparse_ids(data):
    orders, customers = data.orders, data.customers
    assert (np.diff(orders.placed_at) >= 0).all()
    assert (np.diff(orders.order_id) > 0).all()
    assert (orders.placed_at < AS_OF_US).all()
    assert (orders.placed_at >= customers.registered_at[orders.customer_index]).all()
    assert (customers.registered_at < AS_OF_US).all()
    start = to_epoch_micros(DEFAULT_AS_OF - timedelta(days=1095))
    assert (customers.registered_at >= start).all()


def test_returned_amounts_match_statuses(data):
    orders = data.orders
    returned = orders.returned_amount
    full = orders.status == status_code(OrderStatus.RETURNED)
    partial = orders.status == status_code(OrderStatus.PARTIALLY_RETURNED)
    assert ((returned >= 0) & (returned <= orders.amount)).all()
    assert (returned[full] == orders.amount[full]).all()
    assert ((returned[partial] > 0) & (returned[partial] < orders.amount[partial])).all()
    assert (returned[~(full | partial)] == 0).all()
    assert full.any()
    assert partial.any()
    assert (orders.status == status_code(OrderStatus.CANCELLED)).any()
    assert (orders.amount >= 100).all()  # at least one yuan


def test_recent_orders_are_still_in_progress_at_as_of():
    orders = make_order_arrays(20_000, 1_000, seed=3)
    day = 86_400_000_000
    unfinished = [OrderStatus.PLACED, OrderStatus.PAID, OrderStatus.SHIPPED]
    in_progress = np.isin(orders.status, [status_code(s) for s in unfinished])
    recent = orders.placed_at > AS_OF_US - 2 * day
    assert recent.sum() > 10
    assert in_progress[recent].mean() > 0.5
    assert not in_progress[orders.placed_at < AS_OF_US - 40 * day].any()


def test_status_steps_happen_before_as_of():
    orders = make_order_arrays(20_000, 1_000, seed=3)
    lags = order_lags(orders.seed, orders.order_id)
    delivered_at = orders.placed_at + lags.pay + lags.ship + lags.deliver
    done = np.isin(
        orders.status,
        [status_code(s) for s in (OrderStatus.DELIVERED, OrderStatus.RETURNED)],
    )
    assert (delivered_at[done] < AS_OF_US).all()
    returned = orders.status == status_code(OrderStatus.RETURNED)
    assert (delivered_at[returned] + lags.ret[returned] < AS_OF_US).all()


def test_exactly_the_requested_number_of_orders_even_when_extreme():
    assert len(make_order_arrays(0, 10)) == 0
    assert len(make_order_arrays(3, 50)) == 3
    many = make_order_arrays(5_000, 20, seed=1)
    assert len(many) == 5_000
    assert np.bincount(many.customer_index, minlength=20).sum() == 5_000


def test_spend_is_heavy_tailed_and_purchase_counts_vary(data):
    orders = data.orders
    per_customer = np.bincount(orders.customer_index, weights=orders.amount, minlength=400)
    top = np.sort(per_customer)[::-1][: 400 // 5]
    assert top.sum() / per_customer.sum() > 0.6  # the top fifth: well over half the revenue
    counts = np.bincount(orders.customer_index, minlength=400)
    assert (counts == 0).any()  # prospects
    assert counts.max() > 5 * counts.mean()


def test_some_customers_have_dropped_out_and_bought_nothing_since(data):
    orders, dropout = data.orders, data.orders.dropout_at
    dead = dropout != NO_TIME
    assert 0.2 < dead.mean() < 0.95
    last = np.full(400, -1, dtype=np.int64)
    np.maximum.at(last, orders.customer_index, orders.placed_at)
    assert (last[dead] <= dropout[dead]).all()


def test_customers_have_preferred_categories(data):
    orders, customers = data.orders, data.customers
    favourite = customers.preferred[orders.customer_index]
    share = np.mean((orders.category == favourite[:, 0]) | (orders.category == favourite[:, 1]))
    assert share > 0.7


def test_interactions_are_ordered_consistent_and_typed(data):
    events, orders, customers = data.interactions, data.orders, data.customers
    assert (np.diff(events.at) >= 0).all()
    assert (np.diff(events.interaction_id) > 0).all()
    assert (events.at < AS_OF_US).all()
    assert (events.at >= customers.registered_at[events.customer_index]).all()
    assert np.array_equal(customers.customer_id[events.customer_index], events.customer_id)
    review = events.kind == kind_code(InteractionKind.REVIEW)
    assert ((events.rating[review] >= 1) & (events.rating[review] <= 5)).all()
    assert (events.rating[~review] == 0).all()
    complaint = events.kind == kind_code(InteractionKind.COMPLAINT)
    assert (events.complaint_category[complaint] >= 0).all()
    assert (events.complaint_category[~complaint] == -1).all()
    search = events.kind == kind_code(InteractionKind.SEARCH)
    assert (events.query[search] >= 0).all()
    assert (events.query[~search] == -1).all()
    purchases = events.kind == kind_code(InteractionKind.PURCHASE)
    assert purchases.sum() == len(orders)
    rows = events.order_row[events.order_row >= 0]
    assert (rows < len(orders)).all()
    assert np.array_equal(
        orders.customer_index[events.order_row[purchases]], events.customer_index[purchases]
    )
    assert set(np.unique(events.kind)) == set(range(len(InteractionKind)))


def test_ratings_are_lower_for_returned_or_complained_orders(data):
    events, orders = data.interactions, data.orders
    review = events.kind == kind_code(InteractionKind.REVIEW)
    rows = events.order_row[review]
    returned = orders.returned_amount[rows] > 0
    ratings = events.rating[review].astype(float)
    assert ratings[returned].mean() < ratings[~returned].mean() - 1.0
    assert np.bincount(events.rating[review])[5] > np.bincount(events.rating[review])[1]


def test_prospects_browse_and_fill_carts_without_buying(data):
    events, orders = data.interactions, data.orders
    buyers = np.bincount(orders.customer_index, minlength=400) > 0
    carts = np.zeros(400, dtype=bool)
    carts[events.customer_index[events.kind == kind_code(InteractionKind.CART)]] = True
    assert (carts & ~buyers).any()


def test_a_referral_points_at_a_customer_who_registered_after_the_referrer(data):
    events, customers = data.interactions, data.customers
    referral = events.kind == kind_code(InteractionKind.REFERRAL)
    assert referral.any()
    referrer = events.customer_index[referral]
    referred = events.referred_index[referral]
    assert (customers.registered_at[referrer] < customers.registered_at[referred]).all()
    assert (events.referred_index[~referral] == -1).all()


def test_other_currencies_use_their_minor_units():
    yen = make_order_arrays(500, 50, seed=2, currency="JPY")
    yuan = make_order_arrays(500, 50, seed=2)
    assert yen.currency == "JPY"
    assert np.allclose(yen.amount, yuan.amount / 100, atol=1)


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: make_order_arrays(-1), "n_orders"),
        (lambda: make_order_arrays(1.5), "n_orders"),  # type: ignore[arg-type]
        (lambda: make_order_arrays(True), "n_orders"),
        (lambda: make_order_arrays(10, 0), "n_customers"),
        (lambda: make_arrays(-5), "n_customers"),
        (lambda: make_arrays(10, -1), "n_orders"),
        (lambda: make_arrays(10, seed=-1), "seed"),
        (lambda: make_arrays(10, seed="0"), "seed"),
        (lambda: make_arrays(10, as_of=datetime(2025, 1, 1)), "as_of"),
        (lambda: make_arrays(10, as_of="2025-01-01"), "as_of"),
        (lambda: make_arrays(10, history_days=0), "history_days"),
        (lambda: make_arrays(10, currency="XYZ"), "currency"),
        (lambda: make_arrays(10, events_per_order=-1.0), "events_per_order"),
        (lambda: make_arrays(10, events_per_order=math.nan), "events_per_order"),
        (lambda: make_arrays(10, interactions="yes"), "interactions"),
        (lambda: make_dataset(10, tz="Asia/Shanghai"), "tz"),
    ],
)
def test_bad_parameters_raise_validation_errors_naming_them(call, field):
    with pytest.raises(ValidationError) as caught:
        call()
    assert caught.value.field == field


def test_as_of_may_be_any_aware_time():
    as_of = datetime(2024, 6, 30, 12, tzinfo=UTC)
    orders = make_order_arrays(1_000, 100, as_of=as_of, history_days=30)
    assert (orders.placed_at < to_epoch_micros(as_of)).all()
    assert (orders.placed_at >= to_epoch_micros(as_of - timedelta(days=30))).all()


def test_the_true_model_parameters_are_exposed_for_checking_estimators(data):
    rate, p = data.purchase_rate, data.dropout_probability
    assert rate.shape == p.shape == (400,)
    assert (rate >= 0).all()
    assert ((p > 0) & (p <= 1)).all()
    # Customers who buy faster place more orders.
    counts = np.bincount(data.orders.customer_index, minlength=400)
    fast = rate > np.median(rate)
    assert counts[fast].mean() > 2 * counts[~fast].mean()
