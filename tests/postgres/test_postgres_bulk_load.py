"""The PostgreSQL bulk load that drops and rebuilds its tables' indexes.

A large first load (the batch at least as large as what is stored) runs with the
``orders`` and ``order_lines`` indexes dropped and rebuilt in the same transaction;
``REBUILD_MIN_ROWS`` is lowered here so small batches take that path.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from _pg_support import OnPostgres, drop_schema, new_schema

from custmgmt.adapters.memory import MemoryStore
from custmgmt.adapters.postgres import PostgresStore
from custmgmt.adapters.postgres import orders as pg_orders
from custmgmt.analytics.batches import OrderBatch
from custmgmt.errors import Conflict


def _batch(ids: list[str], seed: int = 3) -> OrderBatch:
    rng = np.random.default_rng(seed)
    n = len(ids)
    return OrderBatch.from_arrays(
        order_id=np.array(ids, dtype=object),
        customer_id=np.array([f"客户{k % 7}" for k in range(n)], dtype=object),
        placed_at=rng.integers(1.7e15, 1.75e15, n),
        amount=rng.integers(1, 100_000, n),
        currency="CNY",
        category=np.array(["茶叶", "books"] * (n // 2) + ["茶叶"] * (n % 2), dtype=object),
        channel="app",
    )


class TestIndexesRebuilt(OnPostgres):
    def setup_method(self) -> None:
        self.schema = new_schema()
        self.store = PostgresStore(self.dsn, schema=self.schema)

    def teardown_method(self) -> None:
        self.store.close()
        drop_schema(self.dsn, self.schema)

    @pytest.fixture(autouse=True)
    def _small_rebuilds(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(pg_orders, "REBUILD_MIN_ROWS", 12)

    def _indexes(self) -> list[Any]:
        with self.connect() as conn:
            return conn.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = %s "
                "AND tablename IN ('orders', 'order_lines') ORDER BY indexname",
                (self.schema,),
            ).fetchall()

    def _count(self) -> int:
        with self.connect() as conn:
            row = conn.execute(f"SELECT count(*) FROM {self.schema}.orders").fetchone()
        assert row is not None
        return int(row[0])

    def test_a_first_load_keeps_every_index_and_reads_back_equal(self) -> None:
        before = self._indexes()
        assert len(before) == 4  # both primary keys and the two order indexes
        batch = _batch([f"o{k:03d}" for k in range(40)])
        assert self.store.load_orders(batch) == 40
        assert self._indexes() == before
        memory = MemoryStore()
        memory.load_orders(batch)
        got, want = self.store.order_frame(currency="CNY"), memory.order_frame(currency="CNY")
        assert got.order_id.tolist() == want.order_id.tolist()
        assert got.amount.tolist() == want.amount.tolist()
        assert [self.store.orders.get(f"o{k:03d}") for k in range(40)] == [
            memory.orders.get(f"o{k:03d}") for k in range(40)
        ]

    def test_a_clash_found_by_the_rebuilt_line_key_undoes_everything(self) -> None:
        # A stray line row (written behind the store's back) clashes only with the
        # rebuilt order_lines primary key, after both COPYs have run.
        with self.connect(autocommit=True) as conn:
            conn.execute(
                f"INSERT INTO {self.schema}.order_lines VALUES ('o005', 0, 'x', 'y', 1, 1)"
            )
        before = self._indexes()
        with pytest.raises(Conflict):
            self.store.load_orders(_batch([f"o{k:03d}" for k in range(30)]))
        assert self._count() == 0
        assert self._indexes() == before

    def test_an_id_already_stored_is_a_conflict_and_the_store_is_unchanged(self) -> None:
        self.store.load_orders(_batch(["o-stored"], seed=1))
        before = self._indexes()
        with pytest.raises(Conflict, match="o-stored"):
            self.store.load_orders(_batch([f"o{k:03d}" for k in range(30)] + ["o-stored"]))
        assert self._count() == 1
        assert self._indexes() == before

    def test_a_failure_later_in_the_callers_transaction_undoes_the_load(self) -> None:
        before = self._indexes()

        def load_then_fail() -> None:
            with self.store.transaction():
                self.store.load_orders(_batch([f"o{k:03d}" for k in range(30)]))
                raise RuntimeError("the host fails after the load")

        with pytest.raises(RuntimeError):
            load_then_fail()
        assert self._count() == 0
        assert self._indexes() == before

    def test_a_load_into_fuller_tables_keeps_the_indexes_and_checks_every_id(self) -> None:
        self.store.load_orders(_batch([f"a{k:03d}" for k in range(50)], seed=2))
        self.store.load_orders(_batch([f"b{k:03d}" for k in range(20)]))
        assert self._count() == 70
        with pytest.raises(Conflict, match="a007"):
            self.store.load_orders(_batch([f"c{k:03d}" for k in range(20)] + ["a007"]))
        assert self._count() == 70

    def test_other_sessions_wait_for_the_load_and_never_see_it_half_done(self) -> None:
        # The load holds an ACCESS EXCLUSIVE lock: a reader with a short lock timeout
        # cannot read while the load's transaction is open, and reads all of it after.
        with self.store.transaction():
            self.store.load_orders(_batch([f"o{k:03d}" for k in range(30)]))
            with self.connect() as conn:
                conn.execute("SET lock_timeout = '100ms'")
                with pytest.raises(Exception, match="lock timeout"):
                    conn.execute(f"SELECT count(*) FROM {self.schema}.orders").fetchone()
        assert self._count() == 30


def test_a_decimal_text_reads_back_at_the_currency_scale() -> None:
    texts = pg_orders._decimal_texts(np.array([1990, 5, 0, 123456789], dtype=np.int64), "CNY")
    assert texts == ["1990e-2", "5e-2", "0e-2", "123456789e-2"]
    assert pg_orders._decimal_texts(np.array([7], dtype=np.int64), "JPY") == ["7"]

