"""IANA time zones by name, checked (shared by the campaign and follow-up packages)."""

from __future__ import annotations

import zoneinfo
from datetime import tzinfo
from functools import lru_cache

from custmgmt.errors import ValidationError

__all__ = ["zone"]


@lru_cache(maxsize=256)
def _load(name: str) -> tzinfo:
    return zoneinfo.ZoneInfo(name)


def zone(name: object, field: str = "timezone") -> tzinfo:
    """The time zone called ``name`` (``"Asia/Shanghai"``).

    Raises:
        ValidationError: not a string, a path rather than a name, or no such zone.
    """
    if not isinstance(name, str) or not name.strip():
        raise ValidationError(field, name, "an IANA time zone name")
    if name.startswith(("/", ".", ":", "~")) or ".." in name or "\x00" in name or "\\" in name:
        raise ValidationError(field, name, "an IANA time zone name, not a path")
    try:
        return _load(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise ValidationError(field, name, "a known IANA time zone name") from None
