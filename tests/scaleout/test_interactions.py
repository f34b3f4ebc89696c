"""Interactions on the cluster: the same features, stars, segments and churn flags as
one machine with the same interactions (issue 21, "optionally interactions").

The single-machine side builds its ``InteractionFrame`` with
``InteractionFrame.from_arrays(..., customer_index=orders)`` straight from the
generated rows (not through the Parquet reader), then runs the ordinary library
calls; the cluster reads the Parquet files on the session's LocalCluster.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custmgmt.analytics.clv import analyse_clv
from custmgmt.analytics.frames import InteractionFrame, OrderFrame
from custmgmt.distributed import (
    analyse,
    interactions_from_dask,
    rate,
    read_interactions,
    read_interactions_parquet,
    read_orders,
    read_orders_parquet,
    segment,
    shuffle_layers,
)
from custmgmt.errors import ValidationError
from custmgmt.rating import RatingPolicy, rate_frames
from custmgmt.segmentation.report import segment_report

from ._data import (
    interaction_table,
    synthetic_interactions,
    synthetic_orders,
    write_interactions,
    write_orders,
)
from .test_equal_to_one_machine import compare_clv, compare_rating, compare_segments

AS_OF = datetime(2025, 1, 1, tzinfo=UTC)
ORDERS = 6_000
INTERACTIONS = 24_000
#: A policy that reads reviews, complaints and browsing besides the orders.
POLICY = RatingPolicy.from_dict(
    {
        "name": "with interactions",
        "criteria": {
            "spend": {"weight": 0.5},
            "frequency": {"weight": 0.2},
            "reviews": {"weight": 0.15, "feature": "review_mean"},
            "complaints": {"weight": 0.05, "feature": "complaint_unresolved"},
            "browsing": {"weight": 0.1, "feature": "browse_90d"},
        },
    }
)


def reference(data: dict[str, np.ndarray], orders: OrderFrame) -> InteractionFrame:
    """The single machine's frame of the generated rows (file order = row order)."""
    rating = data["rating"]
    return InteractionFrame.from_arrays(
        customer_id=data["customer_id"],
        at=data["seconds"] * 1_000_000,
        kind=[k.lower() for k in data["kind"].tolist()],
        rating=rating,
        complaint_category=data["complaint_category"],
        resolved=data["resolved"],
        channel=data["channel"],
        customer_index=orders,
    )


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, OrderFrame, Any]:
    folder = tmp_path_factory.mktemp("with-interactions")
    write_orders(folder / "orders", orders=ORDERS, files=4)
    data = synthetic_interactions(synthetic_orders(ORDERS), INTERACTIONS)
    write_interactions(folder / "interactions", data, files=3)
    orders = read_orders_parquet(folder / "orders")
    return folder / "orders", folder / "interactions", orders, reference(data, orders)


def test_the_parquet_reader_reads_what_from_arrays_builds(store: Any) -> None:
    _, interactions, orders, single = store
    got = read_interactions_parquet(interactions, customer_index=orders)
    assert np.array_equal(got.customer_ids, single.customer_ids)
    for name in ("customer_code", "at", "kind", "rating", "complaint_category", "resolved"):
        assert np.array_equal(getattr(got, name), getattr(single, name)), name
    assert got.channel_names == single.channel_names
    # Some people interacted and never ordered: after the orders' customers, sorted.
    extra = single.customer_ids[len(orders.customer_ids) :]
    assert len(extra) == 40
    assert extra.tolist() == sorted(extra.tolist())


def test_rating_with_interaction_features_equals_one_machine(client: Any, store: Any) -> None:
    orders, interactions, frame, single_interactions = store
    single = rate_frames(POLICY, frame, single_interactions, as_of=AS_OF)
    assert single.unsupported == {}
    result = rate(
        read_orders(orders, rows_per_partition=1 << 11),
        POLICY,
        as_of=AS_OF,
        interactions=read_interactions(interactions, rows_per_partition=4096),
        npartitions=5,
    )
    assert shuffle_layers(result.frame) == 2  # one shuffle per input dataset
    got = result.collect()
    assert set(got.contributions) == {c.name for c in POLICY.criteria}
    compare_rating(got, single)  # scores bit for bit, stars, explanations, unrated
    # the people with interactions only are counted unrated, as on one machine
    assert got.unrated == single.unrated >= 40


def test_without_interactions_the_graph_and_the_answer_are_as_before(
    client: Any, store: Any
) -> None:
    orders, _, frame, _ = store
    single = rate_frames(POLICY, frame, as_of=AS_OF)
    assert set(single.unsupported) == {"review_mean", "complaint_unresolved", "browse_90d"}
    result = rate(read_orders(orders, rows_per_partition=1 << 11), POLICY, as_of=AS_OF)
    assert shuffle_layers(result.frame) == 1
    got = result.collect()
    compare_rating(got, single, every=7)
    assert got.unsupported == single.unsupported


def test_segments_rfm_and_churn_with_interactions_equal_one_machine(
    client: Any, store: Any
) -> None:
    orders, interactions, frame, single_interactions = store
    single = segment_report(frame, single_interactions, as_of=AS_OF)
    # The schemes and churn rules that need interactions run (nothing skipped)...
    assert {"quality tiers", "acquisition"} <= set(single.segmentations)
    assert single.skipped == ()
    result = segment(
        read_orders(orders, rows_per_partition=1 << 11),
        as_of=AS_OF,
        interactions=read_interactions(interactions, rows_per_partition=4096),
        npartitions=6,
    )
    assert shuffle_layers(result.frame) == 2
    got = result.collect()
    assert {"review_mean", "review_count", "complaint_unresolved"} <= set(single.features.names)
    compare_segments(got, single)  # every feature, membership, RFM and churn flag
    # ...and fire: unresolved complaints and falling reviews flag customers.
    rules = [r.name for r in single.churn.rules]
    fired = single.churn.fired.any(axis=0)
    assert fired[rules.index("unresolved complaint")]
    assert fired[rules.index("falling reviews")]
    # The lazy frame: one row per customer, those with interactions only included.
    rows = result.frame.compute().set_index("customer_id").loc[single.features.customer_ids]
    assert rows["churn_score"].tolist() == single.churn.score.tolist()
    seg = single.segmentations["quality tiers"]
    names = np.asarray([*seg.scheme.segment_names, ""], dtype=object)
    assert rows["quality tiers"].tolist() == names[seg.codes].tolist()
    assert "a000000" in rows.index


def test_partitions_of_interactions_only_equal_one_machine(client: Any, tmp_path: Path) -> None:
    # 40 orders of ~13 customers and 40 people who only interacted, over 48
    # partitions: some partitions hold interactions and no order.
    from custmgmt.distributed.pipeline import _inputs

    write_orders(tmp_path / "orders", orders=40, files=3)
    data = synthetic_interactions(synthetic_orders(40), 600, strangers=40)
    write_interactions(tmp_path / "interactions", data, files=2)
    orders = read_orders(tmp_path / "orders")
    interactions = read_interactions(tmp_path / "interactions")
    import dask

    frames, found = _inputs(orders, interactions, 48)
    assert found is not None
    pairs = dask.compute(*frames, *found)
    only = [
        k
        for k, (o, i) in enumerate(zip(pairs[:48], pairs[48:], strict=True))
        if o is not None and len(o) == 0 and i is not None and len(i) > 0
    ]
    assert only, "no partition of interactions only"
    frame = read_orders_parquet(tmp_path / "orders")
    single_interactions = reference(data, frame)
    result = analyse(
        orders,
        as_of=AS_OF,
        policy=POLICY,
        models=("bg",),
        interactions=interactions,
        npartitions=48,
    )
    for lazy in result.frames()[:2]:
        assert shuffle_layers(lazy) == 2
    rating, segments, lifetimes = result.collect()
    compare_rating(rating, rate_frames(POLICY, frame, single_interactions, as_of=AS_OF))
    compare_segments(segments, segment_report(frame, single_interactions, as_of=AS_OF))
    compare_clv(lifetimes, analyse_clv(frame, as_of=AS_OF, models=("bg",)))


def test_any_dask_source_of_interactions_gives_the_same_rating(client: Any, store: Any) -> None:
    import dask.dataframe as dd

    orders, interactions, frame, single_interactions = store
    table = pa.concat_tables(
        [pq.read_table(p) for p in sorted(Path(interactions).glob("*.parquet"))]
    )
    pandas = table.to_pandas()
    assert pandas["rating"].dtype == np.float64  # NaN where there is no rating
    source = interactions_from_dask(dd.from_pandas(pandas, npartitions=5))
    got = rate(read_orders(orders), POLICY, as_of=AS_OF, interactions=source).collect()
    compare_rating(got, rate_frames(POLICY, frame, single_interactions, as_of=AS_OF), every=11)


# -- bad input --------------------------------------------------------------------------
def small_table(rows: int = 50) -> pa.Table:
    return interaction_table(synthetic_interactions(synthetic_orders(60), rows), slice(0, rows))


def put(table: pa.Table, name: str, values: pa.Array) -> pa.Table:
    return table.set_column(table.schema.get_field_index(name), name, values)


def test_a_missing_column_names_the_file_and_column(tmp_path: Path) -> None:
    good = small_table()
    pq.write_table(good, tmp_path / "a.parquet")
    pq.write_table(good.drop_columns(["kind"]), tmp_path / "b.parquet")
    for reader in (read_interactions, read_interactions_parquet):
        with pytest.raises(ValidationError) as caught:
            reader(tmp_path)  # type: ignore[operator]
        assert caught.value.field == f"{tmp_path / 'b.parquet'}: column kind"


def test_a_bad_kind_names_the_file_on_one_machine_and_on_the_cluster(
    client: Any, store: Any, tmp_path: Path
) -> None:
    orders = store[0]
    table = small_table()
    kinds = table.column("kind").to_pylist()
    kinds[7] = "bought"
    path = tmp_path / "events.parquet"
    pq.write_table(put(table, "kind", pa.array(kinds)), path)
    with pytest.raises(ValidationError, match="one of browse") as caught:
        read_interactions_parquet(path)
    assert caught.value.field == f"{path}: column kind"
    assert caught.value.value == "bought"
    with pytest.raises(ValidationError) as remote:
        rate(
            read_orders(orders), POLICY, as_of=AS_OF, interactions=read_interactions(path)
        ).collect()
    assert remote.value.field == f"{path}: column kind"


@pytest.mark.parametrize(
    ("column", "values", "expected"),
    [
        ("at", pa.array(np.zeros(50, dtype="datetime64[s]")), "naive times are ambiguous"),
        (
            "at",
            pa.array(np.full(50, np.datetime64("2024-01-01", "D"))),
            "a timestamp with a time zone",
        ),
        ("rating", pa.array([6] * 50, pa.int8()), "a rating 0..5"),
        ("rating", pa.array([2.5] * 50), "whole ratings"),
        ("complaint_category", pa.array(["late"] * 50), "one of product_quality"),
        ("resolved", pa.array(["yes"] * 50), "booleans"),
        ("customer_id", pa.array([1.5] * 50), "integer or text ids"),
    ],
)
def test_bad_values_name_the_file_and_column(
    tmp_path: Path, column: str, values: pa.Array, expected: str
) -> None:
    path = tmp_path / "events.parquet"
    pq.write_table(put(small_table(), column, values), path)
    with pytest.raises(ValidationError, match=expected) as caught:
        read_interactions_parquet(path)
    assert caught.value.field == f"{path}: column {column}"


def test_an_empty_dataset_is_an_error(tmp_path: Path) -> None:
    pq.write_table(small_table().slice(0, 0), tmp_path / "a.parquet")
    for reader in (read_interactions, read_interactions_parquet):
        with pytest.raises(ValidationError, match="at least one interaction"):
            reader(tmp_path)  # type: ignore[operator]


def test_ids_of_another_type_than_the_orders_are_refused(store: Any, tmp_path: Path) -> None:
    table = small_table()
    path = tmp_path / "events.parquet"
    pq.write_table(put(table, "customer_id", pa.array(range(table.num_rows))), path)
    with pytest.raises(ValidationError, match="text ids") as caught:
        rate(read_orders(store[0]), POLICY, as_of=AS_OF, interactions=read_interactions(path))
    assert caught.value.field == f"{path}: column customer_id"


def test_integer_ids_meet_in_the_same_partitions(client: Any, tmp_path: Path) -> None:
    from ._data import write_int_orders

    write_int_orders(tmp_path / "orders", orders=4_000, files=3)
    frame = read_orders_parquet(tmp_path / "orders")
    buyers = np.asarray(frame.customer_ids)
    rng = np.random.default_rng(3)
    # 30 people never ordered, their ids below every buyer's
    people = np.concatenate([buyers, -1 - np.arange(30)])
    n = 9_000
    kind = np.array(["review", "complaint", "browse"], dtype=object)[rng.integers(0, 3, n)]
    data = {
        "customer_id": people[rng.integers(0, len(people), n)].astype(np.int64),
        "seconds": 1_672_531_200 + rng.integers(0, 730 * 86_400, n),
        "kind": kind,
        "rating": np.where(kind == "review", rng.integers(1, 6, n), 0),
        "complaint_category": np.where(kind == "complaint", "price", None),
        "resolved": (kind == "complaint") & (rng.uniform(0, 1, n) < 0.5),
        "channel": np.full(n, None, dtype=object),
    }
    table = interaction_table(data, slice(0, n))
    (tmp_path / "interactions").mkdir()
    pq.write_table(table, tmp_path / "interactions" / "events.parquet", row_group_size=2048)
    single_interactions = reference(data, frame)
    result = rate(
        read_orders(tmp_path / "orders"),
        POLICY,
        as_of=AS_OF,
        interactions=read_interactions(tmp_path / "interactions", rows_per_partition=2048),
        npartitions=4,
    )
    compare_rating(result.collect(), rate_frames(POLICY, frame, single_interactions, as_of=AS_OF))
    segments = segment(
        read_orders(tmp_path / "orders"),
        as_of=AS_OF,
        interactions=read_interactions(tmp_path / "interactions"),
        npartitions=4,
    ).collect()
    compare_segments(segments, segment_report(frame, single_interactions, as_of=AS_OF))


# -- the reader, property-based -----------------------------------------------------------
KIND_VALUES = ["browse", "review", "complaint", "search", "purchase", "follow"]


@st.composite
def interaction_rows(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(1, 40))
    rows = st.tuples(
        st.sampled_from(["c1", "c2", "c3", "b9", "z0"]),
        st.integers(0, 10**15),
        st.sampled_from(KIND_VALUES),
        st.booleans(),
        st.one_of(st.none(), st.integers(0, 5)),
        st.one_of(st.none(), st.sampled_from(["price", "logistics", "other"])),
        st.one_of(st.none(), st.booleans()),
        st.one_of(st.none(), st.sampled_from(["app", "web", " "])),
    )
    drawn = draw(st.lists(rows, min_size=n, max_size=n))
    files = draw(st.integers(1, 3))
    return {"rows": drawn, "files": files}


@settings(max_examples=25, deadline=None)
@given(interaction_rows())
def test_the_reader_keeps_every_row_and_its_order(case: dict[str, Any]) -> None:
    import tempfile

    rows = case["rows"]
    ids, micros, kinds, upper, ratings, categories, resolved, channels = zip(*rows, strict=True)
    shown = [k.upper() if u else k for k, u in zip(kinds, upper, strict=True)]
    table = pa.table(
        {
            "Customer_ID": pa.array(ids, pa.string()),
            "at": pa.array(micros, pa.timestamp("us", tz="Asia/Shanghai")),
            "kind": pa.array(shown, pa.string()),
            "rating": pa.array(ratings, pa.int16()),
            "complaint_category": pa.array(categories, pa.string()),
            "resolved": pa.array(resolved, pa.bool_()),
            "channel": pa.array(channels, pa.string()),
        }
    )
    bounds = np.linspace(0, len(rows), case["files"] + 1).astype(np.int64)
    orders = OrderFrame.from_arrays(
        customer_id=np.array(["c2", "c1"], dtype=object),
        placed_at=np.array([0, 1]),
        amount=np.array([100, 200]),
        currency="CNY",
    )
    with tempfile.TemporaryDirectory() as folder:
        for i in range(case["files"]):
            part = table.slice(bounds[i], bounds[i + 1] - bounds[i])
            pq.write_table(part, Path(folder) / f"part-{i}.parquet", row_group_size=7)
        got = read_interactions_parquet(folder, customer_index=orders)
    single = InteractionFrame.from_arrays(
        customer_id=np.array(ids, dtype=object),
        at=np.array(micros, dtype=np.int64),
        kind=list(kinds),
        rating=np.array([r or 0 for r in ratings], dtype=np.int64),
        complaint_category=list(categories),
        resolved=np.array([bool(r) for r in resolved]),
        channel=[None if c is None or not c.strip() else c for c in channels],
        customer_index=orders,
    )
    assert np.array_equal(got.customer_ids, single.customer_ids)
    for name in ("customer_code", "at", "kind", "rating", "complaint_category", "resolved"):
        assert np.array_equal(getattr(got, name), getattr(single, name)), name
    assert got.channel_names == single.channel_names
    assert np.array_equal(got.channel, single.channel)


def test_mean_cycles_and_the_model_rule_with_interactions_equal_one_machine(
    client: Any, store: Any
) -> None:
    # The churn means are reduced in customer order across partitions; with
    # interactions, a partition's customers with interactions only come after its
    # customers with orders: the two must still give the single machine's values.
    from .test_cluster_options import ENGINE as ENGINE_WITH_MEANS
    from .test_cluster_options import compare_churn_values

    orders, interactions, frame, single_interactions = store
    single = segment_report(frame, single_interactions, as_of=AS_OF, engine=ENGINE_WITH_MEANS)
    got = segment(
        read_orders(orders, rows_per_partition=1 << 11),
        as_of=AS_OF,
        engine=ENGINE_WITH_MEANS,
        interactions=read_interactions(interactions, rows_per_partition=4096),
        npartitions=6,
    ).collect()
    compare_segments(got, single)
    compare_churn_values(got, single)
