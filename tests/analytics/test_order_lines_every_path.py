"""Rows sharing an order_id are lines of one order in every input path (issue 11 item 8)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custmgmt.analytics.features import customer_features
from custmgmt.analytics.frames import OrderFrame
from custmgmt.errors import ValidationError

AS_OF = datetime(2025, 12, 31, tzinfo=UTC)
ROWS = {
    "customer_id": ["a", "a", "b", "b"],
    "order_id": ["o1", "o1", "o2", "o3"],
    "placed_at": ["2025-03-01T10:00:00+00:00"] * 2 + ["2025-03-02T10:00:00+00:00",
                                                       "2025-04-02T10:00:00+00:00"],
    "amount": ["10.00", "25.50", "8.00", "9.00"],
    "category": ["书", "食品", "书", "书"],
}


def _times(values: list[str]) -> list[datetime]:
    return [datetime.fromisoformat(v) for v in values]


def _from_arrays(rows: dict[str, list[str]]) -> OrderFrame:
    return OrderFrame.from_arrays(
        customer_id=np.array(rows["customer_id"]), order_id=np.array(rows["order_id"]),
        placed_at=_times(rows["placed_at"]), amount=rows["amount"], amount_unit="major",
        category=rows["category"], currency="CNY")


def _csv(tmp_path: Path, rows: dict[str, list[str]]) -> Path:
    path = tmp_path / "lines.csv"
    header = list(rows)
    lines = [",".join(header)] + [",".join(rows[c][i] for c in header)
                                  for i in range(len(rows["customer_id"]))]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _summary(frame: OrderFrame) -> dict[str, list[object]]:
    f = customer_features(frame, as_of=AS_OF,
                          features=["frequency", "monetary_total", "category_breadth"])
    order = np.argsort(f.customer_ids)
    return {name: f[name][order].tolist() for name in f.names} | {
        "ids": f.customer_ids[order].tolist()}


def test_a_one_time_buyer_with_two_lines_is_not_a_repeat_buyer_from_arrays() -> None:
    frame = _from_arrays(ROWS)
    assert len(frame) == 3
    s = _summary(frame)
    assert s["ids"] == ["a", "b"]
    assert s["frequency"] == [1, 2]
    assert s["monetary_total"] == [3550, 1700]
    assert s["category_breadth"] == [2, 1]  # every line's category still counts


def test_every_path_gives_the_same_orders(tmp_path: Path) -> None:
    expected = _summary(OrderFrame.from_csv(_csv(tmp_path, ROWS), currency="CNY"))
    assert _summary(_from_arrays(ROWS)) == expected
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({**ROWS, "placed_at": pd.to_datetime(ROWS["placed_at"], utc=True),
                       "amount": [float(a) for a in ROWS["amount"]]})
    assert _summary(OrderFrame.from_pandas(df, currency="CNY", amount_unit="major")) == expected
    df_cat = df.assign(category=df["category"].astype("category"))
    assert _summary(OrderFrame.from_pandas(df_cat, currency="CNY",
                                           amount_unit="major")) == expected


def test_conflicting_customers_of_one_order_name_both_rows() -> None:
    rows = dict(ROWS, customer_id=["a", "z", "b", "b"])
    with pytest.raises(ValidationError) as caught:
        _from_arrays(rows)
    message = str(caught.value)
    assert "row 1, column customer_id" in message
    assert "row 0" in message
    assert "'o1'" in message


def test_conflicting_times_of_one_order_name_both_rows() -> None:
    rows = dict(ROWS, placed_at=[ROWS["placed_at"][0], "2025-03-01T11:00:00+00:00",
                                 *ROWS["placed_at"][2:]])
    with pytest.raises(ValidationError, match=r"row 1, column placed_at.*time of row 0"):
        _from_arrays(rows)


def test_rows_without_an_order_id_never_merge() -> None:
    frame = OrderFrame.from_arrays(
        customer_id=np.array(["a", "a", "a"]), order_id=np.array([None, None, "x"], dtype=object),
        placed_at=np.array([1, 2, 3]), amount=np.array([100, 200, 300]), currency="CNY")
    assert len(frame) == 3


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("abc"), st.integers(0, 4), st.integers(1, 9_999)),
                min_size=1, max_size=25))
def test_merging_agrees_with_summing_lines_by_hand(lines: list[tuple[str, int, int]]) -> None:
    # Each order id belongs to one customer at one time, so no conflicts.
    owner = {}
    for customer, order, _ in lines:
        owner.setdefault(order, customer)
    frame = OrderFrame.from_arrays(
        customer_id=np.array([owner[o] for _, o, _ in lines]),
        order_id=np.array([f"o{o}" for _, o, _ in lines]),
        placed_at=np.array([o * 1_000_000 for _, o, _ in lines]),
        amount=np.array([a for *_, a in lines]), currency="CNY")
    totals: dict[str, int] = {}
    for _, o, a in lines:
        totals[f"o{o}"] = totals.get(f"o{o}", 0) + a
    assert sorted(zip(frame.order_id.tolist(), frame.amount.tolist(), strict=True)) == sorted(
        totals.items())
