"""``Purchases.from_store`` gives the same purchases on every store (round 35d).

The in-memory path read order lines through ``orders.between(1900-01-01, as_of + 1 µs)``:
orders placed before 1900, which the SQLite and PostgreSQL line readers (and the order
frame) keep, vanished on the memory store alone, and an ``as_of`` at the last moment
that can be represented raised a bare ``OverflowError``. A ``since`` after ``as_of``
was refused as ``end`` on memory and read as an empty window on SQL stores.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from custmgmt.adapters.memory import MemoryStore
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.errors import ValidationError
from custmgmt.recommend import Purchases
from custmgmt.testing import make_customer, make_order, make_order_line

LAST = datetime.max.replace(tzinfo=UTC)
ORDERS = [  # (order id, customer, placed at, skus)
    ("订单-1", "客户-甲", datetime(1850, 3, 1, tzinfo=UTC), ["茶叶", "茶杯"]),
    ("订单-2", "客户-乙", datetime(1899, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), ["茶叶"]),
    ("订单-3", "客户-乙", datetime(1900, 1, 1, tzinfo=UTC), ["月饼"]),
    ("订单-4", "客户-甲", datetime(2025, 1, 1, tzinfo=UTC), ["月饼", "茶杯"]),
    ("订单-5", "客户-丙", LAST, ["茶杯"]),
]


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest) -> Iterator[Any]:
    made: Any
    if request.param == "postgres":
        made = request.getfixturevalue("postgres_store")
    else:
        made = MemoryStore() if request.param == "memory" else SQLiteStore(":memory:")
    for customer in ("客户-甲", "客户-乙", "客户-丙"):
        made.customers.add(make_customer(id=customer, registered_at=datetime(1800, 1, 1,
                                                                             tzinfo=UTC)))
    for order_id, customer, at, skus in ORDERS:
        made.orders.add(make_order(id=order_id, customer_id=customer, placed_at=at,
                                   lines=[make_order_line(sku=sku) for sku in skus]))
    yield made
    if request.param != "postgres":
        made.close()


def _rows(purchases: Purchases) -> list[tuple[str, str, int]]:
    return sorted(
        (str(purchases.customer_ids[c]), str(purchases.item_ids[i]), int(t))
        for c, i, t in zip(purchases.customer, purchases.item, purchases.at, strict=True)
    )


def _expected(since: datetime | None, as_of: datetime) -> list[tuple[str, str, int]]:
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return sorted(
        (customer, sku, (at - epoch) // timedelta(microseconds=1))
        for _, customer, at, skus in ORDERS
        if at <= as_of and (since is None or at >= since)
        for sku in skus
    )


@pytest.mark.parametrize(("since", "as_of"), [
    (None, datetime(2026, 1, 1, tzinfo=UTC)),
    (None, datetime(1899, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
    (datetime(1850, 3, 1, tzinfo=UTC), datetime(1900, 1, 1, tzinfo=UTC)),
    (None, LAST),
    (datetime(2000, 1, 1, tzinfo=UTC), LAST),
])
def test_every_store_gives_the_orders_in_the_window(
    store: Any, since: datetime | None, as_of: datetime
) -> None:
    got = Purchases.from_store(store, since=since, as_of=as_of)
    assert _rows(got) == _expected(since, as_of)


def test_a_window_that_ends_before_it_starts_is_refused_on_every_store(store: Any) -> None:
    # Memory refused it naming ``end``, a name nobody passed; SQL stores answered empty.
    since = datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(ValidationError) as info:
        Purchases.from_store(store, since=since, as_of=datetime(2025, 1, 1, tzinfo=UTC))
    assert info.value.field == "since"
    assert info.value.value == since
