"""The single-machine Parquet reader fills preallocated columns piece by piece; it
must build the very frame the general reader (every file normalised to object
arrays, concatenated, factorised) builds (issue 21)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custmgmt.analytics.frames import OrderFrame
from custmgmt.distributed import read_orders_parquet
from custmgmt.distributed.parquet import _read_by_pieces, dataset
from custmgmt.errors import ValidationError

from ._data import decimal_cents, synthetic_orders, table_of, write_int_orders, write_orders


def assert_same_frame(got: OrderFrame, want: OrderFrame) -> None:
    for field in attrs.fields(OrderFrame):
        a, b = getattr(got, field.name), getattr(want, field.name)
        if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
            assert isinstance(a, np.ndarray), field.name
            assert isinstance(b, np.ndarray), field.name
            assert a.dtype == b.dtype, (field.name, a.dtype, b.dtype)
            assert np.array_equal(a, b), field.name
        else:
            assert a == b, field.name


def reference(source: Path, **kwargs: Any) -> OrderFrame:
    return _read_by_pieces(dataset(source), currency="CNY", tz="Asia/Shanghai", **kwargs)


@pytest.mark.parametrize("writer", [write_orders, write_int_orders])
@pytest.mark.parametrize("rows_per_piece", [1, 20_000, 1 << 20])
def test_column_reader_builds_the_general_reader_s_frame(
    tmp_path: Path, writer: Any, rows_per_piece: int
) -> None:
    writer(tmp_path, orders=60_000, files=4)
    got = read_orders_parquet(tmp_path, rows_per_piece=rows_per_piece)
    assert_same_frame(got, reference(tmp_path))
    assert len(got) == 60_000


labels = st.sampled_from(["books", " ", "", "toys", "Toys", "食品", None, "z z"])


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    sizes=st.lists(st.integers(0, 30), min_size=1, max_size=4).filter(lambda s: sum(s) > 0),
    text_ids=st.booleans(),
    as_dictionary=st.booleans(),
    large=st.booleans(),
    seed=st.integers(0, 2**16),
    rows_per_piece=st.integers(1, 40),
    data=st.data(),
)
def test_any_files_give_the_general_reader_s_frame(
    tmp_path_factory: pytest.TempPathFactory,
    sizes: list[int],
    text_ids: bool,
    as_dictionary: bool,
    large: bool,
    seed: int,
    rows_per_piece: int,
    data: st.DataObject,
) -> None:
    folder = tmp_path_factory.mktemp("columns")
    rng = np.random.default_rng(seed)
    text = pa.large_string() if large else pa.string()
    for i, n in enumerate(sizes):
        ids = rng.integers(0, 12, n)
        category = data.draw(st.lists(labels, min_size=n, max_size=n))
        channel = data.draw(st.lists(labels, min_size=n, max_size=n))
        cents = rng.integers(0, 10_000, n)
        columns = {
            "customer_id": pa.array([f"c{x}" for x in ids], text) if text_ids else pa.array(ids),
            "placed_at": pa.array(
                (1_700_000_000 + rng.integers(0, 10**7, n)).astype("datetime64[s]")
            ),
            "amount": decimal_cents(cents),
            "returned_amount": decimal_cents(cents // 3),
            "status": pa.array(rng.choice(["paid", "delivered", "returned"], n), text),
            "category": pa.array(category, text),
            "channel": pa.array(channel, text),
        }
        if as_dictionary:
            columns["category"] = columns["category"].dictionary_encode()
        pq.write_table(pa.table(columns), folder / f"p-{i}.parquet", row_group_size=7)
    got = read_orders_parquet(folder, rows_per_piece=rows_per_piece)
    assert_same_frame(got, reference(folder))


def test_ids_of_another_type_in_a_later_file_name_that_file(tmp_path: Path) -> None:
    data = synthetic_orders(300, seed=5)
    first = table_of(data, slice(0, 150))
    second = table_of(data, slice(150, 300))
    second = second.set_column(0, "customer_id", pa.array(np.arange(150)))
    pq.write_table(first, tmp_path / "a.parquet")
    pq.write_table(second, tmp_path / "b.parquet")
    with pytest.raises(ValidationError) as caught:
        read_orders_parquet(tmp_path)
    assert caught.value.field == f"{tmp_path / 'b.parquet'}: column customer_id"


def test_a_return_above_its_amount_is_named_by_its_row_in_the_file(tmp_path: Path) -> None:
    data = synthetic_orders(100, seed=5)
    table = table_of(data, slice(0, 100))
    returned = np.zeros(100, dtype=np.int64)
    returned[61] = 10**9
    table = table.set_column(
        table.schema.get_field_index("returned_amount"), "returned_amount", decimal_cents(returned)
    )
    path = tmp_path / "a.parquet"
    pq.write_table(table, path, row_group_size=10)
    with pytest.raises(ValidationError, match="at most the order's amount") as caught:
        read_orders_parquet(path, rows_per_piece=20)
    assert caught.value.field == f"{path}: row 61, column returned_amount"


def test_an_empty_text_id_is_refused(tmp_path: Path) -> None:
    data = synthetic_orders(50, seed=5)
    table = table_of(data, slice(0, 50))
    ids = [str(x) for x in data["customer_id"][:50]]
    ids[7] = ""
    pq.write_table(table.set_column(0, "customer_id", pa.array(ids)), tmp_path / "a.parquet")
    with pytest.raises(ValidationError, match="non-empty string ids"):
        read_orders_parquet(tmp_path)


def test_order_ids_take_the_general_path_and_merge_lines(tmp_path: Path) -> None:
    data = synthetic_orders(40, seed=5)
    table = table_of(data, slice(0, 40))
    table = table.append_column("order_id", pa.array([f"o{i}" for i in range(40)]))
    pq.write_table(table, tmp_path / "a.parquet")
    assert_same_frame(read_orders_parquet(tmp_path), reference(tmp_path))
