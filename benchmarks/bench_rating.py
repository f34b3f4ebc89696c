"""Star-rating speed: raw order arrays to features and stars, against pandas, polars
and the floor; peak memory; one incremental update with 1M customers rated.

Run as ``python benchmarks/bench_rating.py`` (``--quick`` for small sizes,
``--markdown PATH`` to also write the table as Markdown).

The computation, the same in every engine: from unsorted, sparse int64 customer ids
with placed_at, amount, returned amount and a category code per order, keep orders
placed up to ``as_of``; per customer compute net spend, order count and distinct
categories; score ``0.6 * pct_rank(spend) + 0.3 * pct_rank(count) + 0.1 *
pct_rank(categories)`` (pandas' average rank over count); cut five star levels at the
score quantiles 0.30, 0.60, 0.80, 0.95 (the default policy). The engines' stars are
checked to agree.

* custmgmt: ``OrderFrame.from_arrays`` -> ``customer_features`` -> ``policy.rate``,
  single-threaded numpy.
* pandas: ``groupby(...).agg(sum, size, nunique)``, ``rank(pct=True)``, ``quantile``.
* polars: the lazy ``group_by().agg()`` with ``rank("average")``, on all cores.
* floor: one stable argsort of the customer ids plus one ``np.bincount``.

Peak memory is measured in a child process with tracemalloc (numpy reports its
buffers to it): the most the custmgmt pipeline allocates on top of the input arrays,
relative to their bytes (the goal, total peak under twice the input, is a ratio
under 1).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

AS_OF = datetime(2026, 1, 1, tzinfo=UTC)
AS_OF_US = int((AS_OF - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(microseconds=1))
CUTS = [0.30, 0.60, 0.80, 0.95]
Arrays = dict[str, np.ndarray]


def synthetic(n_orders: int, seed: int = 0) -> Arrays:
    """Unsorted orders of n/10 customers with sparse int64 ids."""
    rng = np.random.default_rng(seed)
    n_customers = max(1, n_orders // 10)
    pool = rng.choice(2**40, size=n_customers, replace=False).astype(np.int64) + 10**12
    # Skewed activity: a few customers order a lot, like real shops.
    weights = rng.pareto(1.5, n_customers) + 1
    customer = pool[rng.choice(n_customers, size=n_orders, p=weights / weights.sum())]
    amount = (rng.lognormal(8, 1, n_orders)).astype(np.int64) + 100
    returned = np.where(rng.random(n_orders) < 0.05, amount // 2, 0).astype(np.int64)
    return {
        "customer_id": customer,
        "placed_at": AS_OF_US - rng.integers(0, 3 * 365 * 86_400_000_000, n_orders),
        "amount": amount,
        "returned_amount": returned,
        "category": rng.integers(0, 40, n_orders).astype(np.int32),
    }


def input_bytes(data: Arrays) -> int:
    return sum(a.nbytes for a in data.values())


def stars_from_scores(score: np.ndarray) -> np.ndarray:
    thresholds = np.quantile(score, CUTS)
    return np.searchsorted(thresholds, score, side="right") + 1


# -- the engines ------------------------------------------------------------------------
def run_custmgmt(data: Arrays) -> tuple[np.ndarray, np.ndarray]:
    from custmgmt.analytics.features import customer_features
    from custmgmt.analytics.frames import OrderFrame
    from custmgmt.rating import RatingPolicy, rate

    policy = RatingPolicy.default()
    frame = OrderFrame.from_arrays(
        customer_id=data["customer_id"],
        placed_at=data["placed_at"],
        amount=data["amount"],
        returned_amount=data["returned_amount"],
        category=data["category"],
        currency="CNY",
    )
    features = customer_features(frame, as_of=AS_OF, features=policy.features)
    rating = rate(policy, features)
    return rating.customer_ids, rating.stars


def run_pandas(data: Arrays) -> tuple[np.ndarray, np.ndarray]:
    import pandas as pd

    df = pd.DataFrame(data)
    df = df[df["placed_at"] <= AS_OF_US]
    df = df.assign(net=df["amount"] - df["returned_amount"])
    features = df.groupby("customer_id").agg(
        monetary_net=("net", "sum"),
        frequency=("net", "size"),
        category_breadth=("category", "nunique"),
    )
    ranks = features.rank(method="average", pct=True)
    score = 0.6 * ranks["monetary_net"] + 0.3 * ranks["frequency"]
    score += 0.1 * ranks["category_breadth"]
    return features.index.to_numpy(), stars_from_scores(score.to_numpy())


def run_polars(data: Arrays) -> tuple[np.ndarray, np.ndarray]:
    import polars as pl

    n = pl.len()
    scored = (
        pl.DataFrame(data)
        .lazy()
        .filter(pl.col("placed_at") <= AS_OF_US)
        .group_by("customer_id")
        .agg(
            (pl.col("amount") - pl.col("returned_amount")).sum().alias("monetary_net"),
            pl.len().alias("frequency"),
            pl.col("category").n_unique().alias("category_breadth"),
        )
        .with_columns(
            (
                0.6 * pl.col("monetary_net").rank("average") / n
                + 0.3 * pl.col("frequency").rank("average") / n
                + 0.1 * pl.col("category_breadth").rank("average") / n
            ).alias("score")
        )
        .collect()
    )
    score = scored["score"].to_numpy()
    return scored["customer_id"].to_numpy(), stars_from_scores(score)


def run_floor(data: Arrays) -> None:
    np.argsort(data["customer_id"], kind="stable")
    np.bincount(data["category"])


# -- measuring --------------------------------------------------------------------------
def timed(fn: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def agree(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> float:
    """Share of customers given the same stars (1.0 expected; float sums may tie-break)."""
    ids_a, stars_a = a
    ids_b, stars_b = b
    order_a = np.argsort(ids_a)
    order_b = np.argsort(ids_b)
    assert np.array_equal(np.asarray(ids_a)[order_a], np.asarray(ids_b)[order_b])
    return float(np.mean(stars_a[order_a] == stars_b[order_b]))


def child_peak(n_orders: int) -> dict[str, int]:
    """Run the custmgmt pipeline in a fresh process under tracemalloc."""
    code = (
        "import json, sys, tracemalloc\n"
        f"sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r})\n"
        "import bench_rating as b\n"
        f"data = b.synthetic({n_orders})\n"
        "b.run_custmgmt(b.synthetic(1000))  # imports happen before measuring\n"
        "tracemalloc.start()\n"
        "base = tracemalloc.get_traced_memory()[0]\n"
        "b.run_custmgmt(data)\n"
        "peak = tracemalloc.get_traced_memory()[1] - base\n"
        "print(json.dumps({'peak': peak, 'input': b.input_bytes(data)}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    result: dict[str, int] = json.loads(out.strip().splitlines()[-1])
    return result


def bench_size(n_orders: int, repeats: int) -> list[tuple[str, float, str]]:
    data = synthetic(n_orders)
    ours = run_custmgmt(data)
    checks = {"pandas": agree(ours, run_pandas(data)), "polars": agree(ours, run_polars(data))}
    t_ours = timed(lambda: run_custmgmt(data), repeats)
    t_pandas = timed(lambda: run_pandas(data), repeats)
    t_polars = timed(lambda: run_polars(data), repeats)
    t_floor = timed(lambda: run_floor(data), repeats)
    mem = child_peak(n_orders)
    peak_ratio = mem["peak"] / mem["input"]
    label = f"{n_orders:.0e} orders, {len(ours[0]):,} customers"
    return [
        (f"{label}: custmgmt", t_ours, f"{t_ours / t_floor:.2f}x floor"),
        (f"{label}: pandas", t_pandas,
         f"custmgmt {t_pandas / t_ours:.2f}x faster; stars agree {checks['pandas']:.4%}"),
        (f"{label}: polars (2 threads)", t_polars,
         f"custmgmt {t_polars / t_ours:.2f}x faster; stars agree {checks['polars']:.4%}"),
        (f"{label}: floor (argsort + bincount)", t_floor, "1.00x"),
        (f"{label}: custmgmt peak memory beyond the input", float("nan"),
         (f"{mem['peak'] / 2**20:.0f} MiB = {peak_ratio:.2f}x the "
          f"{mem['input'] / 2**20:.0f} MiB input (goal < 1x: total < 2x)")),
    ]


def bench_incremental(n_customers: int, updates: int) -> list[tuple[str, float, str]]:
    from custmgmt.analytics.features import customer_features
    from custmgmt.analytics.frames import OrderFrame
    from custmgmt.rating import IncrementalRater, RatingPolicy, rate

    data = synthetic(n_customers * 10, seed=1)
    policy = RatingPolicy.default()
    frame = OrderFrame.from_arrays(
        customer_id=data["customer_id"], placed_at=data["placed_at"], amount=data["amount"],
        returned_amount=data["returned_amount"], category=data["category"], currency="CNY",
    )
    features = customer_features(
        frame, as_of=AS_OF, features=IncrementalRater.required_features(policy)
    )
    rating = rate(policy, features)
    rater = IncrementalRater(rating, features, frame)
    rng = np.random.default_rng(2)
    ids = rating.customer_ids[rng.integers(0, len(rating), updates)].tolist()
    amounts = rng.integers(100, 100_000, updates).tolist()
    categories = [str(c) for c in rng.integers(0, 40, updates).tolist()]
    rater.add_order(ids[0], amount=1, placed_at=AS_OF, categories=["0"])  # builds the index
    at = AS_OF + timedelta(minutes=1)
    samples = []
    for customer, amount, category in zip(ids, amounts, categories, strict=True):
        start = time.perf_counter_ns()
        rater.add_order(customer, amount=amount, placed_at=at, categories=(category,))
        samples.append(time.perf_counter_ns() - start)
    median = statistics.median(samples) / 1e9
    p99 = float(np.percentile(samples, 99)) / 1e3
    return [
        (f"incremental add_order, {len(rating):,} customers rated", median,
         f"median {median * 1e6:.1f} µs, p99 {p99:.1f} µs over {updates:,} updates"),
    ]


def fmt(seconds: float) -> str:
    if seconds != seconds:
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, fewer repeats")
    parser.add_argument("--markdown", help="also write the table as Markdown to this file")
    args = parser.parse_args()
    sizes = [10**5, 10**6] if args.quick else [10**6, 10**7]
    repeats = 3 if args.quick else 5
    rows: list[tuple[str, float, str]] = []
    for n in sizes:
        rows += bench_size(n, repeats if n < 10**7 else 3)
    rows += bench_incremental(10**5 if args.quick else 10**6, 2_000 if args.quick else 20_000)
    width = max(len(r[0]) for r in rows)
    print(f"{'step':<{width}}  {'median':>10}  notes")
    for name, seconds, note in rows:
        print(f"{name:<{width}}  {fmt(seconds):>10}  {note}")
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as out:
            out.write("| step | median | notes |\n|---|---:|---|\n")
            for name, seconds, note in rows:
                out.write(f"| {name} | {fmt(seconds)} | {note} |\n")


if __name__ == "__main__":
    main()
