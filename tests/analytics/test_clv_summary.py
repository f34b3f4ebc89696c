"""summarize_transactions: the vectorised summary against a slow, obvious reference."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custmgmt.analytics.clv import TransactionSummary, summarize_transactions
from custmgmt.errors import ValidationError

US_DAY = 86_400_000_000
US_HOUR = 3_600_000_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _period(us: int, period: str) -> int:
    if period == "h":
        return us // US_HOUR
    if period == "D":
        return us // US_DAY
    if period == "W":
        day = EPOCH + timedelta(microseconds=us)
        monday = day.date() - timedelta(days=day.weekday())
        return (monday - date(1970, 1, 5)).days // 7 + 1
    moment = EPOCH + timedelta(microseconds=us)
    return (moment.year - 1970) * 12 + moment.month - 1


def _length_us(unit: str) -> int:
    return {"h": US_HOUR, "D": US_DAY, "W": 7 * US_DAY}[unit]


def reference(
    ids: list[Any],
    at: list[int],
    amounts: list[int] | None,
    observation_end: int,
    calibration_end: int | None,
    unit: str,
    period: str,
) -> dict[Any, tuple[Any, ...]]:
    """The documented semantics, one customer at a time, in plain Python."""
    ratio = 1.0 if period == "M" else _length_us(period) / _length_us(unit)
    end = _period(observation_end, period)
    cal = None if calibration_end is None else _period(calibration_end, period)
    spend: dict[Any, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for i, (cid, us) in enumerate(zip(ids, at, strict=True)):
        p = _period(us, period)
        if p <= end:
            spend[cid][p] += 0 if amounts is None else amounts[i]
    out: dict[Any, tuple[Any, ...]] = {}
    for cid, periods in spend.items():
        ordered = sorted(periods)
        horizon = end if cal is None else cal
        inside = [p for p in ordered if p <= horizon]
        if not inside:
            continue
        later = [p for p in ordered if p > horizon]
        frequency = len(inside) - 1
        monetary = sum(periods[p] for p in inside[1:]) / frequency if frequency else 0.0
        later_money = sum(periods[p] for p in later) / len(later) if later else 0.0
        out[cid] = (
            frequency,
            (inside[-1] - inside[0]) * ratio,
            (horizon - inside[0]) * ratio,
            monetary,
            len(later),
            later_money,
        )
    return out


def as_dict(summary: TransactionSummary) -> dict[Any, tuple[Any, ...]]:
    rows = {}
    for i, cid in enumerate(summary.customer_ids.tolist()):
        rows[cid] = (
            int(summary.frequency[i]),
            float(summary.recency[i]),
            float(summary.T[i]),
            0.0 if summary.monetary_value is None else float(summary.monetary_value[i]),
            0 if summary.frequency_holdout is None else int(summary.frequency_holdout[i]),
            0.0
            if summary.monetary_value_holdout is None
            else float(summary.monetary_value_holdout[i]),
        )
    return rows


START = int(datetime(2023, 12, 25, tzinfo=UTC).timestamp()) * 1_000_000
SPAN = 120 * US_DAY


@st.composite
def transaction_logs(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(1, 60))
    id_kind = draw(st.sampled_from(["small", "wide", "negative", "text"]))
    pool = {
        "small": st.integers(0, 6),
        "wide": st.integers(0, 2**62).map(lambda v: v - v % 7),
        "negative": st.integers(-5, 5),
        "text": st.sampled_from(["李", "王", "alice", "bob", "c-3"]),
    }[id_kind]
    ids = draw(st.lists(pool, min_size=n, max_size=n))
    at = draw(st.lists(st.integers(START, START + SPAN), min_size=n, max_size=n))
    with_money = draw(st.booleans())
    amounts = draw(st.lists(st.integers(-500, 10_000), min_size=n, max_size=n))
    unit, period = draw(
        st.sampled_from(
            [("D", "D"), ("W", "W"), ("h", "h"), ("D", "h"), ("W", "D"), ("D", "W"), ("M", "M")]
        )
    )
    end = draw(st.integers(START, START + SPAN + 10 * US_DAY))
    split = draw(st.booleans())
    cal = draw(st.integers(START - 40 * US_DAY, end)) if split else None
    return {
        "ids": ids,
        "at": at,
        "amounts": amounts if with_money else None,
        "end": end,
        "cal": cal,
        "unit": unit,
        "period": period,
    }


@settings(max_examples=150, deadline=None)
@given(log=transaction_logs())
def test_summary_matches_the_slow_reference(log: dict[str, Any]) -> None:
    args = (log["ids"], np.array(log["at"], dtype=np.int64))
    money = None if log["amounts"] is None else np.array(log["amounts"], dtype=np.int64)
    expected_cal = log["cal"]
    if expected_cal is not None and _period(expected_cal, log["period"]) >= _period(
        log["end"], log["period"]
    ):
        with pytest.raises(ValidationError, match="calibration_end"):
            summarize_transactions(
                *args,
                money,
                observation_end=log["end"],
                calibration_end=expected_cal,
                unit=log["unit"],
                period=log["period"],
            )
        return
    summary = summarize_transactions(
        *args,
        money,
        observation_end=log["end"],
        calibration_end=expected_cal,
        unit=log["unit"],
        period=log["period"],
    )
    expected = reference(
        log["ids"], log["at"], log["amounts"], log["end"], expected_cal, log["unit"], log["period"]
    )
    got = as_dict(summary)
    assert got.keys() == expected.keys()
    for cid, row in expected.items():
        assert got[cid][:3] == pytest.approx(row[:3], rel=1e-12, abs=1e-12)
        if log["amounts"] is not None:
            assert got[cid][3] == pytest.approx(row[3], rel=1e-12, abs=1e-9)
        if expected_cal is not None:
            assert got[cid][4] == row[4]
            if log["amounts"] is not None:
                assert got[cid][5] == pytest.approx(row[5], rel=1e-12, abs=1e-9)
    assert list(summary.customer_ids) == sorted(expected)
    assert summary.frequency.dtype == np.int64


def test_purchases_on_one_day_merge_and_the_first_purchase_is_not_a_repeat() -> None:
    days = np.array(
        ["2024-01-01T09:00", "2024-01-01T18:00", "2024-01-05T10:00", "2024-01-02T00:00"],
        dtype="datetime64[m]",
    )
    summary = summarize_transactions(
        [7, 7, 7, 9], days, [500, 250, 1000, 300], observation_end=date(2024, 1, 10)
    )
    assert summary.customer_ids.tolist() == [7, 9]
    assert summary.frequency.tolist() == [1, 0]
    assert summary.recency.tolist() == [4.0, 0.0]
    assert summary.T.tolist() == [9.0, 8.0]
    assert summary.monetary_value is not None
    assert summary.monetary_value.tolist() == [1000.0, 0.0]


def test_weeks_start_on_monday_and_hours_give_fractional_days() -> None:
    # 2024-01-07 is a Sunday, 2024-01-08 a Monday.
    moments = np.array(["2024-01-07T23:00", "2024-01-08T01:00"], dtype="datetime64[m]")
    weekly = summarize_transactions(
        ["a", "a"], moments, unit="week", observation_end=date(2024, 1, 15)
    )
    assert weekly.frequency.tolist() == [1]
    assert weekly.recency.tolist() == [1.0]
    assert weekly.T.tolist() == [2.0]
    hourly = summarize_transactions(
        ["a", "a"],
        moments,
        unit="D",
        period="h",
        observation_end=datetime(2024, 1, 8, 1, 59, tzinfo=UTC),  # its hour counts whole
    )
    assert hourly.recency.tolist() == [pytest.approx(2 / 24)]
    assert hourly.T.tolist() == [pytest.approx(2 / 24)]


def test_aware_datetimes_are_read_in_utc_and_naive_ones_are_refused() -> None:
    shanghai = timezone(timedelta(hours=8))
    moments = [
        datetime(2024, 3, 1, 7, 0, tzinfo=shanghai),  # 2024-02-29 23:00 UTC
        datetime(2024, 3, 1, 9, 0, tzinfo=shanghai),  # 2024-03-01 01:00 UTC
    ]
    summary = summarize_transactions(
        ["张三", "张三"],
        np.array(moments, dtype=object),
        observation_end=datetime(2024, 3, 2, tzinfo=UTC),
    )
    assert summary.customer_ids.tolist() == ["张三"]
    assert summary.frequency.tolist() == [1]
    with pytest.raises(ValidationError, match="timezone-aware"):
        summarize_transactions(
            [1], np.array([datetime(2024, 3, 1)], dtype=object), observation_end=date(2024, 3, 2)
        )
    with pytest.raises(ValidationError, match="observation_end"):
        summarize_transactions([1], [0], observation_end=datetime(2024, 3, 2))


def test_calibration_split_counts_holdout_purchases_and_drops_later_newcomers() -> None:
    day = np.datetime64("2024-01-01", "D")
    at = np.array([day, day + 3, day + 12, day + 14, day + 14, day + 11], dtype="datetime64[D]")
    summary = summarize_transactions(
        [1, 1, 1, 1, 1, 2],
        at,
        [10, 20, 40, 5, 5, 99],
        observation_end=date(2024, 1, 20),
        calibration_end=date(2024, 1, 10),
    )
    assert summary.customer_ids.tolist() == [1]  # customer 2 first bought in the holdout
    assert summary.frequency.tolist() == [1]
    assert summary.T.tolist() == [9.0]
    assert summary.frequency_holdout is not None
    assert summary.frequency_holdout.tolist() == [2]
    assert summary.monetary_value_holdout is not None
    assert summary.monetary_value_holdout.tolist() == [25.0]
    assert summary.duration_holdout == 10.0
    frame = summary.to_pandas()
    assert list(frame.columns) == [
        "frequency",
        "recency",
        "T",
        "monetary_value",
        "frequency_holdout",
        "monetary_value_holdout",
        "duration_holdout",
    ]
    assert frame.index.name == "customer_id"


def test_transactions_after_the_observation_end_are_ignored_and_empty_input_is_fine() -> None:
    summary = summarize_transactions(
        [1, 2], np.array(["2024-01-01", "2024-02-01"], dtype="datetime64[D]"),
        observation_end=date(2024, 1, 15),
    )  # fmt: skip
    assert summary.customer_ids.tolist() == [1]
    assert summary.monetary_value is None
    empty = summarize_transactions(
        np.array([], dtype=np.int64), np.array([], dtype=np.int64), observation_end=0
    )
    assert len(empty) == 0


def test_the_columns_are_read_only() -> None:
    summary = summarize_transactions([1], [0], observation_end=0)
    with pytest.raises(ValueError, match="read-only"):
        summary.frequency[0] = 3


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"customer_id": [1, 2], "at": [0]}, "at"),
        ({"customer_id": [1], "at": [0], "amount": [1, 2]}, "amount"),
        ({"customer_id": [1], "at": [0], "amount": [float("nan")]}, "amount"),
        ({"customer_id": [1], "at": [0.5]}, "at"),
        ({"customer_id": [1.5], "at": [0]}, "customer_id"),
        ({"customer_id": [1], "at": np.array(["NaT"], dtype="datetime64[s]")}, "at"),
        ({"customer_id": [1], "at": [0], "unit": "fortnight"}, "unit"),
        ({"customer_id": [1], "at": [0], "unit": "D", "period": "M"}, "unit"),
        ({"customer_id": [1], "at": [0], "observation_end": "2024-01-01"}, "observation_end"),
    ],
)
def test_bad_input_names_the_field(kwargs: dict[str, Any], field: str) -> None:
    kwargs.setdefault("observation_end", 0)
    with pytest.raises(ValidationError) as caught:
        summarize_transactions(**kwargs)
    assert caught.value.field == field
