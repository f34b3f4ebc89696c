"""Time: the injected clock and helpers for timezone-aware datetimes.

Nothing in custmgmt asks the operating system for "now": computations take an
explicit ``as_of`` or a :class:`Clock`, so every result is reproducible and tests can
freeze time (see :class:`custmgmt.testing.FixedClock`).
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, Protocol, runtime_checkable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import attrs

from custmgmt.domain._validate import check_aware
from custmgmt.errors import ValidationError

__all__ = [
    "EPOCH",
    "Clock",
    "SystemClock",
    "from_epoch_micros",
    "iana_zone",
    "require_aware",
    "to_epoch_micros",
]

#: Files of a zone database that are the host's configuration, not IANA zones: the
#: same name is another zone on another machine (``localtime`` is the host's own zone,
#: ``posixrules`` its default DST rules; ``posix/`` and ``right/`` are copies, the
#: latter counting leap seconds, that only some hosts have).
HOST_ZONE_NAMES = frozenset({"localtime", "posixrules"})
_HOST_ZONE_PREFIXES = ("posix/", "right/")
_ZONE_EXPECTED = "an IANA time zone name, the same zone on every machine (e.g. 'Asia/Shanghai')"


@functools.lru_cache(maxsize=1)
def _iana_zone_names() -> frozenset[str]:
    """The zone names of the IANA database installed (system or ``tzdata``), spelt
    exactly (a case-insensitive file system would also open ``asia/shanghai``)."""
    return frozenset(available_timezones()) - HOST_ZONE_NAMES


@functools.lru_cache(maxsize=256)
def _load_zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def iana_zone(name: object, field: str = "timezone") -> ZoneInfo:
    """The IANA time zone called ``name`` (``"Asia/Shanghai"``), never the host's
    ``localtime``, a host-only copy (``posix/...``, ``right/...``) or a path.

    Whatever reads a zone name (a schedule, a campaign's quiet hours, the times of an
    input file) must mean the same zone on every machine that reads it.

    Raises:
        ValidationError: naming ``field`` and the value.
    """
    if (
        not isinstance(name, str)
        or name.startswith(_HOST_ZONE_PREFIXES)
        or name not in _iana_zone_names()
    ):
        raise ValidationError(field, name, _ZONE_EXPECTED)
    try:
        return _load_zone(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValidationError(field, name, _ZONE_EXPECTED) from None


#: The Unix epoch, the origin of the int64 microsecond timestamps used in numpy.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@runtime_checkable
class Clock(Protocol):
    """A source of the current time."""

    def now(self) -> datetime:
        """The current time, timezone-aware."""
        ...


@attrs.frozen
class SystemClock:
    """The real clock, in ``tz`` (UTC by default)."""

    tz: tzinfo = UTC

    def now(self) -> datetime:
        """The operating system's current time in ``tz``."""
        return datetime.now(self.tz)


def require_aware(field: str, value: Any) -> datetime:
    """Return ``value`` if it is a timezone-aware datetime.

    Raises:
        ValidationError: naming ``field``, for anything else (naive datetimes included).
    """
    return check_aware(field, value)


def to_epoch_micros(value: datetime) -> int:
    """Microseconds since the Unix epoch (UTC) of an aware datetime, exactly.

    Raises:
        ValidationError: ``value`` is not a timezone-aware datetime.
    """
    try:
        delta = value - EPOCH
    except TypeError:  # a naive datetime, or no datetime at all
        raise ValidationError("datetime", value, "a timezone-aware datetime") from None
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_epoch_micros(micros: int, tz: tzinfo = UTC) -> datetime:
    """The aware datetime ``micros`` microseconds after the epoch, shown in ``tz``.

    Raises:
        ValidationError: the instant is not a datetime in UTC and in ``tz`` (the
            years 1..9999).
    """
    try:
        return (EPOCH + timedelta(microseconds=int(micros))).astimezone(tz)
    except OverflowError:
        raise ValidationError(
            "micros", micros, f"microseconds since the epoch within the years 1..9999 in {tz}"
        ) from None
