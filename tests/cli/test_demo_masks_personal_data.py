"""The demo's customer overview prints contact details masked."""

from __future__ import annotations

import io
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from custmgmt.adapters.memory import MemoryStore
from custmgmt.cli.demo import DemoContext
from custmgmt.cli.demo_overview import demo_section
from custmgmt.domain import Money
from custmgmt.testing import make_customer, make_order, make_order_line

AS_OF = datetime(2025, 6, 1, tzinfo=UTC)


def test_the_overview_prints_the_phone_and_email_masked() -> None:
    store = MemoryStore()
    store.customers.add(
        make_customer(id="c-1", phone="+86 139 8765 4321", email="zhang.wei@example.com")
    )
    line = make_order_line(unit_price=Money(Decimal("9.90"), "CNY"))
    store.orders.add(make_order(id="o-1", customer_id="c-1", lines=[line],
                                placed_at=AS_OF - timedelta(days=3)))
    out = io.StringIO()
    demo_section(DemoContext(store=store, as_of=AS_OF, seed=1, out=out, rng=random.Random(1)))
    text = out.getvalue()
    assert "contact: +86139****4321 / z***@example.com" in text
    assert "98765" not in text
    assert "zhang.wei" not in text
