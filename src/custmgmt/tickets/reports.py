"""The open-ticket report: every open ticket with its most pressing SLA clock.

What ``custmgmt tickets`` prints, as a library call a host application makes:

>>> from datetime import datetime
>>> from custmgmt.adapters.memory import MemoryStore
>>> from custmgmt.tickets import DEFAULT_WORKFLOW
>>> store = MemoryStore()
>>> cal = default_calendar()
>>> monday_9 = datetime(2024, 9, 23, 9, tzinfo=cal.tzinfo)
>>> store.tickets.add(DEFAULT_WORKFLOW.open(
...     id="T-1", customer_id="C-1", category="logistics", priority="urgent",
...     subject="快递三天没有更新", at=monday_9, actor="web"))
>>> report = open_ticket_report(store, datetime(2024, 9, 23, 9, 48, tzinfo=cal.tzinfo))
>>> line = report.lines[0]
>>> line.state.value, line.detail
('warning', 'first response: 0h12m left')
>>> print(report.format().splitlines()[0])
open tickets at 2024-09-23 09:48 +0800: 1 (SLA times in business hours of the calendar)

Times left and lateness are **business time** of the calendar (by default office
hours 09:00-12:00 and 13:00-18:00, Monday to Friday, so 8 business hours a day),
printed as business hours and minutes (``late 301h30m`` is 301.5 business hours,
about 37.7 business days), never as 24-hour days.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime, time, timedelta
from typing import Any, Final

import attrs

from custmgmt._text import one_line
from custmgmt.calendars import BusinessCalendar
from custmgmt.domain import Priority
from custmgmt.domain.time import require_aware
from custmgmt.errors import ValidationError
from custmgmt.tickets.ports import TicketStore
from custmgmt.tickets.sla import (
    SLA_SEVERITY,
    SLAPolicy,
    SLAState,
    SLATargets,
    TargetStatus,
    check_factor,
    format_business_hours,
)
from custmgmt.tickets.sla_vectorised import sla_status_many
from custmgmt.tickets.ticket import OPEN_STATUSES, Ticket

__all__ = [
    "DEFAULT_TZ",
    "OpenTicketLine",
    "OpenTicketReport",
    "default_calendar",
    "default_sla_policy",
    "open_ticket_report",
]

#: The default office's time zone.
DEFAULT_TZ: Final = "Asia/Shanghai"

_DAY = [(time(9), time(12)), (time(13), time(18))]


def default_calendar(tz: str = DEFAULT_TZ) -> BusinessCalendar:
    """Office hours with a lunch break: Monday to Friday 09:00-12:00 and 13:00-18:00
    in ``tz`` (8 business hours a day)."""
    return BusinessCalendar(tz=tz, hours=dict.fromkeys(range(5), _DAY))


def default_sla_policy() -> SLAPolicy:
    """The default SLA targets, in business hours (8 a day).

    ======== ============== ============= ==========
    priority first response next response resolution
    ======== ============== ============= ==========
    urgent   1 h            2 h           4 h
    high     2 h            4 h           8 h
    normal   4 h            8 h           24 h
    low      8 h            16 h          40 h
    ======== ============== ============= ==========
    """
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


@attrs.frozen(kw_only=True)
class OpenTicketLine:
    """One open ticket in the report.

    Attributes:
        ticket: the ticket as stored.
        stars: the customer's stars (None: not rated or no stars given).
        target: the most pressing SLA clock (None: the policy sets no target).
        state: that clock's state (None without a target).
        detail: what the clock says, in business hours (``first response: late 3h05m``).
    """

    ticket: Ticket
    stars: int | None
    target: TargetStatus | None
    state: SLAState | None
    detail: str

    @property
    def state_text(self) -> str:
        """The state's value, ``-`` without a target."""
        return "-" if self.state is None else self.state.value

    @property
    def stars_text(self) -> str:
        """The stars as shown in the report (``-`` when unknown)."""
        return "-" if self.stars is None else str(self.stars)


_STATES_SHOWN: Final = ("ok", "warning", "breached", "paused", "met")


@attrs.frozen(kw_only=True)
class OpenTicketReport:
    """The open tickets at ``as_of``, most urgent first, with their SLA state.

    Attributes:
        as_of: the moment of evaluation.
        lines: one per open ticket, sorted by priority, stars (more first), the
            severity of the most pressing clock, then ticket id.
        counts: tickets per (priority, stars text, state text).
    """

    as_of: datetime
    lines: tuple[OpenTicketLine, ...]
    counts: Mapping[tuple[str, str, str], int]

    def format(self) -> str:
        """The report as ``custmgmt tickets`` prints it."""
        out = [
            f"open tickets at {self.as_of:%Y-%m-%d %H:%M %z}: {len(self.lines)}"
            + (" (SLA times in business hours of the calendar)" if self.lines else "")
        ]
        if not self.lines:
            return "\n".join(out)
        group: tuple[str, str] | None = None
        for line in self.lines:
            ticket = line.ticket
            key = (ticket.priority.value, "-" if line.stars is None else f"{line.stars}★")
            if key != group:
                group = key
                out.append(f"\n{key[0]} · stars {key[1]}")
            out.append(
                f"  {_pad(one_line(ticket.id), 14)} {_pad(one_line(ticket.customer_id), 12)} "
                f"{ticket.category.value:<16}{ticket.status.value:<20} {line.state_text:<9} "
                f"{one_line(line.detail)}"
            )
        out.append("\nSLA state by priority and stars")
        out.append(
            f"  {'priority':<8} {'stars':>5} " + " ".join(f"{s:>8}" for s in _STATES_SHOWN)
        )
        for p, s in _by_stars_desc({(p, s) for p, s, _ in self.counts}):
            out.append(
                f"  {p:<8} {s:>5} "
                + " ".join(f"{self.counts.get((p, s, st), 0):>8}" for st in _STATES_SHOWN)
            )
        return "\n".join(out)

    def __str__(self) -> str:
        return self.format()


def _check_stars(stars: Any) -> Mapping[str, int | None]:
    """Each customer's stars: whole numbers >= 0 or None (a string or a float would sort
    and print wrongly, or fail deep in the sort)."""
    if not isinstance(stars, Mapping):
        raise ValidationError("stars", stars, "a mapping of customer id to stars, or None")
    for customer_id, level in stars.items():
        if level is None:  # unrated, as if left out
            continue
        if isinstance(level, bool) or not isinstance(level, int) or level < 0:
            raise ValidationError(f"stars[{customer_id!r}]", level, "a whole number of stars >= 0")
    return stars


def _describe(target: TargetStatus | None) -> str:
    if target is None:
        return "no SLA"
    metric = target.metric.value.replace("_", " ")
    if target.state is SLAState.BREACHED:
        return f"{metric}: late {format_business_hours(target.lateness)}"
    if target.state in (SLAState.OK, SLAState.WARNING):
        return f"{metric}: {format_business_hours(target.remaining)} left"
    return metric


def _pad(text: str, width: int) -> str:
    """``text`` left-aligned in ``width`` terminal columns (CJK characters take two)."""
    used = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(0, width - used)


def _check_factors(factors: Any) -> Mapping[str, float]:
    """Each customer's response-time factor: a positive finite number."""
    if not isinstance(factors, Mapping):
        raise ValidationError(
            "factors", factors, "a mapping of customer id to response-time factor, or None"
        )
    return {
        customer_id: check_factor(f"factors[{customer_id!r}]", factor)
        for customer_id, factor in factors.items()
    }


def _by_stars_desc(keys: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    return sorted(
        keys, key=lambda k: (Priority(k[0]).rank, k[1] == "-", -int(k[1]) if k[1].isdigit() else 0)
    )


def open_ticket_report(
    store: TicketStore,
    as_of: datetime,
    *,
    stars: Mapping[str, int] | None = None,
    factors: Mapping[str, float] | None = None,
    calendar: BusinessCalendar | None = None,
    policy: SLAPolicy | None = None,
) -> OpenTicketReport:
    """The open tickets of ``store`` at ``as_of`` with their most pressing SLA clock.

    "Open" is the stored status (:data:`~custmgmt.tickets.OPEN_STATUSES`; tickets
    opened after ``as_of`` are left out); the SLA clocks are evaluated at ``as_of``.

    Args:
        store: a store with tickets.
        as_of: the aware moment of evaluation.
        stars: each customer's stars (e.g. :func:`custmgmt.rating.current_stars`);
            customers not in it show ``-``.
        factors: each customer's SLA response-time factor (the targets are
            multiplied by it; e.g. :func:`custmgmt.rating.response_time_factors`);
            customers not in it keep the targets (1.0).
        calendar: business hours (default :func:`default_calendar`).
        policy: SLA targets (default :func:`default_sla_policy`).

    Raises:
        ValidationError: a naive ``as_of``; stars that are not whole numbers >= 0; a
            factor that is not a positive number (or factors that are no mapping); a
            calendar that is no BusinessCalendar, a policy that is no SLAPolicy.
    """
    require_aware("as_of", as_of)
    calendar = default_calendar() if calendar is None else calendar
    if not isinstance(calendar, BusinessCalendar):
        raise ValidationError("calendar", calendar, "a BusinessCalendar or None")
    policy = default_sla_policy() if policy is None else policy
    if not isinstance(policy, SLAPolicy):
        raise ValidationError("policy", policy, "an SLAPolicy or None")
    known = {} if stars is None else _check_stars(stars)
    scale = {} if factors is None else _check_factors(factors)
    tickets = [t for t in store.tickets.find(statuses=OPEN_STATUSES) if t.created_at <= as_of]
    lines: list[OpenTicketLine] = []
    if tickets:
        frame = sla_status_many(
            tickets, policy, calendar, as_of,
            factors=[scale.get(t.customer_id, 1.0) for t in tickets],
        )
        for i, ticket in enumerate(tickets):
            target = frame.status(i).pressing
            lines.append(
                OpenTicketLine(
                    ticket=ticket,
                    stars=known.get(ticket.customer_id),
                    target=target,
                    state=None if target is None else target.state,
                    detail=_describe(target),
                )
            )

    def order(line: OpenTicketLine) -> tuple[int, int, int, str]:
        severity = -1 if line.state is None else SLA_SEVERITY[line.state]
        return (line.ticket.priority.rank, -(line.stars or 0), -severity, line.ticket.id)

    lines.sort(key=order)
    counts = Counter((ln.ticket.priority.value, ln.stars_text, ln.state_text) for ln in lines)
    return OpenTicketReport(as_of=as_of, lines=tuple(lines), counts=dict(counts))
