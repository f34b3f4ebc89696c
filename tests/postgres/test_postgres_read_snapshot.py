"""A read that takes several queries (a ticket's row, then its log) sees one committed
state, even when another connection commits between the queries.

``PostgresDialect._reading`` promises "a block whose reads see one state of the
tables"; under PostgreSQL's default READ COMMITTED every statement takes a new
snapshot, so the block must run in one REPEATABLE READ transaction. The writer here
commits between the row query and the log query, deterministically (no timing).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from _pg_support import drop_schema, new_schema

from custmgmt.adapters.postgres import PostgresStore
from custmgmt.testing.ticket_contract import make_ticket
from custmgmt.tickets.workflow import DEFAULT_WORKFLOW


@pytest.fixture
def store(postgres_dsn: str) -> Iterator[PostgresStore]:
    schema = new_schema()
    with PostgresStore(postgres_dsn, schema=schema, pool_size=3) as opened:
        yield opened
    drop_schema(postgres_dsn, schema)


def test_a_ticket_read_while_another_connection_commits_is_one_state(
    store: PostgresStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = store.tickets
    before = make_ticket("T-SNAP", steps=1)  # assigned
    repo.add(before)
    after = make_ticket("T-SNAP", steps=7)  # closed, six entries more
    queries = 0
    original = type(repo)._query

    def query_then_commit_elsewhere(self: Any, sql: str, params: Any, doing: str) -> Any:
        nonlocal queries
        rows = original(self, sql, params, doing)
        queries += 1
        if queries == 1:  # the ticket rows are read; the log is not yet
            writer = threading.Thread(
                target=repo.update, args=(after,), kwargs={"expected_version": before.version}
            )
            writer.start()
            writer.join()
        return rows

    monkeypatch.setattr(type(repo), "_query", query_then_commit_elsewhere)
    read = repo.get("T-SNAP")
    monkeypatch.undo()
    assert queries >= 2
    assert read == before  # the state when the read began, row and log together
    assert repo.get("T-SNAP") == after


def test_a_read_inside_the_callers_transaction_still_sees_its_own_writes(
    store: PostgresStore,
) -> None:
    repo = store.tickets
    ticket = make_ticket("T-OWN", steps=2)
    with store.transaction():
        repo.add(ticket)
        later = DEFAULT_WORKFLOW.fire(
            ticket, "respond", at=ticket.created_at + timedelta(hours=2), actor="agent-王"
        )
        repo.update(later)
        assert repo.get("T-OWN") == later
    assert repo.get("T-OWN") == later
