"""KPI speed: the order KPIs of custmgmt.kpi against the same KPIs in pandas and polars.

Run as ``python benchmarks/bench_kpi.py`` (``--sizes 1e6,1e7``, ``--repeats 3``).

The *KPI set*, computed by every side from the same columns (customer codes already
dense int32, times int64 µs UTC, amounts and refunds int64 minor units, status and
category codes), for a baseline quarter and a current quarter:

* net sales, counted orders and AOV of both quarters; return and cancellation rates;
* buyers, repeat-purchase rate and repurchase rate (bought before the quarter);
* retention from the baseline to the current quarter;
* the baseline buyers' 80th-percentile spend and the high-value ratio at it;
* net sales by month over both quarters and by category in the current one;
* the 24x24 monthly cohort matrix up to as_of, "returned in month k" and "still
  active by month k".

custmgmt adds Wilson intervals to each rate and a t interval to AOV (cheap: a few
scalars); pandas and polars return the bare numbers. Runs are interleaved (custmgmt,
pandas, polars, custmgmt, ...), each side's median is reported with its ratio, and the
first run of each size checks the three sides agree on every number. numpy runs on one
thread; polars uses every core it sees (2 on the measuring machine).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np

from custmgmt.analytics.frames import OrderFrame
from custmgmt.kpi import Period
from custmgmt.kpi import measures as m

AS_OF = datetime(2026, 6, 30, 23, 59, tzinfo=UTC)
BASE = Period(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))
CUR = Period(datetime(2026, 4, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC))
MONTHS = 24
CANCELLED = 4  # STATUS_CODES.index(OrderStatus.CANCELLED)


def make_columns(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    n_customers = max(1, n // 10)
    start = int(datetime(2023, 7, 1, tzinfo=UTC).timestamp()) * 1_000_000
    end = int(AS_OF.timestamp()) * 1_000_000
    t = np.sort(rng.integers(start, end, n))
    amount = rng.integers(100, 200_000, n)
    returned = np.where(rng.random(n) < 0.08, amount // 3, 0)
    return {
        "c": rng.integers(0, n_customers, n).astype(np.int32),
        "t": t,
        "amount": amount,
        "returned": returned,
        "status": rng.choice(np.array([0, 1, 2, 3, 4, 5, 6], np.int8), n,
                             p=[.05, .05, .05, .7, .05, .05, .05]),
        "category": rng.integers(0, 12, n).astype(np.int32),
    }


def to_frame(cols: dict[str, np.ndarray]) -> OrderFrame:
    n_customers = int(cols["c"].max()) + 1
    return OrderFrame(
        customer_code=cols["c"], customer_ids=np.arange(n_customers),
        placed_at=cols["t"], amount=cols["amount"], returned_amount=cols["returned"],
        status=cols["status"], category=cols["category"],
        category_names=tuple(f"cat{i:02d}" for i in range(12)),
        channel=np.full(len(cols["t"]), -1, np.int32), currency="CNY")


# -- custmgmt ----------------------------------------------------------------------------
def ours(frame: OrderFrame) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, p in (("base", BASE), ("cur", CUR)):
        s = m.net_sales(frame, p)
        out[f"{name}_net"] = s.numerator
        out[f"{name}_orders"] = s.denominator
        out[f"{name}_aov"] = m.average_order_value(frame, p).value
        out[f"{name}_return"] = m.return_rate(frame, p).numerator
        out[f"{name}_cancel"] = m.cancellation_rate(frame, p).numerator
        r = m.repeat_purchase_rate(frame, p)
        out[f"{name}_buyers"], out[f"{name}_repeat"] = r.denominator, r.numerator
        out[f"{name}_repurchase"] = m.repurchase_rate(frame, p).numerator
    out["retained"] = m.retention_rate(frame, BASE, CUR).numerator
    threshold = m.high_value_threshold(frame, BASE)
    out["threshold"] = threshold
    out["high_value"] = m.high_value_ratio(frame, CUR, threshold or 0).numerator
    out["by_month"] = m.sales_by_period(frame, Period(BASE.start, CUR.end), "month").net.tolist()
    out["by_category"] = m.sales_by_category(frame, CUR).net.tolist()
    cm = m.cohort_matrix(frame, AS_OF, MONTHS)
    out["cohort_returned"], out["cohort_active"] = cm.returned.tolist(), cm.active.tolist()
    return out


def _us(d: datetime) -> int:
    return int(d.timestamp()) * 1_000_000


# -- pandas -------------------------------------------------------------------------------
def with_pandas(df: Any) -> dict[str, Any]:
    import pandas as pd

    out: dict[str, Any] = {}
    counted = df[df.status != CANCELLED]
    net = counted.amount - counted.returned
    counted = counted.assign(net=net)
    for name, p in (("base", BASE), ("cur", CUR)):
        s, e = _us(p.start), _us(p.end)
        inside = counted[(counted.t >= s) & (counted.t < e)]
        out[f"{name}_net"] = int(inside.net.sum())
        out[f"{name}_orders"] = len(inside)
        out[f"{name}_aov"] = float(inside.net.mean())
        out[f"{name}_return"] = int((inside.returned > 0).sum())
        placed = df[(df.t >= s) & (df.t < e)]
        out[f"{name}_cancel"] = int((placed.status == CANCELLED).sum())
        per = inside.groupby("c").size()
        out[f"{name}_buyers"], out[f"{name}_repeat"] = len(per), int((per >= 2).sum())
        before = counted.c[counted.t < s].unique()
        out[f"{name}_repurchase"] = int(per.index.isin(before).sum())
        out[f"{name}_buyers_index"] = per.index
    out["retained"] = int(out.pop("base_buyers_index").isin(out.pop("cur_buyers_index")).sum())
    s, e = _us(BASE.start), _us(BASE.end)
    spend = counted[(counted.t >= s) & (counted.t < e)].groupby("c").net.sum()
    k = max(0, -(-4 * len(spend) // 5) - 1)
    threshold = int(np.partition(spend.to_numpy(), k)[k])
    out["threshold"] = threshold
    s, e = _us(CUR.start), _us(CUR.end)
    cur = counted[(counted.t >= s) & (counted.t < e)]
    out["high_value"] = int((cur.groupby("c").net.sum() >= threshold).sum())
    span = counted[(counted.t >= _us(BASE.start)) & (counted.t < _us(CUR.end))]
    month = pd.to_datetime(span.t, unit="us").dt.to_period("M")
    out["by_month"] = span.net.groupby(month).sum().tolist()
    out["by_category"] = cur.groupby("category").net.sum().reindex(range(12), fill_value=0) \
        .tolist()
    # cohorts
    upto = counted[counted.t <= _us(AS_OF)]
    dt = pd.to_datetime(upto.t, unit="us")
    mi = (dt.dt.year * 12 + dt.dt.month - 1).to_numpy()
    end = AS_OF.year * 12 + AS_OF.month - 1
    start = end - MONTHS + 1
    d = pd.DataFrame({"c": upto.c.to_numpy(), "m": mi})
    g = d.groupby("c").m
    d["first"], d["last"] = g.transform("min"), g.transform("max")
    d = d[d["first"] >= start]
    pairs = d.drop_duplicates(["c", "m"])
    ret = pairs.groupby([pairs["first"] - start, pairs.m - pairs["first"]]).size() \
        .unstack(fill_value=0).reindex(index=range(MONTHS), columns=range(MONTHS),
                                       fill_value=0).to_numpy().copy()
    one = d.drop_duplicates("c")
    lag = one.groupby([one["first"] - start, one["last"] - one["first"]]).size() \
        .unstack(fill_value=0).reindex(index=range(MONTHS), columns=range(MONTHS),
                                       fill_value=0).to_numpy()
    act = lag[:, ::-1].cumsum(axis=1)[:, ::-1].copy()
    future = np.add.outer(np.arange(MONTHS), np.arange(MONTHS)) >= MONTHS
    ret[future] = act[future] = -1
    out["cohort_returned"], out["cohort_active"] = ret.tolist(), act.tolist()
    return out


# -- polars -------------------------------------------------------------------------------
def with_polars(df: Any) -> dict[str, Any]:
    import polars as pl

    out: dict[str, Any] = {}
    counted = df.filter(pl.col("status") != CANCELLED).with_columns(
        net=pl.col("amount") - pl.col("returned"))
    buyers: dict[str, Any] = {}
    for name, p in (("base", BASE), ("cur", CUR)):
        s, e = _us(p.start), _us(p.end)
        inside = counted.filter((pl.col("t") >= s) & (pl.col("t") < e))
        agg = inside.select(pl.col("net").sum().alias("net"), pl.len().alias("n"),
                            pl.col("net").mean().alias("aov"),
                            (pl.col("returned") > 0).sum().alias("ret")).row(0)
        out[f"{name}_net"], out[f"{name}_orders"], out[f"{name}_aov"], out[f"{name}_return"] = \
            int(agg[0] or 0), int(agg[1]), agg[2], int(agg[3] or 0)
        out[f"{name}_cancel"] = df.filter((pl.col("t") >= s) & (pl.col("t") < e)
                                          & (pl.col("status") == CANCELLED)).height
        per = inside.group_by("c").len()
        out[f"{name}_buyers"] = per.height
        out[f"{name}_repeat"] = per.filter(pl.col("len") >= 2).height
        before = counted.filter(pl.col("t") < s).select("c").unique()
        out[f"{name}_repurchase"] = per.join(before, on="c", how="semi").height
        buyers[name] = per.select("c")
    out["retained"] = buyers["base"].join(buyers["cur"], on="c", how="semi").height
    s, e = _us(BASE.start), _us(BASE.end)
    spend = counted.filter((pl.col("t") >= s) & (pl.col("t") < e)).group_by("c") \
        .agg(pl.col("net").sum())["net"].to_numpy()
    k = max(0, -(-4 * len(spend) // 5) - 1)
    threshold = int(np.partition(spend, k)[k])
    out["threshold"] = threshold
    s, e = _us(CUR.start), _us(CUR.end)
    cur = counted.filter((pl.col("t") >= s) & (pl.col("t") < e))
    out["high_value"] = cur.group_by("c").agg(pl.col("net").sum()) \
        .filter(pl.col("net") >= threshold).height
    span = counted.filter((pl.col("t") >= _us(BASE.start)) & (pl.col("t") < _us(CUR.end)))
    by_month = span.with_columns(mo=pl.from_epoch("t", time_unit="us").dt.truncate("1mo")) \
        .group_by("mo").agg(pl.col("net").sum()).sort("mo")
    out["by_month"] = by_month["net"].to_list()
    by_cat = cur.group_by("category").agg(pl.col("net").sum())
    cats = np.zeros(12, np.int64)
    cats[by_cat["category"].to_numpy()] = by_cat["net"].to_numpy()
    out["by_category"] = cats.tolist()
    end = AS_OF.year * 12 + AS_OF.month - 1
    start = end - MONTHS + 1
    dt = pl.from_epoch("t", time_unit="us")
    d = counted.filter(pl.col("t") <= _us(AS_OF)).select(
        "c", m=(dt.dt.year().cast(pl.Int64) * 12 + dt.dt.month().cast(pl.Int64) - 1))
    d = d.with_columns(first=pl.col("m").min().over("c"), last=pl.col("m").max().over("c")) \
        .filter(pl.col("first") >= start)
    pairs = d.unique(["c", "m"]).group_by(
        coh=pl.col("first") - start, k=pl.col("m") - pl.col("first")).len()
    ret = np.zeros((MONTHS, MONTHS), np.int64)
    ret[pairs["coh"].to_numpy(), pairs["k"].to_numpy()] = pairs["len"].to_numpy()
    one = d.unique("c").group_by(coh=pl.col("first") - start,
                                 lag=pl.col("last") - pl.col("first")).len()
    lag = np.zeros((MONTHS, MONTHS), np.int64)
    lag[one["coh"].to_numpy(), one["lag"].to_numpy()] = one["len"].to_numpy()
    act = lag[:, ::-1].cumsum(axis=1)[:, ::-1].copy()
    future = np.add.outer(np.arange(MONTHS), np.arange(MONTHS)) >= MONTHS
    ret[future] = act[future] = -1
    out["cohort_returned"], out["cohort_active"] = ret.tolist(), act.tolist()
    return out


def _same(a: dict[str, Any], b: dict[str, Any], who: str) -> None:
    for key, value in a.items():
        other = b[key]
        if isinstance(value, float):
            ok = abs(value - other) <= 1e-6 * max(1.0, abs(value))
        else:
            ok = value == other
        if not ok:
            raise SystemExit(f"{who} disagrees on {key}: {value!r} != {other!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1e6", help="orders, comma-separated (1e6,1e7)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    import pandas as pd
    import polars as pl

    print(f"numpy {np.__version__}, pandas {pd.__version__}, polars {pl.__version__} "
          f"({pl.thread_pool_size()} threads)")
    print(f"{'orders':>12} {'custmgmt s':>11} {'pandas s':>9} {'polars s':>9} "
          f"{'pandas/ours':>12} {'ours/polars':>12}")
    for size in (int(float(s)) for s in args.sizes.split(",")):
        cols = make_columns(size)
        frame = to_frame(cols)
        pdf = pd.DataFrame(cols)
        pldf = pl.DataFrame(cols)
        reference = ours(frame)
        _same(reference, with_pandas(pdf), "pandas")
        _same(reference, with_polars(pldf), "polars")
        runs: dict[str, list[float]] = {"ours": [], "pandas": [], "polars": []}
        sides: dict[str, Callable[[], Any]] = {
            "ours": lambda f=frame: ours(f), "pandas": lambda d=pdf: with_pandas(d),
            "polars": lambda d=pldf: with_polars(d)}
        for _ in range(args.repeats):
            for name, fn in sides.items():
                start = time.perf_counter()
                fn()
                runs[name].append(time.perf_counter() - start)
        med = {k: statistics.median(v) for k, v in runs.items()}
        print(f"{size:>12,} {med['ours']:>11.3f} {med['pandas']:>9.3f} {med['polars']:>9.3f} "
              f"{med['pandas'] / med['ours']:>12.2f} {med['ours'] / med['polars']:>12.2f}",
              flush=True)


if __name__ == "__main__":
    main()
