"""Grouping primitives on dense codes: factorising ids and ordering rows within groups.

The speed habit of the house: sort what must be sorted once, as a *values-only* sort of
a packed ``uint64`` key (numpy sorts those with SIMD, many times faster than
``argsort``), and count everything else with ``np.bincount`` and ``ufunc.at`` on codes.
A packed key holds ``group << (value_bits + row_bits) | value << row_bits | row``; the
low bits give the permutation back for free. When the bits do not fit in 64, values
are packed at a coarser resolution and the few groups whose rows tie at that
resolution are re-sorted exactly (``np.lexsort`` on those rows only), so the result is
always exact.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from custmgmt.errors import ValidationError

__all__ = [
    "MOVE_BLOCK",
    "PARALLEL_FACTORIZE_MIN_ROWS",
    "PARALLEL_GROUPING_MAX_CELLS",
    "THREADS_ENV",
    "Grouping",
    "code_dtype",
    "count_groups",
    "default_threads",
    "factorize",
    "factorize_buckets",
    "factorize_parallel",
    "group_order",
    "group_rows",
    "map_onto_index",
    "segment_starts",
    "sorted_within_groups",
]

AnyArray = npt.NDArray[Any]
I64 = npt.NDArray[np.int64]
U64 = np.uint64

#: The environment variable that overrides the default thread count.
THREADS_ENV = "CUSTMGMT_THREADS"
#: Rows below which ids are factorised on one thread.
PARALLEL_FACTORIZE_MIN_ROWS = 1 << 18


def _check_count(field: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValidationError(field, value, "a positive integer")
    return int(value)


def default_threads() -> int:
    """Threads to use: ``CUSTMGMT_THREADS`` when set, else the cores this process may
    run on (``os.sched_getaffinity``; ``os.cpu_count`` where that does not exist).

    Raises:
        ValidationError: ``CUSTMGMT_THREADS`` is not a positive integer.
    """
    env = os.environ.get(THREADS_ENV)
    if env is not None and env.strip():
        try:
            value = int(env)
        except ValueError:
            raise ValidationError(THREADS_ENV, env, "a positive integer") from None
        return _check_count(THREADS_ENV, value)
    affinity = getattr(os, "sched_getaffinity", None)
    if affinity is not None:
        return max(1, len(affinity(0)))
    return max(1, os.cpu_count() or 1)


def code_dtype(n_codes: int) -> type[np.signedinteger[Any]]:
    """int32 while the codes fit (halves the memory of a 1e7-row code array), else int64."""
    return np.int32 if n_codes < 2**31 - 1 else np.int64


def _bits(span: int) -> int:
    return max(int(span), 0).bit_length()


def _as_ids(values: Any, field: str) -> npt.NDArray[Any]:
    """Normalise customer ids to an int64 array or an object array of ``str``."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValidationError(
            field, f"array of shape {arr.shape}", "a one-dimensional array of ids"
        )
    if arr.dtype.kind == "b":
        raise ValidationError(field, arr.dtype, "integer or string ids")
    if arr.dtype.kind in "iu":
        if arr.dtype.kind == "u" and arr.size and int(arr.max()) > np.iinfo(np.int64).max:
            raise ValidationError(field, int(arr.max()), "integer ids that fit in int64")
        if arr.dtype.kind == "i" or arr.dtype.itemsize < 8:
            return arr  # narrower codes stay narrow; uniques come out as int64
        return arr.astype(np.int64)
    if arr.dtype.kind in "USO" or arr.dtype.kind == "T":
        obj = arr.astype(object, copy=False) if arr.dtype.kind != "O" else arr
        return obj
    raise ValidationError(field, arr.dtype, "integer or string ids")


def _factorize_objects(ids: npt.NDArray[Any], field: str) -> tuple[npt.NDArray[Any], I64]:
    table: dict[Any, int] = {}
    setdefault = table.setdefault
    try:
        codes = np.fromiter(
            (setdefault(x, len(table)) for x in ids), dtype=np.int64, count=len(ids)
        )
    except TypeError:
        bad = next(x for x in ids if not _hashable(x))
        raise ValidationError(field, bad, "integer or string ids") from None
    uniques = list(table)
    kinds = {type(u) for u in uniques}
    if kinds and all(issubclass(k, (int, np.integer)) and not issubclass(k, bool) for k in kinds):
        # Python ints in an object array: treat them as int64 ids.
        return factorize(np.asarray(ids, dtype=np.int64), field)
    for u in uniques:
        if not isinstance(u, str) or not u:
            raise ValidationError(field, u, "non-empty string ids (or integer ids), never mixed")
    order = sorted(range(len(uniques)), key=uniques.__getitem__)
    remap = np.empty(len(uniques), dtype=np.int64)
    remap[np.asarray(order, dtype=np.int64)] = np.arange(len(uniques), dtype=np.int64)
    sorted_ids = np.empty(len(uniques), dtype=object)
    sorted_ids[:] = [uniques[i] for i in order]
    return sorted_ids, remap[codes]


def _hashable(x: Any) -> bool:
    try:
        hash(x)
    except TypeError:
        return False
    return True


#: Rows per block when a full-length temporary would cost more memory than it saves.
CHUNK = 1 << 18
#: Sparse integer ids from this many rows are factorised bucket by bucket (linear time).
LINEAR_FACTORIZE_MIN_ROWS = 1 << 21
#: Rows per bucket the linear factorisation aims at: a bucket's sort keys fit in L2.
BUCKET_ROWS = 1 << 16
#: At most 2**8 buckets per split: the split is a stable sort of 1-byte bucket numbers,
#: one radix pass. Two-byte numbers take two passes and cost 2.5x as much (24 against
#: 10 ns a row at 3e7 rows), more than the larger buckets' sorts add (a bucket grows
#: past BUCKET_ROWS only beyond 2**24 rows; from LINEAR_FACTORIZE_MIN_ROWS rows a
#: bucket is split again).
MAX_SPLIT_BITS = 8


def _or_row_numbers(key: npt.NDArray[np.uint64]) -> None:
    """``key |= arange(len(key))`` without a full-length temporary."""
    for start in range(0, len(key), CHUNK):
        stop = min(start + CHUNK, len(key))
        key[start:stop] |= np.arange(start, stop, dtype=U64)


def factorize(values: Any, field: str = "customer_id") -> tuple[npt.NDArray[Any], I64]:
    """Dense codes for ``values``: ``(uniques sorted ascending, code per row)``.

    Integer ids use one values-only sort of ``(id - min) << row_bits | row`` when the
    bits fit in 64; wider keys, and every input from :data:`LINEAR_FACTORIZE_MIN_ROWS`
    rows, are split by the top bits of the id range into buckets sorted one by one
    (linear time, each bucket's sort in cache); string ids a dict in one pass. Codes
    are int32 while they fit. Peak extra memory: about 17 bytes per row.

    Raises:
        ValidationError: ids that are neither all integers nor all non-empty strings.
    """
    ids = _as_ids(values, field)
    n = len(ids)
    if ids.dtype == object:
        if n == 0:
            return np.empty(0, dtype=object), np.empty(0, dtype=np.int64)
        return _factorize_objects(ids, field)
    if n == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    lo, hi = int(ids.min()), int(ids.max())
    dtype = code_dtype(n)
    if hi - lo < max(1 << 16, n // 2):
        return _factorize_dense(ids, lo, hi, dtype)
    if n >= LINEAR_FACTORIZE_MIN_ROWS:
        # One global sort is O(n log n) and its last passes run out of cache: split the
        # id range by its top bits into buckets of about BUCKET_ROWS rows (an O(n) radix
        # split) and sort each bucket in cache, so the time per row stays flat.
        top = max(1, min(_bits(n // BUCKET_ROWS), MAX_SPLIT_BITS, _bits(hi - lo)))
        return _factorize_buckets(ids, lo, hi, dtype, top)
    return _factorize_sorted(ids, lo, hi, dtype)


def _factorize_sorted(
    ids: npt.NDArray[Any], lo: int, hi: int, dtype: type[np.signedinteger[Any]]
) -> tuple[npt.NDArray[Any], I64]:
    """Sparse integer ids: one values-only sort of a packed key (argsort if too wide)."""
    n = len(ids)
    row_bits = _bits(n - 1)
    if _bits(hi - lo) + row_bits <= 64:
        # uint64 arithmetic wraps, which is exactly right for (id - lo) < 2**64.
        key = ids.astype(U64)
        key -= U64(lo & 0xFFFF_FFFF_FFFF_FFFF)
        key <<= U64(row_bits)
        _or_row_numbers(key)
        key.sort()
        new = np.empty(n, dtype=bool)
        new[0] = True
        shift = U64(row_bits)
        for start in range(1, n, CHUNK):
            stop = min(start + CHUNK, n)
            np.not_equal(
                key[start:stop] >> shift, key[start - 1 : stop - 1] >> shift, out=new[start:stop]
            )
        uniques = (key[new] >> shift).astype(np.int64)
        uniques += lo
        key &= U64((1 << row_bits) - 1)
        rows: npt.NDArray[Any] = key.view(np.int64)
    else:
        return _factorize_buckets(ids, lo, hi, dtype)
    code_sorted = np.cumsum(new, dtype=dtype)
    del new
    code_sorted -= 1
    codes = np.empty(n, dtype=dtype)
    codes[rows] = code_sorted
    return uniques, codes


#: Rows per block of the grouping and moving passes: a block's rows are numbered in
#: 2 bytes, and its slice of each column stays in the L2 cache while it is moved.
MOVE_BLOCK = 1 << 16


def count_groups(keys: AnyArray, n_groups: int) -> I64:
    """How many rows each small group number ``0..n_groups - 1`` has (blockwise
    ``bincount``: no full-length ``intp`` copy of the keys)."""
    counts = np.zeros(n_groups, dtype=np.int64)
    for start in range(0, len(keys), MOVE_BLOCK * 4):
        counts += np.bincount(keys[start : start + MOVE_BLOCK * 4], minlength=n_groups)
    return counts


@attrs.frozen
class Grouping:
    """Rows grouped by a small group number (the partition), in row order within each
    group, kept the way moving columns wants it: block by block (``MOVE_BLOCK`` rows),
    the block's rows in group order (``order``, 2 bytes a row, local to the block)
    and the position each goes to (``dest``, int32 below 2**31 rows), so a column is
    moved by reading it in order and writing one sequential stream per group. (A
    gather by a permutation instead reads each group's rows strided across the whole
    column, a cache miss on nearly every row once the column outgrows the caches.)

    ``offsets[g]:offsets[g + 1]`` are group ``g``'s positions; ``cuts[b, w]`` is
    where, in block ``b``'s run of ``order``, the rows of wave ``w`` (the groups from
    ``firsts[w]``) start. Built by :func:`group_rows` in one pass, a stable radix sort
    of each block in cache; 6 bytes a row in all.
    """

    order: AnyArray
    dest: AnyArray
    offsets: I64
    firsts: I64
    cuts: I64

    def move(
        self, columns: Sequence[AnyArray], wave: int, pool: ThreadPoolExecutor | None
    ) -> list[AnyArray]:
        """The rows of wave ``wave``, in group order: one copy of each column, made in
        blocks spread over the pool (numpy's take and assignment release the GIL; the
        blocks write disjoint positions).

        A constant column (a broadcast view, stride 0: a status every row shares)
        comes back as a broadcast view of the wave's length, not moved: ``np.take``
        would copy the whole column into a contiguous array once per block (12.5
        against 0 ns a row at 1e7 rows). A strided column is made contiguous once.
        """
        lo = int(self.offsets[self.firsts[wave]])
        hi = int(self.offsets[self.firsts[wave + 1]])
        outs: list[AnyArray] = []
        moved: list[tuple[AnyArray, AnyArray]] = []
        for column in columns:
            if column.ndim == 1 and column.strides[0] == 0 and len(column):
                outs.append(np.broadcast_to(column[:1], (hi - lo,)))
                continue
            out = np.empty(hi - lo, dtype=column.dtype)
            outs.append(out)
            moved.append((np.ascontiguousarray(column), out))

        def block(b: int) -> None:
            start = b * MOVE_BLOCK
            first, stop = start + int(self.cuts[b, wave]), start + int(self.cuts[b, wave + 1])
            if first == stop or not moved:
                return
            rows = self.order[first:stop].astype(np.intp)
            rows += start
            to = self.dest[first:stop].astype(np.intp)
            to -= lo
            for column, out in moved:
                out[to] = np.take(column, rows, mode="clip")

        blocks = range(len(self.cuts))
        if pool is None:
            for b in blocks:
                block(b)
        else:
            list(pool.map(block, blocks))
        return outs

    def unmove(self, grouped: AnyArray) -> AnyArray:
        """The inverse of :meth:`move` over all the groups: ``grouped`` (a column in
        group order) back in row order, block by block (each group's stream read in
        order, the block's rows written in cache)."""
        n = len(self.order)
        out = np.empty(n, dtype=grouped.dtype)
        for start in range(0, n, MOVE_BLOCK):
            rows = self.order[start : start + MOVE_BLOCK].astype(np.intp)
            rows += start
            out[rows] = np.take(grouped, self.dest[start : start + MOVE_BLOCK], mode="clip")
        return out

    def where(self) -> AnyArray:
        """The position each row goes to (a full-length array, made on demand)."""
        n = len(self.order)
        out = np.empty(n, dtype=self.dest.dtype)
        for start in range(0, n, MOVE_BLOCK):
            rows = self.order[start : start + MOVE_BLOCK].astype(np.intp)
            rows += start
            out[rows] = self.dest[start : start + MOVE_BLOCK]
        return out


#: The most cells (blocks x groups) of per-block counts the parallel grouping keeps;
#: beyond that (tens of thousands of groups) the blocks are grouped one after another.
PARALLEL_GROUPING_MAX_CELLS = 1 << 22


def group_rows(
    keys: AnyArray, counts: I64, firsts: I64, pool: ThreadPoolExecutor | None = None
) -> Grouping:
    """Group the rows by ``keys`` (small group numbers with these ``counts``), for
    waves of groups starting at ``firsts`` (``[0, ..., len(counts)]``).

    With a ``pool``, the blocks are grouped on its threads: each block's counts first,
    then where each block's rows of each group start (a running sum over the blocks),
    then every block on its own (the same result as one after another).
    """
    n, n_groups = len(keys), len(counts)
    offsets = np.zeros(n_groups + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    n_blocks = -(-n // MOVE_BLOCK)
    order = np.empty(n, dtype=np.uint16)
    dest = np.empty(n, dtype=code_dtype(n))
    cuts = np.empty((n_blocks, len(firsts)), dtype=np.int64)
    steps = np.arange(MOVE_BLOCK, dtype=np.int64)

    def fill(b: int, cursor: I64, block_counts: I64) -> None:
        """Block ``b``: its rows in group order, and where each goes (the k-th row of
        group g in the block goes to cursor[g] + k)."""
        start = b * MOVE_BLOCK
        block = keys[start : start + MOVE_BLOCK]
        ends = np.zeros(n_groups + 1, dtype=np.int64)
        np.cumsum(block_counts, out=ends[1:])
        # In the sorted block, k = position - (the group's first position in the block).
        block_dest = np.repeat(cursor - ends[:-1], block_counts)
        block_dest += steps[: len(block)]
        order[start : start + len(block)] = np.argsort(block, kind="stable")
        dest[start : start + len(block)] = block_dest
        cuts[b] = ends[firsts]

    def block_counts(b: int) -> I64:
        block = keys[b * MOVE_BLOCK : (b + 1) * MOVE_BLOCK]
        return np.bincount(block, minlength=n_groups).astype(np.int64, copy=False)

    if pool is None or n_blocks < 2 or n_blocks * n_groups > PARALLEL_GROUPING_MAX_CELLS:
        cursor = offsets[:-1].copy()  # where each group's next row goes
        for b in range(n_blocks):
            here = block_counts(b)
            fill(b, cursor, here)
            cursor += here
    else:
        per_block = np.stack(list(pool.map(block_counts, range(n_blocks))))
        cursors = np.cumsum(per_block, axis=0)
        cursors -= per_block
        cursors += offsets[:-1]
        list(pool.map(lambda b: fill(b, cursors[b], per_block[b]), range(n_blocks)))
    return Grouping(order=order, dest=dest, offsets=offsets, firsts=firsts, cuts=cuts)


def factorize_buckets(
    ids: npt.NDArray[Any],
    bucket: npt.NDArray[Any],
    n_buckets: int,
    dtype: type[np.signedinteger[Any]],
    pool: ThreadPoolExecutor | None = None,
) -> tuple[npt.NDArray[Any], I64]:
    """Factorise integer ``ids`` that are split into ranges: ``bucket[i]`` must grow
    with ``ids[i]`` (bucket ``b``'s ids all below bucket ``b + 1``'s). Each bucket is
    factorised on its own (on ``pool``'s threads when given) and the codes offset,
    which gives exactly :func:`factorize`.

    The ids are moved into bucket order, and the codes back, block by block
    (:class:`Grouping`): a gather of each bucket's rows straight from the ids would
    read them strided across the whole column, a cache miss on nearly every row once
    the column outgrows the caches (94 against 72 ns a row at 3e7 rows).
    """
    grouping = group_rows(
        bucket, count_groups(bucket, n_buckets), np.array([0, n_buckets], dtype=np.int64), pool
    )
    results = _factorize_groups(grouping, ids, pool)
    offsets = grouping.offsets
    firsts = segment_starts(np.array([len(u) for u, _ in results], dtype=np.int64))
    grouped_codes = np.empty(len(ids), dtype=dtype)
    for b, (_, sub_codes) in enumerate(results):
        lo, hi = int(offsets[b]), int(offsets[b + 1])
        if lo < hi:
            np.add(sub_codes, firsts[b], out=grouped_codes[lo:hi], casting="unsafe")
    uniques = np.concatenate([np.empty(0, dtype=np.int64), *(u for u, _ in results)])
    del results
    return uniques, grouping.unmove(grouped_codes)


def _factorize_groups(
    grouping: Grouping, ids: npt.NDArray[Any], pool: ThreadPoolExecutor | None
) -> list[tuple[npt.NDArray[Any], I64]]:
    """Each group's ``factorize``, from a copy of ``ids`` in group order that is freed
    on return (before the codes are moved back)."""
    (grouped_ids,) = grouping.move([ids], 0, pool)
    offsets = grouping.offsets

    def one(b: int) -> tuple[npt.NDArray[Any], I64]:
        lo, hi = int(offsets[b]), int(offsets[b + 1])
        if lo == hi:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        return factorize(grouped_ids[lo:hi])

    groups = range(len(offsets) - 1)
    return list(map(one, groups) if pool is None else pool.map(one, groups))


def _factorize_buckets(
    ids: npt.NDArray[Any],
    lo: int,
    hi: int,
    dtype: type[np.signedinteger[Any]],
    top: int | None = None,
    pool: ThreadPoolExecutor | None = None,
) -> tuple[npt.NDArray[Any], I64]:
    """Split the id range by its ``top`` bits into buckets and factorise them one by
    one (O(n) radix split, no ``argsort`` of int64). By default ``top`` is just enough
    for each bucket's packed key ``(id - lo) << row_bits | row`` to fit 64 bits; the
    linear path passes more, for buckets of about :data:`BUCKET_ROWS` rows."""
    n = len(ids)
    span_bits = _bits(hi - lo)
    # > 0 here; each bucket spans 2**(span_bits - top) ids (a bucket still too wide
    # for its rows is split again by the recursive factorize).
    if top is None:
        top = max(1, min(span_bits + _bits(n - 1) - 64, 16))
    bucket = np.empty(n, dtype=np.uint16 if top > 8 else np.uint8)
    shift = U64(max(span_bits - top, 0))
    for start in range(0, n, CHUNK):
        stop = min(start + CHUNK, n)
        block = ids[start:stop].astype(U64)
        block -= U64(lo & 0xFFFF_FFFF_FFFF_FFFF)
        block >>= shift
        bucket[start:stop] = block
    return factorize_buckets(ids, bucket, 1 << top, dtype, pool)


def _factorize_dense(
    ids: npt.NDArray[Any], lo: int, hi: int, dtype: type[np.signedinteger[Any]]
) -> tuple[npt.NDArray[Any], I64]:
    """Small-range ids (category codes, customers numbered 0..n): O(n), no sort.

    A presence table over ``lo..hi`` gives the sorted uniques, and its running count
    the code of each value: exactly what :func:`_factorize_sorted` returns.
    """
    if ids.dtype.itemsize < 4:
        # ``ids - lo`` stays in the ids' dtype: int8/int16 spans can overflow it.
        ids = ids.astype(np.int32)
    present = np.zeros(hi - lo + 1, dtype=bool)
    for start in range(0, len(ids), CHUNK):
        present[ids[start : start + CHUNK] - lo] = True
    uniques = np.flatnonzero(present).astype(np.int64)
    uniques += lo
    remap = np.cumsum(present, dtype=dtype)
    remap -= 1
    codes = np.empty(len(ids), dtype=dtype)
    for start in range(0, len(ids), CHUNK):
        # Every offset is in range, so "clip" never clips; it spares the buffered
        # bounds check of the default mode (about 2x faster than remap[offsets]).
        stop = start + CHUNK
        np.take(remap, ids[start:stop] - lo, out=codes[start:stop], mode="clip")
    return uniques, codes


def map_onto_index(
    uniques: npt.NDArray[Any], index: npt.NDArray[Any], field: str = "customer_id"
) -> tuple[npt.NDArray[Any], I64]:
    """Place sorted ``uniques`` onto an existing ``index`` of ids.

    Returns ``(new_index, remap)``: ``new_index`` is ``index`` followed by the ids of
    ``uniques`` it lacks (in ascending order), and ``remap[i]`` is the code of
    ``uniques[i]`` in ``new_index``.

    Raises:
        ValidationError: the ids and the index are of different types (int vs str).
    """
    if len(uniques) == 0:
        return index, np.empty(0, dtype=np.int64)
    if len(index) == 0:
        return uniques, np.arange(len(uniques), dtype=np.int64)
    if (uniques.dtype == object) != (index.dtype == object):
        expected = "string ids" if index.dtype == object else "integer ids"
        raise ValidationError(field, uniques[0], f"{expected} like the customer_index")
    if index.dtype == object:
        position = {x: i for i, x in enumerate(index.tolist())}
        found = np.fromiter(
            (position.get(x, -1) for x in uniques), dtype=np.int64, count=len(uniques)
        )
    else:
        order = np.argsort(index, kind="stable")
        sorted_index = index[order]
        at = np.searchsorted(sorted_index, uniques)
        at_clipped = np.minimum(at, len(index) - 1)
        hit = sorted_index[at_clipped] == uniques
        found = np.where(hit, order[at_clipped], -1).astype(np.int64)
    missing = found < 0
    n_missing = int(missing.sum())
    if n_missing == 0:
        return index, found
    found[missing] = np.arange(len(index), len(index) + n_missing, dtype=np.int64)
    new_index = np.concatenate([index, uniques[missing]])
    return new_index, found


def group_order(
    codes: npt.NDArray[Any], n_codes: int, values: I64, *, with_values: bool = True
) -> tuple[I64, I64 | None]:
    """Sort rows by ``(code, value, row)``: ``(permutation, values[permutation])``.

    One values-only sort of a packed key built in place; values are packed at a
    coarser resolution when the bits do not fit, and the groups whose rows then tie
    are fixed exactly. ``with_values=False`` returns None for the sorted values
    (saving a gather) unless the fix-up needed them anyway.
    """
    n = len(codes)
    if n == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    row_bits = _bits(n - 1)
    code_bits = _bits(n_codes - 1)
    value_bits = 64 - row_bits - code_bits
    if value_bits < 8:
        exact = np.lexsort((np.arange(n), values, codes))
        return exact, values[exact]
    lo, hi = int(values.min()), int(values.max())
    shift = max(0, _bits(hi - lo) - value_bits)
    key = values.astype(U64)
    key -= U64(lo & 0xFFFF_FFFF_FFFF_FFFF)
    if shift:
        key >>= U64(shift)
    key <<= U64(row_bits)
    _or_row_numbers(key)
    if code_bits:
        up = U64(value_bits + row_bits)
        for start in range(0, n, CHUNK):
            stop = min(start + CHUNK, n)
            key[start:stop] |= codes[start:stop].astype(U64) << up
    key.sort()
    row_mask = U64((1 << row_bits) - 1)
    ordered: I64 | None = np.empty(n, dtype=np.int64) if (with_values or shift) else None
    segments = None
    if shift:
        assert ordered is not None
        segments = _coarse_ties(key, values, row_bits, value_bits, ordered)
    key &= row_mask
    perm: I64 = key.view(np.int64)
    if segments is not None and ordered is not None:
        _fix_ties(perm, values, segments, ordered)
    elif ordered is not None:
        for start in range(0, n, CHUNK):
            stop = min(start + CHUNK, n)
            ordered[start:stop] = values[perm[start:stop]]
    return perm, ordered


def _coarse_ties(
    key: npt.NDArray[np.uint64], values: I64, row_bits: int, value_bits: int, ordered: I64
) -> tuple[I64, I64] | None:
    """Start and end positions (in sorted order) of the groups that a coarse key put
    out of order, scanning in blocks so no full-length temporary is needed; fills
    ``ordered`` with the values in the (coarse) sorted order on the way."""
    up = U64(value_bits + row_bits)
    row_mask = U64((1 << row_bits) - 1)
    bad: list[npt.NDArray[np.uint64]] = []
    n = len(key)
    for start in range(0, n, CHUNK):
        stop = min(start + CHUNK, n)
        lead = max(start - 1, 0)  # one row of overlap across the seam
        block = key[lead:stop]
        codes = block >> up
        block_values = values[(block & row_mask).view(np.int64)]
        ordered[start:stop] = block_values[start - lead :]
        wrong = (codes[1:] == codes[:-1]) & (block_values[1:] < block_values[:-1])
        if wrong.any():
            bad.append(np.unique(codes[1:][wrong]))
    if not bad:
        return None
    affected = np.unique(np.concatenate(bad))
    starts = np.searchsorted(key, affected << up, side="left").astype(np.int64)
    ends = np.searchsorted(key, (affected + U64(1)) << up, side="left").astype(np.int64)
    if affected[-1] == (U64(0xFFFF_FFFF_FFFF_FFFF) >> up):
        ends[-1] = n  # the top group: (code + 1) << up would wrap
    return starts, ends


def _fix_ties(perm: I64, values: I64, segments: tuple[I64, I64], ordered: I64) -> None:
    """Re-sort the given groups of ``perm`` exactly by ``(value, row)``."""
    starts, ends = segments
    lengths = ends - starts
    where = np.concatenate(
        [np.arange(a, b) for a, b in zip(starts.tolist(), ends.tolist(), strict=True)]
    )
    group = np.repeat(np.arange(len(starts)), lengths)
    rows = perm[where]
    order = np.lexsort((rows, values[rows], group))
    perm[where] = rows[order]
    ordered[where] = values[perm[where]]


def sorted_within_groups(codes: npt.NDArray[Any], n_codes: int, values: I64) -> I64:
    """``values`` sorted by ``(code, value)``, without the permutation when possible.

    When ``bits(code) + bits(value range)`` fit in 64, one values-only sort of
    ``code << value_bits | value`` does it; otherwise :func:`group_order`.
    """
    n = len(codes)
    if n == 0:
        return np.empty(0, dtype=np.int64)
    lo, hi = int(values.min()), int(values.max())
    code_bits = _bits(n_codes - 1)
    value_bits = _bits(hi - lo)
    if code_bits + value_bits > 64:
        ordered = group_order(codes, n_codes, values)[1]
        assert ordered is not None
        return ordered
    key = values.astype(U64)
    key -= U64(lo & 0xFFFF_FFFF_FFFF_FFFF)
    if code_bits:
        for start in range(0, n, CHUNK):
            stop = min(start + CHUNK, n)
            key[start:stop] |= codes[start:stop].astype(U64) << U64(value_bits)
    key.sort()
    if value_bits < 64:
        key &= U64((1 << value_bits) - 1)
    out: I64 = key.view(np.int64)
    out += lo
    return out


def segment_starts(counts: I64) -> I64:
    """Start offset of each group in a code-sorted array, from the group sizes."""
    starts = np.zeros(len(counts), dtype=np.int64)
    if len(counts) > 1:
        np.cumsum(counts[:-1], out=starts[1:])
    return starts


def factorize_parallel(
    values: Any, field: str = "customer_id", *, threads: int | None = None
) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    """:func:`~custmgmt.analytics._grouping.factorize` on several threads, with the
    identical result: sparse integer ids are split by the top bits of their range
    into buckets (as the one-thread linear path does, with at least four buckets a
    thread), the buckets factorised on the threads, and the codes offset.

    (Ranges cut at sampled quantiles balanced skewed ids better, but finding each
    row's range was a binary search: 44 ns a row at 1e7, more than the rest together.)

    Raises:
        ValidationError: as ``factorize``.
    """
    n_threads = default_threads() if threads is None else _check_count("threads", threads)
    ids = np.asarray(values)
    serial = n_threads == 1 or ids.ndim != 1 or len(ids) < PARALLEL_FACTORIZE_MIN_ROWS
    if serial or ids.dtype.kind != "i":
        return factorize(values, field)  # strings, unsigned: validated and converted there
    n = len(ids)
    lo, hi = int(ids.min()), int(ids.max())
    if hi - lo < max(1 << 16, n // 2):
        return factorize(ids, field)  # dense ids: one O(n) pass, no sort to share out
    wanted = max(_bits(n // BUCKET_ROWS), _bits(4 * n_threads - 1))
    top = max(1, min(wanted, MAX_SPLIT_BITS, _bits(hi - lo)))
    with ThreadPoolExecutor(max_workers=n_threads) as pool:
        return _factorize_buckets(ids, lo, hi, code_dtype(n), top, pool)

