"""Round 35e: ``fire_ticket(..., "merge")`` needs a surviving ticket.

Before, a ticket could be merged into a ticket id that was never stored, into another
customer's ticket, or into a ticket that was itself merged, cancelled or closed (two
duplicates merged into each other): the customer's request ended in no open ticket.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from custmgmt.adapters.memory import MemoryStore
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.errors import NotFound, ValidationError
from custmgmt.testing import make_customer
from custmgmt.tickets import TicketStatus
from custmgmt.tickets.ports import TicketStore
from custmgmt.tickets.services import fire_ticket, open_ticket

AT = datetime(2026, 3, 2, 9, tzinfo=timezone(timedelta(hours=8)))


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest) -> TicketStore:
    made: TicketStore = MemoryStore() if request.param == "memory" else SQLiteStore(":memory:")
    for cid in ("C-1", "C-2"):
        made.customers.add(make_customer(id=cid))
    for tid, cid in (("T-1", "C-1"), ("T-2", "C-1"), ("T-3", "C-2")):
        open_ticket(made, id=tid, customer_id=cid, category="logistics", priority="high",
                    subject="快递没有更新", at=AT, actor="web")
    return made


def _merge(store: TicketStore, ticket_id: str, into: str) -> object:
    return fire_ticket(store, ticket_id, "merge", at=AT + timedelta(minutes=5), actor="lead",
                       merged_into=into)


def test_merging_into_a_ticket_never_stored(store: TicketStore) -> None:
    with pytest.raises(NotFound):
        _merge(store, "T-1", "T-404")
    assert store.tickets.get("T-1").status is TicketStatus.NEW


def test_merging_into_another_customers_ticket(store: TicketStore) -> None:
    with pytest.raises(ValidationError) as caught:
        _merge(store, "T-1", "T-3")
    assert caught.value.field == "merged_into"
    assert "C-2" not in str(caught.value)
    assert store.tickets.get("T-1").status is TicketStatus.NEW


def test_two_duplicates_cannot_merge_into_each_other(store: TicketStore) -> None:
    _merge(store, "T-1", "T-2")
    with pytest.raises(ValidationError) as caught:
        _merge(store, "T-2", "T-1")
    assert caught.value.field == "merged_into"
    assert store.tickets.get("T-2").status is TicketStatus.NEW
    assert store.tickets.get("T-2").version == 1


def test_merging_into_a_cancelled_ticket(store: TicketStore) -> None:
    fire_ticket(store, "T-2", "cancel", at=AT, actor="lead", reason="误建")
    with pytest.raises(ValidationError):
        _merge(store, "T-1", "T-2")


def test_a_good_merge_still_works(store: TicketStore) -> None:
    merged = _merge(store, "T-1", "T-2")
    assert store.tickets.get("T-1") == merged
    assert store.tickets.get("T-1").merged_into == "T-2"
