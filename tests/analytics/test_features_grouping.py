"""The grouping primitives under the features: factorising ids and per-group ordering."""

from __future__ import annotations

from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from custmgmt.analytics import _grouping
from custmgmt.analytics._grouping import (
    factorize,
    group_order,
    map_onto_index,
    sorted_within_groups,
)
from custmgmt.errors import ValidationError

INT64 = st.integers(-(2**63), 2**63 - 1)


@settings(max_examples=150, deadline=None)
@given(
    st.one_of(
        hnp.arrays(np.int64, st.integers(0, 60), elements=st.integers(-50, 50)),
        hnp.arrays(np.int32, st.integers(0, 60), elements=st.integers(-(2**31), 2**31 - 1)),
        # Sparse ids: the packed-key sort.
        hnp.arrays(
            np.int64, st.integers(0, 60), elements=st.sampled_from([-(2**40), 3, 2**40, 7, 2**41])
        ),
        # Spans too wide for the packed key: the argsort path.
        hnp.arrays(
            np.int64, st.integers(0, 60), elements=st.sampled_from([-(2**63), 2**63 - 1, 0, 5])
        ),
    )
)
def test_integer_ids_factorise_like_np_unique(ids: np.ndarray) -> None:
    uniques, codes = factorize(ids)
    want_uniques, want_codes = np.unique(ids, return_inverse=True)
    np.testing.assert_array_equal(uniques, want_uniques)
    np.testing.assert_array_equal(codes, want_codes.ravel())


@settings(max_examples=150, deadline=None)
@given(
    st.one_of(
        hnp.arrays(
            np.int64, st.integers(0, 80), elements=st.sampled_from([-(2**40), 3, 2**40, 7, 2**41])
        ),
        hnp.arrays(np.int64, st.integers(0, 80), elements=INT64),
        hnp.arrays(np.int64, st.integers(0, 80), elements=st.integers(0, 2**20)),
    ),
    st.sampled_from([1, 2, 4, 16]),
)
def test_the_linear_bucketed_factorisation_is_exactly_np_unique(
    ids: np.ndarray, bucket_rows: int
) -> None:
    # Large inputs are factorised bucket by bucket (the top bits of the id range);
    # tiny thresholds send these small inputs down that path, recursion included.
    with (
        mock.patch.object(_grouping, "LINEAR_FACTORIZE_MIN_ROWS", 1),
        mock.patch.object(_grouping, "BUCKET_ROWS", bucket_rows),
    ):
        uniques, codes = factorize(ids)
    want_uniques, want_codes = np.unique(ids, return_inverse=True)
    np.testing.assert_array_equal(uniques, want_uniques)
    np.testing.assert_array_equal(codes, want_codes.ravel())
    assert len(ids) == 0 or codes.dtype == np.int32


@st.composite
def small_range_ids(draw: st.DrawFn) -> np.ndarray:
    """Ids of any integer dtype whose span is small (the presence table must fit),
    anywhere in the dtype's range, up to its extremes."""
    dtype = np.dtype(
        draw(st.sampled_from([np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16]))
    )
    info = np.iinfo(dtype)
    base = draw(st.sampled_from([int(info.min), int(info.max) - 300, 0, -7]))
    base = min(max(base, int(info.min)), int(info.max))
    top = min(base + draw(st.sampled_from([3, 300])), int(info.max))
    return draw(hnp.arrays(dtype, st.integers(1, 60), elements=st.integers(base, top)))


@settings(max_examples=150, deadline=None)
@given(small_range_ids())
def test_the_small_range_path_factorises_exactly_like_the_sort_path(ids: np.ndarray) -> None:
    # Called directly, so that both paths see every input whatever its range.
    checked = _grouping._as_ids(ids, "category")
    lo, hi = int(checked.min()), int(checked.max())
    dense_uniques, dense_codes = _grouping._factorize_dense(checked, lo, hi, np.int32)
    sort_uniques, sort_codes = _grouping._factorize_sorted(checked, lo, hi, np.int32)
    np.testing.assert_array_equal(dense_uniques, sort_uniques)
    np.testing.assert_array_equal(dense_codes, sort_codes)
    assert dense_uniques.dtype == sort_uniques.dtype == np.int64
    assert dense_codes.dtype == sort_codes.dtype == np.int32
    want_uniques, want_codes = np.unique(ids.astype(np.int64), return_inverse=True)
    np.testing.assert_array_equal(dense_uniques, want_uniques)
    np.testing.assert_array_equal(dense_codes, want_codes.ravel())


def test_narrow_integer_ids_whose_span_overflows_their_dtype_factorise_exactly() -> None:
    uniques, codes = factorize(np.array([-100, 100, 5], dtype=np.int8))
    assert uniques.tolist() == [-100, 5, 100]
    assert codes.tolist() == [0, 2, 1]


@settings(max_examples=80, deadline=None)
@given(st.lists(st.sampled_from(["王芳", "李雷", "a", "b", "客户-1"]), max_size=30))
def test_string_ids_factorise_to_sorted_uniques(ids: list[str]) -> None:
    uniques, codes = factorize(np.array(ids, dtype=object))
    assert uniques.tolist() == sorted(set(ids))
    assert [uniques[c] for c in codes] == ids


def test_mixed_or_empty_string_ids_are_refused() -> None:
    with pytest.raises(ValidationError, match="customer_id"):
        factorize(np.array(["a", 3.5], dtype=object))
    with pytest.raises(ValidationError, match="customer_id"):
        factorize(np.array(["a", ""], dtype=object))


def test_python_ints_in_an_object_array_are_integer_ids() -> None:
    uniques, codes = factorize(np.array([3, 1, 3], dtype=object))
    assert uniques.dtype == np.int64
    assert uniques.tolist() == [1, 3]
    assert codes.tolist() == [1, 0, 1]


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_group_order_sorts_by_code_then_value_then_row_even_when_packed_coarsely(
    data: st.DataObject,
) -> None:
    n = data.draw(st.integers(0, 80))
    n_codes = data.draw(st.sampled_from([1, 3, 2**20, 2**40]))
    codes = np.array(
        data.draw(st.lists(st.integers(0, min(n_codes, 6) - 1), min_size=n, max_size=n)),
        dtype=np.int64,
    )
    base = data.draw(st.sampled_from([0, 2**61, -(2**62)]))
    # Values close together but spanning a huge range force the coarse key and the fix-up.
    values = np.array(
        data.draw(
            st.lists(
                st.one_of(st.integers(0, 40), st.integers(2**62 - 40, 2**62)),
                min_size=n,
                max_size=n,
            )
        ),
        dtype=np.int64,
    ) + np.int64(base)
    chunk = data.draw(st.sampled_from([1, 2, 7, _grouping.CHUNK]))
    with mock.patch.object(_grouping, "CHUNK", chunk):
        perm, ordered = group_order(codes, n_codes, values)
        within = sorted_within_groups(
            np.sort(codes), n_codes, values[np.argsort(codes, kind="stable")]
        )
    want = np.lexsort((np.arange(n), values, codes))
    np.testing.assert_array_equal(perm, want)
    np.testing.assert_array_equal(ordered, values[want])
    np.testing.assert_array_equal(within, values[want])


def test_ids_are_placed_onto_an_index_and_unknown_ones_appended() -> None:
    index = np.array([30, 10], dtype=np.int64)
    new_index, remap = map_onto_index(np.array([10, 20, 40], dtype=np.int64), index)
    assert new_index.tolist() == [30, 10, 20, 40]
    assert remap.tolist() == [1, 2, 3]
    with pytest.raises(ValidationError, match="integer ids"):
        map_onto_index(np.array(["x"], dtype=object), index)
