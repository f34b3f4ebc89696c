"""Past one machine: ratings, segments, churn, CLV and clusters on a Dask cluster.

The ``dask`` extra (``pip install 'custmgmt[dask]'``: dask[dataframe], distributed,
pyarrow). ``import custmgmt`` never imports this package; importing it imports no
extra either -- dask and pyarrow are imported when a function here runs.

* :mod:`custmgmt.distributed.parquet`: orders in Parquet files (the single-machine
  reader :func:`read_orders_parquet` and the per-piece reader both paths share).
* :mod:`custmgmt.distributed.interactions`: interactions in Parquet files or any Dask
  DataFrame (:func:`read_interactions`, :func:`interactions_from_dask`; the
  single-machine :func:`read_interactions_parquet`), for ``interactions=``.
* :mod:`custmgmt.distributed.pipeline`: :func:`read_orders` / :func:`from_dask`, then
  :func:`rate`, :func:`segment`, :func:`clv`; one shuffle by customer, the library's
  numpy code per partition, population quantities gathered exactly.
* :mod:`custmgmt.distributed.clustering`: :func:`cluster`, behavioural k-means
  clusters fitted once on the gathered per-customer features.
* :mod:`custmgmt.distributed.store_runs`: :func:`rate_into_store`, a cluster's rating
  kept in a store as ``rate_store`` keeps one (``rate --save`` with a cluster).

``docs/scale-out.md`` shows a session on a ``LocalCluster`` and on a remote scheduler.
"""

from custmgmt.distributed.clustering import DistributedClustering, cluster
from custmgmt.distributed.interactions import (
    DistributedInteractions,
    interactions_from_dask,
    read_interactions,
    read_interactions_parquet,
)
from custmgmt.distributed.parquet import is_parquet_source, read_orders_parquet
from custmgmt.distributed.pipeline import (
    Analysis,
    DistributedClv,
    DistributedOrders,
    DistributedRating,
    DistributedSegments,
    analyse,
    clv,
    from_dask,
    rate,
    read_orders,
    segment,
    shuffle_layers,
)
from custmgmt.distributed.store_runs import rate_into_store

__all__ = [
    "Analysis",
    "DistributedClustering",
    "DistributedClv",
    "DistributedInteractions",
    "DistributedOrders",
    "DistributedRating",
    "DistributedSegments",
    "analyse",
    "cluster",
    "clv",
    "from_dask",
    "interactions_from_dask",
    "is_parquet_source",
    "rate",
    "rate_into_store",
    "read_interactions",
    "read_interactions_parquet",
    "read_orders",
    "read_orders_parquet",
    "segment",
    "shuffle_layers",
]
