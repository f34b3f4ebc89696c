"""``stars_for`` counts thresholds by comparisons: exactly numpy's binary search."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from custmgmt.rating.result import stars_for

floats = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 0.2, 0.4, 0.6, 0.8, 1.0]),  # ties with the thresholds
)


def searched(score: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    return np.searchsorted(thresholds, score, side="right").astype(np.int64) + 1


@settings(max_examples=300, deadline=None)
@given(
    hnp.arrays(np.float64, st.integers(0, 60), elements=floats),
    hnp.arrays(np.float64, st.integers(0, 20), elements=floats),
    st.booleans(),
)
def test_comparisons_give_the_binary_search(
    score: np.ndarray, thresholds: np.ndarray, sort: bool
) -> None:
    if sort:
        thresholds = np.sort(thresholds)  # numpy's order: NaN last
    expected = searched(score, thresholds)
    got = stars_for(score, thresholds)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, expected, strict=True)


def test_a_nan_score_gets_the_top_star_as_the_search_gives_it() -> None:
    got = stars_for(np.array([np.nan, 0.5, -np.inf, np.inf]), np.array([0.2, 0.4, 0.6, 0.8]))
    assert got.tolist() == [5, 3, 1, 5]


def test_a_score_equal_to_a_threshold_reaches_that_band() -> None:
    got = stars_for(np.array([0.2, 0.19999999999999998, 0.8]), np.array([0.2, 0.2, 0.8]))
    assert got.tolist() == [3, 1, 4]
