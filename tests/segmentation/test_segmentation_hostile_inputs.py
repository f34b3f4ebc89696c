"""Hostile inputs to segmentation's library API: found by hand, fixed, kept here."""

from __future__ import annotations

import numpy as np

from custmgmt.segmentation.clustering import KMeans, standardise


def test_standardise_does_not_overflow_on_huge_values() -> None:
    # The squares of 1e308 overflowed: the std was inf and every z-score came out 0.
    z = standardise(np.array([[1e308, 1.0], [-1e308, 2.0], [0.0, 3.0]]))
    expected = np.array([[1.0, -1.0], [-1.0, 0.0], [0.0, 1.0]]) * np.sqrt(1.5)
    np.testing.assert_allclose(z, expected, rtol=1e-12, atol=1e-12)


def test_standardise_of_ordinary_values_is_unchanged_bit_for_bit() -> None:
    X = np.random.default_rng(0).normal(50.0, 20.0, size=(200, 3))
    X[5, 1] = np.nan
    mean = np.nanmean(X, axis=0)
    centred = np.where(np.isnan(X), 0.0, X - mean)
    std = np.sqrt((centred**2).mean(axis=0))
    assert np.array_equal(standardise(X), centred / std)


def test_kmeans_separates_huge_values_like_small_ones() -> None:
    # With values near 1e300 the squared distances overflowed to inf: every point
    # tied at distance inf and all landed in cluster 0.
    small = np.array([[0.0, 0.0], [0.1, 0.0], [10.0, 10.0], [10.0, 10.1], [0.0, 0.1]])
    huge = small * 1e300
    labels_small = KMeans(n_clusters=2, random_state=0).fit(small).labels_
    model = KMeans(n_clusters=2, random_state=0).fit(huge)
    assert model.labels_.tolist() == labels_small.tolist()
    assert len(set(model.labels_.tolist())) == 2
    assert np.all(np.isfinite(model.cluster_centers_))
    np.testing.assert_allclose(
        np.sort(model.cluster_centers_[:, 0]), [1e300 / 30, 10e300], rtol=1e-12
    )
    assert model.predict(huge).tolist() == model.labels_.tolist()
    assert model.predict(np.array([[1e305, 1e305]])).tolist() == [model.labels_[2]]


def test_migration_refuses_segment_names_that_collide_with_new_and_gone() -> None:
    # A segment named "(new)" was listed twice in the rows, and count() read the
    # first, wrong, cell: count("(new)", "(gone)") said 0 where one customer moved.
    import pytest

    from custmgmt.errors import ValidationError
    from custmgmt.segmentation.migration import migration_matrix
    from custmgmt.segmentation.rules import feature
    from custmgmt.segmentation.schemes import Scheme, Segment
    from custmgmt.segmentation.table import Columns

    scheme = Scheme(
        name="v", segments=[Segment(name="(new)", rule=feature("x") > 5)], default="rest"
    )
    before = scheme.assign(Columns(["a", "b"], {"x": [9, 1]}))
    after = scheme.assign(Columns(["b", "c"], {"x": [9, 1]}))
    with pytest.raises(ValidationError) as caught:
        migration_matrix(before, after)
    assert caught.value.value == ["(new)"]


def test_presets_refuse_infinite_thresholds_naming_their_own_parameter() -> None:
    # An infinite threshold got through the preset and was refused by Compare, whose
    # message named "Compare.value" instead of the parameter the caller passed.
    import pytest

    from custmgmt.errors import ValidationError
    from custmgmt.segmentation import presets

    calls = [
        (lambda: presets.activity(dormant_days=float("inf")), "activity.dormant_days"),
        (lambda: presets.lifecycle(churn_days=1e400), "lifecycle.churn_days"),
        (lambda: presets.quality_tiers(spend=float("inf")), "quality_tiers.spend"),
        (lambda: presets.value_tiers(high_spend=10**400, mid_spend=1), "value_tiers.high_spend"),
    ]
    for call, field in calls:
        with pytest.raises(ValidationError) as caught:
            call()
        assert caught.value.field == field


def test_text_tables_align_chinese_segment_names_by_terminal_width() -> None:
    # format_table padded by characters: a Chinese name (two columns per character)
    # pushed its row's cells out of line with the header's.
    from custmgmt.notebook.display import text_width
    from custmgmt.segmentation.migration import migration_matrix
    from custmgmt.segmentation.rfm import RFM, RFMSegmentMap
    from custmgmt.segmentation.rules import feature
    from custmgmt.segmentation.schemes import Scheme, Segment
    from custmgmt.segmentation.table import Columns

    scheme = Scheme(name="价值", segments=[Segment(name="高价值客户", rule=feature("x") > 5)],
                    default="low")
    before = scheme.assign(Columns(["甲", "乙"], {"x": [9, 1]}))
    after = scheme.assign(Columns(["甲", "乙"], {"x": [1, 9]}))
    lines = migration_matrix(before, after).format_table().splitlines()
    assert len({text_width(line) for line in lines}) == 1, lines

    chinese = RFMSegmentMap.from_dict(
        {"重要价值客户": [{"r": [4, 5], "f": [1, 5]}], "一般客户": [{"r": [1, 3], "f": [1, 5]}]}
    )
    table = Columns(["甲", "乙", "丙"], {
        "recency": [1.0, 50.0, 300.0], "frequency": [3, 2, 1], "total_spend": [90.0, 20.0, 5.0],
    })
    lines = RFM(segment_map=chinese).score(table).format_table().splitlines()
    assert len({text_width(line) for line in lines}) == 1, lines


def test_segment_report_refuses_an_engine_that_is_not_a_churn_engine() -> None:
    # It raised AttributeError: 'str' object has no attribute 'required_features'.
    from datetime import UTC, datetime

    import pytest

    from custmgmt.analytics.frames import OrderFrame
    from custmgmt.errors import ValidationError
    from custmgmt.segmentation.report import segment_report

    frame = OrderFrame.from_arrays(
        customer_id=["甲", "乙"],
        placed_at=[datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)],
        amount=[1000, 2500],
        currency="CNY",
    )
    for engine in ("strict", 123):
        with pytest.raises(ValidationError) as caught:
            segment_report(frame, as_of=datetime(2026, 3, 1, tzinfo=UTC), engine=engine)  # type: ignore[arg-type]
        assert caught.value.field == "engine"


def test_migrate_refuses_a_scheme_that_is_not_a_scheme() -> None:
    # migrate("activity", ...) raised AttributeError: 'str' object has no attribute 'assign'.
    from datetime import UTC, datetime

    import pytest

    from custmgmt.analytics.frames import OrderFrame
    from custmgmt.errors import ValidationError
    from custmgmt.segmentation.migration import migrate

    frame = OrderFrame.from_arrays(
        customer_id=["甲"], placed_at=[datetime(2026, 1, 1, tzinfo=UTC)], amount=[1000],
        currency="CNY",
    )
    with pytest.raises(ValidationError) as caught:
        migrate(
            "activity",  # type: ignore[arg-type]
            frame,
            start=datetime(2026, 1, 2, tzinfo=UTC),
            end=datetime(2026, 3, 1, tzinfo=UTC),
        )
    assert caught.value.field == "scheme"


def test_standardise_of_a_column_without_any_value_is_silent() -> None:
    # As of a day before every order, recency is NaN for all: np.nanmean warned
    # "Mean of empty slice" onto the `segment --clusters` output.
    import warnings

    X = np.array([[np.nan, 0.0, 0.0], [np.nan, 0.0, 0.0], [np.nan, 1.0, 2.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        z = standardise(X)
    assert np.all(np.isfinite(z))
    assert z[:, 0].tolist() == [0.0, 0.0, 0.0]
    np.testing.assert_allclose(z[:, 1], np.array([-1.0, -1.0, 2.0]) / np.sqrt(2.0))
