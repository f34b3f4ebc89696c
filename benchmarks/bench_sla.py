"""SLA status of many tickets: the vectorised engine against the per-ticket reference.

Builds synthetic tickets with realistic event logs (assignment, first answer,
rounds of waiting on the customer, escalations, resolution, reopening, closing,
cancellations and merges, at lognormal delays), on mainland China's 2024-2025
calendar (office hours with a lunch break, public holidays and make-up days), then
times in one run:

* ``reference``: :func:`custmgmt.tickets.sla.sla_status` ticket by ticket;
* ``vectorised``: :func:`custmgmt.tickets.sla_vectorised.sla_status_many` from the
  ticket objects (copying the logs into columns included);
* ``vectorised, frame``: the same on a prebuilt :class:`SLAEventFrame`;
* ``to_list``: turning the columnar result into SLAStatus objects (not needed by
  columnar consumers such as the CLI's counts).

It asserts that both engines give equal results and writes a Markdown table.

Usage: ``python benchmarks/bench_sla.py [--quick] [--tickets N] [--out PATH]``.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from custmgmt.calendars import BusinessCalendar
from custmgmt.domain import Priority
from custmgmt.tickets.sla import SLAPolicy, SLATargets, sla_status
from custmgmt.tickets.sla_vectorised import SLAEventFrame, sla_status_many
from custmgmt.tickets.ticket import (
    Ticket,
    TicketCategory,
    TicketEvent,
    TicketEventRecord,
    TicketStatus,
)

T = TypeVar("T")
H = timedelta(hours=1)


Status = TicketStatus
Event = TicketEvent
Category = TicketCategory


POLICY = SLAPolicy(
    targets={
        Priority.URGENT: SLATargets(first_response=H, next_response=2 * H, resolution=8 * H),
        Priority.HIGH: SLATargets(first_response=2 * H, next_response=4 * H, resolution=16 * H),
        Priority.NORMAL: SLATargets(first_response=4 * H, next_response=8 * H, resolution=24 * H),
        Priority.LOW: SLATargets(first_response=8 * H, next_response=16 * H, resolution=40 * H),
    },
    category_targets={
        (Priority.HIGH, Category.PRODUCT_QUALITY): SLATargets(
            first_response=H, next_response=2 * H, resolution=8 * H
        ),
    },
)


def make_tickets(n: int, calendar: BusinessCalendar, as_of: datetime, seed: int) -> list[Ticket]:
    """``n`` tickets opened over the 120 days before ``as_of``, logs cut at ``as_of``."""
    rng = np.random.default_rng(seed)
    zone = calendar.tzinfo
    start = as_of - timedelta(days=120)
    days = rng.integers(0, 120, n)
    # Arrivals follow the day: mostly 08:00-22:00 local, a few at night.
    daytime = rng.integers(8 * 60, 22 * 60, n)
    minutes = np.where(rng.random(n) < 0.9, daytime, rng.integers(0, 1440, n))
    priorities = rng.choice(list(Priority), n, p=[0.05, 0.2, 0.55, 0.2])
    categories = rng.choice(list(Category), n)

    def delay(median_minutes: float, sigma: float = 1.0) -> timedelta:
        return timedelta(minutes=float(rng.lognormal(np.log(median_minutes), sigma)))

    tickets = []
    for i in range(n):
        local = (start + timedelta(days=int(days[i]), minutes=int(minutes[i]))).astimezone(zone)
        # Timestamps come back from storage in UTC; every later one is derived from this.
        created = local.astimezone(UTC)
        records = [
            TicketEventRecord(
                at=created,
                event=Event.CREATE,
                from_status=None,
                to_status=Status.NEW,
                actor="customer",
            )
        ]
        status = Status.NEW
        at = created

        def log(
            event: Event,
            after: Status | None,
            wait: timedelta,
            actor: str = "agent",
            records: list[TicketEventRecord] = records,
        ) -> bool:
            nonlocal at, status
            at = at + wait
            if at > as_of:
                return False
            new = status if after is None else after
            records.append(
                TicketEventRecord(
                    at=at, event=event, from_status=status, to_status=new, actor=actor
                )
            )
            status = new
            return True

        ok = True
        roll = rng.random()
        if roll < 0.03:
            ok = log(Event.CANCEL, Status.CANCELLED, delay(60), "customer")
        elif roll < 0.04:
            ok = log(Event.MERGE, Status.MERGED, delay(30))
        else:
            ok = log(Event.ASSIGN, Status.ASSIGNED, delay(20)) and ok
            ok = ok and log(Event.RESPOND, None, delay(90))
            ok = ok and log(Event.START, Status.IN_PROGRESS, delay(10))
            if ok and rng.random() < 0.05:
                ok = log(Event.ESCALATE, Status.ESCALATED, delay(120))
                ok = ok and log(Event.START, Status.IN_PROGRESS, delay(240))
            for _ in range(int(rng.geometric(0.5)) - 1):
                ok = ok and log(Event.WAIT_ON_CUSTOMER, Status.WAITING_ON_CUSTOMER, delay(60))
                ok = ok and log(Event.CUSTOMER_REPLIED, Status.IN_PROGRESS, delay(600), "customer")
                ok = ok and log(Event.RESPOND, None, delay(180))
            ok = ok and log(Event.RESOLVE, Status.RESOLVED, delay(360))
            if ok and rng.random() < 0.08:
                ok = log(Event.REOPEN, Status.IN_PROGRESS, delay(1440), "customer")
                ok = ok and log(Event.CUSTOMER_REPLIED, None, timedelta(0), "customer")
                ok = ok and log(Event.RESPOND, None, delay(120))
                ok = ok and log(Event.RESOLVE, Status.RESOLVED, delay(240))
            ok = ok and log(Event.CLOSE, Status.CLOSED, delay(3 * 1440, 0.3), "system")
        tickets.append(
            Ticket(
                id=f"T-{i:06d}",
                customer_id=f"C-{i % 40_000:05d}",
                category=categories[i],
                channel="web",
                priority=priorities[i],
                subject="物流咨询",
                status=status,
                created_at=created,
                events=tuple(records),
            )
        )
    return tickets


def timed(fn: Callable[[], T], repeat: int) -> tuple[list[float], T]:
    times = []
    result: Any = None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return times, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5,000 tickets, one repeat")
    parser.add_argument("--tickets", type=int, default=None, help="number of tickets")
    parser.add_argument("--repeat", type=int, default=None, help="vectorised repeats")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="also write the Markdown table to this file",
    )
    args = parser.parse_args(argv)
    n = args.tickets or (5_000 if args.quick else 100_000)
    repeat = args.repeat or (3 if args.quick else 5)

    calendar = BusinessCalendar.from_holidays("CN", years=[2024, 2025])
    as_of = datetime(2025, 1, 20, 15, 30, tzinfo=calendar.tzinfo)
    started = time.perf_counter()
    tickets = make_tickets(n, calendar, as_of, seed=7)
    events = sum(len(t.events) for t in tickets)
    print(f"{n:,} tickets, {events:,} events, built in {time.perf_counter() - started:.1f} s")

    # The reference runs once: it is the slow side, and it is deterministic.
    ref_times, reference = timed(
        lambda: [sla_status(t, POLICY, calendar, as_of) for t in tickets], 1
    )
    vec_times, result = timed(lambda: sla_status_many(tickets, POLICY, calendar, as_of), repeat)
    frame_times, frame = timed(lambda: SLAEventFrame.from_tickets(tickets), repeat)
    core_times, _ = timed(lambda: sla_status_many(frame, POLICY, calendar, as_of), repeat)
    list_times, statuses = timed(result.to_list, 1)
    assert statuses == reference, "the vectorised engine disagrees with the reference"

    ref = statistics.median(ref_times)
    rows = [
        ("reference `sla_status`, per ticket", ref, 1),
        ("vectorised `sla_status_many(tickets)`", statistics.median(vec_times), repeat),
        ("  of which `SLAEventFrame.from_tickets`", statistics.median(frame_times), repeat),
        ("vectorised on a prebuilt frame", statistics.median(core_times), repeat),
        ("`SLAStatusFrame.to_list()` (objects)", statistics.median(list_times), 1),
    ]
    states: dict[str, int] = {}
    for status in reference:
        worst = status.worst
        key = "none" if worst is None else worst.value
        states[key] = states.get(key, 0) + 1
    lines = [
        f"## SLA status of {n:,} tickets ({events:,} events)",
        "",
        (
            f"Machine: {platform.processor() or platform.machine()}, Python "
            f"{platform.python_version()}, numpy {np.__version__}. Calendar: CN 2024-2025 "
            "office hours with lunch break, holidays and make-up days; timestamps in UTC. "
            f"`python benchmarks/bench_sla.py{' --quick' if args.quick else ''}`."
        ),
        "",
        "| step | median (s) | runs | speed-up vs reference |",
        "|---|---:|---:|---:|",
    ]
    for label, seconds, runs in rows:
        lines.append(f"| {label} | {seconds:.3f} | {runs} | {ref / seconds:.1f}x |")
    lines += [
        "",
        "Results asserted equal (`to_list() == [sla_status(t) ...]`). Worst state per "
        "ticket: " + ", ".join(f"{k} {v:,}" for k, v in sorted(states.items())) + ".",
        "",
    ]
    table = "\n".join(lines)
    print(table)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(table, encoding="utf-8")
        print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
