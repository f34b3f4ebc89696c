"""Exporting a per-customer result: pandas, polars and Arrow, money as computed, cents
or decimals; and the size of the notebook display.

The result is a star rating over ``n`` customers (three orders each; score, stars
columns and one contribution column per criterion) with one money column added (net
spend, int64 minor units): the columns a
:class:`~custmgmt.notebook.dataframes.FrameExport` result declares. Each
export runs in turns (pandas, polars, Arrow, pandas ...) and the table gives the
median. ``money=None`` and ``money="minor"`` hand the int64 cents over without a copy;
``money="decimal"`` builds Python ``Decimal`` objects for pandas and polars, and
an Arrow ``decimal128`` buffer straight from the cents (no Python object per row).

The last table is the display: ``_repr_html_`` bytes and the time to build it.

Usage: ``python benchmarks/bench_frame_exports.py [--quick] [--repeat N]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np

from custmgmt.analytics.features import customer_features
from custmgmt.analytics.frames import OrderFrame
from custmgmt.notebook.dataframes import MoneyColumn, to_arrow, to_pandas, to_polars
from custmgmt.rating import RatingPolicy
from custmgmt.rating.result import rate
from custmgmt.segmentation.inputs import add_derived_features

AS_OF = datetime(2025, 1, 1, tzinfo=UTC)


def rating_columns(n: int, seed: int = 0) -> tuple[Any, dict[str, Any]]:
    rng = np.random.default_rng(seed)
    ids = np.repeat(np.arange(n), 3)
    orders = OrderFrame.from_arrays(
        customer_id=ids,
        placed_at=int(AS_OF.timestamp() * 1e6) - rng.integers(1, 700, ids.size) * 86_400_000_000,
        amount=rng.integers(1_000, 90_000, ids.size), currency="CNY",
    )
    table = add_derived_features(customer_features(orders, as_of=AS_OF))
    rating = rate(RatingPolicy.default(), table, as_of=AS_OF)
    columns = dict(rating._frame_columns())
    columns["net_spend"] = MoneyColumn(rng.integers(0, 5_000_000, n), "CNY")
    return rating, columns


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100k customers only")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    sizes = (100_000,) if args.quick else (100_000, 1_000_000)
    print(f"python {platform.python_version()}, numpy {np.__version__}, "
          f"load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} cores")
    print(f"{'customers':>10} {'money':>8} {'pandas s':>9} {'polars s':>9} {'arrow s':>9}")
    for n in sizes:
        _, columns = rating_columns(n)
        for money in (None, "minor", "decimal"):
            runs: dict[str, list[float]] = {"pandas": [], "polars": [], "arrow": []}
            exports = {"pandas": to_pandas, "polars": to_polars, "arrow": to_arrow}
            for export in exports.values():  # warm up: imports, first allocations
                export(columns, purpose="bench", money=money)
            for _ in range(args.repeat):
                for name, export in exports.items():
                    start = time.perf_counter()
                    export(columns, purpose="bench", money=money)
                    runs[name].append(time.perf_counter() - start)
            med = {k: statistics.median(v) for k, v in runs.items()}
            print(f"{n:>10,} {money or 'as is':>8} {med['pandas']:>9.4f} "
                  f"{med['polars']:>9.4f} {med['arrow']:>9.4f}")
    print()
    print(f"{'customers':>10} {'html bytes':>11} {'build s':>8}")
    for n in sizes:
        rating, _ = rating_columns(n)
        times = [timed(rating._repr_html_) for _ in range(args.repeat)]
        print(f"{n:>10,} {len(rating._repr_html_().encode()):>11,} "
              f"{statistics.median(times):>8.4f}")


if __name__ == "__main__":
    main()
