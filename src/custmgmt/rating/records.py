"""What a rating repository stores: runs, per-customer results, star history.

Plain attrs values without numpy, so the ports and storage adapters can import
them; :func:`custmgmt.rating.services.run_records` turns a :class:`Rating` into them.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import attrs

from custmgmt.domain._validate import check_aware, check_count, check_id
from custmgmt.errors import ValidationError
from custmgmt.rating.overrides import Override

__all__ = ["CustomerRating", "RatingRun", "StarHistoryEntry"]


@attrs.frozen(kw_only=True)
class RatingRun:
    """One stored rating run.

    Attributes:
        id: the run's id.
        as_of: the time it rated (aware).
        created_at: when it was computed (aware).
        policy_json: the policy used, as :meth:`RatingPolicy.to_json` text.
        customer_count: how many customers it rated.
        distribution: how many customers got each number of stars, from 1 up.
    """

    id: str
    as_of: datetime
    created_at: datetime
    policy_json: str
    customer_count: int
    distribution: tuple[int, ...] = ()

    def __attrs_post_init__(self) -> None:
        check_id("RatingRun.id", self.id)
        check_aware("RatingRun.as_of", self.as_of)
        check_aware("RatingRun.created_at", self.created_at)
        if not isinstance(self.policy_json, str):
            raise ValidationError("RatingRun.policy_json", self.policy_json, "JSON text")
        check_count("RatingRun.customer_count", self.customer_count)


@attrs.frozen(kw_only=True)
class CustomerRating:
    """One customer's result in one run.

    Attributes:
        run_id: the run.
        customer_id: the customer (ids are stored as text).
        score: the score.
        stars: the stars given (after hysteresis).
        computed_stars: the stars the score alone gives.
        previous_stars: stars in the previous run (0: new).
        pending: runs in a row below its stars without dropping.
        contributions: ``(criterion, contribution)`` pairs in the policy's order.
    """

    run_id: str
    customer_id: str
    score: float
    stars: int
    computed_stars: int
    previous_stars: int = 0
    pending: int = 0
    contributions: tuple[tuple[str, float], ...] = ()

    def __attrs_post_init__(self) -> None:
        check_id("CustomerRating.customer_id", self.customer_id)
        if not isinstance(self.score, float) or not math.isfinite(self.score):
            raise ValidationError("CustomerRating.score", self.score, "a finite float")
        for name in ("stars", "computed_stars", "previous_stars", "pending"):
            value: Any = getattr(self, name)
            check_count(f"CustomerRating.{name}", value, expected="a non-negative int below 2**63")

    @property
    def change(self) -> int:
        """Stars minus the previous run's (0 for a customer new in this run)."""
        return self.stars - self.previous_stars if self.previous_stars else 0


@attrs.frozen(kw_only=True)
class StarHistoryEntry:
    """A customer's stars in one run, for star history.

    Repositories give the stars each run rated; :func:`custmgmt.rating.star_history`
    gives the stars that applied, with the override that set them.

    Attributes:
        run_id: the run.
        as_of: the run's time.
        stars: the stars that applied at ``as_of``.
        score: the score.
        rated_stars: the stars the run gave (``stars`` when no override applied).
        override: the approved override in effect at ``as_of``, or None.
    """

    run_id: str
    as_of: datetime
    stars: int
    score: float
    rated_stars: int = attrs.field(
        default=attrs.Factory(lambda self: self.stars, takes_self=True)
    )
    override: Override | None = None
