"""The feature step alone: ``customer_features`` with ``engine="numpy"`` against
``engine="polars"`` on the same frame, for the default rating policy's features and
for the whole default catalogue.

Run as ``python benchmarks/bench_feature_engines.py`` (``--sizes 1e6,1e7``,
``--repeats 5``). The frame is built once per size (from ``bench_rating.synthetic``,
with 3% of the orders cancelled so that every branch runs) and is not timed. The two
engines take turns on it (numpy, polars, numpy, ...), each figure is the median of
its turns, and the results are checked to be identical before timing. The load
average is printed before and after: the machine may be shared.
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import sys
import time
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_rating as b
from custmgmt.analytics.features import customer_features, feature_names
from custmgmt.analytics.frames import OrderFrame
from custmgmt.rating import RatingPolicy


def frame_of(n: int) -> OrderFrame:
    data = b.synthetic(n)
    rng = np.random.default_rng(7)
    status = np.where(rng.random(n) < 0.03, "cancelled", "delivered")
    return OrderFrame.from_arrays(
        customer_id=data["customer_id"],
        placed_at=data["placed_at"],
        amount=data["amount"],
        returned_amount=data["returned_amount"],
        category=data["category"],
        status=status,
        currency="CNY",
    )


def identical(a: Any, c: Any) -> bool:
    return a.names == c.names and all(
        np.array_equal(a[n], c[n], equal_nan=a[n].dtype.kind == "f") for n in a.names
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1e6,1e7")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}; cores {os.cpu_count()}; "
          f"polars threads {b.polars_threads()}")
    sets = {
        "default policy (3 features)": list(RatingPolicy.default().features),
        "default catalogue, orders (29 features)": list(feature_names(interactions=False)),
    }
    print("| orders | customers | features | numpy | polars | polars / numpy |")
    print("|---:|---:|---|---:|---:|---:|")
    for n in (int(float(x)) for x in args.sizes.split(",")):
        frame = frame_of(n)
        for label, names in sets.items():
            runs = {
                engine: functools.partial(
                    customer_features, frame, as_of=b.AS_OF, features=names, engine=engine
                )
                for engine in ("numpy", "polars")
            }
            assert identical(runs["numpy"](), runs["polars"]()), label
            times: dict[str, list[float]] = {e: [] for e in runs}
            for _ in range(args.repeats):
                for engine, run in runs.items():
                    start = time.perf_counter()
                    run()
                    times[engine].append(time.perf_counter() - start)
            t = {e: statistics.median(v) for e, v in times.items()}
            print(f"| {n:.0e} | {frame.n_customers:,} | {label} | {b.fmt(t['numpy'])} "
                  f"| {b.fmt(t['polars'])} | {t['polars'] / t['numpy']:.2f}x |", flush=True)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
