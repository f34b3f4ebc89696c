"""The single-value checks of :mod:`custmgmt.domain._validate`, over many values at once.

Columnar writes (a batch of orders, a rating run's results) check a whole column in a
few passes that run in C (one regular-expression search over the values joined, one
``map``), and look for the offending row only when a check fails, so that a column
is refused exactly when one of its values would be refused by the entity's own
validator, with the same kind of message naming the column and the row.
"""

from __future__ import annotations

import re
from typing import Any

from custmgmt.domain._validate import _CONTROL, _ID_REFUSED, ID_CHARACTERS, MAX_ID_LENGTH
from custmgmt.errors import ValidationError

__all__ = ["check_ids", "check_texts"]


def check_ids(items: list[Any], field: str, *, rows: list[int] | None = None) -> None:
    """Refuse any item that :func:`~custmgmt.domain._validate.check_id` refuses: not a
    non-blank text of at most :data:`MAX_ID_LENGTH` characters, or one holding a
    control character (tab and line breaks included) or a lone surrogate.

    Args:
        items: the ids.
        field: the column's name; errors name ``field[row]``.
        rows: the row of each item, when ``items`` is a selection (default: its index).

    Raises:
        ValidationError: naming the first offending row and its value.
    """
    _check(items, field, MAX_ID_LENGTH, rows, _ID_REFUSED, ID_CHARACTERS, " ")


def check_texts(
    items: list[Any], field: str, *, max_length: int, rows: list[int] | None = None
) -> None:
    """Refuse any item that is not non-blank text of at most ``max_length`` characters
    without control characters (what ``check_id`` and the ``text`` validator refuse)
    or that cannot be encoded (a lone surrogate, which no store can write).

    Args:
        items: the values.
        field: the column's name; errors name ``field[row]``.
        max_length: the longest text allowed.
        rows: the row of each item, when ``items`` is a selection (default: its index).

    Raises:
        ValidationError: naming the first offending row and its value.
    """
    # "\n" is not a control character here, so joining cannot create a match.
    _check(items, field, max_length, rows, _CONTROL, "text without control characters", "\n")


def _check(
    items: list[Any],
    field: str,
    max_length: int,
    rows: list[int] | None,
    refused: re.Pattern[str],
    expected: str,
    separator: str,
) -> None:
    """The checks of :func:`check_texts` and :func:`check_ids`: ``refused`` characters
    are looked for in the items joined by ``separator`` (which it must not match)."""

    def fail(k: int, expected: str) -> ValidationError:
        row = rows[k] if rows is not None else k
        return ValidationError(f"{field}[{row}]", items[k], expected)

    if not all(type(x) is str for x in items):  # the fast test; subclasses pass too
        bad = next((k for k, x in enumerate(items) if not isinstance(x, str)), None)
        if bad is not None:
            raise fail(bad, "a text")
    if not items:
        return
    if max(map(len, items)) > max_length:
        raise fail(next(k for k, x in enumerate(items) if len(x) > max_length),
                   f"at most {max_length} characters")  # fmt: skip
    if not all(map(str.strip, items)):
        raise fail(next(k for k, x in enumerate(items) if not x.strip()), "non-blank text")
    joined = separator.join(items)
    if refused.search(joined):
        raise fail(next(k for k, x in enumerate(items) if refused.search(x)),
                   expected)  # fmt: skip
    try:
        joined.encode("utf-8")
    except UnicodeEncodeError:
        raise fail(next(k for k, x in enumerate(items) if _unencodable(x)),
                   "text without lone surrogates") from None  # fmt: skip


def _unencodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
