"""The ready-made schemes on a synthetic store, their parameters, and the derived columns."""

from __future__ import annotations

import io
import random
from typing import Any

import numpy as np
import pytest

from custmgmt.analytics.frames import InteractionFrame, OrderFrame
from custmgmt.datasets import DEFAULT_AS_OF, make_arrays
from custmgmt.errors import ValidationError
from custmgmt.segmentation import (
    DERIVED_FEATURES,
    Scheme,
    acquisition_groups,
    activity,
    lifecycle,
    quality_tiers,
    retention_groups,
    segment_features,
    shipped_schemes,
    value_tiers,
)


@pytest.fixture(scope="module")
def frames() -> tuple[OrderFrame, InteractionFrame]:
    data = make_arrays(400, seed=11)
    orders = OrderFrame.from_arrays(
        customer_id=data.orders.customer_id,
        placed_at=data.orders.placed_at,
        amount=data.orders.amount,
        returned_amount=data.orders.returned_amount,
        currency="CNY",
        category=[data.orders.categories[c] for c in data.orders.category],
        status=data.orders.status.astype(np.int64),
    )
    inter = data.interactions
    assert inter is not None
    interactions = InteractionFrame.from_arrays(
        customer_id=inter.customer_id,
        at=inter.at,
        kind=inter.kind.astype(np.int64),
        rating=inter.rating,
        complaint_category=inter.complaint_category,
        resolved=inter.resolved,
        customer_index=orders,
    )
    return orders, interactions


def test_every_shipped_scheme_partitions_the_customers(frames: Any) -> None:
    features = segment_features(*frames, as_of=DEFAULT_AS_OF)
    for scheme in shipped_schemes():
        seg = scheme.assign(features)
        assert sum(seg.sizes().values()) == len(features)
        assert Scheme.from_dict(scheme.to_dict()) == scheme
        # Every customer can be explained (spot-check a few of each segment).
        for name in seg.names:
            for cid in seg.members(name)[:2].tolist():
                assert seg.explain(cid).startswith(f"{name} because ")


def test_derived_columns_are_in_major_units(frames: Any) -> None:
    features = segment_features(*frames, as_of=DEFAULT_AS_OF)
    assert set(DERIVED_FEATURES) <= set(features.names)
    assert np.allclose(features["annual_spend"] * 100, features["spend_365d"])
    assert np.allclose(features["total_spend"] * 100, features["monetary_net"])
    assert np.array_equal(features["disputes"], features["complaint_365d"])
    prev = features["spend_prev_90d"].astype(float)
    cur = features["spend_90d"].astype(float)
    change = features["spend_change"]
    has = prev > 0
    assert np.allclose(change[has], (cur[has] - prev[has]) / prev[has])
    assert np.isnan(change[~has]).all()


def test_value_tiers_split_buyers_by_the_quantile_or_absolute_thresholds(frames: Any) -> None:
    features = segment_features(*frames, as_of=DEFAULT_AS_OF)
    spend = features["annual_spend"]
    seg = value_tiers(high_spend=5_000, mid_spend=1_000).assign(features)
    labels = seg.labels
    assert np.array_equal(labels == "high", spend >= 5_000)
    assert np.array_equal(labels == "mid", (spend >= 1_000) & (spend < 5_000))
    quantile = value_tiers().assign(features)
    high = spend[quantile.labels == "high"]
    rest = spend[quantile.labels != "high"]
    assert high.min() > rest.max()


def test_activity_and_lifecycle_put_prospects_first(frames: Any) -> None:
    features = segment_features(*frames, as_of=DEFAULT_AS_OF)
    never = features["frequency"] == 0
    assert np.array_equal(activity().assign(features).labels == "prospect", never)
    assert np.array_equal(lifecycle().assign(features).labels == "prospect", never)


def test_without_interactions_the_quality_scheme_names_the_missing_feature(frames: Any) -> None:
    features = segment_features(frames[0], as_of=DEFAULT_AS_OF)
    with pytest.raises(ValidationError) as info:
        quality_tiers().assign(features)
    assert info.value.value in {"review_mean", "disputes"}


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: value_tiers(high=0.6, mid=0.5), "value_tiers.mid"),
        (lambda: value_tiers(high=0), "value_tiers.high"),
        (lambda: value_tiers(high_spend=100), "value_tiers"),
        (lambda: value_tiers(high_spend=100, mid_spend=200), "value_tiers.mid_spend"),
        (lambda: activity(active_days=90, dormant_days=30), "activity.dormant_days"),
        (lambda: activity(active_days=-1), "activity.active_days"),
        (lambda: lifecycle(change=1.5), "lifecycle.change"),
        (lambda: lifecycle(new_days=400), "lifecycle.churn_days"),
        (lambda: quality_tiers(review=6), "quality_tiers.review"),
        (lambda: quality_tiers(spend=100), "quality_tiers.potential_spend"),
        (lambda: acquisition_groups(days=0), "acquisition_groups.days"),
        (lambda: retention_groups(repeat_orders=1), "retention_groups.repeat_orders"),
        (lambda: retention_groups(big_spenders=1.0), "retention_groups.big_spenders"),
    ],
)
def test_bad_scheme_parameters_are_validation_errors(build: Any, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        build()
    assert info.value.field == field


def test_the_demo_section_prints_segments_rfm_and_churn() -> None:
    from custmgmt.adapters.memory import MemoryStore
    from custmgmt.cli.demo import DemoContext
    from custmgmt.cli.demo_segments import demo_section
    from custmgmt.datasets import load_into, make_dataset

    store = MemoryStore()
    load_into(store, make_dataset(n_customers=80, seed=5))
    out = io.StringIO()
    ctx = DemoContext(store=store, as_of=DEFAULT_AS_OF, seed=5, out=out, rng=random.Random(5))
    demo_section(ctx)
    text = out.getvalue()
    for expected in ("Segments", "value tiers:", "RFM segments", "champions", "Churn risks"):
        assert expected in text
    assert "apology_and_compensation" in text
    assert "segments" in ctx.shared


def test_a_bad_change_period_is_a_validation_error(frames: Any) -> None:
    with pytest.raises(ValidationError) as info:
        segment_features(*frames, as_of=DEFAULT_AS_OF, change_days=0)
    assert info.value.field == "change_days"
