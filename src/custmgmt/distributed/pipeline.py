"""Ratings, segments, churn and CLV on a Dask cluster, equal to one machine's.

The graph of every analysis has one shape::

    Parquet pieces --read/normalise--> one hash shuffle by customer id
        --stage 1 (per partition)--> per-customer features, small population vectors
        --gather (one task)--> population quantities (cut points, quintiles, fits)
        --stage 2 (per partition)--> per-customer results (a Dask DataFrame)

* **One shuffle.** Orders are normalised where they are read (int64 µs, int64 minor
  units, int8 status codes: the least that crosses the network) and shuffled once by
  a hash of the customer id, so each customer's orders meet in one partition. Within
  a partition the rows are put back in dataset order (each row carries its ordinal),
  so every per-customer value is what the single-frame code computes, bit for bit.
* **Interactions, optionally.** With ``interactions=`` (:func:`read_interactions`),
  they are normalised where read and shuffled once too, by the same hash into the
  same number of partitions: partition ``i`` of both holds the same customers, and
  its ``InteractionFrame`` is built on its orders' customer index, as on one machine.
* **The library's own code per partition.** Stage 1 and stage 2 call the same
  functions the single-machine commands call (``rated_features``, ``rate`` with a
  frozen scale, ``segment_features``, ``Scheme.assign``, ``ChurnEngine.evaluate``,
  ``summarize_transactions``, the CLV models' predictions).
* **Population quantities exactly.** What depends on everyone is computed once from
  vectors gathered from all partitions: the rating's percentile references and star
  band cut points (the fitted :class:`~custmgmt.rating.result.RatingScale`), rule
  schemes' quantile cuts, RFM quintile cuts, the purchase-cycle fallbacks (the own
  cycles' median or mean, each category's; a mean's values put in customer order
  first, so it sums as one frame does), and the CLV models and the churn model rule's
  BG/NBD, fitted on the distinct (frequency, recency, T) rows with their counts as
  weights.
* **Memory.** A worker holds its partitions (orders, then per-customer tables); the
  client holds the gathered vectors and, only when :meth:`collect` is called, the
  per-customer results.

Use :func:`read_orders` (Parquet) or :func:`from_dask` (any Dask DataFrame of the
CSV's columns), then :func:`rate`, :func:`segment` or :func:`clv`. Each returns a
result whose ``frame`` is a lazy Dask DataFrame, one row per customer, and whose
``collect()`` gives the single-machine result object (``Rating``, ``SegmentReport``,
``ClvReport``). dask, distributed and pyarrow are the ``dask`` extra, imported when
a function here runs.
"""

from __future__ import annotations

import itertools
import math
import os
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from custmgmt._extras import require
from custmgmt.analytics.clv import (
    BetaGeo,
    ClvReport,
    GammaGamma,
    ModelFit,
    ParetoNBD,
)
from custmgmt.analytics.clv._partitioned import summarize_partition
from custmgmt.analytics.clv._report import MODELS, SpendExclusion, SummaryReady
from custmgmt.analytics.clv._summary import TransactionSummary, normalise_unit
from custmgmt.analytics.features import (
    CustomerFeatures,
    customer_features,
    describe_feature,
    unsupported_features,
)
from custmgmt.analytics.frames import InteractionFrame, OrderFrame, counted_mask
from custmgmt.analytics.partitioned import concat_features
from custmgmt.churn import ChurnEngine
from custmgmt.churn import partitioned as churn_parts
from custmgmt.churn.partitioned import check_engine, concat_churn
from custmgmt.distributed._partitions import (
    dataset_id_kind,
    empty_partition,
    frame_columns,
    frame_id_kind,
    partition_table,
)
from custmgmt.distributed.interactions import DistributedInteractions, columns_to_interactions
from custmgmt.distributed.parquet import (
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    ROW_BITS,
    ParquetDataset,
    PieceColumns,
    columns_to_frame,
    dataset,
    normalise_table,
    read_piece,
)
from custmgmt.domain._validate import check_aware, check_id
from custmgmt.domain.time import require_aware, to_epoch_micros
from custmgmt.errors import ConvergenceError, ValidationError
from custmgmt.rating.policy import RatingPolicy
from custmgmt.rating.ports import RatingStore
from custmgmt.rating.records import RatingRun
from custmgmt.rating.result import PreviousStars, Rating, RatingScale
from custmgmt.rating.result import rate as rate_features
from custmgmt.rating.result_columns import RatingResults
from custmgmt.scoring.weighted import sum_contributions
from custmgmt.segmentation.partitioned import (
    SegmentPart,
    SegmentPopulation,
    SegmentResult,
    concat_rfm,
    segment_apply,
    segment_gather,
    segment_population,
)
from custmgmt.segmentation.presets import shipped_schemes
from custmgmt.segmentation.report import SegmentReport
from custmgmt.segmentation.schemes import Scheme, Segmentation

__all__ = [
    "DEFAULT_ROWS_PER_PARTITION",
    "DEFAULT_SAVE_CHUNK_ROWS",
    "MAX_PARTITIONS",
    "SHUFFLE_LAYER_NAMES",
    "Analysis",
    "DistributedClv",
    "DistributedOrders",
    "DistributedRating",
    "DistributedSegments",
    "analyse",
    "clv",
    "from_dask",
    "rate",
    "read_orders",
    "segment",
    "shuffle_layers",
]

#: Rows per input piece by default (a piece is whole row groups of one file).
DEFAULT_ROWS_PER_PARTITION = 1 << 21
#: The most partitions of customers a shuffle may make (``npartitions``): each is a
#: task on the scheduler, and a graph of millions of them fills its memory.
MAX_PARTITIONS = 10_000
#: Customers per chunk by default when a rating run is saved from the cluster.
DEFAULT_SAVE_CHUNK_ROWS = 1 << 20
#: Ids sampled per chunk to place the cuts between chunks (their sizes vary by
#: about 1 / sqrt of this).
_SAMPLES_PER_CHUNK = 64

AnyArray = npt.NDArray[Any]
_TEXT = ("category", "channel", "order_id")


def _dd() -> Any:
    return require("dask.dataframe", extra="dask", purpose="analyses on a Dask cluster")


def _delayed() -> Any:
    return require("dask", extra="dask", purpose="analyses on a Dask cluster").delayed


# -- input -----------------------------------------------------------------------------
@attrs.frozen(kw_only=True, eq=False)
class DistributedOrders:
    """Orders as a Dask DataFrame of normalised columns (see :class:`PieceColumns`).

    Attributes:
        frame: the Dask DataFrame, one partition per input piece.
        currency: the currency of every amount (minor units).
        source: what was read, for messages.
    """

    frame: Any
    currency: str
    source: str

    @property
    def npartitions(self) -> int:
        """Input partitions."""
        return int(self.frame.npartitions)


def _pandas_of(columns: PieceColumns) -> Any:
    pd = require("pandas", extra="pandas", purpose="Dask partitions")
    data = columns.as_dict()
    out = pd.DataFrame({k: v for k, v in data.items() if k not in _TEXT})
    for name in _TEXT:
        if name in data:
            out[name] = pd.Series(data[name], dtype=object)
    if out["customer_id"].dtype != np.int64:
        out["customer_id"] = pd.Series(data["customer_id"], dtype=object)
    return out


def _read_piece_frame(
    piece: tuple[int, tuple[int, ...]], data: ParquetDataset, currency: str, tz: str
) -> Any:
    return _pandas_of(read_piece(data, piece[0], piece[1], currency=currency, tz=tz))


#: The normalised columns after ``customer_id``, with their dtypes (the ``_TEXT``
#: columns the dataset has come last).
_TYPED = {
    "row": np.int64,
    "placed_at": np.int64,
    "amount": np.int64,
    "returned_amount": np.int64,
    "status": np.int8,
}


def _meta(id_kind: str, columns: Iterable[str]) -> Any:
    names = set(columns)
    return empty_partition(id_kind, _TYPED, [name for name in _TEXT if name in names])


def read_orders(
    source: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    currency: str = "CNY",
    tz: str = "Asia/Shanghai",
    rows_per_partition: int = DEFAULT_ROWS_PER_PARTITION,
) -> DistributedOrders:
    """A Parquet dataset of orders as a Dask DataFrame, checked from the footers now
    and per piece when read (errors name the file; see
    :mod:`custmgmt.distributed.parquet`).

    Raises:
        ValidationError: no file, no row, a missing column (naming file and column).
        MissingDependency: the ``dask`` extra is not installed.
    """
    dd = _dd()
    data = dataset(source)
    id_kind = dataset_id_kind(data, purpose="reading Parquet orders")
    frame = dd.from_map(
        _read_piece_frame,
        data.pieces(rows_per_partition),
        data=data,
        currency=currency,
        tz=tz,
        meta=_meta(id_kind, data.columns),
        label="custmgmt-orders",
        enforce_metadata=False,
    )
    return DistributedOrders(frame=frame, currency=currency, source=data.source)


def _normalise_partition(pdf: Any, currency: str, tz: str, partition_info: Any = None) -> Any:
    number, known, table = partition_table(
        pdf, (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS), partition_info, purpose="Dask partitions"
    )
    normalised = normalise_table(
        table,
        label=f"partition {number}",
        columns=known,
        first_row=number << ROW_BITS,
        currency=currency,
        tz=tz,
    )
    return _pandas_of(normalised)


def from_dask(frame: Any, *, currency: str = "CNY", tz: str = "Asia/Shanghai") -> DistributedOrders:
    """Any Dask DataFrame with the orders CSV's columns (types as in Parquet, see
    :mod:`custmgmt.distributed.parquet`), normalised per partition; errors name the
    partition ("partition 3: column amount").

    Raises:
        ValidationError: not a Dask DataFrame, a required column missing from the
            frame, or a column given twice (names differing in case only).
    """
    names = frame_columns(frame, (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS), what="frame")
    for column in ("customer_id", "placed_at", "amount"):
        if column not in names:
            raise ValidationError(f"frame: column {column}", None, "the column")
    normalised = frame.map_partitions(
        _normalise_partition,
        currency,
        tz,
        meta=_meta(frame_id_kind(frame), names),
        enforce_metadata=False,
    )
    return DistributedOrders(frame=normalised, currency=currency, source="a Dask DataFrame")


# -- the shuffle -----------------------------------------------------------------------
def _by_customer(orders: DistributedOrders, npartitions: int | None) -> list[Any]:
    if not isinstance(orders, DistributedOrders):
        raise ValidationError("orders", type(orders).__name__, "DistributedOrders (read_orders)")
    count = min(orders.npartitions, MAX_PARTITIONS) if npartitions is None else npartitions
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_PARTITIONS:
        raise ValidationError(
            "npartitions", npartitions, f"a positive integer up to {MAX_PARTITIONS:,}"
        )
    shuffled = orders.frame.shuffle(on="customer_id", npartitions=count)
    return list(shuffled.to_delayed())


def _frames(orders: DistributedOrders, npartitions: int | None) -> list[Any]:
    """One delayed :class:`OrderFrame` (or None) per partition of customers."""
    delayed = _delayed()
    return [
        delayed(_frame_of, pure=True)(p, orders.currency) for p in _by_customer(orders, npartitions)
    ]


def _inputs(
    orders: DistributedOrders,
    interactions: DistributedInteractions | None,
    npartitions: int | None,
) -> tuple[list[Any], list[Any] | None]:
    """The per-partition frames: delayed ``OrderFrame`` (or None) and, with
    interactions, delayed ``InteractionFrame`` (or None) of the same customers.

    Each dataset is shuffled once, by the same hash of the customer id into the same
    number of partitions, so partition ``i`` of both holds the same customers; its
    interactions are built on its orders' customer index (``customer_index=orders``,
    as on one machine), and a partition with interactions but no orders gets an
    order frame without rows, so its customers are still seen.
    """
    if interactions is None:
        return _frames(orders, npartitions), None
    if not isinstance(interactions, DistributedInteractions):
        raise ValidationError(
            "interactions",
            type(interactions).__name__,
            "DistributedInteractions (read_interactions) or None",
        )
    if interactions.id_kind != _id_kind(orders):
        kinds = {"i": "integer", "O": "text"}
        raise ValidationError(
            f"{interactions.source}: column customer_id",
            kinds[interactions.id_kind],
            f"{kinds[_id_kind(orders)]} ids, as the orders' ({orders.source})",
        )
    delayed = _delayed()
    by_customer = _by_customer(orders, npartitions)
    shuffled = interactions.frame.shuffle(on="customer_id", npartitions=len(by_customer))
    pairs = [
        delayed(_pair_of, pure=True)(o, i, orders.currency)
        for o, i in zip(by_customer, shuffled.to_delayed(), strict=True)
    ]
    frames = [delayed(_first, pure=True)(p) for p in pairs]
    found = [delayed(_second, pure=True)(p) for p in pairs]
    return frames, found


def _first(pair: tuple[Any, Any]) -> Any:
    return pair[0]


def _second(pair: tuple[Any, Any]) -> Any:
    return pair[1]


def _pair_of(
    orders: Any, interactions: Any, currency: str
) -> tuple[OrderFrame | None, InteractionFrame | None]:
    frame = _frame_of(orders, currency, empty=len(interactions) > 0)
    if frame is None:
        return None, None
    columns: dict[str, Any] = {}
    for name in interactions.columns:
        series = interactions[name]
        if name == "channel" or (name == "customer_id" and series.dtype.kind not in "iu"):
            columns[name] = series.to_numpy(dtype=object, na_value=None)
        else:
            columns[name] = series.to_numpy()
    return frame, columns_to_interactions(columns, customer_index=frame)


def _orders_only(frame: OrderFrame | None) -> OrderFrame | None:
    """None for a partition's frame without rows (interactions but no orders)."""
    return frame if frame is not None and len(frame) else None


#: Task-name prefixes that occur once per shuffle, one per method: disk (no
#: cluster), p2p (distributed's default) and the task-based shuffle.
SHUFFLE_LAYER_NAMES = ("diskshuffle", "shuffle-barrier", "shuffle-group")


def shuffle_layers(collection: Any) -> int:
    """How many shuffles the graph of a Dask collection performs: the distinct
    ``<prefix>-<token>`` names among its tasks for the prefixes of
    :data:`SHUFFLE_LAYER_NAMES`."""
    found: set[str] = set()
    for key in collection.__dask_graph__():
        name = str(key[0] if isinstance(key, tuple) else key)
        prefix, _, token = name.rpartition("-")
        if prefix in SHUFFLE_LAYER_NAMES:
            found.add(name if token else prefix)
    return len(found)


def _frame_of(pdf: Any, currency: str, empty: bool = False) -> OrderFrame | None:
    """The partition's ``OrderFrame``; without rows, None (or, with ``empty``, a
    frame without rows, for a partition of interactions only)."""
    if len(pdf) == 0 and not empty:
        return None
    columns: dict[str, Any] = {}
    for name in pdf.columns:
        series = pdf[name]
        if name in _TEXT or (name == "customer_id" and series.dtype.kind not in "iu"):
            columns[name] = series.to_numpy(dtype=object, na_value=None)
        else:
            columns[name] = series.to_numpy()
    return columns_to_frame(columns, currency=currency)


def _order(ids: AnyArray) -> npt.NDArray[np.intp]:
    return np.argsort(ids, kind="stable")


def _take(value: Any, order: npt.NDArray[np.intp]) -> Any:
    return value[order] if isinstance(value, np.ndarray) else value


def _concat_arrays(parts: Sequence[AnyArray], order: npt.NDArray[np.intp]) -> AnyArray:
    return np.concatenate(parts)[order]


def _rows_frame(columns: dict[str, AnyArray]) -> Any:
    pd = require("pandas", extra="pandas", purpose="Dask results")
    out = pd.DataFrame({k: v for k, v in columns.items() if k != "customer_id"})
    out.insert(0, "customer_id", pd.Series(columns["customer_id"], dtype=_id_dtype(columns)))
    return out


def _id_dtype(columns: dict[str, AnyArray]) -> Any:
    ids = np.asarray(columns["customer_id"])
    return np.int64 if ids.dtype.kind in "iu" else object


def _compute(parts: Sequence[Any], population: Any) -> tuple[list[Any], Any]:
    dask = require("dask", extra="dask", purpose="analyses on a Dask cluster")
    *done, whole = dask.compute(*parts, population)
    return done, whole


def _from_delayed(parts: list[Any], meta: Any) -> Any:
    return _dd().from_delayed(parts, meta=meta, verify_meta=False)


# -- rating ----------------------------------------------------------------------------
@attrs.frozen(kw_only=True, eq=False)
class _RatePart:
    features: CustomerFeatures | None
    policy: RatingPolicy | None
    unrated: int
    unsupported: dict[str, str]
    #: Customers with interactions and no order (unrated when the policy reads
    #: interactions, as on one machine, where they are then in the feature table).
    extra: int = 0


def _rate_one(
    frame: OrderFrame | None,
    policy: RatingPolicy,
    as_of: datetime,
    interactions: InteractionFrame | None = None,
) -> _RatePart:
    """Stage 1: the rated customers' features of every feature of the policy the
    partition's frames have (which of them the whole input supports is decided once
    everyone is seen)."""
    if frame is None:
        return _RatePart(features=None, policy=None, unrated=0, unsupported={})
    extra = 0 if interactions is None else len(interactions.customer_ids) - len(frame.customer_ids)
    if not len(frame):  # interactions only: nobody to rate
        return _RatePart(features=None, policy=None, unrated=0, unsupported={}, extra=extra)
    sources = ("orders",) if interactions is None else ("orders", "interactions")
    names = [n for n in policy.features if describe_feature(n).source in sources]
    reads = any(describe_feature(n).source == "interactions" for n in names)
    table = customer_features(
        frame,
        interactions if reads else None,
        as_of=as_of,
        features=[*names, "frequency"] if "frequency" not in names else names,
    )
    rated = np.asarray(table["frequency"]) > 0
    columns = {name: np.asarray(table[name])[rated] for name in names}
    features = attrs.evolve(
        table, customer_ids=np.asarray(table.customer_ids)[rated], columns=columns
    )
    return _RatePart(
        features=features,
        policy=policy,
        unrated=int(len(frame.customer_ids) - int(rated.sum())),
        unsupported=unsupported_features(policy.features, frame, interactions),
        extra=extra,
    )


def _rate_population(
    parts: list[_RatePart],
) -> tuple[RatingPolicy, RatingScale, int, dict[str, str]]:
    """The policy the whole input supports and its scale fitted on everyone, as
    :func:`custmgmt.rating.inputs.rated_features` and ``rate`` decide them."""
    found = [p for p in parts if p.features is not None and p.policy is not None]
    if not found:
        raise ValidationError("orders", 0, "at least one order")
    policy = found[0].policy
    assert policy is not None
    # Unsupported on one machine means no row anywhere supports it.
    unsupported = dict(found[0].unsupported)
    for p in found[1:]:
        unsupported = {k: v for k, v in unsupported.items() if k in p.unsupported}
    if unsupported:
        if policy.missing_input == "refuse":
            why = "; ".join(f"{k}: {v}" for k, v in unsupported.items())
            raise ValidationError(
                "policy.features", sorted(unsupported), f"features the input supports ({why})"
            )
        policy = policy.without(unsupported)
    used = list(policy.features)
    tables = []
    for p in found:
        assert p.features is not None
        tables.append(
            attrs.evolve(p.features, columns={n: np.asarray(p.features[n]) for n in used})
        )
    ids = np.concatenate([np.asarray(t.customer_ids) for t in tables])
    table = concat_features(tables, ids)
    # Exactly what rate() fits on the whole population.
    fitted, contributions = policy.scorer.fit_contributions(table)
    score = sum_contributions(contributions.values(), len(ids))
    scale = RatingScale(fitted=fitted, thresholds=policy.bands.thresholds(score))
    unrated = sum(p.unrated for p in parts)
    if any(describe_feature(n).source == "interactions" for n in used):
        unrated += sum(p.extra for p in parts)
    return policy, scale, unrated, unsupported


def _rate_two(
    part: _RatePart,
    population: tuple[RatingPolicy, RatingScale, int, dict[str, str]],
    previous: PreviousStars | None,
    as_of: datetime,
) -> Rating | None:
    if part.features is None:
        return None
    policy, scale, _, _ = population
    features = attrs.evolve(
        part.features, columns={n: np.asarray(part.features[n]) for n in policy.features}
    )
    return rate_features(policy, features, previous, as_of=as_of, scale=scale)


def _rating_rows(rating: Rating | None, names: tuple[str, ...], id_kind: str) -> Any:
    if rating is None:
        return _rating_meta(names, id_kind)
    columns: dict[str, AnyArray] = {
        "customer_id": np.asarray(rating.customer_ids),
        "score": rating.score,
        "stars": rating.stars.astype(np.int64),
        "computed_stars": rating.computed_stars.astype(np.int64),
        "previous_stars": rating.previous_stars.astype(np.int64),
        "pending": rating.pending.astype(np.int64),
    }
    for name in names:
        columns[f"contribution_{name}"] = np.asarray(
            rating.contributions.get(name, np.zeros(len(rating)))
        )
    return _rows_frame(columns)


def _rating_meta(names: tuple[str, ...], id_kind: str) -> Any:
    pd = require("pandas", extra="pandas", purpose="Dask results")
    out = pd.DataFrame({"customer_id": pd.Series([], dtype=np.int64 if id_kind == "i" else object)})
    for name in ("score",):
        out[name] = pd.Series([], dtype=np.float64)
    for name in ("stars", "computed_stars", "previous_stars", "pending"):
        out[name] = pd.Series([], dtype=np.int64)
    for name in names:
        out[f"contribution_{name}"] = pd.Series([], dtype=np.float64)
    return out


def _id_kind(orders: DistributedOrders) -> str:
    return "i" if orders.frame._meta["customer_id"].dtype.kind in "iu" else "O"


def _concat_ratings(parts: Sequence[Rating | None], population: Any) -> Rating:
    found = [p for p in parts if p is not None]
    _, _, unrated, unsupported = population
    ids = np.concatenate([np.asarray(p.customer_ids) for p in found])
    order = _order(ids)
    first = found[0]
    arrays: dict[str, Any] = {}
    for field in (
        "score",
        "stars",
        "computed_stars",
        "previous_stars",
        "pending",
        "previous_pending",
        "rated_stars",
    ):
        arrays[field] = _concat_arrays([getattr(p, field) for p in found], order)
    contributions = {
        name: _concat_arrays([np.asarray(p.contributions[name]) for p in found], order)
        for name in first.contributions
    }
    return attrs.evolve(
        first,
        customer_ids=ids[order],
        contributions=contributions,
        unrated=unrated,
        unsupported=unsupported,
        **arrays,
    )


@attrs.frozen(kw_only=True, eq=False)
class DistributedRating:
    """A rating computed on a cluster (see :func:`rate`).

    Attributes:
        frame: a lazy Dask DataFrame, one row per rated customer: ``customer_id``,
            ``score``, ``stars``, ``computed_stars``, ``previous_stars``, ``pending``
            and ``contribution_<criterion>`` per criterion.
        parts: the per-partition ``Rating`` objects (Dask delayed).
        population: the fitted policy, scale, unrated count and unsupported features
            (Dask delayed).
    """

    frame: Any
    parts: tuple[Any, ...]
    population: Any

    def collect(self) -> Rating:
        """The whole :class:`~custmgmt.rating.Rating` on this machine (customers in id
        order, as the single-machine rating has them)."""
        parts, population = _compute(self.parts, self.population)
        return _concat_ratings(parts, population)

    def to_parquet(self, path: str | os.PathLike[str]) -> None:
        """Write :attr:`frame` as Parquet files under ``path`` (one per partition of
        customers, which are hash partitions of the customer id)."""
        self.frame.to_parquet(os.fspath(path), write_index=False)

    def save(
        self,
        store: RatingStore,
        *,
        created_at: datetime,
        run_id: str | None = None,
        chunk_rows: int = DEFAULT_SAVE_CHUNK_ROWS,
    ) -> RatingRun:
        """Keep the run in ``store.ratings`` in chunks of about ``chunk_rows``
        customers, without ever holding every customer's result on this machine.

        The per-partition results are computed and kept on the workers; a few ids
        sampled from each give cut points between consecutive customer-id ranges;
        each range's rows are cut from every partition and joined into one chunk
        on a worker, and the chunks are fetched in customer order, one computed
        ahead while the previous is written, and handed to the store's
        ``save_run_chunks``. The store writes the run and every chunk in one
        transaction: the run becomes visible with its last chunk, and a failure on
        the way (a lost worker, the store refusing, the process killed) leaves no
        part of it. The client holds about two chunks; the SQLite store's write
        lock is held from the first chunk to the last.

        Args:
            store: where to keep it.
            created_at: when it was computed (from the caller's clock).
            run_id: the run's id; a fresh one by default.
            chunk_rows: about how many customers a chunk holds.

        Returns:
            The stored :class:`~custmgmt.rating.RatingRun`, equal to the one
            :func:`~custmgmt.rating.save_rating` stores for the collected rating.

        Raises:
            ValidationError: a naive ``created_at``, a bad ``run_id`` or
                ``chunk_rows``; on compute, bad input naming its file.
            Conflict: ``run_id`` is taken (nothing is written).
        """
        check_aware("created_at", created_at)
        run_id = run_id or f"run-{uuid.uuid4().hex[:12]}"
        check_id("run_id", run_id)
        if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
            raise ValidationError("chunk_rows", chunk_rows, "a positive integer")
        dask = require("dask", extra="dask", purpose="analyses on a Dask cluster")
        delayed = _delayed()
        every = max(1, chunk_rows // _SAMPLES_PER_CHUNK)
        kept = dask.persist(
            *[delayed(_stored_part, pure=True)(p, run_id, every) for p in self.parts]
        )
        results = [k[0] for k in kept]
        summaries = dask.compute(*[k[1] for k in kept])
        run, criteria, bounds = _run_and_bounds(
            summaries, run_id=run_id, created_at=created_at, chunk_rows=chunk_rows
        )
        chunks = [
            delayed(_join_chunk, pure=True)(
                run_id,
                criteria,
                *[delayed(_cut, pure=True)(r, lo, hi) for r in results],
            )
            for lo, hi in itertools.pairwise(bounds)
        ]

        def in_order() -> Iterator[RatingResults]:
            # One chunk computed ahead (persist returns at once on a distributed
            # client) while this one is written.
            ahead = dask.persist(chunks[0])[0]
            for k in range(len(chunks)):
                current = ahead
                if k + 1 < len(chunks):
                    ahead = dask.persist(chunks[k + 1])[0]
                chunk = current.compute()
                del current
                yield chunk

        store.ratings.save_run_chunks(run, in_order())
        del kept, results
        return run


@attrs.frozen(kw_only=True, eq=False)
class _PartSummary:
    count: int
    stars: npt.NDArray[np.int64]
    sample: AnyArray
    criteria: tuple[str, ...]
    policy_json: str
    as_of: datetime


def _stored_part(
    rating: Rating | None, run_id: str, every: int
) -> tuple[RatingResults | None, _PartSummary | None]:
    """A partition's results as a run stores them (text ids, sorted), and what the
    client needs to cut the run into chunks: its size, star counts, and every
    ``every``-th id."""
    if rating is None:
        return None, None
    results = RatingResults.from_rating(rating, run_id=run_id)
    return results, _PartSummary(
        count=len(results),
        stars=np.bincount(
            np.asarray(rating.rated_stars, dtype=np.int64), minlength=rating.policy.levels + 1
        ),
        sample=np.asarray(results.customer_ids[::every]),
        criteria=results.criteria,
        policy_json=rating.policy.to_json(),
        as_of=rating.as_of,
    )


def _run_and_bounds(
    summaries: Sequence[_PartSummary | None],
    *,
    run_id: str,
    created_at: datetime,
    chunk_rows: int,
) -> tuple[RatingRun, tuple[str, ...], list[str | None]]:
    """The run record (as :func:`~custmgmt.rating.services.rating_records` makes it)
    and the chunk bounds: ``None``, cut ids in ascending order, ``None`` (chunk ``k``
    holds the ids in ``[bounds[k], bounds[k + 1])``)."""
    found = [s for s in summaries if s is not None]
    if not found:
        raise ValidationError("orders", 0, "at least one order")
    first = found[0]
    total = sum(s.count for s in found)
    counts = np.sum([s.stars for s in found], axis=0)
    run = RatingRun(
        id=run_id,
        as_of=first.as_of,
        created_at=created_at,
        policy_json=first.policy_json,
        customer_count=total,
        distribution=tuple(int(c) for c in counts[1:]),
    )
    sample = np.sort(np.concatenate([s.sample for s in found]))
    pieces = max(1, math.ceil(total / chunk_rows))
    cuts = sorted({str(sample[(k * len(sample)) // pieces]) for k in range(1, pieces)})
    return run, first.criteria, [None, *cuts, None]


def _cut(results: RatingResults | None, lo: str | None, hi: str | None) -> RatingResults | None:
    """The rows of one partition's results with ``lo <= id < hi``."""
    if results is None:
        return None
    ids = results.customer_ids
    a = 0 if lo is None else int(np.searchsorted(ids, lo, side="left"))
    b = len(ids) if hi is None else int(np.searchsorted(ids, hi, side="left"))
    return _rows(results, slice(a, b))


def _rows(results: RatingResults, rows: Any) -> RatingResults:
    return RatingResults(
        run_id=results.run_id,
        customer_ids=results.customer_ids[rows],
        score=results.score[rows],
        stars=results.stars[rows],
        computed_stars=results.computed_stars[rows],
        previous_stars=results.previous_stars[rows],
        pending=results.pending[rows],
        criteria=results.criteria,
        contributions=results.contributions[rows],
    )


def _join_chunk(
    run_id: str, criteria: tuple[str, ...], *parts: RatingResults | None
) -> RatingResults:
    """One chunk: the cut rows of every partition, by customer id (the partitions'
    customers are distinct, so the order is total)."""
    found = [p for p in parts if p is not None and len(p)]
    if not found:
        return RatingResults.from_arrays(
            run_id=run_id,
            customer_ids=np.empty(0, dtype=object),
            score=np.empty(0),
            stars=np.empty(0, dtype=np.int64),
            computed_stars=np.empty(0, dtype=np.int64),
            criteria=criteria,
            contributions=np.empty((0, len(criteria))),
        )
    ids = np.concatenate([p.customer_ids for p in found])
    order = np.argsort(ids, kind="stable")
    return RatingResults(
        run_id=run_id,
        customer_ids=ids[order],
        score=np.concatenate([p.score for p in found])[order],
        stars=np.concatenate([p.stars for p in found])[order],
        computed_stars=np.concatenate([p.computed_stars for p in found])[order],
        previous_stars=np.concatenate([p.previous_stars for p in found])[order],
        pending=np.concatenate([p.pending for p in found])[order],
        criteria=criteria,
        contributions=np.concatenate([p.contributions for p in found])[order],
    )


def rate(
    orders: DistributedOrders,
    policy: RatingPolicy | None = None,
    *,
    as_of: datetime,
    previous: PreviousStars | None = None,
    npartitions: int | None = None,
    interactions: DistributedInteractions | None = None,
) -> DistributedRating:
    """Rate every customer of ``orders`` on the cluster: the same scores, stars and
    explanations as :func:`custmgmt.rating.rate_frames` on one machine.

    Args:
        orders: from :func:`read_orders` or :func:`from_dask`.
        policy: the rating policy (default :meth:`RatingPolicy.default`).
        as_of: the aware time rated.
        previous: the previous run's stars (hysteresis), or None.
        npartitions: partitions of customers after the shuffle, 1 to
            :data:`MAX_PARTITIONS` (default: as many as input pieces, at most that).
        interactions: from :func:`read_interactions` or
            :func:`interactions_from_dask`, for a policy with interaction features
            (without, they are unsupported, as for frames without interactions);
            shuffled once too, into the orders' partitions.

    Raises:
        ValidationError: a naive ``as_of``; interactions with ids of another type
            than the orders'; on compute, bad input naming its file.
    """
    require_aware("as_of", as_of)
    policy = RatingPolicy.default() if policy is None else policy
    frames, found = _inputs(orders, interactions, npartitions)
    return _rating_graph(frames, _id_kind(orders), policy, as_of, previous, found)


def _first_stage(
    stage: Callable[..., Any], frames: list[Any], interactions: list[Any] | None, *args: Any
) -> list[Any]:
    """One delayed ``stage(frame, *args, interactions)`` per partition of customers:
    each frame with its partition of the interactions, or None without them."""
    delayed = _delayed()
    paired = interactions if interactions is not None else [None] * len(frames)
    return [delayed(stage, pure=True)(f, *args, i) for f, i in zip(frames, paired, strict=True)]


def _rating_graph(
    frames: list[Any],
    kind: str,
    policy: RatingPolicy,
    as_of: datetime,
    previous: PreviousStars | None,
    interactions: list[Any] | None = None,
) -> DistributedRating:
    delayed = _delayed()
    one = _first_stage(_rate_one, frames, interactions, policy, as_of)
    population = delayed(_rate_population, pure=True)(one)
    two = [delayed(_rate_two, pure=True)(p, population, previous, as_of) for p in one]
    names = tuple(c.name for c in policy.criteria)
    rows = [delayed(_rating_rows, pure=True)(r, names, kind) for r in two]
    frame = _from_delayed(rows, _rating_meta(names, kind))
    return DistributedRating(frame=frame, parts=tuple(two), population=population)


# -- segments, RFM, churn --------------------------------------------------------------
# The three stages are the single machine's (custmgmt.segmentation.partitioned): one
# code path for the thread pool and the workers.
def _segment_one(
    frame: OrderFrame | None,
    as_of: datetime,
    engine: ChurnEngine,
    schemes: tuple[Scheme, ...],
    interactions: InteractionFrame | None = None,
) -> SegmentPart:
    return segment_gather(frame, interactions, as_of, engine, schemes)


def _ordered(part: SegmentPart) -> int:
    """How many of the partition's customers have orders (they come first in its
    features, those with interactions only after them, as on one machine)."""
    return 0 if part.frame is None else len(part.frame.customer_ids)


def _report_order(ids: AnyArray, ordered: Sequence[int] | None, sizes: Sequence[int]) -> Any:
    """The single machine's customer order: the orders' customers by id, then those
    with interactions only, by id."""
    if not ordered:
        return _order(ids)
    extra = np.concatenate(
        [np.arange(size) >= first for first, size in zip(ordered, sizes, strict=True)]
    )
    by_id = _order(ids)
    return by_id[np.argsort(extra[by_id], kind="stable")]


def _gathered(part: SegmentPart, engine: ChurnEngine, as_of: datetime) -> dict[str, Any]:
    """What a partition sends for the population, with where its churn means'
    values belong in customer order (``order``; only when a rule takes a mean)."""
    if not part.gathered or part.features is None or part.frame is None:
        return part.gathered
    keys = churn_parts.order_keys(engine, part.features, part.frame, as_of)
    return part.gathered | {"order": keys} if keys else part.gathered


def _segment_population(
    gathered: list[dict[str, Any]], engine: ChurnEngine, schemes: tuple[Scheme, ...]
) -> SegmentPopulation:
    """Stage 2 of the single machine, once the churn means' vectors are put in
    customer order (hash partitions are not ranges of customers)."""
    keys = [g.get("order", {}) for g in gathered]
    if any(keys):
        gathered = churn_parts.in_customer_order(engine, gathered, keys)
    return segment_population(gathered, engine, schemes)


def _segment_rows(result: SegmentResult | None, population: SegmentPopulation, kind: str) -> Any:
    if result is None:
        return _segment_meta(population.schemes, kind)
    columns: dict[str, AnyArray] = {"customer_id": np.asarray(result.features.customer_ids)}
    for scheme in population.schemes:
        names = np.asarray([*scheme.segment_names, ""], dtype=object)
        columns[scheme.name] = names[result.codes[scheme.name]]
    columns["rfm_r"] = result.rfm.r.astype(np.int64)
    columns["rfm_f"] = result.rfm.f.astype(np.int64)
    columns["rfm_m"] = result.rfm.m.astype(np.int64)
    columns["rfm_segment"] = np.asarray(result.rfm.labels, dtype=object)
    churn = result.churn
    columns["churn_score"] = churn.score.astype(np.int64)
    columns["churn_risk"] = churn.risk.astype(np.int64)
    columns["churn_rules"] = np.asarray(
        [";".join(r.name for j, r in enumerate(churn.rules) if row[j]) for row in churn.fired],
        dtype=object,
    )
    columns["churn_reason"] = np.asarray(
        [
            e.reason.value if e.fired else ""
            for e in churn.explain_rows(list(range(len(churn.score))))
        ],
        dtype=object,
    )
    return _rows_frame(columns)


def _segment_meta(schemes: Sequence[Scheme], kind: str) -> Any:
    pd = require("pandas", extra="pandas", purpose="Dask results")
    out = pd.DataFrame({"customer_id": pd.Series([], dtype=np.int64 if kind == "i" else object)})
    for scheme in schemes:
        out[scheme.name] = pd.Series([], dtype=object)
    for name in ("rfm_r", "rfm_f", "rfm_m"):
        out[name] = pd.Series([], dtype=np.int64)
    out["rfm_segment"] = pd.Series([], dtype=object)
    out["churn_score"] = pd.Series([], dtype=np.int64)
    out["churn_risk"] = pd.Series([], dtype=np.int64)
    out["churn_rules"] = pd.Series([], dtype=object)
    out["churn_reason"] = pd.Series([], dtype=object)
    return out


def _concat_features(
    parts: Sequence[CustomerFeatures], order: npt.NDArray[np.intp]
) -> CustomerFeatures:
    ids = np.concatenate([np.asarray(p.customer_ids) for p in parts])
    table = concat_features(list(parts), ids)
    return attrs.evolve(
        table,
        customer_ids=ids[order],
        columns={name: np.asarray(table[name])[order] for name in table.names},
    )


@attrs.frozen(kw_only=True, eq=False)
class DistributedSegments:
    """Segments, RFM and churn computed on a cluster (see :func:`segment`).

    Attributes:
        frame: a lazy Dask DataFrame, one row per customer: ``customer_id``, one
            column per scheme (the segment's name), ``rfm_r``, ``rfm_f``, ``rfm_m``,
            ``rfm_segment``, ``churn_score``, ``churn_risk`` (0-3), ``churn_rules``
            (``;``-separated) and ``churn_reason``.
    """

    frame: Any
    parts: tuple[Any, ...]
    population: Any
    as_of: datetime
    #: Per partition (delayed), how many of its customers have orders; empty
    #: without interactions (every customer has orders then).
    ordered: tuple[Any, ...] = ()

    def collect(self) -> SegmentReport:
        """The whole :class:`~custmgmt.segmentation.report.SegmentReport` here."""
        parts, population = _compute([*self.parts, *self.ordered], self.population)
        return self._finish(parts[: len(self.parts)], population, parts[len(self.parts) :])

    def _finish(
        self, parts: Sequence[Any], population: Any, ordered: Sequence[int] = ()
    ) -> SegmentReport:
        kept = [k for k, p in enumerate(parts) if p is not None]
        found = [parts[k] for k in kept]
        ids = np.concatenate([np.asarray(p.features.customer_ids) for p in found])
        order = _report_order(
            ids,
            [ordered[k] for k in kept] if ordered else None,
            [len(p.features.customer_ids) for p in found],
        )
        features = _concat_features([p.features for p in found], order)
        segmentations = {
            s.name: Segmentation(
                scheme=s,
                customer_ids=features.customer_ids,
                codes=_concat_arrays([p.codes[s.name] for p in found], order),
                table=features,
            )
            for s in population.schemes
        }
        churn = concat_churn([p.churn for p in found], order)
        return SegmentReport(
            as_of=self.as_of,
            features=features,
            segmentations=segmentations,
            skipped=population.skipped,
            rfm=concat_rfm([p.rfm for p in found], order),
            churn=churn,
        )


def segment(
    orders: DistributedOrders,
    *,
    as_of: datetime,
    engine: ChurnEngine | None = None,
    schemes: Sequence[Scheme] | None = None,
    npartitions: int | None = None,
    interactions: DistributedInteractions | None = None,
) -> DistributedSegments:
    """The shipped segment schemes (or ``schemes``), RFM and the churn engine on the
    cluster: the same memberships, scores, flags and reasons as
    :func:`custmgmt.segmentation.report.segment_report` on one machine.

    Every shipped churn rule runs here with the single machine's verdicts: the
    purchase cycle by the median or the mean (a mean's values are reduced in
    customer order, as one frame sums them) and :class:`ModelAliveBelow` (its
    BG/NBD model fitted once on every partition's distinct summary rows, then
    predicting per partition).

    With ``interactions`` (:func:`read_interactions`), the schemes and churn rules
    that need them run, and customers with interactions but no order are in the
    report, as on one machine with ``segment_report(orders, interactions)``.

    Raises:
        ValidationError: a naive ``as_of``; a churn rule class of the host's own
            (it may read the population, which no partition holds); interactions
            with ids of another type than the orders'.
    """
    require_aware("as_of", as_of)
    engine = ChurnEngine() if engine is None else engine
    check_engine(engine)
    chosen = tuple(shipped_schemes() if schemes is None else schemes)
    frames, found = _inputs(orders, interactions, npartitions)
    return _segment_graph(frames, _id_kind(orders), as_of, engine, chosen, found)


def _segment_graph(
    frames: list[Any],
    kind: str,
    as_of: datetime,
    engine: ChurnEngine,
    chosen: tuple[Scheme, ...],
    interactions: list[Any] | None = None,
) -> DistributedSegments:
    delayed = _delayed()
    one = _first_stage(_segment_one, frames, interactions, as_of, engine, chosen)
    gathered = [delayed(_gathered, pure=True)(p, engine, as_of) for p in one]
    population = delayed(_segment_population, pure=True)(gathered, engine, chosen)
    two = [delayed(segment_apply, pure=True)(p, population, as_of) for p in one]
    rows = [delayed(_segment_rows, pure=True)(r, population, kind) for r in two]
    available = [s for s in chosen if interactions is not None or not _needs_interactions(s)]
    frame = _from_delayed(rows, _segment_meta(available, kind))
    ordered = () if interactions is None else tuple(delayed(_ordered, pure=True)(p) for p in one)
    return DistributedSegments(
        frame=frame, parts=tuple(two), population=population, as_of=as_of, ordered=ordered
    )


def _needs_interactions(scheme: Scheme) -> bool:
    from custmgmt.analytics.features import describe_feature
    from custmgmt.segmentation.inputs import DERIVED_FEATURES

    return any(
        name not in DERIVED_FEATURES and describe_feature(name).source == "interactions"
        for name in scheme.features()
    )


# -- CLV -------------------------------------------------------------------------------
@attrs.frozen(kw_only=True, eq=False)
class _ClvPart:
    ids: AnyArray
    summary: TransactionSummary | None
    money: npt.NDArray[np.float64]
    n_orders: int
    n_counted: int
    exclusions: tuple[SpendExclusion, ...]


def _clv_one(
    frame: OrderFrame | None,
    as_of: datetime,
    unit: str,
    period: str,
    with_spend: bool,
    calibration_end: datetime | None = None,
) -> _ClvPart:
    empty = np.zeros(0)
    if frame is None:
        return _ClvPart(
            ids=empty, summary=None, money=empty, n_orders=0, n_counted=0, exclusions=()
        )
    # The single machine's unit of work (analyse_clv's partitions run it too).
    done = summarize_partition(
        frame, as_of=as_of, calibration_end=calibration_end, unit=unit, period=period
    )
    summary = done.summary
    money = (
        np.zeros(len(summary))
        if summary.monetary_value is None
        else summary.monetary_value / 10**frame.digits
    )
    ids = np.asarray(frame.customer_ids)[summary.customer_ids]
    exclusions: tuple[SpendExclusion, ...] = ()
    if with_spend:
        counted = counted_mask(frame.status) & (frame.placed_at <= to_epoch_micros(as_of))
        left_out = np.flatnonzero((summary.frequency > 0) & (money <= 0))
        found = []
        for code in summary.customer_ids[left_out].tolist():
            rows = np.flatnonzero((frame.customer_code == code) & counted)
            order_ids: tuple[str, ...] = ()
            if frame.order_id is not None:
                order_ids = tuple(
                    str(frame.order_id[r]) for r in rows if frame.order_id[r] is not None
                )
            found.append(
                SpendExclusion(
                    customer_id=frame.customer_ids[int(code)], rows=(), order_ids=order_ids
                )
            )
        exclusions = tuple(found)
    return _ClvPart(
        ids=ids,
        summary=summary,
        money=money,
        n_orders=done.n_orders,
        n_counted=done.n_counted,
        exclusions=exclusions,
    )


def _distinct(
    columns: Sequence[AnyArray],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Distinct rows of ``columns`` (as float64) and their counts."""
    stacked = np.column_stack([np.asarray(c, dtype=np.float64) for c in columns])
    if stacked.shape[0] == 0:
        return stacked, np.zeros(0)
    rows, counts = np.unique(stacked, axis=0, return_counts=True)
    return rows, counts.astype(np.float64)


def _clv_gather(part: _ClvPart) -> tuple[Any, Any, int, int]:
    if part.summary is None:
        return _distinct([np.zeros(0)] * 3), _distinct([np.zeros(0)] * 2), 0, 0
    s = part.summary
    return (
        _distinct([s.frequency, s.recency, s.T]),
        _distinct([s.frequency, part.money]),
        part.n_orders,
        part.n_counted,
    )


def _merge(parts: Sequence[tuple[AnyArray, AnyArray]]) -> tuple[AnyArray, AnyArray]:
    rows = np.concatenate([p[0] for p in parts])
    counts = np.concatenate([p[1] for p in parts])
    if rows.shape[0] == 0:
        return rows, counts
    distinct, inverse = np.unique(rows, axis=0, return_inverse=True)
    return distinct, np.bincount(inverse.ravel(), weights=counts)


def _clv_fit(
    gathered: list[tuple[Any, Any, int, int]], models: tuple[str, ...], time_limit: float | None
) -> tuple[tuple[ModelFit, ...], int, int]:
    import time

    rft, rows_w = _merge([g[0] for g in gathered])
    xm, money_w = _merge([g[1] for g in gathered])
    if rft.shape[0] == 0:
        raise ValidationError("orders", 0, "at least one counted order")
    fits = []
    for key in models:
        started = time.monotonic()
        model: BetaGeo | ParetoNBD | GammaGamma
        try:
            if key == "gg":
                model = GammaGamma(max_time=time_limit).fit(xm[:, 0], xm[:, 1], weights=money_w)
            else:
                cls = BetaGeo if key == "bg" else ParetoNBD
                model = cls(max_time=time_limit).fit(
                    rft[:, 0], rft[:, 1], rft[:, 2], weights=rows_w
                )
        except (ConvergenceError, ValidationError) as exc:
            reason = exc.reason if isinstance(exc, ConvergenceError) else str(exc)
            if isinstance(exc, ConvergenceError) and exc.best is not None:
                best = ", ".join(f"{k}={v:.6g}" for k, v in exc.best.items())
                reason = f"{reason} (best point reached: {best})"
            fits.append(
                ModelFit(
                    key=key,
                    name=MODELS[key],
                    model=None,
                    error=reason,
                    seconds=time.monotonic() - started,
                )
            )
            continue
        fits.append(
            ModelFit(
                key=key,
                name=MODELS[key],
                model=model,
                error=None,
                seconds=time.monotonic() - started,
            )
        )
    return tuple(fits), sum(g[2] for g in gathered), sum(g[3] for g in gathered)


def _value_models(fits: Sequence[ModelFit]) -> tuple[Any, str | None, Any]:
    for key in ("bg", "pnbd"):
        candidate = next((f.model for f in fits if f.key == key), None)
        if isinstance(candidate, BetaGeo | ParetoNBD):
            spend = next((f.model for f in fits if f.key == "gg"), None)
            return candidate, MODELS[key], spend if isinstance(spend, GammaGamma) else None
    return None, None, None


@attrs.frozen(kw_only=True, eq=False)
class _ClvPredictions:
    part: _ClvPart
    alive: npt.NDArray[np.float64] | None
    clv: npt.NDArray[np.float64] | None


def _clv_two(
    part: _ClvPart, fitted: Any, months: int, discount_rate: float, unit: str
) -> _ClvPredictions:
    fits = fitted[0]
    purchases, _, spend = _value_models(fits)
    s = part.summary
    if s is None or purchases is None:
        return _ClvPredictions(part=part, alive=None, clv=None)
    alive = purchases.probability_alive(s.frequency, s.recency, s.T)
    value = None
    if spend is not None:
        value = spend.customer_lifetime_value(
            purchases,
            s.frequency,
            s.recency,
            s.T,
            np.maximum(part.money, 0.0),
            time=months,
            discount_rate=discount_rate,
            freq=unit,
        )
    return _ClvPredictions(part=part, alive=alive, clv=value)


def _clv_rows(p: _ClvPredictions, kind: str) -> Any:
    s = p.part.summary
    if s is None:
        return _clv_meta(kind)
    n = len(s)
    nan = np.full(n, np.nan)
    return _rows_frame(
        {
            "customer_id": p.part.ids,
            "frequency": np.asarray(s.frequency, dtype=np.int64),
            "recency": np.asarray(s.recency, dtype=np.float64),
            "T": np.asarray(s.T, dtype=np.float64),
            "monetary_value": p.part.money,
            "alive": nan if p.alive is None else p.alive,
            "clv": nan if p.clv is None else p.clv,
        }
    )


def _clv_meta(kind: str) -> Any:
    pd = require("pandas", extra="pandas", purpose="Dask results")
    out = pd.DataFrame({"customer_id": pd.Series([], dtype=np.int64 if kind == "i" else object)})
    out["frequency"] = pd.Series([], dtype=np.int64)
    for name in ("recency", "T", "monetary_value", "alive", "clv"):
        out[name] = pd.Series([], dtype=np.float64)
    return out


@attrs.frozen(kw_only=True, eq=False)
class DistributedClv:
    """CLV computed on a cluster (see :func:`clv`).

    Attributes:
        frame: a lazy Dask DataFrame, one row per customer with a counted order:
            ``customer_id``, ``frequency``, ``recency``, ``T``, ``monetary_value``
            (mean repeat spend, major units), ``alive`` and ``clv`` (NaN without a
            fitted model).
    """

    frame: Any
    parts: tuple[Any, ...]
    fitted: Any
    as_of: datetime
    unit: str
    period: str
    months: int
    discount_rate: float
    currency: str
    calibration_end: datetime | None = None

    def fits(self) -> tuple[ModelFit, ...]:
        """The fitted models (computes the summaries and the fits only)."""
        return tuple(self.fitted.compute()[0])

    def collect(self, progress: Callable[[Any], None] | None = None) -> ClvReport:
        """The whole :class:`~custmgmt.analytics.clv.ClvReport` here; ``progress``
        receives the :class:`SummaryReady` stage and each :class:`ModelFit`, as
        :func:`~custmgmt.analytics.clv.analyse_clv` sends them."""
        parts, fitted = _compute(self.parts, self.fitted)
        return self._finish(parts, fitted, progress)

    def _finish(
        self, parts: Sequence[Any], fitted: Any, progress: Callable[[Any], None] | None
    ) -> ClvReport:
        fits, n_orders, n_counted = fitted
        found = [p for p in parts if p.part.summary is not None]
        ids = np.concatenate([p.part.ids for p in found])
        order = _order(ids)
        summaries = [p.part.summary for p in found]
        holdout = self.calibration_end is not None
        summary = TransactionSummary(
            customer_ids=np.arange(len(ids)),
            frequency=_concat_arrays([s.frequency for s in summaries], order),
            recency=_concat_arrays([s.recency for s in summaries], order),
            T=_concat_arrays([s.T for s in summaries], order),
            monetary_value=_concat_arrays([np.asarray(s.monetary_value) for s in summaries], order)
            if all(s.monetary_value is not None for s in summaries)
            else None,
            frequency_holdout=_concat_arrays([s.frequency_holdout for s in summaries], order)
            if holdout
            else None,
            monetary_value_holdout=_concat_arrays(
                [s.monetary_value_holdout for s in summaries], order
            )
            if holdout and all(s.monetary_value_holdout is not None for s in summaries)
            else None,
            duration_holdout=summaries[0].duration_holdout if holdout else None,
            unit=self.unit,
            period=self.period,
        )
        stage = SummaryReady(
            summary=summary,
            as_of=self.as_of,
            calibration_end=self.calibration_end,
            unit=self.unit,
            period=self.period,
            n_orders=n_orders,
            n_counted=n_counted,
        )
        emit = progress if progress is not None else (lambda _e: None)
        emit(stage)
        for fit in fits:
            emit(fit)
        _, value_model, _ = _value_models(fits)
        alive = None if found[0].alive is None else _concat_arrays([p.alive for p in found], order)
        value = None if found[0].clv is None else _concat_arrays([p.clv for p in found], order)
        exclusions = tuple(e for p in found for e in p.part.exclusions)
        return ClvReport(
            stage=stage,
            fits=fits,
            customer_ids=ids[order],
            clv=value,
            alive=alive,
            value_model=value_model,
            months=self.months,
            discount_rate=float(self.discount_rate),
            currency=self.currency,
            spend_exclusions=tuple(sorted(exclusions, key=lambda e: str(e.customer_id))),
        )


def clv(
    orders: DistributedOrders,
    *,
    as_of: datetime,
    unit: str = "day",
    period: str = "day",
    models: Sequence[str] = ("bg", "pnbd", "gg"),
    months: int = 12,
    discount_rate: float = 0.01,
    time_limit: float | None = 60.0,
    npartitions: int | None = None,
    calibration_end: datetime | None = None,
) -> DistributedClv:
    """Customer-lifetime models on the cluster, as
    :func:`~custmgmt.analytics.clv.analyse_clv` on one machine: per-partition
    transaction summaries, the models fitted once on the distinct (frequency,
    recency, T) rows of every partition weighted by their counts, predictions per
    partition.

    With ``calibration_end`` each partition splits its customers' orders into the
    calibration and holdout periods with the single machine's code
    (``summarize_partition``), the models are fitted on the gathered calibration
    rows, and :meth:`DistributedClv.collect` gives the report with the holdout
    comparison, as ``analyse_clv(..., calibration_end=...)`` does.

    Raises:
        ValidationError: a naive ``as_of`` or ``calibration_end``, a calibration end
            not in a period before ``as_of``'s, an unknown unit, period or model.
    """
    require_aware("as_of", as_of)
    unit_code = normalise_unit("unit", unit)
    period_code = normalise_unit("period", period)
    if calibration_end is not None:
        _check_calibration(as_of, calibration_end, unit_code, period_code)
    chosen = _checked_models(models, months)
    settings = _ClvSettings(
        unit=unit_code,
        period=period_code,
        models=chosen,
        months=months,
        discount_rate=float(discount_rate),
        time_limit=time_limit,
        currency=orders.currency,
        calibration_end=calibration_end,
    )
    return _clv_graph(_frames(orders, npartitions), _id_kind(orders), as_of, settings)


def _checked_models(models: Sequence[str], months: int) -> tuple[str, ...]:
    """Check the CLV ``models`` and the prediction horizon ``months``; return the
    models asked for, each once, in the order given.

    Raises:
        ValidationError: no model, an unknown one, or a ``months`` that is not a
            positive whole number.
    """
    chosen = tuple(dict.fromkeys(models))
    if not chosen or any(m not in MODELS for m in chosen):
        raise ValidationError("models", list(models), f"some of {', '.join(MODELS)}")
    if isinstance(months, bool) or not isinstance(months, int) or months < 1:
        raise ValidationError("months", months, "a positive whole number of months")
    return chosen


def _check_calibration(as_of: datetime, calibration_end: datetime, unit: str, period: str) -> None:
    """Refuse a calibration end here, before anything runs, as the partitions would
    (the same check on no rows)."""
    require_aware("calibration_end", calibration_end)
    empty = OrderFrame.from_arrays(
        customer_id=np.zeros(0, dtype=np.int64),
        placed_at=np.zeros(0, dtype=np.int64),
        amount=np.zeros(0, dtype=np.int64),
        currency="CNY",
    )
    summarize_partition(
        empty, as_of=as_of, calibration_end=calibration_end, unit=unit, period=period
    )


@attrs.frozen(kw_only=True)
class _ClvSettings:
    unit: str
    period: str
    models: tuple[str, ...]
    months: int
    discount_rate: float
    time_limit: float | None
    currency: str
    calibration_end: datetime | None = None


def _clv_graph(
    frames: list[Any], kind: str, as_of: datetime, settings: _ClvSettings
) -> DistributedClv:
    delayed = _delayed()
    unit_code, period_code, chosen = settings.unit, settings.period, settings.models
    months, discount_rate, time_limit = settings.months, settings.discount_rate, settings.time_limit
    one = [
        delayed(_clv_one, pure=True)(
            f, as_of, unit_code, period_code, "gg" in chosen, settings.calibration_end
        )
        for f in frames
    ]
    gathered = [delayed(_clv_gather, pure=True)(p) for p in one]
    fitted = delayed(_clv_fit, pure=True)(gathered, chosen, time_limit)
    two = [delayed(_clv_two, pure=True)(p, fitted, months, discount_rate, unit_code) for p in one]
    frame = _from_delayed([delayed(_clv_rows, pure=True)(p, kind) for p in two], _clv_meta(kind))
    return DistributedClv(
        frame=frame,
        parts=tuple(two),
        fitted=fitted,
        as_of=as_of,
        unit=unit_code,
        period=period_code,
        months=months,
        discount_rate=float(discount_rate),
        currency=settings.currency,
        calibration_end=settings.calibration_end,
    )


# -- everything at once ------------------------------------------------------------------
@attrs.frozen(kw_only=True, eq=False)
class Analysis:
    """Rating, segments and CLV from one shuffle (see :func:`analyse`).

    Attributes:
        rating, segments, clv: the three results; their frames share the shuffle
            and the per-partition order frames in one graph.
    """

    rating: DistributedRating
    segments: DistributedSegments
    clv: DistributedClv

    def frames(self) -> tuple[Any, Any, Any]:
        """The three lazy per-customer Dask DataFrames."""
        return self.rating.frame, self.segments.frame, self.clv.frame

    def collect(self) -> tuple[Rating, SegmentReport, ClvReport]:
        """All three single-machine result objects, computed in one pass."""
        dask = require("dask", extra="dask", purpose="analyses on a Dask cluster")
        n_r, n_s = len(self.rating.parts), len(self.segments.parts)
        n_o = len(self.segments.ordered)
        done = dask.compute(
            *self.rating.parts,
            *self.segments.parts,
            *self.segments.ordered,
            *self.clv.parts,
            self.rating.population,
            self.segments.population,
            self.clv.fitted,
        )
        r_parts, s_parts = done[:n_r], done[n_r : n_r + n_s]
        s_ordered = done[n_r + n_s : n_r + n_s + n_o]
        c_parts = done[n_r + n_s + n_o : -3]
        r_pop, s_pop, fitted = done[-3:]
        return (
            _concat_ratings(r_parts, r_pop),
            self.segments._finish(s_parts, s_pop, s_ordered),
            self.clv._finish(c_parts, fitted, None),
        )


def analyse(
    orders: DistributedOrders,
    *,
    as_of: datetime,
    policy: RatingPolicy | None = None,
    previous: PreviousStars | None = None,
    engine: ChurnEngine | None = None,
    schemes: Sequence[Scheme] | None = None,
    models: Sequence[str] = ("bg", "pnbd", "gg"),
    unit: str = "day",
    period: str = "day",
    months: int = 12,
    discount_rate: float = 0.01,
    time_limit: float | None = 60.0,
    npartitions: int | None = None,
    interactions: DistributedInteractions | None = None,
) -> Analysis:
    """:func:`rate`, :func:`segment` and :func:`clv` in one graph with one shuffle (two
    with ``interactions``: one per dataset): each partition's orders are shuffled and
    turned into an ``OrderFrame`` once, and all three analyses read it. CLV reads
    the orders only.

    Raises:
        ValidationError: as the three functions.
    """
    require_aware("as_of", as_of)
    policy = RatingPolicy.default() if policy is None else policy
    engine = ChurnEngine() if engine is None else engine
    check_engine(engine)
    chosen_schemes = tuple(shipped_schemes() if schemes is None else schemes)
    chosen = _checked_models(models, months)
    settings = _ClvSettings(
        unit=normalise_unit("unit", unit),
        period=normalise_unit("period", period),
        models=chosen,
        months=months,
        discount_rate=float(discount_rate),
        time_limit=time_limit,
        currency=orders.currency,
    )
    frames, found = _inputs(orders, interactions, npartitions)
    kind = _id_kind(orders)
    delayed = _delayed()
    order_frames = (
        frames if found is None else [delayed(_orders_only, pure=True)(f) for f in frames]
    )
    return Analysis(
        rating=_rating_graph(frames, kind, policy, as_of, previous, found),
        segments=_segment_graph(frames, kind, as_of, engine, chosen_schemes, found),
        clv=_clv_graph(order_frames, kind, as_of, settings),
    )
