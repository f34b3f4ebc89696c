"""SLA status of many tickets: the vectorised engine against the per-ticket reference.

Builds synthetic tickets with realistic event logs (assignment, first answer,
rounds of waiting on the customer, escalations, resolution, reopening, closing,
cancellations and merges, at lognormal delays), on mainland China's 2024-2025
calendar (office hours with a lunch break, public holidays and make-up days), then
times, like for like and in turns (A B A B ...), in one run:

* ``reference``: :func:`custmgmt.tickets.sla.sla_status` ticket by ticket, giving a
  list of :class:`SLAStatus` objects;
* ``vectorised + to_list``: :func:`custmgmt.tickets.sla_vectorised.sla_status_many`
  from the same ticket objects (copying the logs into columns included), then
  ``to_list()``: the same list of SLAStatus objects. This is the like-for-like figure.

and, as secondary rows, what a columnar consumer (the CLI's counts) pays: the
vectorised engine without ``to_list()``, the column copy alone, and the engine on a
prebuilt :class:`SLAEventFrame`. It asserts that both sides give equal lists.

Usage: ``python benchmarks/bench_sla.py [--quick | --large] [--tickets N] [--out PATH]``.
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


WHAT = """\
What each side does (and does not do):
- reference: sla_status(ticket, policy, calendar, as_of) per ticket: reads the Ticket
  objects, walks each log with the calendar's business-time arithmetic, builds one
  SLAStatus (with its TargetStatus clocks) per ticket.
- vectorised + to_list: sla_status_many(tickets, ...) copies the same Ticket objects'
  logs into int64 columns, computes every clock with numpy on the calendar's
  business-time table, then to_list() builds the same SLAStatus objects (asserted
  equal to the reference's). Same inputs, same outputs.
- secondary rows: the vectorised engine without to_list() (columns only, what the CLI
  reads), the column copy alone, and the engine on a prebuilt SLAEventFrame; they do
  less than the reference and are not like for like.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="2,000 tickets")
    size.add_argument("--large", action="store_true", help="100,000 tickets (minutes)")
    parser.add_argument("--tickets", type=int, default=None, help="number of tickets")
    parser.add_argument("--repeat", type=int, default=None, help="turns per side (median)")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="also write the Markdown table to this file",
    )
    args = parser.parse_args(argv)
    n = args.tickets or (2_000 if args.quick else 100_000 if args.large else 20_000)
    repeat = args.repeat or (2 if args.quick else 3)

    calendar = BusinessCalendar.from_holidays("CN", years=[2024, 2025])
    as_of = datetime(2025, 1, 20, 15, 30, tzinfo=calendar.tzinfo)
    started = time.perf_counter()
    tickets = make_tickets(n, calendar, as_of, seed=7)
    events = sum(len(t.events) for t in tickets)
    print(WHAT)
    print(f"{n:,} tickets, {events:,} events, built in {time.perf_counter() - started:.1f} s")

    def reference() -> list[Any]:
        return [sla_status(t, POLICY, calendar, as_of) for t in tickets]

    def vectorised_objects() -> list[Any]:
        return sla_status_many(tickets, POLICY, calendar, as_of).to_list()

    # Warm-up: the calendar's day cache and business-time table, imports.
    reference()
    sides: dict[str, Callable[[], Any]] = {
        "reference": reference,
        "vectorised + to_list": vectorised_objects,
        "vectorised, columns only": lambda: sla_status_many(tickets, POLICY, calendar, as_of),
        "column copy (SLAEventFrame.from_tickets)": lambda: SLAEventFrame.from_tickets(tickets),
    }
    frame = SLAEventFrame.from_tickets(tickets)
    sides["vectorised on a prebuilt frame"] = lambda: sla_status_many(
        frame, POLICY, calendar, as_of
    )
    times: dict[str, list[float]] = {name: [] for name in sides}
    results: dict[str, Any] = {}
    for _ in range(repeat):  # in turns: A B C D E, A B C D E ...
        for name, call in sides.items():
            started = time.perf_counter()
            results[name] = call()
            times[name].append(time.perf_counter() - started)
    assert results["vectorised + to_list"] == results["reference"], (
        "the vectorised engine disagrees with the reference"
    )

    medians = {name: statistics.median(t) for name, t in times.items()}
    ref = medians["reference"]
    labels = {
        "reference": "reference `sla_status`, per ticket -> list of SLAStatus",
        "vectorised + to_list": "vectorised `sla_status_many(tickets).to_list()` -> same list",
        "vectorised, columns only": "(not like for like) `sla_status_many(tickets)`, columns only",
        "column copy (SLAEventFrame.from_tickets)": "(part of it) `SLAEventFrame.from_tickets`",
        "vectorised on a prebuilt frame": "(not like for like) on a prebuilt frame",
    }
    states: dict[str, int] = {}
    for status in results["reference"]:
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
            f"`python benchmarks/bench_sla.py"
            f"{' --quick' if args.quick else ' --large' if args.large else ''}`; "
            f"sides run in turns, medians of {repeat}."
        ),
        "",
        "| step | median (s) | speed-up vs reference |",
        "|---|---:|---:|",
    ]
    for name, label in labels.items():
        lines.append(f"| {label} | {medians[name]:.3f} | {ref / medians[name]:.1f}x |")
    lines += [
        "",
        f"Like for like (same Ticket objects in, the same SLAStatus objects out): "
        f"{ref / medians['vectorised + to_list']:.1f}x. Results asserted equal "
        "(`to_list() == [sla_status(t) ...]`). Worst state per ticket: "
        + ", ".join(f"{k} {v:,}" for k, v in sorted(states.items())) + ".",
        "",
    ]
    table = "\n".join(lines)
    print(table)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(WHAT + "\n" + table, encoding="utf-8")
        print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
