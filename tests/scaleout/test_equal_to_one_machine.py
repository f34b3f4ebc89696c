"""The cluster path gives every customer the single-machine answer (issue 21).

The single-machine side reads the same Parquet files with
:func:`custmgmt.distributed.read_orders_parquet` (itself checked against the CSV
reader below) and runs the ordinary library calls; the cluster side runs on a
``LocalCluster(n_workers=2, threads_per_worker=1, processes=True)``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from custmgmt.analytics.clv import analyse_clv
from custmgmt.analytics.features import customer_features
from custmgmt.analytics.frames import OrderFrame
from custmgmt.distributed import (
    analyse,
    clv,
    from_dask,
    rate,
    read_orders,
    read_orders_parquet,
    segment,
    shuffle_layers,
)
from custmgmt.rating import RatingPolicy, rate_frames
from custmgmt.segmentation.report import segment_report

from ._data import write_csv

AS_OF = datetime(2025, 1, 1, tzinfo=UTC)


def test_parquet_reads_the_orders_the_csv_reader_reads(small_store: Path, tmp_path: Path) -> None:
    from .conftest import SMALL_ORDERS

    csv_path = write_csv(tmp_path / "orders.csv", orders=SMALL_ORDERS)
    from_csv = OrderFrame.from_csv(csv_path)
    from_parquet = read_orders_parquet(small_store)
    assert np.array_equal(from_csv.customer_ids, from_parquet.customer_ids)
    names = ["frequency", "monetary_net", "recency", "category_breadth", "interval_median"]
    a = customer_features(from_csv, as_of=AS_OF, features=names)
    b = customer_features(from_parquet, as_of=AS_OF, features=names)
    for name in names:
        assert np.array_equal(np.asarray(a[name]), np.asarray(b[name]), equal_nan=True), name


def check_rating(store: Path, *, explain_every: int = 1, npartitions: int | None = None) -> None:
    single = rate_frames(RatingPolicy.default(), read_orders_parquet(store), as_of=AS_OF)
    result = rate(
        read_orders(store, rows_per_partition=1 << 14), as_of=AS_OF, npartitions=npartitions
    )
    assert shuffle_layers(result.frame) == 1
    got = result.collect()
    compare_rating(got, single, every=explain_every)
    frame = result.frame.compute().sort_values("customer_id")
    assert frame["customer_id"].tolist() == single.customer_ids.tolist()
    assert np.array_equal(frame["stars"].to_numpy(), single.stars)


def compare_rating(got: Any, single: Any, *, every: int = 1) -> None:
    assert np.array_equal(got.customer_ids, single.customer_ids)
    assert np.array_equal(got.score, single.score)  # bit for bit
    assert np.array_equal(got.stars, single.stars)
    for name in single.contributions:
        assert np.array_equal(got.contributions[name], single.contributions[name])
    assert got.unrated == single.unrated
    assert np.array_equal(got.scale.thresholds, single.scale.thresholds)
    # Everything an explanation is built from, for every customer, vectorised...
    for field in ("computed_stars", "rated_stars", "previous_stars", "pending", "change"):
        assert np.array_equal(getattr(got, field), getattr(single, field)), field
    assert got.overrides == single.overrides
    # ...and the explanations themselves (each explain() looks its customer up among
    # all) for up to 300 customers spread over the run, every ``every``-th at most.
    picked = single.customer_ids[::every]
    if len(picked) > 300:
        picked = picked[np.linspace(0, len(picked) - 1, 300).astype(np.int64)]
    for customer in picked:
        assert str(got.explain(customer)) == str(single.explain(customer))


def check_segments(store: Path) -> None:
    single = segment_report(read_orders_parquet(store), as_of=AS_OF)
    result = segment(read_orders(store, rows_per_partition=1 << 14), as_of=AS_OF)
    assert shuffle_layers(result.frame) == 1
    got = result.collect()
    compare_segments(got, single)
    frame = result.frame.compute().sort_values("customer_id")
    assert frame["churn_score"].tolist() == single.churn.score.tolist()
    assert frame["rfm_segment"].tolist() == single.rfm.labels.tolist()


def compare_segments(got: Any, single: Any, *, every: int = 1) -> None:
    assert np.array_equal(got.features.customer_ids, single.features.customer_ids)
    for name in single.features.names:
        assert np.array_equal(
            np.asarray(got.features[name]), np.asarray(single.features[name]), equal_nan=True
        ), name
    assert list(got.segmentations) == list(single.segmentations)
    for name, seg in single.segmentations.items():
        assert np.array_equal(got.segmentations[name].codes, seg.codes), name
    for field in ("r", "f", "m", "codes"):
        assert np.array_equal(getattr(got.rfm, field), getattr(single.rfm, field)), field
    assert np.array_equal(got.churn.fired, single.churn.fired)
    assert np.array_equal(got.churn.score, single.churn.score)
    assert np.array_equal(got.churn.risk, single.churn.risk)
    assert np.array_equal(got.churn.reason, single.churn.reason)
    assert np.array_equal(got.churn.evidence, single.churn.evidence)
    flagged = np.flatnonzero(single.churn.flagged)[::every]
    assert [str(e) for e in got.churn.explain_rows(flagged.tolist())] == [
        str(e) for e in single.churn.explain_rows(flagged.tolist())
    ]
    assert got.format(top=20) == single.format(top=20)


def check_clv(store: Path, models: tuple[str, ...]) -> None:
    single = analyse_clv(read_orders_parquet(store), as_of=AS_OF, models=models)
    result = clv(read_orders(store, rows_per_partition=1 << 14), as_of=AS_OF, models=models)
    assert shuffle_layers(result.frame) == 1
    compare_clv(result.collect(), single)


def compare_clv(got: Any, single: Any) -> None:
    a, b = single.stage.summary, got.stage.summary
    assert np.array_equal(got.customer_ids, single.customer_ids)
    assert np.array_equal(a.frequency, b.frequency)
    assert np.array_equal(a.recency, b.recency)
    assert np.array_equal(a.T, b.T)
    assert np.array_equal(a.monetary_value, b.monetary_value, equal_nan=True)
    assert (got.stage.n_orders, got.stage.n_counted) == (
        single.stage.n_orders,
        single.stage.n_counted,
    )
    for one, many in zip(single.fits, got.fits, strict=True):
        assert one.key == many.key
        assert (one.model is None) == (many.model is None), (one.error, many.error)
        if one.model is not None and many.model is not None:
            for name, value in one.model.params_.items():
                assert many.model.params_[name] == pytest.approx(value, rel=1e-6), name
    if single.clv is not None:
        assert got.clv is not None
        np.testing.assert_allclose(got.clv, single.clv, rtol=1e-6)
    assert single.alive is not None
    assert got.alive is not None
    np.testing.assert_allclose(got.alive, single.alive, rtol=1e-6)


def test_rating_equals_one_machine(client: Any, small_store: Path) -> None:
    check_rating(small_store, npartitions=7)


def test_segments_rfm_and_churn_equal_one_machine(client: Any, small_store: Path) -> None:
    check_segments(small_store)


def test_clv_equals_one_machine(client: Any, small_store: Path) -> None:
    check_clv(small_store, ("bg", "pnbd", "gg"))


def test_more_partitions_than_customers_leaves_some_empty(client: Any, tmp_path: Path) -> None:
    from ._data import write_orders

    write_orders(tmp_path, orders=40, files=3)
    check_rating(tmp_path, npartitions=64)


def test_any_dask_source_gives_the_same_rating(client: Any, small_store: Path) -> None:
    import dask.dataframe as dd
    import pyarrow.parquet as pq

    table = pq.read_table(sorted(small_store.glob("*.parquet"))[3])
    frame = dd.from_pandas(table.to_pandas(), npartitions=4)
    single = rate_frames(
        RatingPolicy.default(),
        read_orders_parquet(sorted(small_store.glob("*.parquet"))[3]),
        as_of=AS_OF,
    )
    got = rate(from_dask(frame), as_of=AS_OF).collect()
    assert np.array_equal(got.customer_ids, single.customer_ids)
    assert np.array_equal(got.stars, single.stars)
    assert np.array_equal(got.score, single.score)


@pytest.mark.slow
def test_one_million_orders_in_16_files_equal_one_machine(client: Any, big_store: Path) -> None:
    # The acceptance store: 1M orders, 16 unsorted files, every customer spread over them;
    # the three analyses from one shuffle (analyse), against one single-machine read.
    frame = read_orders_parquet(big_store)
    models = ("bg", "gg")
    result = analyse(read_orders(big_store), as_of=AS_OF, models=models)
    for lazy in result.frames():
        assert shuffle_layers(lazy) == 1
    rating, segments, lifetimes = result.collect()
    compare_rating(rating, rate_frames(RatingPolicy.default(), frame, as_of=AS_OF), every=97)
    compare_segments(segments, segment_report(frame, as_of=AS_OF), every=97)
    compare_clv(lifetimes, analyse_clv(frame, as_of=AS_OF, models=models))
