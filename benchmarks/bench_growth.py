"""Growth: operations that used to slow down with the size of what they work on (issue 12, item 10).

Each case runs at four sizes and prints the time per item; near-linear growth shows as
a per-item time that stays about the same as the size grows 4x at each step.

* ``memory index``: alternating ``MemoryStore.orders.add`` and ``orders.between`` (a
  one-hour window) on a store of n orders. The index used to be re-sorted after every
  add (2k: 0.6 s, 8k: 10.9 s); it is now kept sorted in place.
* ``fire``: n events fired on one ticket (``Workflow.fire``). Each used to re-check the
  whole log (2k: 0.4 s, 8k: 6.0 s); now the log is shared between versions and only
  the new entry is checked.
* ``fire + update``: the same, saving each version in a ``MemoryStore`` (the
  repository replays only the new entry through the workflow).
* ``business_time_between``: spans of 10 to 8,000 years from 1990 on a mainland-China
  office calendar with its 2020-2026 holidays. It used to walk every day (8,000 years: 57 s);
  now it counts whole weeks and works out only the special days. The old day-by-day
  walk is timed beside it (same run, interleaved) up to ``--walk-years``.

Medians of ``--repeat`` runs (interleaved where two sides are compared). Nothing is
asserted; the tests check the results (the fast span count against the walk).

    python benchmarks/bench_growth.py [--quick] [--repeat N] [--walk-years Y]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

SIZES = {
    "memory index": [2_000, 8_000, 32_000, 128_000],
    "fire": [2_000, 8_000, 32_000, 128_000],
    "fire + update": [2_000, 8_000, 32_000, 128_000],
    "business_time_between": [10, 100, 1_000, 8_000],
}
QUICK = {
    "memory index": [1_000, 2_000, 4_000, 8_000],
    "fire": [1_000, 2_000, 4_000, 8_000],
    "fire + update": [1_000, 2_000, 4_000, 8_000],
    "business_time_between": [10, 100, 1_000, 8_000],
}
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def median_time(call: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def memory_index(n: int) -> Callable[[], Any]:
    from custmgmt.adapters.memory import MemoryStore
    from custmgmt.testing import make_order

    orders = [make_order(id=f"o-{i:07d}", placed_at=T0 + timedelta(minutes=i)) for i in range(n)]

    def run() -> None:
        store = MemoryStore()
        repo = store.orders
        for i, order in enumerate(orders):
            repo.add(order)
            lo = T0 + timedelta(minutes=i - 60)
            sum(1 for _ in repo.between(lo, lo + timedelta(hours=1)))

    return run


def _opened() -> Any:
    from custmgmt.tickets import DEFAULT_WORKFLOW

    ticket = DEFAULT_WORKFLOW.open(id="T-1", customer_id="C-1", category="inquiry",
                                   priority="normal", subject="物流咨询", at=T0, actor="web")
    ticket = DEFAULT_WORKFLOW.fire(ticket, "assign", at=T0, actor="lead", assignee="agent-1")
    return DEFAULT_WORKFLOW.fire(ticket, "start", at=T0, actor="agent-1")


def fire(n: int) -> Callable[[], Any]:
    from custmgmt.tickets import DEFAULT_WORKFLOW

    times = [T0 + timedelta(seconds=i) for i in range(n)]

    def run() -> None:
        ticket = _opened()
        for at in times:
            ticket = DEFAULT_WORKFLOW.fire(ticket, "respond", at=at, actor="agent-1")

    return run


def fire_and_update(n: int) -> Callable[[], Any]:
    from custmgmt.adapters.memory import MemoryStore
    from custmgmt.tickets import DEFAULT_WORKFLOW

    times = [T0 + timedelta(seconds=i) for i in range(n)]

    def run() -> None:
        store = MemoryStore()
        ticket = _opened()
        store.tickets.add(ticket)
        for at in times:
            ticket = DEFAULT_WORKFLOW.fire(ticket, "respond", at=at, actor="agent-1")
            store.tickets.update(ticket)

    return run


def _calendar() -> Any:
    from custmgmt.calendars import BusinessCalendar

    try:
        return BusinessCalendar.from_holidays("CN", years=range(2020, 2027))
    except Exception:  # the holidays extra is optional
        from custmgmt.calendars.business import DEFAULT_HOURS

        return BusinessCalendar(tz="Asia/Shanghai", hours=DEFAULT_HOURS,
                                holidays=[date(2024, 10, d) for d in range(1, 8)])


def walked(calendar: Any, a: datetime, b: datetime) -> timedelta:
    """The previous implementation: every day of the span (the tests' reference)."""
    total = timedelta(0)
    day = a.astimezone(calendar.tzinfo).date() - timedelta(days=1)
    last = b.astimezone(calendar.tzinfo).date()
    while day <= last:
        for lo, hi in calendar._utc_intervals(day):
            lo, hi = max(lo, a), min(hi, b)
            if hi > lo:
                total += hi - lo
        day += timedelta(days=1)
    return total


SPAN_START = datetime(1990, 1, 1, tzinfo=UTC)


def span_end(years: int) -> datetime:
    return datetime(min(SPAN_START.year + years, 9999), 1, 1, tzinfo=UTC)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke test)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per size (median)")
    parser.add_argument("--walk-years", type=int, default=100,
                        help="time the old day-by-day walk for spans up to this many years")
    args = parser.parse_args()
    sizes = QUICK if args.quick else SIZES
    makers: dict[str, Callable[[int], Callable[[], Any]]] = {
        "memory index": memory_index, "fire": fire, "fire + update": fire_and_update,
    }
    units = {"memory index": "add + between", "fire": "event", "fire + update": "event"}
    rows: list[tuple[str, str, float, str]] = []
    for case, maker in makers.items():
        first: float | None = None
        for n in sizes[case]:
            run = maker(n)
            run()  # warm-up: imports, caches
            seconds = median_time(run, args.repeat if n <= 32_000 else 1)
            per = seconds / n
            first = first or per
            rows.append((case, f"{n:,}", seconds,
                         f"{per * 1e6:.1f} µs per {units[case]} ({per / first:.2f}x the smallest)"))
            print(f"  {case} {n:,}: {seconds:.3f} s", flush=True)
    calendar = _calendar()
    calendar.business_time_between(SPAN_START, span_end(10))  # fills the caches both sides use
    for years in sizes["business_time_between"]:
        end = span_end(years)
        fast_times: list[float] = []
        walk_times: list[float] = []
        walk = years <= args.walk_years
        for _ in range(args.repeat):  # interleaved: fast, walk, fast, walk ...
            start = time.perf_counter()
            fast = calendar.business_time_between(SPAN_START, end)
            fast_times.append(time.perf_counter() - start)
            if walk:
                start = time.perf_counter()
                slow = walked(calendar, SPAN_START, end)
                walk_times.append(time.perf_counter() - start)
                assert slow == fast, (years, slow, fast)
        note = f"{fast.total_seconds() / 3600:,.0f} business hours"
        if walk:
            walk_s = statistics.median(walk_times)
            ratio = walk_s / statistics.median(fast_times)
            note += f"; old day-by-day walk {walk_s:.3f} s ({ratio:,.0f}x), equal"
        else:
            note += "; old walk not run (issue: 57 s at 8,000 years)"
        rows.append(("business_time_between", f"{years:,} years", statistics.median(fast_times),
                     note))
    print()
    print("| case | size | median s | per item, growth |")
    print("|---|---:|---:|---|")
    for case, size, seconds, note in rows:
        print(f"| {case} | {size} | {seconds:.4f} | {note} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
