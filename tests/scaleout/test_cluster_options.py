"""What the cluster path used to refuse, now with the single machine's answers (issue
21): ``clv --calibration-end``, ``rate --save`` into a store, the churn purchase cycle
by the mean and the ``ModelAliveBelow`` rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.analytics.batches import OrderBatch
from custmgmt.analytics.clv import analyse_clv
from custmgmt.analytics.loading import load_orders
from custmgmt.churn import (
    ChurnEngine,
    ModelAliveBelow,
    NoPurchaseWithin,
    PurchaseCycleRule,
    SpendDrop,
)
from custmgmt.churn.partitioned import PopulationModelRule, check_engine
from custmgmt.churn.rules import ChurnContext, RuleOutcome
from custmgmt.cli import main
from custmgmt.distributed import (
    clv,
    rate_into_store,
    read_orders,
    read_orders_parquet,
    segment,
    shuffle_layers,
)
from custmgmt.errors import ValidationError
from custmgmt.rating import RatingPolicy, rate_store
from custmgmt.segmentation.report import segment_report

from ._cli_support import run_in_a_process
from ._data import synthetic_orders, table_of, write_orders
from .test_equal_to_one_machine import compare_segments

AS_OF = datetime(2025, 1, 1, tzinfo=UTC)
CALIBRATION_END = datetime(2024, 7, 1, tzinfo=UTC)
CREATED = datetime(2025, 1, 2, tzinfo=UTC)

#: Every purchase-cycle variant and the model rule, beside two per-customer rules.
ENGINE = ChurnEngine(
    rules=(
        PurchaseCycleRule(statistic="mean"),
        PurchaseCycleRule(statistic="mean", fallback="population", name="mean, population"),
        PurchaseCycleRule(name="median cycle"),
        ModelAliveBelow(threshold=0.4),
        NoPurchaseWithin(days=180),
        SpendDrop(),
    )
)


# -- churn: the mean purchase cycle and the model rule -----------------------------------
def compare_churn_values(got: Any, single: Any) -> None:
    """Every rule's values for every customer, bit for bit (the mean cycles' population
    and category fallbacks are in ``cycle_days``; the model's P(alive) in ``p_alive``)."""
    assert [r.name for r in got.churn.rules] == [r.name for r in single.churn.rules]
    assert [type(r) for r in got.churn.rules] == [type(r) for r in single.churn.rules]
    for rule, columns in single.churn.values.items():
        for name, values in columns.items():
            assert np.array_equal(got.churn.values[rule][name], values, equal_nan=True), (
                rule,
                name,
            )


@pytest.mark.parametrize("npartitions", [1, 7])
def test_mean_cycles_and_the_model_rule_equal_one_machine(
    client: Any, small_store: Path, npartitions: int
) -> None:
    single = segment_report(read_orders_parquet(small_store), as_of=AS_OF, engine=ENGINE)
    result = segment(
        read_orders(small_store, rows_per_partition=1 << 14),
        as_of=AS_OF,
        engine=ENGINE,
        npartitions=npartitions,
    )
    assert shuffle_layers(result.frame) == 1
    got = result.collect()
    compare_segments(got, single)
    compare_churn_values(got, single)
    # The data exercise what is compared: each cycle source, and the model both ways.
    sources = single.churn.values["purchase cycle"]["cycle_source"]
    assert {0.0, 1.0, 2.0} <= set(sources[~np.isnan(sources)].tolist())
    fired = single.churn.fired[:, 3]
    assert 0 < fired.sum() < len(fired)
    frame = result.frame.compute().sort_values("customer_id")
    assert frame["churn_score"].tolist() == single.churn.score.tolist()


def test_the_mean_cycle_needs_the_customer_order(small_store: Path) -> None:
    # Why the cluster re-deals the gathered values: summed in another order, the
    # population's mean cycle of these data is a different float.
    from custmgmt.analytics.partitioned import split_frames
    from custmgmt.churn.partitioned import churn_gather
    from custmgmt.segmentation.inputs import segment_features

    frame = read_orders_parquet(small_store)
    _, parts = split_frames(frame, None, threads=4, partitions=4)
    own = []
    for orders, _ in parts:
        assert orders is not None
        features = segment_features(orders, None, as_of=AS_OF, extra=["interval_mean"])
        own.append(churn_gather(ENGINE, features, orders, AS_OF)["own:purchase cycle"])
    in_order = float(np.mean(np.concatenate(own)))
    shuffled = float(np.mean(np.concatenate(own[::-1])))
    assert in_order != shuffled


def test_a_model_rule_fitted_on_distinct_rows_is_the_one_fitted_on_every_row(
    small_store: Path,
) -> None:
    frame = read_orders_parquet(small_store)
    features = segment_report(frame, as_of=AS_OF).features
    rule = ModelAliveBelow()
    summary = rule.summary(ChurnContext(features=features, as_of=AS_OF, orders=frame))
    rows = np.column_stack([summary.frequency, summary.recency, summary.T]).astype(float)
    distinct, counts = np.unique(rows, axis=0, return_counts=True)
    whole = rule.model(summary)
    weighted = rule.fit_model(distinct[:, 0], distinct[:, 1], distinct[:, 2], weights=counts)
    assert weighted.params_ == whole.params_


def test_a_host_rule_class_is_refused_on_a_cluster() -> None:
    class Own(NoPurchaseWithin):
        def evaluate(self, ctx: ChurnContext) -> RuleOutcome:
            return super().evaluate(ctx)

    check_engine(ENGINE)
    with pytest.raises(ValidationError, match=r"engine\.rules"):
        check_engine(ChurnEngine(rules=(Own(name="own"),)))


def test_the_population_model_rule_reads_as_the_original() -> None:
    rule = PopulationModelRule(threshold=0.4, fitted=None)
    assert rule.describe({"p_alive": 0.2}) == ModelAliveBelow(threshold=0.4).describe(
        {"p_alive": 0.2}
    )
    with pytest.raises(ValidationError):
        rule.model(None)


# -- clv --calibration-end -------------------------------------------------------------
def test_a_calibration_split_equals_one_machine(client: Any, small_store: Path) -> None:
    models = ("bg", "pnbd", "gg")
    single = analyse_clv(
        read_orders_parquet(small_store),
        as_of=AS_OF,
        calibration_end=CALIBRATION_END,
        models=models,
    )
    result = clv(
        read_orders(small_store, rows_per_partition=1 << 14),
        as_of=AS_OF,
        calibration_end=CALIBRATION_END,
        models=models,
        npartitions=5,
    )
    got = result.collect()
    a, b = single.stage.summary, got.stage.summary
    assert np.array_equal(got.customer_ids, single.customer_ids)
    for name in ("frequency", "recency", "T", "monetary_value", "frequency_holdout"):
        assert np.array_equal(getattr(b, name), getattr(a, name), equal_nan=True), name
    assert np.array_equal(b.monetary_value_holdout, a.monetary_value_holdout, equal_nan=True)
    assert b.duration_holdout == a.duration_holdout > 0
    assert got.stage.calibration_end == CALIBRATION_END
    assert (got.stage.n_orders, got.stage.n_counted) == (
        single.stage.n_orders,
        single.stage.n_counted,
    )
    # Customers who first bought after the calibration end are not in the summary.
    assert len(single.customer_ids) < len(read_orders_parquet(small_store).customer_ids)
    for one, many in zip(single.fits, got.fits, strict=True):
        assert one.model is not None, one.error
        assert many.model is not None, many.error
        assert many.model.params_ == one.model.params_, one.key
    assert np.array_equal(got.alive, single.alive)
    assert np.array_equal(got.clv, single.clv)
    # The printout: the calibration heading, every model, the holdout comparison.
    assert str(got.stage) == str(single.stage)
    assert "calibration period ends" in str(got.stage)
    assert got.render_details(top=10) == single.render_details(top=10)
    assert "holdout:" in got.render_details(top=10)


def test_a_calibration_end_not_before_as_of_is_refused_before_anything_runs(
    small_store: Path,
) -> None:
    orders = read_orders(small_store)
    with pytest.raises(ValidationError, match="calibration_end") as refused:
        clv(orders, as_of=AS_OF, calibration_end=AS_OF + timedelta(hours=1))
    with pytest.raises(ValidationError) as single:
        analyse_clv(
            read_orders_parquet(small_store),
            as_of=AS_OF,
            calibration_end=AS_OF + timedelta(hours=1),
        )
    assert str(refused.value) == str(single.value)
    with pytest.raises(ValidationError, match="calibration_end"):
        clv(orders, as_of=AS_OF, calibration_end=datetime(2024, 7, 1))


# -- rate --save into a store ------------------------------------------------------------
@pytest.fixture(scope="module")
def loadable(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Orders a store can hold too (an order id and a category each), as 3 files."""
    folder = tmp_path_factory.mktemp("loadable")
    data = synthetic_orders(4_000, seed=5)
    data["category"] = np.where(data["category"] == None, "other", data["category"])  # noqa: E711
    n = len(data["customer_id"])
    for i, (lo, hi) in enumerate([(0, 1500), (1500, 2600), (2600, n)]):
        table = table_of(data, slice(lo, hi))
        ids = pa.array([f"o{j:06d}" for j in range(lo, hi)], pa.string())
        pq.write_table(table.append_column("order_id", ids), folder / f"orders-{i}.parquet")
    return folder


def store_with_orders(path: Path, orders: Path) -> SQLiteStore:
    store = SQLiteStore(path)
    load_orders(store, OrderBatch.from_frame(read_orders_parquet(orders)))
    return store


def compare_runs(got: Any, single: Any, got_run: Any, single_run: Any) -> None:
    for field in ("as_of", "policy_json", "customer_count", "distribution"):
        assert getattr(got_run, field) == getattr(single_run, field), field
    a = single.ratings.results_arrays(single_run.id)
    b = got.ratings.results_arrays(got_run.id)
    assert b.criteria == a.criteria
    for field in ("customer_ids", "score", "stars", "computed_stars", "previous_stars", "pending"):
        assert np.array_equal(getattr(b, field), getattr(a, field)), field
    assert np.array_equal(b.contributions, a.contributions)


def test_a_cluster_run_saved_into_a_store_equals_rate_store(
    client: Any, loadable: Path, tmp_path: Path
) -> None:
    single = store_with_orders(tmp_path / "one.db", loadable)
    target = SQLiteStore(tmp_path / "cluster.db")
    orders = read_orders(loadable, rows_per_partition=1 << 10)
    policy = RatingPolicy.default()
    try:
        # Two runs: the second reads the first as its previous stars (hysteresis).
        for as_of in (AS_OF - timedelta(days=120), AS_OF):
            one, one_run = rate_store(
                single, policy, as_of=as_of, currency="CNY", created_at=CREATED
            )
            many, many_run = rate_into_store(
                orders, target, policy, as_of=as_of, created_at=CREATED, chunk_rows=300
            )
            assert one_run is not None
            compare_runs(target, single, many_run, one_run)
            assert np.array_equal(many.stars, one.stars)
            assert np.array_equal(many.score, one.score)
        assert np.any(
            single.ratings.results_arrays(one_run.id).previous_stars > 0
        ), "the second run has previous stars"
        # Saving is idempotent: the same policy and as_of return the stored run.
        _, again_run = rate_into_store(orders, target, policy, as_of=AS_OF, created_at=CREATED)
        assert again_run.id == many_run.id
        assert len(target.ratings.list_runs()) == 2
    finally:
        single.close()
        target.close()


def without_run_ids(text: str) -> list[str]:
    return [line.split(" (as of")[1] if line.startswith("saved run") else line
            for line in text.splitlines()]  # fmt: skip


@pytest.mark.slow
def test_rate_save_with_workers_stores_what_rate_db_save_stores(
    capsys: pytest.CaptureFixture[str], loadable: Path, tmp_path: Path
) -> None:
    single_path, cluster_path = tmp_path / "one.db", tmp_path / "cluster.db"
    store_with_orders(single_path, loadable).close()
    SQLiteStore(cluster_path).close()
    assert main(["rate", "--db", str(single_path), "--save", "--as-of", "2025-01-01"]) == 0
    single_out = capsys.readouterr().out
    # A process of its own: the command starts (and stops) its own LocalCluster.
    done = run_in_a_process(
        "rate", str(loadable), "--workers", "2", "--db", str(cluster_path), "--save",
        "--as-of", "2025-01-01",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert without_run_ids(done.stdout) == without_run_ids(single_out)
    single, cluster = SQLiteStore(single_path), SQLiteStore(cluster_path)
    try:
        (one_run,) = single.ratings.list_runs()
        (many_run,) = cluster.ratings.list_runs()
        compare_runs(cluster, single, many_run, one_run)
    finally:
        single.close()
        cluster.close()


def test_a_store_with_a_cluster_only_as_where_rate_save_keeps_the_run(
    capsys: pytest.CaptureFixture[str], loadable: Path, tmp_path: Path
) -> None:
    db = tmp_path / "x.db"
    SQLiteStore(db).close()
    for command in (["segment"], ["clv"], ["rate"]):
        assert main([*command, str(loadable), "--db", str(db), "--workers", "2"]) == 2
        assert "--db" in capsys.readouterr().err
    assert main(["rate", str(loadable), "--save", "--workers", "2"]) == 2
    assert "--save" in capsys.readouterr().err


@pytest.mark.slow
def test_clv_calibration_end_with_workers_prints_what_one_machine_prints(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    write_orders(tmp_path, orders=3_000, files=4)
    argv = ["clv", str(tmp_path), "--models", "bg,gg", "--calibration-end", "2024-07-01"]
    assert main(argv) == 0
    single = capsys.readouterr().out
    done = run_in_a_process(*argv, "--workers", "2")
    assert done.returncode == 0, done.stderr
    timing = (" s)", "seconds")
    assert [line for line in done.stdout.splitlines() if not any(t in line for t in timing)] == [
        line for line in single.splitlines() if not any(t in line for t in timing)
    ]
    assert "holdout:" in done.stdout
