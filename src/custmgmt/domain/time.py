"""Time: the injected clock and helpers for timezone-aware datetimes.

Nothing in custmgmt asks the operating system for "now": computations take an
explicit ``as_of`` or a :class:`Clock`, so every result is reproducible and tests can
freeze time (see :class:`custmgmt.testing.FixedClock`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, Protocol, runtime_checkable

import attrs

from custmgmt.domain._validate import check_aware
from custmgmt.errors import ValidationError

__all__ = [
    "EPOCH",
    "Clock",
    "SystemClock",
    "from_epoch_micros",
    "require_aware",
    "to_epoch_micros",
]

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
