"""The demo's privacy section: masked output, sealed customers, idempotent."""

from __future__ import annotations

import io
import random
from datetime import UTC, datetime

import pytest
from _privacy_support import personal_values

from custmgmt.adapters.memory import MemoryStore
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.cli import demo_privacy
from custmgmt.cli.demo_context import DemoContext
from custmgmt.cli.demo_privacy import demo_section
from custmgmt.datasets import make_dataset
from custmgmt.errors import MissingDependency

AS_OF = datetime(2026, 6, 30, tzinfo=UTC)


def _run(store: object) -> str:
    out = io.StringIO()
    demo_section(DemoContext(store=store, as_of=AS_OF, seed=7, out=out,  # type: ignore[arg-type]
                             rng=random.Random(7)))
    return out.getvalue()


def test_the_section_prints_nothing_unmasked_and_a_second_run_changes_nothing() -> None:
    ds = make_dataset(30, 200, seed=5, as_of=AS_OF)
    customers = ds.customers()
    with SQLiteStore(":memory:") as store:
        store.customers.add_many(customers)
        store.orders.add_many(ds.orders())
        first = _run(store)
        log = store.privacy.audit_entries()
        sealed = store.customers.get(sorted(c.id for c in customers)[-3])
        second = _run(store)
        assert store.privacy.audit_entries() == log
        assert "reporting only" in second
        assert "chain intact" in first
        assert "integrity ok" in first
        assert sealed.name.startswith("匿名-")
        assert sealed.email is None
        for text in (first, second):
            for customer in customers:
                for value in personal_values(customer):
                    assert value not in text, value


def test_without_the_privacy_extra_the_stored_contacts_are_printed_masked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Regression: without `cryptography` the customers stay in plain text, and the
    # section printed the stored name, phone and email of one of them unmasked.
    def no_cipher(*args: object, **kwargs: object) -> None:
        raise MissingDependency("cryptography", "privacy", "sealing customers")

    monkeypatch.setattr(demo_privacy, "FieldCipher", no_cipher)
    ds = make_dataset(30, 200, seed=5, as_of=AS_OF)
    customers = ds.customers()
    with SQLiteStore(":memory:") as store:
        store.customers.add_many(customers)
        store.orders.add_many(ds.orders())
        texts = (_run(store), _run(store))
    for text in texts:
        for customer in customers:
            for value in personal_values(customer):
                assert value not in text, value
    assert "unencrypted" in texts[0]
    assert "in plain text (shown masked)" in texts[0]


def test_a_store_without_enough_customers_is_reported_not_failed() -> None:
    text = _run(MemoryStore())
    assert "nothing more to show" in text
