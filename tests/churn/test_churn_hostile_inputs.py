"""Churn with hostile settings: found by hand, fixed, kept here."""

from __future__ import annotations

from typing import Any

import pytest
from _churn_support import day, interactions, orders

from custmgmt.churn import ChurnEngine


@pytest.mark.parametrize("lookback", [10**9, 10**30])
def test_a_huge_lookback_counts_all_evidence_instead_of_overflowing(lookback: int) -> None:
    # lookback_days * 86_400_000_000 did not fit in int64: OverflowError from numpy.
    frame = orders([("a", 0, 1000), ("a", 10, 1000), ("b", 5, 1000)])
    events = interactions(
        [
            ("a", 3, "complaint", 0, "product_quality", False),
            ("b", 2, "review", 5, None, True),
            ("b", 4, "review", 1, None, True),
        ],
        index=frame,
    )
    huge = ChurnEngine(lookback_days=lookback).evaluate(frame, events, as_of=day(400))
    year = ChurnEngine(lookback_days=365).evaluate(frame, events, as_of=day(400))
    assert huge.reason_counts() == year.reason_counts() == {
        "quality": 2, "service": 0, "price": 0, "unknown": 0,
    }
    assert huge.risk_counts() == year.risk_counts()


def test_features_that_are_not_a_table_are_a_validation_error() -> None:
    # ChurnEngine.evaluate(features="x") raised TypeError: string indices must be ints.
    from custmgmt.errors import ValidationError

    frame = orders([("a", 0, 1000), ("b", 5, 1000)])
    for features in ("recency", [1, 2], 42):
        with pytest.raises(ValidationError) as caught:
            ChurnEngine().evaluate(frame, as_of=day(30), features=features)
        assert caught.value.field == "features"


def _report() -> object:
    frame = orders([("a", 0, 1000), ("b", 5, 1000), ("a", 20, 50)])
    return ChurnEngine().evaluate(frame, as_of=day(300))


def test_explanations_refuse_a_negative_or_non_integer_limit() -> None:
    # limit=-1 sliced rows[:-1] and silently dropped the last flagged customer;
    # limit="3" raised TypeError from the slice.
    from custmgmt.errors import ValidationError

    report: Any = _report()
    assert len(report.explanations()) == 2
    assert report.explanations(limit=0) == []
    for limit in (-1, "3", 1.5, True):
        with pytest.raises(ValidationError) as caught:
            report.explanations(limit=limit)
        assert caught.value.field == "limit"


def test_explanations_refuse_values_of_the_wrong_length_or_type() -> None:
    # IndexError / ValueError before.
    from custmgmt.errors import ValidationError

    report: Any = _report()
    assert len(report.explanations(value=[5.0, 1.0])) == 2
    for value in ([1.0], ["x", "y"]):
        with pytest.raises(ValidationError) as caught:
            report.explanations(value=value)
        assert caught.value.field == "value"


def test_flagged_ids_take_a_level_its_value_or_its_label_and_refuse_others() -> None:
    # min_risk="high" raised ValueError from int(); min_risk=9 quietly gave nobody.
    from custmgmt.churn import RiskLevel
    from custmgmt.errors import ValidationError

    report: Any = _report()
    expected = report.flagged_ids(min_risk=RiskLevel.HIGH).tolist()
    assert report.flagged_ids(min_risk="high").tolist() == expected
    assert report.flagged_ids(min_risk=3).tolist() == expected
    for bad in ("severe", 9, -1, True, None):
        with pytest.raises(ValidationError) as caught:
            report.flagged_ids(min_risk=bad)
        assert caught.value.field == "min_risk"
