"""Random bad input to every public domain constructor ends in a custmgmt error.

Each case starts from valid keyword arguments and replaces some of them with junk
drawn by hypothesis: wrong types, NaN, naive datetimes, huge numbers, blank or
control-character strings, lone surrogates, integers beyond int64 and float range,
decimals beyond the decimal context. The constructor must either accept the value
(junk can happen to be valid) or raise a ``CustMgmtError``: never a TypeError,
KeyError or decimal.Overflow from deep inside. The same holds for ``Money.parse``,
``normalise_phone`` and the methods that change a customer or an order.

The sweeps take their number of examples from the hypothesis profile: 100 in the
suite, 10,000 each with ``HYPOTHESIS_PROFILE=sweep`` (see ``tests/conftest.py``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
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
    normalise_phone,
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
    st.sampled_from([2**63, 2**64, -(2**63) - 1, 10**400, -(10**5000)]),
    st.sampled_from([Decimal("1e1000000"), Decimal("-1e-1000000"), Decimal("9.99e13")]),
    st.text(alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1),
    st.builds(lambda a, b: a + "\ud800" + b, st.text(max_size=5), st.text(max_size=5)),
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


numberish = st.text(alphabet="0123456789,.-+eE _\u00a0１", max_size=25)


@given(
    text=st.one_of(numberish, junk),
    currency=st.one_of(st.sampled_from(["CNY", "JPY", "BHD"]), junk),
    decimal=st.one_of(st.sampled_from([".", ","]), junk),
)
def test_money_parse_raises_only_custmgmt_errors(text: Any, currency: Any, decimal: Any) -> None:
    with contextlib.suppress(CustMgmtError):
        Money.parse(text, currency, decimal=decimal)


@given(value=st.one_of(st.text(alphabet="+0123456789 -().x", max_size=20), junk))
def test_normalise_phone_raises_only_custmgmt_errors(value: Any) -> None:
    with contextlib.suppress(CustMgmtError):
        normalise_phone(value)


CUSTOMER = Customer(**CASES["Customer"][1])
LATER = T0 + timedelta(days=1)
ORDER = Order(**CASES["Order"][1])

def field_of(junk: Any) -> str:
    return junk if isinstance(junk, str) else "x"


CUSTOMER_METHODS: dict[str, Callable[[Any, Any], object]] = {
    "with_tags(add)": lambda a, b: CUSTOMER.with_tags(at=LATER, add=a),
    "with_tags(remove)": lambda a, b: CUSTOMER.with_tags(at=b, remove=a),
    "with_consent": lambda a, b: CUSTOMER.with_consent(a, b, at=LATER),
    "with_consent(at)": lambda a, b: CUSTOMER.with_consent("sms", True, at=a),
    "update_profile": lambda a, b: CUSTOMER.update_profile(at=LATER, **{field_of(a): b}),
    "update_profile(phone)": lambda a, b: CUSTOMER.update_profile(at=LATER, phone=a, email=b),
    "may_contact": lambda a, b: CUSTOMER.may_contact(a),
    "Consent.allows": lambda a, b: Consent().allows(a),
    "age": lambda a, b: CUSTOMER.age(a),
    "Order.ship": lambda a, b: ORDER.ship(a),
    "Order.cancel": lambda a, b: ORDER.cancel(a),
    "Order.record_return": lambda a, b: ORDER.record_return(a, b),
    "Money.__mul__": lambda a, b: Money(Decimal("9.99"), "CNY") * a,
    "Money.__add__": lambda a, b: Money(Decimal("9.99"), "CNY") + a,
    "Money.from_minor": lambda a, b: Money.from_minor(a, b),
}


@pytest.mark.parametrize("name", sorted(CUSTOMER_METHODS))
@given(a=st.one_of(junk, st.sampled_from(["sms", "email", "name", "tags"])), b=junk)
def test_changing_methods_raise_only_custmgmt_errors(name: str, a: Any, b: Any) -> None:
    with contextlib.suppress(CustMgmtError):
        CUSTOMER_METHODS[name](a, b)
