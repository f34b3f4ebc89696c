"""Masking personal data for reprs, error messages, logs and printouts.

Phone numbers, email addresses and free text that identifies a person (a street, a
recipient's name) are shown masked wherever custmgmt prints a value for people to
read: the ``repr()`` and ``str()`` of the domain types, the messages of
:class:`~custmgmt.errors.ValidationError`, the demo's printout. The stored values are
never changed; masking is for display only.

>>> mask_phone("13812341234")
'138****1234'
>>> mask_phone("+8613812341234")
'+86138****1234'
>>> mask_phone("+44 20 7946 0958")
'+442*****0958'
>>> mask_email("alice@example.com")
'a***@example.com'
>>> mask_text("浦东新区世纪大道100号")
'浦东******'

The functions accept any string, valid or not (a refused phone number is masked in
its error message too), and never return more than a few characters of the original.
"""

from __future__ import annotations

import re

__all__ = [
    "COMPOUND_SURNAMES",
    "hide_text",
    "mask_email",
    "mask_name",
    "mask_phone",
    "mask_text",
]

#: The character that replaces hidden characters.
MASK = "*"

#: Two-character Chinese surnames (复姓): the whole surname stays readable.
_COMPOUND_TEXT = (
    "欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 令狐 夏侯 轩辕 端木 独孤 "
    "南宫 西门 申屠 闻人 濮阳 澹台 公冶 太叔 赫连 钟离 万俟 呼延 拓跋 百里 东郭 左丘 "
    "第五 司空 单于 仲孙 东门 梁丘 羊舌 微生 公羊 夹谷 宰父 谷梁 段干 漆雕 壤驷 乐正 "
    "巫马 公良 公西 亓官 司寇 颛孙 子车 鲜于 闾丘 即墨"
)
COMPOUND_SURNAMES: frozenset[str] = frozenset(_COMPOUND_TEXT.split())
_HAN = re.compile(r"^[\u3400-\u9fff\uf900-\ufaff·]+$")

# What people write between the digits of a phone number.
_PHONE_SEPARATORS = re.compile(r"[\s\-().]")
# Mainland-China mobile numbers, with or without the +86 country code.
_CN_MOBILE = re.compile(r"^(\+?86)?(1[3-9]\d{9})$")
# Hidden runs are written with at most this many mask characters, so a long text never
# turns into a long line of stars (and the length of the original is not shown).
_MAX_STARS = 6
# Phone numbers have at most 15 digits (E.164): beyond that it is not a number anyway.
_MAX_PHONE_STARS = 12


def _stars(count: int) -> str:
    return MASK * max(1, min(count, _MAX_STARS))


def mask_phone(value: str | None) -> str:
    """A phone number with all but its first and last digits hidden.

    Mainland-China mobile numbers keep their first three and last four digits
    (``138****1234``, the usual Chinese form), after a ``+86`` if it was written.
    Other numbers keep the ``+``, at most three leading digits (the country code and
    not much more) and the last four digits; short numbers keep less, so that at
    least half of the digits are always hidden. Separators (spaces, dashes, dots,
    brackets) are dropped; a long text is shortened.

    >>> mask_phone("138 1234 5678")
    '138****5678'
    >>> mask_phone("+1 (202) 555-0123")
    '+120****0123'
    >>> mask_phone("12345")
    '1***5'

    Args:
        value: the number as written (valid or not); ``None`` gives ``""``.

    Returns:
        The masked text.
    """
    if value is None:
        return ""
    compact = _PHONE_SEPARATORS.sub("", str(value))
    china = _CN_MOBILE.match(compact)
    if china is not None:
        prefix = china.group(1) or ""
        if prefix and not prefix.startswith("+"):
            prefix = "+" + prefix
        mobile = china.group(2)
        return f"{prefix}{mobile[:3]}{MASK * 4}{mobile[-4:]}"
    plus = "+" if compact.startswith("+") else ""
    body = compact[len(plus) :]
    n = len(body)
    if n > 8:
        head, tail = min(3, n - 8), 4
    else:
        head = tail = n // 4
    hidden = n - head - tail
    stars = MASK * min(hidden, _MAX_PHONE_STARS)
    return f"{plus}{body[:head]}{stars}{body[n - tail :] if tail else ''}"


def mask_email(value: str | None) -> str:
    """An email address with its local part hidden but for the first character.

    The domain stays readable (``a***@example.com``): it tells a reader which
    provider or company is involved without identifying the person. Text without an
    ``@`` is masked as plain text.

    >>> mask_email("zhang.wei@example.cn")
    'z***@example.cn'
    >>> mask_email("not an email")
    'no******'

    Args:
        value: the address as written (valid or not); ``None`` gives ``""``.

    Returns:
        The masked text.
    """
    if value is None:
        return ""
    text = str(value)
    local, at, domain = text.rpartition("@")
    if not at:
        return mask_text(text)
    shown = local[:1] if len(local) > 1 else ""
    return f"{shown}{MASK * 3}@{domain}"


def mask_text(value: str | None, *, keep: int = 2) -> str:
    """Free text (a street, a name) with all but its first characters hidden.

    At most ``keep`` leading characters stay readable, and never more than a third
    of the text; the rest becomes at most six mask characters, so the length of the
    original does not show either.

    >>> mask_text("张伟")
    '张*'
    >>> mask_text("Flat 3, 221B Baker Street", keep=4)
    'Flat******'

    Args:
        value: the text; ``None`` gives ``""``.
        keep: how many leading characters may stay readable.

    Returns:
        The masked text.
    """
    if value is None:
        return ""
    text = str(value).strip()
    if not text:
        return ""
    shown = min(max(keep, 0), len(text) // 3 if len(text) >= 3 else len(text) // 2)
    return text[:shown] + _stars(len(text) - shown)


def hide_text(value: str | None) -> str:
    """Free text the customer or an agent wrote (a note, a review, a complaint, a
    message), shown as its length only: such text often opens with a name or holds a
    phone number, and no prefix of it is safe to show.

    >>> hide_text("王芳 13912345678 催发货")
    '<18 characters>'
    >>> hide_text(None)
    'None'
    """
    return "None" if value is None else f"<{len(value)} characters>"


def mask_name(value: str | None) -> str:
    """A person's name with only its surname (or initials) readable.

    Chinese names keep the surname, a compound one (欧阳, 司马 ...) whole, and hide
    each character of the given name: ``张*``, ``张**``, ``欧阳**``. Names in other
    scripts keep the first letter of each word (``A**** S****``).

    >>> mask_name("司马相如")
    '司马**'
    """
    if value is None:
        return ""
    text = str(value).strip()
    if not text:
        return ""
    if _HAN.fullmatch(text):
        surname = text[:2] if text[:2] in COMPOUND_SURNAMES and len(text) > 2 else text[:1]
        given = max(1, len(text) - len(surname))
        return surname + MASK * min(given, 4)
    words = text.split()[:4]
    return " ".join(w[:1] + MASK * max(1, min(len(w) - 1, 6)) for w in words)
