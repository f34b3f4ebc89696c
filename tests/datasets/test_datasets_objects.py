"""The object path: valid, consistent, deterministic objects built from the arrays."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC

import pytest

from custmgmt.adapters.memory import MemoryStore
from custmgmt.datasets import CHINA_TZ, DEFAULT_AS_OF, load_into, make_dataset
from custmgmt.domain import (
    Complaint,
    CustomerKind,
    InteractionKind,
    Money,
    OrderStatus,
    Referral,
    Review,
    Search,
)
from custmgmt.errors import ValidationError

HAN = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def dataset():
    return make_dataset(300, 3_000, seed=21)


@pytest.fixture(scope="module")
def objects(dataset):
    return dataset.customers(), dataset.orders(), dataset.interactions()


def test_sizes_match_the_arrays(dataset, objects):
    customers, orders, interactions = objects
    assert len(customers) == dataset.n_customers == 300
    assert len(orders) == dataset.n_orders == 3_000
    assert len(interactions) == dataset.n_interactions > 3_000


def test_ids_are_unique(objects):
    for entities in objects:
        ids = [e.id for e in entities]
        assert len(set(ids)) == len(ids)


def test_orders_belong_to_registered_customers_and_precede_as_of(objects):
    customers, orders, _ = objects
    registered = {c.id: c.registered_at for c in customers}
    for order in orders:
        assert order.customer_id in registered
        assert registered[order.customer_id] <= order.placed_at < DEFAULT_AS_OF


def test_order_totals_and_returns_match_the_arrays(dataset, objects):
    _, orders, _ = objects
    arrays = dataset.arrays.orders
    for row, order in enumerate(orders):
        assert order.total.to_minor() == arrays.amount[row]
        assert order.refunded.to_minor() == arrays.returned_amount[row]
        assert order.refunded <= order.total
        assert len(order.lines) == arrays.n_lines[row]
        assert order.lines[0].category == arrays.categories[arrays.category[row]]
        assert order.currency == "CNY"


def test_every_status_has_its_steps_in_order_before_as_of(objects):
    _, orders, _ = objects
    seen = Counter(o.status for o in orders)
    # A placed order is paid within minutes, so "placed" is rare: the others all occur.
    assert set(OrderStatus) - {OrderStatus.PLACED} <= set(seen)
    steps = {
        OrderStatus.PLACED: (),
        OrderStatus.PAID: ("paid_at",),
        OrderStatus.SHIPPED: ("paid_at", "shipped_at"),
        OrderStatus.DELIVERED: ("paid_at", "shipped_at", "delivered_at"),
        OrderStatus.RETURNED: ("paid_at", "shipped_at", "delivered_at", "returned_at"),
        OrderStatus.PARTIALLY_RETURNED: (
            "paid_at", "shipped_at", "delivered_at", "returned_at",
        ),
    }
    for order in orders:
        times = [order.placed_at]
        if order.status is OrderStatus.CANCELLED:
            assert order.cancelled_at is not None
            assert order.shipped_at is None
            continue
        for name in ("paid_at", "shipped_at", "delivered_at", "returned_at"):
            value = getattr(order, name)
            assert (value is not None) == (name in steps[order.status]), (order, name)
            if value is not None:
                times.append(value)
        assert times == sorted(times)
        assert times[-1] < DEFAULT_AS_OF


def test_interactions_reference_existing_customers_and_orders(objects):
    customers, orders, interactions = objects
    registered = {c.id: c.registered_at for c in customers}
    by_id = {o.id: o for o in orders}
    for event in interactions:
        assert registered[event.customer_id] <= event.at < DEFAULT_AS_OF
        if event.order_id is not None:
            order = by_id[event.order_id]
            assert order.customer_id == event.customer_id
            # Only the funnel comes before an order; nothing refers to an order before it.
            assert event.at >= order.placed_at
        if event.kind is InteractionKind.REVIEW:
            assert isinstance(event.details, Review)
            assert order.delivered_at is not None
            assert event.at > order.delivered_at
        if event.kind is InteractionKind.RETURN:
            assert order.returned_at == event.at
        if isinstance(event.details, Referral):
            referred = event.details.referred_customer_id
            assert registered[referred] > registered[event.customer_id]


def test_every_kind_of_interaction_and_detail_appears(objects):
    _, _, interactions = objects
    kinds = Counter(e.kind for e in interactions)
    assert set(kinds) == set(InteractionKind)
    details = {type(e.details) for e in interactions}
    assert {Review, Complaint, Search, Referral} <= details
    texts = [e.details.text for e in interactions if isinstance(e.details, Review)]
    assert any(t and HAN.search(t) for t in texts)
    queries = [e.details.query for e in interactions if isinstance(e.details, Search)]
    assert any(HAN.search(q) for q in queries)
    assert any(q.isascii() for q in queries)
    assert any(e.details.resolved for e in interactions if isinstance(e.details, Complaint))
    assert any(
        not e.details.resolved for e in interactions if isinstance(e.details, Complaint)
    )


def test_customers_are_a_realistic_mix(objects):
    customers, _, _ = objects
    names = [c.name for c in customers]
    assert sum(bool(HAN.search(n)) for n in names) > 200
    assert any(n.isascii() and " " in n for n in names)  # Emma Smith and friends
    businesses = [c for c in customers if c.kind is CustomerKind.BUSINESS]
    assert businesses
    assert all(c.business is not None and c.birth_date is None for c in businesses)
    assert all(c.address is not None and c.address.country == "CN" for c in customers)
    assert all(HAN.search(c.address.street or "") for c in customers if c.address)
    assert len({c.region for c in customers}) >= 5
    assert any(c.birth_date is not None for c in customers)
    assert any(c.consent.sms for c in customers)
    assert any(not c.consent.email for c in customers)
    assert any(c.tags for c in customers)
    assert len({c.acquisition_channel for c in customers}) >= 5
    assert all(c.registered_at.utcoffset() == CHINA_TZ.utcoffset(None) for c in customers)


def test_the_same_seed_gives_the_same_objects_whatever_the_chunk_size():
    a = make_dataset(60, 400, seed=8)
    b = make_dataset(60, 400, seed=8)
    assert [c for chunk in a.iter_customers(7) for c in chunk] == b.customers()
    assert [o for chunk in a.iter_orders(13) for o in chunk] == b.orders()
    assert [i for chunk in a.iter_interactions(101) for i in chunk] == b.interactions()


def test_different_seeds_give_different_objects():
    assert make_dataset(30, 90, seed=1).customers() != make_dataset(30, 90, seed=2).customers()


def test_streams_come_in_chunks_of_the_requested_size(dataset):
    sizes = [len(chunk) for chunk in dataset.iter_orders(1_000)]
    assert sizes == [1_000, 1_000, 1_000]
    with pytest.raises(ValidationError) as caught:
        next(dataset.iter_orders(0))
    assert caught.value.field == "chunk_size"


def test_the_time_zone_changes_how_times_are_shown_not_when(dataset):
    utc = make_dataset(300, 3_000, seed=21, tz=UTC)
    first, shown = utc.orders()[0], dataset.orders()[0]
    assert first.placed_at == shown.placed_at
    assert first.placed_at.utcoffset() != shown.placed_at.utcoffset()


def test_other_currencies_give_money_in_that_currency():
    orders = make_dataset(10, 40, seed=3, currency="USD", interactions=False).orders()
    assert all(o.total.currency == "USD" for o in orders)
    assert all(isinstance(line.unit_price, Money) for o in orders for line in o.lines)


def test_chinese_text_round_trips_through_the_memory_store(dataset, objects):
    customers, orders, interactions = objects
    store = MemoryStore()
    load_into(store, dataset, chunk_size=1_000)
    for customer in customers:
        assert store.customers.get(customer.id) == customer
    assert store.orders.get(orders[-1].id) == orders[-1]
    review = next(e for e in interactions if isinstance(e.details, Review) and e.details.text)
    assert store.interactions.get(review.id).details == review.details
