"""Insert and lookup throughput with field encryption on and off, same run, interleaved.

For N synthetic customers (names, mainland phones, emails, street addresses), each
round makes fresh SQLite file stores and times, interleaved (A B C A B C ...):

* ``raw``: ``store.customers.add_many`` alone (no privacy index: the floor);
* ``plain``: ``privacy.add_customers`` without a cipher (customer rows plus the
  lookup index rows, one audit entry);
* ``sealed``: ``privacy.add_customers`` with AES-256-GCM: per customer a fresh data
  key wrapped by the KEK, one ciphertext of the identifying and contact fields, three
  keyed blind indexes, the pseudonymised customer row.

Customers are loaded in batches of 50,000 (one transaction each). Then 2,000 lookups
by email (blind index, candidates checked by decrypting) and 2,000 full reads
(``read_customer``: unwrap, decrypt, audit) on the plain and the sealed store.

Prints Markdown tables of medians (customers or lookups per second) and the
sealed/plain time ratio. Usage:
``python benchmarks/bench_privacy.py [--sizes 10000 100000] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import platform
import random
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.datasets import make_dataset
from custmgmt.domain import Customer
from custmgmt.privacy import (
    Actor,
    FieldCipher,
    Privacy,
    StaticKeyProvider,
    add_customers,
    find_customers,
    read_customer,
)

BATCH = 50_000
LOADER = Actor(id="bench", roles={"agent", "privacy_officer"})


def _privacy(sealed: bool) -> Privacy:
    if not sealed:
        return Privacy()
    keys = StaticKeyProvider(
        {"kek-1": secrets.token_bytes(32), "index-1": secrets.token_bytes(32)},
        current="kek-1", index="index-1",
    )
    return Privacy(cipher=FieldCipher(keys))


def _load(kind: str, customers: list[Customer], path: Path) -> tuple[float, Any, Privacy]:
    privacy = _privacy(kind == "sealed")
    store = SQLiteStore(path)
    start = time.perf_counter()
    for i in range(0, len(customers), BATCH):
        chunk = customers[i : i + BATCH]
        if kind == "raw":
            store.customers.add_many(chunk)
        else:
            add_customers(store, privacy, LOADER, chunk)
    return time.perf_counter() - start, store, privacy


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run(sizes: list[int], repeat: int) -> None:
    print(f"python {platform.python_version()}, {platform.machine()}, SQLite files, "
          f"batches of {BATCH:,}; medians of {repeat} interleaved rounds")
    print()
    print("| customers | raw add_many /s | plain add_customers /s | sealed add_customers /s "
          "| sealed / plain time | sealed / raw time |")
    print("|---:|---:|---:|---:|---:|---:|")
    lookups: list[str] = []
    for n in sizes:
        customers = make_dataset(n, n, seed=n, interactions=False).customers()
        times: dict[str, list[float]] = {"raw": [], "plain": [], "sealed": []}
        look: dict[str, list[float]] = {k: [] for k in ("plain find", "sealed find",
                                                        "plain read", "sealed read")}
        rng = random.Random(n)
        with_email = [c for c in customers if c.email]
        sample = [rng.choice(with_email) for _ in range(2000)]
        for _ in range(repeat):
            with tempfile.TemporaryDirectory() as folder:
                for kind in ("raw", "plain", "sealed"):
                    took, store, privacy = _load(kind, customers, Path(folder) / f"{kind}.db")
                    times[kind].append(took)
                    if kind != "raw":
                        look[f"{kind} find"].append(_timed(lambda s=store, p=privacy, q=sample: [
                            find_customers(s, p, LOADER, email=c.email) for c in q]))
                        look[f"{kind} read"].append(_timed(lambda s=store, p=privacy, q=sample: [
                            read_customer(s, p, LOADER, c.id) for c in q]))
                    store.close()
        med = {k: statistics.median(v) for k, v in times.items()}
        print(f"| {n:,} | {n / med['raw']:,.0f} | {n / med['plain']:,.0f} | "
              f"{n / med['sealed']:,.0f} | {med['sealed'] / med['plain']:.2f} | "
              f"{med['sealed'] / med['raw']:.2f} |")
        lm = {k: statistics.median(v) for k, v in look.items()}
        lookups.append(
            f"| {n:,} | {2000 / lm['plain find']:,.0f} | {2000 / lm['sealed find']:,.0f} | "
            f"{2000 / lm['plain read']:,.0f} | {2000 / lm['sealed read']:,.0f} |"
        )
    print()
    print("| customers | plain find by email /s | sealed find by email /s "
          "| plain read_customer /s | sealed read_customer /s |")
    print("|---:|---:|---:|---:|---:|")
    for line in lookups:
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    run(args.sizes, args.repeat)


if __name__ == "__main__":
    main()
