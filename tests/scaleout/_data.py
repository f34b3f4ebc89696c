"""A synthetic order store written as unsorted Parquet files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

CATEGORIES = np.array(["books", "toys", "food", "garden", None], dtype=object)
STATUSES = np.array(["delivered", "paid", "cancelled", "returned", "delivered"], dtype=object)


def write_orders(
    folder: Path, *, orders: int, customers: int, files: int, seed: int = 7
) -> list[Path]:
    """``orders`` random orders of ``customers`` customers, every customer spread over
    the files (rows shuffled), as ``files`` Parquet files."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, customers, orders)
    start = np.datetime64("2023-01-01T00:00:00", "s").astype(np.int64)
    seconds = start + rng.integers(0, 730 * 86_400, orders)
    # Amounts in cents -> decimal(12, 2), exact.
    cents = rng.integers(100, 500_000, orders)
    status = STATUSES[rng.integers(0, len(STATUSES), orders)]
    returned = np.where(status == "returned", cents // 2, 0)
    category = CATEGORIES[rng.integers(0, len(CATEGORIES), orders)]
    folder.mkdir(parents=True, exist_ok=True)
    bounds = np.linspace(0, orders, files + 1).astype(np.int64)
    paths = []
    for i in range(files):
        part = slice(bounds[i], bounds[i + 1])
        table = pa.table(
            {
                "customer_id": pa.array([f"c{v:07d}" for v in ids[part]]),
                "placed_at": pa.array(seconds[part].astype("datetime64[s]"), pa.timestamp("s")),
                "amount": decimal_cents(cents[part]),
                "status": pa.array(status[part]),
                "returned_amount": decimal_cents(returned[part]),
                "category": pa.array(category[part]),
                "currency": pa.array(["CNY"] * (part.stop - part.start)),
            }
        )
        path = folder / f"orders-{i:02d}.parquet"
        pq.write_table(table, path, row_group_size=1 << 16)
        paths.append(path)
    return paths


def decimal_cents(cents: np.ndarray) -> pa.Array:
    """Non-negative cents as decimal(16, 2): the unscaled 128-bit values, built directly."""
    words = np.zeros((len(cents), 2), dtype=np.int64)
    words[:, 0] = cents
    return pa.Array.from_buffers(
        pa.decimal128(16, 2), len(cents), [None, pa.py_buffer(words.tobytes())]
    )
