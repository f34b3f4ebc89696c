"""Customer-id factorisation per order as the orders grow: the packed-key sort, the
range-bucketed path for ids too sparse for one 64-bit key, and the stable ``argsort``
that the bucketed path replaced (kept here as the reference).

Run as ``python benchmarks/bench_factorize.py`` (``--sizes 1e6,1e7,3e7``). The ids are
those of ``bench_rating.synthetic``: sparse over a 2**40 range, so the packed key
``(id - min) << bits(rows) | row`` fits 64 bits up to 2**24 rows and not beyond.
Engines take turns; medians; every result is checked against the others.
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_rating
from custmgmt.analytics import _grouping


def argsort_factorize(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The former fallback: a stable argsort of the int64 ids."""
    rows = np.argsort(ids, kind="stable")
    sorted_ids = ids[rows]
    new = np.empty(len(ids), dtype=bool)
    new[0] = True
    np.not_equal(sorted_ids[1:], sorted_ids[:-1], out=new[1:])
    uniques = sorted_ids[new]
    code_sorted = np.cumsum(new, dtype=np.int32) - 1
    codes = np.empty(len(ids), dtype=np.int32)
    codes[rows] = code_sorted
    return uniques, codes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1e6,1e7,3e7")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print("| orders | packed key fits | factorize (this code) | bucketed path | argsort path |")
    print("|---:|---|---:|---:|---:|")
    for n in [int(float(x)) for x in args.sizes.split(",")]:
        ids = bench_rating.synthetic(n)["customer_id"]
        lo, hi = int(ids.min()), int(ids.max())
        fits = _grouping._bits(hi - lo) + _grouping._bits(n - 1) <= 64
        engines: dict[str, Callable[[], Any]] = {
            "factorize": functools.partial(_grouping.factorize, ids),
            "buckets": functools.partial(_grouping._factorize_buckets, ids, lo, hi, np.int32),
            "argsort": functools.partial(argsort_factorize, ids),
        }
        results = {k: fn() for k, fn in engines.items()}
        for k, (u, c) in results.items():
            assert np.array_equal(u, results["argsort"][0]), k
            assert np.array_equal(c, results["argsort"][1]), k
        del results
        times: dict[str, list[float]] = {k: [] for k in engines}
        for _ in range(args.repeats):
            for k, fn in engines.items():
                start = time.perf_counter()
                fn()
                times[k].append(time.perf_counter() - start)
        cells = []
        for k in engines:
            t = statistics.median(times[k])
            cells.append(f"{t:.2f} s ({t / n * 1e9:.0f} ns/order)")
        print(f"| {n:.0e} | {'yes' if fits else 'no'} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
