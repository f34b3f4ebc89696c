"""The partitioned engine gives bit-for-bit the single-frame results, for every thread
and partition count; the range-bucketed factorisation equals ``np.unique``."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from unittest import mock

import attrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_features_properties import (
    WINDOWS,
    _as_of,
    _interactions_frame,
    _orders_frame,
    histories,
)

from custmgmt.analytics import _grouping, partitioned
from custmgmt.analytics.features import (
    ORDER_COLUMNS,
    CustomerFeatures,
    customer_features,
    feature_names,
    order_columns_read,
)
from custmgmt.analytics.frames import STATUS_CODES, InteractionFrame, OrderFrame
from custmgmt.domain.order import OrderStatus
from custmgmt.errors import ValidationError
from custmgmt.rating import RatingPolicy, rate

AS_OF = datetime(2026, 1, 1, tzinfo=UTC)
DAY = 86_400_000_000


def assert_identical(a: CustomerFeatures, b: CustomerFeatures) -> None:
    assert a.names == b.names
    assert a.customer_ids.tolist() == b.customer_ids.tolist()
    assert a.currency == b.currency
    assert a.as_of == b.as_of
    assert a.windows == b.windows
    for name in a.names:
        assert a[name].dtype == b[name].dtype, name
        # Bit for bit: equal values, NaN where NaN, no tolerance.
        np.testing.assert_array_equal(a[name], b[name], err_msg=name, strict=True)


@settings(max_examples=80, deadline=None)
@given(histories(), st.integers(1, 8), st.integers(1, 8))
def test_any_threads_and_partitions_give_the_single_frame_features(
    h: dict, threads: int, parts: int
) -> None:
    orders = _orders_frame(h["orders"], h["int_ids"])
    interactions = _interactions_frame(h["interactions"], h["int_ids"], orders)
    as_of = _as_of(h["as_of"])
    expected = customer_features(orders, interactions, as_of=as_of, windows=WINDOWS)
    got = partitioned.customer_features(
        orders, interactions, as_of=as_of, windows=WINDOWS, threads=threads, partitions=parts
    )
    assert_identical(got, expected)


@settings(max_examples=40, deadline=None)
@given(histories(), st.integers(1, 8), st.integers(1, 8))
def test_separately_indexed_interactions_and_orders_alone_are_partitioned_too(
    h: dict, threads: int, parts: int
) -> None:
    orders = _orders_frame(h["orders"], h["int_ids"])
    rows = h["interactions"]
    separate = InteractionFrame.from_arrays(
        customer_id=np.array(
            [r["customer"] for r in rows], dtype=np.int64 if h["int_ids"] else object
        ),
        at=np.array([r["t"] for r in rows], dtype=np.int64),
        kind=[r["kind"] for r in rows],
    )
    as_of = _as_of(h["as_of"])
    for args in ((orders, separate), (orders, None), (None, separate)):
        if args[0] is None and len(separate.customer_ids) == 0:
            continue
        expected = customer_features(*args, as_of=as_of, windows=(30,))
        got = partitioned.customer_features(
            *args, as_of=as_of, windows=(30,), threads=threads, partitions=parts
        )
        assert_identical(got, expected)


ORDER_FEATURES = feature_names(WINDOWS, orders=True, interactions=False)


@settings(max_examples=80, deadline=None)
@given(
    histories(),
    st.lists(st.sampled_from(ORDER_FEATURES), min_size=1, max_size=4, unique=True),
    st.integers(1, 3),
    st.integers(2, 8),
)
def test_any_subset_of_features_moves_what_it_reads_and_gives_the_single_frame_values(
    h: dict, names: list[str], threads: int, parts: int
) -> None:
    # Only the columns the features read (and those that leave rows out) are moved
    # into the partitions; a column wrongly left out would reach them as its first
    # value repeated, and the features would differ.
    orders = _orders_frame(h["orders"], h["int_ids"])
    as_of = _as_of(h["as_of"])
    expected = customer_features(orders, as_of=as_of, features=names, windows=WINDOWS)
    got = partitioned.customer_features(
        orders, as_of=as_of, features=names, windows=WINDOWS, threads=threads, partitions=parts
    )
    assert_identical(got, expected)


def test_every_order_feature_says_which_columns_it_reads() -> None:
    every = frozenset(ORDER_COLUMNS)
    for name in ORDER_FEATURES:
        assert order_columns_read([name]) < every, name
    assert order_columns_read(["frequency"]) == frozenset()
    assert order_columns_read(["category_breadth", "review_count"]) == {"category"}
    assert order_columns_read(["spend_prev_45d"]) == {"placed_at", "amount", "returned_amount"}
    assert order_columns_read(None) == every


def _shop_without_masks(n_orders: int, seed: int) -> OrderFrame:
    """A shop with no late and no cancelled orders: nothing reads the times or the
    statuses unless a feature does."""
    frame = _shop(n_orders, seed)
    cancelled = STATUS_CODES.index(OrderStatus.CANCELLED)
    kept = (frame.placed_at <= int(AS_OF.timestamp() * 1e6)) & (frame.status != cancelled)
    return OrderFrame.from_arrays(
        customer_id=frame.customer_ids[frame.customer_code[kept]],
        placed_at=frame.placed_at[kept],
        amount=frame.amount[kept],
        returned_amount=frame.returned_amount[kept],
        status=np.asarray(STATUS_CODES)[frame.status[kept]],
        category=np.asarray(frame.category_names, dtype=object)[frame.category[kept]],
        currency="CNY",
    )


@pytest.mark.parametrize("name", ORDER_FEATURES)
def test_each_order_feature_alone_is_exact_with_only_its_columns_moved(name: str) -> None:
    frame = _shop_without_masks(3_000, seed=11)
    expected = customer_features(frame, as_of=AS_OF, features=[name], windows=WINDOWS)
    got = partitioned.customer_features(
        frame, as_of=AS_OF, features=[name], windows=WINDOWS, threads=2, partitions=5
    )
    assert_identical(got, expected)


@pytest.mark.parametrize("as_of", [datetime(2026, 1, 1), "2026-01-01", None])
def test_a_bad_as_of_is_refused_naming_it_when_the_features_split(as_of: object) -> None:
    # Regression: deciding which columns to move compared the order times with as_of
    # before it was checked, and a naive datetime or a string was a TypeError.
    frame = _shop(2_000, seed=2)
    with pytest.raises(ValidationError, match="as_of"):
        partitioned.customer_features(
            frame, as_of=as_of, features=["frequency"], threads=4, partitions=3  # type: ignore[arg-type]
        )


@pytest.mark.parametrize("names", [["frequency", 3], ["nope"], ["review_count"]])
def test_bad_feature_names_are_refused_naming_them_when_the_features_split(
    names: list[object],
) -> None:
    # Regression: finding the columns to move matched a name that was not a string
    # against a pattern, a TypeError instead of the features' own error.
    with pytest.raises(ValidationError, match="features"):
        partitioned.customer_features(
            _shop(2_000, seed=2), as_of=AS_OF, features=names, threads=4, partitions=3
        )


@pytest.mark.parametrize("reads", ["amount", ["amount", "price"], [None], 5])
def test_map_partitions_refuses_reads_that_are_not_order_columns(reads: object) -> None:
    # A string would be read as its letters, and every real column left unmoved.
    with pytest.raises(ValidationError, match="reads"):
        partitioned.map_partitions(
            len, _shop(200, seed=1), threads=2, partitions=2, reads=reads  # type: ignore[arg-type]
        )


def test_columns_the_policy_does_not_read_are_not_moved() -> None:
    frame = _shop_without_masks(20_000, seed=3)
    moved: list[int] = []
    real_move = _grouping.Grouping.move

    def move(self: _grouping.Grouping, columns: list, wave: int, pool: object) -> list:
        moved.append(sum(1 for c in columns if c.strides[0] != 0))
        return real_move(self, columns, wave, pool)  # type: ignore[arg-type]

    names = RatingPolicy.default().features  # monetary_net, frequency, category_breadth
    with mock.patch.object(_grouping.Grouping, "move", move):
        got = partitioned.customer_features(
            frame, as_of=AS_OF, features=names, threads=2, partitions=4
        )
    # Per wave: customer codes, amount, returned amount and category; not the times
    # nor the statuses.
    assert moved
    assert set(moved) == {4}
    assert_identical(got, customer_features(frame, as_of=AS_OF, features=names))


def _shop(n_orders: int, seed: int) -> OrderFrame:
    rng = np.random.default_rng(seed)
    n_customers = max(1, n_orders // 8)
    pool = rng.choice(2**50, size=n_customers, replace=False).astype(np.int64) - 2**49
    customer = pool[rng.integers(0, n_customers, n_orders) ** 2 // n_customers]
    amount = rng.integers(100, 100_000, n_orders)
    statuses = np.array(["delivered", "cancelled", "returned", "paid"])
    status = statuses[rng.choice(4, n_orders, p=[0.85, 0.05, 0.05, 0.05])]
    returned = np.where(status == "returned", amount // 3, 0)
    return OrderFrame.from_arrays(
        customer_id=customer,
        placed_at=int(AS_OF.timestamp() * 1e6) - rng.integers(-30 * DAY, 900 * DAY, n_orders),
        amount=amount,
        returned_amount=returned,
        status=status,
        category=np.array(["茶", "书", "电器", "", "衣服"])[rng.integers(0, 5, n_orders)],
        currency="CNY",
    )


@pytest.mark.parametrize(("threads", "parts"), [(1, None), (2, None), (3, 7), (8, 64), (1, 500)])
def test_a_shop_of_thousands_rates_identically_on_any_partitioning(
    threads: int, parts: int | None
) -> None:
    frame = _shop(40_000, seed=threads)
    policy = RatingPolicy.default()
    expected = customer_features(frame, as_of=AS_OF)
    got = partitioned.customer_features(frame, as_of=AS_OF, threads=threads, partitions=parts)
    assert_identical(got, expected)
    # Population-wide quantities (percentile ranks, quantile bands) on the joined table.
    names = policy.features
    a = rate(policy, expected.select(*names))
    b = rate(policy, got.select(*names))
    np.testing.assert_array_equal(a.score, b.score, strict=True)
    np.testing.assert_array_equal(a.stars, b.stars, strict=True)


def test_multi_category_lines_follow_their_orders_into_the_partitions() -> None:
    frame = _shop(5_000, seed=3)
    rng = np.random.default_rng(4)
    line_row = np.sort(rng.integers(0, len(frame), 9_000))
    line_category = rng.integers(0, len(frame.category_names), 9_000).astype(np.int32)
    lines = attrs.evolve(frame, line_row=line_row, line_category=line_category)
    expected = customer_features(lines, as_of=AS_OF, features=["category_breadth"])
    assert not np.array_equal(
        expected["category_breadth"],
        customer_features(frame, as_of=AS_OF, features=["category_breadth"])["category_breadth"],
    )
    for parts in (2, 5, 33):
        got = partitioned.customer_features(
            lines, as_of=AS_OF, features=["category_breadth"], threads=2, partitions=parts
        )
        assert_identical(got, expected)


def test_partitions_split_customers_into_contiguous_ranges() -> None:
    frame = _shop(2_000, seed=5)
    ids, parts = partitioned.split_frames(frame, threads=1, partitions=4)
    assert len(parts) == 4
    seen = []
    for orders, interactions in parts:
        assert interactions is None
        assert orders is not None
        seen += orders.customer_ids.tolist()
        # Each partition's rows: its customers' rows, in the original order.
        codes = np.asarray(orders.customer_code)
        assert codes.min() >= 0
        assert codes.max() < orders.n_customers
    assert seen == ids.tolist() == frame.customer_ids.tolist()
    assert sum(len(o) for o, _ in parts if o is not None) == len(frame)


def test_the_thread_count_comes_from_the_argument_the_environment_or_the_cores(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(partitioned.THREADS_ENV, "3")
    assert partitioned.default_threads() == 3
    monkeypatch.delenv(partitioned.THREADS_ENV)
    assert partitioned.default_threads() == len(__import__("os").sched_getaffinity(0))
    for bad in ("0", "-2", "many"):
        monkeypatch.setenv(partitioned.THREADS_ENV, bad)
        with pytest.raises(ValidationError, match=partitioned.THREADS_ENV):
            partitioned.default_threads()
    monkeypatch.delenv(partitioned.THREADS_ENV)
    frame = _shop(100, seed=1)
    for field, kwargs in (
        ("threads", {"threads": 0}),
        ("partitions", {"partitions": -1}),
        ("threads", {"threads": True}),
        ("partitions", {"partitions": 1.5}),
    ):
        with pytest.raises(ValidationError, match=field):
            partitioned.customer_features(frame, as_of=AS_OF, **kwargs)
    with pytest.raises(ValidationError, match="orders"):
        partitioned.customer_features(None, as_of=AS_OF, threads=1)
    with pytest.raises(ValidationError, match="parts"):
        partitioned.concat_features([], frame.customer_ids)


wide_ids = st.lists(
    st.one_of(
        st.integers(-(2**63), 2**63 - 1),
        st.sampled_from([-(2**63), 2**63 - 1, 0, 1, 2**40]),
    ),
    min_size=1,
    max_size=300,
)


@settings(max_examples=150, deadline=None)
@given(wide_ids, st.sampled_from([1, 3, 8, 1 << 16]))
def test_range_bucketed_factorisation_equals_unique(values: list[int], block: int) -> None:
    ids = np.array(values, dtype=np.int64)
    expected_uniques, expected_codes = np.unique(ids, return_inverse=True)
    # Small blocks make the ids and codes cross many block seams on their way to the
    # buckets and back.
    with mock.patch.object(_grouping, "MOVE_BLOCK", block):
        uniques, codes = _grouping._factorize_buckets(
            ids, int(ids.min()), int(ids.max()), np.int32
        )
    np.testing.assert_array_equal(uniques, expected_uniques)
    np.testing.assert_array_equal(codes, expected_codes)
    uniques, codes = _grouping.factorize(ids)
    np.testing.assert_array_equal(uniques, expected_uniques)
    np.testing.assert_array_equal(codes, expected_codes)


@settings(max_examples=60, deadline=None)
@given(wide_ids, st.integers(1, 8))
def test_parallel_factorisation_equals_the_serial_one(values: list[int], threads: int) -> None:
    ids = np.array(values * 3, dtype=np.int64)
    with mock.patch.object(_grouping, "PARALLEL_FACTORIZE_MIN_ROWS", 1):
        uniques, codes = partitioned.factorize_parallel(ids, threads=threads)
    expected_uniques, expected_codes = _grouping.factorize(ids)
    np.testing.assert_array_equal(uniques, expected_uniques)
    np.testing.assert_array_equal(codes, expected_codes)
    assert codes.dtype == expected_codes.dtype


def test_sparse_ids_too_wide_for_one_packed_key_are_bucketed_not_argsorted() -> None:
    # A 2**63-wide id range with 5,000 rows needs 63 + 13 bits: the bucketed path runs.
    rng = np.random.default_rng(0)
    ids = rng.integers(-(2**62), 2**62, 5_000)
    with (
        mock.patch.object(_grouping, "_factorize_buckets", wraps=_grouping._factorize_buckets) as b,
        mock.patch.object(np, "argsort", wraps=np.argsort) as argsort,
    ):
        uniques, codes = _grouping.factorize(ids)
    assert b.call_count == 1
    # The only argsorts are radix splits of 1- or 2-byte bucket numbers.
    assert argsort.call_args_list
    assert all(call.args[0].dtype.itemsize <= 2 for call in argsort.call_args_list)
    expected_uniques, expected_codes = np.unique(ids, return_inverse=True)
    np.testing.assert_array_equal(uniques, expected_uniques)
    np.testing.assert_array_equal(codes, expected_codes)


# -- grouping rows and moving them in waves ----------------------------------------------
@settings(max_examples=120, deadline=None)
@given(
    st.lists(st.integers(0, 11), min_size=1, max_size=200),
    st.integers(1, 6),
    st.sampled_from([1, 3, 8, 1 << 16]),
    st.booleans(),
)
def test_grouped_rows_move_in_waves_as_a_stable_sort_gathers_them(
    keys: list[int], waves: int, block: int, threaded: bool
) -> None:
    # Small blocks make small inputs cross many block seams.
    key = np.array(keys, dtype=np.uint8)
    n_groups = int(key.max()) + 1
    counts = np.bincount(key, minlength=n_groups).astype(np.int64)
    firsts = partitioned._wave_firsts(counts, waves)
    assert firsts[0] == 0
    assert firsts[-1] == n_groups
    assert np.all(np.diff(firsts) > 0)
    assert len(firsts) - 1 <= waves
    with mock.patch.object(_grouping, "MOVE_BLOCK", block), ThreadPoolExecutor(3) as pool:
        # On a pool the blocks are grouped in parallel: the same grouping.
        grouping = partitioned.group_rows(key, counts, firsts, pool if threaded else None)
        expected_rows = np.argsort(key, kind="stable")
        # where() is the inverse of the stable permutation.
        np.testing.assert_array_equal(grouping.where()[expected_rows], np.arange(len(key)))
        column = np.arange(len(key), dtype=np.int64) * 7 - 3
        other = key.astype(np.int16)
        moved = [
            grouping.move([column, other], wave, None) for wave in range(len(firsts) - 1)
        ]
    np.testing.assert_array_equal(np.concatenate([m[0] for m in moved]), column[expected_rows])
    np.testing.assert_array_equal(np.concatenate([m[1] for m in moved]), other[expected_rows])
    assert moved[0][1].dtype == np.int16
    with mock.patch.object(_grouping, "MOVE_BLOCK", block):
        # unmove() puts a column in group order back in row order.
        back = grouping.unmove(column[expected_rows])
    np.testing.assert_array_equal(back, column)
    np.testing.assert_array_equal(grouping.offsets, np.concatenate([[0], np.cumsum(counts)]))


@settings(max_examples=40, deadline=None)
@given(histories(), st.integers(1, 4), st.integers(2, 8), st.integers(1, 8))
def test_any_wave_count_and_block_size_give_the_single_frame_features(
    h: dict, threads: int, parts: int, waves: int
) -> None:
    orders = _orders_frame(h["orders"], h["int_ids"])
    interactions = _interactions_frame(h["interactions"], h["int_ids"], orders)
    as_of = _as_of(h["as_of"])
    expected = customer_features(orders, interactions, as_of=as_of, windows=WINDOWS)
    with (
        mock.patch.object(partitioned, "WAVES", waves),
        mock.patch.object(_grouping, "MOVE_BLOCK", 4),
    ):
        got = partitioned.customer_features(
            orders, interactions, as_of=as_of, windows=WINDOWS, threads=threads, partitions=parts
        )
    assert_identical(got, expected)


def test_map_partitions_computes_every_partition_once_in_order() -> None:
    frame = _shop(3_000, seed=6)
    ids, parts = partitioned.split_frames(frame, threads=1, partitions=9)
    got_ids, sizes = partitioned.map_partitions(
        lambda f: (len(f[0]), f[0].customer_ids.tolist()), frame, threads=3, partitions=9
    )
    assert got_ids.tolist() == ids.tolist()
    assert sizes == [(len(o), o.customer_ids.tolist()) for o, _ in parts]
    # One partition: the frames themselves, no copy.
    _, whole = partitioned.map_partitions(lambda f: f[0], frame, threads=1)
    assert whole == [frame]


def test_the_partitions_copy_a_quarter_of_the_rows_at_a_time() -> None:
    # The copies of the columns the features read are ~33 bytes a row: all of them at
    # once (the former engine, plus an 8-byte permutation) exceed this bound.
    import tracemalloc

    frame = _shop(400_000, seed=7)
    names = ["monetary_net", "frequency", "category_breadth"]
    partitioned.customer_features(frame, as_of=AS_OF, features=names, threads=2, partitions=16)
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        got = partitioned.customer_features(
            frame, as_of=AS_OF, features=names, threads=2, partitions=16
        )
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    rows = len(frame)
    # Measured: about 18 bytes a row (6 for the grouping, a quarter of the copy, the
    # per-customer outputs); the former engine took 41.
    assert peak < 25 * rows, f"{peak / rows:.1f} bytes a row"
    assert_identical(got, customer_features(frame, as_of=AS_OF, features=names))
