"""A synthetic order store written as unsorted Parquet files (and the same orders as
a CSV, for the single-machine readers)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

CATEGORIES = np.array(["books", "toys", "food", "garden", None], dtype=object)
STATUSES = np.array(
    ["delivered", "paid", "cancelled", "returned", "delivered", "delivered"], dtype=object
)
START = np.datetime64("2023-01-01T00:00:00", "s").astype(np.int64)
SPAN_DAYS = 730


def synthetic_orders(orders: int, seed: int = 7) -> dict[str, np.ndarray]:
    """Exactly ``orders`` orders from buyers with their own purchase rate and lifetime
    (a BG/NBD-like story, so the CLV models have something to identify), rows in
    random order."""
    rng = np.random.default_rng(seed)
    customers = max(orders // 3, 4)
    rate = rng.gamma(0.9, 1 / 45, customers)  # purchases per day
    first = rng.uniform(0, SPAN_DAYS, customers)
    life = rng.exponential(300, customers)
    active = np.minimum(life, SPAN_DAYS - first)
    count = 1 + rng.poisson(rate * active)
    owner = np.repeat(np.arange(customers), count)
    offset = np.where(
        np.arange(owner.size) == np.repeat(np.cumsum(count) - count, count),
        0.0,
        rng.uniform(0, 1, owner.size) * active[owner],
    )
    assert owner.size >= orders, (owner.size, orders)
    pick = rng.permutation(owner.size)[:orders]
    owner, offset = owner[pick], offset[pick]
    seconds = START + ((first[owner] + offset) * 86_400).astype(np.int64)
    cents = (rng.gamma(2.0, 6_000, orders) + 100).astype(np.int64)
    status = STATUSES[rng.integers(0, len(STATUSES), orders)]
    returned = np.where(status == "returned", cents // 2, 0)
    category = CATEGORIES[rng.integers(0, len(CATEGORIES), orders)]
    ids = np.char.add("c", np.char.zfill(owner.astype(str), 7)).astype(object)
    return {
        "customer_id": ids,
        "seconds": seconds,
        "cents": cents,
        "status": status,
        "returned": returned,
        "category": category,
    }


def decimal_cents(cents: np.ndarray) -> pa.Array:
    """Non-negative cents as decimal(16, 2): the unscaled 128-bit values, built directly."""
    words = np.zeros((len(cents), 2), dtype=np.int64)
    words[:, 0] = cents
    return pa.Array.from_buffers(
        pa.decimal128(16, 2), len(cents), [None, pa.py_buffer(words.tobytes())]
    )


def table_of(data: dict[str, np.ndarray], part: slice, currency: str = "CNY") -> pa.Table:
    n = len(data["customer_id"][part])
    return pa.table(
        {
            "customer_id": pa.array(data["customer_id"][part], pa.string()),
            "placed_at": pa.array(data["seconds"][part].astype("datetime64[s]"), pa.timestamp("s")),
            "amount": decimal_cents(data["cents"][part]),
            "status": pa.array(data["status"][part], pa.string()),
            "returned_amount": decimal_cents(data["returned"][part]),
            "category": pa.array(data["category"][part], pa.string()),
            "currency": pa.array([currency] * n, pa.string()),
        }
    )


def write_orders(folder: Path, *, orders: int, files: int, seed: int = 7) -> list[Path]:
    """``orders`` synthetic orders as ``files`` Parquet files (naive times, read in
    Asia/Shanghai like the CSV), each customer's orders spread over the files."""
    data = synthetic_orders(orders, seed)
    folder.mkdir(parents=True, exist_ok=True)
    bounds = np.linspace(0, orders, files + 1).astype(np.int64)
    paths = []
    for i in range(files):
        path = folder / f"orders-{i:02d}.parquet"
        pq.write_table(
            table_of(data, slice(bounds[i], bounds[i + 1])), path, row_group_size=1 << 15
        )
        paths.append(path)
    return paths


def write_csv(path: Path, *, orders: int, seed: int = 7) -> Path:
    """The same orders as :func:`write_orders` as an orders CSV."""
    data = synthetic_orders(orders, seed)
    times = data["seconds"].astype("datetime64[s]").astype(str)
    with open(path, "w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(
            [
                "customer_id",
                "placed_at",
                "amount",
                "status",
                "returned_amount",
                "category",
                "currency",
            ]
        )
        for i in range(orders):
            writer.writerow(
                [
                    data["customer_id"][i],
                    times[i].replace("T", " "),
                    f"{data['cents'][i] / 100:.2f}",
                    data["status"][i],
                    f"{data['returned'][i] / 100:.2f}",
                    data["category"][i] or "",
                    "CNY",
                ]
            )
    return path


def write_int_orders(folder: Path, *, orders: int, files: int = 16, seed: int = 11) -> None:
    """Uniform synthetic orders with int64 ids (``orders / 8`` customers), file by file
    (the generator of ``benchmarks/bench_dask.py``)."""
    rng = np.random.default_rng(seed)
    customers = max(orders // 8, 1)
    bounds = np.linspace(0, orders, files + 1).astype(np.int64)
    statuses = pa.array(["delivered", "paid", "cancelled", "returned", "delivered"])
    categories = pa.array(["books", "toys", "food", "garden", None])
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(files):
        n = int(bounds[i + 1] - bounds[i])
        cents = rng.integers(100, 500_000, n)
        status = rng.integers(0, 5, n)
        table = pa.table(
            {
                "customer_id": pa.array(rng.integers(0, customers, n)),
                "placed_at": pa.array(
                    (START + rng.integers(0, SPAN_DAYS * 86_400, n)).astype("datetime64[s]")
                ),
                "amount": decimal_cents(cents),
                "status": statuses.take(pa.array(status)),
                "returned_amount": decimal_cents(np.where(status == 3, cents // 2, 0)),
                "category": categories.take(pa.array(rng.integers(0, 5, n))),
            }
        )
        pq.write_table(table, folder / f"orders-{i:02d}.parquet", row_group_size=1 << 17)


KINDS = np.array(
    ["browse", "review", "complaint", "search", "cart", "Review", "favorite", "feedback"],
    dtype=object,
)
COMPLAINTS = np.array(["logistics", "price", "product_quality", "service"], dtype=object)


def synthetic_interactions(
    data: dict[str, np.ndarray], interactions: int, *, strangers: int = 40, seed: int = 5
) -> dict[str, np.ndarray]:
    """``interactions`` rows of the customers of ``data`` (orders) plus ``strangers``
    people who never ordered ("a..." ids, below every buyer's id): reviews with
    ratings, complaints with a category and a resolved flag, browsing; rows in random
    order, UTC times."""
    rng = np.random.default_rng(seed)
    buyers = np.unique(data["customer_id"])
    others = np.array([f"a{i:06d}" for i in range(strangers)], dtype=object)
    people = np.concatenate([buyers, others])
    who = people[rng.integers(0, len(people), interactions)]
    kind = KINDS[rng.integers(0, len(KINDS), interactions)]
    lower = np.array([k.lower() for k in kind.tolist()], dtype=object)
    rating = np.where(lower == "review", rng.integers(1, 6, interactions), 0)
    complaint = lower == "complaint"
    category = np.where(complaint, COMPLAINTS[rng.integers(0, len(COMPLAINTS), interactions)], None)
    resolved = complaint & (rng.uniform(0, 1, interactions) < 0.6)
    seconds = START + rng.integers(0, SPAN_DAYS * 86_400, interactions)
    channel = np.array(["app", "web", None], dtype=object)[rng.integers(0, 3, interactions)]
    return {
        "customer_id": who,
        "seconds": seconds,
        "kind": kind,
        "rating": rating,
        "complaint_category": category,
        "resolved": resolved,
        "channel": channel,
    }


def interaction_table(data: dict[str, np.ndarray], part: slice) -> pa.Table:
    """Rows ``part`` of :func:`synthetic_interactions` as an Arrow table (UTC times;
    null ratings where there is none, so both spellings of "none" are read)."""
    rating = data["rating"][part]
    return pa.table(
        {
            "customer_id": pa.array(
                data["customer_id"][part],
                pa.int64() if data["customer_id"].dtype.kind == "i" else pa.string(),
            ),
            "at": pa.array(
                data["seconds"][part].astype("datetime64[s]"), pa.timestamp("s", tz="UTC")
            ),
            "kind": pa.array(data["kind"][part], pa.string()),
            "rating": pa.array(rating, pa.int8(), mask=rating == 0),
            "complaint_category": pa.array(data["complaint_category"][part], pa.string()),
            "resolved": pa.array(data["resolved"][part], pa.bool_()),
            "channel": pa.array(data["channel"][part], pa.string()),
        }
    )


def write_interactions(folder: Path, data: dict[str, np.ndarray], *, files: int) -> list[Path]:
    """:func:`synthetic_interactions` rows as ``files`` Parquet files."""
    folder.mkdir(parents=True, exist_ok=True)
    n = len(data["customer_id"])
    bounds = np.linspace(0, n, files + 1).astype(np.int64)
    paths = []
    for i in range(files):
        path = folder / f"interactions-{i:02d}.parquet"
        pq.write_table(
            interaction_table(data, slice(bounds[i], bounds[i + 1])), path, row_group_size=4096
        )
        paths.append(path)
    return paths
