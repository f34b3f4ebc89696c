"""The scorer protocol and the weighted sum of normalised criteria."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, runtime_checkable

import attrs
import numpy as np
from numpy.typing import NDArray

from custmgmt.analytics._grouping import default_threads
from custmgmt.analytics.tables import FeatureTable
from custmgmt.domain._validate import is_finite_number
from custmgmt.errors import ValidationError
from custmgmt.notebook.estimator import Estimator, check_fitted
from custmgmt.scoring.normalise import Direction, Normalisation, Scale, _enum, fit_scale

__all__ = [
    "PARALLEL_FIT_MIN_CUSTOMERS",
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
#: Customers from which the criteria are fitted on threads (one criterion a thread,
#: ``CUSTMGMT_THREADS`` or the cores): below it, starting the threads costs more than
#: the sorts they share out.
PARALLEL_FIT_MIN_CUSTOMERS = 1 << 17


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
    except TypeError:  # None, a list: nothing to look a name up in
        raise ValidationError(
            "features", type(features).__name__, "a feature table (columns by name)"
        ) from None
    try:
        column = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
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
    # Names are printed in explanations and CSV headers: a line break or a terminal
    # escape in one would start a forged report line ("FAKE: 5 stars").
    if not isinstance(value, str) or not value.strip() or not value.isprintable():
        raise ValidationError(
            f"criterion.{attribute.name}", value, "a non-blank name on one line"
        )


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


class WeightedSum(Estimator):
    """The weighted sum of normalised criteria: the scorer behind star ratings.

    Follows scikit-learn's estimator convention: the constructor stores ``criteria``
    untouched (``get_params`` / ``set_params``, so ``sklearn.base.clone`` works),
    :meth:`fit` freezes every normalisation on a population and returns ``self``,
    with the learnt ``scales_`` and ``fitted_``; :meth:`transform` and
    :meth:`contributions` then score other customers against that population (and
    raise :class:`~custmgmt.errors.NotFittedError` before ``fit``). :meth:`score`
    (the :class:`Scorer` protocol) needs no fit: it normalises a population against
    itself.

    >>> scorer = WeightedSum([
    ...     Criterion(name="spend", feature="spend", weight=0.75),
    ...     Criterion(name="orders", feature="orders", weight=0.25),
    ... ])
    >>> scorer.score({"spend": [10.0, 30.0, 20.0], "orders": [1, 1, 4]}).round(3).tolist()
    [0.375, 0.875, 0.75]
    >>> scorer.fit({"spend": [10.0, 30.0, 20.0], "orders": [1, 1, 4]}) is scorer
    True
    >>> scorer.transform({"spend": [25.0], "orders": [4]}).round(3).tolist()
    [0.875]

    Args:
        criteria: the criteria (a list or tuple of :class:`Criterion`), stored as
            given; their weights are used as given (the rating policy checks that
            they add up to 1).

    Attributes (after ``fit``):
        scales_: the fitted normalisation of each criterion, in order.
        fitted_: the same as a frozen :class:`FittedWeightedSum`.
        n_customers_: the size of the population fitted on.
    """

    scales_: tuple[Scale, ...]
    fitted_: FittedWeightedSum
    n_customers_: int

    def __init__(self, criteria: Sequence[Criterion] = ()) -> None:
        # Stored untouched (scikit-learn's rule); a one-shot iterator is kept as a tuple
        # since it could not be read twice.
        self.criteria = criteria if isinstance(criteria, list | tuple) else tuple(criteria)
        _check_criteria(self.criteria)

    def _criteria(self) -> tuple[Criterion, ...]:
        criteria = tuple(self.criteria)
        _check_criteria(criteria)
        return criteria

    def fit(self, features: FeatureTable) -> WeightedSum:
        """Fit every normalisation on this population; returns ``self``."""
        fitted, _ = self.fit_contributions(features)
        self.scales_ = fitted.scales
        self.fitted_ = fitted
        self.n_customers_ = _length(features)
        return self

    def transform(self, features: FeatureTable) -> FloatArray:
        """Scores of ``features`` against the population fitted on.

        Raises:
            NotFittedError: before ``fit``.
        """
        check_fitted(self, "fitted_")
        return self.fitted_.score(features)

    def contributions(self, features: FeatureTable) -> dict[str, FloatArray]:
        """Each criterion's ``weight * normalised value`` against the fitted population.

        Raises:
            NotFittedError: before ``fit``.
        """
        check_fitted(self, "fitted_")
        return self.fitted_.contributions(features)

    def fit_contributions(
        self, features: FeatureTable
    ) -> tuple[FittedWeightedSum, dict[str, FloatArray]]:
        """Fit on the population and return its contributions in the same pass
        (a frozen :class:`FittedWeightedSum`; ``self`` is left unchanged)."""
        criteria = self._criteria()

        def fit_one(c: Criterion) -> tuple[Scale, FloatArray]:
            scale, normalised = fit_scale(
                c.normalisation,
                feature_column(features, c.feature),
                direction=c.direction,
                cap=c.cap,
                name=f"features[{c.feature!r}]",
            )
            normalised *= c.weight
            return scale, normalised

        threads = min(default_threads(), len(criteria))
        if threads > 1 and _length(features) >= PARALLEL_FIT_MIN_CUSTOMERS:
            # Each criterion's fit is its own sort of the population (numpy sorts
            # without the GIL): one thread each. Results, and the first error in
            # criterion order, are those of the loop below.
            with ThreadPoolExecutor(max_workers=threads) as pool:
                fitted = list(pool.map(fit_one, criteria))
        else:
            fitted = [fit_one(c) for c in criteria]
        parts = {c.name: normalised for c, (_, normalised) in zip(criteria, fitted, strict=True)}
        scales = tuple(scale for scale, _ in fitted)
        return FittedWeightedSum(criteria=criteria, scales=scales), parts

    def score(self, features: FeatureTable) -> FloatArray:
        """Scores of this population, normalised against itself (no fit needed)."""
        _, parts = self.fit_contributions(features)
        return sum_contributions(parts.values(), _length(features))


def _check_criteria(criteria: Any) -> None:
    for c in criteria:
        if not isinstance(c, Criterion):
            raise ValidationError("criteria", c, "Criterion instances")
    names = [c.name for c in criteria]
    if len(set(names)) != len(names):
        raise ValidationError("criteria", names, "distinct criterion names")
