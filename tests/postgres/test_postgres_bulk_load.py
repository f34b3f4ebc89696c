"""The PostgreSQL bulk load: binary COPY tuples built from columns, and the indexes
dropped and rebuilt around a large first load.

A large first load (the batch at least as large as what is stored) runs with the
``orders`` and ``order_lines`` indexes dropped and rebuilt in the same transaction;
``REBUILD_MIN_ROWS`` is lowered here so small batches take that path.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from _pg_support import OnPostgres, drop_schema, new_schema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custmgmt.adapters.memory import MemoryStore
from custmgmt.adapters.postgres import PostgresStore
from custmgmt.adapters.postgres import orders as pg_orders
from custmgmt.adapters.postgres.binary_copy import PG_EPOCH_US, BinaryRows, text_field
from custmgmt.analytics.batches import OrderBatch
from custmgmt.domain import CURRENCY_DIGITS, OrderStatus
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

    def test_the_rebuild_sorts_in_more_memory_and_sets_it_back(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        seen: list[Any] = []
        sort_memory = pg_orders._sort_memory

        @contextmanager
        def recording(conn: Any, rows: int) -> Iterator[None]:
            with sort_memory(conn, rows):
                seen.append(conn.execute("SHOW maintenance_work_mem").fetchone()[0])
                yield

        monkeypatch.setattr(pg_orders, "_sort_memory", recording)
        monkeypatch.setattr(pg_orders, "SORT_BYTES_PER_ROW", 10 << 20)  # 30 rows: 300 MB
        with self.store.transaction():
            before = self.store.fetch("SHOW maintenance_work_mem")
            self.store.load_orders(_batch([f"o{k:03d}" for k in range(30)]))
            assert self.store.fetch("SHOW maintenance_work_mem") == before
        assert seen == ["300MB"]
        assert self._count() == 30

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


# -- the binary COPY encoding ------------------------------------------------------


def _field(value: bytes | None) -> bytes:
    return b"\xff\xff\xff\xff" if value is None else struct.pack(">i", len(value)) + value


def _numeric(minor: int, digits: int) -> bytes:
    """The shortest binary numeric of ``minor / 10**digits`` at scale ``digits``,
    digit by digit from the decimal string (numeric_send's layout)."""
    text = str(abs(minor)).rjust(digits + 1, "0")
    whole, fraction = text[: len(text) - digits], text[len(text) - digits :]
    whole = whole.rjust(-(-len(whole) // 4) * 4, "0")
    fraction = fraction.ljust(-(-len(fraction) // 4) * 4, "0")
    groups = [int(whole[k : k + 4]) for k in range(0, len(whole), 4)]
    weight = len(groups) - 1
    groups += [int(fraction[k : k + 4]) for k in range(0, len(fraction), 4)]
    while groups and groups[0] == 0:
        groups.pop(0)
        weight -= 1
    while groups and groups[-1] == 0:
        groups.pop()
    if not groups:
        weight = 0
    sign = 0x4000 if minor < 0 else 0
    return struct.pack(f">hhHH{len(groups)}H", len(groups), weight, sign, digits, *groups)


def _decode_numeric(data: bytes) -> tuple[Decimal, int]:
    """(value, scale) of a binary numeric, leading and trailing zero digits allowed."""
    ndigits, weight, sign, scale = struct.unpack(">hhHH", data[:8])
    groups = struct.unpack(f">{ndigits}H", data[8:])
    value = sum(Decimal(g) * Decimal(10000) ** (weight - k) for k, g in enumerate(groups))
    return (-value if sign == 0x4000 else value), scale


def _split_tuples(data: bytes) -> list[list[bytes | None]]:
    """The fields of each binary COPY tuple of ``data``."""
    rows: list[list[bytes | None]] = []
    at = 0
    while at < len(data):
        (count,) = struct.unpack_from(">h", data, at)
        at += 2
        row: list[bytes | None] = []
        for _ in range(count):
            (size,) = struct.unpack_from(">i", data, at)
            at += 4
            row.append(None if size < 0 else data[at : at + size])
            at += max(size, 0)
        rows.append(row)
    return rows


# No NUL and no lone surrogate: OrderBatch refuses both (text_field's NUL check aside).
TEXTS = st.one_of(
    st.none(),
    st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\0"), max_size=12),
)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.integers(-(2**63), 2**63 - 1), TEXTS, st.integers(-(2**31), 2**31 - 1),
            st.integers(-(10**17), 10**17), st.booleans(), st.integers(0, 2),
        ),
        min_size=1, max_size=25,
    ),
    digits=st.integers(0, 4),
)  # fmt: skip
def test_binary_rows_are_the_tuples_built_one_by_one(rows: list[Any], digits: int) -> None:
    big, texts, small, minor, present, code = (list(c) for c in zip(*rows, strict=True))
    n = len(rows)
    templates = [b"\x00\x00\x00\x01a", b"\x00\x00\x00\x08" + bytes(8), b"\xff\xff\xff\xff"]
    block = BinaryRows(n)
    block.int8(np.array(big, dtype=np.int64))
    block.text(np.array(texts, dtype=object))
    block.int4(np.array(small, dtype=np.int64), np.array(present))
    block.timestamptz(np.array(big, dtype=np.int64) // 2)
    block.numeric(np.array(minor, dtype=np.int64), digits, np.array(present))
    block.coded(np.array(code), templates, 1, np.array(big, dtype=np.int64), [-1, 4, -1])
    block.constant_text("人民币")
    block.null()
    got = _split_tuples(block.tobytes())
    assert len(got) == n
    for row, (b, t, s_, m, p, c) in zip(got, rows, strict=True):
        assert row[0] == struct.pack(">q", b)
        assert row[1] == (None if t is None else t.encode())
        assert row[2] == (struct.pack(">i", s_) if p else None)
        assert row[3] == struct.pack(">q", b // 2 - PG_EPOCH_US)
        if p:
            assert row[4] is not None
            assert _decode_numeric(row[4]) == _decode_numeric(_numeric(m, digits))
            assert _decode_numeric(row[4]) == (Decimal(m).scaleb(-digits), digits)
        else:
            assert row[4] is None
        assert row[5] == [b"a", struct.pack(">q", b), None][c]
        assert row[6] == "人民币".encode()
        assert row[7] is None
        assert len(row) == 8


def test_a_text_holding_a_nul_is_refused() -> None:
    with pytest.raises(ValueError, match="NUL"):
        text_field(np.array(["a", "b\0c"], dtype=object))


# -- load_orders against add_many, on the server -------------------------------------

CURRENCIES = ("CNY", "JPY", "KWD", "CLF")  # 2, 0, 3 and 4 digits
CATEGORIES = ("茶叶", "books", "a\\b", "x y")
ID_TEXT = st.text(
    st.characters(exclude_categories=("Cs", "Cc"), exclude_characters="\0"), min_size=1,
    max_size=10,
).filter(str.strip)  # fmt: skip


@st.composite
def batches(draw: st.DrawFn) -> OrderBatch:
    n = draw(st.integers(1, 30))
    currency = draw(st.sampled_from(CURRENCIES))
    top = 10**14 * 10 ** CURRENCY_DIGITS[currency] - 1
    amounts = draw(st.lists(st.integers(0, top), min_size=n, max_size=n))
    statuses = draw(st.lists(st.sampled_from(list(OrderStatus)), min_size=n, max_size=n))
    # A (partially) returned order has a refund, at most its total; others may have one.
    returned = [s.value.endswith("returned") for s in statuses]
    amounts = [max(a, 1) if r else a for a, r in zip(amounts, returned, strict=True)]
    refunds = [draw(st.integers(int(r), a)) for a, r in zip(amounts, returned, strict=True)]
    ids = draw(st.lists(ID_TEXT, min_size=n, max_size=n, unique=True))
    times = st.integers(-62_135_596_800_000_000, 253_402_300_799_999_999 - 10**12)
    placed = draw(st.lists(times, min_size=n, max_size=n))
    later = [p + draw(st.integers(0, 10**12)) for p in placed]
    return OrderBatch.from_arrays(
        order_id=ids,
        customer_id=draw(st.lists(ID_TEXT, min_size=n, max_size=n)),
        placed_at=np.array(placed, dtype=np.int64),
        amount=np.array(amounts, dtype=np.int64),
        currency=currency,
        category=draw(st.lists(st.sampled_from(CATEGORIES), min_size=n, max_size=n)),
        sku=draw(st.lists(ID_TEXT, min_size=n, max_size=n)),
        status=[s.value for s in statuses],
        status_at=np.array(later, dtype=np.int64),
        returned_amount=np.array(refunds, dtype=np.int64),
        channel=draw(st.lists(st.one_of(st.none(), ID_TEXT), min_size=n, max_size=n)),
    )


class TestBinaryLoadMatchesAddMany(OnPostgres):
    """``load_orders`` (binary COPY built from columns) stores exactly the rows that
    ``add_many`` (row by row from the entities) stores for the batch's orders."""

    def setup_method(self) -> None:
        self.schemas = (new_schema(), new_schema())
        self.stores = [PostgresStore(self.dsn, schema=s) for s in self.schemas]

    def teardown_method(self) -> None:
        for store, schema in zip(self.stores, self.schemas, strict=True):
            store.close()
            drop_schema(self.dsn, schema)

    def _rows(self, schema: str) -> list[Any]:
        with self.connect() as conn:
            return [
                conn.execute(f"SELECT t::text FROM {schema}.{table} t ORDER BY 1").fetchall()
                for table in ("orders", "order_lines")
            ]

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(batch=batches(), rebuild=st.booleans())
    def test_the_stored_rows_are_equal(self, batch: OrderBatch, rebuild: bool) -> None:
        with self.connect(autocommit=True) as conn:
            for schema in self.schemas:
                conn.execute(f"TRUNCATE {schema}.orders, {schema}.order_lines")
        bulk, rows = self.stores
        original = pg_orders.REBUILD_MIN_ROWS
        pg_orders.REBUILD_MIN_ROWS = 1 if rebuild else 10**9
        try:
            assert bulk.load_orders(batch) == len(batch)
        finally:
            pg_orders.REBUILD_MIN_ROWS = original
        rows.orders.add_many(batch.to_orders())
        assert self._rows(self.schemas[0]) == self._rows(self.schemas[1])
