"""Arguments a stranger gets wrong: library errors naming them, never a raw TypeError,
AttributeError or OverflowError, and nothing rotated half-way."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from _privacy_support import ADMIN, LOADER, OFFICER, encrypted, keys, plain

from custmgmt.adapters.memory import MemoryStore
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.errors import ValidationError
from custmgmt.privacy import (
    FieldCipher,
    Privacy,
    add_customers,
    erase_subject,
    export_subject,
    read_customer,
    rotate_keys,
    verify_audit_log,
)
from custmgmt.testing import make_customer


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest) -> Iterator[Any]:
    made: Any = MemoryStore() if request.param == "memory" else SQLiteStore(":memory:")
    yield made
    made.close()


def _two_keks(store: Any) -> Privacy:
    """Five customers sealed under kek-1; the returned Privacy has kek-2 current."""
    provider = keys("kek-1", "kek-2")
    first = encrypted(provider)
    add_customers(store, first, LOADER, [make_customer(id=f"C-{i}") for i in range(5)])
    return Privacy(cipher=FieldCipher(provider.with_current("kek-2")), clock=first.clock)


def test_a_batch_size_beyond_sql_integers_rotates_everything(store: Any) -> None:
    privacy = _two_keks(store)
    progress = rotate_keys(store, privacy, ADMIN, old_kek_id="kek-1", batch_size=10**30)
    assert (progress.rewrapped, progress.remaining) == (5, 0)


def test_an_audit_page_beyond_sql_integers_reads_the_whole_log(store: Any) -> None:
    _two_keks(store)
    assert verify_audit_log(store, page=10**30).ok
    assert store.privacy.audit_entries(10**30, 10**30) == []


@pytest.mark.parametrize("max_batches", [-1, "2", 1.5, True])
def test_a_bad_max_batches_is_refused_before_anything_is_rotated(
    store: Any, max_batches: Any
) -> None:
    privacy = _two_keks(store)
    with pytest.raises(ValidationError, match="max_batches"):
        rotate_keys(store, privacy, ADMIN, old_kek_id="kek-1", max_batches=max_batches)
    assert store.privacy.key_counts() == {"kek-1": 5}


_SERVICES: dict[str, Callable[[Any, Any], object]] = {
    "erase": lambda s, p: erase_subject(s, p, OFFICER, "C-1"),
    "export": lambda s, p: export_subject(s, p, OFFICER, "C-1"),
    "read": lambda s, p: read_customer(s, p, OFFICER, "C-1"),
    "verify": lambda s, p: verify_audit_log(s),
}


@pytest.mark.parametrize("service", sorted(_SERVICES))
def test_no_store_is_a_validation_error_naming_the_store(service: str) -> None:
    with pytest.raises(ValidationError, match="store"):
        _SERVICES[service](None, plain())


@pytest.mark.parametrize("service", ["erase", "export", "read"])
def test_no_privacy_is_a_validation_error_naming_it(store: Any, service: str) -> None:
    store.customers.add(make_customer(id="C-1", name="王芳"))
    with pytest.raises(ValidationError, match="privacy"):
        _SERVICES[service](store, None)
    assert store.customers.get("C-1").name == "王芳"  # nothing erased


@pytest.mark.parametrize("page", [0, -1, 2.0, True, None])
def test_a_bad_audit_page_is_refused_not_looped_on_forever(store: Any, page: Any) -> None:
    store.customers.add(make_customer(id="C-1"))
    export_subject(store, plain(), OFFICER, "C-1")  # one audit entry to page through
    outcome: list[object] = []

    def verify() -> None:
        try:
            outcome.append(verify_audit_log(store, page=page))
        except BaseException as exc:
            outcome.append(exc)

    # page=0 read nothing again and again: a daemon thread keeps that from hanging.
    worker = threading.Thread(target=verify, daemon=True)
    worker.start()
    worker.join(10)
    assert not worker.is_alive(), "verify_audit_log looped forever"
    assert isinstance(outcome[0], ValidationError)
    assert "page" in str(outcome[0])
