"""A mean's interval never leaves the values' possible range: an average order value
is never below 0, a mean satisfaction score never outside 1-5."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from custmgmt.analytics.frames import OrderFrame
from custmgmt.kpi import Period
from custmgmt.kpi.figures import mean_figure
from custmgmt.kpi.measures import average_order_value, satisfaction

_PERIOD = Period(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))


def test_aov_interval_of_skewed_small_sample_is_not_negative() -> None:
    # 1000, 1500, 999 and 3 yen: the t interval was [-122, 1873] yen.
    orders = OrderFrame.from_arrays(
        customer_id=["a", "a", "b", "c"],
        placed_at=np.array(["2026-01-01", "2026-02-01", "2026-03-01", "2026-03-15"],
                           dtype="datetime64[us]").astype(np.int64),
        amount=np.array([1000, 1500, 999, 3]),
        currency="JPY",
    )
    aov = average_order_value(orders, _PERIOD)
    assert aov.value == 3502 / 4
    assert aov.low == 0.0
    assert aov.high is not None
    assert aov.high > aov.value


def test_mean_score_interval_stays_within_one_to_five() -> None:
    mean, _share = satisfaction(
        None, _PERIOD,
        ticket_times=np.full(3, _PERIOD.micros[0], dtype=np.int64),
        ticket_scores=np.array([5, 5, 4]),
    )
    assert mean.low is not None
    assert mean.high == 5.0
    assert 1.0 <= mean.low <= mean.value


@given(st.lists(st.integers(0, 10**9), min_size=2, max_size=30))
def test_money_mean_interval_brackets_the_mean_and_stays_non_negative(values: list[int]) -> None:
    figure = mean_figure(np.array(values, dtype=np.int64), unit="money", reason="-",
                         bounds=(0.0, float("inf")))
    assert figure.low is not None
    assert figure.high is not None
    assert 0.0 <= figure.low <= figure.value <= figure.high
