"""Hostile input, third round: scores and features near the float limits, a PDO too
small for whole points, and parameters of the evaluation that crashed numpy."""

from __future__ import annotations

import itertools
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custmgmt.adapters.memory import MemoryStore
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.analytics.frames import MISSING_TIME, OrderFrame
from custmgmt.cli import main
from custmgmt.cli.demo_risk import DEMO_CARD
from custmgmt.errors import ValidationError
from custmgmt.risk import (
    DEFAULT_CREDIT_POLICY,
    BaselineRule,
    Bin,
    CreditPolicy,
    FeatureTable,
    PDOScaling,
    ReviewBurstRule,
    Scorecard,
    ScorecardFitter,
    ThresholdRule,
    customer_terms,
    default_grades,
    effective_terms,
    evaluate,
    impose_restriction,
    psi,
    raise_alerts,
    risk_features,
    save_scorecard,
    score_customers,
    submit_appeal,
)
from custmgmt.risk.evaluation import calibration_table, card_stability
from custmgmt.risk.features import HOUR_US, review_bursts
from custmgmt.risk.learn import fit_logistic
from custmgmt.risk.scorecard import scale_min_max
from custmgmt.testing import make_customer, make_order
from custmgmt.testing.risk_contract import make_scorecard

BIG = float(np.finfo(np.float64).max)
Y = np.array([0, 1, 0, 1, 0, 1])


def _signal(n: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-2 * x))).astype(int)
    return x, y


@pytest.mark.parametrize("scores", [
    [1e308, -1e308, 1e308, -1e308, 0.0, 5.0],
    [BIG, BIG, BIG, -BIG, -BIG, -BIG],
    [BIG, 1.6e308, 1e308, -BIG, 0.0, 1.0],
])
def test_evaluate_scores_near_the_float_limits_without_a_warning(scores: list[float]) -> None:
    # numpy's quantile (b - a overflows) and the expected bad rate (exp overflows)
    # both warned; the calibration table had inf/NaN band edges.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ev = evaluate(Y, np.array(scores), n_boot=20)
    for row in ev.calibration:
        assert np.isfinite([row.low, row.high, row.expected]).all()
        assert 0.0 <= row.expected <= 1.0
    assert sum(r.count for r in ev.calibration) == len(scores)
    assert 0.0 <= ev.auc.low <= ev.auc.high <= 1.0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=2, max_size=30))
def test_calibration_bands_cover_any_finite_scores_in_order(scores: list[float]) -> None:
    y = np.array([i % 2 for i in range(len(scores))])
    rows = calibration_table(y, np.array(scores), PDOScaling(), bands=4)
    assert sum(r.count for r in rows) == len(scores)
    for a, b in itertools.pairwise(rows):
        assert a.high < b.low
    assert rows[0].low == min(scores)
    assert rows[-1].high == max(scores)


def test_the_expected_bad_rate_is_finite_for_any_score() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rates = PDOScaling().bad_rate_at_score(np.array([-BIG, -1e300, 0.0, 600.0, 1e300, BIG]))
        tiny_pdo = PDOScaling(pdo=1e-300).bad_rate_at_score(np.array([599.0, 601.0]))
    assert rates.tolist()[0] == 1.0
    assert rates.tolist()[-1] == 0.0
    assert rates[3] == pytest.approx(1 / 51)
    assert tiny_pdo.tolist() == [1.0, 0.0]
    assert PDOScaling().bad_rate_at_score(600) == pytest.approx(1 / 51)


@pytest.mark.parametrize("kwargs", [
    {"pdo": 1.7e308},  # factor pdo / ln 2 is inf
    {"base_score": 1e308, "pdo": 1e308, "base_odds": 1e-300},  # offset is inf
])
def test_a_scaling_beyond_the_float_range_is_refused_where_it_is_used(
        kwargs: dict[str, float]) -> None:
    scaling = PDOScaling(**kwargs)
    with pytest.raises(ValidationError, match=r"^scaling: got 'PDO .*finite numbers"):
        evaluate(Y, np.arange(6.0), scaling=scaling)
    with pytest.raises(ValidationError, match=r"^scaling"):
        scaling.score_at_odds(2.0)


def test_psi_of_values_near_the_float_limits_is_finite_without_a_warning() -> None:
    # The median of -BIG and BIG is interpolated: b - a overflowed in numpy's quantile.
    e = np.array([-BIG, BIG] * 5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert psi(e, e) == 0.0
        assert psi(e, np.array([-BIG] * 10)) > 0.25


@pytest.mark.parametrize("column", ["expected", "actual"])
def test_psi_refuses_infinite_values(column: str) -> None:
    finite, infinite = np.arange(5.0), np.array([0.0, 1.0, np.inf])
    args = (infinite, finite) if column == "expected" else (finite, infinite)
    with pytest.raises(ValidationError, match=rf"^{column}: got 'inf'"):
        psi(*args)


@pytest.mark.parametrize("floor", [0, 0.0, -1.0, float("nan"), 1.0, "x", True])
def test_psi_refuses_a_floor_that_is_not_a_share(floor: Any) -> None:
    # floor=0 gave ln(0 / 0) for a bin empty on both sides: NaN with a warning.
    with pytest.raises(ValidationError, match=r"^floor"):
        psi(np.arange(5.0), np.arange(5.0) + 10, floor=floor)


@pytest.mark.parametrize(("name", "value"), [
    ("seed", -1), ("seed", 1.5), ("seed", "0"), ("seed", True),
    ("max_boot_rows", 0), ("max_boot_rows", -5), ("max_boot_rows", 1.5),
    ("scaling", "PDO 20"),
])
def test_evaluate_refuses_bad_parameters_by_name(name: str, value: Any) -> None:
    # They were a ValueError or TypeError from numpy (or, for max_boot_rows=0, no
    # interval at all without a word).
    with pytest.raises(ValidationError, match=rf"^{name}: got"):
        evaluate(Y, np.arange(6.0), **{name: value})


def test_evaluate_refuses_a_score_beyond_any_float() -> None:
    with pytest.raises(ValidationError, match=r"^scores"):
        evaluate(Y, [10**400] * 6)


def test_a_pdo_too_small_for_whole_points_is_refused_naming_it() -> None:
    # --pdo 1e-300 rounded every bin to 0 points: one score for everybody, silently.
    x, y = _signal()
    for pdo in (1e-300, 1e-3):
        with pytest.raises(ValidationError, match=r"^scaling\.pdo: got") as info:
            ScorecardFitter(scaling=PDOScaling(pdo=pdo)).fit({"x": x}, y)
        assert info.value.value == pdo
    card = ScorecardFitter(scaling=PDOScaling(pdo=1.0)).fit({"x": x}, y).card
    low, high = card.score_range
    assert low < high


def test_a_flat_card_from_features_that_tell_no_rows_apart_is_still_learnt() -> None:
    # Nothing to resolve: no PDO would give the rows different points.
    _, y = _signal()
    for column in (np.ones(len(y)), np.full(len(y), np.nan)):
        card = ScorecardFitter(scaling=PDOScaling(pdo=1e-300)).fit({"x": column}, y).card
        low, high = card.score_range
        assert low == high


def test_a_refused_refit_leaves_the_fitter_as_it_was() -> None:
    x, y = _signal()
    fitter = ScorecardFitter().fit({"x": x}, y)
    before = (fitter.binnings_, fitter.intercept_, fitter.scorecard_)
    fitter.scaling = PDOScaling(pdo=1e-300)
    with pytest.raises(ValidationError):
        fitter.fit({"x": -x}, y)
    assert (fitter.binnings_, fitter.intercept_, fitter.scorecard_) == before


def test_a_pdo_overflowing_the_points_is_refused_without_a_numpy_warning() -> None:
    # -factor * beta[j] * woe ran on a numpy scalar: an overflow RuntimeWarning first.
    x, y = _signal()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValidationError, match=r"^scaling: got 'PDO 1e"):
            ScorecardFitter(scaling=PDOScaling(pdo=1e308)).fit({"x": x}, y)


def _table(tmp_path: Path) -> Path:
    x, y = _signal()
    path = tmp_path / "t.csv"
    path.write_text("x,y\n" + "".join(f"{float(a)!r},{b}\n" for a, b in zip(x, y, strict=True)),
                    encoding="utf-8")
    return path


@pytest.mark.parametrize(("option", "value"), [
    ("--pdo", "1e-300"), ("--pdo", "-1"), ("--pdo", "nan"), ("--base-odds", "0"),
    ("--base-score", "inf"), ("--bins", "0"), ("--name", ""),
])
def test_risk_fit_names_the_option_of_a_refused_value(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str, value: str) -> None:
    assert main(["risk", "fit", str(_table(tmp_path)), "--label", "y", option, value]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"custmgmt: error: {option}: got"), err
    assert capsys.readouterr().out == ""


def test_risk_fit_with_features_near_the_float_limits_prints_without_a_warning(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    x, y = _signal()
    path = tmp_path / "t.csv"
    rows = (f"{float(a) * 1e307!r},{b}\n" for a, b in zip(x, y, strict=True))
    path.write_text("x,y\n" + "".join(rows), encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert main(["risk", "fit", str(path), "--label", "y"]) == 0
    assert "AUC" in capsys.readouterr().out


class _Estimator:
    """A stand-in linear classifier whose learnt attributes are given."""

    def __init__(self, coef: Any, intercept: Any) -> None:
        self.given = (coef, intercept)

    def fit(self, x: Any, y: Any) -> _Estimator:
        self.coef_, self.intercept_ = self.given
        return self


@pytest.mark.parametrize(("coef", "intercept"), [
    ([[1.0]], [0.0]),  # too few: IndexError
    ([[1.0, 2.0, 3.0]], [0.0]),  # too many: the third was ignored without a word
    ([[float("nan"), 1.0]], [0.0]),  # blamed the scaling
    ([[1.0, 1.0]], [float("inf")]),
    ([["a", "b"]], [0.0]),  # ValueError from numpy
    ([[1.0, 1.0]], []),  # IndexError
])
def test_an_estimator_with_unusable_coefficients_is_refused_naming_it(
        coef: Any, intercept: Any) -> None:
    x, y = _signal()
    with pytest.raises(ValidationError, match=r"^estimator: got"):
        ScorecardFitter(estimator=_Estimator(coef, intercept)).fit({"a": x, "b": -x}, y)


def test_an_estimator_without_fit_and_a_monotone_that_is_not_a_bool_are_refused() -> None:
    x, y = _signal()
    with pytest.raises(ValidationError, match=r"^estimator: got 'int'"):
        ScorecardFitter(estimator=42).fit({"a": x}, y)
    with pytest.raises(ValidationError, match=r"^monotone: got 'no'"):
        ScorecardFitter(monotone="no").fit({"a": x}, y)  # type: ignore[arg-type]


def test_predict_log_odds_names_a_missing_column() -> None:
    # {} was a StopIteration, a missing column a KeyError.
    x, y = _signal()
    fitter = ScorecardFitter().fit({"a": x, "b": -x}, y)
    for columns in ({}, {"a": x}):
        with pytest.raises(ValidationError, match=r"^columns: got '[ab]'"):
            fitter.predict_log_odds(columns)
    assert np.allclose(fitter.predict_log_odds({"b": -x, "a": x}),
                       fitter.predict_log_odds({"a": x, "b": -x}))


@pytest.mark.parametrize("make_store", [MemoryStore, lambda: SQLiteStore(":memory:")])
def test_alerts_early_in_the_calendar_start_their_window_at_year_1(make_store: Any) -> None:
    # as_of - window before year 1 raised OverflowError from raise_alerts.
    store = make_store()
    at = datetime(2, 1, 1, 12, tzinfo=UTC)
    store.customers.add(make_customer(id="张伟"))
    store.orders.add(make_order(customer_id="张伟", placed_at=at - timedelta(days=3)))
    rules = [ThresholdRule(name="t", feature="cancelled_99999d", op=">=", threshold=0),
             BaselineRule(name="b"), ReviewBurstRule(name="r", lookback_days=100_000)]
    run = raise_alerts(store, rules, as_of=at)
    assert [a.rule for a in run.added] == ["t"]
    stored = store.risk.find_alerts()[0]
    assert stored.window_start == datetime(1, 1, 1, tzinfo=UTC)
    assert stored.window_end == at


def _restricted_store() -> MemoryStore:
    store = MemoryStore()
    store.customers.add(make_customer(id="c1"))
    impose_restriction(store, id="R1", customer_id="c1", kind="restricted", reason="r",
                       actor="ops", start=datetime(2025, 1, 6, 9, tzinfo=UTC))
    return store


def test_an_appeal_whose_deadline_passes_year_9999_is_refused_at_once_naming_review_time(
        ) -> None:
    # A million-day review time walked the calendar's working days to year 9999 first
    # (about 8 s) and then named the calendar's own parameter, "delta".
    store = _restricted_store()
    at = datetime(2025, 2, 3, 10, tzinfo=UTC)
    with pytest.raises(ValidationError, match=r"^review_time: got"):
        submit_appeal(store, id="A1", restriction_id="R1", statement="s", at=at,
                      actor="c1", review_time=timedelta(days=999_999_999))
    with pytest.raises(ValidationError, match=r"^review_time: got"):
        submit_appeal(store, id="A1", restriction_id="R1", statement="s",
                      at=datetime(9999, 12, 31, 12, tzinfo=UTC), actor="c1")
    assert store.risk.find_appeals() == []
    assert len(store.risk.get_restriction("R1").events) == 1


def test_an_appeal_calendar_that_is_not_a_calendar_is_refused_and_nothing_is_stored() -> None:
    store = _restricted_store()
    with pytest.raises(ValidationError, match=r"^calendar: got 'x'"):
        submit_appeal(store, id="A1", restriction_id="R1", statement="s",
                      at=datetime(2025, 2, 3, 10, tzinfo=UTC), actor="c1",
                      calendar="x")  # type: ignore[arg-type]
    assert store.risk.find_appeals() == []


def test_customer_terms_and_raise_alerts_check_their_names_even_with_nothing_to_do() -> None:
    # A card name with a NUL gave the default terms; an empty actor was accepted when
    # no rule fired.
    store = _restricted_store()
    at = datetime(2025, 2, 3, 10, tzinfo=UTC)
    with pytest.raises(ValidationError, match=r"^card_name: got"):
        customer_terms(store, "c1", at=at, card_name="\x00")
    with pytest.raises(ValidationError, match=r"^actor: got ''"):
        raise_alerts(store, [], as_of=at, actor="")


@pytest.mark.parametrize("terms", [42, None])
def test_a_credit_policy_of_no_rows_is_a_validation_error(terms: Any) -> None:
    with pytest.raises(ValidationError, match=r"^CreditPolicy\.terms"):
        CreditPolicy(terms=terms)


@pytest.mark.parametrize(("args", "field"), [
    (("x", "A", [], datetime(2025, 1, 6, tzinfo=UTC)), "policy"),
    ((DEFAULT_CREDIT_POLICY, "A", "abc", datetime(2025, 1, 6, tzinfo=UTC)), "restrictions"),
    ((DEFAULT_CREDIT_POLICY, "A", None, datetime(2025, 1, 6, tzinfo=UTC)), "restrictions"),
    ((DEFAULT_CREDIT_POLICY, "A", [], datetime(2025, 1, 6)), "at"),
])
def test_effective_terms_refuses_what_it_cannot_read_by_name(args: tuple[Any, ...],
                                                            field: str) -> None:
    # AttributeError / TypeError before; a naive time was accepted without restrictions.
    with pytest.raises(ValidationError, match=rf"^{field}: got"):
        effective_terms(*args)


def test_risk_fit_names_the_row_of_a_cell_beyond_the_float_range(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # "1e999" read as inf, refused later as "x: got 'inf'" without the row.
    path = tmp_path / "t.csv"
    path.write_text("x,y\n1,0\n2,1\n1e999,0\n4,1\n", encoding="utf-8")
    assert main(["risk", "fit", str(path), "--label", "y"]) == 2
    assert "x (row 4): got '1e999', expected a finite number" in capsys.readouterr().err


@pytest.mark.parametrize(("raw", "expected"), [
    # max - min overflowed to inf: ValueError "cannot convert float NaN to integer".
    ([[BIG, -BIG], [0.0, 1.0]], [[550, 0], [0, 0]]),
    # the sum of two spans overflowed: each table got 1 point instead of half the range.
    ([[BIG, 0.0], [BIG, 0.0]], [[275, 0], [275, 0]]),
])
def test_min_max_scaling_of_raw_points_near_the_float_limit(
        raw: list[list[float]], expected: list[list[int]]) -> None:
    assert scale_min_max(raw, 300, 850) == (300, expected)


@pytest.mark.parametrize("raw", [[None], "ab", 5])
def test_min_max_scaling_refuses_tables_that_are_not_sequences(raw: Any) -> None:
    with pytest.raises(ValidationError, match=r"^raw"):
        scale_min_max(raw, 300, 850)


def test_scoring_values_beyond_float64_is_a_validation_error_not_a_warning() -> None:
    card = make_scorecard()
    feature = card.features[0]
    huge = {f: np.array([0.0]) for f in card.features}
    huge[feature] = np.array([np.longdouble("1e400")])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValidationError, match=rf"^{feature}: got 'inf'"):
            card.score_columns(huge)
    with pytest.raises(ValidationError, match=rf"^{feature}: got"):
        card.explain({feature: 10**400})  # OverflowError from float()
    with pytest.raises(ValidationError, match=rf"^{feature}: got"):
        card.table(feature).bin_indexes(["a"])  # ValueError from numpy


@pytest.mark.parametrize("bins", [[[0.7]], [[float("nan")]], [[1e300]], [["a"]]])
def test_recomputing_from_bins_that_are_not_whole_indexes_is_refused(bins: Any) -> None:
    # 0.7 was truncated to bin 0; NaN and 1e300 warned in the cast.
    card = make_scorecard()
    matrix = np.array([row * len(card.tables) for row in bins])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValidationError, match=r"^bins: got"):
            card.points_of_bins(matrix)


def test_a_grade_is_asked_for_whole_points_only() -> None:
    with pytest.raises(ValidationError, match=r"^score: got '500'"):
        make_scorecard().grade_for("500")  # type: ignore[arg-type]


def test_the_overview_prints_early_years_with_four_digits_and_names_a_bad_card_option(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # %Y printed year 1 as "1-01-01"; a blank --card was named "card_name".
    path = tmp_path / "s.sqlite3"
    first, last = datetime(1, 1, 1, 12, tzinfo=UTC), datetime(9999, 12, 31, 12, tzinfo=UTC)
    with SQLiteStore(path) as store:
        store.customers.add(make_customer(id="张伟"))
        store.orders.add(make_order(customer_id="张伟", placed_at=first))
        save_scorecard(store, DEMO_CARD)
        score_customers(store, DEMO_CARD, as_of=first)
        impose_restriction(store, id="R1", customer_id="张伟", kind="restricted", reason="r",
                           actor="ops", start=first, end=last)
        submit_appeal(store, id="A1", restriction_id="R1", statement="s", at=first, actor="c")
    assert main(["risk", "--db", str(path), "--as-of", "2025-01-01"]) == 0
    out = capsys.readouterr().out
    assert "as of 0001-01-01, 1 customers" in out
    assert "since 0001-01-01 until 9999-12-31" in out
    assert "deadline 0001-01-03 18:00" in out
    for card in ("", "a\x01b"):
        assert main(["risk", "--db", str(path), "--card", card]) == 2
        assert capsys.readouterr().err.startswith("custmgmt: error: --card: got")


def _bursts_by_hand(codes: np.ndarray, at: np.ndarray, n: int, window: int) -> list[int]:
    out = [0] * n
    for c, t in zip(codes.tolist(), at.tolist(), strict=True):
        inside = sum(1 for c2, t2 in zip(codes.tolist(), at.tolist(), strict=True)
                     if c2 == c and t - window <= t2 <= t)
        out[c] = max(out[c], inside)
    return out


#: Microseconds of 0001-01-01 and of 9999-12-31 (the calendar's ends).
_FIRST_US, _LAST_US = -62_135_596_800_000_000, 253_402_214_400_000_000


def test_review_bursts_with_one_review_centuries_away_are_still_counted() -> None:
    # customer * span passed int64 and wrapped: 151 of 300 customers got wrong counts
    # (all zeros) once one review was dated in year 1.
    rng = np.random.default_rng(0)
    codes = np.repeat(np.arange(300), 3)
    at = 1_700_000_000_000_000 + rng.integers(0, 240 * HOUR_US, size=len(codes))
    at[0] = _FIRST_US
    n = 300
    assert review_bursts(codes, at, n, 24 * HOUR_US).tolist() == _bursts_by_hand(
        codes, at, n, 24 * HOUR_US)


@settings(max_examples=80, deadline=None)
@given(rows=st.lists(st.tuples(st.integers(0, 40), st.one_of(
           st.integers(_FIRST_US, _LAST_US),
           st.integers(0, 48 * HOUR_US))), min_size=1, max_size=25),
       window_hours=st.sampled_from([1, 24, 100_000]))
def test_review_bursts_match_counting_by_hand_anywhere_in_the_calendar(
        rows: list[tuple[int, int]], window_hours: int) -> None:
    codes = np.array([c for c, _ in rows], dtype=np.int64)
    at = np.array([t for _, t in rows], dtype=np.int64)
    window = window_hours * HOUR_US
    assert review_bursts(codes, at, 41, window).tolist() == _bursts_by_hand(
        codes, at, 41, window)


def test_a_baseline_factor_near_the_float_limit_fires_nothing_without_a_warning() -> None:
    # factor * expected overflowed in numpy: a RuntimeWarning (an error under -W error).
    store = MemoryStore()
    store.customers.add(make_customer(id="c1"))
    at = datetime(2025, 6, 30, tzinfo=UTC)
    for days in range(5, 200, 5):
        placed = at - timedelta(days=days)
        store.orders.add(make_order(customer_id="c1", placed_at=placed)
                         .cancel(at=placed + timedelta(hours=1)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run = raise_alerts(store, [BaselineRule(name="b", factor=1e308, min_count=1)],
                           as_of=at)
    assert run.added == ()


def _three_orders() -> OrderFrame:
    return OrderFrame.from_arrays(
        customer_id=np.array([1, 1, 2]),
        placed_at=np.array(["2024-03-01", "2024-03-05", "2024-03-10"], dtype="datetime64[D]"),
        amount=np.array([1000, 2000, 800]), currency="CNY",
        status=["delivered", "delivered", "delivered"])


_PAYMENT_FEATURES = ["late_payment_rate", "payment_lag_mean", "unpaid_count"]


@pytest.mark.parametrize(("paid_at", "field"), [
    # -2**63 + 1 minus the placement wrapped: a payment 10^8 days late, "late".
    (lambda p: np.array([-(2**63) + 1, MISSING_TIME, p[2]]), "paid_at"),
    # a payment before its order counted the order as unpaid.
    (lambda p: p - 1, "paid_at[0]"),
    # floats were truncated to µs, NaN warned, text was a ValueError.
    (lambda p: p.astype(np.float64), "paid_at"),
    (lambda p: np.array([np.nan, 1.0, 2.0]), "paid_at"),
    (lambda p: ["x", "y", "z"], "paid_at"),
    (lambda p: np.array([2**64 - 1, 0, 0], dtype=np.uint64), "paid_at"),
])
def test_payment_times_that_cannot_be_payments_are_refused(paid_at: Any, field: str) -> None:
    orders = _three_orders()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValidationError) as info:
            risk_features(orders, as_of=datetime(2024, 3, 31, tzinfo=UTC),
                          features=_PAYMENT_FEATURES, paid_at=paid_at(orders.placed_at))
    assert info.value.field == field


def test_payment_times_as_datetime64_are_read_as_times_not_microseconds() -> None:
    # Days were cast to int64 and read as µs: every order "paid" in 1970, i.e. unpaid.
    orders = _three_orders()
    paid = np.array(["2024-03-02", "2024-03-06", "NaT"], dtype="datetime64[D]")
    f = risk_features(orders, as_of=datetime(2024, 3, 31, tzinfo=UTC),
                      features=_PAYMENT_FEATURES, paid_at=paid)
    assert np.asarray(f["payment_lag_mean"]).tolist()[0] == 1.0
    assert np.asarray(f["unpaid_count"]).tolist() == [0, 1]


def test_stability_refuses_a_scoring_by_another_card_with_the_same_features() -> None:
    # A card with fewer bins for a feature: a broadcasting ValueError one way round, and
    # a "shift" of 5.39 over bins the card never had the other way.
    a = make_scorecard()
    flat = FeatureTable(feature="return_rate_90d", bins=(
        Bin(label="all", points=0), Bin(label="missing", missing=True, points=0)))
    b = Scorecard(name="credit", version=2, base_points=500, tables=(flat, a.tables[1]),
                  grades=default_grades(450, 550))
    columns = {"return_rate_90d": np.array([0.05, 0.2, 0.9, np.nan, -1.0]),
               "dispute_count": np.array([0, 1, 5, 0, 2.0])}
    by_a, by_b = a.score_columns(columns), b.score_columns(columns)
    for card, reference, current in ((b, by_a, by_b), (a, by_b, by_a)):
        with pytest.raises(ValidationError, match=r"^reference: got 'credit v"):
            card_stability(card, reference, current)
    assert card_stability(a, by_a, by_a).score_psi == 0.0


@pytest.mark.parametrize(("args", "field"), [
    (("x", "batch", "batch"), "card"), (("card", "x", "batch"), "reference"),
    (("card", "batch", None), "current"),
])
def test_stability_names_an_argument_that_is_not_a_card_or_a_scoring(
        args: tuple[Any, ...], field: str) -> None:
    card = make_scorecard()
    batch = card.score_columns({f: np.array([0.0, 1.0]) for f in card.features})
    given = [card if a == "card" else batch if a == "batch" else a for a in args]
    with pytest.raises(ValidationError, match=rf"^{field}: got"):
        card_stability(*given)


def test_psi_refuses_a_boolean_bin_count() -> None:
    # True was read as the explicit edge 1.0.
    with pytest.raises(ValidationError, match=r"^bins: got True"):
        psi(np.arange(5.0), np.arange(5.0), bins=True)


@pytest.mark.parametrize(("cell", "shown"), [("", "''"), ("2", "2.0")])
def test_risk_fit_names_the_row_of_a_label_that_is_not_0_or_1(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], cell: str, shown: str) -> None:
    # An empty label cell was "--label: got nan", without saying where.
    path = tmp_path / "t.csv"
    path.write_text(f"x,y\n1,0\n2,1\n3,{cell}\n4,1\n", encoding="utf-8")
    assert main(["risk", "fit", str(path), "--label", "y"]) == 2
    err = capsys.readouterr().err
    assert f"--label: got {shown}, expected a binary label" in err
    assert "(row 4 of column 'y')" in err


_Y6 = np.array([0, 1, 0, 1, 1, 0])


@pytest.mark.parametrize(("x", "y", "kwargs", "field"), [
    ([[np.nan], [1], [2], [3], [4], [5]], _Y6, {}, "x"),  # ConvergenceError, step nan
    ([[np.inf], [1], [2], [3], [4], [5]], _Y6, {}, "x"),  # a matmul warning
    ([[1e308], [-1e308], [2], [3], [4], [5]], _Y6, {}, "x"),  # float32 cast overflow
    ([["a"]] * 6, _Y6, {}, "x"),  # ValueError from numpy
    (np.ones((6, 1)), np.array([0, 2, 0, 1, 1, 0]), {}, "y"),  # fitted as if 2 were 1
    (np.ones((6, 1)), _Y6, {"max_iter": 0}, "max_iter"),
    (np.ones((6, 1)), _Y6, {"max_iter": 10**12, "tol": 0.0}, "max_iter"),  # for ever
    (np.ones((6, 1)), _Y6, {"tol": float("nan")}, "tol"),
])
def test_fit_logistic_refuses_inputs_it_cannot_fit_by_name(
        x: Any, y: Any, kwargs: dict[str, Any], field: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValidationError) as info:
            fit_logistic(x, y, **kwargs)
    assert info.value.field == field


def test_fit_logistic_on_large_but_bounded_values_fits_without_a_warning() -> None:
    x = np.array([[1e5], [-1e5], [2.0], [3.0], [4.0], [5.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        intercept, coef = fit_logistic(x, _Y6)
    assert np.isfinite(intercept)
    assert np.isfinite(coef).all()


def test_alerts_of_two_rules_whose_names_run_into_the_customer_ids_are_both_raised() -> None:
    # Rule "x" for customer "y:z" and rule "x:y" for customer "z" shared the alert id
    # "x:y:z:<as_of>": the second was counted as a duplicate and never raised.
    store = MemoryStore()
    at = datetime(2025, 6, 30, tzinfo=UTC)
    for cid in ("z", "y:z"):
        store.customers.add(make_customer(id=cid))
        store.orders.add(make_order(customer_id=cid, placed_at=at - timedelta(days=3)))
    rules = [ThresholdRule(name=name, feature="orders_90d", op=">=", threshold=1)
             for name in ("x", "x:y")]
    run = raise_alerts(store, rules, as_of=at)
    assert run.duplicates == 0
    assert sorted((a.rule, a.customer_id) for a in run.added) == [
        ("x", "y:z"), ("x", "z"), ("x:y", "y:z"), ("x:y", "z")]
    assert len({a.id for a in run.added}) == 4
    again = raise_alerts(store, rules, as_of=at)
    assert (again.added, again.duplicates) == ((), 4)
