"""The block kernels of the item-item model equal slow references on random baskets."""

from __future__ import annotations

from collections import defaultdict
from unittest import mock

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from custmgmt.recommend import Purchases
from custmgmt.recommend import model as model_module
from custmgmt.recommend.model import _baskets, _co_purchases, _top_k_sparse, top_k_rows

baskets_strategy = st.lists(
    st.tuples(st.integers(0, 20), st.integers(0, 25)), min_size=1, max_size=200,
).map(lambda rows: Purchases.from_arrays(
    customer_id=[f"c{c:02d}" for c, _ in rows],
    item=[f"i{i:02d}" for _, i in rows],
    at=list(range(len(rows))),
))


def reference_counts(p: Purchases) -> dict[tuple[int, int], int]:
    baskets: dict[int, set[int]] = defaultdict(set)
    for c, i in zip(p.customer.tolist(), p.item.tolist(), strict=True):
        baskets[c].add(i)
    together: dict[tuple[int, int], int] = defaultdict(int)
    for items in baskets.values():
        for a in items:
            for b in items:
                if a != b:
                    together[(a, b)] += 1
    return dict(together)


@settings(max_examples=120, deadline=None)
@given(p=baskets_strategy, pairs_cap=st.sampled_from([1, 3, 10, 1 << 21]),
       cells_cap=st.sampled_from([1, 7, 40, 1 << 21]), ratio=st.sampled_from([0, 2, 10**9]))
def test_block_counts_equal_the_pair_dictionary(
    p: Purchases, pairs_cap: int, cells_cap: int, ratio: int
) -> None:
    # Tiny caps force many blocks, so (b, a) halves travel to later blocks; the ratio
    # forces the dense, the sorted or a mix of both counting paths.
    cust, item = _baskets(p)
    with (mock.patch.object(model_module, "_BLOCK_PAIRS", pairs_cap),
          mock.patch.object(model_module, "_DENSE_CELLS", cells_cap),
          mock.patch.object(model_module, "_DENSE_RATIO", ratio)):
        blocks = list(_co_purchases(cust, item, p.n_items, p.n_customers))
    got: dict[tuple[int, int], int] = {}
    expected_lo = 0
    for lo, hi, rows, cols, counts in blocks:
        assert lo == expected_lo
        assert hi > lo
        expected_lo = hi
        assert ((rows >= lo) & (rows < hi)).all()
        for r, c, n in zip(rows.tolist(), cols.tolist(), counts.tolist(), strict=True):
            assert (r, c) not in got
            got[(r, c)] = n
    assert expected_lo == p.n_items
    assert got == reference_counts(p)


@settings(max_examples=120, deadline=None)
@given(data=st.data(), n_rows=st.integers(1, 6), n_cols=st.integers(1, 9),
       k=st.integers(1, 10))
def test_sparse_top_k_equals_the_dense_one(
    data: st.DataObject, n_rows: int, n_cols: int, k: int
) -> None:
    # Few distinct values (ties) and wide ranges (coarse buckets) both occur.
    value = st.one_of(st.sampled_from([0.0, 0.5, 1.0, 2.0]),
                      st.floats(1e-300, 1e300, allow_nan=False))
    dense = np.array(data.draw(st.lists(st.lists(value, min_size=n_cols, max_size=n_cols),
                                        min_size=n_rows, max_size=n_rows)), dtype=np.float64)
    rows, cols = np.nonzero(dense)
    shuffle = np.array(data.draw(st.permutations(range(len(rows)))), dtype=np.int64)
    rows, cols = rows[shuffle], cols[shuffle]  # any input order
    got_cols, got_vals = _top_k_sparse(rows, cols, dense[rows, cols], n_rows, k)
    want_cols, want_vals = top_k_rows(dense, k)
    assert got_cols.tolist() == want_cols.tolist()
    assert got_vals.tolist() == want_vals.tolist()
