"""Seeded k-means: assignment steps against a slow reference, determinism, profiles."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from custmgmt.errors import NotFittedError, ValidationError
from custmgmt.segmentation import Columns, KMeans, cluster_customers, standardise
from custmgmt.segmentation.clustering import _lloyd, assign_to_centres

finite = st.floats(min_value=-100, max_value=100, allow_nan=False, width=64)


def slow_assign(X: np.ndarray, centres: np.ndarray) -> list[float]:
    # The smallest squared distance per point, by explicit loops.
    best = []
    for x in X.tolist():
        best.append(
            min(sum((a - b) ** 2 for a, b in zip(x, c, strict=True)) for c in centres.tolist())
        )
    return best


@settings(max_examples=100, deadline=None)
@given(
    X=arrays(np.float64, st.tuples(st.integers(1, 30), st.just(3)), elements=finite),
    C=arrays(np.float64, st.tuples(st.integers(1, 5), st.just(3)), elements=finite),
)
def test_the_assignment_step_picks_a_nearest_centre(X: np.ndarray, C: np.ndarray) -> None:
    labels, dist = assign_to_centres(X, C)
    expected = slow_assign(X, C)
    for i, label in enumerate(labels.tolist()):
        chosen = sum((a - b) ** 2 for a, b in zip(X[i].tolist(), C[label].tolist(), strict=True))
        # The matrix form may differ from the loop by rounding only.
        assert math.isclose(chosen, expected[i], rel_tol=1e-9, abs_tol=1e-6)
        assert math.isclose(dist[i], expected[i], rel_tol=1e-9, abs_tol=1e-6)


@settings(max_examples=50, deadline=None)
@given(
    X=arrays(np.float64, st.tuples(st.integers(4, 30), st.just(2)), elements=finite),
    k=st.integers(1, 4),
)
def test_one_lloyd_step_moves_centres_to_the_means_of_their_points(X: np.ndarray, k: int) -> None:
    centres = X[:k].copy()
    labels, _ = assign_to_centres(X, centres)
    _, new, _, _ = _lloyd(X, centres, max_iter=1, tol=-1.0)
    for c in range(k):
        members = [X[i] for i in range(len(X)) if labels[i] == c]
        if members:
            assert np.allclose(new[c], np.mean(members, axis=0))


def blobs(seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    return np.vstack([c + rng.normal(size=(50, 2)) for c in centres])


def test_kmeans_finds_well_separated_blobs() -> None:
    X = blobs()
    model = KMeans(3, random_state=0).fit(X)
    groups = [set(model.labels_[i * 50 : (i + 1) * 50].tolist()) for i in range(3)]
    assert all(len(g) == 1 for g in groups)
    assert len(set().union(*groups)) == 3
    assert model.predict(np.array([[10.0, 0.5]]))[0] == model.labels_[50]


def test_kmeans_is_deterministic_for_a_seed() -> None:
    X = np.random.default_rng(7).normal(size=(200, 3))
    first = KMeans(4, random_state=42).fit(X)
    second = KMeans(4, random_state=42).fit(X)
    assert first.labels_.tolist() == second.labels_.tolist()
    assert np.array_equal(first.cluster_centers_, second.cluster_centers_)
    assert first.inertia_ == second.inertia_


def test_more_restarts_never_give_a_worse_inertia() -> None:
    X = np.random.default_rng(3).normal(size=(150, 2))
    one = KMeans(5, n_init=1, random_state=0).fit(X).inertia_
    many = KMeans(5, n_init=10, random_state=0).fit(X).inertia_
    assert many <= one


def test_fewer_distinct_points_than_clusters_still_fits() -> None:
    X = np.array([[1.0, 1.0]] * 5)
    model = KMeans(3, random_state=0).fit(X)
    assert model.inertia_ == 0.0


@pytest.mark.parametrize(
    ("params", "X", "field"),
    [
        ({"n_clusters": 0}, [[1.0]], "KMeans.n_clusters"),
        ({"n_clusters": 2, "n_init": 0}, [[1.0], [2.0]], "KMeans.n_init"),
        ({"n_clusters": 2, "tol": -1}, [[1.0], [2.0]], "KMeans.tol"),
        ({"n_clusters": 3}, [[1.0], [2.0]], "X"),
        ({"n_clusters": 1}, [[1.0], [math.nan]], "X"),
        ({"n_clusters": 1}, [1.0, 2.0], "X"),
    ],
)
def test_bad_kmeans_input_is_a_validation_error(params: dict[str, Any], X: Any, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        KMeans(**params).fit(X)
    assert info.value.field == field


def test_predict_before_fit_raises_not_fitted() -> None:
    with pytest.raises(NotFittedError):
        KMeans(2).predict([[1.0]])


def test_standardise_gives_zero_mean_unit_variance_and_handles_nan_and_constants() -> None:
    X = np.array([[1.0, 5.0, math.nan], [3.0, 5.0, 2.0], [5.0, 5.0, 4.0]])
    Z = standardise(X)
    assert np.allclose(Z[:, 0].mean(), 0)
    assert np.allclose(Z[:, 0].std(), 1)
    assert np.all(Z[:, 1] == 0)
    assert Z[0, 2] == 0


def feature_table() -> Columns:
    X = blobs()
    spend = np.where(np.arange(150) < 50, 100.0, 1.0)
    return Columns(
        [f"c{i}" for i in range(150)], {"x": X[:, 0], "y": X[:, 1], "total_spend": spend}
    )


def test_cluster_profiles_report_size_means_and_revenue_share() -> None:
    result = cluster_customers(feature_table(), ["x", "y"], k=3, random_state=0)
    assert sorted(result.sizes().values()) == [50, 50, 50]
    assert math.isclose(sum(p.revenue_share for p in result.profiles), 1.0)
    rich = next(p for p in result.profiles if p.revenue_share > 0.9)
    assert math.isclose(rich.means["x"], float(blobs()[:50, 0].mean()))


class LabelsOnly:
    """A scikit-learn-like clusterer with fit + labels_ only."""

    def fit(self, X: np.ndarray) -> LabelsOnly:
        self.labels_ = (X[:, 0] > 0).astype(np.int64) * 7  # sparse labels on purpose
        return self


class FitPredict:
    def fit_predict(self, X: np.ndarray) -> np.ndarray:
        return np.where(X[:, 1] > 0, -1, 3)


def test_any_scikit_learn_style_clusterer_can_be_used() -> None:
    by_fit = cluster_customers(feature_table(), ["x", "y"], clusterer=LabelsOnly())
    assert set(by_fit.labels.tolist()) == {0, 1}
    by_fit_predict = cluster_customers(feature_table(), ["x", "y"], clusterer=FitPredict())
    assert set(by_fit_predict.labels.tolist()) == {0, 1}


def test_bad_clustering_requests_are_validation_errors() -> None:
    with pytest.raises(ValidationError, match="nope"):
        cluster_customers(feature_table(), ["nope"])
    with pytest.raises(ValidationError):
        cluster_customers(feature_table(), ["x"], k=0)
    with pytest.raises(ValidationError):
        cluster_customers(feature_table(), ["x"], clusterer=object())
    with pytest.raises(ValidationError):
        cluster_customers(feature_table(), [])
