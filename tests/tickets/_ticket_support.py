"""Helpers shared by the ticket, workflow and satisfaction tests."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from custmgmt.domain import Priority
from custmgmt.tickets import DEFAULT_WORKFLOW, Ticket, TicketEvent, TicketStatus, Workflow

SHANGHAI = timezone(timedelta(hours=8))
T0 = datetime(2024, 9, 23, 9, 0, tzinfo=SHANGHAI)

#: Data each event needs to pass the default table's guards and checks.
DATA: dict[TicketEvent, dict[str, Any]] = {
    TicketEvent.ASSIGN: {"assignee": "agent-1"},
    TicketEvent.RESOLVE: {"solution": "换新"},
    TicketEvent.MERGE: {"merged_into": "T-0"},
    TicketEvent.SET_PRIORITY: {"priority": Priority.URGENT, "reason": "VIP"},
    TicketEvent.RATE: {"score": 4},
}

#: A path from new to each status of the default workflow.
PATHS: dict[TicketStatus, list[TicketEvent]] = {
    TicketStatus.NEW: [],
    TicketStatus.ASSIGNED: [TicketEvent.ASSIGN],
    TicketStatus.IN_PROGRESS: [TicketEvent.ASSIGN, TicketEvent.START],
    TicketStatus.WAITING_ON_CUSTOMER: [
        TicketEvent.ASSIGN, TicketEvent.START, TicketEvent.WAIT_ON_CUSTOMER,
    ],
    TicketStatus.ESCALATED: [TicketEvent.ASSIGN, TicketEvent.ESCALATE],
    TicketStatus.RESOLVED: [TicketEvent.ASSIGN, TicketEvent.START, TicketEvent.RESOLVE],
    TicketStatus.CLOSED: [
        TicketEvent.ASSIGN, TicketEvent.START, TicketEvent.RESOLVE, TicketEvent.CLOSE,
    ],
    TicketStatus.CANCELLED: [TicketEvent.CANCEL],
    TicketStatus.MERGED: [TicketEvent.MERGE],
}


def new_ticket(
    id: str = "T-1", *, at: datetime = T0, workflow: Workflow = DEFAULT_WORKFLOW, **kw: Any
) -> Ticket:
    fields: dict[str, Any] = {
        "customer_id": "C-1", "category": "product_quality", "priority": Priority.NORMAL,
        "subject": "杯子裂了", "actor": "web",
    }
    fields.update(kw)
    return workflow.open(id=id, at=at, **fields)


def walk(
    ticket: Ticket,
    events: list[TicketEvent],
    *,
    start: datetime | None = None,
    step: timedelta = timedelta(minutes=10),
    workflow: Workflow = DEFAULT_WORKFLOW,
) -> Ticket:
    at = ticket.updated_at if start is None else start
    for event in events:
        at = at + step
        ticket = workflow.fire(ticket, event, at=at, actor="agent-1", **DATA.get(event, {}))
    return ticket


def ticket_in(status: TicketStatus) -> Ticket:
    return walk(new_ticket(), PATHS[status])
