"""Ticket workflow, storage and statistics rates.

Times, in one run, for N tickets with realistic logs (8-11 entries: assign, start,
replies, a wait on the customer, resolve, a survey reply, close):

* walking the workflow (``Workflow.fire``, validation of every entry included);
* ``MemoryTicketRepository`` and ``SQLiteTicketRepository`` (``:memory:`` and a file):
  adding all tickets in one transaction, reading them all back (``iter_chunks``) and
  updating every ticket with one more entry (one transaction);
* ``ticket_statistics`` over all tickets.

Prints a Markdown table of medians (tickets per second).

Usage: ``python benchmarks/bench_tickets.py [--quick] [--repeat N]``.
"""

from __future__ import annotations

import argparse
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from custmgmt.adapters.memory import MemoryStore
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.domain import Priority
from custmgmt.tickets import DEFAULT_WORKFLOW, Ticket, ticket_statistics

T0 = datetime(2024, 1, 1, 9, tzinfo=timezone(timedelta(hours=8)))


def make_tickets(n: int, seed: int = 0) -> list[Ticket]:
    rng = random.Random(seed)
    wf = DEFAULT_WORKFLOW
    tickets = []
    for i in range(n):
        at = T0 + timedelta(minutes=rng.randrange(0, 60 * 24 * 300))
        t = wf.open(id=f"T-{i:07d}", customer_id=f"C-{rng.randrange(n // 3 + 1):06d}",
                    category=rng.choice(["product_quality", "logistics", "inquiry"]),
                    priority=rng.choice(list(Priority)), subject="包裹破损", at=at, actor="web")
        steps: list[tuple[str, dict[str, Any]]] = [("assign", {"assignee": "a1"}), ("start", {}),
                                                   ("respond", {})]
        if rng.random() < 0.5:
            steps += [("wait_on_customer", {}), ("customer_replied", {}), ("respond", {})]
        steps += [("resolve", {"solution": "补发"}), ("rate", {"score": rng.randint(1, 5)})]
        for event, data in steps:
            at += timedelta(minutes=rng.randrange(1, 600))
            t = wf.fire(t, event, at=at, actor="a1", **data)
        tickets.append(t)
    return tickets


def closed(tickets: list[Ticket]) -> list[Ticket]:
    return [DEFAULT_WORKFLOW.fire(t, "close", at=t.updated_at, actor="system") for t in tickets]


def timed(run: Callable[[], object], repeat: int) -> float:
    seconds = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


def store_rows(name: str, opener: Callable[[], Any], tickets: list[Ticket],
               updated: list[Ticket], repeat: int) -> list[tuple[str, float]]:
    adds, reads, updates = [], [], []
    for _ in range(repeat):
        store = opener()
        try:
            start = time.perf_counter()
            with store.transaction():
                for t in tickets:
                    store.tickets.add(t)
            adds.append(time.perf_counter() - start)
            start = time.perf_counter()
            count = sum(len(c) for c in store.tickets.iter_chunks())
            reads.append(time.perf_counter() - start)
            assert count == len(tickets)
            start = time.perf_counter()
            with store.transaction():
                for t in updated:
                    store.tickets.update(t)
            updates.append(time.perf_counter() - start)
        finally:
            close = getattr(store, "close", None)
            if close is not None:
                close()
    return [(f"{name}: add", statistics.median(adds)),
            (f"{name}: read all", statistics.median(reads)),
            (f"{name}: update (+1 entry)", statistics.median(updates))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2,000 tickets instead of 50,000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    n = 2_000 if args.quick else 50_000
    start = time.perf_counter()
    tickets = make_tickets(n)
    walk = time.perf_counter() - start
    events = sum(len(t.events) for t in tickets)
    updated = closed(tickets)
    rows: list[tuple[str, float]] = [("workflow: open and walk", walk)]
    folder = Path(tempfile.mkdtemp())
    counter = iter(range(1_000_000))
    rows += store_rows("memory", MemoryStore, tickets, updated, args.repeat)
    rows += store_rows("sqlite :memory:", lambda: SQLiteStore(":memory:"), tickets, updated,
                       args.repeat)
    rows += store_rows("sqlite file", lambda: SQLiteStore(folder / f"t{next(counter)}.db"),
                       tickets, updated, args.repeat)
    as_of = T0 + timedelta(days=400)
    rows.append(("ticket_statistics", timed(lambda: ticket_statistics(updated, as_of),
                                            args.repeat)))
    print(f"{n:,} tickets, {events:,} log entries ({events / n:.1f} per ticket); "
          f"Python {platform.python_version()}, {platform.machine()}; median of {args.repeat}")
    print()
    print("| step | seconds | tickets/s |")
    print("|---|---:|---:|")
    for name, seconds in rows:
        print(f"| {name} | {seconds:.3f} | {n / seconds:,.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
