"""Contacts are filtered and ordered by instant in every store: Python compares two
datetimes of one zone by wall clock, so in the repeated hour at the end of DST the
memory store left out a contact half an hour after ``since`` and sorted it first."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from custmgmt.adapters.memory import MemoryStore
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.followup import ContactRecord, record_contact
from custmgmt.testing import make_customer

NEW_YORK = ZoneInfo("America/New_York")
#: 01:45 EDT, then 01:15 EST half an hour later (fold=1: the repeated hour's second pass)
FIRST = datetime(2026, 11, 1, 1, 45, tzinfo=NEW_YORK)
LATER = datetime(2026, 11, 1, 1, 15, fold=1, tzinfo=NEW_YORK)


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_a_contact_in_the_repeated_hour_is_found_and_ordered_by_instant(
    kind: str, tmp_path: Path
) -> None:
    store: object = MemoryStore() if kind == "memory" else SQLiteStore(tmp_path / "f.sqlite3")
    store.customers.add(make_customer(id="C-1"))  # type: ignore[attr-defined]
    for cid, at in (("K-later", LATER), ("K-first", FIRST)):
        record_contact(store, ContactRecord(  # type: ignore[arg-type]
            id=cid, customer_id="C-1", at=at, channel="phone", staff="客服-王",
            outcome="reached"))
    repo = store.followups  # type: ignore[attr-defined]
    assert LATER.timestamp() - FIRST.timestamp() == 1800
    assert [c.id for c in repo.contacts(customer_id="C-1")] == ["K-first", "K-later"]
    assert [c.id for c in repo.contacts(since=FIRST.replace(minute=46))] == ["K-later"]
    assert [c.id for c in repo.contacts(until=LATER)] == ["K-first"]
