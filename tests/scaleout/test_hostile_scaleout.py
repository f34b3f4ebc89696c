"""Hostile input to the scale-out paths: column names spelt differently across files or
twice in one file, and ``--scheduler`` / ``--workers`` values a stranger might give.
Each is a clear library error (``custmgmt: error: ...`` from the command), never a
traceback, a hang or a machine full of worker processes."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from custmgmt.cli import main
from custmgmt.distributed import cluster, rate, read_orders, read_orders_parquet, segment
from custmgmt.distributed.pipeline import MAX_PARTITIONS
from custmgmt.errors import ValidationError

from ._cli_support import run_in_a_process
from ._data import synthetic_orders, table_of

AS_OF = datetime(2025, 1, 1, tzinfo=UTC)


def three_tables() -> list[pa.Table]:
    data = synthetic_orders(300, seed=5)
    return [table_of(data, slice(i * 100, (i + 1) * 100)) for i in range(3)]


def write(folder: Path, tables: list[pa.Table]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, table in enumerate(tables):
        pq.write_table(table, folder / f"part-{i}.parquet")
    return folder


def upper(table: pa.Table, column: str) -> pa.Table:
    return table.rename_columns([c.upper() if c == column else c for c in table.column_names])


@pytest.mark.parametrize("which", [0, 1])
def test_a_column_spelt_differently_in_one_file_names_that_file(tmp_path: Path, which: int) -> None:
    tables = three_tables()
    tables[which] = upper(tables[which], "amount")
    folder = write(tmp_path, tables)
    for reader in (read_orders_parquet, read_orders):
        with pytest.raises(ValidationError, match="one spelling in every file") as caught:
            reader(folder)
        assert str(folder / "part-1.parquet") in caught.value.field


def test_a_column_given_twice_in_one_file_is_refused(tmp_path: Path) -> None:
    tables = three_tables()
    tables[2] = tables[2].append_column("AMOUNT", tables[2]["amount"])
    folder = write(tmp_path, tables)
    for reader in (read_orders_parquet, read_orders):
        with pytest.raises(ValidationError, match="one column of that name") as caught:
            reader(folder)
        assert caught.value.value == "amount, AMOUNT"
        assert str(folder / "part-2.parquet") in caught.value.field


def test_other_columns_in_any_case_are_still_read(tmp_path: Path) -> None:
    tables = [upper(t, "amount") for t in three_tables()]
    tables = [t.append_column("note", pa.array(["x"] * t.num_rows)) for t in tables]
    tables[0] = tables[0].append_column("NOTE", pa.array(["y"] * tables[0].num_rows))
    frame = read_orders_parquet(write(tmp_path, tables))
    assert len(frame) == 300


@pytest.mark.parametrize("workers", ["0", "-1", "10000", str(10**9)])
def test_workers_out_of_range_is_refused_before_any_process_starts(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, workers: str
) -> None:
    folder = write(tmp_path, three_tables())
    assert main(["rate", str(folder), "--workers", workers]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"custmgmt: error: --workers: got {workers}")
    assert "Traceback" not in err


# A client that failed to start can leave distributed's event loop thread half
# stopped for the next client of the same process: each of these runs the command in
# a process of its own, as a user does.
@pytest.mark.parametrize("address", ["", "bogus", "tcp://"])
def test_a_malformed_scheduler_address_is_a_validation_error(tmp_path: Path, address: str) -> None:
    folder = write(tmp_path, three_tables())
    done = run_in_a_process("rate", str(folder), "--scheduler", address)
    assert done.returncode == 2
    assert done.stderr.startswith("custmgmt: error: --scheduler: got")
    assert "Traceback" not in done.stderr


def test_an_unreachable_scheduler_is_a_storage_error(tmp_path: Path) -> None:
    folder = write(tmp_path, three_tables())
    done = subprocess.run(
        [sys.executable, "-m", "custmgmt", "rate", str(folder), "--scheduler", "tcp://127.0.0.1:1"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={**os.environ, "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "1s"},
    )
    assert done.returncode == 2
    assert "cannot reach the Dask scheduler at 'tcp://127.0.0.1:1'" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_refused_dsn_is_not_echoed_with_its_password(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    folder = write(tmp_path, three_tables())
    dsn = "postgresql://shop:s3cret-pw@db.internal/crm"
    assert main(["rate", str(folder), "--workers", "1", "--db", dsn]) == 2
    err = capsys.readouterr().err
    assert err.startswith("custmgmt: error: --db: got 'postgresql://...'")
    assert "s3cret-pw" not in err


@pytest.mark.parametrize("npartitions", [0, -1, True, 1.5, MAX_PARTITIONS + 1, 10**9])
def test_npartitions_out_of_range_is_refused_before_a_graph_is_built(
    tmp_path: Path, npartitions: object
) -> None:
    # 10**9 partitions once built a graph that filled the machine's memory.
    orders = read_orders(write(tmp_path, three_tables()))
    for analysis in (rate, segment, cluster):
        with pytest.raises(ValidationError, match="npartitions") as caught:
            analysis(orders, as_of=AS_OF, npartitions=npartitions)  # type: ignore[operator]
        assert caught.value.value == npartitions


def _orders_pandas() -> Any:
    import pandas as pd

    return pd.DataFrame(
        {
            "customer_id": ["客户😀", "b", "c"],
            "placed_at": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01"]),
            "amount": ["10.00", "20.00", "30.00"],
        }
    )


def test_from_dask_refuses_a_pandas_frame_by_name() -> None:
    # It once failed with AttributeError: 'DataFrame' object has no attribute 'map_partitions'.
    from custmgmt.distributed import from_dask, interactions_from_dask

    with pytest.raises(ValidationError, match="a Dask DataFrame") as caught:
        from_dask(_orders_pandas())
    assert caught.value.value == "DataFrame"
    with pytest.raises(ValidationError, match="a Dask DataFrame"):
        interactions_from_dask(_orders_pandas())


def test_from_dask_refuses_a_column_given_twice() -> None:
    import dask.dataframe as dd

    from custmgmt.distributed import from_dask

    pdf = _orders_pandas()
    pdf["AMOUNT"] = ["99.00", "99.00", "99.00"]
    with pytest.raises(ValidationError, match="one column of that name") as caught:
        from_dask(dd.from_pandas(pdf, npartitions=1))
    assert caught.value.value == "amount, AMOUNT"
    # Other columns may repeat: they are not read.
    pdf = _orders_pandas()
    pdf["note"], pdf["NOTE"] = "x", "y"
    assert from_dask(dd.from_pandas(pdf, npartitions=1)).currency == "CNY"


def test_one_file_named_twice_is_refused_not_counted_twice(tmp_path: Path) -> None:
    # Its orders were read twice: every customer's spend doubled, silently.
    folder = write(tmp_path / "orders", three_tables())
    first = folder / "part-0.parquet"
    for reader in (read_orders_parquet, read_orders):
        with pytest.raises(ValidationError, match="each file once"):
            reader([first, folder / "part-1.parquet", first])
        with pytest.raises(ValidationError, match="each file once"):
            reader([first, folder / ".." / "orders" / "part-0.parquet"])
    (folder / "again.parquet").symlink_to(first)
    with pytest.raises(ValidationError, match="each file once"):
        read_orders_parquet(folder)
