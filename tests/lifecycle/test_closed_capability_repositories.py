"""A closed store's capability repositories refuse every call too, reads by id and
lazy reads included, in every bundled store (the memory store's answered them from its
dicts after close())."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from custmgmt.adapters.memory import MemoryStore
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.errors import StorageError
from custmgmt.testing import make_customer
from custmgmt.tickets.services import open_ticket

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

READS_BY_ID: dict[str, Callable[[Any], object]] = {
    "tickets.get": lambda s: s.tickets.get("T-1"),
    "tickets.find": lambda s: s.tickets.find(),
    "ratings.get_run": lambda s: s.ratings.get_run("run-1"),
    "ratings.get_override": lambda s: s.ratings.get_override("ov-1"),
    "ratings.latest_run": lambda s: s.ratings.latest_run(),
    "prospects.get": lambda s: s.prospects.get("p-1"),
    "agents.get": lambda s: s.agents.get("a-1"),
    "agents.count": lambda s: s.agents.count(),
    "assignments.count": lambda s: s.assignments.count(),
    "loyalty.count": lambda s: s.loyalty.count(),
    "loyalty.iter_chunks": lambda s: list(s.loyalty.iter_chunks()),
    "campaigns.get_campaign": lambda s: s.campaigns.get_campaign("camp-1"),
    "followups.get_plan": lambda s: s.followups.get_plan("plan-1"),
    "risk.scorecards": lambda s: s.risk.scorecards(),
    "privacy.audit_entries": lambda s: s.privacy.audit_entries(),
}


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest) -> Iterator[Any]:
    if request.param == "postgres":
        yield request.getfixturevalue("postgres_store")
        return
    made = MemoryStore() if request.param == "memory" else SQLiteStore(":memory:")
    yield made
    made.close()


def _with_two_tickets(store: Any) -> Any:
    store.customers.add(make_customer(id="c-1"))
    for k in (1, 2):
        open_ticket(
            store, id=f"T-{k}", customer_id="c-1", category="logistics", priority="high",
            subject="快递三天没有更新", at=AT, actor="web",
        )  # fmt: skip
    return store


@pytest.mark.parametrize("read", list(READS_BY_ID), ids=list(READS_BY_ID))
def test_a_closed_stores_capability_read_raises_storage_error(store: Any, read: str) -> None:
    _with_two_tickets(store)
    store.close()
    with pytest.raises(StorageError, match="the store is closed"):
        READS_BY_ID[read](store)


def test_a_ticket_read_started_before_close_raises_at_its_next_chunk(store: Any) -> None:
    chunks = _with_two_tickets(store).tickets.iter_chunks(1)
    assert len(next(chunks)) == 1
    store.close()
    with pytest.raises(StorageError, match="the store is closed"):
        next(chunks)
