"""Field validators and converters shared by the domain types.

Every check raises :class:`~custmgmt.errors.ValidationError` naming the field as
``Type.field``, the refused value and what was expected, so a caller who fed a bad row
knows exactly which column to fix. They are attrs validators (``instance, attribute,
value``) or field-aware converters, so the types stay declarative.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Callable, Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeGuard, TypeVar

import attrs

from custmgmt.errors import ValidationError

E = TypeVar("E", bound=enum.Enum)

#: Ids are opaque strings; the limit keeps indexes and logs sane.
MAX_ID_LENGTH = 128
MAX_TEXT_LENGTH = 20_000
#: Money amounts stay below this magnitude (see ``check_decimal``).
MAX_AMOUNT = Decimal(10) ** 14
#: ``MAX_AMOUNT``'s decimal exponent: ``abs(d) < MAX_AMOUNT`` iff ``d.adjusted() < 14``.
_MAX_AMOUNT_DIGITS = 14
#: The largest integer a counter (version, quantity, stars) may hold: SQLite's INTEGER
#: and numpy's int64 end here.
MAX_INT64 = 2**63 - 1

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Lone surrogates are not characters: no encoding (UTF-8 for SQLite, JSON, files)
# can write them, so text holding one would be accepted here and fail on storage.
_SURROGATE = re.compile(r"[\ud800-\udfff]")
# Both at once: valid text is scanned once.
_CONTROL_OR_SURROGATE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
#: What an id may not hold: every control character (Unicode category Cc: C0 with
#: tab, line feed and carriage return, DEL, C1) and lone surrogates. Free text keeps
#: tabs and line breaks (the ``text`` validator); an id is a key that is typed,
#: compared, printed on one line and written into CSV cells, where a tab pasted
#: from a spreadsheet or a trailing line break makes a second, invisible key.
_ID_REFUSED = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
#: What an error says an id with such a character should have been.
ID_CHARACTERS = (
    "an id without control characters (tab, line breaks, NUL, DEL, C1) or lone surrogates"
)


def field_name(instance: Any, attribute: attrs.Attribute[Any]) -> str:
    """``Type.field``: how every message names a field."""
    return f"{type(instance).__name__}.{attribute.name}"


def check_id(name: str, value: Any) -> str:
    """Validate an opaque identifier: a non-blank string of at most
    :data:`MAX_ID_LENGTH` characters, none of them a control character (tab and line
    breaks included: see :data:`_ID_REFUSED`) or a lone surrogate.

    Raises:
        ValidationError: naming ``name``; the refused id is shown by ``repr``, so its
            control characters appear escaped (``'a\\nb'``) in the message.
    """
    if not isinstance(value, str):
        raise ValidationError(name, value, "an id string")
    if not value.strip() or len(value) > MAX_ID_LENGTH:
        raise ValidationError(
            name, value, f"a non-blank id of at most {MAX_ID_LENGTH} printable characters"
        )
    if _ID_REFUSED.search(value):
        raise ValidationError(name, value, ID_CHARACTERS)
    return value


def check_unicode(name: str, value: str, shown: Any = None) -> str:
    """Refuse text holding lone surrogates (``"\\ud800"``), which nothing can encode.

    Args:
        name: the field, for the error.
        value: the text.
        shown: what the error shows instead of ``value`` (a masked form), if given.
    """
    if _SURROGATE.search(value):
        raise ValidationError(
            name, value if shown is None else shown, "valid Unicode text (no lone surrogates)"
        )
    return value


def check_count(name: str, value: Any, *, minimum: int = 0, expected: str | None = None) -> int:
    """An int (not a bool) from ``minimum`` to :data:`MAX_INT64`, as storage can hold it.

    Raises:
        ValidationError: naming ``name``, with ``expected`` (or a default wording).
    """
    if (
        not isinstance(value, int)
        or isinstance(value, bool)
        or not minimum <= value <= MAX_INT64
    ):
        raise ValidationError(
            name, value, expected or f"an integer from {minimum} to 2**63 - 1"
        )
    return value


def count_up_to(most: int, *, what: str = "an integer") -> Any:
    """attrs validator: an int (not a bool) from 1 to ``most``, refused as
    "``what`` from 1 to ``most``" (a span of days, months, occurrences)."""
    expected = f"{what} from 1 to {most:,}"

    def check(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        name = field_name(instance, attribute)
        check_count(name, value, minimum=1, expected=expected)
        if value > most:
            raise ValidationError(name, value, expected)

    return check


def an_id(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """attrs validator for a required id."""
    check_id(field_name(instance, attribute), value)


def optional_id(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """attrs validator for an id that may be None."""
    if value is not None:
        check_id(field_name(instance, attribute), value)


def text(
    *,
    optional: bool = False,
    max_length: int = MAX_TEXT_LENGTH,
    blank_ok: bool = False,
    mask: Callable[[str], str] | None = None,
) -> Callable[[Any, attrs.Attribute[Any], Any], None]:
    """attrs validator for free text (any script; control characters refused).

    Args:
        optional: None is accepted.
        max_length: the longest text accepted.
        blank_ok: empty or all-space text is accepted.
        mask: for personal data, how errors show a refused text (e.g.
            :func:`custmgmt.domain.masking.mask_text`); by default they show it as is.
    """

    def validate(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is None and optional:
            return
        name = field_name(instance, attribute)
        if not isinstance(value, str):
            raise ValidationError(name, value, "a string" + (" or None" if optional else ""))
        shown = value if mask is None else mask(value)
        if not blank_ok and not value.strip():
            raise ValidationError(name, shown, "non-blank text")
        if len(value) > max_length:
            raise ValidationError(name, shown, f"at most {max_length} characters")
        if _CONTROL_OR_SURROGATE.search(value):
            if _CONTROL.search(value):
                raise ValidationError(name, shown, "text without control characters")
            check_unicode(name, value, shown)

    return validate


def aware_datetime(*, optional: bool = False) -> Callable[[Any, attrs.Attribute[Any], Any], None]:
    """attrs validator: a timezone-aware datetime (naive ones are ambiguous)."""

    def validate(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is None and optional:
            return
        check_aware(field_name(instance, attribute), value)

    return validate


def check_aware(name: str, value: Any) -> datetime:
    """Refuse anything but a timezone-aware datetime."""
    if not isinstance(value, datetime):
        raise ValidationError(name, value, "a timezone-aware datetime")
    offset = None if value.tzinfo is None else value.tzinfo.utcoffset(value)
    if offset is None:
        raise ValidationError(
            name, value, "a timezone-aware datetime (naive datetimes are ambiguous)"
        )
    if offset.microseconds:
        # Stores keep an offset in whole seconds (SQLite and PostgreSQL refused these
        # only when saving, after the memory store had taken them).
        raise ValidationError(name, value, "a datetime whose UTC offset is whole seconds")
    try:
        # The instant in UTC must be a datetime too: 0001-01-01T05:00+14:00 is in year 0
        # and 9999-12-31T23:00-12:00 in year 10000, which no later step can convert.
        value.replace(tzinfo=None) - offset
    except OverflowError:
        raise ValidationError(
            name, value, "a time whose UTC instant is in the years 1..9999"
        ) from None
    return value


def optional_date(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """attrs validator: a calendar date (not a datetime) or None."""
    if value is None:
        return
    if not isinstance(value, date) or isinstance(value, datetime):
        raise ValidationError(field_name(instance, attribute), value, "a date or None")


def version(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """attrs validator: a positive integer version (below 2**63, as storage holds it)."""
    check_count(
        field_name(instance, attribute), value, minimum=1,
        expected="an integer version from 1 to 2**63 - 1",
    )


def instance_of(
    cls: type[Any] | tuple[type[Any], ...], expected: str, *, optional: bool = False
) -> Callable[[Any, attrs.Attribute[Any], Any], None]:
    """attrs validator: an instance of ``cls``, with a readable expectation."""

    def validate(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is None and optional:
            return
        if not isinstance(value, cls) or (isinstance(value, bool) and bool not in _as_tuple(cls)):
            raise ValidationError(field_name(instance, attribute), value, expected)

    return validate


def _as_tuple(cls: type[Any] | tuple[type[Any], ...]) -> tuple[type[Any], ...]:
    return cls if isinstance(cls, tuple) else (cls,)


def coerce_enum(enum_type: type[E], value: Any, name: str) -> E:
    """``value`` as a member of ``enum_type`` (a member or its value is accepted).

    Raises:
        ValidationError: naming ``name`` and the allowed values.
    """
    if isinstance(value, enum_type):
        return value
    try:
        return enum_type(value)
    except (ValueError, TypeError):
        choices = ", ".join(repr(m.value) for m in enum_type)
        raise ValidationError(name, value, f"one of {choices}") from None


def text_set(value: Any, name: str) -> frozenset[str]:
    """Any iterable of non-blank strings as a frozenset (tags, labels).

    Raises:
        ValidationError: naming ``name``, for a non-iterable or a bad item.
    """
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValidationError(name, value, "an iterable of strings (e.g. a set of tags)")
    items = list(value)
    for item in items:
        if not isinstance(item, str) or not item.strip() or len(item) > 200:
            raise ValidationError(name, item, "non-blank strings of at most 200 characters")
        if _CONTROL.search(item):
            raise ValidationError(name, item, "strings without control characters")
        check_unicode(name, item)
    return frozenset(items)


def check_decimal(name: str, value: Any) -> Decimal:
    """Accept a finite Decimal or int (exact); refuse floats, which are not exact."""
    if isinstance(value, bool):
        raise ValidationError(name, value, "a Decimal or int amount")
    if isinstance(value, float):
        raise ValidationError(
            name, value, "a Decimal or int amount (floats are not exact: use Decimal('12.30'))"
        )
    bound = "an amount below 10^14 in magnitude with at most 12 decimals"
    if isinstance(value, int):
        if abs(value) >= MAX_AMOUNT:  # before Decimal(): an int may be too long to convert
            raise ValidationError(name, value, bound)
        value = Decimal(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValidationError(name, value, "a finite Decimal amount")
        # Bounded so that minor units fit int64 for every currency (4 digits at most)
        # and arithmetic never overflows the decimal context. adjusted() needs no
        # context, so a huge exponent (1e1000000) cannot raise decimal.Overflow here.
        if not value.is_zero() and (
            value.adjusted() >= _MAX_AMOUNT_DIGITS or value.as_tuple().exponent < -12  # type: ignore[operator]
        ):
            raise ValidationError(name, value, bound)
        return value
    if isinstance(value, str):
        raise ValidationError(name, value, "a Decimal amount (use Money.parse for strings)")
    raise ValidationError(name, value, "a Decimal or int amount")


def is_finite_number(value: Any) -> TypeGuard[int | float]:
    """True for a real int or float (bools excluded) that is finite as a float.

    An int beyond the float range (``10**400``) is not: every computation reads
    numbers as float64, and ``math.isfinite`` itself raises OverflowError on it.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False
