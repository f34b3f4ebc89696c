"""Micro-benchmark of frames + customer features (custmgmt.analytics).

From raw arrays (unsorted, sparse int64 customer ids) to per-customer features, against
the floor (one stable argsort of the ids + one np.bincount) and the same features
written idiomatically in polars (which uses every core). Prints a Markdown table of
medians; peak memory is traced with tracemalloc (numpy reports its buffers to it).

    python benchmarks/bench_features.py            # 1e6 and 1e7 orders
    python benchmarks/bench_features.py --quick    # 1e5 and 1e6 orders
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np

from custmgmt.analytics.features import customer_features
from custmgmt.analytics.frames import STATUS_CODES, OrderFrame
from custmgmt.domain import OrderStatus

DAY = 86_400_000_000
AS_OF = datetime(2024, 1, 1, tzinfo=UTC)
LIMIT = (AS_OF - datetime(1970, 1, 1, tzinfo=UTC)).days * DAY
CANCELLED = STATUS_CODES.index(OrderStatus.CANCELLED)
DELIVERED = STATUS_CODES.index(OrderStatus.DELIVERED)
#: What a rating policy typically needs (spend, frequency, breadth, recency, cycle).
CORE = (
    "frequency",
    "monetary_net",
    "recency",
    "tenure",
    "category_breadth",
    "interval_mean",
    "interval_median",
    "interval_std",
    "spend_365d",
    "spend_prev_365d",
)


def make_data(n_orders: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Synthetic orders: ~10 per customer, 3 years, 5% cancelled, 20 categories."""
    rng = np.random.default_rng(seed)
    n_customers = max(n_orders // 10, 1)
    pool = rng.choice(2**40, size=n_customers, replace=False).astype(np.int64)
    return {
        "customer_id": pool[rng.integers(0, n_customers, n_orders)],
        "placed_at": LIMIT - rng.integers(0, 3 * 365 * DAY, n_orders),
        "amount": rng.integers(100, 200_000, n_orders),
        "returned_amount": np.where(rng.random(n_orders) < 0.05, 50, 0).astype(np.int64),
        "status": np.where(rng.random(n_orders) < 0.05, CANCELLED, DELIVERED).astype(np.int8),
        "category": rng.integers(0, 20, n_orders).astype(np.int32),
    }


def floor(data: dict[str, np.ndarray]) -> Any:
    order = np.argsort(data["customer_id"], kind="stable")
    return np.bincount(order[: len(order) // 2] % 1024)


def ours(data: dict[str, np.ndarray], names: tuple[str, ...] | None) -> Any:
    frame = OrderFrame.from_arrays(
        customer_id=data["customer_id"],
        placed_at=data["placed_at"],
        amount=data["amount"],
        returned_amount=data["returned_amount"],
        status=data["status"],
        category=data["category"],  # integer codes are labels too
        currency="CNY",
    )
    return customer_features(frame, as_of=AS_OF, features=names)


def polars_core(data: dict[str, np.ndarray]) -> Any:
    import polars as pl

    df = pl.DataFrame(data)
    net = pl.col("amount") - pl.col("returned_amount")
    year = 365 * DAY
    gaps = pl.col("placed_at").sort().diff().drop_nulls()
    return (
        df.lazy()
        .filter((pl.col("placed_at") <= LIMIT) & (pl.col("status") != CANCELLED))
        .group_by("customer_id")
        .agg(
            frequency=pl.len(),
            monetary_net=net.sum(),
            recency=(LIMIT - pl.col("placed_at").max()) / DAY,
            tenure=(LIMIT - pl.col("placed_at").min()) / DAY,
            category_breadth=pl.col("category").n_unique(),
            interval_mean=gaps.mean() / DAY,
            interval_median=gaps.median() / DAY,
            interval_std=gaps.std(ddof=0) / DAY,
            spend_365d=net.filter(pl.col("placed_at") > LIMIT - year).sum(),
            spend_prev_365d=net.filter(
                (pl.col("placed_at") > LIMIT - 2 * year) & (pl.col("placed_at") <= LIMIT - year)
            ).sum(),
        )
        .collect()
    )


def timed(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def peak_bytes(fn: Callable[[], Any]) -> int:
    gc.collect()
    tracemalloc.start()
    result = fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del result
    return peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (1e5, 1e6)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-polars", action="store_true")
    args = parser.parse_args()
    sizes = (10**5, 10**6) if args.quick else (10**6, 10**7)
    print(
        "| orders | floor s | frame+core s | frame+all s | polars core s | core/floor |"
        " polars/core | peak core / input |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in sizes:
        data = make_data(n)
        input_bytes = sum(a.nbytes for a in data.values())
        t_floor = timed(lambda d=data: floor(d), args.repeat)
        t_core = timed(lambda d=data: ours(d, CORE), args.repeat)
        t_all = timed(lambda d=data: ours(d, None), args.repeat)
        t_polars = float("nan")
        if not args.no_polars:
            t_polars = timed(lambda d=data: polars_core(d), args.repeat)
        peak = peak_bytes(lambda d=data: ours(d, CORE))
        print(
            f"| {n:.0e} | {t_floor:.3f} | {t_core:.3f} | {t_all:.3f} | {t_polars:.3f} |"
            f" {t_core / t_floor:.2f} | {t_polars / t_core:.2f} | {peak / input_bytes:.2f} |"
        )


if __name__ == "__main__":
    main()
