"""Exact money: a Decimal amount in an ISO 4217 currency.

Floats are refused everywhere (``0.1 + 0.2`` is not ``0.3``), so are sums across
currencies: a host converts explicitly. In numpy, money travels as int64 *minor
units* (fen, cents; yen have none), which :meth:`Money.to_minor` and
:meth:`Money.from_minor` convert exactly.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import attrs

from custmgmt.domain._validate import check_decimal, field_name
from custmgmt.errors import ValidationError

__all__ = ["CURRENCY_DIGITS", "MajorAmount", "Money", "currency_digits", "format_money"]

# ISO 4217 active codes and the number of digits of their minor unit. Most have 2;
# these are the exceptions, listed so a lookup never guesses.
_ZERO_DIGITS = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_THREE_DIGITS = "BHD IQD JOD KWD LYD OMR TND"
_FOUR_DIGITS = "CLF UYW"
_TWO_DIGITS = (
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN "
    "BWP BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB "
    "EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS "
    "KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN "
    "MXV MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD "
    "SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS "
    "UAH USD USN UYU UZS VED VES WST XCD XCG YER ZAR ZMW ZWG"
)

#: Minor-unit digits per ISO 4217 currency code.
CURRENCY_DIGITS: dict[str, int] = {
    **dict.fromkeys(_TWO_DIGITS.split(), 2),
    **dict.fromkeys(_ZERO_DIGITS.split(), 0),
    **dict.fromkeys(_THREE_DIGITS.split(), 3),
    **dict.fromkeys(_FOUR_DIGITS.split(), 4),
}


def currency_digits(code: Any, field: str = "currency") -> int:
    """The number of minor-unit digits of an ISO 4217 currency code.

    Raises:
        ValidationError: the code is not a known ISO 4217 currency.
    """
    if not isinstance(code, str) or code not in CURRENCY_DIGITS:
        raise ValidationError(field, code, "an ISO 4217 currency code such as 'CNY' or 'USD'")
    return CURRENCY_DIGITS[code]


def _check_currency(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    currency_digits(value, field_name(instance, attribute))


def _number_form(point: str, separators: str) -> re.Pattern[str]:
    group = f"[{separators}]"
    return re.compile(
        r"(?P<sign>[+-])?"
        rf"(?P<int>\d+|\d{{1,3}}(?:(?P<sep>{group})\d{{3}})(?:(?P=sep)\d{{3}})*)?"
        rf"(?:{re.escape(point)}(?P<frac>\d*))?"
        r"(?P<exp>[eE][+-]?\d+)?"
    )


# decimal mark -> (the number's form, its group separators, an example for messages).
# parse() also insists on a digit, and on no exponent after group separators.
_NUMBER_FORMS: dict[str, tuple[re.Pattern[str], re.Pattern[str], str]] = {
    ".": (_number_form(".", ","), re.compile(","), "'1234.50' or '1,234.50'"),
    ",": (
        _number_form(",", ". \u00a0\u202f"),
        re.compile("[. \u00a0\u202f]"),
        "'1234,50' or '1.234,50'",
    ),
}
#: Longer texts are refused before parsing (an amount below 10^14 never needs them).
_MAX_NUMBER_LENGTH = 100


def _to_decimal(value: Any) -> Decimal:
    return check_decimal("Money.amount", value)


@attrs.frozen(order=False)
class Money:
    """An exact amount of money in one currency.

    >>> from decimal import Decimal
    >>> price = Money(Decimal("19.90"), "CNY")
    >>> price * 3
    Money(amount=Decimal('59.70'), currency='CNY')
    >>> price.to_minor()
    1990
    >>> Money.from_minor(1990, "CNY") == price
    True

    Args:
        amount: a ``Decimal`` (or ``int``); floats are refused.
        currency: an ISO 4217 code.
    """

    amount: Decimal = attrs.field(converter=_to_decimal)
    currency: str = attrs.field(validator=_check_currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        """Zero in ``currency``."""
        return cls(Decimal(0), currency)

    @classmethod
    def parse(cls, text: str, currency: str, *, decimal: str = ".") -> Money:
        """Parse a decimal string such as ``"1234.50"`` or ``"1,234.50"`` exactly.

        Thousands separators are accepted only where they belong: between groups of
        three digits of the integer part (``"1,234,567.50"``; not ``"12,50"``,
        ``"1,2,3"`` or ``",5,"``). A decimal comma is read only when asked for with
        ``decimal=","``; the thousands separator is then a dot or a space
        (``"1.234,50"``, ``"1 234,50"``). Exponents (``"1.5E+3"``) are accepted
        without separators. Surrounding spaces are ignored.

        >>> Money.parse("1,234.50", "CNY")
        Money(amount=Decimal('1234.50'), currency='CNY')
        >>> Money.parse("1.234,50", "EUR", decimal=",")
        Money(amount=Decimal('1234.50'), currency='EUR')
        >>> Money.parse("12,50", "EUR")
        Traceback (most recent call last):
        ...
        custmgmt.errors.ValidationError: Money.amount: got '12,50', expected a decimal \
string such as '1234.50' or '1,234.50' (a decimal comma needs decimal=',')

        Args:
            text: the amount as written.
            currency: an ISO 4217 code.
            decimal: the decimal mark, ``"."`` (the default) or ``","``.

        Raises:
            ValidationError: the text is not a decimal number written that way, or
                the amount is out of range (see :class:`Money`).
        """
        if not isinstance(decimal, str) or decimal not in _NUMBER_FORMS:
            raise ValidationError("decimal", decimal, "'.' or ','")
        form, groups, example = _NUMBER_FORMS[decimal]
        if not isinstance(text, str):
            raise ValidationError("Money.amount", text, f"a decimal string such as {example}")
        currency_digits(currency, "Money.currency")
        stripped = text.strip()
        match = form.fullmatch(stripped) if len(stripped) <= _MAX_NUMBER_LENGTH else None
        if match is not None:
            sign, whole, fraction, exponent = match.group("sign", "int", "frac", "exp")
            grouped = match.group("sep") is not None
            if not (whole or fraction) or (grouped and exponent):
                match = None
        if match is None:
            comma = decimal == "." and "," in text and "." not in text
            hint = " (a decimal comma needs decimal=',')" if comma else ""
            raise ValidationError("Money.amount", text, f"a decimal string such as {example}{hint}")
        normal = f"{sign or ''}{groups.sub('', whole or '') or '0'}"
        normal += f".{fraction}" if fraction else ""
        try:
            amount = check_decimal("Money.amount", Decimal(normal + (exponent or "")))
        except ValidationError as exc:
            raise ValidationError("Money.amount", text, exc.expected) from None
        return cls(amount, currency)

    @classmethod
    def from_minor(cls, minor: int, currency: str) -> Money:
        """Build from integer minor units (fen, cents), exactly.

        Raises:
            ValidationError: ``minor`` is not an integer or the currency is unknown.
        """
        digits = currency_digits(currency)
        if isinstance(minor, bool) or not isinstance(minor, int):
            # numpy integers are accepted through int(); floats are not.
            if type(minor).__name__.startswith(("int", "uint")) and hasattr(minor, "item"):
                minor = int(minor)
            else:
                raise ValidationError("Money.minor", minor, "an integer number of minor units")
        return cls(Decimal(minor).scaleb(-digits), currency)

    def to_minor(self) -> int:
        """The amount in integer minor units.

        Raises:
            ValidationError: the amount has more decimals than the currency allows
                (e.g. ``Decimal('0.001')`` CNY), so no exact conversion exists.
        """
        digits = CURRENCY_DIGITS[self.currency]
        scaled = self.amount.scaleb(digits)
        if scaled != scaled.to_integral_value():
            raise ValidationError(
                "Money.amount",
                self.amount,
                f"at most {digits} decimal places for {self.currency}",
            )
        return int(scaled)

    @property
    def is_zero(self) -> bool:
        """True when the amount is zero."""
        return self.amount == 0

    def _same_currency(self, other: Any, op: str) -> Money:
        if not isinstance(other, Money):
            raise ValidationError("Money", other, f"a Money to {op} (got {type(other).__name__})")
        if other.currency != self.currency:
            raise ValidationError(
                "Money.currency",
                other.currency,
                f"{self.currency} to {op} (convert currencies explicitly)",
            )
        return other

    def __add__(self, other: Money) -> Money:
        return Money(self.amount + self._same_currency(other, "add").amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money(self.amount - self._same_currency(other, "subtract").amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __mul__(self, factor: int | Decimal) -> Money:
        return Money(self.amount * check_decimal("factor", factor), self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        return self.amount < self._same_currency(other, "compare").amount

    def __le__(self, other: Money) -> bool:
        return self.amount <= self._same_currency(other, "compare").amount

    def __gt__(self, other: Money) -> bool:
        return self.amount > self._same_currency(other, "compare").amount

    def __ge__(self, other: Money) -> bool:
        return self.amount >= self._same_currency(other, "compare").amount

    def __str__(self) -> str:
        # "f": positional notation always (an amount parsed from "1.5E+3" is 1,500).
        return f"{self.amount:,f} {self.currency}"


class MajorAmount(float):
    """A float amount of money in major units that knows its currency.

    It is a ``float`` in every respect (arithmetic gives plain floats), except that the
    printouts that know it (explanations, notebook tables) show it at the currency's
    minor-unit digits with :func:`format_money` (KWD ``1.234``, JPY ``1,234``) where a
    plain float is shown as a number.

    >>> MajorAmount(1.234, "KWD") == 1.234, format_money(MajorAmount(1.234, "KWD"), "KWD")
    (True, '1.234')

    Raises:
        ValidationError: ``currency`` is not an ISO 4217 code.
    """

    __slots__ = ("currency",)
    currency: str

    def __new__(cls, value: float, currency: str) -> MajorAmount:
        currency_digits(currency)
        amount = super().__new__(cls, value)
        amount.currency = currency
        return amount


def format_money(value: float, currency: str) -> str:
    """An amount in major units at its currency's minor-unit digits, with thousands
    separators: exactly 3 decimals for KWD, none for JPY, 2 for CNY or USD.

    The amount is a float: one converted from fewer than 10**15 minor units is shown
    exactly (15 significant digits survive a double; beyond, the last digit may be off).
    NaN and infinities are the caller's to word (this gives ``nan`` and ``inf``).

    >>> format_money(1.234, "KWD"), format_money(1234.0, "JPY"), format_money(13.0, "CNY")
    ('1.234', '1,234', '13.00')

    Raises:
        ValidationError: ``currency`` is not an ISO 4217 code.
    """
    text = f"{float(value):,.{currency_digits(currency)}f}"
    # -0.0004 KWD rounds to "-0.000": no sign on a zero.
    return text[1:] if text.startswith("-") and not text.strip("-0.,") else text
