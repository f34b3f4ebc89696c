"""The check of a frozen type's tuple-of-items attribute, shared by the capabilities'
tables (a pipeline's stages and moves, a ticket workflow's states and transitions).

A string is refused although it is iterable: it is never a table of rows, and taking
it apart character by character would hide the caller's mistake.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from custmgmt.errors import ValidationError

__all__ = ["tuple_of"]

T = TypeVar("T")


def tuple_of(field: str, value: Any, item_type: type[T]) -> tuple[T, ...]:
    """``value`` as a tuple, every item an ``item_type``.

    Raises:
        ValidationError: ``value`` is a string or not iterable (naming ``field``), or
            an item is not an ``item_type`` (naming ``field[i]``).
    """
    name = item_type.__name__
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValidationError(field, value, f"an iterable of {name}")
    items = tuple(value)
    for i, item in enumerate(items):
        if not isinstance(item, item_type):
            raise ValidationError(f"{field}[{i}]", item, f"a {name}")
    return items
