from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from custmgmt.domain import (
    Address,
    BusinessProfile,
    Consent,
    ContactChannel,
    Customer,
    CustomerKind,
    Gender,
    normalise_phone,
)
from custmgmt.errors import ValidationError
from custmgmt.testing import make_customer

T0 = datetime(2025, 3, 1, 10, 0, tzinfo=timezone(timedelta(hours=8)))


def test_a_chinese_profile_keeps_every_character() -> None:
    customer = make_customer(
        name="欧阳娜娜",
        address=Address(
            country="CN", province="浙江省", city="杭州市", street="西湖区文三路 90 号"
        ),
    )
    assert customer.name == "欧阳娜娜"
    assert customer.address is not None
    assert customer.address.street == "西湖区文三路 90 号"


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("+86 138 0013 8000", "+8613800138000"),
        ("138-0013-8000", "13800138000"),
        ("+1 (212) 555-0100", "+12125550100"),
    ],
)
def test_phone_numbers_are_normalised(raw: str, normalised: str) -> None:
    assert normalise_phone(raw) == normalised


@pytest.mark.parametrize(
    "bad", ["12345", "+0123456789", "2380013800", "phone", "+86 138 0013 80001234"]
)
def test_malformed_phones_are_refused_naming_the_field(bad: str) -> None:
    with pytest.raises(ValidationError, match=r"^Customer\.phone"):
        make_customer(phone=bad)


@pytest.mark.parametrize("bad", ["no-at-sign", "a@b", "a@@b.com", "a b@c.com", "@x.com"])
def test_malformed_emails_are_refused(bad: str) -> None:
    with pytest.raises(ValidationError, match=r"Customer\.email"):
        make_customer(email=bad)


def test_naive_registration_time_is_refused() -> None:
    with pytest.raises(ValidationError, match="naive datetimes are ambiguous"):
        make_customer(registered_at=datetime(2025, 1, 1))


@pytest.mark.parametrize("bad", ["", "   "])
def test_blank_names_are_refused(bad: str) -> None:
    with pytest.raises(ValidationError, match=r"Customer\.name"):
        make_customer(name=bad)


def test_consent_defaults_to_nothing_and_is_recorded_per_channel() -> None:
    customer = make_customer(registered_at=T0)
    assert not any(customer.may_contact(ch) for ch in ContactChannel)
    changed = customer.with_consent("sms", True, at=T0 + timedelta(days=1))
    assert changed.may_contact(ContactChannel.SMS)
    assert not changed.may_contact(ContactChannel.EMAIL)
    assert changed.consent.updated_at == T0 + timedelta(days=1)
    assert changed.version == customer.version + 1


def test_update_profile_is_one_change_however_many_fields() -> None:
    customer = make_customer(registered_at=T0)
    changed = customer.update_profile(
        at=T0 + timedelta(hours=1), occupation="教师", gender="female", region="华南"
    )
    assert (changed.occupation, changed.gender, changed.region) == ("教师", Gender.FEMALE, "华南")
    assert changed.version == customer.version + 1
    assert changed.updated_at == T0 + timedelta(hours=1)
    assert customer.occupation is None  # the original is untouched


@pytest.mark.parametrize("field", ["id", "version", "registered_at", "nickname"])
def test_update_profile_refuses_fixed_and_unknown_fields(field: str) -> None:
    with pytest.raises(ValidationError, match=f"Customer.{field}"):
        make_customer().update_profile(at=T0, **{field: "x"})


def test_age_counts_whole_years() -> None:
    customer = make_customer(birth_date=date(1990, 6, 15))
    assert customer.age(date(2025, 6, 14)) == 34
    assert customer.age(date(2025, 6, 15)) == 35
    assert make_customer().age(date(2025, 1, 1)) is None


def test_business_details_belong_to_business_customers_only() -> None:
    profile = BusinessProfile(industry="零售", employees=120, situation="正在扩张")
    business = make_customer(kind="business", name="杭州茶语有限公司", business=profile)
    assert business.kind is CustomerKind.BUSINESS
    with pytest.raises(ValidationError, match=r"Customer\.business"):
        make_customer(business=profile)


def test_tags_accept_any_iterable_and_refuse_blank_tags() -> None:
    assert make_customer(tags=["vip", "批发"]).tags == frozenset({"vip", "批发"})
    with pytest.raises(ValidationError, match=r"Customer\.tags"):
        make_customer(tags=["ok", " "])


def test_updated_at_cannot_precede_registration() -> None:
    with pytest.raises(ValidationError, match=r"Customer\.updated_at"):
        Customer(id="c", name="n", registered_at=T0, updated_at=T0 - timedelta(seconds=1))


def test_address_needs_at_least_one_field() -> None:
    with pytest.raises(ValidationError, match="at least one address field"):
        Address()


def test_unknown_kind_lists_the_choices() -> None:
    with pytest.raises(ValidationError, match="'person', 'business'"):
        make_customer(kind="robot")


def test_utc_and_offset_times_are_both_accepted() -> None:
    assert make_customer(registered_at=datetime(2025, 1, 1, tzinfo=UTC)).registered_at.tzinfo is UTC


@pytest.mark.parametrize("tags", [None, 5, "vip"])
@pytest.mark.parametrize("argument", ["add", "remove"])
def test_with_tags_refuses_anything_but_an_iterable_of_tags(argument: str, tags: object) -> None:
    customer = make_customer()
    with pytest.raises(ValidationError, match=rf"^Customer\.tags\.{argument}: got"):
        customer.with_tags(at=customer.updated_at, **{argument: tags})  # type: ignore[arg-type]


def test_with_tags_adds_and_removes_in_one_change() -> None:
    customer = make_customer(tags={"a", "b"})
    changed = customer.with_tags(at=customer.updated_at, add=["c"], remove={"a"})
    assert changed.tags == {"b", "c"}
    assert changed.version == customer.version + 1


@pytest.mark.parametrize("channel", [None, "fax", 3])
def test_consent_allows_names_a_bad_channel(channel: object) -> None:
    with pytest.raises(ValidationError, match=r"^channel: got .*'email', 'sms', 'social'"):
        Consent().allows(channel)  # type: ignore[arg-type]


def test_consent_allows_takes_a_channel_or_its_value() -> None:
    consent = Consent(sms=True)
    assert consent.allows("sms")
    assert consent.allows(ContactChannel.SMS)
    assert not consent.allows("email")


@pytest.mark.parametrize(
    "changes",
    [
        {"name": "张\ud800"},
        {"id": "c\udfff"},
        {"region": "\udc80华东"},
        {"tags": {"vip\ud83d"}},
        {"email": "a\ud800@example.com"},
    ],
)
def test_lone_surrogates_are_refused_in_every_text_field(changes: dict[str, object]) -> None:
    (field,) = changes
    with pytest.raises(ValidationError, match=rf"^Customer\.{field}"):
        make_customer(**changes)


def test_lone_surrogates_are_refused_in_an_address() -> None:
    with pytest.raises(ValidationError, match=r"^Address\.street.*lone surrogates"):
        Address(street="路\ud800")


@pytest.mark.parametrize("field", ["version"])
def test_integers_beyond_int64_are_refused_at_construction(field: str) -> None:
    make_customer(**{field: 2**63 - 1})
    with pytest.raises(ValidationError, match=rf"^Customer\.{field}: got 9223372036854775808"):
        make_customer(**{field: 2**63})


def test_a_head_count_beyond_int64_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"^BusinessProfile\.employees"):
        BusinessProfile(employees=2**63)
