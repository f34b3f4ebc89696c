"""Normalisations on hostile columns: all-equal decimals and ranges near float's limit."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest

from custmgmt.analytics.features import CustomerFeatures
from custmgmt.errors import ValidationError
from custmgmt.rating import RatingPolicy, rate
from custmgmt.scoring import Criterion, WeightedSum, fit_scale, percentile_rank


@pytest.mark.parametrize("value", [0.7, 1 / 3, 0.1, 123.456, 2.2, 4.35])
@pytest.mark.parametrize("n", [3, 7, 11, 100, 1000])
def test_z_scores_of_equal_values_are_zero(value: float, n: int) -> None:
    # numpy's mean of [0.7] * 3 is an ulp off, so the std came out 1e-16 instead of
    # 0: every customer got a z-score of +1 or -1, and any other value later one of
    # about 1e15.
    scale, normalised = fit_scale("z_score", [value] * n)
    assert scale.high == 0.0
    assert normalised.tolist() == [0.0] * n
    assert scale.transform_one(value + 0.1) == 0.0
    assert scale.transform([value + 0.1]).tolist() == [0.0]


def test_an_equal_decimal_feature_does_not_make_a_new_customer_a_giant() -> None:
    as_of = datetime(2026, 1, 1, tzinfo=UTC)
    policy = RatingPolicy.from_dict(
        {"criteria": {"aov": {"weight": 1.0, "feature": "aov", "normalisation": "z_score"}}}
    )
    population = CustomerFeatures(
        customer_ids=np.array(["a", "b", "c"]),
        columns={"aov": np.array([199.9, 199.9, 199.9])},
        as_of=as_of,
        currency="CNY",
    )
    run = rate(policy, population)
    assert run.score.tolist() == [0.0, 0.0, 0.0]
    newcomer = CustomerFeatures(
        customer_ids=np.array(["d"]), columns={"aov": np.array([200.0])},
        as_of=as_of, currency="CNY",
    )
    assert abs(float(rate(policy, newcomer, scale=run).score[0])) < 1.0


@pytest.mark.parametrize("kind", ["min_max", "z_score"])
def test_a_range_past_floats_maximum_normalises_without_nan(kind: str) -> None:
    # max - min overflows to inf: min_max gave NaN for the top value (and a NaN
    # score sorts above every threshold: five stars); z_score's squares overflowed.
    scale, normalised = fit_scale(kind, [-1e308, 0.0, 1e308])
    assert np.isfinite(normalised).all()
    expected = [0.0, 0.5, 1.0] if kind == "min_max" else None
    if expected is not None:
        assert normalised.tolist() == expected
        assert scale.transform_one(1e308) == 1.0
        assert scale.transform([1e308]).tolist() == [1.0]
    else:
        assert normalised[0] < 0.0 == normalised[1] < normalised[2]


@pytest.mark.parametrize("features", [None, [1.0, 2.0], 3], ids=["none", "list", "number"])
def test_a_feature_table_that_is_no_table_is_a_validation_error(features: Any) -> None:
    # None and a list raised TypeError from the name lookup.
    scorer = WeightedSum([Criterion(name="spend", feature="spend", weight=1.0)])
    with pytest.raises(ValidationError, match="features"):
        scorer.score(features)


def test_an_integer_past_floats_range_is_a_validation_error() -> None:
    # np.asarray raised OverflowError for 10**400.
    scorer = WeightedSum([Criterion(name="spend", feature="spend", weight=1.0)])
    with pytest.raises(ValidationError, match="spend"):
        scorer.score({"spend": [10**400]})
    with pytest.raises(ValidationError, match="values"):
        percentile_rank([1, 10**400])
