"""Segments, RFM, churn flags and CLV summaries on the partitioned engine (issue 20,
item 2): for every thread count 1-8 and partition count, the very report the
single-threaded functions give (their ``threads=1`` path is today's code, unchanged),
bit for bit: features, memberships, RFM scores, churn flags with their values,
reasons and evidence, the rendered report; for CLV the summary against the inline
code ``analyse_clv`` ran before the engine existed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_partitioned import assert_identical

from custmgmt.analytics import partitioned
from custmgmt.analytics.clv import analyse_clv, summarize_transactions
from custmgmt.analytics.clv._partitioned import summarize_orders
from custmgmt.analytics.frames import InteractionFrame, OrderFrame, counted_mask
from custmgmt.churn import ChurnEngine, ChurnReport
from custmgmt.churn.rules import (
    ModelAliveBelow,
    NoPurchaseWithin,
    PurchaseCycleRule,
    SpendDrop,
)
from custmgmt.domain.interaction import ComplaintCategory
from custmgmt.domain.time import to_epoch_micros
from custmgmt.errors import ValidationError
from custmgmt.segmentation.report import SegmentReport, segment_report

DAY = 86_400_000_000
AS_OF = datetime(2026, 1, 1, tzinfo=UTC)
STATUSES = np.array(["delivered", "paid", "cancelled", "returned", "partially_returned"])
CATEGORIES = np.array(["", "茶", "书", "电器", "衣服"])
KINDS = np.array(["review", "complaint", "browse", "cart", "favorite"])
COMPLAINTS = np.array([c.value for c in ComplaintCategory])
MEAN_ENGINE = ChurnEngine(
    rules=(
        PurchaseCycleRule(statistic="mean"),
        PurchaseCycleRule(name="cycle (population)", fallback="population", factor=2.0),
        NoPurchaseWithin(days=60),
        SpendDrop(percent=30, days=30),
    )
)


def make_shop(
    seed: int,
    *,
    n_customers: int,
    n_orders: int,
    n_interactions: int = 0,
    step_us: int = DAY,
    int_ids: bool = True,
) -> tuple[OrderFrame, InteractionFrame | None]:
    """Orders (and interactions) of ``n_customers``; times on a grid of ``step_us``, so
    a coarse grid makes ties (same customer, same moment) common."""
    rng = np.random.default_rng(seed)
    if int_ids:
        pool: Any = rng.choice(2**40, size=n_customers, replace=False).astype(np.int64) - 2**39
    else:
        pool = np.array([f"客户{i:05d}" for i in rng.permutation(n_customers)], dtype=object)
    end = to_epoch_micros(AS_OF)
    # Skewed: a few customers hold many orders (long gaps and category cycles).
    who = rng.integers(0, n_customers, n_orders) ** 2 // max(n_customers, 1)
    amount = rng.integers(0, 50_000, n_orders)
    status = STATUSES[rng.choice(len(STATUSES), n_orders, p=[0.6, 0.15, 0.1, 0.1, 0.05])]
    returned = np.where(status == "returned", amount, 0)
    returned = np.where(status == "partially_returned", amount // 3, returned)
    orders = OrderFrame.from_arrays(
        customer_id=pool[who],
        placed_at=end - rng.integers(-20 * DAY // step_us, 1_000 * DAY // step_us, n_orders)
        * step_us,
        amount=amount,
        returned_amount=returned,
        status=status,
        category=CATEGORIES[rng.integers(0, len(CATEGORIES), n_orders)],
        currency="CNY",
    )
    if not n_interactions:
        return orders, None
    kind = KINDS[rng.integers(0, len(KINDS), n_interactions)]
    complaint = np.where(
        kind == "complaint", COMPLAINTS[rng.integers(0, len(COMPLAINTS), n_interactions)], None
    )
    interactions = InteractionFrame.from_arrays(
        # Some interactions come from customers without any order.
        customer_id=pool[rng.integers(0, n_customers, n_interactions)],
        at=end - rng.integers(-5, 700, n_interactions) * DAY,
        kind=kind,
        rating=np.where(kind == "review", rng.integers(1, 6, n_interactions), 0),
        complaint_category=complaint.tolist(),
        resolved=rng.random(n_interactions) < 0.5,
        customer_index=orders,
    )
    return orders, interactions


def assert_same_churn(got: ChurnReport, expected: ChurnReport) -> None:
    np.testing.assert_array_equal(got.customer_ids, expected.customer_ids, strict=True)
    assert got.rules == expected.rules
    assert [type(r) for r in got.rules] == [type(r) for r in expected.rules]
    assert got.skipped == expected.skipped
    assert got.as_of == expected.as_of
    for name in ("fired", "score", "risk", "reason", "evidence"):
        np.testing.assert_array_equal(getattr(got, name), getattr(expected, name), strict=True)
    assert list(got.values) == list(expected.values)
    for rule, columns in expected.values.items():
        assert list(got.values[rule]) == list(columns)
        for key, values in columns.items():
            np.testing.assert_array_equal(got.values[rule][key], values, strict=True)
    rows = np.flatnonzero(expected.flagged).tolist()
    assert [str(e) for e in got.explain_rows(rows)] == [str(e) for e in expected.explain_rows(rows)]


def assert_same_report(got: SegmentReport, expected: SegmentReport) -> None:
    assert_identical(got.features, expected.features)
    assert got.skipped == expected.skipped
    assert list(got.segmentations) == list(expected.segmentations)
    for name, seg in expected.segmentations.items():
        mine = got.segmentations[name]
        assert mine.scheme == seg.scheme
        np.testing.assert_array_equal(mine.customer_ids, seg.customer_ids, strict=True)
        np.testing.assert_array_equal(mine.codes, seg.codes, strict=True)
    for name in ("customer_ids", "r", "f", "m", "codes", "recency", "frequency", "monetary"):
        np.testing.assert_array_equal(
            getattr(got.rfm, name), getattr(expected.rfm, name), strict=True
        )
    assert (got.rfm.names, got.rfm.currency) == (expected.rfm.names, expected.rfm.currency)
    assert_same_churn(got.churn, expected.churn)
    assert got.format(top=25) == expected.format(top=25)
    assert got.rows() == expected.rows()


def _spy() -> Any:
    return mock.patch.object(partitioned, "split_frames", wraps=partitioned.split_frames)


@st.composite
def shops(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "seed": draw(st.integers(0, 2**32 - 1)),
        "n_customers": draw(st.integers(1, 40)),
        "n_orders": draw(st.integers(1, 150)),
        "n_interactions": draw(st.sampled_from([0, 0, 1, 60])),
        "step_us": draw(st.sampled_from([DAY, 6 * 3_600_000_000, 30 * DAY])),
        "int_ids": draw(st.booleans()),
    }


@settings(max_examples=60, deadline=None)
@given(shops(), st.integers(1, 8), st.integers(1, 8), st.booleans())
def test_segment_report_is_identical_for_any_threads_and_partitions(
    shop: dict[str, Any], threads: int, parts: int, mean_cycles: bool
) -> None:
    orders, interactions = make_shop(**shop)
    engine = MEAN_ENGINE if mean_cycles else ChurnEngine()
    expected = segment_report(orders, interactions, as_of=AS_OF, engine=engine, threads=1)
    with _spy() as split:
        got = segment_report(
            orders, interactions, as_of=AS_OF, engine=engine, threads=threads, partitions=parts
        )
    # More than one customer and partition: the partitioned engine ran (not the fallback).
    assert split.called == (min(parts, len(got)) > 1)
    assert_same_report(got, expected)


@settings(max_examples=60, deadline=None)
@given(shops(), st.integers(1, 8), st.integers(1, 8), st.booleans())
def test_churn_flags_and_reasons_are_identical_for_any_threads_and_partitions(
    shop: dict[str, Any], threads: int, parts: int, mean_cycles: bool
) -> None:
    orders, interactions = make_shop(**shop)
    engine = MEAN_ENGINE if mean_cycles else ChurnEngine()
    expected = engine.evaluate(orders, interactions, as_of=AS_OF, threads=1)
    got = engine.evaluate(orders, interactions, as_of=AS_OF, threads=threads, partitions=parts)
    assert_same_churn(got, expected)


def reference_summary(orders: OrderFrame, as_of: datetime, calibration_end: Any) -> Any:
    """The summary exactly as ``analyse_clv`` computed it inline before the engine."""
    offset = as_of.utcoffset()
    shift = 0 if offset is None else int(offset.total_seconds()) * 1_000_000
    end = to_epoch_micros(as_of)
    counted = counted_mask(orders.status) & (orders.placed_at <= end)
    cal = None if calibration_end is None else to_epoch_micros(calibration_end) + shift
    return summarize_transactions(
        orders.customer_code[counted],
        orders.placed_at[counted] + shift,
        (orders.amount - orders.returned_amount)[counted],
        observation_end=end + shift,
        calibration_end=cal,
        unit="W",
        period="D",
    )


SUMMARY_FIELDS = (
    "customer_ids",
    "frequency",
    "recency",
    "T",
    "monetary_value",
    "frequency_holdout",
    "monetary_value_holdout",
)


@settings(max_examples=60, deadline=None)
@given(shops(), st.integers(1, 8), st.integers(1, 8), st.booleans(), st.booleans())
def test_clv_summaries_are_identical_for_any_threads_and_partitions(
    shop: dict[str, Any], threads: int, parts: int, local_time: bool, split_at: bool
) -> None:
    orders, _ = make_shop(**shop)
    as_of = AS_OF.astimezone(timezone(timedelta(hours=8))) if local_time else AS_OF
    calibration_end = as_of - timedelta(days=200) if split_at else None
    expected = reference_summary(orders, as_of, calibration_end)
    got = summarize_orders(
        orders,
        as_of=as_of,
        calibration_end=calibration_end,
        unit="week",
        period="day",
        threads=threads,
        partitions=parts,
    )
    for name in SUMMARY_FIELDS:
        a, b = getattr(got.summary, name), getattr(expected, name)
        assert (a is None) == (b is None), name
        if b is not None:
            np.testing.assert_array_equal(a, b, err_msg=name, strict=True)
            assert not a.flags.writeable
    assert got.summary.duration_holdout == expected.duration_holdout
    end = to_epoch_micros(as_of)
    assert got.n_orders == int((orders.placed_at <= end).sum())
    assert got.n_counted == int((counted_mask(orders.status) & (orders.placed_at <= end)).sum())


@pytest.mark.parametrize(("threads", "parts"), [(2, None), (3, 7), (8, 64), (1, 300)])
def test_a_shop_of_thousands_segments_identically(threads: int, parts: int | None) -> None:
    orders, interactions = make_shop(
        threads, n_customers=5_000, n_orders=40_000, n_interactions=20_000
    )
    for engine in (ChurnEngine(), MEAN_ENGINE):
        expected = segment_report(orders, interactions, as_of=AS_OF, engine=engine, threads=1)
        got = segment_report(
            orders, interactions, as_of=AS_OF, engine=engine, threads=threads, partitions=parts
        )
        assert_same_report(got, expected)
        # The population cycles really are population-wide: some customers use them.
        sources = expected.churn.values["purchase cycle"]["cycle_source"]
        assert {1.0, 2.0} & set(np.unique(sources[~np.isnan(sources)]).tolist())


def test_analyse_clv_fits_and_values_identically_on_partitions() -> None:
    pytest.importorskip("scipy")
    orders, _ = make_shop(11, n_customers=3_000, n_orders=30_000, int_ids=False)
    as_of = AS_OF.astimezone(timezone(timedelta(hours=8)))
    expected = analyse_clv(orders, as_of=as_of, models=("bg", "gg"), threads=1)
    with _spy() as split:
        got = analyse_clv(orders, as_of=as_of, models=("bg", "gg"), threads=3, partitions=11)
    assert split.called
    np.testing.assert_array_equal(got.customer_ids, expected.customer_ids, strict=True)
    for name in ("frequency", "recency", "T", "monetary_value"):
        np.testing.assert_array_equal(
            getattr(got.stage.summary, name), getattr(expected.stage.summary, name), strict=True
        )
    # Equal inputs: equal fits, values and exclusions.
    for one, other in zip(expected.fits, got.fits, strict=True):
        assert one.model is not None
        assert other.model is not None
        assert one.model.params_ == other.model.params_
    np.testing.assert_array_equal(got.clv, expected.clv, strict=True)
    np.testing.assert_array_equal(got.alive, expected.alive, strict=True)
    assert got.spend_exclusions == expected.spend_exclusions
    assert expected.spend_exclusions  # the zero-amount orders leave some out


def test_engines_with_a_population_model_run_on_the_whole_frame() -> None:
    pytest.importorskip("scipy")
    orders, _ = make_shop(5, n_customers=400, n_orders=4_000)
    engine = ChurnEngine(rules=(ModelAliveBelow(), NoPurchaseWithin()))
    with _spy() as split:
        got = segment_report(orders, as_of=AS_OF, engine=engine, threads=4, partitions=6)
        churn = engine.evaluate(orders, as_of=AS_OF, threads=4, partitions=6)
    assert not split.called
    assert_same_report(got, segment_report(orders, as_of=AS_OF, engine=engine, threads=1))
    assert_same_churn(churn, got.churn)


def test_the_default_thread_count_partitions_large_frames_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    orders, _ = make_shop(3, n_customers=300, n_orders=2_000)
    monkeypatch.setenv(partitioned.THREADS_ENV, "4")
    with _spy() as split:
        segment_report(orders, as_of=AS_OF)
        ChurnEngine().evaluate(orders, as_of=AS_OF)
        summarize_orders(orders, as_of=AS_OF)
    assert not split.called  # 2,000 rows: below the split threshold, one partition
    large, _ = make_shop(4, n_customers=30_000, n_orders=partitioned.MIN_ROWS_TO_SPLIT + 1)
    with _spy() as split:
        summarize_orders(large, as_of=AS_OF)
    assert split.called
    monkeypatch.setenv(partitioned.THREADS_ENV, "1")
    with _spy() as split:
        summarize_orders(large, as_of=AS_OF)
    assert not split.called


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"threads": 0}, "threads"),
        ({"threads": "2"}, "threads"),
        ({"threads": True}, "threads"),
        ({"threads": 2, "partitions": 0}, "partitions"),
        ({"threads": 2, "partitions": 1.5}, "partitions"),
    ],
)
def test_bad_thread_and_partition_counts_are_refused_naming_them(
    kwargs: dict[str, Any], field: str
) -> None:
    orders, _ = make_shop(1, n_customers=20, n_orders=50)
    calls = (
        lambda: segment_report(orders, as_of=AS_OF, **kwargs),
        lambda: ChurnEngine().evaluate(orders, as_of=AS_OF, **kwargs),
        lambda: analyse_clv(orders, as_of=AS_OF, models=("bg",), **kwargs),
    )
    for call in calls:
        with pytest.raises(ValidationError, match=field):
            call()


def test_a_bad_thread_environment_variable_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    orders, _ = make_shop(1, n_customers=20, n_orders=50)
    monkeypatch.setenv(partitioned.THREADS_ENV, "many")
    with pytest.raises(ValidationError, match=partitioned.THREADS_ENV):
        segment_report(orders, as_of=AS_OF)
    with pytest.raises(ValidationError, match=partitioned.THREADS_ENV):
        ChurnEngine().evaluate(orders, as_of=AS_OF)
