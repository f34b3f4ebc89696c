"""Ticket services over a store: open, and load-fire-save with a bounded retry."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import timedelta
from typing import Any

import pytest
from _ticket_support import T0

from custmgmt.adapters.memory import MemoryStore
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.errors import Conflict, NotFound, TransitionNotAllowed, ValidationError
from custmgmt.testing import make_customer
from custmgmt.tickets import DEFAULT_WORKFLOW, Ticket, TicketStatus, fire_ticket, open_ticket

M = timedelta(minutes=1)


class _Racing:
    """A ticket repository where another agent saves right after each of the first
    ``races`` reads: the copy read is then stale, as in a real race."""

    def __init__(self, inner: Any, races: int) -> None:
        self.inner = inner
        self.races = races
        self.reads = 0

    def get(self, ticket_id: str) -> Ticket:
        ticket = self.inner.get(ticket_id)
        self.reads += 1
        if self.races > 0:
            self.races -= 1
            other = DEFAULT_WORKFLOW.fire(ticket, "customer_replied", at=ticket.updated_at + M,
                                          actor="customer")
            self.inner.update(other)
        return ticket

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class _Store:
    """The other agent works through another connection: its saves are not undone
    with ours, so this store's transaction scope is a no-op around the racing saves."""

    def __init__(self, inner: Any, races: int) -> None:
        self.inner = inner
        self.tickets = _Racing(inner.tickets, races)
        self.customers = inner.customers

    def transaction(self) -> AbstractContextManager[None]:
        return contextlib.nullcontext()


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest) -> Iterator[Any]:
    inner: Any = MemoryStore() if request.param == "memory" else SQLiteStore(":memory:")
    inner.customers.add(make_customer(id="C-1"))
    open_ticket(inner, id="T-1", customer_id="C-1", category="logistics", priority="high",
                subject="快递没有更新", at=T0, actor="web")
    yield inner
    inner.close()


def test_fire_ticket_loads_fires_and_saves(store: Any) -> None:
    saved = fire_ticket(store, "T-1", "assign", at=T0 + M, actor="lead", assignee="agent-1")
    assert saved.status is TicketStatus.ASSIGNED
    assert store.tickets.get("T-1") == saved


def test_a_concurrent_save_is_retried_on_the_fresh_ticket(store: Any) -> None:
    racing = _Store(store, races=2)
    saved = fire_ticket(racing, "T-1", "assign", at=T0 + 10 * M, actor="lead",
                        assignee="agent-1")
    assert racing.tickets.reads == 3  # two conflicts, then the save
    stored = store.tickets.get("T-1")
    assert stored == saved
    # Both agents' entries are kept: nothing was overwritten.
    assert [e.event.value for e in stored.events][-3:] == [
        "customer_replied", "customer_replied", "assign"]


def test_retries_are_bounded_and_the_conflict_surfaces(store: Any) -> None:
    racing = _Store(store, races=5)
    with pytest.raises(Conflict):
        fire_ticket(racing, "T-1", "assign", at=T0 + 10 * M, actor="lead",
                    assignee="agent-1", retries=2)
    assert racing.tickets.reads == 3
    assert store.tickets.get("T-1").status is TicketStatus.NEW
    with pytest.raises(ValidationError, match="retries"):
        fire_ticket(store, "T-1", "assign", at=T0 + M, actor="x", assignee="a", retries=-1)


def test_a_transition_the_ticket_does_not_allow_saves_nothing(store: Any) -> None:
    with pytest.raises(TransitionNotAllowed):
        fire_ticket(store, "T-1", "close", at=T0 + M, actor="lead")
    assert store.tickets.get("T-1").version == 1
    with pytest.raises(NotFound):
        fire_ticket(store, "T-404", "assign", at=T0 + M, actor="lead", assignee="a")


def test_open_ticket_needs_a_known_customer(store: Any) -> None:
    with pytest.raises(NotFound):
        open_ticket(store, id="T-2", customer_id="C-404", category="logistics",
                    priority="low", subject="?", at=T0, actor="web")
    with pytest.raises(NotFound):
        store.tickets.get("T-2")
    with pytest.raises(Conflict):
        open_ticket(store, id="T-1", customer_id="C-1", category="logistics",
                    priority="low", subject="?", at=T0, actor="web")
