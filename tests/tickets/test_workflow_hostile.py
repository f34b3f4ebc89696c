"""Reopening with a hostile follow-up id: refused, never a ticket that shadows another."""

from __future__ import annotations

import pytest
from _ticket_support import PATHS, new_ticket, walk

from custmgmt.errors import ValidationError
from custmgmt.tickets import DEFAULT_WORKFLOW, TicketStatus


def test_a_follow_up_under_the_closed_tickets_own_id_is_refused() -> None:
    closed = walk(new_ticket(), PATHS[TicketStatus.CLOSED])
    with pytest.raises(ValidationError) as caught:
        DEFAULT_WORKFLOW.reopen(closed, at=closed.updated_at, actor="lead", new_id=closed.id)
    assert caught.value.field == "new_id"


def test_a_follow_up_under_the_id_it_was_reopened_from_is_refused() -> None:
    closed = walk(new_ticket(), PATHS[TicketStatus.CLOSED])
    follow = DEFAULT_WORKFLOW.reopen(closed, at=closed.updated_at, actor="lead")
    assert (follow.id, follow.reopened_from) == ("T-1-R1", "T-1")
    again = walk(follow, PATHS[TicketStatus.CLOSED])
    with pytest.raises(ValidationError, match="new_id"):
        DEFAULT_WORKFLOW.reopen(again, at=again.updated_at, actor="lead", new_id="T-1")
