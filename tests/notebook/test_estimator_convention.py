"""Every estimator follows scikit-learn's convention, checked with scikit-learn itself."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from custmgmt.analytics.clv import BetaGeo, GammaGamma, ParetoNBD, simulate_bgnbd
from custmgmt.errors import CustMgmtError, NotFittedError, ValidationError
from custmgmt.notebook import Estimator, check_fitted
from custmgmt.scoring import Criterion, FittedWeightedSum, WeightedSum
from custmgmt.segmentation.clustering import KMeans

base = pytest.importorskip("sklearn.base")

CRITERIA = [
    Criterion(name="spend", feature="spend", weight=0.75),
    Criterion(name="orders", feature="orders", weight=0.25, normalisation="min_max"),
]


def estimators() -> list[Any]:
    return [
        BetaGeo(penalizer_coef=0.01, max_iter=500, tol=1e-7, max_time=30.0),
        ParetoNBD(penalizer_coef=0.0, max_iter=300),
        GammaGamma(tol=1e-6),
        KMeans(3, n_init=2, max_iter=50, tol=1e-3, random_state=7),
        WeightedSum(CRITERIA),
    ]


def _fit(model: Any) -> Any:
    if isinstance(model, GammaGamma):
        x = np.random.default_rng(0).poisson(3.0, 2000) + 1
        m = np.random.default_rng(1).gamma(5.0, 4.0, x.size)
        return model.fit(x, m)
    if isinstance(model, BetaGeo | ParetoNBD):
        data = simulate_bgnbd(2000, r=0.8, alpha=20.0, a=0.6, b=3.0, T=365.0, seed=1)
        return model.fit(data.frequency, data.recency, data.T)
    if isinstance(model, KMeans):
        return model.fit(np.random.default_rng(2).normal(size=(60, 2)))
    return model.fit({"spend": [10.0, 30.0, 20.0], "orders": [1, 1, 4]})


@pytest.mark.parametrize("model", estimators(), ids=lambda m: type(m).__name__)
def test_sklearn_clone_round_trips_every_estimator(model: Any) -> None:
    copy = base.clone(model)
    assert type(copy) is type(model)
    assert copy is not model
    assert copy.get_params() == model.get_params()
    assert repr(copy) == repr(model)


@pytest.mark.parametrize("model", estimators(), ids=lambda m: type(m).__name__)
def test_fit_returns_self_and_leaves_the_constructor_arguments_untouched(model: Any) -> None:
    before = model.get_params()
    assert _fit(model) is model
    assert model.get_params() == before
    learnt = [n for n in vars(model) if n.endswith("_") and not n.startswith("_")]
    assert learnt, "fit sets learnt attributes ending in _"
    assert not any(n.endswith("_") for n in base.clone(model).__dict__)


@pytest.mark.parametrize("model", estimators(), ids=lambda m: type(m).__name__)
def test_an_unfitted_estimator_raises_not_fitted_error(model: Any) -> None:
    with pytest.raises(NotFittedError):
        check_fitted(model)
    _fit(model)
    check_fitted(model)


def test_not_fitted_error_is_a_library_error_a_value_error_and_an_attribute_error() -> None:
    assert issubclass(NotFittedError, CustMgmtError)
    assert issubclass(NotFittedError, ValueError)
    assert issubclass(NotFittedError, AttributeError)
    assert not hasattr(BetaGeo(), "params_")


def test_using_unfitted_models_raises_not_fitted_error() -> None:
    with pytest.raises(NotFittedError):
        KMeans(2).predict([[0.0, 1.0]])
    with pytest.raises(NotFittedError):
        WeightedSum(CRITERIA).transform({"spend": [1.0], "orders": [1]})
    with pytest.raises(NotFittedError):
        WeightedSum(CRITERIA).contributions({"spend": [1.0], "orders": [1]})
    with pytest.raises(NotFittedError):
        BetaGeo().probability_alive(1, 2.0, 3.0)


def test_set_params_changes_what_fit_uses_and_refuses_unknown_names() -> None:
    model = KMeans(2, random_state=0)
    assert model.set_params(n_clusters=3) is model
    X = np.random.default_rng(3).normal(size=(40, 2))
    assert model.fit(X).cluster_centers_.shape == (3, 2)
    with pytest.raises(ValidationError, match="n_cluster"):
        model.set_params(n_cluster=3)
    assert BetaGeo().set_params(penalizer_coef=0.5).penalizer_coef == 0.5


def test_nested_parameters_are_reached_with_double_underscores() -> None:
    class Outer(Estimator):
        def __init__(self, inner: Any = None, scale: float = 1.0) -> None:
            self.inner = inner
            self.scale = scale

    outer = Outer(inner=KMeans(2), scale=2.0)
    params = outer.get_params()
    assert params["inner__n_clusters"] == 2
    assert params["scale"] == 2.0
    outer.set_params(inner__n_clusters=5)
    assert outer.inner.n_clusters == 5
    assert base.clone(outer).inner.n_clusters == 5
    assert "inner" in outer.get_params(deep=False)
    assert "inner__n_clusters" not in outer.get_params(deep=False)


def test_the_weighted_scorer_scores_new_customers_against_the_fitted_population() -> None:
    population = {"spend": [10.0, 30.0, 20.0], "orders": [1, 1, 4]}
    scorer = WeightedSum(CRITERIA).fit(population)
    assert isinstance(scorer.fitted_, FittedWeightedSum)
    assert scorer.n_customers_ == 3
    np.testing.assert_allclose(scorer.transform(population), scorer.score(population))
    newcomers = {"spend": [30.0, 5.0], "orders": [4, 1]}
    # Against the fitted population (the one-customer path agrees), the top spender
    # with most orders scores 1; normalising the newcomers against themselves differs.
    one_by_one = [scorer.fitted_.score_one([30.0, 4])[0], scorer.fitted_.score_one([5.0, 1])[0]]
    np.testing.assert_allclose(scorer.transform(newcomers), one_by_one)
    assert scorer.transform(newcomers)[0] == 1.0
    assert not np.allclose(scorer.transform(newcomers), scorer.score(newcomers))
    contributions = scorer.contributions(newcomers)
    np.testing.assert_allclose(sum(contributions.values()), scorer.transform(newcomers))


def test_a_criteria_list_is_stored_as_given() -> None:
    criteria = list(CRITERIA)
    assert WeightedSum(criteria).criteria is criteria
    assert WeightedSum(iter(CRITERIA)).criteria == tuple(CRITERIA)


@given(st.integers(1, 12), st.integers(1, 5), st.integers(0, 2**31 - 1))
def test_get_params_of_a_fitted_kmeans_equals_its_constructor_arguments(
    k: int, n_init: int, seed: int
) -> None:
    arguments = {"n_clusters": k, "n_init": n_init, "max_iter": 20, "tol": 1e-4,
                 "random_state": seed}
    model = KMeans(**arguments)
    model.fit(np.random.default_rng(seed).normal(size=(20, 2)))
    assert model.get_params() == arguments
    assert base.clone(model).get_params() == arguments


def test_the_learnt_scorecard_follows_the_convention_too() -> None:
    from custmgmt.risk.learn import ScorecardFitter

    arguments = {"name": "card", "n_bins": 6, "monotone": True, "specials": {"f": [-99.0]},
                 "l2": 0.5}
    fitter = ScorecardFitter(**arguments)
    assert base.clone(fitter).get_params(deep=False) | {"specials": arguments["specials"]} \
        == fitter.get_params(deep=False)
    with pytest.raises(NotFittedError):
        _ = fitter.card
    rng = np.random.default_rng(0)
    f = rng.normal(size=400)
    y = (rng.random(400) < 1 / (1 + np.exp(-2 * f))).astype(int)
    assert fitter.fit({"f": f, "g": rng.normal(size=400)}, y) is fitter
    params = fitter.get_params(deep=False)
    assert {k: params[k] for k in arguments} == arguments
    assert fitter.set_params(n_bins=4) is fitter
    assert fitter.n_bins == 4
