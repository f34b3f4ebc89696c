"""Service priority, shared by star-based service levels and service tickets."""

from __future__ import annotations

import enum

__all__ = ["Priority"]


class Priority(enum.Enum):
    """How urgently a customer's request is handled; ``URGENT`` first.

    Members compare by urgency through :attr:`rank` (0 is the most urgent).
    """

    URGENT = "urgent"
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"

    @property
    def rank(self) -> int:
        """0 for URGENT up to 3 for LOW: sort by this to serve the most urgent first."""
        return _RANK[self]

    def raised(self, steps: int = 1) -> Priority:
        """The priority ``steps`` levels more urgent, stopping at URGENT."""
        order = list(Priority)
        return order[max(0, self.rank - steps)]


_RANK = {p: i for i, p in enumerate(Priority)}
