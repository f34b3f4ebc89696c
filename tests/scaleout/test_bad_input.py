"""Bad Parquet input: clear library errors naming the file (issue 21)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from custmgmt.distributed import rate, read_orders, read_orders_parquet
from custmgmt.errors import CustMgmtError, ValidationError
from custmgmt.rating import RatingPolicy, rate_frames

from ._data import synthetic_orders, table_of

AS_OF = datetime(2025, 1, 1, tzinfo=UTC)


def write(folder: Path, tables: list[pa.Table]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, table in enumerate(tables):
        path = folder / f"part-{i}.parquet"
        pq.write_table(table, path)
        paths.append(path)
    return paths


def three_files(currencies: tuple[str, str, str] = ("CNY", "CNY", "CNY")) -> list[pa.Table]:
    data = synthetic_orders(600, seed=3)
    return [table_of(data, slice(i * 200, (i + 1) * 200), c) for i, c in enumerate(currencies)]


def test_no_file_is_an_error_naming_the_glob(tmp_path: Path) -> None:
    pattern = str(tmp_path / "*.parquet")
    with pytest.raises(ValidationError, match="at least one Parquet file") as caught:
        read_orders(pattern)
    assert caught.value.value == pattern
    with pytest.raises(ValidationError, match="an existing Parquet file"):
        read_orders_parquet(tmp_path / "missing.parquet")


def test_an_empty_dataset_is_an_error(tmp_path: Path) -> None:
    empty = three_files()[0].slice(0, 0)
    write(tmp_path, [empty, empty])
    with pytest.raises(ValidationError, match="every file is empty"):
        read_orders(tmp_path)
    with pytest.raises(ValidationError, match="every file is empty"):
        read_orders_parquet(tmp_path)


def test_a_file_with_no_orders_changes_nothing(client: Any, tmp_path: Path) -> None:
    tables = three_files()
    write(tmp_path / "with", [tables[0], tables[1].slice(0, 0), tables[2]])
    write(tmp_path / "without", [tables[0], tables[2]])
    single = rate_frames(
        RatingPolicy.default(), read_orders_parquet(tmp_path / "without"), as_of=AS_OF
    )
    got = rate(read_orders(tmp_path / "with"), as_of=AS_OF).collect()
    assert np.array_equal(got.customer_ids, single.customer_ids)
    assert np.array_equal(got.stars, single.stars)
    assert np.array_equal(got.score, single.score)


def test_mixed_currencies_across_files_name_the_file(client: Any, tmp_path: Path) -> None:
    paths = write(tmp_path, three_files(("CNY", "USD", "CNY")))
    with pytest.raises(ValidationError) as caught:
        read_orders_parquet(tmp_path)
    assert caught.value.field == f"{paths[1]}: column currency"
    assert caught.value.value == "USD"
    with pytest.raises(ValidationError) as remote:
        rate(read_orders(tmp_path), as_of=AS_OF).collect()
    assert remote.value.field == f"{paths[1]}: column currency"


def test_a_missing_column_in_one_file_names_file_and_column(tmp_path: Path) -> None:
    tables = three_files()
    paths = write(tmp_path, [tables[0], tables[1].drop_columns(["category"]), tables[2]])
    for reader in (read_orders, read_orders_parquet):
        with pytest.raises(ValidationError) as caught:
            reader(tmp_path)  # type: ignore[operator]
        assert caught.value.field == f"{paths[1]}: column category"
    paths = write(tmp_path / "req", [tables[0].drop_columns(["amount"]), tables[1]])
    with pytest.raises(ValidationError) as caught:
        read_orders(tmp_path / "req")
    assert caught.value.field == f"{paths[0]}: column amount"


def test_inexact_amounts_and_returns_above_the_amount_are_named(tmp_path: Path) -> None:
    table = three_files()[0]
    bad = table.set_column(
        table.schema.get_field_index("amount"),
        "amount",
        pa.array(["1.005"] * table.num_rows),
    )
    [path] = write(tmp_path / "a", [bad])
    with pytest.raises(ValidationError) as caught:
        read_orders_parquet(path)
    assert caught.value.field == f"{path}: column amount"
    over = table.set_column(
        table.schema.get_field_index("returned_amount"),
        "returned_amount",
        pa.array(["999999.00"] * table.num_rows),
    )
    [path] = write(tmp_path / "b", [over])
    with pytest.raises(ValidationError, match="at most the order's amount") as caught:
        read_orders_parquet(path)
    assert caught.value.field.startswith(f"{path}: row 0")


def test_a_file_that_is_not_parquet_is_named(tmp_path: Path) -> None:
    path = tmp_path / "orders.parquet"
    path.write_text("customer_id,amount\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="a readable Parquet file") as caught:
        read_orders_parquet(path)
    assert caught.value.value == str(path)


def test_errors_are_library_errors() -> None:
    assert issubclass(ValidationError, CustMgmtError)
