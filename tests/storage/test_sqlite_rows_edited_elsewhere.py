"""Rating and ticket rows edited by another program are reported as StorageError.

Another program can write anything into the SQLite file: text where JSON belongs,
timestamps beyond datetime's range. Reading such a row names it in a StorageError,
never a raw JSONDecodeError or OverflowError.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.errors import StorageError
from custmgmt.rating.overrides import Override
from custmgmt.testing import make_customer
from custmgmt.testing.rating_contract import make_rating_run
from custmgmt.tickets import Ticket

T0 = datetime(2026, 1, 1, tzinfo=UTC)
BIG = 2**63 - 1


@pytest.fixture
def connection() -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    yield conn
    conn.close()


@pytest.fixture
def store(connection: sqlite3.Connection) -> SQLiteStore:
    store = SQLiteStore(connection)
    run, results = make_rating_run("run-1", customers={"c-1": 5, "c-2": 3})
    store.ratings.save_run(run, results)
    store.ratings.add_override(
        Override.request(
            id="ov-1", customer_id="c-1", stars=5, reason="合同", requested_by="alice",
            at=T0, expires_at=T0 + timedelta(days=30),
        )
    )
    store.tickets.add(
        Ticket.open(
            id="T-1", customer_id="c-1", category="logistics", priority="normal",
            subject="包裹未到", at=T0, actor="web",
        )
    )
    return store


EDITS: list[tuple[str, str, Callable[[Any], object]]] = [
    ("UPDATE rating_runs SET distribution = '[1, 2'", "rating run 'run-1'",
     lambda s: s.ratings.get_run("run-1")),
    ("UPDATE rating_runs SET customer_count = -1", "rating run 'run-1'",
     lambda s: s.ratings.list_runs()),
    (f"UPDATE rating_runs SET as_of_us = {BIG}", "rating run 'run-1'",
     lambda s: s.ratings.latest_run()),
    ("UPDATE rating_results SET contributions = 'not json' WHERE customer_id = 'c-2'",
     "rating result ('run-1', 'c-2')", lambda s: s.ratings.results("run-1")),
    (f"UPDATE rating_results SET stars = {BIG} + 0.5 WHERE customer_id = 'c-1'",
     "rating result ('run-1', 'c-1')", lambda s: s.ratings.result("run-1", "c-1")),
    (f"UPDATE rating_runs SET as_of_us = {BIG}", "rating result ('run-1', 'c-1')",
     lambda s: s.ratings.star_history("c-1")),
    ("UPDATE rating_overrides SET body = '{'", "override 'ov-1'",
     lambda s: s.ratings.get_override("ov-1")),
    ("UPDATE rating_overrides SET body = '[]'", "override 'ov-1'",
     lambda s: s.ratings.list_overrides()),
    (f"UPDATE tickets SET created_us = {BIG}", "ticket 'T-1'", lambda s: s.tickets.get("T-1")),
    (f"UPDATE ticket_events SET at_us = -{BIG}", "ticket 'T-1'",
     lambda s: list(s.tickets.iter_chunks())),
]


def test_an_edited_customer_timestamp_is_a_storage_error(
    connection: sqlite3.Connection, store: SQLiteStore
) -> None:
    store.customers.add(make_customer(id="c-1"))
    connection.execute(f"UPDATE customers SET registered_us = {BIG}")
    with pytest.raises(StorageError, match="stored customer row is not valid any more"):
        store.customers.get("c-1")


@pytest.mark.parametrize(("sql", "named", "read"), EDITS, ids=[e[0][:40] for e in EDITS])
def test_an_edited_row_is_a_storage_error_naming_it(
    connection: sqlite3.Connection,
    store: SQLiteStore,
    sql: str,
    named: str,
    read: Callable[[Any], object],
) -> None:
    connection.execute(sql)
    with pytest.raises(StorageError, match=rf"stored {re.escape(named)} is not valid any more"):
        read(store)
