"""Parquet columns written by other tools: dictionary-encoded ids and far timestamps.

A dictionary-encoded ``customer_id`` (a pandas categorical, many writers' default)
was refused as "integer or text ids"; a ``timestamp[s]`` in year 300000 or in year 0
gave pyarrow's ArrowInvalid traceback or a frame that could not be shown.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from custmgmt.distributed import read_orders_parquet
from custmgmt.distributed.parquet import _read_by_pieces, dataset
from custmgmt.errors import ValidationError

WHEN = pa.array([datetime(2026, 1, 1, tzinfo=UTC)] * 3, pa.timestamp("us", tz="UTC"))
AMOUNTS = pa.array([1.5, 2.0, 3.0])


def _write(path: Path, ids: pa.Array, placed: pa.Array = WHEN) -> Path:
    pq.write_table(pa.table({"customer_id": ids, "placed_at": placed, "amount": AMOUNTS}),
                   path)
    return path


@pytest.mark.parametrize("values", [["甲", "乙", "甲"], [7, 9, 7]])
def test_dictionary_encoded_ids_read_as_their_values(tmp_path: Path, values: list[object]) -> None:
    encoded = _write(tmp_path / "dict.parquet", pa.array(values).dictionary_encode())
    plain = _write(tmp_path / "plain.parquet", pa.array(values))
    for read in (read_orders_parquet,
                 lambda p: _read_by_pieces(dataset(p), currency="CNY", tz="Asia/Shanghai")):
        got, want = read(encoded), read(plain)
        assert got.customer_ids.tolist() == want.customer_ids.tolist()
        assert np.array_equal(got.customer_code, want.customer_code)
        assert np.array_equal(got.amount, want.amount)


@pytest.mark.parametrize("seconds", [300_000 * 365 * 86_400, -62_135_596_800 - 400 * 86_400])
def test_timestamps_outside_the_years_1_to_9999_name_the_column(
    tmp_path: Path, seconds: int
) -> None:
    placed = pa.array([seconds] * 3, pa.int64()).cast(pa.timestamp("s", tz="UTC"))
    path = _write(tmp_path / "far.parquet", pa.array(["a", "b", "a"]), placed)
    for read in (read_orders_parquet,
                 lambda p: _read_by_pieces(dataset(p), currency="CNY", tz="Asia/Shanghai")):
        with pytest.raises(ValidationError) as caught:
            read(path)
        assert "column placed_at" in caught.value.field
