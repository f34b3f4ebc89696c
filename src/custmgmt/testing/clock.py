"""A clock that only moves when told to."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from custmgmt.domain.time import require_aware
from custmgmt.errors import ValidationError

__all__ = ["FixedClock"]


class FixedClock:
    """A :class:`custmgmt.domain.Clock` frozen at a given instant.

    >>> clock = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
    >>> clock.advance(hours=2).isoformat()
    '2026-01-01T02:00:00+00:00'
    """

    def __init__(self, now: datetime = datetime(2026, 1, 1, tzinfo=UTC)) -> None:
        self._now = require_aware("now", now)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """The frozen instant."""
        return self._now

    def set(self, now: datetime) -> None:
        """Move the clock to ``now`` (forwards or backwards)."""
        self._now = require_aware("now", now)

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        """Move forwards by ``delta`` or by ``timedelta(**kwargs)``; returns the new now.

        Raises:
            ValidationError: the step is negative.
        """
        step = delta if delta is not None else timedelta(**kwargs)
        if step < timedelta(0):
            raise ValidationError("delta", step, "a non-negative step (use set() to go back)")
        with self._lock:
            self._now = self._now + step
            return self._now
