"""The ticket repositories (memory, SQLite file and :memory:) pass the contract suite."""

from __future__ import annotations

import contextlib
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _contract_stores import MemoryStores, SQLiteFileStores, SQLiteMemoryStores
from custmgmt.adapters.memory import MemoryStore
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.errors import StorageError, TransitionNotAllowed, ValidationError
from custmgmt.testing import TicketRepositoryContract
from custmgmt.testing.ticket_contract import make_ticket
from custmgmt.tickets import DEFAULT_WORKFLOW, TicketEvent
from custmgmt.tickets.ports import TicketRepository


class TestMemoryTickets(MemoryStores, TicketRepositoryContract):
    repository_attribute = "tickets"


class TestSQLiteMemoryTickets(SQLiteMemoryStores, TicketRepositoryContract):
    repository_attribute = "tickets"


class TestSQLiteFileTickets(SQLiteFileStores, TicketRepositoryContract):
    repository_attribute = "tickets"


def test_both_stores_expose_the_ticket_repository_once() -> None:
    memory = MemoryStore()
    assert memory.tickets is memory.tickets
    assert isinstance(memory.tickets, TicketRepository)
    with SQLiteStore(":memory:") as store:
        assert store.tickets is store.tickets
        assert isinstance(store.tickets, TicketRepository)
        assert store.schema_version("tickets") == 1


def test_tickets_survive_reopening_a_file_database(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    ticket = make_ticket(steps=7)
    with SQLiteStore(path) as store:
        store.tickets.add(ticket)
    with SQLiteStore(path) as store:
        assert store.tickets.get(ticket.id) == ticket
        assert store.schema_version("tickets") == 1


def test_a_corrupted_row_is_a_storage_error(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    with SQLiteStore(path) as store:
        store.tickets.add(make_ticket(steps=3))
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE ticket_events SET seq = 9 WHERE seq = 1")
        conn.execute("UPDATE ticket_events SET seq = 1 WHERE seq = 2")
    conn.close()
    with SQLiteStore(path) as store, pytest.raises(StorageError, match="not valid"):
        store.tickets.get("T-1")


def test_a_host_connection_is_left_open(tmp_path: Path) -> None:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    store: Any = SQLiteStore(conn)
    store.tickets.add(make_ticket())
    store.close()
    assert conn.execute("SELECT count(*) FROM ticket_events").fetchone() == (1,)
    conn.close()


EVENTS = [e for e in TicketEvent if e is not TicketEvent.CREATE]
EVENT_DATA = {
    TicketEvent.ASSIGN: {"assignee": "客服-1"}, TicketEvent.RESOLVE: {"solution": "退款"},
    TicketEvent.MERGE: {"merged_into": "T-9"}, TicketEvent.RATE: {"score": 2},
    TicketEvent.SET_PRIORITY: {"priority": "urgent", "reason": "升级"},
}


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(EVENTS), st.integers(0, 3000), st.booleans()),
             max_size=30),
    st.sampled_from(["memory", "sqlite"]),
)
def test_saving_as_the_ticket_goes_never_loses_or_reorders_entries(
    steps: list[tuple[TicketEvent, int, bool]], backend: str
) -> None:
    store: Any = MemoryStore() if backend == "memory" else SQLiteStore(":memory:")
    try:
        ticket = make_ticket()
        store.tickets.add(ticket)
        saved_version = ticket.version
        for event, minutes, save in steps:
            with contextlib.suppress(TransitionNotAllowed, ValidationError):
                ticket = DEFAULT_WORKFLOW.fire(
                    ticket, event, at=ticket.updated_at + timedelta(minutes=minutes),
                    actor="a", **EVENT_DATA.get(event, {}),
                )
            if save and ticket.version > saved_version:
                store.tickets.update(ticket, expected_version=saved_version)
                saved_version = ticket.version
        if ticket.version > saved_version:
            store.tickets.update(ticket, expected_version=saved_version)
        assert store.tickets.get(ticket.id) == ticket
    finally:
        store.close()
