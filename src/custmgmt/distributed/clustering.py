"""Behavioural clusters (k-means) on a Dask cluster, equal to one machine's.

The graph has the shape of every analysis in :mod:`custmgmt.distributed.pipeline`,
and shares its input, its one shuffle and its per-partition order frames::

    orders --one hash shuffle by customer id--> OrderFrame per partition
        --stage 1 (per partition)--> the chosen feature columns (and revenue)
        --gather (one task)--> standardise and fit k-means once, profiles
        --stage 2 (per partition)--> (customer_id, cluster)

* **Stage 1** computes each partition's customer features with the library's own code
  (:func:`~custmgmt.analytics.features.customer_features`, or
  :func:`~custmgmt.segmentation.inputs.segment_features` when a derived column such as
  ``total_spend`` is asked for) and keeps only the chosen columns.
* **The gather** brings those small per-customer vectors (the ids and a few float
  columns) to one task, puts the customers in id order (the single machine's order)
  and calls :func:`~custmgmt.segmentation.clustering.cluster_customers` on them: the
  z-scores, the seeded k-means++ start and Lloyd's iterations see the same matrix row
  for row, so centroids, labels, inertia and profiles are identical to one machine's.
  A clustering is not separable by partition (every point moves every centre), so
  it is fitted once on everyone, never per partition.
* **Stage 2** gives each partition its customers' labels, cut from the gathered ones.

Only the built-in :class:`~custmgmt.segmentation.clustering.KMeans` runs here: a
host's clusterer object would have to be pickled to a worker and behave the same
there, which nothing can check; fit one on ``collect()``'s customers instead.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from custmgmt._extras import require
from custmgmt.analytics.features import CustomerFeatures, customer_features, describe_feature
from custmgmt.analytics.frames import OrderFrame
from custmgmt.distributed.pipeline import (
    DistributedOrders,
    _concat_features,
    _delayed,
    _frames,
    _from_delayed,
    _id_kind,
    _order,
    _rows_frame,
)
from custmgmt.domain.time import require_aware
from custmgmt.errors import ValidationError
from custmgmt.segmentation.clustering import Clustering, ClusterProfile, cluster_customers
from custmgmt.segmentation.inputs import DERIVED_FEATURES, segment_features

__all__ = ["DistributedClustering", "cluster"]

IntArray = npt.NDArray[np.int64]

#: Derived columns a cluster can compute from orders alone (``disputes`` needs
#: interactions, which the cluster does not read).
_DERIVED = tuple(name for name in DERIVED_FEATURES if name != "disputes")


@attrs.frozen(kw_only=True)
class _Settings:
    features: tuple[str, ...]
    revenue: str
    k: int
    random_state: int | None


@attrs.frozen(kw_only=True, eq=False)
class _Fitted:
    clustering: Clustering
    #: Each partition's labels, in the order of its customers (empty for an empty one).
    labels: tuple[IntArray, ...]


def _check_name(field: str, name: Any) -> str:
    expected = (
        "an order feature (custmgmt.analytics.features.feature_names(interactions=False)) "
        f"or one of {', '.join(_DERIVED)}"
    )
    if not isinstance(name, str):
        raise ValidationError(field, name, expected)
    if name in _DERIVED:
        return name
    try:
        spec = describe_feature(name)
    except ValidationError as exc:
        raise ValidationError(field, name, expected) from exc
    if spec.source != "orders":
        raise ValidationError(field, name, f"{expected} (interactions are not read on a cluster)")
    return name


def _settings(
    features: Sequence[str], k: Any, random_state: Any, revenue: str, clusterer: Any
) -> _Settings:
    if clusterer is not None:
        raise ValidationError(
            "clusterer",
            type(clusterer).__name__,
            "None: only the built-in KMeans runs on a cluster (fit your own clusterer "
            "on collect()'s customers)",
        )
    if isinstance(features, str) or not features:
        raise ValidationError("features", features, "a non-empty list of feature names")
    names = tuple(_check_name("features", name) for name in features)
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ValidationError("k", k, "an integer of at least 1")
    if random_state is not None and (
        isinstance(random_state, bool)
        or not isinstance(random_state, int | np.integer)
        or random_state < 0
    ):
        raise ValidationError("random_state", random_state, "None or an integer of at least 0")
    return _Settings(
        features=names,
        revenue=_check_name("revenue", revenue),
        k=int(k),
        random_state=None if random_state is None else int(random_state),
    )


def _cluster_one(
    frame: OrderFrame | None, as_of: datetime, settings: _Settings
) -> CustomerFeatures | None:
    """Stage 1: the partition's customers (in its frame's order) with only the columns
    the clustering reads, computed by the single machine's code."""
    if frame is None:
        return None
    names = tuple(dict.fromkeys((*settings.features, settings.revenue)))
    base = [n for n in names if n not in _DERIVED]
    table: CustomerFeatures
    if len(base) < len(names):
        table = segment_features(frame, as_of=as_of, extra=base)
    else:
        table = customer_features(frame, as_of=as_of, features=base)
    return attrs.evolve(table, columns={n: np.asarray(table[n]) for n in names})


def _cluster_fit(parts: list[CustomerFeatures | None], settings: _Settings) -> _Fitted:
    """The gather: every partition's vectors in customer-id order, then exactly what
    :func:`cluster_customers` does on one machine."""
    found = [p for p in parts if p is not None]
    if not found:
        raise ValidationError("orders", 0, "at least one order")
    ids = np.concatenate([np.asarray(p.customer_ids) for p in found])
    if ids.shape[0] < settings.k:
        raise ValidationError("k", settings.k, f"at most the number of customers ({len(ids)})")
    order = _order(ids)
    table = _concat_features(found, order)
    clustering = cluster_customers(
        table,
        settings.features,
        k=settings.k,
        revenue=settings.revenue,
        random_state=settings.random_state,
    )
    # Back from id order to the partitions' own order.
    labels = np.empty_like(clustering.labels)
    labels[order] = clustering.labels
    bounds = np.cumsum([0, *(len(p) for p in found)])
    pieces = iter(np.split(labels, bounds[1:-1]))
    empty = np.zeros(0, dtype=np.int64)
    return _Fitted(
        clustering=clustering,
        labels=tuple(empty if p is None else next(pieces) for p in parts),
    )


def _clustering_of(fitted: _Fitted) -> Clustering:
    return fitted.clustering


def _profiles_of(fitted: _Fitted) -> tuple[ClusterProfile, ...]:
    return fitted.clustering.profiles


def _labels_of(fitted: _Fitted, index: int) -> IntArray:
    return fitted.labels[index]


def _cluster_rows(part: CustomerFeatures | None, labels: IntArray, kind: str) -> Any:
    """Stage 2: the partition's customers and their clusters."""
    if part is None:
        return _cluster_meta(kind)
    return _rows_frame({"customer_id": np.asarray(part.customer_ids), "cluster": labels})


def _cluster_meta(kind: str) -> Any:
    pd = require("pandas", extra="pandas", purpose="Dask results")
    return pd.DataFrame(
        {
            "customer_id": pd.Series([], dtype=np.int64 if kind == "i" else object),
            "cluster": pd.Series([], dtype=np.int64),
        }
    )


@attrs.frozen(kw_only=True, eq=False)
class DistributedClustering:
    """Behavioural clusters computed on a cluster (see :func:`cluster`).

    Attributes:
        frame: a lazy Dask DataFrame, one row per customer: ``customer_id`` and
            ``cluster`` (0..k-1, the labels of the single-machine
            :class:`~custmgmt.segmentation.clustering.Clustering`).
        parts: each partition's gathered feature columns (Dask delayed).
        fitted: the gather's fit (Dask delayed).
        features: the columns clustered.
        k: the number of clusters asked for.
    """

    frame: Any
    parts: tuple[Any, ...]
    fitted: Any
    features: tuple[str, ...]
    k: int

    def collect(self) -> Clustering:
        """The whole :class:`~custmgmt.segmentation.clustering.Clustering` here
        (customers in id order, as on one machine; the fitted
        :class:`~custmgmt.segmentation.clustering.KMeans` as ``clusterer``)."""
        delayed = _delayed()
        result: Clustering = delayed(_clustering_of, pure=True)(self.fitted).compute()
        return result

    def profiles(self) -> tuple[ClusterProfile, ...]:
        """Only the cluster profiles (size, share, feature means, revenue share): the
        gather and the fit run, no per-customer result comes to this machine."""
        delayed = _delayed()
        result: tuple[ClusterProfile, ...] = delayed(_profiles_of, pure=True)(self.fitted).compute()
        return result

    def to_parquet(self, path: str | os.PathLike[str]) -> None:
        """Write :attr:`frame` as Parquet files under ``path`` (one per partition of
        customers, which are hash partitions of the customer id)."""
        self.frame.to_parquet(os.fspath(path), write_index=False)


def cluster(
    orders: DistributedOrders,
    *,
    as_of: datetime,
    features: Sequence[str] = ("recency", "frequency", "total_spend"),
    k: int = 4,
    random_state: int | None = 0,
    revenue: str = "total_spend",
    clusterer: Any = None,
    npartitions: int | None = None,
) -> DistributedClustering:
    """Cluster every customer of ``orders`` on the cluster: the same centroids,
    labels and profiles as
    :func:`~custmgmt.segmentation.clustering.cluster_customers` on one machine, on
    the feature table of :func:`~custmgmt.segmentation.inputs.segment_features` of
    the same orders.

    Args:
        orders: from :func:`~custmgmt.distributed.read_orders` or
            :func:`~custmgmt.distributed.from_dask`.
        as_of: the aware moment the features are computed at.
        features: the columns to cluster on: order features of the catalogue
            (``recency``, ``frequency``, ``monetary_net``, ``spend_90d`` ...) or the
            derived ``annual_spend``, ``total_spend``, ``aov_major``, ``spend_change``.
        k: clusters of the built-in seeded k-means.
        random_state: its seed.
        revenue: the column whose shares the profiles report.
        clusterer: must be None (a host's clusterer is not shipped to workers).
        npartitions: partitions of customers after the shuffle, 1 to
            ``MAX_PARTITIONS`` (default: as many as input pieces, at most that).

    Raises:
        ValidationError: a naive ``as_of``; ``k < 1``; an unknown or interaction
            feature (field ``features`` or ``revenue``); a ``clusterer``; a bad
            ``random_state`` or ``npartitions``; on compute, fewer customers than
            ``k`` (field ``k``) or bad input naming its file.
    """
    require_aware("as_of", as_of)
    settings = _settings(features, k, random_state, revenue, clusterer)
    delayed = _delayed()
    kind = _id_kind(orders)
    frames = _frames(orders, npartitions)
    one = [delayed(_cluster_one, pure=True)(f, as_of, settings) for f in frames]
    fitted = delayed(_cluster_fit, pure=True)(one, settings)
    rows = [
        delayed(_cluster_rows, pure=True)(p, delayed(_labels_of, pure=True)(fitted, i), kind)
        for i, p in enumerate(one)
    ]
    return DistributedClustering(
        frame=_from_delayed(rows, _cluster_meta(kind)),
        parts=tuple(one),
        fitted=fitted,
        features=settings.features,
        k=settings.k,
    )
