"""``custmgmt tickets``: open service tickets with their SLA state, by priority and stars.

Reads the tickets of an SQLite store, computes every open ticket's SLA at ``--as-of``
on a business calendar (office hours 09:00-12:00 and 13:00-18:00, Monday to Friday,
in ``--tz``) with the default targets of :func:`default_sla_policy`, and prints them
grouped by priority and by the customer's stars (from the latest stored rating run,
``-`` when there is none). Each line shows the most pressing clock: ``ok`` or
``warning`` with the business time left, ``breached`` with the lateness, ``paused``
while waiting on the customer.
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, time, timedelta
from typing import Any, Final, TextIO

__all__ = [
    "OPEN_STATUSES",
    "default_calendar",
    "default_sla_policy",
    "format_business_time",
    "latest_stars",
    "print_open_tickets",
    "register",
    "run",
]

#: The statuses listed as open (everything not yet solved or withdrawn).
OPEN_STATUSES: Final = ("new", "assigned", "in_progress", "waiting_on_customer", "escalated")

#: The order lines are shown in: the worst first.
_SEVERITY: Final = {"breached": 0, "warning": 1, "ok": 2, "paused": 3, "met": 4, "cancelled": 5}


def register(subparsers: Any) -> None:
    """Add the ``tickets`` command."""
    parser = subparsers.add_parser(
        "tickets",
        help="list open service tickets with their SLA state, by priority and star level",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    parser.add_argument(
        "--db",
        metavar="PATH|DSN",
        required=True,
        help="the store: an SQLite file or a postgresql://... DSN",
    )
    parser.add_argument(
        "--as-of",
        metavar="DATE",
        help="evaluate at this ISO date (its end) or datetime; naive values are in --tz "
        "(default: now)",
    )
    parser.add_argument(
        "--tz", default="Asia/Shanghai", help="the office's time zone (default: Asia/Shanghai)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """List the open tickets; returns the exit code."""
    import sys

    from custmgmt.cli._inputs import as_of_or_now, open_existing_store, zone

    as_of = as_of_or_now(args, zone(args.tz))
    store = open_existing_store(args.db)
    try:
        print_open_tickets(store, as_of, sys.stdout, calendar=default_calendar(args.tz))
    finally:
        store.close()
    return 0


def default_calendar(tz: str = "Asia/Shanghai") -> Any:
    """Office hours with a lunch break: Monday to Friday 09:00-12:00 and 13:00-18:00."""
    from custmgmt.calendars import BusinessCalendar

    day = [(time(9), time(12)), (time(13), time(18))]
    return BusinessCalendar(tz=tz, hours=dict.fromkeys(range(5), day))


def default_sla_policy() -> Any:
    """The command's SLA targets, in business hours (8 a day).

    ======== ============== ============= ==========
    priority first response next response resolution
    ======== ============== ============= ==========
    urgent   1 h            2 h           4 h
    high     2 h            4 h           8 h
    normal   4 h            8 h           24 h
    low      8 h            16 h          40 h
    ======== ============== ============= ==========
    """
    from custmgmt.domain import Priority
    from custmgmt.tickets import SLAPolicy, SLATargets

    h = timedelta(hours=1)
    return SLAPolicy(
        targets={
            Priority.URGENT: SLATargets(first_response=h, next_response=2 * h, resolution=4 * h),
            Priority.HIGH: SLATargets(first_response=2 * h, next_response=4 * h, resolution=8 * h),
            Priority.NORMAL: SLATargets(
                first_response=4 * h, next_response=8 * h, resolution=24 * h
            ),
            Priority.LOW: SLATargets(first_response=8 * h, next_response=16 * h, resolution=40 * h),
        }
    )


def latest_stars(store: Any, as_of: datetime) -> dict[str, int]:
    """The stars that apply per customer at ``as_of``: the latest rating run with the
    approved overrides in effect (see :func:`custmgmt.rating.current_stars`).

    A store without a rating repository, or with no run and no override, gives an
    empty map.
    """
    from custmgmt.rating import current_stars
    from custmgmt.rating.ports import RatingStore

    # A host store may not offer ratings at all; that, and only that, means no stars.
    if not isinstance(store, RatingStore):
        return {}
    return current_stars(store, as_of)


def format_business_time(delta: timedelta) -> str:
    """A business-time duration as hours and minutes (``2h05m``), as SLA targets are stated.

    Past 99 hours it is shown in whole 24-hour days and hours (``4d6h``).

    >>> format_business_time(timedelta(hours=2, minutes=5))
    '2h05m'
    >>> format_business_time(timedelta(minutes=7))
    '7m'
    """
    minutes = int(delta.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    if hours == 0:
        return f"{minutes}m"
    if hours > 99:
        return f"{hours // 24}d{hours % 24}h"
    return f"{hours}h{minutes:02d}m"


def _pressing(status: Any) -> Any:
    targets = list(status.targets)
    if not targets:
        return None
    return min(targets, key=lambda t: (_SEVERITY[t.state.value], t.remaining))


def _describe(target: Any) -> tuple[str, str]:
    if target is None:
        return ("-", "no SLA")
    state = target.state.value
    metric = target.metric.value.replace("_", " ")
    if state == "breached":
        return (state, f"{metric}: late {format_business_time(target.lateness)}")
    if state in ("ok", "warning"):
        return (state, f"{metric}: {format_business_time(target.remaining)} left")
    return (state, metric)


def print_open_tickets(
    store: Any,
    as_of: datetime,
    out: TextIO,
    *,
    calendar: Any = None,
    policy: Any = None,
    service_levels: Any = None,
) -> Counter[tuple[str, str, str]]:
    """Print the open tickets of ``store`` at ``as_of`` with their SLA state.

    "Open" is the stored status (tickets opened after ``as_of`` are left out); the SLA
    clocks are evaluated at ``as_of``, each ticket's targets multiplied by its
    customer's response-time factor (``service_levels``, default
    ``ServiceLevels.default()``: a 5★ customer's targets are halved). Returns the
    counts by (priority, stars, state).

    Raises:
        ValidationError: a naive ``as_of``.
    """
    from custmgmt.domain import require_aware
    from custmgmt.rating import ServiceLevels
    from custmgmt.tickets import sla_status_many

    require_aware("as_of", as_of)
    calendar = default_calendar() if calendar is None else calendar
    policy = default_sla_policy() if policy is None else policy
    tickets = [t for t in store.tickets.find(statuses=OPEN_STATUSES) if t.created_at <= as_of]
    stars = latest_stars(store, as_of)
    counts: Counter[tuple[str, str, str]] = Counter()
    print(f"open tickets at {as_of:%Y-%m-%d %H:%M %z}: {len(tickets)}", file=out)
    if not tickets:
        return counts
    levels = ServiceLevels.default() if service_levels is None else service_levels
    # Stars above the map's top (a policy with more levels) get the top's service.
    factors = [
        levels.response_time_factor_for(
            None if (star := stars.get(t.customer_id)) is None else min(star, levels.top)
        )
        for t in tickets
    ]
    frame = sla_status_many(tickets, policy, calendar, as_of, factors=factors)
    rows = []
    for i, ticket in enumerate(tickets):
        target = _pressing(frame.status(i))
        state, detail = _describe(target)
        star = stars.get(ticket.customer_id)
        rows.append((ticket, star, state, detail))
        counts[(ticket.priority.value, "-" if star is None else str(star), state)] += 1

    def order(row: tuple[Any, int | None, str, str]) -> tuple[int, int, int, str]:
        ticket, star, state, _ = row
        return (ticket.priority.rank, -(star or 0), _SEVERITY.get(state, 9), ticket.id)

    rows.sort(key=order)
    group: tuple[str, str] | None = None
    for ticket, star, state, detail in rows:
        key = (ticket.priority.value, "-" if star is None else f"{star}★")
        if key != group:
            group = key
            print(f"\n{key[0]} · stars {key[1]}", file=out)
        print(
            f"  {ticket.id:<14} {ticket.customer_id:<12} {ticket.category.value:<16}"
            f"{ticket.status.value:<20} {state:<9} {detail}",
            file=out,
        )
    print("\nSLA state by priority and stars", file=out)
    states = ("ok", "warning", "breached", "paused", "met")
    print(f"  {'priority':<8} {'stars':>5} " + " ".join(f"{s:>8}" for s in states), file=out)
    for p, s in _by_stars_desc(list({(p, s) for p, s, _ in counts})):
        print(f"  {p:<8} {s:>5} " + " ".join(f"{counts[(p, s, st)]:>8}" for st in states), file=out)
    return counts


def _by_stars_desc(keys: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    from custmgmt.domain import Priority

    return sorted(
        keys, key=lambda k: (Priority(k[0]).rank, k[1] == "-", -int(k[1]) if k[1].isdigit() else 0)
    )
