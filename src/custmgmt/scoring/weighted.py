"""The scorer protocol and the weighted sum of normalised criteria."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import attrs
import numpy as np
from numpy.typing import NDArray

from custmgmt.analytics.tables import FeatureTable
from custmgmt.domain._validate import is_finite_number
from custmgmt.errors import ValidationError
from custmgmt.scoring.normalise import Direction, Normalisation, Scale, _enum, fit_scale

__all__ = [
    "SCORE_DECIMALS",
    "Criterion",
    "FeatureTable",
    "FittedWeightedSum",
    "Scorer",
    "WeightedSum",
    "feature_column",
    "sum_contributions",
]

FloatArray = NDArray[np.float64]


@runtime_checkable
class Scorer(Protocol):
    """Turns a feature table into one score per customer (higher is better)."""

    def score(self, features: FeatureTable) -> FloatArray:
        """One finite float score per customer, in the table's customer order.

        Raises:
            ValidationError: a needed feature is missing or not numeric.
        """
        ...


def feature_column(features: FeatureTable, name: str) -> FloatArray:
    """Read the feature ``name`` as a float64 column.

    Raises:
        ValidationError: the table has no such feature, or it is not finite numbers.
    """
    try:
        raw = features[name]
    except (KeyError, IndexError, LookupError):
        raise ValidationError("features", name, "a feature present in the table") from None
    try:
        column = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValidationError(f"features[{name!r}]", raw, "a numeric column") from None
    if column.ndim != 1:
        raise ValidationError(f"features[{name!r}]", raw, "a one-dimensional column")
    infinite = np.isinf(column)
    if infinite.any():
        bad = float(column[infinite][0])
        raise ValidationError(f"features[{name!r}]", bad, "finite numbers or NaN for missing")
    return column


def _weight(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    name = getattr(instance, "name", "?")
    if not is_finite_number(value):
        raise ValidationError(f"criteria.{name}.weight", value, "a finite number")
    if value < 0:
        raise ValidationError(f"criteria.{name}.weight", value, "a non-negative weight")


def _name(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"criterion.{attribute.name}", value, "a non-blank name")


def _to_normalisation(value: Any) -> Normalisation:
    return _enum(Normalisation, value, "criterion.normalisation")  # type: ignore[no-any-return]


def _to_direction(value: Any) -> Direction:
    return _enum(Direction, value, "criterion.direction")  # type: ignore[no-any-return]


@attrs.frozen(kw_only=True)
class Criterion:
    """One weighted term of a weighted sum: a feature, normalised, times a weight.

    Attributes:
        name: what the criterion is called in explanations (``"spend"``).
        feature: the feature column it reads (``"monetary_net"``).
        weight: its share of the score (non-negative).
        normalisation: how raw values become comparable (percentile rank by default).
        direction: ``higher`` if more of the feature is better, ``lower`` otherwise.
        cap: the cap of the ``capped`` normalisation, in feature units.
    """

    name: str = attrs.field(validator=_name)
    feature: str = attrs.field(validator=_name)
    weight: float = attrs.field(validator=_weight)
    normalisation: Normalisation = attrs.field(
        default=Normalisation.PERCENTILE_RANK, converter=_to_normalisation
    )
    direction: Direction = attrs.field(default=Direction.HIGHER, converter=_to_direction)
    cap: float | None = attrs.field(default=None)

    def __attrs_post_init__(self) -> None:
        if self.normalisation is Normalisation.CAPPED:
            cap = self.cap
            ok = is_finite_number(cap) and cap > 0
            if not ok:
                raise ValidationError(
                    f"criteria.{self.name}.cap", cap, "a positive finite cap for 'capped'"
                )
        elif self.cap is not None:
            raise ValidationError(
                f"criteria.{self.name}.cap", self.cap, "no cap unless normalisation is 'capped'"
            )

    def to_dict(self) -> dict[str, Any]:
        """Plain data (the inverse of :meth:`from_dict`, without the name)."""
        data: dict[str, Any] = {
            "feature": self.feature,
            "weight": self.weight,
            "normalisation": self.normalisation.value,
            "direction": self.direction.value,
        }
        if self.cap is not None:
            data["cap"] = self.cap
        return data


@attrs.frozen(kw_only=True, eq=False)
class FittedWeightedSum:
    """A weighted sum whose normalisations are fitted (frozen) on a population.

    Attributes:
        criteria: the criteria, in order.
        scales: the fitted normalisation of each criterion, in the same order.
    """

    criteria: tuple[Criterion, ...]
    scales: tuple[Scale, ...]

    def contributions(self, features: FeatureTable) -> dict[str, FloatArray]:
        """Each criterion's ``weight * normalised value`` per customer."""
        return {
            c.name: c.weight * s.transform(feature_column(features, c.feature))
            for c, s in zip(self.criteria, self.scales, strict=True)
        }

    def score(self, features: FeatureTable) -> FloatArray:
        """The sum of the contributions, added in criterion order."""
        return sum_contributions(self.contributions(features).values(), _length(features))

    def score_one(self, values: Sequence[float]) -> tuple[float, list[float]]:
        """Score one customer from its raw feature values (criterion order)."""
        parts = [
            c.weight * s.transform_one(v)
            for c, s, v in zip(self.criteria, self.scales, values, strict=True)
        ]
        total = np.float64(0.0)
        for part in parts:
            total += part
        return float(np.round(total, SCORE_DECIMALS)), parts


#: Scores are rounded to this many decimals, so customers whose contributions are
#: equal in exact arithmetic (0.6 + 0.15 + 0.05 against 0.4 + 0.3 + 0.1) get equal
#: scores and stars; contributions add up to the score within 1e-12.
SCORE_DECIMALS = 12


def sum_contributions(parts: Iterable[FloatArray], n: int) -> FloatArray:
    """Add contribution columns left to right, then round to :data:`SCORE_DECIMALS`.

    The one-customer path (:meth:`FittedWeightedSum.score_one`) adds in the same
    order and rounds the same way, so both give identical scores.
    """
    total = np.zeros(n, dtype=np.float64)
    for part in parts:
        total += part
    rounded: FloatArray = np.round(total, SCORE_DECIMALS)
    return rounded


def _length(features: FeatureTable) -> int:
    ids = getattr(features, "customer_ids", None)
    if ids is not None:
        return len(ids)
    if isinstance(features, Mapping):
        for column in features.values():
            return len(column)
        return 0
    return len(features)  # type: ignore[arg-type]


class WeightedSum:
    """The weighted sum of normalised criteria: the scorer behind star ratings.

    >>> scorer = WeightedSum([
    ...     Criterion(name="spend", feature="spend", weight=0.75),
    ...     Criterion(name="orders", feature="orders", weight=0.25),
    ... ])
    >>> scorer.score({"spend": [10.0, 30.0, 20.0], "orders": [1, 1, 4]}).round(3).tolist()
    [0.375, 0.875, 0.75]

    Args:
        criteria: the criteria; their weights are used as given (the rating policy
            checks that they add up to 1).
    """

    def __init__(self, criteria: Iterable[Criterion]) -> None:
        self.criteria = tuple(criteria)
        for c in self.criteria:
            if not isinstance(c, Criterion):
                raise ValidationError("criteria", c, "Criterion instances")
        names = [c.name for c in self.criteria]
        if len(set(names)) != len(names):
            raise ValidationError("criteria", names, "distinct criterion names")

    def fit(self, features: FeatureTable) -> FittedWeightedSum:
        """Fit every normalisation on this population."""
        return self.fit_contributions(features)[0]

    def fit_contributions(
        self, features: FeatureTable
    ) -> tuple[FittedWeightedSum, dict[str, FloatArray]]:
        """Fit on the population and return its contributions in the same pass."""
        scales: list[Scale] = []
        parts: dict[str, FloatArray] = {}
        for c in self.criteria:
            column = feature_column(features, c.feature)
            scale, normalised = fit_scale(
                c.normalisation,
                column,
                direction=c.direction,
                cap=c.cap,
                name=f"features[{c.feature!r}]",
            )
            scales.append(scale)
            normalised *= c.weight
            parts[c.name] = normalised
        return FittedWeightedSum(criteria=self.criteria, scales=tuple(scales)), parts

    def score(self, features: FeatureTable) -> FloatArray:
        """Scores of this population, normalised against itself."""
        _, parts = self.fit_contributions(features)
        return sum_contributions(parts.values(), _length(features))
