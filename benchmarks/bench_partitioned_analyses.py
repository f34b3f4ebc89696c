"""Segments, churn flags and CLV summaries on the partitioned engine: 1 thread vs N.

Run as ``python benchmarks/bench_partitioned_analyses.py`` (``--sizes 1e6,1e7``,
``--threads 2``, ``--repeat 3``). The orders are ``bench_rating.synthetic`` (n/10
customers with sparse int64 ids, skewed activity, 40 categories, 5% partly refunded),
made into one ``OrderFrame`` before timing. Per size and analysis, the library entry
point runs with ``threads=1`` (today's single-frame code) and ``threads=N`` (the
partitioned engine, default partition count) in turns; the table gives the median
wall time of ``--repeat`` turns each and checks that both results are identical. The
load average (1 minute) is printed before and after each size: on a shared machine
absolute times are inflated and the N-thread side is hurt most.

- segments: ``segment_report(orders, as_of=...)`` -- features, the shipped schemes,
  RFM, the default churn engine, in one report;
- churn: ``ChurnEngine().evaluate(orders, as_of=...)`` -- features and flags with
  reasons;
- clv summary: ``summarize_orders(orders, as_of=..., unit="week")`` -- frequency,
  recency, T and mean spend per customer (what ``analyse_clv`` fits on).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from bench_rating import AS_OF, synthetic
from custmgmt.analytics.clv._partitioned import summarize_orders
from custmgmt.analytics.frames import OrderFrame
from custmgmt.churn import ChurnEngine
from custmgmt.segmentation.report import segment_report


def frame_of(n_orders: int) -> OrderFrame:
    data = synthetic(n_orders)
    return OrderFrame.from_arrays(
        customer_id=data["customer_id"],
        placed_at=data["placed_at"],
        amount=data["amount"],
        returned_amount=data["returned_amount"],
        category=data["category"],
        currency="CNY",
    )


def analyses(frame: OrderFrame) -> dict[str, Callable[[int], Any]]:
    return {
        "segments": lambda t: segment_report(frame, as_of=AS_OF, threads=t),
        "churn": lambda t: ChurnEngine().evaluate(frame, as_of=AS_OF, threads=t),
        "clv summary": lambda t: summarize_orders(frame, as_of=AS_OF, unit="week", threads=t),
    }


def fingerprint(result: Any) -> list[np.ndarray]:
    """The arrays two runs must agree on."""
    if hasattr(result, "churn"):  # a SegmentReport
        codes = [s.codes for s in result.segmentations.values()]
        return [result.rfm.codes, result.churn.fired, result.churn.reason, *codes]
    if hasattr(result, "fired"):  # a ChurnReport
        return [result.customer_ids, result.fired, result.score, result.reason, result.evidence]
    s = result.summary
    return [s.customer_ids, s.frequency, s.recency, s.T, s.monetary_value]


def load() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def bench_size(n_orders: int, threads: int, repeats: int) -> list[list[str]]:
    frame = frame_of(n_orders)
    rows = []
    for name, run in analyses(frame).items():
        times: dict[int, list[float]] = {1: [], threads: []}
        results: dict[int, Any] = {}
        before = load()
        for _ in range(repeats):
            for t in (1, threads):  # in turns: both sides see the same load
                start = time.perf_counter()
                results[t] = run(t)
                times[t].append(time.perf_counter() - start)
        same = all(
            np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
            for a, b in zip(fingerprint(results[1]), fingerprint(results[threads]), strict=True)
        )
        one, many = statistics.median(times[1]), statistics.median(times[threads])
        rows.append(
            [
                f"{n_orders:.0e}",
                f"{frame.n_customers:,}",
                name,
                f"{one:.2f} s",
                f"{many:.2f} s",
                f"{one / many:.2f}x",
                "yes" if same else "NO",
                f"{before} -> {load()}",
            ]
        )
        del results
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1e6,1e7")
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    header = [
        "orders",
        "customers",
        "analysis",
        "1 thread",
        f"{args.threads} threads",
        "speed-up",
        "identical",
        "load avg (1 min)",
    ]
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for size in args.sizes.split(","):
        for row in bench_size(int(float(size)), args.threads, args.repeat):
            print("| " + " | ".join(row) + " |", flush=True)


if __name__ == "__main__":
    main()
