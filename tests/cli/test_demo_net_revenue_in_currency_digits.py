"""The demo's "What is stored" summary prints each currency's net revenue at its
minor-unit digits: KWD 3, JPY 0, CNY 2 (before: two decimals for every currency, so a
KWD revenue of 12.345 showed ``12.35`` and a JPY one of 1,234 ``1,234.00``)."""

from __future__ import annotations

import io
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from custmgmt.adapters.memory import MemoryStore
from custmgmt.cli import demo
from custmgmt.cli.demo import DemoContext
from custmgmt.domain import Money
from custmgmt.testing import make_customer, make_order, make_order_line

AS_OF = datetime(2026, 6, 30, 23, 59, tzinfo=UTC)
T0 = AS_OF - timedelta(days=30)


def _summary(prices: dict[str, list[str]]) -> list[str]:
    store = MemoryStore()
    k = 0
    for currency, amounts in prices.items():
        for amount in amounts:
            k += 1
            store.customers.add(make_customer(id=f"c{k}", registered_at=T0))
            line = make_order_line(unit_price=Money(Decimal(amount), currency))
            store.orders.add(make_order(id=f"o{k}", customer_id=f"c{k}", placed_at=T0,
                                        lines=[line]))
    out = io.StringIO()
    demo._summary(DemoContext(store=store, as_of=AS_OF, seed=7, out=out,
                              rng=random.Random(7)))
    store.close()
    return [ln for ln in out.getvalue().splitlines() if ln.startswith("net revenue")]


def test_each_currency_s_revenue_has_its_own_digits() -> None:
    lines = _summary({"KWD": ["12.345", "1000.001"], "JPY": ["1234"], "CNY": ["5.5"]})
    assert lines == [
        "net revenue to 2026-06-30: 5.50 CNY",
        "net revenue to 2026-06-30: 1,234 JPY",
        "net revenue to 2026-06-30: 1,012.346 KWD",
    ]


@settings(max_examples=25, deadline=None)
@given(minor=st.integers(min_value=1, max_value=10**12),
       currency=st.sampled_from(["KWD", "JPY", "CNY", "USD"]))
def test_the_revenue_prints_back_exactly(minor: int, currency: str) -> None:
    digits = {"KWD": 3, "JPY": 0, "CNY": 2, "USD": 2}[currency]
    amount = Decimal(minor).scaleb(-digits)
    (line,) = _summary({currency: [str(amount)]})
    assert line == f"net revenue to 2026-06-30: {amount:,.{digits}f} {currency}"
