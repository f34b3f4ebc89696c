"""The learnt card against scikit-learn, evaluation against slow references, PSI."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custmgmt.errors import NotFittedError, ValidationError
from custmgmt.risk import PDOScaling, ScorecardFitter, auc, card_stability, evaluate, ks, psi
from custmgmt.risk.evaluation import psi_verdict
from custmgmt.risk.learn import check_labels, fit_logistic, monotone_merge, quantile_edges

sklearn = pytest.importorskip("sklearn")
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402


def synthetic(n: int, seed: int = 7) -> tuple[dict[str, Any], Any]:
    """Labels from a known logistic truth over five features, with missing values."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5))
    x[rng.random(n) < 0.05, 0] = np.nan
    x[:, 3] = np.round(x[:, 3] * 2)  # a coarse feature with ties
    x[rng.random(n) < 0.03, 3] = -99  # a special value
    eta = -2.0 + np.nansum(x * np.array([0.8, -0.6, 0.4, 0.0, 1.1]), axis=1)
    eta[x[:, 3] == -99] += 1.0
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)
    return {f"f{j}": x[:, j] for j in range(5)}, y


def test_the_learnt_cards_auc_is_within_0_01_of_sklearn_on_the_same_bins() -> None:
    cols, y = synthetic(60_000)
    fitter = ScorecardFitter(n_bins=10, specials={"f3": [-99]}).fit(cols, y)
    card = fitter.card
    scores = card.score_columns(cols).scores
    ours = roc_auc_score(y, -scores)
    woe = np.column_stack([fitter.binnings_[f].woe_of(cols[f]) for f in cols])
    theirs = roc_auc_score(y, LogisticRegression(C=1.0).fit(woe, y).predict_proba(woe)[:, 1])
    assert abs(ours - theirs) < 0.01
    assert ours > 0.75  # the truth is learnable: the card is not a coin toss
    assert auc(y, scores) == pytest.approx(ours, abs=1e-12)
    # the same fit through a scikit-learn estimator passed in gives the same card quality
    via = ScorecardFitter(n_bins=10, specials={"f3": [-99]},
                          estimator=LogisticRegression(C=1.0)).fit(cols, y)
    assert abs(roc_auc_score(y, -via.card.score_columns(cols).scores) - theirs) < 0.01


def test_points_run_with_the_bad_rate_and_missing_and_special_values_have_bins() -> None:
    cols, y = synthetic(40_000)
    fitter = ScorecardFitter(n_bins=8, specials={"f3": [-99]}).fit(cols, y)
    card = fitter.card
    t0 = card.table("f0")  # bad rate rises with f0: points must fall across its ranges
    ranges = [b for b in t0.bins if b.kind == "range"]
    assert [b.points for b in ranges] == sorted((b.points for b in ranges), reverse=True)
    stats = fitter.binnings_["f0"].bins
    rates = [s.bad / max(s.good + s.bad, 1) for s in stats if s.kind == "range"]
    assert rates == sorted(rates)  # monotone after merging
    assert any(b.special == (-99.0,) for b in card.table("f3").bins)
    assert card.explain({"f0": None, "f1": 0, "f2": 0, "f3": -99, "f4": 0}).parts[3].bin == "= -99"
    ivs = fitter.information_values()
    assert next(iter(ivs)) == "f4"
    assert ivs["f4"] > ivs["f2"]


def test_numpy_irls_matches_sklearn_coefficients() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(5000, 3))
    y = (rng.random(5000) < 1 / (1 + np.exp(-(0.5 + x @ [1.0, -0.5, 0.2])))).astype(int)
    b0, b = fit_logistic(x, y, l2=1.0)
    ref = LogisticRegression(C=1.0, tol=1e-10, max_iter=1000).fit(x, y)
    assert b0 == pytest.approx(ref.intercept_[0], abs=1e-4)
    assert b == pytest.approx(ref.coef_[0], abs=1e-4)


def test_a_label_column_that_is_not_binary_is_refused() -> None:
    cols = {"a": np.arange(4.0)}
    for bad in ([0, 1, 2, 1], [0.5, 1, 0, 1], ["y", "n", "y", "n"], [1, 1, 1, 1],
                [0, np.nan, 1, 0]):
        with pytest.raises(ValidationError, match="label"):
            ScorecardFitter().fit(cols, np.array(bad))
    with pytest.raises(NotFittedError):
        _ = ScorecardFitter().card
    assert check_labels(np.array([True, False])).tolist() == [1, 0]


def slow_auc(y: Any, s: Any) -> float:
    good = [v for v, t in zip(s, y, strict=True) if t == 0]
    bad = [v for v, t in zip(s, y, strict=True) if t == 1]
    wins = sum(1.0 if g > b else 0.5 if g == b else 0.0 for g in good for b in bad)
    return wins / (len(good) * len(bad))


def slow_ks(y: Any, s: Any) -> float:
    n_bad, n_good = sum(y), len(y) - sum(y)
    best = 0.0
    for cut in sorted(set(s)):
        fb = sum(1 for v, t in zip(s, y, strict=True) if t == 1 and v <= cut) / n_bad
        fg = sum(1 for v, t in zip(s, y, strict=True) if t == 0 and v <= cut) / n_good
        best = max(best, abs(fb - fg))
    return best


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1), st.integers(300, 320)), min_size=2,
                max_size=40).filter(lambda rows: 0 < sum(r[0] for r in rows) < len(rows)))
def test_auc_and_ks_match_slow_references_with_ties(rows: list[tuple[int, int]]) -> None:
    y = np.array([r[0] for r in rows])
    s = np.array([r[1] for r in rows])
    assert auc(y, s) == pytest.approx(slow_auc(y, s))
    assert ks(y, s) == pytest.approx(slow_ks(y, s))


def test_evaluation_intervals_contain_the_point_values_and_calibration_adds_up() -> None:
    cols, y = synthetic(20_000)
    fitter = ScorecardFitter().fit(cols, y)
    scores = fitter.card.score_columns(cols).scores
    ev = evaluate(y, scores, scaling=fitter.scaling, n_boot=50)
    for stat in (ev.auc, ev.ks, ev.gini):
        assert stat.low <= stat.value <= stat.high
    assert ev.gini.value == pytest.approx(2 * ev.auc.value - 1)
    assert sum(r.count for r in ev.calibration) == len(y)
    assert sum(r.bad for r in ev.calibration) == int(y.sum())
    # a good card's expected bad rate follows the observed one band by band
    observed = [r.observed for r in ev.calibration]
    expected = [r.expected for r in ev.calibration]
    assert np.corrcoef(observed, expected)[0, 1] > 0.95


def slow_psi(e: Any, a: Any, edges: Any, floor: float = 1e-4) -> float:
    total = 0.0
    bounds = [-np.inf, *edges, np.inf]
    for lo, hi in itertools.pairwise(bounds):
        pe = max(sum(1 for v in e if lo <= v < hi) / len(e), floor)
        pa = max(sum(1 for v in a if lo <= v < hi) / len(a), floor)
        total += (pa - pe) * np.log(pa / pe)
    return total


def test_psi_matches_a_slow_reference_and_gives_verdicts() -> None:
    rng = np.random.default_rng(0)
    e = rng.normal(size=2000)
    for shift, verdict in ((0.0, "stable"), (0.4, "watch"), (1.0, "shift")):
        a = rng.normal(loc=shift, size=2000)
        edges = [-1.0, -0.5, 0.0, 0.5, 1.0]
        value = psi(e, a, bins=edges)
        assert value == pytest.approx(slow_psi(e, a, edges))
        assert psi_verdict(psi(e, a)) == verdict


def test_card_stability_watches_the_score_and_each_features_bins() -> None:
    cols, y = synthetic(20_000)
    card = ScorecardFitter().fit(cols, y).card
    ref = card.score_columns(cols)
    same = card_stability(card, ref, ref)
    assert same.score_psi == pytest.approx(0)
    assert same.score_verdict == "stable"
    moved = dict(cols, f4=cols["f4"] + 1.5)
    report = card_stability(card, ref, card.score_columns(moved))
    verdicts = {f: v for f, _, v in report.features}
    assert verdicts["f4"] == "shift"
    assert verdicts["f1"] == "stable"
    assert report.score_verdict in ("watch", "shift")


def test_binning_helpers_cut_where_the_quantiles_say() -> None:
    cuts = quantile_edges([1, 2, 3, 4, 5, 6, 7, 8], 4)
    bins = np.searchsorted(cuts, np.arange(1.0, 9.0), side="right").tolist()
    assert bins == [0, 0, 1, 1, 2, 2, 3, 3]
    assert quantile_edges([5, 5, 5], 4).tolist() == []
    x = np.arange(8.0)
    y = np.array([0, 0, 1, 0, 1, 1, 0, 1])
    cuts = monotone_merge([2.0, 4.0, 6.0], x, y)
    idx = np.searchsorted(cuts, x, side="right")
    rates = [y[idx == k].mean() for k in range(len(cuts) + 1)]
    assert rates == sorted(rates)
    _ = PDOScaling()
