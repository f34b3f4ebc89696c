"""The demo counts every customer: prospects are a segment, not missing; "rated"
leaves out customers whose orders were all cancelled (issue 11 item 11)."""

from __future__ import annotations

import io
import random
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.cli.demo import DemoContext
from custmgmt.cli.demo_rating import demo_section as rating_section
from custmgmt.cli.demo_segments import demo_section as segments_section
from custmgmt.domain import Money
from custmgmt.testing import make_customer, make_order, make_order_line

AS_OF = datetime(2026, 6, 30, 23, 59, tzinfo=UTC)
T0 = AS_OF - timedelta(days=200)


def _store() -> SQLiteStore:
    store = SQLiteStore(":memory:")
    for k in range(10):
        store.customers.add(make_customer(id=f"c{k:02d}", registered_at=T0 - timedelta(days=1)))
        for j in range(k % 4 + 1):
            line = make_order_line(unit_price=Money(Decimal(5 * k + 3), "CNY"))
            store.orders.add(make_order(id=f"o{k}-{j}", customer_id=f"c{k:02d}",
                                        placed_at=T0 + timedelta(days=11 * j + k), lines=[line]))
    for k in range(3):  # registered, never ordered nor interacted: prospects
        store.customers.add(make_customer(id=f"p{k}", registered_at=T0))
    store.customers.add(make_customer(id="gone", registered_at=T0))
    order = make_order(id="o-gone", customer_id="gone", placed_at=T0 + timedelta(days=3))
    store.orders.add(order.cancel(at=T0 + timedelta(days=3, hours=1)))
    return store


def _context(store: SQLiteStore) -> tuple[DemoContext, io.StringIO]:
    out = io.StringIO()
    return DemoContext(store=store, as_of=AS_OF, seed=7, out=out, rng=random.Random(7)), out


def test_every_scheme_counts_every_customer_prospects_included() -> None:
    store = _store()
    ctx, out = _context(store)
    segments_section(ctx)
    text = out.getvalue()
    for scheme in ("value tiers", "activity", "lifecycle"):
        line = next(ln for ln in text.splitlines() if ln.startswith(f"{scheme}:"))
        assert sum(int(n.replace(",", "")) for n in re.findall(r" ([\d,]+) \(", line)) == 14
    assert re.search(r"lifecycle: prospect 4 ", text)  # 3 never ordered, 1 cancelled only
    assert "most at risk (by churn score, then net spend" in text
    store.close()


def test_rated_leaves_out_prospects_and_cancelled_only_customers() -> None:
    store = _store()
    ctx, out = _context(store)
    rating_section(ctx)
    text = out.getvalue()
    assert "10 customers rated" in text
    assert "4 unrated: no counted order" in text
    rating = ctx.shared["rating"]
    assert "gone" not in rating.customer_ids.tolist()
    store.close()
