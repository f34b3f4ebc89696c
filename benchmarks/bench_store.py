"""Columnar persistence in SQLiteStore, against raw sqlite3 doing the same work.

Five measurements, each at several sizes, each comparison interleaved (A B A B ...)
on the same file and data, medians reported, ratios from the same run:

1. **Frame read**: ``SQLiteStore.order_frame`` (the columnar port: one query, numpy
   columns, sorted by time then id, customers/categories/channels coded) against raw
   ``sqlite3`` reading the *same columns* of ``orders`` into numpy (ints as int64,
   texts as object arrays; no sorting, no coding, no checks). Also the old path
   (order entities through ``iter_chunks`` into ``OrderFrame.from_orders``) at the
   smallest size. Goal: the port within 2x of raw.
2. **Peak memory** of building the frame (``tracemalloc``: Python and numpy
   allocations; SQLite's own page cache is not traced), against the frame's own size
   (its arrays plus the ``str`` objects it holds). Goal: under 3x.
3. **Ratings**: ``save_run_arrays`` / ``results_arrays`` of one run (4 criteria) on
   a file store; at the smallest size also the record path (``save_run`` /
   ``results``). Goal: each under 4 s at 1M customers.
4. **Bulk load** of orders: ``load_orders(store, OrderBatch.from_arrays(...))``
   (validation, rows built from the columns, the store's transaction) against raw
   ``executemany`` of the very same rows, pre-encoded (not timed), same schema and
   settings, fresh file each time. Goal: within 2x of raw.
5. **``custmgmt rate --db``** on the store, as a subprocess (interpreter start and
   imports included), without and with ``--save``. Goal: under 5 s at 1M orders.

    python benchmarks/bench_store.py                # 100k, 300k, 1M; 3 repeats
    python benchmarks/bench_store.py --quick        # 20k, 50k
    python benchmarks/bench_store.py --sizes 1000000 --repeat 5 --only frame,load
"""

from __future__ import annotations

import argparse
import itertools
import os
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.adapters.sqlite.orders import batch_rows
from custmgmt.adapters.sqlite.schema import LINE_COLUMNS, ORDER_WRITE_COLUMNS, insert_sql
from custmgmt.analytics.batches import OrderBatch
from custmgmt.analytics.frames import OrderFrame
from custmgmt.analytics.loading import load_orders
from custmgmt.rating import RatingResults
from custmgmt.rating.records import RatingRun

T0_US = 1_704_067_200_000_000  # 2024-01-01 UTC
AS_OF = datetime(2026, 1, 1, tzinfo=UTC)
CATEGORIES = np.array(["茶叶", "茶具", "零食", "apparel", "electronics", "books"], dtype=object)
CHANNELS = np.array(["app", "web", "小程序", None], dtype=object)
STATUSES = np.array(
    ["delivered"] * 14 + ["cancelled"] * 2 + ["paid", "returned", "partially_returned", "placed"],
    dtype=object,
)
RAW_COLUMNS = (
    "customer_id, placed_us, total_minor, returned_minor, status, currency, main_category, "
    "channel, id, line_categories"
)


def order_columns(n: int, seed: int = 7) -> dict[str, Any]:
    """``n`` orders of ``n // 5`` customers over two years (the arrays, not validated)."""
    rng = np.random.default_rng(seed)
    status = STATUSES[rng.integers(0, len(STATUSES), n)]
    amount = rng.integers(100, 200_000, n)
    returned = np.where(status == "returned", amount, 0)
    returned = np.where(status == "partially_returned", amount // 3 + 1, returned)
    return {
        "order_id": np.array([f"o-{k:08d}" for k in range(n)], dtype=object),
        "customer_id": np.array(
            [f"客户-{c:07d}" for c in rng.integers(0, max(n // 5, 1), n).tolist()], dtype=object
        ),
        "placed_at": T0_US + rng.integers(0, 730 * 86_400, n) * 1_000_000,
        "amount": amount,
        "returned_amount": returned,
        "currency": "CNY",
        "category": CATEGORIES[rng.integers(0, len(CATEGORIES), n)],
        "sku": "SKU-1",
        "status": status,
        "channel": CHANNELS[rng.integers(0, len(CHANNELS), n)],
    }


def fresh_path(directory: Path, name: str) -> Path:
    path = directory / name
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return path


class Seconds(NamedTuple):
    """Wall-clock and CPU seconds of one run (the CPU time of this process, or of the
    child process for the command line): on a shared machine the wall time carries
    the other processes' load, the CPU time much less so."""

    wall: float
    cpu: float

    def __str__(self) -> str:
        return f"{self.wall:.2f} ({self.cpu:.2f})"

    def __truediv__(self, other: object) -> str:  # type: ignore[override]
        assert isinstance(other, Seconds)
        return f"{self.wall / other.wall:.2f} ({self.cpu / other.cpu:.2f})"


def interleave(repeat: int, **runs: Callable[[], Seconds]) -> dict[str, Seconds]:
    """Run each callable ``repeat`` times, taking turns; the medians of each."""
    times: dict[str, list[Seconds]] = {name: [] for name in runs}
    for _ in range(repeat):
        for name, run in runs.items():
            times[name].append(run())
    return {
        name: Seconds(
            statistics.median(t.wall for t in values), statistics.median(t.cpu for t in values)
        )
        for name, values in times.items()
    }


def timed(work: Callable[[], Any]) -> Seconds:
    start, cpu = time.perf_counter(), time.process_time()
    work()
    return Seconds(time.perf_counter() - start, time.process_time() - cpu)


# -- 1 and 2: reading a frame ---------------------------------------------------------------
def raw_read(path: Path) -> list[np.ndarray[Any, Any]]:
    """The same columns, straight from sqlite3 into numpy (no order, no coding)."""
    connection = sqlite3.connect(path)
    cursor = connection.execute(f"SELECT {RAW_COLUMNS} FROM orders")
    parts: list[list[np.ndarray[Any, Any]]] = []
    while rows := cursor.fetchmany(65_536):
        columns = list(zip(*rows, strict=True))
        del rows
        chunk = [np.array(columns[k], dtype=np.int64) for k in (1, 2, 3)]
        for k in (0, 4, 5, 6, 7, 8, 9):
            text = np.empty(len(columns[k]), dtype=object)
            text[:] = columns[k]
            chunk.append(text)
        parts.append(chunk)
    connection.close()
    return [np.concatenate(column) for column in zip(*parts, strict=True)]


def port_read(path: Path) -> OrderFrame:
    store = SQLiteStore(path)
    try:
        return store.order_frame(currency="CNY")
    finally:
        store.close()


def entity_read(path: Path) -> OrderFrame:
    store = SQLiteStore(path)
    try:
        chunks = store.orders.iter_chunks()
        return OrderFrame.from_orders(itertools.chain.from_iterable(chunks), currency="CNY")
    finally:
        store.close()


def frame_size(frame: OrderFrame) -> int:
    """The frame's own bytes: its arrays and the str objects its object arrays hold."""
    size = 0
    names = (
        "customer_code", "customer_ids", "placed_at", "amount", "returned_amount", "status",
        "category", "channel", "order_id", "line_row", "line_category",
    )  # fmt: skip
    for name in names:
        column = getattr(frame, name)
        if column is None:
            continue
        size += column.nbytes
        if column.dtype == object:
            size += sum(map(sys.getsizeof, column.tolist()))
    return size


def peak_memory(path: Path) -> tuple[int, int]:
    """(peak traced bytes while building the frame, the frame's own bytes)."""
    tracemalloc.start()
    frame = port_read(path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak, frame_size(frame)


# -- 3: ratings --------------------------------------------------------------------------------
def rating_columns(n: int, run_id: str, seed: int = 3) -> tuple[RatingRun, RatingResults]:
    rng = np.random.default_rng(seed)
    stars = rng.integers(1, 6, n)
    results = RatingResults.from_arrays(
        run_id=run_id,
        customer_ids=np.array([f"客户-{k:07d}" for k in range(n)], dtype=object),
        score=rng.random(n),
        stars=stars,
        computed_stars=stars,
        previous_stars=rng.integers(0, 6, n),
        pending=rng.integers(0, 2, n),
        criteria=("monetary_net", "frequency", "category_breadth", "recency_days"),
        contributions=rng.random((n, 4)),
    )
    run = RatingRun(
        id=run_id, as_of=AS_OF, created_at=AS_OF, policy_json="{}", customer_count=n,
        distribution=tuple(int(c) for c in np.bincount(stars, minlength=6)[1:]),
    )  # fmt: skip
    return run, results


def bench_ratings(
    directory: Path, n: int, repeat: int, with_records: bool
) -> dict[str, Seconds]:
    run, results = rating_columns(n, "bench-run")
    path = fresh_path(directory, "ratings.sqlite3")

    def save() -> Seconds:
        store = SQLiteStore(fresh_path(directory, "ratings.sqlite3"))
        _ = store.ratings
        seconds = timed(lambda: store.ratings.save_run_arrays(run, results))
        store.close()
        return seconds

    def load() -> Seconds:
        store = SQLiteStore(path)
        seconds = timed(lambda: store.ratings.results_arrays(run.id))
        store.close()
        return seconds

    records = list(results.to_records()) if with_records else []

    def save_records() -> Seconds:
        store = SQLiteStore(fresh_path(directory, "ratings-records.sqlite3"))
        _ = store.ratings
        seconds = timed(lambda: store.ratings.save_run(run, records))
        store.close()
        return seconds

    def load_records() -> Seconds:
        store = SQLiteStore(directory / "ratings-records.sqlite3")
        seconds = timed(lambda: store.ratings.results(run.id))
        store.close()
        return seconds

    runs: dict[str, Callable[[], Seconds]] = {"save_run_arrays": save, "results_arrays": load}
    if with_records:
        runs |= {"save_run (records)": save_records, "results (records)": load_records}
    return interleave(repeat, **runs)


# -- 4: bulk load ------------------------------------------------------------------------------
def bench_load(directory: Path, columns: dict[str, Any], repeat: int) -> dict[str, Seconds]:
    batch = OrderBatch.from_arrays(**columns)
    order_rows, line_rows = batch_rows(batch)  # encoded ahead: not timed for raw

    def store_run() -> Seconds:
        store = SQLiteStore(fresh_path(directory, "load.sqlite3"))
        seconds = timed(lambda: load_orders(store, OrderBatch.from_arrays(**columns)))
        assert store.orders.count() == len(batch)
        store.close()
        return seconds

    def raw_run() -> Seconds:
        path = fresh_path(directory, "load.sqlite3")
        SQLiteStore(path).close()  # the same schema, by the store's migrations
        connection = sqlite3.connect(path, isolation_level=None)
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = NORMAL")
        connection.execute("PRAGMA foreign_keys = ON")

        def write() -> None:
            connection.execute("BEGIN IMMEDIATE")
            connection.executemany(insert_sql("orders", ORDER_WRITE_COLUMNS), order_rows)
            connection.executemany(insert_sql("order_lines", LINE_COLUMNS), line_rows)
            connection.execute("COMMIT")

        seconds = timed(write)
        connection.close()
        return seconds

    return interleave(repeat, **{"raw executemany": raw_run, "load_orders": store_run})


# -- 5: the command line -------------------------------------------------------------------
def bench_cli(directory: Path, path: Path, repeat: int) -> dict[str, Seconds]:
    command = [
        sys.executable, "-c", "import sys; from custmgmt.cli import main; sys.exit(main())",
        "rate", "--db",
    ]  # fmt: skip
    environment = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}

    def rate(save: bool) -> Seconds:
        target = path
        if save:  # each saved run on a fresh copy, so every run does the same work
            target = fresh_path(directory, "rate-save.sqlite3")
            shutil.copyfile(path, target)
        args = [*command, str(target), "--as-of", "2026-01-01", "--top", "3"]
        if save:
            args.append("--save")
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(args, check=True, capture_output=True, env=environment)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        return Seconds(wall, cpu)

    return interleave(
        repeat, **{"rate --db": lambda: rate(False), "rate --db --save": lambda: rate(True)}
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20k and 50k orders")
    parser.add_argument("--sizes", help="comma-separated order counts")
    parser.add_argument("--repeat", type=int, default=3, help="runs per method (median)")
    parser.add_argument("--only", default="frame,memory,ratings,load,cli")
    args = parser.parse_args()
    sizes = [20_000, 50_000] if args.quick else [100_000, 300_000, 1_000_000]
    if args.sizes:
        sizes = [int(s) for s in args.sizes.split(",")]
    only = set(args.only.split(","))
    print(f"python {sys.version.split()[0]}, sqlite {sqlite3.sqlite_version}, "
          f"numpy {np.__version__}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}, "
          f"median of {args.repeat}; seconds as wall (CPU)")  # fmt: skip
    tables: dict[str, list[str]] = {
        key: [] for key in ("frame", "memory", "ratings", "load", "cli")
    }
    with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp:
        directory = Path(tmp)
        for n in sizes:
            columns = order_columns(n)
            path = fresh_path(directory, f"orders-{n}.sqlite3")
            store = SQLiteStore(path)
            load_orders(store, OrderBatch.from_arrays(**columns))
            store.close()
            if "frame" in only:
                runs: dict[str, Callable[[], Seconds]] = {
                    "raw": lambda p=path: timed(lambda: raw_read(p)),
                    "port": lambda p=path: timed(lambda: port_read(p)),
                }
                if n == sizes[0]:
                    runs["entities"] = lambda p=path: timed(lambda: entity_read(p))
                got = interleave(args.repeat, **runs)
                old = got.get("entities")
                tables["frame"].append(
                    f"| {n:,} | {got['raw']} | {got['port']} | {got['port'] / got['raw']} | "
                    f"{n / got['port'].wall:,.0f} | "
                    + (f"{old} ({n / old.wall:,.0f}/s) |" if old else "- |")
                )
            if "memory" in only:
                peak, size = peak_memory(path)
                tables["memory"].append(
                    f"| {n:,} | {size / 2**20:.1f} | {peak / 2**20:.1f} | {peak / size:.2f} |"
                )
            if "ratings" in only:
                customers = n  # as many rated customers as orders: the goal's 1M
                got = bench_ratings(directory, customers, args.repeat, n == sizes[0])
                records = (
                    f"{got['save_run (records)']} | {got['results (records)']} |"
                    if "results (records)" in got
                    else "- | - |"
                )
                tables["ratings"].append(
                    f"| {customers:,} | {got['save_run_arrays']} | {got['results_arrays']} | "
                    f"{records}"
                )
            if "load" in only:
                got = bench_load(directory, columns, args.repeat)
                tables["load"].append(
                    f"| {n:,} | {got['raw executemany']} | {got['load_orders']} | "
                    f"{got['load_orders'] / got['raw executemany']} |"
                )
            if "cli" in only:
                got = bench_cli(directory, path, args.repeat)
                tables["cli"].append(
                    f"| {n:,} | {got['rate --db']} | {got['rate --db --save']} |"
                )
            path.unlink()
    headers = {
        "frame": "| orders | raw sqlite3 (s) | order_frame (s) | port / raw | orders/s | "
        "old entity path (s) |\n|---:|---:|---:|---:|---:|---:|",
        "memory": "| orders | frame's own size (MiB) | peak while building (MiB) | "
        "peak / size |\n|---:|---:|---:|---:|",
        "ratings": "| customers | save_run_arrays (s) | results_arrays (s) | "
        "save_run, records (s) | results, records (s) |\n|---:|---:|---:|---:|---:|",
        "load": "| orders | raw executemany (s) | load_orders (s) | load / raw |"
        "\n|---:|---:|---:|---:|",
        "cli": "| orders | rate --db (s) | rate --db --save (s) |\n|---:|---:|---:|",
    }
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    for key, rows in tables.items():
        if rows:
            print(f"\n{key}\n{headers[key]}")
            print("\n".join(rows))


if __name__ == "__main__":
    main()
