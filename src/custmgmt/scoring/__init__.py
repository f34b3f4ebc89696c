"""The pluggable scoring engine: features in, one score per customer out.

* :class:`Scorer`: the protocol (``score(features) -> float64 array``).
* :class:`WeightedSum`: the weighted sum of normalised :class:`Criterion` terms
  (normalisations: percentile rank, min-max, z-score, log, capped; see
  :mod:`custmgmt.scoring.normalise`), fitted on a population into a
  :class:`FittedWeightedSum` that scores single customers against it.
* :class:`ModelScorer`: any callable or scikit-learn style model.
* :class:`Registry`: named criteria and scorers; hosts add their own with
  :func:`register_criterion` and :func:`register_scorer`.
"""

from custmgmt.scoring.model import ModelScorer
from custmgmt.scoring.normalise import (
    Direction,
    Normalisation,
    Scale,
    fit_scale,
    percentile_rank,
)
from custmgmt.scoring.registry import (
    CriterionSpec,
    Registry,
    default_registry,
    get_scorer,
    register_criterion,
    register_scorer,
)
from custmgmt.scoring.weighted import (
    Criterion,
    FeatureTable,
    FittedWeightedSum,
    Scorer,
    WeightedSum,
    feature_column,
)

__all__ = [
    "Criterion",
    "CriterionSpec",
    "Direction",
    "FeatureTable",
    "FittedWeightedSum",
    "ModelScorer",
    "Normalisation",
    "Registry",
    "Scale",
    "Scorer",
    "WeightedSum",
    "default_registry",
    "feature_column",
    "fit_scale",
    "get_scorer",
    "percentile_rank",
    "register_criterion",
    "register_scorer",
]
