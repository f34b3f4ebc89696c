"""Personal data is masked wherever custmgmt shows it to people."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custmgmt.domain import (
    Address,
    BusinessProfile,
    Customer,
    CustomerKind,
    mask_email,
    mask_phone,
    mask_text,
)
from custmgmt.errors import ValidationError
from custmgmt.testing import make_customer

T0 = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("13812341234", "138****1234"),
        ("138 1234 1234", "138****1234"),
        ("+8613812341234", "+86138****1234"),
        ("+86 138-1234-1234", "+86138****1234"),
        ("+12025550123", "+120****0123"),
        ("+44 20 7946 0958", "+442*****0958"),
        ("+33612345678", "+336****5678"),
        ("12345", "1***5"),
        ("", ""),
    ],
)
def test_phone_numbers_keep_only_their_first_and_last_digits(phone: str, masked: str) -> None:
    assert mask_phone(phone) == masked


@pytest.mark.parametrize(
    ("email", "masked"),
    [
        ("alice@example.com", "a***@example.com"),
        ("zhang.wei@example.cn", "z***@example.cn"),
        ("a@b.cn", "***@b.cn"),
        ("张伟@例子.中国", "张***@例子.中国"),
    ],
)
def test_emails_keep_one_character_and_the_domain(email: str, masked: str) -> None:
    assert mask_email(email) == masked


def test_text_keeps_at_most_a_third_and_hides_the_length() -> None:
    assert mask_text("张伟") == "张*"
    assert mask_text("上海市浦东新区世纪大道100号1201室") == "上海******"
    assert mask_text("x" * 1000) == "xx******"


@given(st.text(min_size=1, max_size=40))
def test_a_masked_phone_never_shows_more_than_seven_digits_of_it(phone: str) -> None:
    masked = mask_phone(phone)
    assert sum(ch != "*" and ch != "+" for ch in masked) <= 7
    assert "*" in masked or not re.sub(r"[\s\-().+]", "", phone)


@given(st.text(min_size=1, max_size=40))
def test_masked_text_never_shows_more_than_half_of_it(text: str) -> None:
    masked = mask_text(text)
    assert len(masked) <= 8
    assert not text.strip() or "*" in masked
    assert 2 * len(masked.split("*")[0]) <= len(text.strip())


def customer_with_personal_data() -> Customer:
    return make_customer(
        phone="+86 138 1234 5678",
        email="zhang.wei@example.com",
        address=Address(city="上海", street="世纪大道100号1201室", recipient="张伟"),
    )


@pytest.mark.parametrize("show", [repr, str])
def test_the_repr_and_str_of_a_customer_mask_phone_email_and_street(show: object) -> None:
    text = show(customer_with_personal_data())  # type: ignore[operator]
    assert "+86138****5678" in text
    assert "z***@example.com" in text
    for secret in ("13812345678", "zhang.wei", "世纪大道", "张伟"):
        assert secret not in text
    assert "上海" in text  # the city locates the customer only roughly


def test_the_attributes_still_hold_the_real_values() -> None:
    customer = customer_with_personal_data()
    assert customer.phone == "+8613812345678"
    assert customer.email == "zhang.wei@example.com"
    assert customer.address is not None
    assert customer.address.street == "世纪大道100号1201室"


def test_a_business_contact_person_is_masked_in_the_repr() -> None:
    assert "李明" not in repr(BusinessProfile(contact_person="李明", industry="零售"))


@pytest.mark.parametrize("phone", ["139876543210", "+0 139 8765 4321", "phone 13987654321"])
def test_a_refused_phone_is_not_repeated_in_full(phone: str) -> None:
    with pytest.raises(ValidationError, match=r"^Customer\.phone") as info:
        make_customer(phone=phone)
    digits = "".join(ch for ch in phone if ch.isdigit())
    assert digits not in str(info.value)
    assert "*" in str(info.value)
    assert digits not in repr(info.value.value)


@pytest.mark.parametrize("email", ["zhang.wei@example", "zhang wei@example.com", "zhang.wei@@x.cn"])
def test_a_refused_email_is_not_repeated_in_full(email: str) -> None:
    with pytest.raises(ValidationError, match=r"^Customer\.email") as info:
        make_customer(email=email)
    assert "zhang" not in str(info.value)
    assert "zhang" not in repr(info.value.value)


def test_a_refused_street_is_not_repeated_in_full() -> None:
    with pytest.raises(ValidationError, match=r"^Address\.street") as info:
        Address(street="世纪大道100号\x00")
    assert "世纪大道" not in str(info.value)


@pytest.mark.parametrize(
    ("name", "shown"),
    [("张伟", "张*"), ("欧阳修远", "欧阳**"), ("Alice Smith", "A**** S****")],
)
def test_a_customers_name_is_masked_in_repr_and_str(name: str, shown: str) -> None:
    # Issue 18: nothing unmasked in the repr of any domain type, names included.
    customer = make_customer(id="c1", name=name)
    for text in (repr(customer), str(customer)):
        assert name not in text
        assert f"name={shown!r}" in text
    assert customer.name == name  # the stored value is untouched


def test_the_display_name_masks_a_person_and_shows_a_business_whole() -> None:
    # The name printouts use (the demo, the customer overview, ticket lines).
    person = make_customer(id="c1", name="欧阳修远")
    assert person.display_name == "欧阳**"
    company = make_customer(
        id="c2", name="深圳金桥实业有限公司", kind=CustomerKind.BUSINESS,
        business=BusinessProfile(contact_person="李娜"),
    )  # fmt: skip
    assert company.display_name == "深圳金桥实业有限公司"
