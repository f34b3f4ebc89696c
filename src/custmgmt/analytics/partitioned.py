"""The partitioned engine: per-customer analytics on every core, linear in the rows.

Customers are split into ``P`` contiguous ranges of customer codes (codes are dense
and sorted by id, so a range of codes is a range of ids); the rows are grouped by
partition in one pass (an O(n) radix split of a 1- or 2-byte partition number), and
each partition is computed on its own, in a thread pool, by the ordinary single-frame
code (:func:`custmgmt.analytics.features.customer_features`). numpy releases the GIL
in the kernels that carry the work (sorts, ``bincount``, gathers, arithmetic), so the
partitions run in parallel. The outputs are concatenated in partition order, which is
the customer order: no merge step.

Why partitions even on one thread: a partition's per-customer tables (the sums, the
``customer x category`` bitmap of ``category_breadth``) fit in the CPU caches, so the
time per order stays flat as the data grows, where one frame-wide table of ten
million customers makes every row a cache miss.

Exactness: every per-customer feature depends on that customer's rows only, in row
order (the split is stable), so each value is bit-for-bit what the single-frame engine
computes, for every thread and partition count. Population-wide quantities (the
percentile ranks and quantile bands of a rating, RFM quintiles, segment thresholds)
are computed afterwards on the concatenated per-customer table, hence exactly.

:func:`features_of_partition` is the unit of work: a pure function of one
partition's frames, which a cluster scheduler (Dask) can run on a worker and whose
outputs :func:`concat_features` joins.

>>> import numpy as np
>>> from datetime import datetime, timezone
>>> from custmgmt.analytics.frames import OrderFrame
>>> orders = OrderFrame.from_arrays(
...     customer_id=np.array([7, 9, 7, 3]),
...     placed_at=np.array(["2024-01-01", "2024-01-05", "2024-01-11", "2024-01-02"],
...                        dtype="datetime64[D]"),
...     amount=np.array([1000, 500, 3000, 200]), currency="CNY")
>>> f = customer_features(orders, as_of=datetime(2024, 1, 31, tzinfo=timezone.utc),
...                       features=["frequency", "monetary_net"], threads=2, partitions=3)
>>> f.customer_ids.tolist(), f["frequency"].tolist(), f["monetary_net"].tolist()
([3, 7, 9], [1, 2, 1], [200, 4000, 500])
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, TypeVar

import attrs
import numpy as np
import numpy.typing as npt

from custmgmt.analytics import features as _features
from custmgmt.analytics._grouping import (
    THREADS_ENV,
    _check_count,
    bucket_rows,
    code_dtype,
    default_threads,
    factorize_parallel,
)
from custmgmt.analytics.features import DEFAULT_WINDOWS, CustomerFeatures
from custmgmt.analytics.frames import InteractionFrame, OrderFrame
from custmgmt.errors import ValidationError

__all__ = [
    "THREADS_ENV",
    "concat_features",
    "customer_features",
    "default_threads",
    "factorize_parallel",
    "features_of_partition",
    "map_partitions",
    "partition_bounds",
    "split_frames",
]

AnyArray = npt.NDArray[Any]
I64 = npt.NDArray[np.int64]
T = TypeVar("T")
R = TypeVar("R")

#: Customers per partition the default aims at: small enough that a partition's
#: per-customer tables stay in cache, large enough that per-partition overhead is noise.
CUSTOMERS_PER_PARTITION = 1 << 16
#: Rows below which splitting is not worth it (one partition).
MIN_ROWS_TO_SPLIT = 1 << 17
#: At most this many partitions (a 2-byte partition number).
MAX_PARTITIONS = 1 << 16


def _threads(threads: int | None) -> int:
    return default_threads() if threads is None else _check_count("threads", threads)


def _run(threads: int, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """``[fn(x) for x in items]``, on a pool of ``threads`` threads when that helps."""
    if threads <= 1 or len(items) <= 1:
        return [fn(x) for x in items]
    with ThreadPoolExecutor(max_workers=min(threads, len(items))) as pool:
        return list(pool.map(fn, items))


def partition_bounds(
    n_customers: int, n_rows: int, threads: int = 1, partitions: int | None = None
) -> I64:
    """Code boundaries ``[0, b1, ..., n_customers]`` of equal-width customer ranges.

    ``partitions`` fixes the count (capped at one customer per partition); by default
    it is one on one thread or below 131072 rows, else the larger of the thread count
    and ``n_customers / 65536``.

    Raises:
        ValidationError: ``partitions`` or ``threads`` not a positive integer.
    """
    threads = _check_count("threads", threads)
    if partitions is None:
        if threads == 1 or n_rows < MIN_ROWS_TO_SPLIT:
            count = 1  # moving the rows costs more than the cache saves on one core
        else:
            count = max(threads, -(-n_customers // CUSTOMERS_PER_PARTITION))
    else:
        count = _check_count("partitions", partitions)
    count = max(1, min(count, n_customers, MAX_PARTITIONS))
    width = -(-n_customers // count) if n_customers else 1
    bounds = np.arange(0, n_customers + width, width, dtype=np.int64)
    bounds[-1] = n_customers
    return np.unique(bounds) if n_customers else np.zeros(2, dtype=np.int64)


def _partition_of(codes: AnyArray, width: int, n_parts: int) -> AnyArray:
    out = np.empty(len(codes), dtype=np.uint8 if n_parts <= 1 << 8 else np.uint16)
    step = 1 << 18
    for start in range(0, len(codes), step):
        block = codes[start : start + step] // width
        out[start : start + len(block)] = block
    return out


GATHER_BLOCK = 1 << 20


def _gather(column: AnyArray, rows: I64, pool: ThreadPoolExecutor | None) -> AnyArray:
    """``column[rows]`` in blocks spread over the pool (``take`` releases the GIL).
    Within a partition ``rows`` ascend, so the reads are P sequential streams."""
    out = np.empty(len(rows), dtype=column.dtype)

    def block(start: int) -> None:
        stop = min(start + GATHER_BLOCK, len(rows))
        np.take(column, rows[start:stop], out=out[start:stop], mode="clip")

    starts = range(0, len(rows), GATHER_BLOCK)
    if pool is None:
        for start in starts:
            block(start)
    else:
        list(pool.map(block, starts))
    return out


def _local_codes(
    codes: AnyArray, rows: I64, offsets: I64, bounds: I64, pool: ThreadPoolExecutor | None
) -> AnyArray:
    """The codes in partition order, made local to each partition (minus its first)."""
    out = _gather(codes, rows, pool)

    def shift(p: int) -> None:
        if bounds[p]:
            out[offsets[p] : offsets[p + 1]] -= out.dtype.type(bounds[p])

    parts = range(len(bounds) - 1)
    if pool is None:
        for p in parts:
            shift(p)
    else:
        list(pool.map(shift, parts))
    return out


def _width(bounds: I64) -> int:
    return max(int(bounds[1] - bounds[0]), 1) if len(bounds) > 1 else 1


PartFrames = tuple[OrderFrame | None, InteractionFrame | None]


def _order_parts(
    frame: OrderFrame, bounds: I64, customer_ids: AnyArray, pool: ThreadPoolExecutor | None
) -> list[OrderFrame]:
    n_parts = len(bounds) - 1
    rows, offsets = bucket_rows(
        _partition_of(frame.customer_code, _width(bounds), n_parts), n_parts
    )
    codes = _local_codes(frame.customer_code, rows, offsets, bounds, pool)
    cols: dict[str, Any] = {
        name: _gather(getattr(frame, name), rows, pool)
        for name in ("placed_at", "amount", "returned_amount", "status", "category")
    }
    line_parts: list[tuple[AnyArray | None, AnyArray | None]] = [(None, None)] * n_parts
    if frame.line_row is not None and frame.line_category is not None:
        # The row each order moved to, and the lines grouped by their order's partition.
        where = np.empty(len(rows), dtype=np.int64)
        where[rows] = np.arange(len(rows), dtype=np.int64)
        owner = frame.customer_code[frame.line_row]
        line_rows, line_offsets = bucket_rows(
            _partition_of(owner, _width(bounds), n_parts), n_parts
        )
        for p in range(n_parts):
            mine = line_rows[line_offsets[p] : line_offsets[p + 1]]
            local = where[frame.line_row[mine]] - offsets[p]
            line_parts[p] = (local, frame.line_category[mine])
    out = []
    for p in range(n_parts):
        part = slice(int(offsets[p]), int(offsets[p + 1]))
        size = part.stop - part.start
        # channel and order_id feed no feature: a constant view instead of a copy.
        out.append(
            attrs.evolve(
                frame,
                customer_code=codes[part],
                customer_ids=customer_ids[bounds[p] : bounds[p + 1]],
                channel=np.broadcast_to(np.asarray(-1, dtype=frame.channel.dtype), (size,)),
                channel_names=(),
                order_id=None,
                line_row=line_parts[p][0],
                line_category=line_parts[p][1],
                **{name: col[part] for name, col in cols.items()},
            )
        )
    return out


def _interaction_parts(
    frame: InteractionFrame,
    codes: AnyArray,
    bounds: I64,
    customer_ids: AnyArray,
    pool: ThreadPoolExecutor | None,
) -> list[InteractionFrame]:
    n_parts = len(bounds) - 1
    rows, offsets = bucket_rows(_partition_of(codes, _width(bounds), n_parts), n_parts)
    local = _local_codes(
        codes.astype(code_dtype(len(customer_ids)), copy=False), rows, offsets, bounds, pool
    )
    cols: dict[str, Any] = {
        name: _gather(getattr(frame, name), rows, pool)
        for name in ("at", "kind", "rating", "complaint_category", "resolved", "channel")
    }
    out = []
    for p in range(n_parts):
        part = slice(int(offsets[p]), int(offsets[p + 1]))
        out.append(
            attrs.evolve(
                frame,
                customer_code=local[part],
                customer_ids=customer_ids[bounds[p] : bounds[p + 1]],
                **{name: col[part] for name, col in cols.items()},
            )
        )
    return out


def split_frames(
    orders: OrderFrame | None,
    interactions: InteractionFrame | None = None,
    *,
    threads: int | None = None,
    partitions: int | None = None,
) -> tuple[AnyArray, list[PartFrames]]:
    """Split the frames into partitions of customers: ``(customer_ids, parts)``.

    ``customer_ids`` is the joint customer index (the orders' ids first, as in
    :func:`~custmgmt.analytics.features.customer_features`); ``parts[p]`` holds the
    frames of the ``p``-th range of it, with local customer codes, their rows in the
    original order. The rows are moved into partition order in one pass (a copy of
    the columns the features read, about the input's size), on ``threads`` threads.

    Raises:
        ValidationError: as :func:`customer_features`.
    """
    if orders is not None and not isinstance(orders, OrderFrame):
        raise ValidationError("orders", type(orders).__name__, "an OrderFrame or None")
    if interactions is not None and not isinstance(interactions, InteractionFrame):
        raise ValidationError(
            "interactions", type(interactions).__name__, "an InteractionFrame or None"
        )
    if orders is None and interactions is None:
        raise ValidationError("orders", None, "an OrderFrame and/or an InteractionFrame")
    n_threads = _threads(threads)
    customer_ids, interaction_codes = _features._align(orders, interactions)
    n_rows = (len(orders) if orders is not None else 0) + (
        len(interactions) if interactions is not None else 0
    )
    bounds = partition_bounds(len(customer_ids), n_rows, n_threads, partitions)
    n_parts = len(bounds) - 1
    pool = ThreadPoolExecutor(max_workers=n_threads) if n_threads > 1 else None
    try:
        order_parts: list[OrderFrame | None] = [None] * n_parts
        interaction_parts: list[InteractionFrame | None] = [None] * n_parts
        if orders is not None:
            order_parts = list(_order_parts(orders, bounds, customer_ids, pool))
        if interactions is not None and interaction_codes is not None:
            interaction_parts = list(
                _interaction_parts(interactions, interaction_codes, bounds, customer_ids, pool)
            )
    finally:
        if pool is not None:
            pool.shutdown()
    return customer_ids, list(zip(order_parts, interaction_parts, strict=True))


def features_of_partition(
    frames: PartFrames,
    *,
    as_of: datetime,
    features: Iterable[str] | None = None,
    windows: Sequence[int] = DEFAULT_WINDOWS,
) -> CustomerFeatures:
    """The features of one partition's frames: the unit of work, for a thread or a
    cluster worker alike (a pure function of its arguments)."""
    orders, interactions = frames
    return _features.customer_features(
        orders, interactions, as_of=as_of, features=features, windows=windows
    )


def concat_features(parts: Sequence[CustomerFeatures], customer_ids: AnyArray) -> CustomerFeatures:
    """Join partition outputs (in partition order) over the full ``customer_ids``.

    Raises:
        ValidationError: no parts, or parts that do not cover ``customer_ids``.
    """
    if not parts:
        raise ValidationError("parts", 0, "at least one partition's features")
    names = parts[0].names
    columns = {name: np.concatenate([np.asarray(part[name]) for part in parts]) for name in names}
    first = parts[0]
    return CustomerFeatures(
        customer_ids=customer_ids,
        columns=columns,
        as_of=first.as_of,
        currency=next((p.currency for p in parts if p.currency is not None), None),
        windows=first.windows,
    )


def customer_features(
    orders: OrderFrame | None,
    interactions: InteractionFrame | None = None,
    *,
    as_of: datetime,
    features: Iterable[str] | None = None,
    windows: Sequence[int] = DEFAULT_WINDOWS,
    threads: int | None = None,
    partitions: int | None = None,
) -> CustomerFeatures:
    """:func:`custmgmt.analytics.features.customer_features` on every core.

    The same arguments and the identical result (bit for bit, any ``threads`` and
    ``partitions``), computed per partition of customers in a thread pool.

    Args:
        threads: worker threads (default :func:`default_threads`).
        partitions: the number of customer ranges (default: see
            :func:`partition_bounds`).

    Raises:
        ValidationError: as the single-frame function; ``threads`` or ``partitions``
            not a positive integer; a bad ``CUSTMGMT_THREADS``.
    """
    n_threads = _threads(threads)
    if features is not None and not isinstance(features, str):
        features = tuple(features)
    if orders is not None and interactions is None and isinstance(orders, OrderFrame):
        n_customers, n_rows = orders.n_customers, len(orders)
    else:
        n_customers, n_rows = 0, 0  # decided after aligning the indexes
    if n_customers and len(partition_bounds(n_customers, n_rows, n_threads, partitions)) <= 2:
        return _features.customer_features(
            orders, interactions, as_of=as_of, features=features, windows=windows
        )
    customer_ids, parts = split_frames(
        orders, interactions, threads=n_threads, partitions=partitions
    )
    if len(parts) == 1:
        return _features.customer_features(
            orders, interactions, as_of=as_of, features=features, windows=windows
        )

    def one(frames: PartFrames) -> CustomerFeatures:
        return features_of_partition(frames, as_of=as_of, features=features, windows=windows)

    results = _run(n_threads, one, parts)
    return concat_features(results, customer_ids)


def map_partitions(threads: int, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """``[fn(x) for x in items]`` on a pool of ``threads`` threads (in order): the
    thread-pool helper the other per-customer analyses (segments, churn, CLV
    summaries) run their per-partition functions on."""
    return _run(_check_count("threads", threads), fn, items)
