"""A score is always the sum of its bins' points, in every path; bad cards are refused."""

from __future__ import annotations

import contextlib
import math
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custmgmt.adapters.memory import MemoryStore
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.errors import ValidationError
from custmgmt.risk import (
    Bin,
    FeatureTable,
    GradeBand,
    PDOScaling,
    Scorecard,
    ScoreRun,
    default_grades,
    scale_min_max,
)

AS_OF = datetime(2024, 6, 30, tzinfo=UTC)


def reference_points(table: FeatureTable, value: float | None) -> tuple[int, str]:
    """The obviously correct lookup: missing, then specials, then the interval."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        hits = [b for b in table.bins if b.missing]
    else:
        hits = [b for b in table.bins if value in b.special]
        if not hits:
            hits = [b for b in table.bins if not b.missing and not b.special
                    and (b.lower is None or b.lower <= value)
                    and (b.upper is None or value < b.upper)]
    assert len(hits) == 1
    return hits[0].points, hits[0].label


@st.composite
def tables(draw: Any, name: str) -> FeatureTable:
    cuts = sorted(set(draw(st.lists(st.integers(-50, 50), min_size=0, max_size=5))))
    points = st.integers(-100, 100)
    edges: list[float | None] = [None, *[float(c) for c in cuts], None]
    bins = [Bin(label=f"r{i}", lower=edges[i], upper=edges[i + 1], points=draw(points))
            for i in range(len(edges) - 1)]
    bins.append(Bin(label="missing", missing=True, points=draw(points)))
    specials = sorted(set(draw(st.lists(st.integers(-60, 60), max_size=3))))
    for i, s in enumerate(specials):
        bins.append(Bin(label=f"s{i}", special=(float(s),), points=draw(points)))
    order = draw(st.permutations(range(len(bins))))
    return FeatureTable(feature=name, bins=tuple(bins[i] for i in order))


@st.composite
def cards(draw: Any) -> Scorecard:
    k = draw(st.integers(1, 4))
    ts = tuple(draw(tables(f"f{j}")) for j in range(k))
    base = draw(st.integers(300, 700))
    lo = base + sum(t.min_points for t in ts)
    hi = base + sum(t.max_points for t in ts)
    return Scorecard(name="card", version=1, base_points=base, tables=ts,
                     grades=default_grades(lo, max(hi, lo + 4)))


values = st.one_of(st.none(), st.just(float("nan")), st.integers(-70, 70).map(float),
                   st.floats(-70, 70, allow_nan=False))


@settings(max_examples=60, deadline=None)
@given(card=cards(), data=st.data())
def test_the_score_is_the_sum_of_the_bins_points_in_every_path(card: Scorecard,
                                                               data: Any) -> None:
    n = data.draw(st.integers(1, 12))
    rows = [{f: data.draw(values) for f in card.features} for _ in range(n)]
    expected = []
    for row in rows:
        parts = [reference_points(card.table(f), row[f]) for f in card.features]
        expected.append(card.base_points + sum(p for p, _ in parts))
        e = card.explain(row)
        assert e.score == expected[-1]
        assert [p.bin for p in e.parts] == [label for _, label in parts]
        assert e.grade == card.grade_for(e.score).grade
    columns = {f: np.array([np.nan if r[f] is None else r[f] for r in rows]) for f in card.features}
    batch = card.score_columns(columns)
    assert batch.scores.tolist() == expected
    assert [batch.grade_of(i) for i in range(n)] == [card.grade_for(s).grade for s in expected]
    assert card.points_of_bins(batch.bins).tolist() == expected
    for store in (MemoryStore(), SQLiteStore(":memory:")):
        store.risk.add_scorecard(card)
        run = ScoreRun(id="r", card_name="card", card_version=1, as_of=AS_OF,
                       customer_ids=[f"c{i}" for i in range(n)], batch=batch)
        store.risk.add_score_run(run)
        back = store.risk.get_score_run("r")
        assert back.batch.scores.tolist() == expected
        assert back.recomputed(card).tolist() == expected
        assert [h.score for h in store.risk.score_history("c0")] == [expected[0]]
        store.close()


def test_pdo_scaling_reproduces_the_textbook_example() -> None:
    s = PDOScaling(base_score=600, base_odds=50, pdo=20)
    assert s.factor == pytest.approx(28.8539, abs=1e-4)
    assert s.offset == pytest.approx(487.1229, abs=1e-4)
    assert s.score_at_odds(50) == pytest.approx(600)
    assert s.score_at_odds(100) == pytest.approx(620)
    assert s.score_at_odds(25) == pytest.approx(580)
    assert float(s.odds_at_score(640)) == pytest.approx(200)


@settings(max_examples=80, deadline=None)
@given(raw=st.lists(st.lists(st.floats(-50, 50), min_size=1, max_size=6), min_size=1,
                    max_size=5),
       low=st.integers(0, 500), width=st.integers(1, 1000))
def test_min_max_scaling_keeps_the_ends_exact_after_rounding(
        raw: list[list[float]], low: int, width: int) -> None:
    if all(max(t) == min(t) for t in raw):
        with pytest.raises(ValidationError):
            scale_min_max(raw, low, low + width)
        return
    base, points = scale_min_max(raw, low, low + width)
    assert base == low
    assert base + sum(min(t) for t in points) == low
    assert base + sum(max(t) for t in points) == low + width
    for r, p in zip(raw, points, strict=True):  # order within a table is kept
        for i in range(len(r)):
            for j in range(len(r)):
                if r[i] < r[j]:
                    assert p[i] <= p[j]


def _bins(*bins: Bin) -> tuple[Bin, ...]:
    return bins


def test_overlapping_or_gapped_bins_are_refused_naming_the_problem() -> None:
    missing = Bin(label="m", missing=True, points=0)
    with pytest.raises(ValidationError, match="overlap"):
        FeatureTable(feature="x", bins=_bins(Bin(label="a", upper=5, points=1),
                                             Bin(label="b", lower=3, points=2), missing))
    with pytest.raises(ValidationError, match="gap"):
        FeatureTable(feature="x", bins=_bins(Bin(label="a", upper=3, points=1),
                                             Bin(label="b", lower=5, points=2), missing))
    with pytest.raises(ValidationError, match="gap"):
        FeatureTable(feature="x", bins=_bins(Bin(label="a", lower=0, points=1), missing))
    with pytest.raises(ValidationError, match="missing bin"):
        FeatureTable(feature="x", bins=_bins(Bin(label="a", points=1)))
    with pytest.raises(ValidationError, match="special value"):
        FeatureTable(feature="x", bins=_bins(Bin(label="a", points=1), missing,
                                             Bin(label="s", special=(1,), points=0),
                                             Bin(label="t", special=(1,), points=0)))
    with pytest.raises(ValidationError, match=r"Bin\.points"):
        Bin(label="a", points=1.5)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match=r"Bin\.upper"):
        Bin(label="a", lower=3, upper=3, points=0)


def test_grade_bands_must_cover_the_whole_score_range() -> None:
    table = FeatureTable(feature="x", bins=_bins(Bin(label="a", upper=0, points=0),
                                                 Bin(label="b", lower=0, points=100),
                                                 Bin(label="m", missing=True, points=50)))
    with pytest.raises(ValidationError, match=r"covering the whole score range 500\.\.600"):
        Scorecard(name="c", version=1, base_points=500, tables=(table,),
                  grades=(GradeBand(grade="A", lower=550, upper=600),
                          GradeBand(grade="B", lower=510, upper=549)))
    with pytest.raises(ValidationError, match="without gap or overlap"):
        Scorecard(name="c", version=1, base_points=500, tables=(table,),
                  grades=(GradeBand(grade="A", lower=550, upper=600),
                          GradeBand(grade="B", lower=500, upper=548)))
    with pytest.raises(ValidationError, match="without gap or overlap"):
        Scorecard(name="c", version=1, base_points=500, tables=(table,),
                  grades=(GradeBand(grade="A", lower=550, upper=600),
                          GradeBand(grade="B", lower=500, upper=560)))


def test_scoring_refuses_an_unknown_feature_and_a_missing_column() -> None:
    card = Scorecard(
        name="c", version=1, base_points=0,
        tables=(FeatureTable(feature="x", bins=_bins(Bin(label="a", points=0),
                                                     Bin(label="m", missing=True, points=10))),),
        grades=default_grades(0, 10))
    with pytest.raises(ValidationError, match="only the card's features"):
        card.explain({"x": 1, "y": 2})
    with pytest.raises(ValidationError, match="a column for every feature"):
        card.score_columns({"y": np.zeros(3)})
    with pytest.raises(ValidationError, match="finite values or NaN"):
        card.score_columns({"x": np.array([np.inf])})
    with pytest.raises(ValidationError, match="a number"):
        card.explain({"x": "7"})


@settings(max_examples=50, deadline=None)
@given(junk=st.one_of(st.text(), st.lists(st.integers()), st.dictionaries(st.text(),
                                                                         st.integers()),
                      st.floats(allow_nan=True), st.none()))
def test_random_bad_rows_raise_validation_errors_not_crashes(junk: Any) -> None:
    for build in (
        lambda: Bin(label=junk, points=0),
        lambda: Bin(label="a", points=junk),
        lambda: Bin(label="a", points=0, lower=junk, upper=1),
        lambda: FeatureTable(feature="x", bins=junk),
        lambda: FeatureTable(feature=junk, bins=()),
        lambda: GradeBand(grade="A", lower=junk, upper=3),
        lambda: PDOScaling(pdo=junk),
    ):
        with contextlib.suppress(ValidationError):
            build()


def test_a_table_with_many_cut_points_bins_like_the_reference() -> None:
    cuts = [float(c) for c in range(-50, 51, 2)]  # 51 cuts: the binary-search path
    edges: list[float | None] = [None, *cuts, None]
    bins = [Bin(label=f"r{i}", lower=edges[i], upper=edges[i + 1], points=i)
            for i in range(len(edges) - 1)]
    table = FeatureTable(feature="x", bins=(Bin(label="m", missing=True, points=-1),
                                            *reversed(bins),
                                            Bin(label="s", special=(7.0, 9.0), points=99)))
    values = np.array([-80, -50, -49.5, 0, 7, 8, 9, 50, 51, np.nan])
    got = table.points_of(table.bin_indexes(values)).tolist()
    want = [reference_points(table, None if np.isnan(v) else float(v))[0] for v in values]
    assert got == want
