"""Masking for display and logs: names, phone numbers, emails, addresses, ID numbers.

Builds on :mod:`custmgmt.domain.masking` (which the domain types' reprs use) with the
formats a privacy officer asks for:

>>> mask_phone("13812341234")
'138****1234'
>>> mask_phone("+447946000958")
'+44******0958'
>>> mask_email("alice@example.com")
'a***@example.com'
>>> mask_name("张伟"), mask_name("欧阳娜娜"), mask_name("Alice Smith")
('张*', '欧阳**', 'A**** S****')
>>> mask_id_number("11010519491231002X")
'110105********002X'

Every function accepts any text, valid or not, and never raises on it: a value that
is not what the function expects is masked as plain text.
"""

from __future__ import annotations

import re

from custmgmt.domain.customer import Address
from custmgmt.domain.masking import COMPOUND_SURNAMES, MASK, mask_email, mask_name, mask_text
from custmgmt.domain.masking import mask_phone as _mask_domestic

__all__ = [
    "COMPOUND_SURNAMES",
    "country_code",
    "id_number_check_digit",
    "is_valid_id_number",
    "mask_address",
    "mask_email",
    "mask_id_number",
    "mask_name",
    "mask_phone",
    "mask_text",
]


# ITU-T E.164 country codes: 1 and 7 are one digit; these two-digit codes are assigned;
# every other code is three digits.
_ONE_DIGIT_CODES = frozenset("17")
_TWO_DIGIT_TEXT = (
    "20 27 30 31 32 33 34 36 39 40 41 43 44 45 46 47 48 49 51 52 53 54 55 56 57 58 "
    "60 61 62 63 64 65 66 81 82 84 86 90 91 92 93 94 95 98"
)
_TWO_DIGIT_CODES = frozenset(_TWO_DIGIT_TEXT.split())
_SEPARATORS = re.compile(r"[\s\-().]")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_CN_MOBILE = re.compile(r"^(\+?86)?1[3-9]\d{9}$")
_ID_NUMBER = re.compile(r"^\d{17}[\dXx]$")
# GB 11643-1999: weights 2^(17-i) mod 11 for the first 17 digits; the check character
# is "10X98765432"[sum mod 11].
_ID_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
_ID_CHECK = "10X98765432"


def country_code(e164: str) -> str:
    """The country calling code of an E.164 number (``"+447946000958"`` gives ``"44"``)."""
    digits = e164.lstrip("+")
    if digits[:1] in _ONE_DIGIT_CODES:
        return digits[:1]
    if digits[:2] in _TWO_DIGIT_CODES:
        return digits[:2]
    return digits[:3]


def mask_phone(value: str | None) -> str:
    """A phone number masked for display.

    Mainland-China mobiles keep the first three and the last four digits
    (``138****1234``, after ``+86`` if written); other E.164 numbers keep ``+``, the
    country code and the last four digits (``+44******0958``); anything else is
    masked by :func:`custmgmt.domain.masking.mask_phone`.

    >>> mask_phone("+86 138 1234 5678")
    '+86138****5678'
    >>> mask_phone("+12025550123")
    '+1******0123'
    """
    if value is None:
        return ""
    compact = _SEPARATORS.sub("", str(value))
    if _CN_MOBILE.fullmatch(compact) or not _E164.fullmatch(compact):
        return _mask_domestic(value)
    code = country_code(compact)
    rest = compact[1 + len(code) :]
    return f"+{code}{MASK * (len(rest) - 4)}{rest[-4:]}"


def id_number_check_digit(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits of a resident ID number.

    >>> id_number_check_digit("11010519491231002")
    'X'
    """
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def is_valid_id_number(value: str) -> bool:
    """Whether ``value`` is an 18-character resident ID number with a valid check digit."""
    if not isinstance(value, str) or not _ID_NUMBER.fullmatch(value):
        return False
    return id_number_check_digit(value[:17]) == value[17].upper()


def mask_id_number(value: str | None) -> str:
    """A resident ID number showing its first 6 (the region) and its last 4 characters.

    Only an 18-character number with a valid GB 11643 check digit is shown that way;
    anything else (a typo, a forged number) is masked as text, so a mistyped number
    reveals no more than a valid one.

    >>> mask_id_number("110105194912310021")   # check digit wrong: masked as text
    '11******'
    """
    if value is None:
        return ""
    text = str(value).strip()
    if is_valid_id_number(text):
        return f"{text[:6]}{MASK * 8}{text[-4:]}"
    return mask_text(text, keep=2)


def mask_address(address: Address | None) -> str:
    """An address down to its district: the street, postal code and recipient are hidden.

    >>> mask_address(Address(country="CN", province="上海市", city="上海市",
    ...                      district="浦东新区", street="世纪大道100号"))
    'CN 上海市 上海市 浦东新区 ***'
    """
    if address is None:
        return ""
    parts = [p for p in (address.country, address.province, address.city, address.district) if p]
    if address.street or address.postal_code or address.recipient:
        parts.append(MASK * 3)
    return " ".join(parts)
