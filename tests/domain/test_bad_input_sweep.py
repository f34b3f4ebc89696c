"""Random bad input to every public domain constructor ends in a custmgmt error.

Each case starts from valid keyword arguments and replaces some of them with junk
drawn by hypothesis: wrong types, NaN, naive datetimes, huge numbers, blank or
control-character strings. The constructor must either accept the value (junk can
happen to be valid) or raise a ``CustMgmtError``: never a TypeError, KeyError or
decimal.Overflow from deep inside.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custmgmt.domain import (
    Address,
    BusinessProfile,
    Complaint,
    Consent,
    Customer,
    Interaction,
    Money,
    Order,
    OrderLine,
    Referral,
    Review,
    Search,
)
from custmgmt.errors import CustMgmtError

T0 = datetime(2025, 1, 1, tzinfo=UTC)
LINE = OrderLine(sku="s", category="c", quantity=1, unit_price=Money(Decimal(1), "CNY"))

junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["", " ", "\x00", "é", "张", "+86", "CNY", "XXX", "review", "paid"]),
    st.binary(max_size=5),
    st.datetimes(),  # naive
    st.datetimes(timezones=st.just(UTC)),
    st.dates(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.just(LINE),
    st.just(Money(Decimal("1e13"), "JPY")),
    st.just([LINE, "x"]),
    st.just(object()),
)

# constructor -> valid keyword arguments
CASES: dict[str, tuple[Callable[..., Any], dict[str, Any]]] = {
    "Money": (lambda **kw: Money(**kw), {"amount": Decimal("1.00"), "currency": "CNY"}),
    "Address": (Address, {"country": "CN", "city": "上海"}),
    "BusinessProfile": (BusinessProfile, {"industry": "零售", "employees": 3}),
    "Consent": (Consent, {"email": True, "updated_at": T0}),
    "Customer": (
        Customer,
        {
            "id": "c1",
            "name": "张三",
            "registered_at": T0,
            "kind": "person",
            "gender": "male",
            "birth_date": date(1990, 1, 1),
            "phone": "13800138000",
            "email": "a@b.cn",
            "tags": ["vip"],
            "version": 1,
        },
    ),
    "OrderLine": (
        OrderLine,
        {"sku": "s", "category": "茶", "quantity": 2, "unit_price": Money(Decimal(3), "CNY")},
    ),
    "Order": (
        Order,
        {
            "id": "o1",
            "customer_id": "c1",
            "placed_at": T0,
            "lines": (LINE,),
            "status": "paid",
            "paid_at": T0,
            "returned_amount": None,
            "channel": "app",
        },
    ),
    "Review": (Review, {"rating": 4, "text": "好"}),
    "Complaint": (Complaint, {"category": "logistics", "text": "慢", "resolved": False}),
    "Search": (Search, {"query": "绿茶"}),
    "Referral": (Referral, {"referred_customer_id": "c2"}),
    "Interaction": (
        Interaction,
        {
            "id": "i1",
            "customer_id": "c1",
            "kind": "review",
            "at": T0,
            "details": Review(rating=5),
            "sku": "s",
        },
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_valid_arguments_are_valid(name: str) -> None:
    constructor, valid = CASES[name]
    constructor(**valid)


@pytest.mark.parametrize("name", sorted(CASES))
@settings(max_examples=150)
@given(data=st.data())
def test_bad_input_raises_only_custmgmt_errors(name: str, data: st.DataObject) -> None:
    constructor, valid = CASES[name]
    fields = data.draw(
        st.lists(st.sampled_from(sorted(valid)), min_size=1, max_size=3, unique=True)
    )
    kwargs = dict(valid)
    for field in fields:
        kwargs[field] = data.draw(junk, label=field)
    with contextlib.suppress(CustMgmtError):
        constructor(**kwargs)
