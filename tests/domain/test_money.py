from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custmgmt.domain import Money, currency_digits
from custmgmt.errors import ValidationError


def test_arithmetic_is_exact_where_floats_are_not() -> None:
    assert Money(Decimal("0.10"), "CNY") + Money(Decimal("0.20"), "CNY") == Money(
        Decimal("0.30"), "CNY"
    )


def test_floats_are_refused_with_a_hint_to_use_decimal() -> None:
    with pytest.raises(ValidationError, match=r"Money.amount.*floats are not exact"):
        Money(0.1, "CNY")  # type: ignore[arg-type]


def test_mixed_currency_arithmetic_is_refused() -> None:
    with pytest.raises(ValidationError, match="convert currencies explicitly"):
        Money(Decimal(1), "CNY") + Money(Decimal(1), "USD")


def test_mixed_currency_comparison_is_refused() -> None:
    with pytest.raises(ValidationError):
        assert Money(Decimal(1), "CNY") < Money(Decimal(2), "USD")


def test_unknown_currency_is_refused() -> None:
    with pytest.raises(ValidationError, match="ISO 4217"):
        Money(Decimal(1), "XYZ")


@pytest.mark.parametrize(
    ("currency", "digits", "amount", "minor"),
    [
        ("JPY", 0, Decimal("1500"), 1500),
        ("CNY", 2, Decimal("19.90"), 1990),
        ("USD", 2, Decimal("-0.05"), -5),
        ("BHD", 3, Decimal("1.234"), 1234),
    ],
)
def test_minor_units_follow_each_currencys_digits(
    currency: str, digits: int, amount: Decimal, minor: int
) -> None:
    assert currency_digits(currency) == digits
    assert Money(amount, currency).to_minor() == minor
    assert Money.from_minor(minor, currency) == Money(amount, currency)


def test_sub_minor_amounts_cannot_become_minor_units() -> None:
    with pytest.raises(ValidationError, match="at most 0 decimal places for JPY"):
        Money(Decimal("1.5"), "JPY").to_minor()


def test_parse_reads_decimal_text_exactly() -> None:
    assert Money.parse("1,234.56", "CNY").amount == Decimal("1234.56")
    with pytest.raises(ValidationError):
        Money.parse("twelve", "CNY")


def test_absurd_magnitudes_are_refused_before_they_overflow() -> None:
    with pytest.raises(ValidationError):
        Money(Decimal("1e20"), "CNY")
    with pytest.raises(ValidationError):
        Money(Decimal("1e-30"), "CNY")


@given(
    st.integers(min_value=-(10**13), max_value=10**13),
    st.sampled_from(["CNY", "USD", "JPY", "BHD", "EUR"]),
)
def test_minor_units_round_trip(minor: int, currency: str) -> None:
    assert Money.from_minor(minor, currency).to_minor() == minor


@given(st.lists(st.integers(min_value=-(10**9), max_value=10**9), min_size=1, max_size=20))
def test_sums_match_integer_arithmetic_on_minor_units(values: list[int]) -> None:
    total = Money.zero("CNY")
    for value in values:
        total = total + Money.from_minor(value, "CNY")
    assert total.to_minor() == sum(values)


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("1,234.50", "1234.50"),
        ("1,234,567", "1234567"),
        ("-1,000.5", "-1000.5"),
        (" 12.30 ", "12.30"),
        ("1234.5", "1234.5"),
        (".5", "0.5"),
        ("1.5E+3", "1500"),
    ],
)
def test_parse_accepts_thousands_separators_in_groups_of_three(text: str, amount: str) -> None:
    assert Money.parse(text, "CNY").amount == Decimal(amount)


@pytest.mark.parametrize("text", ["12,50", "1,2,3", ",5,", "1234,567.1", "1,00", "1,000e3", ""])
def test_parse_refuses_commas_outside_thousands_groups_naming_the_text(text: str) -> None:
    with pytest.raises(ValidationError, match=r"^Money\.amount: got '[^']*'") as info:
        Money.parse(text, "EUR")
    assert info.value.value == text


def test_a_lone_decimal_comma_hints_at_the_decimal_option() -> None:
    with pytest.raises(ValidationError, match=r"decimal comma needs decimal=','"):
        Money.parse("12,50", "EUR")


@pytest.mark.parametrize(
    ("text", "amount"),
    [("12,50", "12.50"), ("1.234,50", "1234.50"), ("1 234,5", "1234.5"), ("0,001", "0.001")],
)
def test_a_decimal_comma_is_read_when_asked_for(text: str, amount: str) -> None:
    assert Money.parse(text, "EUR", decimal=",").amount == Decimal(amount)


@pytest.mark.parametrize("text", ["1,234.50", "1.2.3", "12.5,0"])
def test_with_a_decimal_comma_a_point_only_separates_thousands(text: str) -> None:
    with pytest.raises(ValidationError, match=r"^Money\.amount"):
        Money.parse(text, "EUR", decimal=",")


def test_an_unknown_decimal_mark_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"^decimal: got ';'"):
        Money.parse("1", "EUR", decimal=";")


@pytest.mark.parametrize("make", [lambda: Money(Decimal("1e1000000"), "CNY"),
                                  lambda: Money.parse("1e1000000", "CNY"),
                                  lambda: Money(10**5000, "CNY"),
                                  lambda: Money(Decimal("-1e999999999"), "CNY")])
def test_amounts_beyond_the_decimal_context_are_a_validation_error(make: Any) -> None:
    with pytest.raises(ValidationError, match=r"^Money\.amount: got .*below 10\^14"):
        make()


@given(st.decimals(allow_nan=False, allow_infinity=False, min_value=-(10**13), max_value=10**13,
                   places=2))
def test_parse_reads_back_what_str_of_an_amount_writes(amount: Decimal) -> None:
    assert Money.parse(f"{amount:,}", "CNY").amount == amount
