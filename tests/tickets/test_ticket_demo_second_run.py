"""A second demo run on the same store prints the tickets section the first printed,
even after later sections stored more tickets for the same customers."""

from __future__ import annotations

import io
import random
from datetime import timedelta

from _ticket_support import T0

from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.cli.demo import DemoContext
from custmgmt.cli.demo_tickets import demo_section
from custmgmt.testing import make_customer
from custmgmt.tickets import DEFAULT_WORKFLOW, TicketEvent


def test_the_statistics_count_the_demo_tickets_only_on_every_run() -> None:
    with SQLiteStore(":memory:") as store:
        for i in range(12):
            store.customers.add(make_customer(id=f"C-{i:02d}", name=f"客户{i}"))
        as_of = T0 + timedelta(days=30)

        def run() -> str:
            out = io.StringIO()
            demo_section(DemoContext(store=store, as_of=as_of, seed=1, out=out,
                                     rng=random.Random(1)))
            text = out.getvalue()
            return text[text.index("per-customer"):]

        first = run()
        # What the service-team section does next: more (closed) tickets for C-00.
        for n in range(5):
            opened = DEFAULT_WORKFLOW.open(
                id=f"DEMO-S{n:03d}", customer_id="C-00", category="inquiry",
                priority="normal", subject="发票", at=as_of - timedelta(days=3), actor="web")
            store.tickets.add(DEFAULT_WORKFLOW.fire(
                opened, TicketEvent.CANCEL, at=opened.created_at + timedelta(hours=1),
                actor="agent", reason="重复"))
        second = run()
        assert second == first
        line = next(x for x in first.splitlines() if x.strip().startswith("C-00"))
        assert line.split()[1] == "1"
