"""PostgresStore's fast paths against psycopg doing the same work by hand.

Two measurements, each at several sizes, interleaved (A B A B ...), medians reported,
ratios from the same run, on a throwaway server started here (``initdb`` into a temp
directory, Unix socket only, ``fsync=off``: see :mod:`custmgmt.testing.postgres`) or
on ``--dsn``:

1. **Bulk load** of orders (one line each): ``store.load_orders(OrderBatch)`` (binary
   COPY tuples built column by column from the batch with numpy, orders then lines,
   in one transaction, indexes rebuilt after a first load)
   against psycopg's ``executemany`` (pipeline mode) of the very same rows into the
   same tables: the rows are encoded beforehand and *not* timed, so the baseline does
   less work than the store. Each run loads into empty tables (truncated between runs,
   not timed). Goal: the store at least 10x faster.
2. **Frame read**: ``store.order_frame(currency="CNY")`` (server-side cursor, binary
   rows, numpy columns, customers/categories/channels coded, sorted by time then id)
   against raw ``COPY (SELECT the same ten columns) TO STDOUT`` read into numpy
   (integers as int64 arrays, texts as object arrays; no coding, no sorting, no
   checks). Goal: within 2x of the raw read.

Times are wall seconds, with this process's CPU seconds in brackets (the server's work
is in another process: the wall time is the one to compare). Both sides run on the
same connection settings; the machine is shared, so read the ratios.

    python benchmarks/bench_postgres.py                    # 100k, 300k, 1M; 3 repeats
    python benchmarks/bench_postgres.py --quick            # 20k, 50k
    python benchmarks/bench_postgres.py --sizes 1000000 --repeat 2 --only load
    python benchmarks/bench_postgres.py --load-sizes 50000,100000 --copy-only 1000000
    python benchmarks/bench_postgres.py --sizes 1000000 --only floor    # the server's share

``--only floor`` answers what the client can still win: it times, in turns with
``load_orders`` and ``executemany``, the server alone doing the load's work (the same
binary COPY tuples, encoded beforehand and not timed, sent in one piece; the same index
drop and rebuild in one transaction). No change on the client can make ``load_orders``
faster than that floor, so ``executemany / floor`` is the most any client-side change
can reach against this baseline on this server.

``executemany`` costs a round trip per batch of statements; on a loaded machine each
one waits for the scheduler, so the baseline can take many minutes at 1M: run the
comparison at smaller sizes (``--load-sizes``) and time the COPY path alone at 1M
(``--copy-only``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import psycopg

from custmgmt.adapters.postgres import PostgresStore
from custmgmt.adapters.postgres.binary_copy import COPY_HEADER, COPY_TRAILER
from custmgmt.adapters.postgres.codecs import line_rows, order_row
from custmgmt.adapters.postgres.orders import (
    _indexes_rebuilt,  # the floor rebuilds exactly as load_orders does
    line_tuples,
    order_tuples,
)
from custmgmt.adapters.postgres.schema import LINE_COLUMNS, ORDER_WRITE_COLUMNS, insert_sql
from custmgmt.analytics.batches import OrderBatch
from custmgmt.testing.postgres import TemporaryPostgres

T0_US = 1_704_067_200_000_000  # 2024-01-01 UTC
CATEGORIES = np.array(["茶叶", "茶具", "零食", "apparel", "electronics", "books"], dtype=object)
CHANNELS = np.array(["app", "web", "小程序", None], dtype=object)
STATUSES = np.array(
    ["delivered"] * 14 + ["cancelled"] * 2 + ["paid", "returned", "partially_returned", "placed"],
    dtype=object,
)
SCHEMA = "bench"
RAW_SQL = (
    "COPY (SELECT customer_id, (extract(epoch FROM placed_at) * 1000000)::bigint, total_minor, "
    "returned_minor, status, NULLIF(currency, 'CNY'), main_category, channel, id, "
    "line_categories FROM orders) TO STDOUT"
)


def order_batch(n: int, seed: int = 7) -> OrderBatch:
    """``n`` orders of ``n // 5`` customers over two years, validated."""
    rng = np.random.default_rng(seed)
    status = STATUSES[rng.integers(0, len(STATUSES), n)]
    amount = rng.integers(100, 200_000, n)
    returned = np.where(status == "returned", amount, 0)
    returned = np.where(status == "partially_returned", amount // 3 + 1, returned)
    return OrderBatch.from_arrays(
        order_id=np.array([f"o-{k:08d}" for k in range(n)], dtype=object),
        customer_id=np.array(
            [f"客户-{c:07d}" for c in rng.integers(0, max(n // 5, 1), n).tolist()], dtype=object
        ),
        placed_at=T0_US + rng.integers(0, 730 * 86_400, n) * 1_000_000,
        amount=amount,
        returned_amount=returned,
        currency="CNY",
        category=CATEGORIES[rng.integers(0, len(CATEGORIES), n)],
        sku="SKU-1",
        status=status,
        channel=CHANNELS[rng.integers(0, len(CHANNELS), n)],
    )


class Seconds(NamedTuple):
    """Wall-clock and this process's CPU seconds of one run."""

    wall: float
    cpu: float

    def __str__(self) -> str:
        return f"{self.wall:.2f} ({self.cpu:.2f})"


def timed(work: Callable[[], Any]) -> Seconds:
    start, cpu = time.perf_counter(), time.process_time()
    work()
    return Seconds(time.perf_counter() - start, time.process_time() - cpu)


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


def truncate(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {SCHEMA}.order_lines, {SCHEMA}.orders")
        conn.execute(f"VACUUM {SCHEMA}.orders")
        conn.execute(f"VACUUM {SCHEMA}.order_lines")


def encoded_rows(batch: OrderBatch) -> tuple[list[Any], list[Any]]:
    """The ``orders`` and ``order_lines`` rows of ``batch`` as the store encodes them."""
    orders = list(batch.to_orders())
    return [order_row(o) for o in orders], [row for o in orders for row in line_rows(o)]


def executemany(dsn: str, order_rows: list[Any], lines: list[Any]) -> None:
    """The baseline: psycopg's ``executemany`` (pipeline mode) of the encoded rows."""
    with (
        psycopg.connect(dsn, options=f"-c search_path={SCHEMA}") as conn,
        conn.cursor() as cursor,
    ):
        cursor.executemany(insert_sql("orders", ORDER_WRITE_COLUMNS), order_rows)
        cursor.executemany(insert_sql("order_lines", LINE_COLUMNS), lines)


def bench_load(dsn: str, store: PostgresStore, n: int, repeat: int) -> dict[str, Any]:
    batch = order_batch(n)
    order_rows, lines = encoded_rows(batch)

    def copy_run() -> Seconds:
        truncate(dsn)
        return timed(lambda: store.load_orders(batch))

    def executemany_run() -> Seconds:
        truncate(dsn)
        return timed(lambda: executemany(dsn, order_rows, lines))

    found = interleave(repeat, copy=copy_run, executemany=executemany_run)
    with psycopg.connect(dsn) as conn:
        stored = conn.execute(f"SELECT count(*) FROM {SCHEMA}.orders").fetchone()
    assert stored == (n,), stored
    return found


def bench_floor(dsn: str, store: PostgresStore, n: int, repeat: int) -> dict[str, Any]:
    """``load_orders`` against the server alone doing its work, and ``executemany``."""
    batch = order_batch(n)
    tuples = {
        f"COPY orders ({ORDER_WRITE_COLUMNS}) FROM STDIN (FORMAT binary)": order_tuples(batch),
        f"COPY order_lines ({LINE_COLUMNS}) FROM STDIN (FORMAT binary)": line_tuples(batch),
    }
    order_rows, lines = encoded_rows(batch)

    def server_alone() -> Seconds:
        truncate(dsn)

        def work() -> None:
            with (
                psycopg.connect(dsn, options=f"-c search_path={SCHEMA}") as conn,
                _indexes_rebuilt(conn, ("orders", "order_lines"), n),
            ):
                for sql, data in tuples.items():
                    with conn.cursor() as cursor, cursor.copy(sql) as copy:
                        copy.write(COPY_HEADER + data + COPY_TRAILER)

        return timed(work)

    def executemany_run() -> Seconds:
        truncate(dsn)
        return timed(lambda: executemany(dsn, order_rows, lines))

    def copy_run() -> Seconds:
        truncate(dsn)
        return timed(lambda: store.load_orders(batch))

    return interleave(repeat, copy=copy_run, floor=server_alone, executemany=executemany_run)


def raw_read(dsn: str) -> dict[str, np.ndarray[Any, Any]]:
    """The same ten columns as the store's frame query, into numpy, by hand."""
    with (
        psycopg.connect(dsn, options=f"-c search_path={SCHEMA}") as conn,
        conn.cursor() as cursor,
        cursor.copy(RAW_SQL) as copy,
    ):
        text = b"".join(bytes(block) for block in copy).decode()
    rows = [line.split("\t") for line in text.split("\n") if line]
    del text
    columns = list(zip(*rows, strict=True)) if rows else [()] * 10
    del rows
    names = ("customer", "placed", "total", "refund", "status", "currency", "category",
             "channel", "id", "categories")  # fmt: skip
    out: dict[str, np.ndarray[Any, Any]] = {}
    for name, values in zip(names, columns, strict=True):
        if name in ("placed", "total", "refund"):
            out[name] = np.array(values, dtype=np.int64)
        else:
            out[name] = np.array(values, dtype=object)
    return out


def bench_frame(dsn: str, store: PostgresStore, n: int, repeat: int) -> dict[str, Any]:
    truncate(dsn)
    store.load_orders(order_batch(n))
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"VACUUM ANALYZE {SCHEMA}.orders")
    frame = store.order_frame(currency="CNY")
    raw = raw_read(dsn)
    assert len(frame) == n == len(raw["placed"])
    assert int(frame.amount.sum()) == int(raw["total"].sum())
    return interleave(
        repeat,
        frame=lambda: timed(lambda: store.order_frame(currency="CNY")),
        raw=lambda: timed(lambda: raw_read(dsn)),
    )


def _load() -> str:
    """The machine's 1, 5 and 15 minute load averages (the runs share the machine)."""
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:  # not on every platform
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,300000,1000000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="20k and 50k orders")
    parser.add_argument("--only", default="load,frame", help="load, frame, floor, or a list")
    parser.add_argument("--load-sizes", help="sizes of the load comparison (default: --sizes)")
    parser.add_argument("--copy-only", default="", help="sizes to time load_orders alone at")
    parser.add_argument("--dsn", help="an existing server's database (default: a throwaway one)")
    args = parser.parse_args(argv)
    sizes = [20_000, 50_000] if args.quick else [int(s) for s in args.sizes.split(",")]
    only = set(args.only.split(","))
    server = None if args.dsn else TemporaryPostgres()
    try:
        dsn = args.dsn or server.create_database("bench")  # type: ignore[union-attr]
        store = PostgresStore(dsn, schema=SCHEMA, pool_size=2)
        print(f"PostgreSQL {store.fetch('SHOW server_version')[0][0]}, {sys.platform}, "
              f"{os.cpu_count()} CPUs, repeat {args.repeat} (medians); "
              "wall s (client CPU s)")  # fmt: skip
        print(f"load average at start: {_load()}")
        if "load" in only:
            print("\n1. bulk load of n orders (one line each)")
            print(f"{'n':>10} {'load_orders (COPY)':>20} {'executemany':>16} {'speed-up':>9}"
                  f" {'µs/order COPY':>14}  load average after")  # fmt: skip
            load_sizes = [int(s) for s in args.load_sizes.split(",")] if args.load_sizes else sizes
            for n in load_sizes:
                found = bench_load(dsn, store, n, args.repeat)
                copy, many = found["copy"], found["executemany"]
                print(f"{n:>10,} {copy!s:>20} {many!s:>16} {many.wall / copy.wall:>8.1f}x"
                      f" {copy.wall / n * 1e6:>14.2f}  {_load()}")  # fmt: skip
            for n in [int(s) for s in args.copy_only.split(",") if s]:
                batch = order_batch(n)

                def copy_alone(batch: OrderBatch = batch) -> Seconds:
                    truncate(dsn)
                    return timed(lambda: store.load_orders(batch))

                copy = interleave(args.repeat, copy=copy_alone)["copy"]
                print(f"{n:>10,} {copy!s:>20} {'-':>16} {'-':>9} {copy.wall / n * 1e6:>14.2f}"
                      f"  {_load()}")  # fmt: skip
        if "floor" in only:
            print("\n1b. the server's floor: the load's COPY and rebuilds, rows encoded ahead")
            print(f"{'n':>10} {'load_orders':>14} {'server alone':>14} {'executemany':>14}"
                  f" {'speed-up':>9} {'most reachable':>15}")  # fmt: skip
            for n in sizes:
                found = bench_floor(dsn, store, n, args.repeat)
                copy, floor, many = found["copy"], found["floor"], found["executemany"]
                print(f"{n:>10,} {copy!s:>14} {floor!s:>14} {many!s:>14}"
                      f" {many.wall / copy.wall:>8.1f}x"
                      f" {many.wall / floor.wall:>14.1f}x")  # fmt: skip
        if "frame" in only:
            print("\n2. OrderFrame of n orders")
            print(f"{'n':>10} {'order_frame':>16} {'raw COPY TO numpy':>18} {'ratio':>7}"
                  f" {'µs/order frame':>15}")  # fmt: skip
            for n in sizes:
                found = bench_frame(dsn, store, n, args.repeat)
                frame, raw = found["frame"], found["raw"]
                print(f"{n:>10,} {frame!s:>16} {raw!s:>18} {frame.wall / raw.wall:>6.2f}x"
                      f" {frame.wall / n * 1e6:>15.2f}")  # fmt: skip
        print(f"\nload average at end: {_load()}")
        store.close()
    finally:
        if server is not None:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
