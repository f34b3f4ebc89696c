"""The demo's recommendation section for a customer whose every order was returned."""

from __future__ import annotations

import io
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.cli.demo_context import DemoContext
from custmgmt.cli.demo_recommend import demo_section
from custmgmt.domain import Money, Order
from custmgmt.testing import make_customer, make_order, make_order_line

T0 = datetime(2024, 1, 1, 9, tzinfo=UTC)
AS_OF = T0 + timedelta(days=500)


def _order(order_id: str, customer_id: str, sku: str, day: int) -> Order:
    at = T0 + timedelta(days=day)
    return make_order(
        id=order_id, customer_id=customer_id, placed_at=at,
        lines=[make_order_line(sku=sku, unit_price=Money(Decimal("10.00"), "CNY"))],
    ).pay(at)


def test_a_customer_with_no_kept_purchase_is_not_shown_another_customers_items() -> None:
    with SQLiteStore(":memory:") as store:
        for cid in ("A-退货", "B-买家"):
            store.customers.add(make_customer(id=cid, registered_at=T0))
        # Every order of A was returned: none is evidence of taste, so A has no purchases.
        for n in range(3):
            order = _order(f"OA-{n}", "A-退货", f"SKU-A{n}", 10 + n)
            store.orders.add(order.record_return(order.total, order.placed_at + timedelta(days=3)))
        for n, sku in enumerate(["SKU-B1", "SKU-B2", "SKU-B1"]):
            store.orders.add(_order(f"OB-{n}", "B-买家", sku, 20 + n))
        out = io.StringIO()
        demo_section(DemoContext(store=store, as_of=AS_OF, seed=1, out=out,
                                 rng=random.Random(1)))
    text = out.getvalue()
    assert "for A-退货" in text
    assert "bought SKU-B1" not in text
