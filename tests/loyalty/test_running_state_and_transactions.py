"""The running ledger state is kept only when nothing it read can still be rolled back.

It checks just its last entry on the next call, so a state that read entries inside a
transaction which then rolled back, and was kept, would go unseen by a retry that
writes a different earlier entry and the same last one. A service called inside a
transaction opened around it therefore keeps nothing; the stores say whether one is
open (``in_transaction``, and ``in_host_transaction`` on a host's PostgreSQL
connection), and a store that cannot say is taken to have one open.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from _loyalty_support import T0, add_customer

from custmgmt.adapters.memory import MemoryStore
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.loyalty import account, adjust_points, redeem_points
from custmgmt.loyalty._running import _cache, may_roll_back
from custmgmt.loyalty.ports import LoyaltyStore

MIDNIGHT = T0.replace(hour=0)


class _Boom(Exception):
    """Ends a transaction with an error, so it rolls back."""


def _store(kind: str, tmp_path: Path) -> Any:
    store: Any = MemoryStore() if kind == "memory" else SQLiteStore(tmp_path / "p.sqlite3")
    add_customer(store, at=MIDNIGHT)
    return store


def _kept(store: LoyaltyStore) -> set[str]:
    cache = _cache(store.loyalty)
    assert cache is not None
    return set(cache.states)


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_in_transaction_is_true_inside_this_threads_block_only(kind: str, tmp_path: Path) -> None:
    store = _store(kind, tmp_path)
    assert store.in_transaction is False
    seen: list[bool] = []
    with store.transaction():
        assert store.in_transaction is True
        with store.transaction():
            assert store.in_transaction is True
        other = threading.Thread(target=lambda: seen.append(store.in_transaction))
        other.start()
        other.join()
        assert store.in_transaction is True
    assert seen == [False]  # another thread has no block open
    assert store.in_transaction is False
    with pytest.raises(_Boom), store.transaction():
        raise _Boom
    assert store.in_transaction is False


def test_an_sqlite_store_on_a_hosts_connection_sees_the_hosts_transaction(
    tmp_path: Path,
) -> None:
    import sqlite3

    conn = sqlite3.connect(tmp_path / "host.sqlite3", isolation_level=None)
    store = SQLiteStore(conn)
    assert store.in_transaction is False
    conn.execute("BEGIN")
    assert store.in_transaction is True  # the host may still roll back what is written
    conn.execute("ROLLBACK")
    assert store.in_transaction is False
    store.close()
    conn.close()


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_a_service_outside_any_transaction_keeps_its_state(kind: str, tmp_path: Path) -> None:
    store = _store(kind, tmp_path)
    adjust_points(store, "C-1", 100, key="k0", at=MIDNIGHT, actor="a", reason="r")
    assert _kept(store) == {"C-1"}
    redeem_points(store, "C-1", 10, key="r", at=MIDNIGHT)
    assert _kept(store) == {"C-1"}


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_a_service_inside_a_transaction_keeps_nothing_it_read(kind: str, tmp_path: Path) -> None:
    store = _store(kind, tmp_path)
    adjust_points(store, "C-1", 100, key="k0", at=MIDNIGHT, actor="a", reason="r")
    with store.transaction():
        redeem_points(store, "C-1", 10, key="r", at=MIDNIGHT)
        assert _kept(store) == set()
        assert account(store, "C-1").balance(MIDNIGHT) == 90
        assert _kept(store) == set()
    # committed: the next call outside a transaction starts keeping again
    assert account(store, "C-1").balance(MIDNIGHT) == 90
    redeem_points(store, "C-1", 5, key="r2", at=MIDNIGHT)
    assert _kept(store) == {"C-1"}


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_a_rollback_after_a_service_leaves_the_balance_as_stored(
    kind: str, tmp_path: Path
) -> None:
    store = _store(kind, tmp_path)
    ends = MIDNIGHT + timedelta(days=5)
    adjust_points(store, "C-1", 100, key="k0", at=MIDNIGHT, actor="a", reason="r",
                  expires_at=ends)
    def fail() -> None:
        with store.transaction():
            adjust_points(store, "C-1", 100, key="a", at=MIDNIGHT, actor="a", reason="r")
            assert account(store, "C-1").balance(MIDNIGHT) == 200
            raise _Boom

    with pytest.raises(_Boom):
        fail()
    adjust_points(store, "C-1", 50, key="a", at=MIDNIGHT, actor="a", reason="r")
    assert account(store, "C-1").balance(MIDNIGHT) == 150
    redeem_points(store, "C-1", 150, key="all", at=MIDNIGHT)
    assert account(store, "C-1").balance(MIDNIGHT) == 0


class _Silent:
    """A host's store that cannot say whether a transaction is open."""

    def __init__(self, inner: MemoryStore) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        if name in ("in_transaction", "in_host_transaction"):
            raise AttributeError(name)
        return getattr(self._inner, name)


def test_a_store_that_cannot_say_is_taken_to_have_a_transaction_open() -> None:
    inner = MemoryStore()
    add_customer(inner, at=MIDNIGHT)
    store: Any = _Silent(inner)
    assert may_roll_back(store) is True
    adjust_points(store, "C-1", 100, key="k0", at=MIDNIGHT, actor="a", reason="r")
    redeem_points(store, "C-1", 10, key="r", at=MIDNIGHT)
    assert account(store, "C-1").balance(MIDNIGHT) == 90
    assert _kept(store) == set()
