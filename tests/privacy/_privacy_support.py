"""What the privacy tests share: keys, a clock, synthetic stores, byte greps."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from pathlib import Path

from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.datasets import make_dataset
from custmgmt.domain import Customer, CustomerKind
from custmgmt.privacy import Actor, FieldCipher, Privacy, StaticKeyProvider, add_customers
from custmgmt.testing import FixedClock

NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)
OFFICER = Actor(id="dpo-1", roles={"privacy_officer", "agent"})
ADMIN = Actor(id="admin-1", roles={"admin"})
LOADER = Actor(id="loader", roles={"agent"})


def keys(*kek_ids: str, current: str | None = None) -> StaticKeyProvider:
    ids = kek_ids or ("kek-1",)
    table = {k: secrets.token_bytes(32) for k in ids}
    table["index-1"] = secrets.token_bytes(32)
    return StaticKeyProvider(table, current=current or ids[0], index="index-1")


#: One key set for the whole run: a store refuses keys other than those it was
#: written with (tests that need a wrong key pass their own ``keys(...)``).
SHARED_KEYS = keys()


def encrypted(provider: StaticKeyProvider | None = None, *, index_bytes: int = 8) -> Privacy:
    return Privacy(
        cipher=FieldCipher(provider or SHARED_KEYS, index_bytes=index_bytes), clock=FixedClock(NOW)
    )


def plain() -> Privacy:
    return Privacy(clock=FixedClock(NOW))


def personal_values(customer: Customer) -> list[str]:
    """The plaintext a store must not show: name, phone, email, street, recipient.

    A business's name is its legal name, which is no personal data (kept in the
    business profile); a person's name is.
    """
    values = [customer.phone, customer.email]
    if customer.kind is CustomerKind.PERSON:
        values.append(customer.name)
    if customer.business is not None:
        values.append(customer.business.contact_person)
    if customer.address is not None:
        values += [customer.address.street, customer.address.recipient]
    return [v for v in values if v]


def file_bytes(path: Path) -> bytes:
    """The database file and its WAL, as they are on disk now."""
    data = path.read_bytes()
    wal = Path(f"{path}-wal")
    return data + (wal.read_bytes() if wal.exists() else b"")


def filled_store(path: Path, privacy: Privacy, n: int = 120, seed: int = 3) -> tuple[
    SQLiteStore, list[Customer]
]:
    ds = make_dataset(n, n * 8, seed=seed)
    customers = ds.customers()
    store = SQLiteStore(path)
    add_customers(store, privacy, LOADER, customers)
    store.orders.add_many(ds.orders())
    store.interactions.add_many(ds.interactions())
    return store, customers
