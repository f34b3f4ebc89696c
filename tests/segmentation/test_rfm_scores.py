"""RFM scores against slow references; segment maps validated when built."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custmgmt.errors import ValidationError
from custmgmt.segmentation import NO_PURCHASE, RFM, TEN_SEGMENTS, Columns, RFMSegmentMap
from custmgmt.segmentation.rfm import quantile_scores


def slow_quantile_score(values: list[float], x: float) -> int:
    # Score 1 + floor(5 * (number strictly worse) / n): ties share the lower score.
    less = sum(1 for v in values if v < x)
    return 1 + (5 * less) // len(values)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=-5, max_value=20).map(float), min_size=1, max_size=60))
def test_quantile_scores_match_the_rank_definition(values: list[float]) -> None:
    got = quantile_scores(np.array(values)).tolist()
    assert got == [slow_quantile_score(values, x) for x in values]


customers = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=8),  # frequency
        st.sampled_from([0.0, 1.0, 5.5, 30.0, 31.0, 90.0, 365.0, 400.0]),  # recency days
        st.sampled_from([0.0, 10.0, 99.5, 100.0, 1000.0, 5000.0]),  # spend
    ),
    min_size=1,
    max_size=40,
)


def table_of(rows: list[tuple[int, float, float]]) -> Columns:
    return Columns(
        [f"c{i}" for i in range(len(rows))],
        {
            "frequency": [r[0] for r in rows],
            "recency": [r[1] if r[0] > 0 else math.nan for r in rows],
            "total_spend": [r[2] if r[0] > 0 else 0.0 for r in rows],
        },
    )


@settings(max_examples=150, deadline=None)
@given(customers)
def test_rfm_quantile_scores_and_segments_match_a_slow_reference(
    rows: list[tuple[int, float, float]],
) -> None:
    scores = RFM().score(table_of(rows))
    buyers = [r for r in rows if r[0] > 0]
    for i, (freq, rec, spend) in enumerate(rows):
        if freq == 0:
            expected = (0, 0, 0)
            segment = NO_PURCHASE
        else:
            expected = (
                slow_quantile_score([-b[1] for b in buyers], -rec),
                slow_quantile_score([float(b[0]) for b in buyers], float(freq)),
                slow_quantile_score([b[2] for b in buyers], spend),
            )
            segment = slow_segment(expected[0], expected[1])
        assert (int(scores.r[i]), int(scores.f[i]), int(scores.m[i])) == expected
        assert scores.labels[i] == segment


def slow_segment(r: int, f: int) -> str:
    # The ten-segment map written out cell by cell, independently of the data form.
    if r <= 2:
        return "hibernating" if f <= 2 else "at risk" if f <= 4 else "can't lose"
    if r == 3:
        return "about to sleep" if f <= 2 else "need attention" if f == 3 else "loyal"
    if r == 4:
        return "promising" if f == 1 else "potential loyalists" if f <= 3 else "loyal"
    return "new" if f == 1 else "potential loyalists" if f <= 3 else "champions"


@settings(max_examples=150, deadline=None)
@given(customers)
def test_rfm_fixed_bins_match_a_slow_reference(rows: list[tuple[int, float, float]]) -> None:
    rfm = RFM(
        recency_bins=(30, 90, 180, 365),
        frequency_bins=(2, 3, 5, 8),
        monetary_bins=(100, 500, 1000, 5000),
    )
    scores = rfm.score(table_of(rows))
    for i, (freq, rec, spend) in enumerate(rows):
        if freq == 0:
            assert scores.r[i] == scores.f[i] == scores.m[i] == 0
            continue
        r = 5 - sum(1 for e in (30, 90, 180, 365) if rec > e)
        f = 1 + sum(1 for e in (2, 3, 5, 8) if freq >= e)
        m = 1 + sum(1 for e in (100, 500, 1000, 5000) if spend >= e)
        assert (int(scores.r[i]), int(scores.f[i]), int(scores.m[i])) == (r, f, m)


def test_the_shipped_ten_segment_map_covers_every_cell_once() -> None:
    rebuilt = RFMSegmentMap.from_dict(TEN_SEGMENTS.to_dict())
    assert rebuilt == TEN_SEGMENTS
    assert len(TEN_SEGMENTS.names) == 10
    for r in range(1, 6):
        for f in range(1, 6):
            assert TEN_SEGMENTS.segment_at(r, f) == slow_segment(r, f)


def test_a_map_with_a_hole_names_the_missing_cells() -> None:
    data: dict[str, Any] = TEN_SEGMENTS.to_dict()
    del data["champions"]
    with pytest.raises(ValidationError) as info:
        RFMSegmentMap.from_dict(data)
    assert info.value.value == {"holes": ["R5F4", "R5F5"], "overlaps": {}}
    assert "R5F4" in str(info.value)


def test_a_map_with_an_overlap_names_the_cells_and_the_segments() -> None:
    data: dict[str, Any] = TEN_SEGMENTS.to_dict()
    data["vip"] = [{"r": [4, 5], "f": 5}]
    with pytest.raises(ValidationError) as info:
        RFMSegmentMap.from_dict(data)
    assert info.value.value == {
        "holes": [],
        "overlaps": {"R4F5": ["loyal", "vip"], "R5F5": ["champions", "vip"]},
    }


@pytest.mark.parametrize(
    "data",
    [
        {"x": [{"r": [0, 5], "f": [1, 5]}]},
        {"x": [{"r": [5, 1], "f": [1, 5]}]},
        {"x": [{"r": [1, 5]}]},
        {"x": "everything"},
        {},
    ],
)
def test_malformed_maps_are_validation_errors(data: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        RFMSegmentMap.from_dict(data)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"recency_bins": (30, 20, 180, 365)},
        {"frequency_bins": (1, 2, 3)},
        {"monetary_bins": (1, 2, 3, math.inf)},
        {"segment_map": {"champions": []}},
    ],
)
def test_bad_rfm_bins_are_validation_errors(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        RFM(**kwargs)


def test_a_buyer_without_recency_is_refused() -> None:
    table = Columns(["a"], {"frequency": [1], "recency": [math.nan], "total_spend": [1.0]})
    with pytest.raises(ValidationError, match="recency"):
        RFM().score(table)


def test_the_rfm_table_sums_to_the_population() -> None:
    rows = [(1, 3.0, 10.0), (5, 1.0, 500.0), (2, 100.0, 50.0), (0, 0.0, 0.0)]
    scores = RFM().score(table_of(rows))
    summary = scores.summary()
    assert sum(row.customers for row in summary) == 4
    assert math.isclose(sum(row.revenue_share for row in summary), 1.0)
    assert "champions" in scores.format_table()
