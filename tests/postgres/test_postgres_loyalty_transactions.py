"""On PostgreSQL the loyalty running state is kept only when nothing it read can be
rolled back: not inside the store's transaction, nor while the host's own connection
has a transaction open (see tests/loyalty/test_running_state_and_transactions.py)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from _pg_support import OnPostgres, drop_schema, new_schema

from custmgmt.adapters.postgres import PostgresStore
from custmgmt.loyalty import InsufficientPoints, account, adjust_points, redeem_points
from custmgmt.testing import make_customer

MIDNIGHT = datetime(2025, 1, 1, tzinfo=timezone(timedelta(hours=8)))


class _Boom(Exception):
    """Ends a transaction with an error, so it rolls back."""


class TestRunningStateOnPostgres(OnPostgres):
    def test_a_rolled_back_suffix_rewritten_with_the_same_last_entry_is_read_again(
        self,
    ) -> None:
        schema = new_schema()
        store: Any = PostgresStore(self.dsn, schema=schema, pool_size=2)
        try:
            store.customers.add(make_customer(id="C-1", registered_at=MIDNIGHT))
            adjust_points(store, "C-1", 100, key="k0", at=MIDNIGHT, actor="a", reason="r",
                          expires_at=MIDNIGHT + timedelta(days=5))
            assert store.in_transaction is False

            def fail() -> None:
                with store.transaction():
                    assert store.in_transaction is True
                    adjust_points(store, "C-1", 100, key="a", at=MIDNIGHT, actor="a",
                                  reason="r")
                    redeem_points(store, "C-1", 10, key="r", at=MIDNIGHT)
                    assert account(store, "C-1").balance(MIDNIGHT) == 190
                    raise _Boom

            with pytest.raises(_Boom):
                fail()
            # another process retries with a corrected amount; its last entry is the
            # one rolled back
            other: Any = PostgresStore(self.dsn, schema=schema, pool_size=1)
            adjust_points(other, "C-1", 50, key="a", at=MIDNIGHT, actor="a", reason="r")
            redeem_points(other, "C-1", 10, key="r", at=MIDNIGHT)
            other.close()
            assert account(store, "C-1").balance(MIDNIGHT) == 140
            with pytest.raises(InsufficientPoints):
                redeem_points(store, "C-1", 141, key="too-many", at=MIDNIGHT)
        finally:
            store.close()
            drop_schema(self.dsn, schema)

    def test_a_hosts_open_transaction_on_its_connection_is_seen(self) -> None:
        schema = new_schema()
        conn = self.connect()  # not autocommit: the host's statements open a transaction
        store: Any = PostgresStore(conn, schema=schema)
        try:
            conn.commit()
            assert store.in_host_transaction is False
            conn.execute("SELECT 1")
            assert store.in_host_transaction is True
            conn.rollback()
            assert store.in_host_transaction is False
        finally:
            store.close()
            conn.close()
            drop_schema(self.dsn, schema)
