"""Workflow.fire names a badly typed argument before any guard reads it."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from _ticket_support import DATA, ticket_in

from custmgmt.errors import ValidationError
from custmgmt.tickets import DEFAULT_WORKFLOW, TicketEvent, TicketStatus

CASES = [
    (TicketStatus.IN_PROGRESS, TicketEvent.RESOLVE, "solution", 123),
    (TicketStatus.IN_PROGRESS, TicketEvent.RESOLVE, "solution", b"bytes"),
    (TicketStatus.NEW, TicketEvent.ASSIGN, "assignee", 7),
    (TicketStatus.NEW, TicketEvent.MERGE, "merged_into", ["T-0"]),
    (TicketStatus.NEW, TicketEvent.ASSIGN, "actor", None),
    (TicketStatus.IN_PROGRESS, TicketEvent.RESOLVE, "actor", 1),
]


@pytest.mark.parametrize(("status", "event", "name", "value"), CASES)
def test_a_badly_typed_argument_is_a_validation_error_naming_it(
    status: TicketStatus, event: TicketEvent, name: str, value: object
) -> None:
    ticket = ticket_in(status)
    kwargs = {"actor": "agent-1", **DATA.get(event, {}), name: value}
    with pytest.raises(ValidationError, match=rf"^{name}: got {re.escape(repr(value))}"):
        DEFAULT_WORKFLOW.fire(ticket, event, at=ticket.updated_at + timedelta(hours=1), **kwargs)
