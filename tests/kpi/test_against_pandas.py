"""The cohort matrix and the sales breakdowns equal a pandas computation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pytest

from custmgmt.analytics.frames import OrderFrame
from custmgmt.kpi import Period, breakdown, cohort_matrix, sales_by_category, sales_by_period

pd = pytest.importorskip("pandas")

AS_OF = datetime(2026, 6, 30, 23, 0, tzinfo=timezone(timedelta(hours=8)))


def _data(seed: int, n: int = 4000) -> tuple[OrderFrame, object]:
    rng = np.random.default_rng(seed)
    start = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp()) * 1_000_000
    span = int((AS_OF - datetime(2024, 1, 1, tzinfo=UTC)).total_seconds()) * 1_000_000
    t = np.sort(start + rng.integers(0, span, n))
    amount = rng.integers(100, 100_000, n)
    returned = np.where(rng.random(n) < 0.1, amount // 2, 0)
    status = rng.choice(["delivered", "cancelled", "returned", "paid"], n, p=[.7, .1, .1, .1])
    cats = rng.choice(["图书", "apparel", "tea", "toys"], n)
    cust = rng.integers(0, 500, n)
    frame = OrderFrame.from_arrays(customer_id=cust, placed_at=t, amount=amount,
                                   returned_amount=returned, status=list(status),
                                   category=list(cats), currency="CNY")
    df = pd.DataFrame({"c": cust, "t": pd.to_datetime(t, unit="us", utc=True), "amount": amount,
                       "returned": returned, "status": status, "cat": cats})
    df["net"] = df["amount"] - df["returned"]
    return frame, df


@pytest.mark.parametrize("seed", [1, 2])
def test_the_cohort_matrix_equals_pandas(seed: int) -> None:
    frame, df = _data(seed)
    months = 24
    got = cohort_matrix(frame, AS_OF, months)
    d = df[(df.status != "cancelled") & (df.t <= AS_OF)].copy()
    local = d.t.dt.tz_convert(AS_OF.tzinfo).dt.tz_localize(None)
    d["m"] = local.dt.year * 12 + local.dt.month - 1
    end = AS_OF.year * 12 + AS_OF.month - 1
    start = end - months + 1
    first = d.groupby("c")["m"].transform("min")
    last = d.groupby("c")["m"].transform("max")
    d["cohort"], d["k"], d["last"] = first - start, d.m - first, last - first
    d = d[d.cohort >= 0]
    sizes = d.groupby("cohort")["c"].nunique().reindex(range(months), fill_value=0)
    assert got.sizes.tolist() == sizes.tolist()
    ret = d.groupby(["cohort", "k"])["c"].nunique().unstack(fill_value=0)
    ret = ret.reindex(index=range(months), columns=range(months), fill_value=0).to_numpy().copy()
    per_customer = d.drop_duplicates("c")
    lag = per_customer.groupby(["cohort", "last"])["c"].count().unstack(fill_value=0)
    lag = lag.reindex(index=range(months), columns=range(months), fill_value=0).to_numpy().copy()
    act = lag[:, ::-1].cumsum(axis=1)[:, ::-1].copy()
    future = np.add.outer(np.arange(months), np.arange(months)) >= months
    ret[future] = act[future] = -1
    assert got.returned.tolist() == ret.tolist()
    assert got.active.tolist() == act.tolist()


@pytest.mark.parametrize(("freq", "rule"), [("month", "M"), ("day", "D"), ("week", "W")])
def test_sales_by_period_equal_pandas(freq: str, rule: str) -> None:
    frame, df = _data(3)
    p = Period(datetime(2025, 3, 10, tzinfo=UTC), datetime(2025, 9, 20, tzinfo=UTC))
    got = sales_by_period(frame, p, freq)
    d = df[(df.status != "cancelled") & (df.t >= p.start) & (df.t < p.end)].copy()
    key = d.t.dt.tz_localize(None).dt.to_period(rule).dt.start_time.dt.strftime(
        "%Y-%m" if freq == "month" else "%Y-%m-%d")
    want = d.groupby(key)["net"].sum()
    assert dict(zip(got.labels, got.net.tolist(), strict=True)) == {
        label: int(want.get(label, 0)) for label in got.labels}
    assert int(got.net.sum()) == int(d.net.sum())
    assert set(want.index) <= set(got.labels)


def test_sales_by_category_and_by_customer_group_equal_pandas() -> None:
    frame, df = _data(4)
    p = Period(datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))
    d = df[(df.status != "cancelled") & (df.t >= p.start) & (df.t < p.end)]
    got = sales_by_category(frame, p)
    want = d.groupby("cat")["net"].sum()
    assert dict(zip(got.labels, got.net.tolist(), strict=True)) == {
        k: int(v) for k, v in want.items()}
    # a customer attribute: customer id mod 3, with id mod 7 == 0 unknown
    ids = frame.customer_ids.astype(np.int64)
    group = np.where(ids % 7 == 0, -1, ids % 3)
    b = breakdown(frame, p, group, ("a", "b", "c"), "toy")
    g = d.assign(g=np.where(d.c % 7 == 0, -1, d.c % 3))
    g = g[g.g >= 0]
    per = g.groupby("g").agg(net=("net", "sum"), orders=("net", "size"), buyers=("c", "nunique"))
    assert b.net.tolist() == per.net.tolist()
    assert b.orders.tolist() == per.orders.tolist()
    assert b.buyers.tolist() == per.buyers.tolist()
    aov = g.groupby("g")["net"].mean()
    assert [f.value for f in b.aov] == pytest.approx(aov.tolist())
    repeat = g.groupby(["g", "c"]).size().ge(2).groupby("g").mean()
    assert [f.value for f in b.repeat] == pytest.approx(repeat.tolist())
