"""Defects found by hostile testing of the service-team area, each with its regression test."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from custmgmt.adapters.memory import MemoryStore
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.cli import main
from custmgmt.team import Agent
from custmgmt.team.services import add_agent, assign_ticket, assignment_id
from custmgmt.testing import make_customer
from custmgmt.testing.ticket_contract import make_ticket
from custmgmt.tickets import TicketCategory

T0 = datetime(2026, 3, 2, 9, tzinfo=timezone(timedelta(hours=8)))


@pytest.mark.parametrize("store", [MemoryStore(), SQLiteStore(":memory:")],
                         ids=["memory", "sqlite"])
def test_a_ticket_with_a_longest_id_can_still_be_assigned_twice(store: Any) -> None:
    store.customers.add(make_customer(id="C-1"))
    add_agent(store, Agent(id="a1", name="张三", role="agent",
                           skills=[c.value for c in TicketCategory]))
    ticket_id = "工单" * 64  # 128 characters, the longest id
    store.tickets.add(make_ticket(ticket_id))
    first = assign_ticket(store, ticket_id, method="least_loaded", at=T0, actor="boss")
    second = assign_ticket(store, ticket_id, method="manual", agent_id="a1",
                           at=T0 + timedelta(hours=1), actor="boss")
    assert first.id != second.id
    assert [a.id for a in store.assignments.find(ticket_id=ticket_id)] == [first.id, second.id]
    assert store.tickets.get(ticket_id).assignee == "a1"


def test_long_ticket_ids_that_share_a_prefix_get_distinct_assignment_ids() -> None:
    a, b = "T" * 127 + "a", "T" * 127 + "b"
    assert assignment_id(a, 1) != assignment_id(b, 1)
    assert all(len(assignment_id(t, 10**6)) <= 128 for t in (a, b))
    assert assignment_id("T-1", 3) == "T-1#3"


@pytest.mark.parametrize(("start", "end"), [("2026-06-01", "2026-06-30"),
                                            ("20260601", "20260630")])
def test_the_team_period_includes_the_last_day_in_every_iso_date_form(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], start: str, end: str) -> None:
    path = tmp_path / "team.sqlite3"
    with SQLiteStore(path) as store:
        add_agent(store, Agent(id="a1", name="张三", role="agent", skills=["inquiry"]))
    assert main(["team", "--db", str(path), "--from", start, "--to", end]) == 0
    out = capsys.readouterr().out
    assert "tickets opened 2026-06-01 00:00 to 2026-07-01 00:00" in out
