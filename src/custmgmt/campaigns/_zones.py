"""IANA time zones by name, checked (shared by the campaign and follow-up packages)."""

from __future__ import annotations

from datetime import tzinfo

from custmgmt.domain.time import iana_zone

__all__ = ["zone"]


def zone(name: object, field: str = "timezone") -> tzinfo:
    """The time zone called ``name`` (``"Asia/Shanghai"``): see
    :func:`custmgmt.domain.time.iana_zone`.

    Raises:
        ValidationError: not a string, a host-only name (``localtime``), a path, or no
            such zone.
    """
    return iana_zone(name, field)
