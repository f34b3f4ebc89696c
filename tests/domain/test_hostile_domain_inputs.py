"""Hostile values for the domain types: names in error messages, and aware datetimes
whose UTC instant leaves the years 1..9999."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from custmgmt.domain import Customer, Money, Order, OrderLine
from custmgmt.domain.time import require_aware
from custmgmt.errors import ValidationError

T = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "name",
    ["张伟\x00秘密", "王小明" * 100, "张伟\ud800", "Alice Secret\x07"],
    ids=["control", "too-long", "surrogate", "latin-control"],
)
def test_a_refused_name_is_masked_in_the_error(name: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Customer(id="c1", name=name, registered_at=T)
    shown = str(caught.value) + repr(caught.value.value)
    for secret in ("秘密", "小明", "伟", "Secret", "lice"):
        assert secret not in shown


EARLY = datetime(1, 1, 1, 5, tzinfo=timezone(timedelta(hours=14)))  # UTC: year 0
LATE = datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-12)))  # UTC: year 10000


@pytest.mark.parametrize("when", [EARLY, LATE], ids=["utc-year-0", "utc-year-10000"])
def test_an_instant_outside_the_datetime_range_in_utc_is_refused(when: datetime) -> None:
    with pytest.raises(ValidationError, match=r"years 1\.\.9999"):
        Customer(id="c1", name="张伟", registered_at=when)
    line = OrderLine(sku="s", category="x", quantity=1, unit_price=Money(Decimal(1), "CNY"))
    with pytest.raises(ValidationError, match=r"Order\.placed_at"):
        Order(id="o1", customer_id="c1", placed_at=when, lines=[line])
    with pytest.raises(ValidationError, match="as_of"):
        require_aware("as_of", when)


@pytest.mark.parametrize(
    "when",
    [
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(1, 1, 1, 14, tzinfo=timezone(timedelta(hours=14))),
        datetime(9999, 12, 31, 11, 59, tzinfo=timezone(timedelta(hours=-12))),
        datetime.max.replace(tzinfo=UTC),
    ],
)
def test_the_extreme_instants_that_exist_in_utc_are_accepted(when: datetime) -> None:
    assert Customer(id="c1", name="张伟", registered_at=when).registered_at == when


@pytest.mark.parametrize(
    ("amount", "shown"),
    [("1.5E+3", "1,500 CNY"), ("1E+13", "10,000,000,000,000 CNY"), ("12.30", "12.30 CNY")],
)
def test_money_is_shown_without_an_exponent(amount: str, shown: str) -> None:
    # str(Money.parse("1.5E+3", "CNY")) was "1.5E+3 CNY".
    assert str(Money.parse(amount, "CNY")) == shown


def test_the_epoch_helpers_raise_library_errors() -> None:
    from custmgmt.domain.time import from_epoch_micros, to_epoch_micros

    # TypeError and OverflowError escaped before.
    with pytest.raises(ValidationError, match="timezone-aware"):
        to_epoch_micros(datetime(2024, 1, 1))
    with pytest.raises(ValidationError, match="micros"):
        from_epoch_micros(2**62)
    with pytest.raises(ValidationError, match="micros"):
        from_epoch_micros(-62_135_596_800_000_001)
    assert from_epoch_micros(-62_135_596_800_000_000) == datetime(1, 1, 1, tzinfo=UTC)


def test_a_utc_offset_with_a_fraction_of_a_second_is_refused_by_the_domain() -> None:
    # The memory store took it, the SQL stores refused it only when saving.
    from custmgmt.domain._validate import check_aware
    from custmgmt.testing import make_customer

    odd = datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=8, microseconds=500)))
    with pytest.raises(ValidationError) as caught:
        check_aware("placed_at", odd)
    assert caught.value.field == "placed_at"
    with pytest.raises(ValidationError):
        make_customer(id="c-1", registered_at=odd)
    lmt = datetime(1900, 1, 1, tzinfo=timezone(timedelta(hours=8, minutes=5, seconds=43)))
    assert check_aware("placed_at", lmt) is lmt  # a historical whole-second offset
