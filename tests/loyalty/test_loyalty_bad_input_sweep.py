"""Random bad input to the loyalty value types ends in a custmgmt error, never another.

Start from a valid instance, rebuild it from its own fields with one or two replaced
by junk, and require that construction either succeeds or raises a CustMgmtError.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from custmgmt.errors import CustMgmtError
from custmgmt.loyalty import (
    DEFAULT_PROGRAM,
    Draw,
    EarnRule,
    Expiry,
    LedgerEntry,
    Program,
    ReturnPolicy,
    Tier,
    TierChange,
    TierEvent,
    TierScheme,
)

T0 = datetime(2025, 3, 1, 9, tzinfo=UTC)

EXAMPLES: dict[str, Any] = {
    "Draw": Draw(lot="C-1#1", points=5),
    "LedgerEntry (earn)": LedgerEntry(
        id="C-1#1", customer_id="C-1", seq=1, kind="earn", points=100, at=T0, key="order:O-1",
        actor="system", reason="订单", rule="order", order_id="O-1",
        expires_at=T0 + timedelta(days=365), locked_until=T0 + timedelta(days=7),
    ),
    "LedgerEntry (reverse)": LedgerEntry(
        id="C-1#2", customer_id="C-1", seq=2, kind="reverse", points=-100, at=T0, key="r",
        actor="system", reason="退货", order_id="O-1", draws=(Draw(lot="C-1#1", points=60),),
        debt=30, written_off=10,
    ),
    "LedgerEntry (lock)": LedgerEntry(
        id="C-1#3", customer_id="C-1", seq=3, kind="lock", points=0, at=T0, key="l",
        actor="风控", reason="核查", lot="C-1#1",
    ),
    "EarnRule (order)": EarnRule(name="order", trigger="order", per_unit=Decimal("1.5"),
                                 currency="CNY", rounding="half_up"),
    "EarnRule (review)": EarnRule(name="review", trigger="review", points=20, cap=100,
                                  cap_period="month"),
    "Expiry": Expiry(mode="days", amount=90),
    "ReturnPolicy": ReturnPolicy(mode="negative_balance", negative_limit=500),
    "Program": DEFAULT_PROGRAM,
    "Tier": Tier(name="金卡", threshold=5000, multiplier=Decimal("1.5"), free_shipping=True),
    "TierScheme": TierScheme.default(),
    "TierEvent": TierEvent(at=T0, points=-300, source="lot-1"),
    "TierChange": TierChange(customer_id="C-1", seq=2, at=T0, from_tier="普通", to_tier="银卡",
                             reason="upgrade", source="C-1#1"),
}

junk = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True),
    st.text(max_size=20), st.binary(max_size=5), st.decimals(allow_nan=True),
    st.datetimes(), st.datetimes(timezones=st.just(UTC)), st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.sampled_from([float("inf"), "", " ", "\x00", "earn", "order", -1, 0, 10**20]),
)


def init_kwargs(instance: Any) -> dict[str, Any]:
    return {(f.alias or f.name): getattr(instance, f.name) for f in attrs.fields(type(instance))
            if f.init}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_rebuilding_a_valid_instance_from_its_fields_works(name: str) -> None:
    instance = EXAMPLES[name]
    assert type(instance)(**init_kwargs(instance)) == instance


@pytest.mark.parametrize("name", sorted(EXAMPLES))
@given(data=st.data())
def test_bad_fields_raise_only_custmgmt_errors(name: str, data: st.DataObject) -> None:
    instance = EXAMPLES[name]
    kwargs = init_kwargs(instance)
    fields = data.draw(st.lists(st.sampled_from(sorted(kwargs)), min_size=1, max_size=2,
                                unique=True))
    for field in fields:
        kwargs[field] = data.draw(junk, label=field)
    with contextlib.suppress(CustMgmtError):
        type(instance)(**kwargs)


def test_a_program_with_anything_but_rules_is_refused() -> None:
    with pytest.raises(CustMgmtError):
        Program(rules=["order"])  # type: ignore[list-item]
