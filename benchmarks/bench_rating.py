"""Star-rating speed: raw order arrays to features and stars, against pandas, polars
and the floor; peak memory; one incremental update with 1M customers rated.

Run as ``python benchmarks/bench_rating.py`` (``--quick`` for small sizes,
``--scale`` for the scaling table, ``--stages`` for the custmgmt pipeline stage by
stage, ``--markdown PATH`` to also write the table as Markdown).

``--scale`` measures 1e6, 1e7 and 1e8 orders (1e8 only on a machine with 32 GiB of
memory or more; ``--sizes 1e5,1e6`` picks others): custmgmt on one thread and on every
core (the partitioned engine, ``CUSTMGMT_THREADS`` or the affinity mask), polars on all
its threads and pandas (up to 1e7 orders unless ``--pandas-max`` says more), taking
turns; it prints the median time, the time per order and each engine's peak memory
beyond its input (resident set size, measured in a fresh process per engine and size).
pandas and polars are optional: an engine that is not
installed is left out and said so.

The engines take turns (custmgmt, pandas, polars, floor, custmgmt, pandas, ...), so
machine load lands on all of them; each figure is the median of its turns, and every
ratio compares medians from the same run.

The computation, the same in every engine: from unsorted, sparse int64 customer ids
with placed_at, amount, returned amount and a category code per order, keep orders
placed up to ``as_of``; per customer compute net spend, order count and distinct
categories; score ``0.6 * pct_rank(spend) + 0.3 * pct_rank(count) + 0.1 *
pct_rank(categories)`` (pandas' average rank over count); cut five star levels at the
score quantiles 0.30, 0.60, 0.80, 0.95 (the default policy). The engines' stars are
checked to agree.

* custmgmt: ``OrderFrame.from_arrays`` -> ``customer_features`` -> ``policy.rate``,
  single-threaded numpy (``--scale`` adds the partitioned engine on every core).
* pandas: ``groupby(...).agg(sum, size, nunique)``, ``rank(pct=True)``, ``quantile``.
* polars: the lazy ``group_by().agg()`` with ``rank("average")``, on all its threads
  (``POLARS_MAX_THREADS``; the table says how many).
* floor: one stable argsort of the customer ids plus one ``np.bincount``.
* custmgmt, engine=polars (``--scale``, where polars is installed): the custmgmt
  pipeline on one thread with the features aggregated by polars on its threads.

Peak memory is measured in a child process with tracemalloc (numpy reports its
buffers to it): the most the custmgmt pipeline allocates on top of the input arrays,
relative to their bytes (the goal, total peak under twice the input, is a ratio
under 1).
"""

from __future__ import annotations

import argparse
import functools
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
WHAT = """\
What each engine does (and does not do):
- all: the same input arrays (generated, not timed); keep orders placed up to as_of; per
  customer net spend, order count, distinct categories; the default policy's score and
  five star levels at its quantiles. Stars are checked to agree between engines.
- custmgmt: OrderFrame.from_arrays (validation, id factorisation) + customer_features +
  RatingPolicy.rate, single-threaded numpy (--scale: also on every core, the
  partitioned engine and a parallel id factorisation); returns a Rating (ids, scores, stars,
  per-criterion contributions).
- pandas: DataFrame from the arrays, groupby-agg, rank(pct=True), quantile cuts; single
  thread; no validation, no contributions.
- polars: the same as a lazy query on all its threads; no validation, no contributions.
- custmgmt 1 thread, engine=polars (--scale): the same, the features aggregated by
  polars (customer_features(engine="polars")) on all its threads.
- floor: one stable argsort of the ids + one bincount; no ranking, no stars: a lower
  bound for any sort-based grouping, not a competitor.
"""
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
def run_custmgmt(data: Arrays, threads: int = 1) -> tuple[np.ndarray, np.ndarray]:
    from custmgmt.analytics import partitioned
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
        threads=threads,
    )
    features = partitioned.customer_features(
        frame, as_of=AS_OF, features=policy.features, threads=threads
    )
    rating = rate(policy, features)
    return rating.customer_ids, rating.stars


def run_custmgmt_polars_engine(data: Arrays) -> tuple[np.ndarray, np.ndarray]:
    """run_custmgmt on one thread with the features from ``engine="polars"``."""
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
        threads=1,
    )
    features = customer_features(frame, as_of=AS_OF, features=policy.features, engine="polars")
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
    """Median seconds of ``repeats`` calls of ``fn`` (one engine on its own)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def interleaved(engines: dict[str, Callable[[], Any]], repeats: int) -> dict[str, float]:
    """Median seconds per engine, the engines taking turns: A B C, A B C, ..."""
    times: dict[str, list[float]] = {name: [] for name in engines}
    for _ in range(repeats):
        for name, fn in engines.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def available(engine: str) -> bool:
    """Whether the optional engine (``pandas`` or ``polars``) is installed."""
    try:
        __import__(engine)
    except ImportError:
        return False
    return True


def polars_threads() -> int:
    import polars as pl

    size = getattr(pl, "thread_pool_size", None)
    return int(size()) if size is not None else int(pl.threadpool_size())


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


def bench_size(
    n_orders: int, repeats: int, engines: tuple[str, ...] = ("pandas", "polars")
) -> list[tuple[str, float, str]]:
    """One size: every installed engine in turns, stars checked, custmgmt's peak memory."""
    data = synthetic(n_orders)
    ours = run_custmgmt(data)
    runners = {"pandas": run_pandas, "polars": run_polars}
    others = [e for e in engines if available(e)]
    checks = {e: agree(ours, runners[e](data)) for e in others}
    contenders: dict[str, Callable[[], Any]] = {"custmgmt": lambda: run_custmgmt(data)}
    for e in others:
        contenders[e] = lambda e=e: runners[e](data)  # type: ignore[misc]
    contenders["floor"] = lambda: run_floor(data)
    medians = interleaved(contenders, repeats)
    t_ours, t_floor = medians["custmgmt"], medians["floor"]
    mem = child_peak(n_orders)
    peak_ratio = mem["peak"] / mem["input"]
    label = f"{n_orders:.0e} orders, {len(ours[0]):,} customers"
    rows = [(f"{label}: custmgmt (1 thread)", t_ours, f"{t_ours / t_floor:.2f}x floor")]
    for e in engines:
        if e not in checks:
            rows.append((f"{label}: {e}", float("nan"), "not installed: left out"))
            continue
        threads = f"{polars_threads()} threads" if e == "polars" else "1 thread"
        note = f"custmgmt {medians[e] / t_ours:.2f}x faster; stars agree {checks[e]:.4%}"
        rows.append((f"{label}: {e} ({threads})", medians[e], note))
    rows += [
        (f"{label}: floor (argsort + bincount)", t_floor, "1.00x"),
        (f"{label}: custmgmt peak memory beyond the input", float("nan"),
         (f"{mem['peak'] / 2**20:.0f} MiB = {peak_ratio:.2f}x the "
          f"{mem['input'] / 2**20:.0f} MiB input (goal < 1x: total < 2x)")),
    ]
    return rows


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


# -- the scaling table (--scale) --------------------------------------------------------
def all_cores() -> int:
    from custmgmt.analytics.partitioned import default_threads

    return default_threads()


def memory_bytes() -> int:
    """Physical memory of the machine (0 where it cannot be read)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 0


def scale_engines(threads: int) -> dict[str, Callable[[Arrays], Any]]:
    """Engine label -> runner, for the scaling table."""
    engines: dict[str, Callable[[Arrays], Any]] = {
        "custmgmt 1 thread": lambda d: run_custmgmt(d, 1),
        f"custmgmt {threads} threads": lambda d: run_custmgmt(d, threads),
    }
    if available("polars"):
        engines[f"polars {polars_threads()} threads"] = run_polars
        engines["custmgmt 1 thread, engine=polars"] = run_custmgmt_polars_engine
    if available("pandas"):
        engines["pandas 1 thread"] = run_pandas
    return engines


def rss_peak(folder: str, label: str, threads: int) -> int:
    """Peak resident memory beyond the loaded input of one engine run, in bytes, from
    a fresh process: the kernel's high-water mark is reset (``/proc/self/clear_refs``)
    once the input is loaded, and read (``VmHWM``) after the run."""
    code = (
        "import json, os, sys\n"
        "import numpy as np\n"
        f"sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r})\n"
        "import bench_rating as b\n"
        f"engine = b.scale_engines({threads})[{label!r}]\n"
        "engine(b.synthetic(1000))  # imports and thread pools before measuring\n"
        f"data = {{k: np.load(os.path.join({folder!r}, k + '.npy')) for k in b.COLUMNS}}\n"
        "def status(key):\n"
        "    with open('/proc/self/status') as f:\n"
        "        line = next(x for x in f if x.startswith(key + ':'))\n"
        "    return int(line.split()[1]) * 1024\n"
        "with open('/proc/self/clear_refs', 'w') as f: f.write('5')\n"
        "before = status('VmRSS')\n"
        "engine(data)\n"
        "print(json.dumps({'extra': status('VmHWM') - before}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    return int(json.loads(out.strip().splitlines()[-1])["extra"])


COLUMNS = ("customer_id", "placed_at", "amount", "returned_amount", "category")


def bench_scale(
    sizes: list[int], repeats: int | None, pandas_max: int, memory: bool = True
) -> list[dict[str, Any]]:
    """Every engine at every size, in turns; time per order and peak memory."""
    import tempfile

    threads = all_cores()
    rows: list[dict[str, Any]] = []
    for n in sizes:
        data = synthetic(n)
        engines = scale_engines(threads)
        if n > pandas_max:
            engines = {k: v for k, v in engines.items() if not k.startswith("pandas")}
        reference = run_custmgmt(data, 1)
        checks = {label: agree(reference, fn(data)) for label, fn in engines.items()}
        turns = repeats or (5 if n < 10**7 else 3 if n < 10**8 else 1)
        contenders: dict[str, Callable[[], Any]] = {
            k: functools.partial(fn, data) for k, fn in engines.items()
        }
        medians = interleaved(contenders, turns)
        peaks: dict[str, int] = {}
        if memory and sys.platform.startswith("linux"):
            with tempfile.TemporaryDirectory() as folder:
                for column in COLUMNS:
                    np.save(os.path.join(folder, column + ".npy"), data[column])
                peaks = {label: rss_peak(folder, label, threads) for label in engines}
        size = input_bytes(data)
        for label in engines:
            rows.append({
                "orders": n,
                "customers": len(reference[0]),
                "engine": label,
                "seconds": medians[label],
                "ns_per_order": medians[label] / n * 1e9,
                "peak_extra": peaks.get(label),
                "input": size,
                "agree": checks[label],
                "turns": turns,
            })
        print(f"  {n:.0e} orders done", flush=True)
        del data
    return rows


def scale_table(rows: list[dict[str, Any]]) -> list[str]:
    """The scaling rows as Markdown lines."""
    lines = [
        "| orders | customers | engine | median | ns/order | peak beyond input | stars agree |",
        "|---:|---:|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        peak = (
            "-" if r["peak_extra"] is None
            else f"{r['peak_extra'] / 2**20:,.0f} MiB ({r['peak_extra'] / r['input']:.2f}x)"
        )
        lines.append(
            f"| {r['orders']:.0e} | {r['customers']:,} | {r['engine']} | {fmt(r['seconds'])} "
            f"| {r['ns_per_order']:.0f} | {peak} | {r['agree']:.4%} |"
        )
    return lines


def main_scale(args: argparse.Namespace) -> None:
    if args.sizes:
        sizes = [int(float(x)) for x in args.sizes.split(",")]
    else:
        sizes = [10**6, 10**7]
        if memory_bytes() >= 32 * 2**30:
            sizes.append(10**8)
        else:
            print(f"{memory_bytes() / 2**30:.0f} GiB of memory: 1e8 orders left out (needs 32).")
    print(f"custmgmt threads: {all_cores()} (CUSTMGMT_THREADS or the affinity mask); "
          f"cores: {os.cpu_count()}; memory {memory_bytes() / 2**30:.0f} GiB")
    rows = bench_scale(sizes, args.repeats, int(float(args.pandas_max)), not args.no_memory)
    lines = scale_table(rows)
    print("\n".join(lines))
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as out:
            out.write("\n".join(lines) + "\n")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(rows, out, indent=1)


def main_stages(args: argparse.Namespace) -> None:
    """The custmgmt pipeline stage by stage on every core (frame, features, rating),
    and the features with their aggregates computed one scan at a time and side by
    side (``features.SIDE_BY_SIDE_MIN_ROWS`` switched between turns), in ns/order."""
    from custmgmt.analytics import features as feature_module
    from custmgmt.analytics import partitioned
    from custmgmt.analytics.frames import OrderFrame
    from custmgmt.rating import RatingPolicy, rate

    sizes = [int(float(x)) for x in (args.sizes or "1e6,1e7").split(",")]
    threads = all_cores()
    policy = RatingPolicy.default()
    on = feature_module.SIDE_BY_SIDE_MIN_ROWS
    print(f"stages on {threads} threads; medians of the turns, ns/order")
    print("| orders | frame | features, one scan at a time | features, side by side | rating |")
    print("|---:|---:|---:|---:|---:|")
    for n in sizes:
        data = synthetic(n)
        repeats = args.repeats or (5 if n < 10**7 else 3)
        times: dict[str, list[float]] = {"frame": [], "serial": [], "side": [], "rating": []}
        for _ in range(repeats):
            start = time.perf_counter()
            frame = OrderFrame.from_arrays(
                customer_id=data["customer_id"], placed_at=data["placed_at"],
                amount=data["amount"], returned_amount=data["returned_amount"],
                category=data["category"], currency="CNY", threads=threads,
            )  # fmt: skip
            times["frame"].append(time.perf_counter() - start)
            for mode, threshold in (("serial", 1 << 62), ("side", on)):
                feature_module.SIDE_BY_SIDE_MIN_ROWS = threshold
                start = time.perf_counter()
                features = partitioned.customer_features(
                    frame, as_of=AS_OF, features=policy.features, threads=threads
                )
                times[mode].append(time.perf_counter() - start)
            feature_module.SIDE_BY_SIDE_MIN_ROWS = on
            start = time.perf_counter()
            rate(policy, features)
            times["rating"].append(time.perf_counter() - start)
            del frame, features
        ns = {k: statistics.median(v) / n * 1e9 for k, v in times.items()}
        print(f"| {n:.0e} | {ns['frame']:.1f} | {ns['serial']:.1f} | {ns['side']:.1f} "
              f"| {ns['rating']:.1f} |", flush=True)


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
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="small sizes, fewer repeats")
    size.add_argument(
        "--scale",
        action="store_true",
        help="1e6, 1e7 and 1e8 orders (1e8 with >= 32 GiB): every engine, 1 and all threads",
    )
    size.add_argument(
        "--stages",
        action="store_true",
        help="custmgmt stage by stage on every core, features one scan at a time or side by side",
    )
    parser.add_argument(
        "--sizes", help="with --scale or --stages: comma-separated order counts (1e5,1e6)"
    )
    parser.add_argument(
        "--pandas-max", default="1e7", help="with --scale: largest size pandas runs at"
    )
    parser.add_argument("--no-memory", action="store_true", help="with --scale: skip peaks")
    parser.add_argument("--json", help="with --scale: also write the rows as JSON")
    parser.add_argument("--repeats", type=int, default=None, help="turns per engine (median)")
    parser.add_argument("--markdown", help="also write the table as Markdown to this file")
    args = parser.parse_args()
    if args.scale:
        print(WHAT)
        main_scale(args)
        return
    if args.stages:
        main_stages(args)
        return
    sizes = [10**5, 10**6] if args.quick else [10**6, 10**7]
    print(WHAT)
    for engine in ("pandas", "polars"):
        if not available(engine):
            print(f"{engine} is not installed: its rows are left out.")
    rows: list[tuple[str, float, str]] = []
    for n in sizes:
        repeats = args.repeats or (5 if n < 10**7 else 3 if n < 10**8 else 1)
        rows += bench_size(n, repeats)
        print(f"  {n:.0e} orders done", flush=True)
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
