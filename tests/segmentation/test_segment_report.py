"""The segment report as a library call: every customer, the at-risk order, the
RFM values in its rows (issue 11 items 10, 11, 13; issue 10 item 6)."""

from __future__ import annotations

import csv
import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from custmgmt.adapters.memory import MemoryStore
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.analytics.frames import OrderFrame
from custmgmt.cli import main
from custmgmt.domain import Money
from custmgmt.segmentation.report import AT_RISK_ORDER, segment_report, segment_store
from custmgmt.testing import make_customer, make_order, make_order_line

AS_OF = datetime(2025, 12, 31, tzinfo=UTC)


def _lapsed_buyers(n: int = 12) -> OrderFrame:
    """Customers with a steady 10-day cycle who all went silent (same churn score),
    spending different amounts; ids in the reverse order of their spend."""
    ids, times, amounts = [], [], []
    for k in range(n):
        for j in range(4):
            ids.append(f"c{k:02d}")
            times.append(np.datetime64("2025-01-01") + np.timedelta64(10 * j, "D"))
            amounts.append(100 * (k + 1))
    return OrderFrame.from_arrays(customer_id=np.array(ids), placed_at=np.array(times),
                                  amount=np.array(amounts), category=["茶"] * len(ids),
                                  currency="CNY")


def test_the_at_risk_list_is_sorted_by_score_then_value_not_by_id() -> None:
    report = segment_report(_lapsed_buyers(), as_of=AS_OF)
    listed = report.at_risk(None)
    assert len(listed) >= 2
    scores = [e.score for e in listed]
    assert scores == sorted(scores, reverse=True)
    spend = dict(zip(report.features.customer_ids.tolist(),
                     report.features["total_spend"].tolist(), strict=True))
    for a, b in itertools.pairwise(listed):
        if a.score == b.score:
            assert spend[a.customer_id] >= spend[b.customer_id]
    # Same scores here, so the biggest spender (the last id) comes first.
    assert listed[0].customer_id == "c11"
    text = report.format(top=3)
    assert f"top 3 at risk (by {AT_RISK_ORDER}):" in text
    assert text.index("c11:") < text.index("c10:") < text.index("c09:")


def test_rows_carry_recency_frequency_and_monetary() -> None:
    report = segment_report(_lapsed_buyers(3), as_of=AS_OF)
    rows = report.rows()
    first = rows[0]
    assert first["customer_id"] == "c00"
    assert first["frequency"] == 4
    assert first["monetary"] == pytest.approx(4.0)  # 4 x 100 minor units of CNY
    assert first["recency_days"] == pytest.approx((AS_OF - datetime(2025, 1, 31, tzinfo=UTC))
                                                  / timedelta(days=1))


def test_segment_out_writes_recency_frequency_and_monetary(tmp_path: Path) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text("customer_id,placed_at,amount\na,2025-01-01,10.50\na,2025-01-11,20\n"
                      "b,2025-02-01,5\n", encoding="utf-8")
    out = tmp_path / "seg.csv"
    assert main(["segment", str(orders), "--as-of", "2025-03-01", "--out", str(out)]) == 0
    with out.open(encoding="utf-8") as stream:
        rows = {r["customer_id"]: r for r in csv.DictReader(stream)}
    assert float(rows["a"]["monetary"]) == pytest.approx(30.5)
    assert int(rows["a"]["frequency"]) == 2
    # --as-of a date means its end: one day less a microsecond after midnight
    assert float(rows["a"]["recency_days"]) == pytest.approx(50.0, abs=1e-6)
    assert float(rows["b"]["recency_days"]) == pytest.approx(29.0, abs=1e-6)


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_a_store_report_counts_every_customer_prospects_included(kind: str) -> None:
    store = MemoryStore() if kind == "memory" else SQLiteStore(":memory:")
    t0 = datetime(2025, 3, 1, tzinfo=UTC)
    for k in range(5):
        store.customers.add(make_customer(id=f"c{k}"))
    for k in range(3):
        line = make_order_line(unit_price=Money(Decimal(10 + k), "CNY"))
        store.orders.add(make_order(id=f"o{k}", customer_id=f"c{k}", placed_at=t0, lines=[line]))
    # c3 and c4 never ordered nor interacted; a customer registered later is not counted.
    store.customers.add(make_customer(id="later", registered_at=AS_OF + timedelta(days=1)))
    report = segment_store(store, as_of=AS_OF, currency="CNY")
    assert sorted(report.features.customer_ids.tolist()) == [f"c{k}" for k in range(5)]
    for segmentation in report.segmentations.values():
        assert sum(segmentation.sizes().values()) == 5
    lifecycle = report.segmentations["lifecycle"]
    assert {lifecycle.labels[report.features.index_of(c)] for c in ("c3", "c4")} == {"prospect"}
