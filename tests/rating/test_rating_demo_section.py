"""The demo's rating section: distribution, explanations, an approved override; idempotent."""

from __future__ import annotations

import io
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.cli import demo
from custmgmt.cli.demo import DemoContext
from custmgmt.cli.demo_rating import DEMO_OVERRIDE_ID, demo_section
from custmgmt.domain import Money
from custmgmt.rating import OverridePolicy, OverrideStatus, approve_override, request_override
from custmgmt.testing import make_customer, make_order, make_order_line

AS_OF = datetime(2026, 6, 30, 23, 59, tzinfo=UTC)


def _store() -> SQLiteStore:
    store = SQLiteStore(":memory:")
    t0 = AS_OF - timedelta(days=200)
    for k in range(12):
        store.customers.add(make_customer(id=f"c{k:02d}"))
        for j in range(k % 5 + 1):
            line = make_order_line(category=["书", "食品", "衣服"][(j + k) % 3],
                                   unit_price=Money(Decimal(7 * k + 3), "CNY"))
            store.orders.add(make_order(id=f"o{k}-{j}", customer_id=f"c{k:02d}",
                                        placed_at=t0 + timedelta(days=9 * j + k), lines=[line]))
    return store


def test_the_rating_section_prints_stars_explanations_and_an_approved_override() -> None:
    store = _store()
    out = io.StringIO()
    ctx = DemoContext(store=store, as_of=AS_OF, seed=7, out=out, rng=random.Random(7))
    demo_section(ctx)
    text = out.getvalue()
    assert "12 customers rated" in text
    assert "★★★★★" in text
    assert "spend" in text
    assert "self-approval refused" in text
    assert "effective 5★" in text
    assert store.ratings.get_override(DEMO_OVERRIDE_ID).status is OverrideStatus.APPROVED
    runs = store.ratings.list_runs()
    assert len(runs) == 2
    assert "rating" in ctx.shared
    # A second demo run finds everything and stores nothing new.
    again = io.StringIO()
    demo_section(DemoContext(store=store, as_of=AS_OF, seed=7, out=again,
                             rng=random.Random(7)))
    assert store.ratings.list_runs() == runs
    assert "self-approval refused" not in again.getvalue()
    store.close()


def test_the_rating_section_is_registered_before_the_tickets() -> None:
    modules = [section.__module__ for section in demo.SECTIONS]
    assert modules.index("custmgmt.cli.demo_rating") < modules.index("custmgmt.cli.demo_tickets")


# -- the demo, again with a later --as-of ------------------------------------------------
def test_a_later_demo_run_continues_from_the_stores_runs() -> None:
    # The demo's earlier run was rated from nothing even when the store already
    # held runs (a demo run again with a later --as-of): every customer showed as
    # newly rated in the stored run and the hysteresis restarted.
    store = _store()
    for as_of in (AS_OF, AS_OF + timedelta(days=31)):
        demo_section(DemoContext(store=store, as_of=as_of, seed=7, out=io.StringIO(),
                                 rng=random.Random(7)))
    runs = store.ratings.list_runs()
    assert len(runs) == 4
    first_of_second_demo = runs[2]
    assert first_of_second_demo.as_of > runs[1].as_of
    previous = store.ratings.results_arrays(first_of_second_demo.id).previous_stars
    assert (previous > 0).all()
    store.close()


def test_the_demo_prints_a_stored_overrides_values_on_one_line() -> None:
    # A reopened store's override (its customer id, reviewers and reasons) used to be
    # printed raw: a reason "VIP\nFAKE: 5 stars" forged a line of the demo. Reviewers
    # are ids, which hold no control character (no \n, no \r), but may still hold
    # the Unicode line and paragraph separators.
    store = _store()
    request_override(
        store, customer_id="c05", stars=5, reason="VIP\nFAKE: 5 stars",
        expires_at=AS_OF + timedelta(days=90), requested_by="alice\u2028FAKE: requester",
        at=AS_OF - timedelta(hours=3), override_id=DEMO_OVERRIDE_ID,
    )
    approve_override(store, DEMO_OVERRIDE_ID, by="bob\u2029FAKE: approver",
                     at=AS_OF - timedelta(hours=1), reason="ok\u2028FAKE: reason",
                     policy=OverridePolicy(approvers={"bob\u2029FAKE: approver"}))
    out = io.StringIO()
    demo_section(DemoContext(store=store, as_of=AS_OF, seed=7, out=out,
                             rng=random.Random(7)))
    text = out.getvalue()
    assert "FAKE" in text
    assert not any(line.startswith("FAKE") for line in text.splitlines())
    assert "\r" not in text
    assert "\u2028" not in text
    assert "\u2029" not in text
    store.close()
