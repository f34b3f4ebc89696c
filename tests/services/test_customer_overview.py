from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from custmgmt import Complaint, InteractionKind, MemoryStore, Money, NotFound, Referral, Review
from custmgmt.errors import ValidationError
from custmgmt.services import customer_overview, record_interaction, record_order
from custmgmt.testing import make_customer, make_interaction, make_order, make_order_line

T0 = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.fixture
def store() -> MemoryStore:
    store = MemoryStore()
    store.customers.add(make_customer(id="c1", name="赵敏", registered_at=T0))
    return store


def cny(text: str) -> Money:
    return Money(Decimal(text), "CNY")


def test_the_overview_gathers_orders_and_interactions_up_to_as_of(store: MemoryStore) -> None:
    line = make_order_line(unit_price=cny("100"))
    paid = make_order(id="o1", customer_id="c1", placed_at=T0 + timedelta(days=1), lines=[line])
    record_order(store, paid.pay(paid.placed_at).record_return(cny("30"), T0 + timedelta(days=3)))
    cancelled = make_order(
        id="o2", customer_id="c1", placed_at=T0 + timedelta(days=2), lines=[line]
    )
    record_order(store, cancelled.cancel(T0 + timedelta(days=2)))
    record_order(store, make_order(id="o3", customer_id="c1", placed_at=T0 + timedelta(days=90)))
    for n, rating in enumerate([5, 2]):
        record_interaction(
            store,
            make_interaction(
                customer_id="c1", at=T0 + timedelta(days=4 + n), details=Review(rating=rating)
            ),
        )
    record_interaction(
        store,
        make_interaction(
            customer_id="c1",
            kind="complaint",
            at=T0 + timedelta(days=6),
            details=Complaint(category="product_quality", text="茶叶发霉"),
        ),
    )
    view = customer_overview(store, "c1", as_of=T0 + timedelta(days=30))
    assert [o.id for o in view.orders] == ["o1", "o2"]
    assert view.net_spend == {"CNY": cny("70")}
    assert view.order_count == 1
    assert view.last_order_at == T0 + timedelta(days=1)
    assert view.review_mean == pytest.approx(3.5)
    assert view.interaction_counts == {InteractionKind.REVIEW: 2, InteractionKind.COMPLAINT: 1}
    assert len(view.open_complaints) == 1


def test_unknown_customers_are_not_found(store: MemoryStore) -> None:
    with pytest.raises(NotFound):
        customer_overview(store, "nobody", as_of=T0)
    with pytest.raises(NotFound):
        record_order(store, make_order(customer_id="nobody", placed_at=T0 + timedelta(days=1)))
    assert store.orders.count() == 0


def test_orders_before_registration_are_refused_and_not_stored(store: MemoryStore) -> None:
    with pytest.raises(ValidationError, match=r"Order\.placed_at"):
        record_order(store, make_order(customer_id="c1", placed_at=T0 - timedelta(days=1)))
    assert store.orders.count() == 0


def test_a_referral_needs_both_customers(store: MemoryStore) -> None:
    referral = make_interaction(
        customer_id="c1", kind="referral", details=Referral(referred_customer_id="c404")
    )
    with pytest.raises(NotFound, match="c404"):
        record_interaction(store, referral)
    assert store.interactions.count() == 0


def test_naive_as_of_is_refused(store: MemoryStore) -> None:
    with pytest.raises(ValidationError, match="as_of"):
        customer_overview(store, "c1", as_of=datetime(2025, 1, 1))
