"""add_business_time over long durations: the direct count against the old day-by-day walk.

``BusinessCalendar.add_business_time`` used to walk every day from the start until
the working time was used up (10 years of review time: 1.1-1.7 s). It now walks the
first days, counts whole weeks of the weekly schedule at once and works out only
the holidays, make-up days and days near offset changes. This times both, per call,
for deadlines 1 day, 1 year, 10 years and 100 years ahead (the working time of that
many calendar days from the start), on two calendars:

* ``CN``: mainland China office hours with a lunch break, 2024-2025 public holidays
  and make-up days (``BusinessCalendar.from_holidays``; without the ``holidays``
  package, the same hours without holidays);
* ``DE``: the same hours in Europe/Berlin (two offset changes a year).

A second part (``--part table``) times ``BusinessTimeTable.build`` over spans of 1, 10,
100 and 400 years from 2024-01-01 on the same calendars: the old build called
``working_intervals`` for every day of the span (400 years: about 146,000 calls); the
new one tiles the weekly schedule per offset with numpy and works out only the
holidays, make-up days and days around offset changes. The old build is copied here;
both sides' arrays are checked equal.

Two rows per size: ``cold`` builds a new calendar for every call (its per-day cache
empty, as for a one-off deadline), ``warm`` reuses one calendar (as an SLA clock
does). The walk ("before") is the old code, copied here; both sides run in turns
(before, after, before, ...) and their results are checked equal. Medians of
``--repeat`` calls; the machine is shared, so compare ratios rather than absolutes.

    python benchmarks/bench_calendar.py [--repeat N] [--quick] [--no-before-from YEARS]
                                        [--part add|table|all]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any

import numpy as np

from custmgmt.calendars import BusinessCalendar, BusinessTimeTable
from custmgmt.calendars._reference import built_day_by_day, walked_add
from custmgmt.calendars.business import DEFAULT_HOURS

START = datetime(2024, 3, 4, 10, 30, tzinfo=UTC)
SIZES = {"1 day": 1, "1 year": 365, "10 years": 3_652, "100 years": 36_524}
TABLE_FIRST = date(2024, 1, 1)
TABLE_SIZES = {"1 year": 365, "10 years": 3_652, "100 years": 36_524, "400 years": 146_096}


def old_build(calendar: BusinessCalendar, first_day: date, last_day: date) -> tuple[Any, ...]:
    """The old build's arrays, as BusinessTimeTable.build used to make them."""
    lo, hi, starts, ends = built_day_by_day(calendar, first_day, last_day)
    return lo, hi, np.asarray(starts, dtype=np.int64), np.asarray(ends, dtype=np.int64)


def calendars() -> dict[str, Callable[[], BusinessCalendar]]:
    def china() -> BusinessCalendar:
        try:
            return BusinessCalendar.from_holidays("CN", years=[2024, 2025])
        except Exception:  # the holidays extra is not installed
            return BusinessCalendar(tz="Asia/Shanghai", hours=DEFAULT_HOURS)

    def germany() -> BusinessCalendar:
        return BusinessCalendar(tz="Europe/Berlin", hours=DEFAULT_HOURS)

    return {"CN": china, "DE": germany}


def timed(call: Callable[[], Any]) -> tuple[float, Any]:
    began = time.perf_counter()
    result = call()
    return time.perf_counter() - began, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="calls per side and size (median)")
    parser.add_argument("--quick", action="store_true", help="3 calls, no 100-year size")
    parser.add_argument("--no-before-from", type=int, default=None, metavar="YEARS",
                        help="skip the old walk (or build) for sizes of this many years and more")
    parser.add_argument("--part", choices=("add", "table", "all"), default="all",
                        help="add_business_time, BusinessTimeTable.build, or both")
    args = parser.parse_args(argv)
    repeat = 3 if args.quick else args.repeat
    print(f"# bench_calendar: Python {platform.python_version()}, {platform.machine()}, "
          f"repeat {repeat}, start {START.isoformat()}", file=sys.stderr)
    if args.part in ("add", "all"):
        bench_add(args, repeat)
    if args.part in ("table", "all"):
        bench_table(args, repeat)
    return 0


def bench_table(args: argparse.Namespace, repeat: int) -> None:
    """BusinessTimeTable.build over 1 to 400 years: the old day-by-day build and the new."""
    sizes = {k: v for k, v in TABLE_SIZES.items() if not (args.quick and v > 10_000)}
    rows: list[tuple[str, str, str, float | None, float, str]] = []
    for name, make in calendars().items():
        warm_calendar = make()
        for size, days in sizes.items():
            last = TABLE_FIRST + timedelta(days=days - 1)
            walk = args.no_before_from is None or days < args.no_before_from * 365
            for mode in ("cold", "warm"):
                before: list[float] = []
                after: list[float] = []
                if mode == "warm":  # one build each first: fills the day cache both use
                    BusinessTimeTable.build(warm_calendar, TABLE_FIRST, last)
                    if walk:
                        old_build(warm_calendar, TABLE_FIRST, last)
                for _ in range(repeat):
                    if walk:
                        old = warm_calendar if mode == "warm" else make()
                        seconds, slow = timed(partial(old_build, old, TABLE_FIRST, last))
                        before.append(seconds)
                    new = warm_calendar if mode == "warm" else make()
                    seconds, table = timed(partial(BusinessTimeTable.build, new, TABLE_FIRST,
                                                   last))
                    after.append(seconds)
                    if walk:
                        lo, hi, starts, ends = slow
                        assert (lo, hi) == (table.lo, table.hi), ((lo, hi), (table.lo, table.hi))
                        assert np.array_equal(starts, table.starts)
                        assert np.array_equal(ends, table.ends)
                note = f"{table.starts.size:,} intervals" + (", equal" if walk else "")
                rows.append((name, size, mode, statistics.median(before) if before else None,
                             statistics.median(after), note))
                print(f"  table {name} {size} {mode} done", file=sys.stderr, flush=True)
    print()
    print("| calendar | table span | cache | before (day by day) ms | after ms | speed-up "
          "| note |")
    print("|---|---|---|---:|---:|---:|---|")
    for name, size, mode, old_s, new_s, note in rows:
        old_text = f"{old_s * 1e3:.3f}" if old_s is not None else "not run"
        ratio = f"{old_s / new_s:,.0f}x" if old_s is not None else ""
        print(f"| {name} | {size} | {mode} | {old_text} | {new_s * 1e3:.3f} | {ratio} | {note} |")


def bench_add(args: argparse.Namespace, repeat: int) -> None:
    """add_business_time 1 day to 100 years ahead: the old walk and the direct count."""
    sizes = {k: v for k, v in SIZES.items() if not (args.quick and v > 10_000)}
    rows: list[tuple[str, str, str, float | None, float, str]] = []
    for name, make in calendars().items():
        warm_calendar = make()
        for size, days in sizes.items():
            delta = warm_calendar.business_time_between(START, START + timedelta(days=days))
            walk = args.no_before_from is None or days < args.no_before_from * 365
            for mode in ("cold", "warm"):
                before: list[float] = []
                after: list[float] = []
                if mode == "warm":  # one call each first: fills the day cache both use
                    warm_calendar.add_business_time(START, delta)
                    if walk:
                        walked_add(warm_calendar, START, delta)
                for _ in range(repeat):
                    if walk:
                        old = warm_calendar if mode == "warm" else make()
                        seconds, slow = timed(partial(walked_add, old, START, delta))
                        before.append(seconds)
                    new = warm_calendar if mode == "warm" else make()
                    seconds, fast = timed(partial(new.add_business_time, START, delta))
                    after.append(seconds)
                    if walk:
                        assert slow == fast, (slow, fast)
                        assert slow.isoformat() == fast.isoformat(), (slow, fast)
                note = f"deadline {fast.isoformat()}" + (", equal" if walk else "")
                rows.append((name, size, mode, statistics.median(before) if before else None,
                             statistics.median(after), note))
                print(f"  {name} {size} {mode} done", file=sys.stderr, flush=True)
    print("| calendar | deadline ahead | cache | before (walk) ms | after ms | speed-up | note |")
    print("|---|---|---|---:|---:|---:|---|")
    for name, size, mode, old_s, new_s, note in rows:
        old_text = f"{old_s * 1e3:.3f}" if old_s is not None else "not run"
        ratio = f"{old_s / new_s:,.0f}x" if old_s is not None else ""
        print(f"| {name} | {size} | {mode} | {old_text} | {new_s * 1e3:.3f} | {ratio} | {note} |")


if __name__ == "__main__":
    raise SystemExit(main())
