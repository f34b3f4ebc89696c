"""Behavioural clusters on the cluster equal one machine's k-means (issue 21).

The single-machine side is :func:`cluster_customers` on the feature table of the same
Parquet files read by :func:`read_orders_parquet`; the cluster side is
:func:`custmgmt.distributed.cluster` on the session's ``LocalCluster``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custmgmt.analytics.features import customer_features
from custmgmt.distributed import (
    DistributedClustering,
    cluster,
    from_dask,
    read_orders,
    read_orders_parquet,
    shuffle_layers,
)
from custmgmt.errors import ValidationError
from custmgmt.segmentation.clustering import Clustering, KMeans, cluster_customers
from custmgmt.segmentation.inputs import segment_features

from ._data import synthetic_orders, table_of, write_int_orders, write_orders

AS_OF = datetime(2025, 1, 1, tzinfo=UTC)


def assert_same_clustering(got: Clustering, single: Clustering) -> None:
    assert np.array_equal(got.customer_ids, single.customer_ids)
    assert np.array_equal(got.labels, single.labels)
    assert got.features == single.features
    # Bit for bit: the same matrix, seed and iterations give the same floats.
    assert np.array_equal(got.clusterer.cluster_centers_, single.clusterer.cluster_centers_)
    assert got.clusterer.inertia_ == single.clusterer.inertia_
    assert got.clusterer.n_iter_ == single.clusterer.n_iter_
    # repr: exact for floats (shortest round trip), and a NaN mean equals a NaN mean.
    assert [repr(p) for p in got.profiles] == [repr(p) for p in single.profiles]
    assert got.summary() == single.summary()


def check(result: DistributedClustering, single: Clustering) -> None:
    assert shuffle_layers(result.frame) == 1
    assert_same_clustering(result.collect(), single)
    frame = result.frame.compute().sort_values("customer_id")
    assert frame["customer_id"].tolist() == single.customer_ids.tolist()
    assert np.array_equal(frame["cluster"].to_numpy(), single.labels)


@pytest.mark.parametrize("npartitions", [1, 7])
def test_default_clusters_equal_one_machine(
    client: Any, small_store: Path, npartitions: int
) -> None:
    table = segment_features(read_orders_parquet(small_store), as_of=AS_OF)
    single = cluster_customers(table, k=4)
    assert len(single.profiles) == 4
    result = cluster(
        read_orders(small_store, rows_per_partition=1 << 14),
        as_of=AS_OF,
        k=4,
        npartitions=npartitions,
    )
    check(result, single)
    assert [repr(p) for p in result.profiles()] == [repr(p) for p in single.profiles]


def test_catalogue_features_with_missing_values_and_another_seed(
    client: Any, small_store: Path
) -> None:
    # interval_median is NaN for one-order customers: the population mean fills it.
    names = ["monetary_net", "spend_90d", "interval_median", "category_breadth"]
    table = customer_features(read_orders_parquet(small_store), as_of=AS_OF, features=names)
    assert np.isnan(np.asarray(table["interval_median"])).any()
    single = cluster_customers(table, names, k=6, revenue="monetary_net", random_state=11)
    result = cluster(
        read_orders(small_store, rows_per_partition=1 << 13),
        as_of=AS_OF,
        features=names,
        k=6,
        revenue="monetary_net",
        random_state=11,
        npartitions=3,
    )
    check(result, single)


def test_integer_ids_and_a_written_frame(client: Any, tmp_path: Path) -> None:
    import pandas as pd

    write_int_orders(tmp_path / "in", orders=16_000, files=4)
    table = segment_features(read_orders_parquet(tmp_path / "in"), as_of=AS_OF)
    features = ("frequency", "total_spend", "aov_major")
    single = cluster_customers(table, features, k=3)
    result = cluster(read_orders(tmp_path / "in"), as_of=AS_OF, features=features, k=3)
    check(result, single)
    result.to_parquet(tmp_path / "out")
    written = pd.read_parquet(tmp_path / "out").sort_values("customer_id")
    assert written["customer_id"].dtype == np.int64
    assert written["customer_id"].tolist() == single.customer_ids.tolist()
    assert written["cluster"].tolist() == single.labels.tolist()


def test_empty_partitions_change_nothing(client: Any, tmp_path: Path) -> None:
    # 40 orders over 64 customer partitions: most partitions hold nobody.
    write_orders(tmp_path, orders=40, files=3)
    single = cluster_customers(segment_features(read_orders_parquet(tmp_path), as_of=AS_OF), k=3)
    result = cluster(read_orders(tmp_path), as_of=AS_OF, k=3, npartitions=64)
    check(result, single)


def test_one_cluster_per_customer_is_allowed_and_one_more_is_not(
    client: Any, tmp_path: Path
) -> None:
    write_orders(tmp_path, orders=40, files=2)
    single = cluster_customers(segment_features(read_orders_parquet(tmp_path), as_of=AS_OF), k=1)
    n = len(single.labels)
    check(cluster(read_orders(tmp_path), as_of=AS_OF, k=1, npartitions=5), single)
    exact = cluster_customers(segment_features(read_orders_parquet(tmp_path), as_of=AS_OF), k=n)
    assert_same_clustering(cluster(read_orders(tmp_path), as_of=AS_OF, k=n).collect(), exact)
    too_many = cluster(read_orders(tmp_path), as_of=AS_OF, k=n + 1, npartitions=3)
    with pytest.raises(ValidationError, match="at most the number of customers") as caught:
        too_many.collect()
    assert (caught.value.field, caught.value.value) == ("k", n + 1)


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"k": 0}, "k"),
        ({"k": -3}, "k"),
        ({"k": True}, "k"),
        ({"k": 2.0}, "k"),
        ({"features": ["recency", "nope"]}, "features"),
        ({"features": "recency"}, "features"),
        ({"features": []}, "features"),
        ({"features": ["complaint_count"]}, "features"),  # interactions: not on a cluster
        ({"features": ["disputes"]}, "features"),
        ({"revenue": "turnover"}, "revenue"),
        ({"random_state": -1}, "random_state"),
        ({"clusterer": KMeans(3)}, "clusterer"),
        ({"npartitions": 0}, "npartitions"),
    ],
)
def test_bad_arguments_name_the_field(
    small_store: Path, arguments: dict[str, Any], field: str
) -> None:
    orders = read_orders(small_store)
    with pytest.raises(ValidationError) as caught:
        cluster(orders, as_of=AS_OF, **arguments)
    assert caught.value.field == field
    assert field in str(caught.value)


def test_a_naive_as_of_is_refused(small_store: Path) -> None:
    with pytest.raises(ValidationError) as caught:
        cluster(read_orders(small_store), as_of=datetime(2025, 1, 1))
    assert caught.value.field == "as_of"


@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    pieces=st.integers(1, 5),
    npartitions=st.integers(1, 9),
    k=st.integers(1, 5),
    seed=st.integers(0, 2**16),
    features=st.lists(
        st.sampled_from(["recency", "frequency", "total_spend", "return_rate", "tenure"]),
        min_size=1,
        max_size=3,
        unique=True,
    ),
)
def test_any_split_gives_one_machine_s_clusters(
    client: Any,
    tmp_path_factory: pytest.TempPathFactory,
    pieces: int,
    npartitions: int,
    k: int,
    seed: int,
    features: list[str],
) -> None:
    import dask.dataframe as dd
    import pyarrow.parquet as pq

    path = tmp_path_factory.mktemp("split") / "orders.parquet"
    pq.write_table(table_of(synthetic_orders(900, seed=seed), slice(None)), path)
    table = segment_features(read_orders_parquet(path), as_of=AS_OF)
    single = cluster_customers(table, features, k=k, random_state=seed)
    frame = dd.from_pandas(pq.read_table(path).to_pandas(), npartitions=pieces, sort=False)
    result = cluster(
        from_dask(frame),
        as_of=AS_OF,
        features=features,
        k=k,
        random_state=seed,
        npartitions=npartitions,
    )
    assert shuffle_layers(result.frame) == 1
    assert_same_clustering(result.collect(), single)
