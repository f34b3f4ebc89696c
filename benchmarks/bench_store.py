"""Bulk load of orders (with lines) into SQLiteStore, against raw sqlite3.executemany.

Both runs write the same rows into the same schema on a fresh file database with the
same settings (WAL, synchronous=NORMAL, foreign keys on), inside one transaction:

* ``SQLiteStore.orders.add_many``: domain ``Order`` objects in, rows out (the store's
  encoding, type checks and its two ``executemany`` calls per batch);
* ``raw executemany``: the rows already encoded, straight into ``executemany``.

Generating the orders (and, for the raw run, encoding them) is not timed; the runs
take turns on the same pre-generated orders. The goal is a store rate of at least
half the raw rate.

    python benchmarks/bench_store.py            # 1,000,000 orders
    python benchmarks/bench_store.py --quick    # 50,000 orders
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import numpy as np

from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.adapters.sqlite.codecs import order_to_rows
from custmgmt.domain import Money, Order, OrderLine, OrderStatus

CHUNK = 50_000
CST = timezone(timedelta(hours=8))
T0 = datetime(2024, 1, 1, tzinfo=CST)
CATEGORIES = ("茶叶", "茶具", "零食", "apparel", "electronics", "books")


def make_orders(chunk: int, size: int, seed: int) -> list[Order]:
    """``size`` valid orders (1-3 lines, mixed statuses), the same for a given chunk."""
    rng = np.random.default_rng([seed, chunk])
    placed = rng.integers(0, 365 * 86_400, size)
    customers = rng.integers(0, size // 5 + 1, size)
    n_lines = rng.integers(1, 4, size)
    cents = rng.integers(100, 100_000, (size, 3))
    quantities = rng.integers(1, 5, (size, 3))
    categories = rng.integers(0, len(CATEGORIES), (size, 3))
    statuses = rng.integers(0, 4, size)
    orders = []
    for i in range(size):
        at = T0 + timedelta(seconds=int(placed[i]))
        lines = tuple(
            OrderLine(
                sku=f"SKU-{int(categories[i, k]) * 1000 + int(cents[i, k]) % 997}",
                category=CATEGORIES[int(categories[i, k])],
                quantity=int(quantities[i, k]),
                unit_price=Money(Decimal(int(cents[i, k])).scaleb(-2), "CNY"),
            )
            for k in range(int(n_lines[i]))
        )
        order = Order(
            id=f"o-{chunk:04d}-{i:06d}",
            customer_id=f"c-{int(customers[i]):07d}",
            placed_at=at,
            lines=lines,
            channel="app",
        )
        status = int(statuses[i])
        if status >= 1:
            order = order.pay(at + timedelta(minutes=5))
        if status >= 2:
            order = order.ship(at + timedelta(days=1)).deliver(at + timedelta(days=3))
        if status == 3:
            order = Order(  # a cancelled one, to vary the columns
                id=order.id,
                customer_id=order.customer_id,
                placed_at=at,
                lines=lines,
                status=OrderStatus.CANCELLED,
                cancelled_at=at + timedelta(hours=1),
            )
        orders.append(order)
    return orders


def generate(total: int, seed: int) -> list[Order]:
    orders: list[Order] = []
    for chunk, start in enumerate(range(0, total, CHUNK)):
        orders.extend(make_orders(chunk, min(CHUNK, total - start), seed))
    return orders


def fresh_store(path: Path) -> SQLiteStore:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return SQLiteStore(path)


def run_store(path: Path, orders: list[Order]) -> float:
    """One ``add_many`` call: the store's own transaction, batches of executemany."""
    store = fresh_store(path)
    start = time.perf_counter()
    store.orders.add_many(orders)
    elapsed = time.perf_counter() - start
    assert store.orders.count() == len(orders)
    store.close()
    return elapsed


def run_store_in_transaction(path: Path, orders: list[Order]) -> float:
    """``add_many`` per 50k chunk inside one ``store.transaction()``."""
    store = fresh_store(path)
    start = time.perf_counter()
    with store.transaction():
        for first in range(0, len(orders), CHUNK):
            store.orders.add_many(orders[first : first + CHUNK])
    elapsed = time.perf_counter() - start
    assert store.orders.count() == len(orders)
    store.close()
    return elapsed


def encode(orders: list[Order]) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """The rows the store writes, encoded ahead (not timed) for the raw run."""
    order_rows: list[tuple[object, ...]] = []
    line_rows: list[tuple[object, ...]] = []
    for order in orders:
        row, lines = order_to_rows(order)
        order_rows.append(row)
        line_rows.extend(lines)
    return order_rows, line_rows


def run_raw(
    path: Path, rows: tuple[list[tuple[object, ...]], list[tuple[object, ...]]]
) -> float:
    """Plain ``executemany`` of the pre-encoded rows, same schema and settings."""
    fresh_store(path).close()  # the same schema, created by the store's migrations
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = NORMAL")
    connection.execute("PRAGMA foreign_keys = ON")
    order_sql = f"INSERT INTO orders VALUES ({', '.join('?' * 19)})"
    line_sql = f"INSERT INTO order_lines VALUES ({', '.join('?' * 6)})"
    order_rows, line_rows = rows
    start = time.perf_counter()
    connection.execute("BEGIN IMMEDIATE")
    connection.executemany(order_sql, order_rows)
    connection.executemany(line_sql, line_rows)
    connection.execute("COMMIT")
    elapsed = time.perf_counter() - start
    assert connection.execute("SELECT count(*) FROM orders").fetchone() == (len(order_rows),)
    connection.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50,000 orders instead of 1M")
    parser.add_argument("--orders", type=int, default=None, help="number of orders")
    parser.add_argument("--repeat", type=int, default=None, help="runs per method (median)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    total = args.orders or (50_000 if args.quick else 1_000_000)
    repeat = args.repeat or (3 if args.quick else 1)

    started = time.perf_counter()
    orders = generate(total, args.seed)
    rows = encode(orders)
    lines = len(rows[1])
    print(f"generated {total:,} orders in {time.perf_counter() - started:.1f} s (not timed)")
    results: dict[str, list[float]] = {
        "raw executemany": [],
        "SQLiteStore.add_many": [],
        "SQLiteStore.add_many, 50k per call in transaction()": [],
    }
    with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp:
        path = Path(tmp) / "bench.sqlite3"
        for _ in range(repeat):
            results["raw executemany"].append(run_raw(path, rows))
            results["SQLiteStore.add_many"].append(run_store(path, orders))
            results["SQLiteStore.add_many, 50k per call in transaction()"].append(
                run_store_in_transaction(path, orders)
            )

    raw = statistics.median(results["raw executemany"])
    print(
        f"bulk load of {total:,} orders with {lines:,} lines into a fresh file database "
        f"(one transaction; median of {repeat})"
    )
    print()
    print("| method | seconds | orders/s | rows/s (orders + lines) | rate vs raw |")
    print("|---|---:|---:|---:|---:|")
    for name, times in results.items():
        seconds = statistics.median(times)
        print(
            f"| {name} | {seconds:.2f} | {total / seconds:,.0f} | "
            f"{(total + lines) / seconds:,.0f} | {raw / seconds:.2f} |"
        )


if __name__ == "__main__":
    main()
