"""A LocalCluster (2 worker processes, 1 thread each) shared by the scale-out tests,
and the synthetic Parquet stores they read."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("dask.dataframe")
pytest.importorskip("distributed")
pytest.importorskip("pyarrow")

from ._data import write_orders

#: The small store most tests use; the acceptance store is 1M orders.
SMALL_ORDERS = 40_000
BIG_ORDERS = 1_000_000


@pytest.fixture(scope="session")
def client() -> Iterator[object]:
    from distributed import Client, LocalCluster

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        )
        with Client(cluster) as connected:
            yield connected
        cluster.close()


@pytest.fixture(scope="session")
def small_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("small-orders")
    write_orders(folder, orders=SMALL_ORDERS, files=16)
    return folder


@pytest.fixture(scope="session")
def big_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("big-orders")
    write_orders(folder, orders=BIG_ORDERS, files=16)
    return folder
