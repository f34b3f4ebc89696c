"""Differentiated service by stars: ticket priority, support, delivery, response time."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np

from custmgmt.domain import Priority
from custmgmt.domain._validate import coerce_enum, is_finite_number
from custmgmt.errors import ValidationError

__all__ = ["ServiceLevel", "ServiceLevels"]


@attrs.frozen(kw_only=True)
class ServiceLevel:
    """The service a customer with some number of stars receives.

    Attributes:
        priority: the priority of the customer's tickets.
        dedicated_support: whether a named support agent looks after the customer.
        delivery_priority: whether the customer's orders ship first.
        response_time_factor: multiplies ticket response-time targets (0.5 halves
            them); positive.
    """

    priority: Priority = Priority.NORMAL
    dedicated_support: bool = False
    delivery_priority: bool = False
    response_time_factor: float = 1.0

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.priority, Priority):
            raise ValidationError("priority", self.priority, "a Priority")
        for name in ("dedicated_support", "delivery_priority"):
            if not isinstance(getattr(self, name), bool):
                raise ValidationError(name, getattr(self, name), "True or False")
        factor = self.response_time_factor
        if not is_finite_number(factor) or factor <= 0:
            raise ValidationError("response_time_factor", factor, "a positive finite number")

    def to_dict(self) -> dict[str, Any]:
        """Plain data."""
        return {
            "priority": self.priority.value,
            "dedicated_support": self.dedicated_support,
            "delivery_priority": self.delivery_priority,
            "response_time_factor": self.response_time_factor,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ServiceLevel:
        """The inverse of :meth:`to_dict`.

        Raises:
            ValidationError: unknown keys or invalid values.
        """
        if not isinstance(data, Mapping):
            raise ValidationError("service level", data, "a mapping")
        allowed = {"priority", "dedicated_support", "delivery_priority", "response_time_factor"}
        for key in data:
            if key not in allowed:
                raise ValidationError(key, data[key], f"one of {sorted(allowed)}")
        fields = dict(data)
        if "priority" in fields:
            fields["priority"] = coerce_enum(Priority, fields["priority"], "priority")
        return cls(**fields)


def _star_count(value: Any) -> int | None:
    """``value`` as a star count (an int, numpy's included; not a bool), else None."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer):
        return None
    return int(value)


def _levels(value: Any) -> dict[int, ServiceLevel]:
    if not isinstance(value, Mapping):
        raise ValidationError("levels", value, "a mapping of stars to ServiceLevel")
    levels: dict[int, ServiceLevel] = {}
    for key, level in value.items():
        stars = _star_count(key)
        if stars is None:
            raise ValidationError("levels", key, "integer star counts as keys")
        levels[stars] = level
    return levels


@attrs.frozen(kw_only=True)
class ServiceLevels:
    """The service each number of stars earns; every level from 1 to ``levels``.

    Validation keeps the map fair: a customer with more stars never gets a less
    urgent priority, loses dedicated support or delivery priority, or a larger
    response-time factor than one with fewer stars.

    >>> levels = ServiceLevels.default()
    >>> levels.for_stars(5).priority, levels.for_stars(5).response_time_factor
    (<Priority.HIGH: 'high'>, 0.5)

    Attributes:
        levels: stars (1..n) -> :class:`ServiceLevel`.
    """

    levels: Mapping[int, ServiceLevel] = attrs.field(converter=_levels)

    def __attrs_post_init__(self) -> None:
        keys = sorted(self.levels)
        if not keys or keys != list(range(1, len(keys) + 1)):
            raise ValidationError("levels", keys, "every star count from 1 to the top, once")
        for stars in keys:
            if not isinstance(self.levels[stars], ServiceLevel):
                raise ValidationError(f"levels[{stars}]", self.levels[stars], "a ServiceLevel")
        for lower, upper in itertools.pairwise(keys):
            a, b = self.levels[lower], self.levels[upper]
            if b.priority.rank > a.priority.rank:
                raise ValidationError(
                    f"levels[{upper}].priority", b.priority.value,
                    f"at least as urgent as for {lower} stars ({a.priority.value})",
                )
            if b.response_time_factor > a.response_time_factor:
                raise ValidationError(
                    f"levels[{upper}].response_time_factor", b.response_time_factor,
                    f"at most the factor for {lower} stars ({a.response_time_factor})",
                )
            for flag in ("dedicated_support", "delivery_priority"):
                if getattr(a, flag) and not getattr(b, flag):
                    raise ValidationError(
                        f"levels[{upper}].{flag}", False, f"True, as for {lower} stars"
                    )

    @classmethod
    def default(cls) -> ServiceLevels:
        """The default map for five levels.

        ===== ======== ========= ======== =============
        stars priority dedicated delivery response time
        ===== ======== ========= ======== =============
        1     normal   no        no       x1.0
        2     normal   no        no       x1.0
        3     normal   no        no       x0.9
        4     high     no        yes      x0.75
        5     high     yes       yes      x0.5
        ===== ======== ========= ======== =============

        URGENT is left for the tickets' own escalation (``Priority.raised``).
        """
        return cls(
            levels={
                1: ServiceLevel(),
                2: ServiceLevel(),
                3: ServiceLevel(response_time_factor=0.9),
                4: ServiceLevel(
                    priority=Priority.HIGH, delivery_priority=True, response_time_factor=0.75
                ),
                5: ServiceLevel(
                    priority=Priority.HIGH,
                    dedicated_support=True,
                    delivery_priority=True,
                    response_time_factor=0.5,
                ),
            }
        )

    @property
    def top(self) -> int:
        """The highest number of stars mapped."""
        return max(self.levels)

    def for_stars(self, stars: int) -> ServiceLevel:
        """The service level of ``stars``.

        Raises:
            ValidationError: ``stars`` is not an integer from 1 to :attr:`top`.
        """
        count = _star_count(stars)  # a Rating's stars are numpy integers
        if count is None or count not in self.levels:
            raise ValidationError("stars", stars, f"an integer from 1 to {self.top}")
        return self.levels[count]

    def priority_for(self, stars: int) -> Priority:
        """The ticket priority for ``stars`` (see :meth:`for_stars`)."""
        return self.for_stars(stars).priority

    def response_time_factor_for(self, stars: int | None) -> float:
        """What the SLA targets of a customer with ``stars`` are multiplied by.

        Pass it to ``sla_status(..., factor=...)`` (or one per ticket as
        ``sla_status_many(..., factors=...)``). An unrated customer (None) keeps the
        targets (1.0).

        >>> ServiceLevels.default().response_time_factor_for(5)
        0.5

        Raises:
            ValidationError: ``stars`` is neither None nor an integer from 1 to :attr:`top`.
        """
        if stars is None:
            return 1.0
        return self.for_stars(stars).response_time_factor

    def to_dict(self) -> dict[str, Any]:
        """Plain data: ``{"1": {...}, ...}`` (string keys, as JSON needs)."""
        return {str(k): v.to_dict() for k, v in sorted(self.levels.items())}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ServiceLevels:
        """The inverse of :meth:`to_dict` (keys may be ints or digit strings).

        Raises:
            ValidationError: a key that is not a star count, or an invalid level.
        """
        if not isinstance(data, Mapping):
            raise ValidationError("levels", data, "a mapping of stars to settings")
        levels: dict[int, ServiceLevel] = {}
        for key, value in data.items():
            stars = _star_count(key)
            if stars is None and isinstance(key, str) and key.isascii() and key.isdigit():
                stars = int(key)
            if stars is None:  # 1.5 and "1.0" are no star counts (int() truncated them)
                raise ValidationError("levels", key, "star counts as keys")
            if stars in levels:  # "1" and 1, or "01" and "1"
                raise ValidationError("levels", key, f"each star count once ({stars} twice)")
            levels[stars] = ServiceLevel.from_dict(value)
        return cls(levels=levels)
