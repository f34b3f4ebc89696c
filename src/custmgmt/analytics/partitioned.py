"""The partitioned engine: per-customer analytics on every core, linear in the rows.

Customers are split into ``P`` contiguous ranges of customer codes (codes are dense
and sorted by id, so a range of codes is a range of ids); the rows are grouped by
partition in one pass (a stable radix sort of each block of 65,536 rows by its 1- or
2-byte partition number, in cache), and each partition is computed on its own, in a
thread pool, by the ordinary single-frame code
(:func:`custmgmt.analytics.features.customer_features`). The partitions go in
:data:`WAVES` runs of about equal rows: a run's columns are moved into partition
order (read in order, written as one sequential stream per partition), its
partitions computed, and its copies freed before the next run is moved, so the
copies never hold more than a quarter of the rows. numpy releases the GIL
in the kernels that carry the work (sorts, ``bincount``, gathers, arithmetic), so the
partitions run in parallel. The outputs are concatenated in partition order, which is
the customer order: no merge step.

When to split: a partition's per-customer tables (the sums, the ``customer x
category`` bitmap of ``category_breadth``) fit in the CPU caches, where one frame-wide
table of ten million customers makes every row a cache miss; but moving the rows into
partition order costs a random access per row and column too. Only the columns the
requested features read are moved (:func:`~custmgmt.analytics.features.order_columns_read`,
plus ``placed_at`` and ``status`` when rows are late or cancelled); the others reach
the partitions as constants. Measured, the move pays for itself from three threads
for the features (:data:`FEATURES_MIN_THREADS_TO_SPLIT`) and from two for the heavier
per-partition work of segments, churn and CLV summaries (:func:`partition_bounds`);
on one thread the single frame is used, and on two the single frame with its
independent aggregates (counts, money sums, the category bitmap) computed side by
side on the threads.

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

import contextlib
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, TypeVar

import attrs
import numpy as np
import numpy.typing as npt

from custmgmt.analytics import features as _features
from custmgmt.analytics._grouping import (
    THREADS_ENV,
    Grouping,
    _check_count,
    code_dtype,
    count_groups,
    default_threads,
    factorize_parallel,
    group_rows,
)
from custmgmt.analytics.features import DEFAULT_WINDOWS, CustomerFeatures
from custmgmt.analytics.frames import InteractionFrame, OrderFrame
from custmgmt.errors import ValidationError

__all__ = [
    "THREADS_ENV",
    "Grouping",
    "concat_features",
    "customer_features",
    "default_threads",
    "factorize_parallel",
    "features_of_partition",
    "group_rows",
    "map_partitions",
    "partition_bounds",
    "run_on_threads",
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
#: Partitions per thread at least: a task gathers its partition's columns, so the
#: partitions in flight (one per thread) hold at most a quarter of the rows' copies.
PARTITIONS_PER_THREAD = 4
#: Threads from which :func:`customer_features` splits by default. Its scans are
#: light (a few ``bincount`` passes), so moving the columns into partition order costs
#: about what a second core saves: on two threads the single frame was faster at every
#: size measured (the rating's three features, 2026-12-06, quiet 2-core machine:
#: 29 / 33 / 38 ns an order single against 38 / 35 / 45 split at 1e7 / 3e7 / 1e8).
#: Segments, churn and CLV summaries do more per row, and split from two threads.
FEATURES_MIN_THREADS_TO_SPLIT = 3
#: At most this many partitions (a 2-byte partition number).
MAX_PARTITIONS = 1 << 16


def _threads(threads: int | None) -> int:
    return default_threads() if threads is None else _check_count("threads", threads)


@contextlib.contextmanager
def _pool(threads: int) -> Iterator[ThreadPoolExecutor | None]:
    """A pool of ``threads`` threads, or None on one thread (the work runs inline)."""
    if threads <= 1:
        yield None
        return
    with ThreadPoolExecutor(max_workers=threads) as pool:
        yield pool


def partition_bounds(
    n_customers: int, n_rows: int, threads: int = 1, partitions: int | None = None
) -> I64:
    """Code boundaries ``[0, b1, ..., n_customers]`` of equal-width customer ranges.

    ``partitions`` fixes the count (capped at one customer per partition); by default
    it is one on one thread or below 131072 rows, else the larger of four per thread
    (so the partitions in flight, one per thread, hold a quarter of the rows) and
    ``n_customers / 65536``.

    Raises:
        ValidationError: ``partitions`` or ``threads`` not a positive integer.
    """
    threads = _check_count("threads", threads)
    if partitions is None:
        if threads == 1 or n_rows < MIN_ROWS_TO_SPLIT:
            count = 1  # moving the rows costs more than the cache saves on one core
        else:
            count = max(
                PARTITIONS_PER_THREAD * threads, -(-n_customers // CUSTOMERS_PER_PARTITION)
            )
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


#: Waves the partitions are moved and computed in: each wave's copy of the columns
#: holds about a quarter of the rows, freed when its partitions are done.
WAVES = 4


def _width(bounds: I64) -> int:
    return max(int(bounds[1] - bounds[0]), 1) if len(bounds) > 1 else 1


PartFrames = tuple[OrderFrame | None, InteractionFrame | None]

_ORDER_COLUMNS = ("customer_code", "placed_at", "amount", "returned_amount", "status", "category")
_INTERACTION_COLUMNS = (
    "customer_code", "at", "kind", "rating", "complaint_category", "resolved", "channel"
)


class _FrameSplit:
    """One frame's rows split by partition: the partition of each row and the counts
    at first; :meth:`group` then groups the rows (for given waves) and :meth:`parts`
    moves a wave's columns and cuts its partitions' frames."""

    def __init__(
        self,
        frame: OrderFrame | InteractionFrame,
        codes: AnyArray,
        bounds: I64,
        customer_ids: AnyArray,
        reads: frozenset[str] | None = None,
    ) -> None:
        self.frame, self.codes, self.bounds = frame, codes, bounds
        self.reads = reads
        self.customer_ids = customer_ids
        n_parts = len(bounds) - 1
        self.keys: AnyArray | None = _partition_of(codes, _width(bounds), n_parts)
        self.counts = count_groups(self.keys, n_parts)
        self.lines: list[tuple[AnyArray | None, AnyArray | None]] = [(None, None)] * n_parts

    def _source(self, name: str) -> AnyArray:
        """The column ``name`` of the frame, or, for an order column the work does not
        read, its first value repeated (a broadcast view: moving it costs nothing)."""
        column: AnyArray = getattr(self.frame, name)
        if self.reads is None or name in self.reads or not len(column):
            return column
        return np.broadcast_to(column[:1], column.shape)

    def group(self, firsts: I64, pool: ThreadPoolExecutor | None) -> None:
        assert self.keys is not None
        self.grouping = group_rows(self.keys, self.counts, firsts, pool)
        self.keys = None  # 1 or 2 bytes a row, not needed once grouped
        frame, bounds, n_parts = self.frame, self.bounds, len(self.bounds) - 1
        line_row = getattr(frame, "line_row", None)
        line_category = getattr(frame, "line_category", None)
        if line_row is not None and line_category is not None:
            # Each line follows its order: the order's new row, local to the partition
            # (lines are rare enough that these stay whole-frame arrays).
            where = self.grouping.where()
            owner = _partition_of(self.codes[line_row], _width(bounds), n_parts)
            lines = np.argsort(owner, kind="stable")
            line_offsets = np.zeros(n_parts + 1, dtype=np.int64)
            np.cumsum(np.bincount(owner, minlength=n_parts), out=line_offsets[1:])
            offsets = self.grouping.offsets
            for p in range(n_parts):
                mine = lines[line_offsets[p] : line_offsets[p + 1]]
                local = where[line_row[mine]].astype(np.int64) - offsets[p]
                self.lines[p] = (local, line_category[mine])

    def parts(self, wave: int, pool: ThreadPoolExecutor | None) -> list[Any]:
        """The frames of the partitions of wave ``wave``."""
        frame, bounds, grouping = self.frame, self.bounds, self.grouping
        offsets, firsts = grouping.offsets, grouping.firsts
        first, stop = int(firsts[wave]), int(firsts[wave + 1])
        base = int(offsets[first])
        names = _ORDER_COLUMNS if isinstance(frame, OrderFrame) else _INTERACTION_COLUMNS
        sources = [
            self.codes if name == "customer_code" else self._source(name) for name in names
        ]
        moved = dict(zip(names, grouping.move(sources, wave, pool), strict=True))
        out = []
        for p in range(first, stop):
            cut = slice(int(offsets[p]) - base, int(offsets[p + 1]) - base)
            columns: dict[str, Any] = {name: column[cut] for name, column in moved.items()}
            if bounds[p]:
                columns["customer_code"] -= columns["customer_code"].dtype.type(bounds[p])
            if isinstance(frame, OrderFrame):
                # channel and order_id feed no feature: a constant view, not a copy.
                size = cut.stop - cut.start
                columns["channel"] = np.broadcast_to(
                    np.asarray(-1, dtype=frame.channel.dtype), (size,)
                )
                columns.update(
                    channel_names=(),
                    order_id=None,
                    line_row=self.lines[p][0],
                    line_category=self.lines[p][1],
                )
            out.append(
                attrs.evolve(
                    frame, customer_ids=self.customer_ids[bounds[p] : bounds[p + 1]], **columns
                )
            )
        return out


class _Split:
    """Both frames split by the same customer ranges, grouped for ``waves`` runs of
    consecutive partitions of about equal rows; :meth:`frames` moves one wave's rows
    and builds its partitions' frames."""

    def __init__(
        self,
        orders: OrderFrame | None,
        interactions: InteractionFrame | None,
        threads: int,
        partitions: int | None,
        waves: int = 1,
        reads: Collection[str] | None = None,
        pool: ThreadPoolExecutor | None = None,
    ) -> None:
        if orders is not None and not isinstance(orders, OrderFrame):
            raise ValidationError("orders", type(orders).__name__, "an OrderFrame or None")
        if interactions is not None and not isinstance(interactions, InteractionFrame):
            raise ValidationError(
                "interactions", type(interactions).__name__, "an InteractionFrame or None"
            )
        if orders is None and interactions is None:
            raise ValidationError("orders", None, "an OrderFrame and/or an InteractionFrame")
        customer_ids, interaction_codes = _features._align(orders, interactions)
        n_rows = (len(orders) if orders is not None else 0) + (
            len(interactions) if interactions is not None else 0
        )
        self.customer_ids = customer_ids
        self.bounds = partition_bounds(len(customer_ids), n_rows, threads, partitions)
        self.n_parts = len(self.bounds) - 1
        self.splits: list[_FrameSplit | None] = [None, None]
        self.n_waves = 1
        if self.n_parts == 1:
            return
        if orders is not None:
            self.splits[0] = _FrameSplit(
                orders,
                orders.customer_code,
                self.bounds,
                customer_ids,
                None if reads is None else frozenset(reads),
            )
        if interactions is not None and interaction_codes is not None:
            codes = interaction_codes.astype(code_dtype(len(customer_ids)), copy=False)
            self.splits[1] = _FrameSplit(interactions, codes, self.bounds, customer_ids)
        sizes = sum(split.counts for split in self.splits if split is not None)
        firsts = _wave_firsts(np.asarray(sizes, dtype=np.int64), waves)
        self.n_waves = len(firsts) - 1
        for split in self.splits:
            if split is not None:
                split.group(firsts, pool)

    def frames(self, wave: int, pool: ThreadPoolExecutor | None) -> list[PartFrames]:
        orders, interactions = (
            split.parts(wave, pool) if split is not None else None for split in self.splits
        )
        n = len(orders if orders is not None else interactions or ())
        return list(zip(orders or [None] * n, interactions or [None] * n, strict=True))


def _wave_firsts(sizes: I64, waves: int) -> I64:
    """The first partition of each of up to ``waves`` runs of consecutive partitions
    with about equal rows, and the partition count: ``[0, ..., len(sizes)]``."""
    ends = np.cumsum(sizes)
    target = -(-int(ends[-1]) // waves) if len(ends) and ends[-1] else 1
    cuts = np.searchsorted(ends, np.arange(1, waves, dtype=np.int64) * target, side="left") + 1
    inner = [int(c) for c in np.unique(cuts) if 0 < c < len(sizes)]
    return np.array([0, *inner, len(sizes)], dtype=np.int64)


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
    original order. This holds every partition's copy of the columns the features
    read at once (about the input's size); :func:`customer_features` instead gathers
    each partition inside its own task, so only the partitions in flight are copied.

    Raises:
        ValidationError: as :func:`customer_features`.
    """
    n_threads = _threads(threads)
    with _pool(n_threads) as pool:
        split = _Split(orders, interactions, n_threads, partitions, pool=pool)
        if split.n_parts == 1:
            return split.customer_ids, [(orders, interactions)]
        return split.customer_ids, split.frames(0, pool)


def map_partitions(
    fn: Callable[[PartFrames], R],
    orders: OrderFrame | None,
    interactions: InteractionFrame | None = None,
    *,
    threads: int | None = None,
    partitions: int | None = None,
    reads: Collection[str] | None = None,
) -> tuple[AnyArray, list[R]]:
    """``fn`` applied to every partition's frames, on ``threads`` threads:
    ``(customer_ids, [fn(parts[0]), fn(parts[1]), ...])`` as with
    :func:`split_frames`, without holding every partition's copy at once.

    ``reads`` names the order columns (of
    :data:`~custmgmt.analytics.features.ORDER_COLUMNS`) ``fn`` reads; the others are
    not moved, and reach ``fn`` as their first value repeated. None: every column.

    The partitions are moved and computed in :data:`WAVES` runs of about equal rows;
    a run's copies are freed before the next is moved, so the copy of the columns is
    a quarter of the rows at a time. With one partition, ``fn`` gets the frames
    themselves (no copy). ``fn`` runs on the pool's threads: it must be thread-safe
    (a pure function of its frames is).

    Raises:
        ValidationError: as :func:`customer_features`.
    """
    n_threads = _threads(threads)
    if reads is not None:
        reads = _check_reads(reads)
    results: list[R] = []
    with _pool(n_threads) as pool:
        split = _Split(orders, interactions, n_threads, partitions, WAVES, reads, pool)
        if split.n_parts == 1:
            return split.customer_ids, [fn((orders, interactions))]
        for wave in range(split.n_waves):
            frames = split.frames(wave, pool)
            results += [fn(f) for f in frames] if pool is None else list(pool.map(fn, frames))
            del frames  # this wave's copies go before the next wave's are made
    return split.customer_ids, results


def _check_reads(reads: Any) -> frozenset[str]:
    names = _features.ORDER_COLUMNS
    if isinstance(reads, str) or not isinstance(reads, Iterable):
        raise ValidationError("reads", reads, f"a collection of column names among {names}")
    chosen = list(reads)
    for name in chosen:
        if name not in names:
            raise ValidationError("reads", name, f"an order column among {names}")
    return frozenset(chosen)


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
    ``partitions``), computed per partition of customers in a thread pool
    (:func:`map_partitions`). Extra memory beyond the frames: 6 bytes a row for the
    grouping, a quarter of the rows' copy of the columns the features read at a time,
    and the per-customer outputs.

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
    few_threads = partitions is None and n_threads < FEATURES_MIN_THREADS_TO_SPLIT
    if few_threads or (
        n_customers and len(partition_bounds(n_customers, n_rows, n_threads, partitions)) <= 2
    ):
        return _features._features_on_threads(
            orders, interactions, as_of=as_of, features=features, windows=windows,
            threads=n_threads,
        )
    names = features
    reads = None
    if isinstance(orders, OrderFrame) and (names is None or isinstance(names, tuple)):
        # Only the columns the features read, and those that leave rows out, are moved.
        reads = _features.order_columns_read(names) | _features.order_columns_masking(
            orders, as_of
        )

    def one(frames: PartFrames) -> CustomerFeatures:
        return features_of_partition(frames, as_of=as_of, features=names, windows=windows)

    customer_ids, results = map_partitions(
        one, orders, interactions, threads=n_threads, partitions=partitions, reads=reads
    )
    if len(results) == 1:
        return results[0]
    return concat_features(results, customer_ids)


def run_on_threads(threads: int, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """``[fn(x) for x in items]`` on a pool of ``threads`` threads (in order): the
    thread-pool helper the other per-customer analyses (segments, churn, CLV
    summaries) run their per-partition functions on."""
    n_threads = _check_count("threads", threads)
    if n_threads <= 1 or len(items) <= 1:
        return [fn(x) for x in items]
    with ThreadPoolExecutor(max_workers=min(n_threads, len(items))) as pool:
        return list(pool.map(fn, items))
