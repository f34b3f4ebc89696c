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
Like for like at a small size (20,000 tickets, 100 agents), in turns: the vectorised
function against a plain per-agent reference that measures each ticket with the
calendar's own ``business_time_between`` (first response and resolution) and
computes tickets handled and the median first response; the vectorised side does
all of its figures, so the reference does less. Results are checked equal first.

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


def reference(frame: PerformanceFrame) -> dict[str, tuple[int, float | None]]:
    """Per agent: tickets handled and median first response (s), ticket by ticket."""
    from datetime import UTC

    def at(micros: int) -> datetime:
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)

    s, e = int(START.timestamp() * 1e6), int(END.timestamp() * 1e6)
    out: dict[str, tuple[int, float | None]] = {}
    rows: dict[int, list[int]] = {}
    for i in range(len(frame)):
        if frame.agent[i] >= 0 and s <= frame.created[i] < e:
            rows.setdefault(int(frame.agent[i]), []).append(i)
    for code, agent in enumerate(frame.agent_ids):
        taken = []
        for i in rows.get(code, []):
            if frame.first_response[i] != NO_TIME:
                taken.append(CALENDAR.business_time_between(
                    at(int(frame.created[i])), at(int(frame.first_response[i]))).total_seconds())
            if frame.resolved[i] != NO_TIME:
                CALENDAR.business_time_between(at(int(frame.created[i])),
                                               at(int(frame.resolved[i])))
        mine = rows.get(code, [])
        out[agent] = (len(mine), statistics.median(taken) if taken else None)
    return out


def like_for_like(rounds: int) -> None:
    frame = make_frame(100, 20_000, seed=2)
    perf = team_performance(frame, start=START, end=END, calendar=CALENDAR)
    expected = reference(frame)
    for row in perf.rows():
        median = row.first_response_median
        got = (row.handled, None if median is None else median.total_seconds())
        want = expected[row.agent_id]
        assert got[0] == want[0]
        assert (got[1] is None) == (want[1] is None)
        assert got[1] is None or abs(got[1] - want[1]) < 1e-6  # type: ignore[operator]
    fast: list[float] = []
    slow: list[float] = []
    for _ in range(rounds):
        fast.append(run_once(frame))
        begin = time.perf_counter()
        reference(frame)
        slow.append(time.perf_counter() - begin)
    f, r = statistics.median(fast), statistics.median(slow)
    print(f"\nlike for like, 100 agents, 20,000 tickets (equal results checked): vectorised "
          f"{f * 1e3:.1f} ms, reference {r * 1e3:.1f} ms, {r / f:.0f}x")


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
    like_for_like(args.rounds)
    print(f"\nload after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
