"""Every KPI equals its slow reference (tests/kpi/_reference.py) on random data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from custmgmt.analytics.frames import InteractionFrame, OrderFrame
from custmgmt.domain.time import to_epoch_micros
from custmgmt.errors import ValidationError
from custmgmt.kpi import (
    Period,
    cancellation_rate,
    churn_rate,
    cohort_matrix,
    complaint_rate,
    high_value_ratio,
    high_value_threshold,
    net_sales,
    referral_rate,
    repeat_purchase_rate,
    repurchase_rate,
    retention_rate,
    return_rate,
    satisfaction,
    wilson_interval,
)
from custmgmt.kpi.measures import average_order_value

from . import _reference as ref

T0 = datetime(2025, 1, 1, tzinfo=UTC)
DAY = 86_400_000_000
STATUSES = ("placed", "paid", "shipped", "delivered", "cancelled", "returned",
            "partially_returned")
KINDS = ("review", "referral", "complaint", "browse")

order_rows = st.lists(
    st.fixed_dictionaries({
        "c": st.integers(0, 7),
        "t": st.integers(0, 400 * DAY).map(lambda x: to_epoch_micros(T0) + x),
        "amount": st.integers(0, 50_000),
        "ret": st.floats(0, 1),
        "status": st.sampled_from(STATUSES),
    }),
    max_size=60,
)
interaction_rows = st.lists(
    st.fixed_dictionaries({
        "c": st.integers(0, 10),
        "t": st.integers(0, 400 * DAY).map(lambda x: to_epoch_micros(T0) + x),
        "kind": st.sampled_from(KINDS),
        "rating": st.integers(1, 5),
    }),
    max_size=40,
)
periods = st.tuples(st.integers(0, 300), st.integers(1, 120)).map(
    lambda p: Period(T0 + timedelta(days=p[0]), T0 + timedelta(days=p[0] + p[1]))
)


def _orders(rows: list[dict[str, Any]]) -> tuple[OrderFrame, list[dict[str, Any]]]:
    for r in rows:
        r["returned"] = int(r["amount"] * r["ret"]) if r["status"] != "cancelled" else 0
    frame = OrderFrame.from_arrays(
        customer_id=np.array([r["c"] for r in rows], dtype=np.int64),
        placed_at=np.array([r["t"] for r in rows], dtype=np.int64),
        amount=np.array([r["amount"] for r in rows], dtype=np.int64),
        returned_amount=np.array([r["returned"] for r in rows], dtype=np.int64),
        status=[r["status"] for r in rows], currency="CNY",
    )
    return frame, rows


def _interactions(rows: list[dict[str, Any]], orders: OrderFrame) -> InteractionFrame:
    return InteractionFrame.from_arrays(
        customer_id=np.array([r["c"] for r in rows], dtype=np.int64),
        at=np.array([r["t"] for r in rows], dtype=np.int64),
        kind=[r["kind"] for r in rows],
        rating=np.array([r["rating"] if r["kind"] == "review" else 0 for r in rows],
                        dtype=np.int64),
        complaint_category=["other" if r["kind"] == "complaint" else None for r in rows],
        customer_index=orders,
    )


def _pair(f: Any) -> tuple[int, int]:
    return f.numerator, f.denominator


@given(order_rows, periods)
def test_order_rates_match_the_references(rows: list[dict[str, Any]], p: Period) -> None:
    frame, rows = _orders(rows)
    s, e = p.micros
    assert _pair(repeat_purchase_rate(frame, p)) == ref.repeat(rows, s, e)
    assert _pair(repurchase_rate(frame, p)) == ref.repurchase(rows, s, e)
    assert _pair(return_rate(frame, p)) == ref.returns(rows, s, e)
    assert _pair(cancellation_rate(frame, p)) == ref.cancellations(rows, s, e)
    total, n = ref.net_total(rows, s, e)
    sales = net_sales(frame, p)
    assert (sales.numerator, sales.denominator) == ((total, n) if n else (None, None))
    aov = average_order_value(frame, p)
    assert (aov.value is None) == (n == 0)
    if n:
        assert aov.value == pytest.approx(total / n)
    threshold = high_value_threshold(frame, p)
    assert threshold == ref.quantile_spend(rows, s, e, 0.8)
    if threshold is not None:
        assert _pair(high_value_ratio(frame, p, threshold)) == ref.high_value(rows, s, e,
                                                                             threshold)


@given(order_rows, periods)
def test_retention_and_churn_match_the_references(rows: list[dict[str, Any]], p: Period) -> None:
    frame, rows = _orders(rows)
    base = Period(p.start - (p.end - p.start), p.start)
    k, n = ref.retention(rows, base.micros, p.micros)
    assert _pair(retention_rate(frame, base, p)) == (k, n)
    churn = churn_rate(frame, base, p)
    assert (churn.value is None) == (n == 0)
    if n:
        assert _pair(churn) == (n - k, n)


@given(order_rows, interaction_rows, periods)
def test_interaction_rates_match_the_references(
    rows: list[dict[str, Any]], inter: list[dict[str, Any]], p: Period
) -> None:
    frame, rows = _orders(rows)
    interactions = _interactions(inter, frame)
    s, e = p.micros
    assert _pair(referral_rate(frame, interactions, p)) == ref.buyers_who(rows, inter,
                                                                         "referral", s, e)
    assert _pair(complaint_rate(frame, interactions, p)) == ref.buyers_who(rows, inter,
                                                                          "complaint", s, e)
    # frames coded independently (no shared customer index) give the same answer
    separate = InteractionFrame.from_arrays(
        customer_id=np.array([r["c"] for r in inter], dtype=np.int64),
        at=np.array([r["t"] for r in inter], dtype=np.int64),
        kind=[r["kind"] for r in inter])
    assert _pair(referral_rate(frame, separate, p)) == ref.buyers_who(rows, inter,
                                                                     "referral", s, e)
    mean, share = satisfaction(interactions, p)
    scores = ref.scores(inter, s, e)
    assert _pair(share) == (sum(1 for x in scores if x >= 4), len(scores))
    if scores:
        assert mean.value == pytest.approx(sum(scores) / len(scores))
    else:
        assert mean.value is None
        assert mean.reason


@given(order_rows, st.integers(30, 420), st.integers(1, 18))
def test_the_cohort_matrix_matches_the_reference(
    rows: list[dict[str, Any]], day: int, months: int
) -> None:
    frame, rows = _orders(rows)
    as_of = T0 + timedelta(days=day)
    m = cohort_matrix(frame, as_of, months)
    sizes, returned, active = ref.cohorts(rows, to_epoch_micros(as_of), months)
    assert m.sizes.tolist() == sizes
    assert m.returned.tolist() == returned
    assert m.active.tolist() == active


@given(st.integers(0, 200), st.integers(1, 200))
def test_wilson_interval_contains_the_estimate_and_stays_in_0_1(k: int, n: int) -> None:
    k = min(k, n)
    low, high = wilson_interval(k, n)
    assert 0 <= low <= k / n <= high <= 1


def test_wilson_interval_matches_the_textbook_value() -> None:
    # Newcombe (1998), table I: 81/263 -> 0.2553 .. 0.3662
    low, high = wilson_interval(81, 263)
    assert (round(low, 4), round(high, 4)) == (0.2553, 0.3662)


def test_an_inverted_or_empty_period_is_refused() -> None:
    with pytest.raises(ValidationError, match="Period"):
        Period(T0, T0 - timedelta(days=1))
    with pytest.raises(ValidationError, match="Period"):
        Period(T0, T0)
    with pytest.raises(ValidationError, match="aware"):
        Period(datetime(2025, 1, 1), datetime(2025, 2, 1))


def test_overlapping_periods_are_refused_for_retention() -> None:
    frame, _ = _orders([{"c": 1, "t": to_epoch_micros(T0), "amount": 5, "ret": 0.0,
                         "status": "paid"}])
    a = Period(T0, T0 + timedelta(days=10))
    b = Period(T0 + timedelta(days=5), T0 + timedelta(days=20))
    with pytest.raises(ValidationError, match="baseline"):
        retention_rate(frame, a, b)


@given(order_rows, st.integers(30, 420), st.integers(1, 18))
def test_the_cohort_matrix_for_grids_too_large_to_mark_matches_the_reference(
    rows: list[dict[str, Any]], day: int, months: int
) -> None:
    from unittest import mock

    from custmgmt.kpi import measures

    frame, rows = _orders(rows)
    as_of = T0 + timedelta(days=day)
    with mock.patch.object(measures, "COHORT_GRID_LIMIT", 0):
        m = cohort_matrix(frame, as_of, months)
    sizes, returned, active = ref.cohorts(rows, to_epoch_micros(as_of), months)
    assert m.sizes.tolist() == sizes
    assert m.returned.tolist() == returned
    assert m.active.tolist() == active
