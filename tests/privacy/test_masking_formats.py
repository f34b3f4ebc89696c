"""Masking formats: property tests for each, and nothing unmasked in any repr."""

from __future__ import annotations

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import custmgmt.domain as domain_pkg
from custmgmt.domain import Address, BusinessProfile, SystemClock
from custmgmt.privacy import CLASSIFICATION, Sensitivity, classify, personal_fields
from custmgmt.privacy.masking import (
    COMPOUND_SURNAMES,
    country_code,
    id_number_check_digit,
    is_valid_id_number,
    mask_address,
    mask_email,
    mask_id_number,
    mask_name,
    mask_phone,
)
from custmgmt.testing import make_customer
from custmgmt.testing.ticket_contract import make_ticket
from custmgmt.tickets.ticket import Ticket, TicketEventRecord

digits = st.text(alphabet="0123456789", min_size=1, max_size=1)
han = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5)
single_surnames = st.sampled_from(list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"))


@given(st.sampled_from("3456789"), st.text(alphabet="0123456789", min_size=9, max_size=9),
       st.sampled_from(["", "+86", "86"]))
def test_mainland_mobiles_keep_the_first_three_and_last_four(
    second: str, rest: str, prefix: str
) -> None:
    number = "1" + second + rest
    masked = mask_phone(prefix + number)
    shown_prefix = "+86" if prefix else ""
    assert masked == f"{shown_prefix}{number[:3]}****{number[-4:]}"


@given(st.sampled_from(["1", "7", "44", "33", "49", "81", "852", "886", "971", "234"]),
       st.text(alphabet="0123456789", min_size=7, max_size=10))
def test_e164_numbers_keep_the_country_code_and_the_last_four(code: str, rest: str) -> None:
    number = "+" + code + rest
    if len(number) - 1 > 15 or number.startswith("+86"):
        return
    masked = mask_phone(number)
    assert country_code(number) == code
    assert masked == f"+{code}{'*' * (len(rest) - 4)}{rest[-4:]}"
    assert rest[:-4] not in masked.replace("*", "") or set(rest[:-4]) <= set(code + rest[-4:])


@given(st.from_regex(r"[a-z0-9._]{1,20}", fullmatch=True),
       st.from_regex(r"[a-z]{1,10}\.(com|cn|中国)", fullmatch=True))
def test_emails_show_one_character_and_the_domain(local: str, domain: str) -> None:
    masked = mask_email(f"{local}@{domain}")
    assert masked == f"{local[0] if len(local) > 1 else ''}***@{domain}"


@given(single_surnames, st.text(alphabet=han, min_size=1, max_size=2))
def test_chinese_names_keep_a_single_surname(surname: str, given_name: str) -> None:
    assert mask_name(surname + given_name) == surname + "*" * len(given_name)


@given(st.sampled_from(sorted(COMPOUND_SURNAMES)), st.text(alphabet=han, min_size=1, max_size=2))
def test_chinese_names_keep_a_compound_surname_whole(surname: str, given_name: str) -> None:
    assert mask_name(surname + given_name) == surname + "*" * len(given_name)


def test_names_in_other_scripts_keep_initials() -> None:
    assert mask_name("Alice Smith") == "A**** S****"
    assert mask_name("张伟") == "张*"
    assert mask_name("欧阳娜娜") == "欧阳**"
    assert mask_name("") == ""
    assert mask_name(None) == ""


@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_id_numbers_with_a_valid_check_digit_show_six_and_four(first17: str) -> None:
    number = first17 + id_number_check_digit(first17)
    assert is_valid_id_number(number)
    assert mask_id_number(number) == number[:6] + "*" * 8 + number[-4:]


@given(st.text(alphabet="0123456789", min_size=17, max_size=17), st.sampled_from("0123456789X"))
def test_id_numbers_with_a_wrong_check_digit_are_masked_as_text(first17: str, check: str) -> None:
    if check == id_number_check_digit(first17):
        return
    number = first17 + check
    assert not is_valid_id_number(number)
    masked = mask_id_number(number)
    assert masked == number[:2] + "******"


def test_a_published_id_number_checks_out() -> None:
    # The GB 11643-1999 standard's own example.
    assert is_valid_id_number("11010519491231002X")
    assert not is_valid_id_number("110105194912310021")
    assert not is_valid_id_number("1101051949123100")


@given(st.text(max_size=40))
def test_the_maskers_accept_any_text(text: str) -> None:
    for mask in (mask_phone, mask_email, mask_name, mask_id_number):
        assert isinstance(mask(text), str)


def test_addresses_are_shown_to_the_district() -> None:
    address = Address(country="CN", province="广东省", city="深圳市", district="南山区",
                      street="科技园路1号", postal_code="518057", recipient="李雷")
    shown = mask_address(address)
    assert shown == "CN 广东省 深圳市 南山区 ***"
    assert mask_address(None) == ""


def _attrs_types() -> list[type]:
    found = [getattr(domain_pkg, n) for n in domain_pkg.__all__]
    # Every attrs type of the domain holds data, but the clock, which holds a time zone.
    data = [t for t in found if isinstance(t, type) and attrs.has(t) and t is not SystemClock]
    return [*data, Ticket, TicketEventRecord]


@pytest.mark.parametrize("kind", _attrs_types(), ids=lambda t: t.__name__)
def test_every_field_of_every_domain_type_is_classified(kind: type) -> None:
    fields = {f.name for f in attrs.fields(kind)}
    assert set(CLASSIFICATION[kind.__name__]) == fields


def test_classification_lookups() -> None:
    assert classify("Customer", "email") is Sensitivity.CONTACT
    assert "name" in personal_fields("Customer")
    assert "id" not in personal_fields("Customer")
    with pytest.raises(ValueError, match="type_name"):
        classify("Nope", "x")
    with pytest.raises(ValueError, match=r"Customer\.nope"):
        classify("Customer", "nope")


def test_no_contact_value_shows_in_the_repr_of_any_type_holding_one() -> None:
    contact = {"phone": "13812345678", "email": "zhang.wei@example.com",
               "street": "世纪大道100号1201室", "recipient": "张伟伟",
               "contact_person": "李明明", "postal_code": "200120"}
    address = Address(city="上海", street=contact["street"], recipient=contact["recipient"],
                      postal_code=contact["postal_code"])
    subjects = [
        make_customer(phone=contact["phone"], email=contact["email"], address=address),
        address,
        BusinessProfile(contact_person=contact["contact_person"]),
    ]
    contact_types = {name for name, table in CLASSIFICATION.items()
                     if Sensitivity.CONTACT in table.values()}
    assert contact_types <= {type(s).__name__ for s in subjects}
    for subject in subjects:
        for show in (repr, str):
            text = show(subject)
            for secret in ("13812345678", "zhang.wei", "世纪大道", "张伟伟", "李明明"):
                assert secret not in text, (type(subject).__name__, secret)
    # Free text is not contact data, but a ticket's repr is checked to stay printable.
    assert "Ticket(" in repr(make_ticket())
