"""Removing a customer that records still belong to is a Conflict, decided atomically:
an order being added at the same moment is counted, never left without its customer."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from _pg_support import OnPostgres, drop_schema, new_schema

from custmgmt.adapters.postgres import PostgresStore
from custmgmt.domain import InteractionKind, Referral
from custmgmt.errors import Conflict, NotFound
from custmgmt.testing import make_customer, make_interaction, make_order
from custmgmt.tickets import Ticket


class TestRemovingACustomer(OnPostgres):
    @pytest.fixture
    def store(self) -> Any:
        schema = new_schema()
        store = PostgresStore(self.dsn, schema=schema)
        yield store
        store.close()
        drop_schema(self.dsn, schema)

    def test_a_customer_with_records_is_kept_and_the_conflict_counts_them(
        self, store: PostgresStore
    ) -> None:
        store.customers.add_many([make_customer(id="kept"), make_customer(id="friend")])
        store.orders.add_many([make_order(id=f"o{k}", customer_id="kept") for k in range(2)])
        store.interactions.add_many([
            make_interaction(id="i1", customer_id="kept"),
            make_interaction(id="i2", customer_id="friend", kind=InteractionKind.REFERRAL,
                             details=Referral(referred_customer_id="kept")),
        ])  # fmt: skip
        store.tickets.add(Ticket.open(
            id="T-1", customer_id="kept", category="logistics", priority="high",
            subject="快递丢件", actor="web", at=datetime(2026, 1, 1, tzinfo=UTC)))  # fmt: skip
        with pytest.raises(Conflict) as raised:
            store.customers.remove("kept")
        assert "still has 2 orders, 1 interactions, 1 referrals, 1 tickets" in str(raised.value)
        assert store.customers.get("kept").id == "kept"
        with pytest.raises(Conflict, match="still has 1 interactions;"):
            store.customers.remove("friend")
        # Once nothing belongs to it, it goes.
        store.tickets.remove("T-1")
        for entity_id in ("o0", "o1"):
            store.orders.remove(entity_id)
        for entity_id in ("i1", "i2"):
            store.interactions.remove(entity_id)
        store.customers.remove("kept")
        with pytest.raises(NotFound):
            store.customers.get("kept")
        with pytest.raises(NotFound):
            store.customers.remove("kept")

    def test_an_order_added_in_the_same_transaction_blocks_the_removal(
        self, store: PostgresStore
    ) -> None:
        store.customers.add(make_customer(id="c1"))

        def add_then_remove() -> None:
            with store.transaction():
                store.orders.add(make_order(id="o1", customer_id="c1"))
                store.customers.remove("c1")

        with pytest.raises(Conflict, match="1 orders"):
            add_then_remove()
        assert store.customers.get("c1").id == "c1"
        assert store.orders.count() == 0

    def test_an_order_being_added_concurrently_is_counted_not_orphaned(
        self, store: PostgresStore
    ) -> None:
        store.customers.add(make_customer(id="c1"))
        added = threading.Event()
        outcome: list[Any] = []

        def add_order_slowly() -> None:
            with store.transaction():
                store.orders.add(make_order(id="o1", customer_id="c1"))
                added.set()
                time.sleep(0.5)  # the removal runs now, while this is uncommitted

        def remove() -> None:
            added.wait(10)
            try:
                store.customers.remove("c1")
                outcome.append("removed")
            except Conflict as exc:
                outcome.append(exc)

        threads = [threading.Thread(target=add_order_slowly), threading.Thread(target=remove)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        [result] = outcome
        assert isinstance(result, Conflict), result
        assert "1 orders" in str(result)
        assert store.customers.get("c1").id == "c1"
        assert [o.id for o in store.orders.for_customer("c1")] == ["o1"]
