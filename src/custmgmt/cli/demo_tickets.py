"""Demo section: service tickets through the workflow, a bad survey, SLAs by stars.

Opens a dozen tickets for the first customers of the store, with priorities derived
from their stars (the latest rating run, when the rating section stored one) and the
category; walks them through the workflow: replies, waiting on the customer, an
escalation, a survey answered 1/5 that reopens a ticket, a second bad survey that
escalates one already reopened, a closed ticket reopened as a linked follow-up, and
a survey left unanswered that closes its ticket. Then prints the open tickets with
their SLA state by priority and star level, and the per-customer statistics.

Ticket ids are fixed (``DEMO-T01`` ...), so a second run against the same database
finds them and adds nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from custmgmt._text import one_line
from custmgmt.domain import Customer, Priority
from custmgmt.errors import NotFound
from custmgmt.rating import current_stars, response_time_factors
from custmgmt.tickets import (
    DEFAULT_WORKFLOW,
    OPEN_STATUSES,
    EscalationRule,
    SLAState,
    SurveyPolicy,
    Ticket,
    apply_due,
    default_calendar,
    default_sla_policy,
    derive_priority,
    escalations,
    fire_ticket,
    open_ticket,
    open_ticket_report,
    record_reply,
    sla_status,
    ticket_statistics,
)
from custmgmt.tickets.ports import TicketStore

if TYPE_CHECKING:
    from custmgmt.cli.demo_context import DemoContext

__all__ = [
    "DEMO_ID_PREFIX", "DEMO_TICKETS", "ESCALATION_RULES", "demo_section", "demo_tickets",
]

#: How many demo tickets are opened (one per customer, plus one follow-up ticket).
DEMO_TICKETS = 12

#: What every demo ticket's id starts with (``DEMO-T01`` ..., ``DEMO-T10-R1``).
DEMO_ID_PREFIX = "DEMO-T"

_CATEGORIES = ("product_quality", "logistics", "after_sales", "inquiry", "other")
_SUBJECTS = {
    "product_quality": "收到的商品有破损",
    "logistics": "快递三天没有更新",
    "after_sales": "申请退换货没有回复",
    "inquiry": "发票抬头怎么修改",
    "other": "会员积分有疑问",
}

H = timedelta(hours=1)
D = timedelta(days=1)


def demo_section(ctx: DemoContext) -> None:
    """Print the tickets section of ``custmgmt demo`` (see the module docstring)."""
    ctx.heading("Service tickets: workflow, satisfaction follow-up, SLAs")
    store = ctx.store
    customers = list(next(iter(store.customers.iter_chunks(size=DEMO_TICKETS)), []))
    if not customers:
        ctx.print("no customers: no tickets")
        return
    stars = current_stars(store, ctx.as_of)
    added, lines = demo_tickets(store, customers, stars, ctx.as_of)
    if added:
        ctx.print(f"opened {added} tickets (ids DEMO-T01 ...):")
        for line in lines:
            ctx.print(f"  {one_line(line)}")
    else:
        ctx.print("the demo tickets are already stored: nothing added")
    ctx.print()
    report = open_ticket_report(
        store, ctx.as_of, stars=stars, factors=response_time_factors(stars)
    )
    ctx.print(report.format())
    _print_escalations(ctx)
    # The demo's own tickets only: later sections (the service team's) store more
    # tickets for the same customers, and a second run must print what the first did.
    ours = [t for chunk in store.tickets.iter_chunks() for t in chunk
            if t.id.startswith(DEMO_ID_PREFIX)]
    stats = ticket_statistics(ours, ctx.as_of)
    ctx.print(f"\nper-customer statistics of the {DEMO_ID_PREFIX}.. tickets "
              "(for ratings, risk and KPIs)")
    ctx.print(f"  {'customer':<14} {'tickets':>7} {'complaints':>10} {'reopened':>8} "
              f"{'surveys':>7} {'low':>4} {'mean':>5}")
    for i, customer_id in enumerate(stats.customer_ids.tolist()):
        mean = stats.mean_satisfaction[i]
        shown = "-" if mean != mean else f"{mean:.1f}"
        ctx.print(
            f"  {one_line(customer_id):<14} {stats.tickets[i]:>7} {stats.complaints[i]:>10} "
            f"{stats.reopened[i]:>8} {stats.surveys[i]:>7} {stats.low_scores[i]:>4} {shown:>5}"
        )


#: The demo's escalation rules: any breach, and an urgent ticket's warning.
ESCALATION_RULES = (
    EscalationRule(name="breach", when=SLAState.BREACHED),
    EscalationRule(name="urgent-warning", when=SLAState.WARNING, priorities={Priority.URGENT}),
)


def _print_escalations(ctx: DemoContext) -> None:
    policy, calendar = default_sla_policy(), default_calendar()
    factors = response_time_factors(current_stars(ctx.store, ctx.as_of))
    statuses = [
        sla_status(t, policy, calendar, ctx.as_of, factor=factors.get(t.customer_id, 1.0))
        for t in ctx.store.tickets.find(statuses=OPEN_STATUSES)
        if t.created_at <= ctx.as_of
    ]
    found = escalations(statuses, ESCALATION_RULES)
    ctx.print(f"\nescalation rules (any breach; urgent warnings): {len(found)} to escalate")
    for item in found:
        ctx.print(f"  {one_line(item.ticket_id)}: {one_line(item.reason)}")


def demo_tickets(
    store: TicketStore, customers: Sequence[Customer], stars: dict[str, int], as_of: datetime
) -> tuple[int, list[str]]:
    """Open and walk the demo tickets not stored yet; returns (added, story lines).

    Each ticket is opened with :func:`custmgmt.tickets.open_ticket` and walked with
    :func:`custmgmt.tickets.fire_ticket` (load, fire, save), all in one transaction.
    """
    added = 0
    lines: list[str] = []
    with store.transaction():
        for i, customer in enumerate(customers):
            ticket_id = f"{DEMO_ID_PREFIX}{i + 1:02d}"
            try:
                store.tickets.get(ticket_id)
                continue
            except NotFound:
                pass
            category = _CATEGORIES[i % len(_CATEGORIES)]
            star = stars.get(customer.id)
            decision = derive_priority(star, category, urgent=i == 4)
            scenario, days_back, hour, room = _SCENARIOS[i % len(_SCENARIOS)]
            day = _opened_at(as_of, days_back, hour, room)
            ticket = open_ticket(
                store, id=ticket_id, customer_id=customer.id, category=category,
                priority=decision.priority, subject=_SUBJECTS[category], at=day,
                actor="web", channel=("app", "微信", "phone")[i % 3], reason=decision.reason,
            )
            final, more, note = scenario(store, ticket, as_of)
            added += 1 + more
            star_text = "-" if star is None else f"{star}★"
            lines.append(
                f"{ticket_id} {customer.display_name} ({star_text}, {final.priority.value}: "
                f"{decision.reason}) -> {final.status.value}{note}"
            )
    return added, lines


# -- scenarios: each walks a stored ticket and says what happened ----------------------

#: A scenario: (store, the stored ticket, as_of) -> (its final state, follow-up tickets
#: added, a note).
Scenario = Callable[[TicketStore, Ticket, datetime], tuple[Ticket, int, str]]

Step = tuple[str, timedelta, dict[str, Any]]


def _fire(store: TicketStore, ticket: Ticket, steps: list[Step]) -> Ticket:
    start = ticket.created_at
    for event, offset, data in steps:
        actor = "customer" if event in ("customer_replied", "rate") else "agent-01"
        ticket = fire_ticket(store, ticket.id, event, at=start + offset, actor=actor, **data)
    return ticket


def _save(store: TicketStore, read: Ticket, changed: Ticket) -> Ticket:
    """Save what the survey follow-up made of ``read`` (several entries at once)."""
    if changed is not read:
        store.tickets.update(changed, expected_version=read.version)
    return changed


_ASSIGN: Step = ("assign", 0.2 * H, {"assignee": "agent-01"})
_START: Step = ("start", 0.5 * H, {})
_RESPOND: Step = ("respond", 1 * H, {"reason": "已联系仓库核实"})
_RESOLVE: Step = ("resolve", 3 * H, {"solution": "补发新品，旧件无需寄回"})


def _just_opened(store: TicketStore, ticket: Ticket, as_of: datetime) -> tuple[Ticket, int, str]:
    return ticket, 0, ""


def _assigned(store: TicketStore, ticket: Ticket, as_of: datetime) -> tuple[Ticket, int, str]:
    return _fire(store, ticket, [_ASSIGN]), 0, ""


def _replied(store: TicketStore, ticket: Ticket, as_of: datetime) -> tuple[Ticket, int, str]:
    return _fire(store, ticket, [_ASSIGN, _START, _RESPOND]), 0, ""


def _waiting(store: TicketStore, ticket: Ticket, as_of: datetime) -> tuple[Ticket, int, str]:
    steps = [_ASSIGN, _START, _RESPOND, ("wait_on_customer", 1.5 * H, {"reason": "请提供照片"})]
    return _fire(store, ticket, steps), 0, " (the resolution clock is paused)"


def _escalated(store: TicketStore, ticket: Ticket, as_of: datetime) -> tuple[Ticket, int, str]:
    steps = [_ASSIGN, _START, ("escalate", 2 * H, {"reason": "需要主管处理"})]
    return _fire(store, ticket, steps), 0, " (flagged urgent, escalated)"


def _bad_survey_reopens(
    store: TicketStore, ticket: Ticket, as_of: datetime
) -> tuple[Ticket, int, str]:
    resolved = _fire(store, ticket, [_ASSIGN, _START, _RESPOND, _RESOLVE])
    outcome = record_reply(resolved, 1, at=resolved.updated_at + 20 * H)
    task = outcome.task
    note = "" if task is None else (
        f" (survey 1/5: {task.kind.value}, follow-up due {task.due_at:%m-%d %H:%M})"
    )
    return _save(store, resolved, outcome.ticket), 0, note


def _second_bad_survey_escalates(
    store: TicketStore, ticket: Ticket, as_of: datetime
) -> tuple[Ticket, int, str]:
    resolved = _fire(store, ticket, [_ASSIGN, _START, _RESPOND, _RESOLVE])
    first = _save(store, resolved, record_reply(resolved, 2, at=resolved.updated_at + 2 * H).ticket)
    again = _fire(store, first, [("resolve", 6 * H, {"solution": "全额退款"})])
    outcome = record_reply(again, 1, at=again.updated_at + 2 * H)
    return _save(store, again, outcome.ticket), 0, (
        " (survey 2/5 reopened it, then 1/5 escalated it)"
    )


def _good_survey_closes(
    store: TicketStore, ticket: Ticket, as_of: datetime
) -> tuple[Ticket, int, str]:
    resolved = _fire(store, ticket, [_ASSIGN, _START, _RESOLVE])
    outcome = record_reply(resolved, 5, at=resolved.updated_at + 5 * H)
    return _save(store, resolved, outcome.ticket), 0, " (survey 5/5)"


def _silence_closes(store: TicketStore, ticket: Ticket, as_of: datetime) -> tuple[Ticket, int, str]:
    resolved = _fire(store, ticket, [_ASSIGN, _START, _RESOLVE])
    policy = SurveyPolicy(delay=2 * H, reply_within=1 * D)
    closed = _save(store, resolved, apply_due(resolved, policy, as_of))
    return closed, 0, " (survey unanswered)" if closed is not resolved else ""


def _closed_then_reopened(
    store: TicketStore, ticket: Ticket, as_of: datetime
) -> tuple[Ticket, int, str]:
    closed = _fire(store, ticket, [_ASSIGN, _START, _RESOLVE, ("close", 4 * H, {})])
    follow = DEFAULT_WORKFLOW.reopen(closed, at=closed.updated_at + 2 * H, actor="customer",
                                     reason="问题又出现了")
    store.tickets.add(follow)
    return closed, 1, f" (reopened after closing: follow-up {follow.id})"


def _cancelled(store: TicketStore, ticket: Ticket, as_of: datetime) -> tuple[Ticket, int, str]:
    return _fire(store, ticket, [("cancel", 1 * H, {"reason": "客户自行解决"})]), 0, ""


def _stuck(store: TicketStore, ticket: Ticket, as_of: datetime) -> tuple[Ticket, int, str]:
    return _fire(store, ticket, [_ASSIGN, _START]), 0, " (no reply yet)"


#: (scenario, days before ``as_of``, local hour it was opened, hours its steps take):
#: a few fresh tickets still within (or close to) their SLA, older ones late.
_SCENARIOS: tuple[tuple[Scenario, int, float, float], ...] = (
    (_just_opened, 0, 16.75, 0),
    (_assigned, 0, 16.0, 0.5),
    (_replied, 0, 10.0, 1),
    (_waiting, 2, 10.0, 2),
    (_escalated, 0, 17.2, 2),
    (_bad_survey_reopens, 6, 9.5, 24),
    (_second_bad_survey_escalates, 3, 9.0, 24),
    (_good_survey_closes, 4, 11.0, 8),
    (_silence_closes, 5, 10.0, 3),
    (_closed_then_reopened, 6, 14.0, 6),
    (_cancelled, 2, 11.0, 1),
    (_stuck, 3, 15.0, 1),
)


def _opened_at(as_of: datetime, days_back: int, hour: float, room: float) -> datetime:
    """``hour`` o'clock ``days_back`` days before ``as_of``, early enough for its steps."""
    day = as_of - days_back * D
    opened = day.replace(hour=0, minute=0, second=0, microsecond=0) + hour * H
    while opened + room * H > as_of:
        opened -= D
    return opened
