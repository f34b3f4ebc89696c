"""Hostile inputs to the service team's services: clear library errors that say
only what is true."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from custmgmt.adapters.memory import MemoryStore
from custmgmt.errors import NotFound, ValidationError
from custmgmt.team import Agent, TrainingRecord, training_effect
from custmgmt.team.performance import PerformanceFrame
from custmgmt.team.services import add_agent, assign_ticket, record_training, training_comparison
from custmgmt.testing import make_customer
from custmgmt.testing.ticket_contract import make_ticket
from custmgmt.tickets import default_calendar

T0 = datetime(2026, 3, 2, 9, tzinfo=timezone(timedelta(hours=8)))


def _store_with_training() -> MemoryStore:
    store = MemoryStore()
    add_agent(store, Agent(id="a1", name="张三", role="agent",
                           skills=["inquiry", "product_quality"]))
    record_training(store, TrainingRecord(id="TR1", agent_id="a1", at=T0, topic="沟通技巧"))
    return store


@pytest.mark.parametrize("window", [timedelta(days=10**6), timedelta.max])
def test_a_training_window_past_year_9999_is_a_validation_error(window: timedelta) -> None:
    store = _store_with_training()
    with pytest.raises(ValidationError, match="within years 1 to 9999") as caught:
        training_comparison(store, "TR1", calendar=default_calendar(), window=window)
    assert caught.value.field == "window"
    frame = PerformanceFrame.from_tickets([], store.agents.find(), as_of=T0)
    with pytest.raises(ValidationError, match="within years 1 to 9999"):
        training_effect(frame, "a1", T0, calendar=default_calendar(), window=window)


def test_a_manual_assignment_to_an_inactive_agent_says_it_is_inactive() -> None:
    store = _store_with_training()
    store.agents.update(store.agents.get("a1").revised(active=False))
    store.customers.add(make_customer(id="C-1"))
    ticket = make_ticket("T-1")
    store.tickets.add(ticket)
    at = ticket.created_at + timedelta(minutes=5)
    expected = r"\(inactive; skills: inquiry, product_quality\)"
    with pytest.raises(ValidationError, match=expected) as caught:
        assign_ticket(store, "T-1", method="manual", agent_id="a1", at=at, actor="boss")
    assert caught.value.field == "agent_id"
    # Automatic assignment: a skilled agent exists, but no active one.
    with pytest.raises(NotFound, match="active agent skilled for category"):
        assign_ticket(store, "T-1", method="least_loaded", at=at, actor="boss")
