"""Generation rates of custmgmt.datasets: the array path and the object path.

Times, in one run:

* ``make_order_arrays``: orders straight into numpy arrays (1M and 10M orders, 10
  orders per customer on average);
* ``make_arrays``: customers, orders and interactions as arrays;
* objects: materialising Customer / Order / Interaction objects from the arrays,
  chunk by chunk (``SyntheticDataset.iter_*``), generation of the arrays included;
* ``load_into(MemoryStore())``: the same, written through the Store protocol.

Prints a Markdown table of medians (rows per second).

Usage: ``python benchmarks/bench_datasets.py [--quick] [--repeat N] [--out PATH]``.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from custmgmt.adapters.memory import MemoryStore
from custmgmt.datasets import load_into, make_arrays, make_dataset, make_order_arrays


def timed(run: Callable[[], int], repeat: int) -> tuple[float, float, int]:
    """Median wall and CPU seconds of ``repeat`` runs, and the rows the run reports.

    CPU time is printed too because a shared machine's load inflates wall time.
    """
    wall, cpu = [], []
    rows = 0
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        rows = run()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu), rows


def objects(n_customers: int, n_orders: int, interactions_limit: int) -> Callable[[], int]:
    def run() -> int:
        ds = make_dataset(n_customers, n_orders, seed=0)
        count = sum(len(chunk) for chunk in ds.iter_customers())
        count += sum(len(chunk) for chunk in ds.iter_orders())
        for chunk in ds.iter_interactions():
            count += len(chunk)
            if count >= n_customers + n_orders + interactions_limit:
                break
        return count

    return run


def orders_only(n_customers: int, n_orders: int) -> Callable[[], int]:
    def run() -> int:
        ds = make_dataset(n_customers, n_orders, seed=0, interactions=False)
        return sum(len(chunk) for chunk in ds.iter_orders())

    return run


def load(n_customers: int, n_orders: int) -> Callable[[], int]:
    def run() -> int:
        report = load_into(MemoryStore(), make_dataset(n_customers, n_orders, seed=0))
        return report.total

    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (seconds)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per case (median)")
    parser.add_argument("--out", type=Path, help="also write the table to this file")
    args = parser.parse_args(argv)
    big = 1_000_000 if args.quick else 10_000_000
    mid = 100_000 if args.quick else 1_000_000
    obj = 20_000 if args.quick else 1_000_000
    cases: list[tuple[str, Callable[[], int], int]] = [
        (f"make_order_arrays {mid:,} orders / {mid // 10:,} customers",
         lambda: len(make_order_arrays(mid, mid // 10)), args.repeat),
        (f"make_order_arrays {big:,} orders / {big // 10:,} customers",
         lambda: len(make_order_arrays(big, big // 10)), args.repeat),
        (f"make_arrays (with interactions) {mid:,} orders",
         lambda: _all_rows(mid), args.repeat),
        (f"objects: orders only, {obj:,} orders (arrays included)",
         orders_only(obj // 10, obj), 1),
        (f"objects: customers + orders + {obj // 2:,} interactions",
         objects(obj // 10, obj, obj // 2), 1),
        (f"load_into(MemoryStore) {obj // 10:,} orders, all interactions",
         load(obj // 100, obj // 10), 1),
    ]
    title = (
        f"custmgmt.datasets generation rates ({platform.python_implementation()} "
        f"{platform.python_version()}, numpy {np.__version__}, {platform.machine()})"
    )
    lines = [
        title,
        "",
        "| case | rows | median wall s | median CPU s | rows per CPU s |",
        "|---|---:|---:|---:|---:|",
    ]
    print("\n".join(lines), flush=True)
    for name, run, repeat in cases:
        wall, cpu, rows = timed(run, repeat)
        line = f"| {name} | {rows:,} | {wall:.2f} | {cpu:.2f} | {rows / max(cpu, 1e-9):,.0f} |"
        lines.append(line)
        print(line, flush=True)
    if args.out is not None:
        args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 0


def _all_rows(n_orders: int) -> int:
    data = make_arrays(n_orders // 10, n_orders)
    assert data.interactions is not None
    return len(data.customers) + len(data.orders) + len(data.interactions)


if __name__ == "__main__":
    sys.exit(main())
