"""A fitted scale measures values met after the fit (the incremental rater, ``rate(...,
scale=...)``): the bounded normalisations stay in ``[0, 1]`` for them too, so a
criterion's contribution never exceeds its weight, nor turns negative when mirrored."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custmgmt.analytics.features import CustomerFeatures
from custmgmt.rating import RatingPolicy, rate
from custmgmt.scoring import fit_scale

AS_OF = datetime(2026, 1, 1, tzinfo=UTC)
BOUNDED = ["percentile_rank", "min_max", "log"]
finite = st.floats(min_value=-1e300, max_value=1e300, allow_nan=False)


@pytest.mark.parametrize("direction", ["higher", "lower"])
def test_a_value_above_the_whole_population_ranks_at_most_one(direction: str) -> None:
    # It used to rank (2n + 1) / 2n: 1.125 against four values, -0.125 mirrored.
    scale, fitted = fit_scale("percentile_rank", [1.0, 2.0, 3.0, 4.0], direction=direction)
    top = 1.0 if direction == "higher" else 0.0
    assert scale.transform_one(100.0) == top
    assert scale.transform([100.0]).tolist() == [top]
    assert scale.transform_one(4.0) == float(fitted[-1])


def test_a_rating_against_a_frozen_population_keeps_contributions_within_weights() -> None:
    policy = RatingPolicy.from_dict(
        {"criteria": {"spend": {"weight": 0.6}, "frequency": {"weight": 0.4}}}
    )

    def table(ids: list[str], spend: list[float], orders: list[float]) -> CustomerFeatures:
        return CustomerFeatures(
            customer_ids=np.asarray(ids),
            columns={"monetary_net": np.asarray(spend), "frequency": np.asarray(orders)},
            as_of=AS_OF, currency="CNY",
        )

    base = rate(policy, table(["a", "b", "c", "d"], [1, 2, 3, 4], [1, 1, 2, 3]))
    later = rate(policy, table(["x", "y"], [1e9, 0.5], [99, 0]), scale=base)
    assert later.contributions["spend"].max() <= 0.6
    assert later.contributions["frequency"].max() <= 0.4
    assert later.score.max() <= 1.0
    assert later.stars.tolist() == [5, 1]


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(BOUNDED),
    st.sampled_from(["higher", "lower"]),
    st.lists(finite, min_size=1, max_size=20),
    st.lists(finite, min_size=1, max_size=20),
)
def test_bounded_normalisations_stay_in_zero_one_for_any_later_value(
    kind: str, direction: str, population: list[float], later: list[float]
) -> None:
    scale, fitted = fit_scale(kind, population, direction=direction)
    column = scale.transform(later)
    assert ((fitted >= 0.0) & (fitted <= 1.0)).all()
    assert ((column >= 0.0) & (column <= 1.0)).all()
    # The one-value path agrees with the column path.
    assert [scale.transform_one(v) for v in later] == column.tolist()
