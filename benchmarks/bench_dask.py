"""The rating pipeline on a Dask cluster against one machine, on the same Parquet data.

Generates N synthetic orders (default 1e7) as 16 Parquet files (int64 customer ids,
``orders / 8`` customers spread over every file, decimal amounts, statuses,
categories), then rates everyone with the default policy three ways, in one run:

* ``one machine``: :func:`custmgmt.distributed.read_orders_parquet` +
  :func:`custmgmt.rating.rate_frames`, in a fresh subprocess (its peak RSS is that
  process's VmHWM);
* ``dask, 1 worker`` and ``dask, 2 workers``: ``LocalCluster(n_workers=W,
  threads_per_worker=1, processes=True)``, :func:`custmgmt.distributed.read_orders` +
  :func:`custmgmt.distributed.rate`, then either ``collect()`` (the whole rating
  gathered into this process) or, with ``--to-parquet``, ``to_parquet`` into a scratch
  folder (no process ever holds every customer's result: the way to run past one
  machine's memory); cluster start-up is not timed, and the peak RSS of each worker
  process is read from the workers afterwards.

Each side runs ``--repeat`` times interleaved (one machine, 1 worker, 2 workers, ...);
the table shows the median time, the peak memory, and the scaling ratio (time of
1 worker / time of 2 workers). The results of the three are checked equal (stars
per customer).

Usage: ``python benchmarks/bench_dask.py [--orders 10000000] [--repeat 2] [--keep DIR]
[--memory-limit 6GiB] [--npartitions N] [--workers 1 2] [--to-parquet]``.
With ``--to-parquet`` the written stars are read back (customer id and stars only) and
compared with the single-machine stars customer by customer, outside the timing.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

AS_OF = datetime(2025, 1, 1, tzinfo=UTC)
FILES = 16


def generate(folder: Path, orders: int, seed: int = 11) -> None:
    """Write ``orders`` synthetic orders as :data:`FILES` Parquet files, file by file
    (memory stays at one file's rows)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    customers = max(orders // 8, 1)
    start = np.datetime64("2023-01-01T00:00:00", "s").astype(np.int64)
    bounds = np.linspace(0, orders, FILES + 1).astype(np.int64)
    statuses = pa.array(["delivered", "paid", "cancelled", "returned", "delivered"])
    categories = pa.array(["books", "toys", "food", "garden", None])
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(FILES):
        n = int(bounds[i + 1] - bounds[i])
        cents = rng.integers(100, 500_000, n)
        words = np.zeros((n, 2), dtype=np.int64)
        words[:, 0] = cents
        status = rng.integers(0, 5, n)
        returned = np.zeros((n, 2), dtype=np.int64)
        returned[:, 0] = np.where(status == 3, cents // 2, 0)
        table = pa.table(
            {
                "customer_id": pa.array(rng.integers(0, customers, n)),
                "placed_at": pa.array(
                    (start + rng.integers(0, 730 * 86_400, n)).astype("datetime64[s]")
                ),
                "amount": pa.Array.from_buffers(
                    pa.decimal128(16, 2), n, [None, pa.py_buffer(words.tobytes())]
                ),
                "status": statuses.take(pa.array(status)),
                "returned_amount": pa.Array.from_buffers(
                    pa.decimal128(16, 2), n, [None, pa.py_buffer(returned.tobytes())]
                ),
                "category": categories.take(pa.array(rng.integers(0, 5, n))),
            }
        )
        pq.write_table(table, folder / f"orders-{i:02d}.parquet", row_group_size=1 << 18)


_ONE_MACHINE = """
import sys, time
from datetime import datetime, timezone
from custmgmt.distributed import read_orders_parquet
from custmgmt.rating import RatingPolicy, rate_frames
import numpy as np
started = time.perf_counter()
frame = read_orders_parquet(sys.argv[1])
rating = rate_frames(RatingPolicy.default(), frame,
                     as_of=datetime(2025, 1, 1, tzinfo=timezone.utc))
elapsed = time.perf_counter() - started
np.save(sys.argv[2], np.asarray(rating.stars))
peak = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(elapsed, peak)
"""


def one_machine(folder: Path, out: Path) -> tuple[float, float]:
    """Seconds and peak RSS (MiB) of the single-machine path, in a fresh process."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    done = subprocess.run(
        [sys.executable, "-c", _ONE_MACHINE, str(folder), str(out)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    seconds, rss_kib = done.stdout.split()
    return float(seconds), int(rss_kib) / 1024


def _worker_peak() -> int:
    """Peak RSS in KiB (VmHWM: ``ru_maxrss`` is inherited from the parent across exec,
    which would report the client's peak for every worker)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


def on_cluster(
    folder: Path,
    workers: int,
    rows: int,
    memory_limit: str = "auto",
    npartitions: int | None = None,
    output: Path | None = None,
) -> tuple[float, list[float], Any]:
    """Seconds, per-worker peak RSS (MiB) and the stars (in customer id order), on a
    fresh local cluster; written to ``output`` as Parquet when given, else collected."""
    from distributed import Client, LocalCluster

    from custmgmt.distributed import rate, read_orders

    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            memory_limit=memory_limit,
        ) as cluster,
        Client(cluster) as client,
    ):
        started = time.perf_counter()
        orders = read_orders(folder, rows_per_partition=rows)
        rating = rate(orders, as_of=AS_OF, npartitions=npartitions)
        if output is None:
            stars = np.asarray(rating.collect().stars)
        else:
            rating.to_parquet(output)
        elapsed = time.perf_counter() - started
        peaks = [v / 1024 for v in client.run(_worker_peak).values()]
    if output is not None:
        stars = _written_stars(output)
    return elapsed, peaks, stars


def _written_stars(folder: Path) -> Any:
    """The stars written by ``to_parquet``, in customer id order (the written files are
    hash partitions of the customers)."""
    import pyarrow.parquet as pq

    table = pq.read_table(folder, columns=["customer_id", "stars"])
    ids = table.column("customer_id").to_numpy()
    stars = table.column("stars").to_numpy()
    return stars[np.argsort(ids, kind="stable")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--rows-per-partition", type=int, default=1 << 19)
    parser.add_argument("--keep", metavar="DIR", help="generate into (or reuse) DIR")
    parser.add_argument(
        "--memory-limit", default="auto", help="per worker, e.g. 6GiB (default: RAM / workers)"
    )
    parser.add_argument(
        "--npartitions", type=int, help="customer partitions (default: one per input piece)"
    )
    parser.add_argument(
        "--workers", type=int, nargs="+", default=[1, 2], help="cluster sizes (default 1 2)"
    )
    parser.add_argument(
        "--to-parquet",
        action="store_true",
        help="write the cluster's rating as Parquet instead of collecting it",
    )
    args = parser.parse_args()
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-dask-"))
    try:
        if not any(folder.glob("*.parquet")):
            started = time.perf_counter()
            generate(folder, args.orders)
            print(
                f"generated {args.orders:,} orders in {FILES} files: "
                f"{time.perf_counter() - started:.1f} s"
            )
        size = sum(p.stat().st_size for p in folder.glob("*.parquet")) / 2**20
        print(
            f"{platform.python_implementation()} {platform.python_version()}, "
            f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; "
            f"data {size:.0f} MiB Parquet"
        )
        times: dict[str, list[float]] = {"one machine": []}
        for workers in args.workers:
            times[f"dask, {workers} worker{'s' if workers > 1 else ''}"] = []
        peaks: dict[str, list[float]] = {k: [] for k in times}
        reference = None
        with tempfile.TemporaryDirectory() as scratch:
            for _ in range(args.repeat):
                seconds, peak = one_machine(folder, Path(scratch) / "stars.npy")
                times["one machine"].append(seconds)
                peaks["one machine"].append(peak)
                reference = np.load(Path(scratch) / "stars.npy")
                print(f"one machine: {seconds:.1f} s, {peak:.0f} MiB", flush=True)
                for workers in args.workers:
                    key = f"dask, {workers} worker{'s' if workers > 1 else ''}"
                    written = Path(scratch) / f"rating-{workers}" if args.to_parquet else None
                    seconds, worker_peaks, stars = on_cluster(
                        folder,
                        workers,
                        args.rows_per_partition,
                        args.memory_limit,
                        args.npartitions,
                        written,
                    )
                    if written is not None:
                        shutil.rmtree(written)
                    print(
                        f"{key}: {seconds:.1f} s, worker peaks "
                        + ", ".join(f"{p:.0f}" for p in worker_peaks)
                        + f" MiB (load {os.getloadavg()[0]:.1f})",
                        flush=True,
                    )
                    assert np.array_equal(stars, reference), "results differ"
                    times[key].append(seconds)
                    peaks[key].append(max(worker_peaks))
        print(
            f"\nrate {args.orders:,} orders, median of {args.repeat} "
            f"(load average now {os.getloadavg()[0]:.1f})"
        )
        print(f"{'path':<18} {'seconds':>9} {'peak MiB/process':>17}")
        for key in times:
            print(f"{key:<18} {statistics.median(times[key]):>9.1f} {max(peaks[key]):>17.0f}")
        if "dask, 1 worker" in times and "dask, 2 workers" in times:
            ratio = statistics.median(times["dask, 1 worker"]) / statistics.median(
                times["dask, 2 workers"]
            )
            print(f"scaling 1 -> 2 workers: {ratio:.2f}x")
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
