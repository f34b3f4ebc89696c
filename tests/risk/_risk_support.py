"""What the risk tests share: a store filled with a small, known story."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from custmgmt.domain import Money
from custmgmt.domain.interaction import Complaint, Review
from custmgmt.testing import make_customer, make_interaction, make_order

AS_OF = datetime(2025, 6, 30, 12, tzinfo=UTC)


def fill(store: Any) -> None:
    """Twelve customers: most clean, one returner, one troll with a review burst."""
    for k in range(12):
        store.customers.add(make_customer(id=f"c{k:02d}", name="张伟"))
        for d in range(1 + k % 4):
            placed = AS_OF - timedelta(days=20 + 30 * d)
            store.orders.add(make_order(customer_id=f"c{k:02d}", placed_at=placed)
                             .pay(at=placed + timedelta(minutes=5)))
    for d in (10, 20, 30, 40):
        placed = AS_OF - timedelta(days=d)
        order = make_order(customer_id="c01", placed_at=placed)
        order = order.pay(at=placed + timedelta(hours=1))
        store.orders.add(order.record_return(Money(Decimal("88.00"), "CNY"),
                                             at=placed + timedelta(days=3)))
    for h in range(6):
        store.interactions.add(make_interaction(
            customer_id="c02", at=AS_OF - timedelta(days=1, hours=h),
            details=Review(rating=1, text="差评")))
    store.interactions.add(make_interaction(customer_id="c03", kind="complaint",
                                            at=AS_OF - timedelta(days=3),
                                            details=Complaint(category="logistics")))
