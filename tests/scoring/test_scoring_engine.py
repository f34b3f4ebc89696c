"""The scoring engine: normalisations against slow references, scorers, the registry."""

from __future__ import annotations

import itertools
import math
from typing import Any
from unittest import mock

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custmgmt.errors import ValidationError
from custmgmt.scoring import (
    Criterion,
    Direction,
    ModelScorer,
    Normalisation,
    Registry,
    Scorer,
    WeightedSum,
    default_registry,
    fit_scale,
    get_scorer,
    normalise,
    percentile_rank,
    weighted,
)

values_lists = st.lists(
    st.one_of(
        st.integers(min_value=-50, max_value=50).map(float),
        st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
    ),
    min_size=1,
    max_size=40,
)


# -- slow, obviously-correct references ---------------------------------------------------
def ref_percentile(values: list[float]) -> list[float]:
    n = len(values)
    return [
        (sum(v < x for v in values) + sum(v <= x for v in values) + 1) / (2 * n) for x in values
    ]


def ref_normalise(kind: str, values: list[float], cap: float | None = None) -> list[float]:
    if kind == "percentile_rank":
        return ref_percentile(values)
    if kind == "min_max":
        lo, hi = min(values), max(values)
        return [0.0 if hi == lo else min(max((x - lo) / (hi - lo), 0.0), 1.0) for x in values]
    if kind == "z_score":
        mean = sum(values) / len(values)
        std = math.sqrt(sum((x - mean) ** 2 for x in values) / len(values))
        return [0.0 if std == 0 else (x - mean) / std for x in values]
    if kind == "log":
        top = max(values)
        if top <= 0:
            return [0.0] * len(values)
        return [min(math.log1p(max(x, 0.0)) / math.log1p(top), 1.0) for x in values]
    assert cap is not None
    return [min(max(x, 0.0), cap) / cap for x in values]


KINDS = ["percentile_rank", "min_max", "z_score", "log", "capped"]


@settings(max_examples=150, deadline=None)
@given(values_lists, st.sampled_from(KINDS))
def test_every_normalisation_matches_its_slow_reference(values: list[float], kind: str) -> None:
    cap = 10.0 if kind == "capped" else None
    _, got = fit_scale(kind, values, cap=cap)
    expected = ref_normalise(kind, values, cap)
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9)


@settings(max_examples=100, deadline=None)
@given(values_lists)
def test_percentile_rank_is_pandas_average_rank_over_count(values: list[float]) -> None:
    expected = pd.Series(values).rank(method="average", pct=True).to_numpy()
    np.testing.assert_allclose(percentile_rank(values), expected, rtol=1e-12)


@settings(max_examples=100, deadline=None)
@given(values_lists, st.sampled_from(KINDS), st.sampled_from(["higher", "lower"]))
def test_a_fitted_scale_gives_the_same_values_column_wise_and_one_at_a_time(
    values: list[float], kind: str, direction: str
) -> None:
    cap = 10.0 if kind == "capped" else None
    scale, fitted = fit_scale(kind, values, direction=direction, cap=cap)
    np.testing.assert_array_equal(scale.transform(values), fitted)
    assert [scale.transform_one(v) for v in values] == fitted.tolist()


@settings(max_examples=100, deadline=None)
@given(values_lists, st.sampled_from(KINDS), st.sampled_from(["higher", "lower"]), values_lists)
def test_normalisations_are_monotone_in_the_raw_value(
    values: list[float], kind: str, direction: str, probes: list[float]
) -> None:
    cap = 10.0 if kind == "capped" else None
    scale, _ = fit_scale(kind, values, direction=direction, cap=cap)
    probes = sorted(probes)
    out = [scale.transform_one(p) for p in probes]
    pairs = list(itertools.pairwise(out))
    if direction == "higher":
        assert all(a <= b for a, b in pairs)
    else:
        assert all(a >= b for a, b in pairs)


def test_small_integer_columns_take_the_counting_path_and_agree_with_sorting() -> None:
    rng = np.random.default_rng(3)
    counts = rng.integers(0, 20, 5000)
    np.testing.assert_allclose(
        percentile_rank(counts),
        pd.Series(counts).rank(method="average", pct=True).to_numpy(),
        rtol=1e-12,
    )
    np.testing.assert_allclose(
        percentile_rank(counts + 0.5),
        pd.Series(counts + 0.5).rank(method="average", pct=True).to_numpy(),
        rtol=1e-12,
    )


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.integers(-(2**40), 2**40),
            st.sampled_from([0, 1, -(2**52), 2**52, 10**15]),
        ),
        min_size=1,
        max_size=200,
    ),
    st.integers(0, 3),
)
def test_wide_integer_columns_take_the_packed_sort_and_agree_with_the_reference(
    values: list[int], repeats: int
) -> None:
    # Money in minor units: integral floats over a range too wide to count, sorted as
    # one packed key; ties (repeats) must rank as the slow reference ranks them.
    column = np.array(values + values[: len(values) // 2] * repeats, dtype=np.float64)
    spread = float(column.max() - column.min())
    np.testing.assert_allclose(
        percentile_rank(column), ref_percentile(column.tolist()), rtol=1e-12
    )
    scale, fitted = fit_scale("percentile_rank", column)
    np.testing.assert_array_equal(fitted, percentile_rank(column))
    assert [scale.transform_one(v) for v in column.tolist()] == fitted.tolist()
    if spread >= 4 * len(column) + 1024:
        order = np.argsort(column, kind="stable")
        np.testing.assert_array_equal(
            normalise._rank_and_sort(column)[1], column[order], strict=True
        )


def test_missing_values_normalise_to_zero_whatever_the_direction() -> None:
    for direction in ("higher", "lower"):
        scale, out = fit_scale("percentile_rank", [1.0, math.nan, 3.0], direction=direction)
        assert out[1] == 0.0
        assert scale.transform_one(math.nan) == 0.0
    _, out = fit_scale("min_max", [math.nan, 2.0, 4.0])
    assert out.tolist() == [0.0, 0.0, 1.0]


def test_bad_normalisation_input_is_a_validation_error_naming_it() -> None:
    with pytest.raises(ValidationError, match="normalisation"):
        fit_scale("median", [1.0])
    with pytest.raises(ValidationError, match="cap"):
        fit_scale("capped", [1.0])
    with pytest.raises(ValidationError, match="finite"):
        fit_scale("min_max", [1.0, math.inf])
    with pytest.raises(ValidationError, match="direction"):
        fit_scale("log", [1.0], direction="up")


def test_an_empty_population_fits_and_normalises_to_nothing() -> None:
    for kind in ("percentile_rank", "min_max", "z_score", "log"):
        scale, out = fit_scale(kind, [])
        assert out.size == 0
        assert math.isfinite(scale.transform_one(3.0))


# -- scorers ------------------------------------------------------------------------------
def test_weighted_sum_scores_are_the_sum_of_weighted_normalised_criteria() -> None:
    scorer = WeightedSum(
        [
            Criterion(name="spend", feature="spend", weight=0.5),
            Criterion(name="complaints", feature="complaints", weight=0.5, direction="lower",
                      normalisation="min_max"),
        ]
    )
    features = {"spend": [10.0, 20.0, 30.0], "complaints": [0, 2, 4]}
    assert isinstance(scorer, Scorer)
    scores = scorer.score(features)
    expected = [0.5 * (1 / 3) + 0.5, 0.5 * (2 / 3) + 0.25, 0.5 * 1.0 + 0.0]
    np.testing.assert_allclose(scores, expected)
    fitted = scorer.fit(features)
    np.testing.assert_allclose(fitted.score(features), scores)
    contributions = fitted.contributions(features)
    np.testing.assert_allclose(sum(contributions.values()), scores, atol=1e-12)


def test_a_large_population_is_fitted_on_threads_with_the_one_thread_results(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # From PARALLEL_FIT_MIN_CUSTOMERS customers each criterion is fitted on its own
    # thread: the scales, contributions and scores are those of one thread, bit for bit.
    n = weighted.PARALLEL_FIT_MIN_CUSTOMERS
    rng = np.random.default_rng(5)
    features = {
        "spend": rng.integers(0, 10**9, n),
        "orders": rng.integers(1, 40, n),
        "complaints": rng.random(n),
    }
    scorer = WeightedSum(
        [
            Criterion(name="spend", feature="spend", weight=0.5),
            Criterion(name="orders", feature="orders", weight=0.3),
            Criterion(name="complaints", feature="complaints", weight=0.2, direction="lower",
                      normalisation="min_max"),
        ]
    )
    results = {}
    for threads in ("1", "3"):
        monkeypatch.setenv("CUSTMGMT_THREADS", threads)
        with mock.patch.object(
            weighted, "ThreadPoolExecutor", wraps=weighted.ThreadPoolExecutor
        ) as pool:
            fitted, parts = scorer.fit_contributions(features)
        assert pool.call_count == (threads == "3")
        results[threads] = (fitted, parts)
    (one, one_parts), (three, three_parts) = results["1"], results["3"]
    for a, b in zip(one.scales, three.scales, strict=True):
        assert (a.kind, a.direction, a.low, a.high) == (b.kind, b.direction, b.low, b.high)
        np.testing.assert_array_equal(a.reference, b.reference, strict=True)
    for name in one_parts:
        np.testing.assert_array_equal(one_parts[name], three_parts[name], strict=True)
    # A bad column fails the same way on threads: the first bad criterion in order.
    bad = {**features, "orders": np.array(["x"] * n), "complaints": np.array(["y"] * n)}
    for threads in ("1", "3"):
        monkeypatch.setenv("CUSTMGMT_THREADS", threads)
        with pytest.raises(ValidationError, match="orders"):
            scorer.fit_contributions(bad)


def test_criteria_are_validated_when_built() -> None:
    with pytest.raises(ValidationError, match=r"criteria\.spend\.weight"):
        Criterion(name="spend", feature="monetary_net", weight=-0.1)
    with pytest.raises(ValidationError, match="finite"):
        Criterion(name="spend", feature="monetary_net", weight=math.nan)
    with pytest.raises(ValidationError, match="cap"):
        Criterion(name="spend", feature="monetary_net", weight=1.0, normalisation="capped")
    with pytest.raises(ValidationError, match="cap"):
        Criterion(name="spend", feature="monetary_net", weight=1.0, cap=5.0)
    with pytest.raises(ValidationError, match="distinct"):
        WeightedSum([Criterion(name="a", feature="x", weight=1.0)] * 2)


def test_a_missing_feature_is_a_validation_error_naming_it() -> None:
    scorer = WeightedSum([Criterion(name="spend", feature="monetary_net", weight=1.0)])
    with pytest.raises(ValidationError, match="monetary_net"):
        scorer.score({"frequency": [1, 2]})
    with pytest.raises(ValidationError, match="numeric"):
        scorer.score({"monetary_net": ["a", "b"]})


class _Classifier:
    """A stand-in for a fitted scikit-learn classifier."""

    def predict_proba(self, X: Any) -> Any:
        p = 1 / (1 + np.exp(-X[:, 0]))
        return np.column_stack([1 - p, p])


class _Regressor:
    def predict(self, X: Any) -> Any:
        return X[:, 0] * 2 + X[:, 1]


def test_the_model_scorer_wraps_predict_proba_predict_and_callables() -> None:
    features = {"a": [0.0, 1.0], "b": [1.0, 1.0]}
    proba = ModelScorer(_Classifier(), features=["a"]).score(features)
    np.testing.assert_allclose(proba, [0.5, 1 / (1 + math.exp(-1))])
    np.testing.assert_allclose(ModelScorer(_Regressor(), features=["a", "b"]).score(features),
                               [1.0, 3.0])
    table_fn = ModelScorer(lambda f: np.asarray(f["a"]) + 1)
    np.testing.assert_allclose(table_fn.score(features), [1.0, 2.0])


def test_the_model_scorer_refuses_bad_models_and_outputs() -> None:
    with pytest.raises(ValidationError, match="model"):
        ModelScorer(object(), features=["a"])
    with pytest.raises(ValidationError, match="features"):
        ModelScorer(_Regressor())
    bad = ModelScorer(lambda X: np.array([1.0]), features=["a"])
    with pytest.raises(ValidationError, match="one score per customer"):
        bad.score({"a": [1.0, 2.0]})
    nan = ModelScorer(lambda X: X[:, 0] * np.nan, features=["a"])
    with pytest.raises(ValidationError, match="finite"):
        nan.score({"a": [1.0, 2.0]})


# -- registry -----------------------------------------------------------------------------
def test_the_default_registry_knows_the_built_in_criteria() -> None:
    criteria = default_registry.criteria()
    assert criteria["spend"].feature == "monetary_net"
    assert criteria["complaints"].direction is Direction.LOWER
    assert criteria["frequency"].normalisation is Normalisation.PERCENTILE_RANK
    assert {"weighted_sum", "model"} <= set(default_registry.scorers())


def test_hosts_register_criteria_and_scorers_by_name() -> None:
    registry = Registry()
    spec = registry.register_criterion("vip_points", feature="points", normalisation="log")
    assert registry.criterion("vip_points") == spec
    with pytest.raises(ValidationError, match="not yet registered"):
        registry.register_criterion("vip_points", feature="points")
    registry.register_criterion("vip_points", feature="points2", replace=True)
    assert registry.criterion("vip_points").feature == "points2"
    with pytest.raises(ValidationError, match="known criterion"):
        registry.criterion("unknown")
    registry.register_scorer("double", lambda: ModelScorer(lambda X: X[:, 0] * 2, features=["x"]))
    assert registry.scorer("double").score({"x": [1.0]}).tolist() == [2.0]
    with pytest.raises(ValidationError, match="registered scorer"):
        registry.scorer("triple")
    with pytest.raises(ValidationError, match="callable"):
        registry.register_scorer("x", "not callable")  # type: ignore[arg-type]


def test_get_scorer_builds_registered_scorers_with_parameters() -> None:
    scorer = get_scorer("weighted_sum", criteria=[Criterion(name="a", feature="a", weight=1.0)])
    assert scorer.score({"a": [1.0, 3.0]}).tolist() == [0.5, 1.0]
