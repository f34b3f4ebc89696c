"""Item-to-item co-purchase recommendations in numpy, and the popularity baseline.

:class:`ItemItemModel` counts, for every pair of items, how many customers bought
both (distinct customers, not units), turns the counts into a similarity and keeps
each item's ``top_k`` neighbours:

* ``cosine``: ``c(a, b) / sqrt(n(a) * n(b))``, computed as ``sqrt(c**2 / (n(a) * n(b)))``;
* ``lift``: ``c(a, b) * N / (n(a) * n(b))``, computed as ``(c * N) / (n(a) * n(b))``,

with ``n(x)`` the buyers of ``x`` and ``N`` the customers. Both are one division of
exact integers (below 2**53) rounded once, then for cosine a square root: so the
similarity of ``(a, b)`` equals that of ``(b, a)`` bit for bit, equal ratios give equal
floats (a tie is a tie, broken by item code, never by rounding), and a cosine never
exceeds 1 (two items with the same buyers score exactly 1). Only the upper triangle
is counted: each customer's distinct items are sorted, and an item ``a`` pairs with the
items after it in the basket, so a basket of ``m`` items makes ``m(m-1)/2`` pairs, not
``m(m-1)``. Items are processed in blocks of consecutive codes holding at most about
2 million pairs and 2 million cells (arrays of a few MiB, reused by the allocator:
fresh large arrays cost page faults that dominated the earlier version). A block with
few cells per pair is counted with one ``np.bincount`` over its cells (columns from
the block's first item on), a sparse one by sorting its pair keys (values only) and
counting run lengths. Each count serves two rows: ``(a, b)`` for ``a`` and ``(b, a)``
for ``b``; the latter waits, split by the block of ``b`` (cells are laid out
column-major, so each split is a contiguous slice), until that block is counted. A
block's top ``k`` are chosen as soon as its rows are complete (candidates pruned by
per-row value buckets, then an exact sort of the few left).
Neighbours go by similarity, ties by item code (the order of the sorted item ids).

A customer's candidates are scored by summing the similarities of the neighbours of
everything they bought; what they bought is excluded (unless ``rebuy_after`` says an
item may be bought again that long after the last purchase), and the list is filled
from the most popular items when the history gives fewer than ``k`` (cold start).
:class:`PopularityModel` is that fallback alone: the baseline to beat.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from custmgmt.domain.time import require_aware, to_epoch_micros
from custmgmt.errors import NotFittedError, ValidationError
from custmgmt.notebook.dataframes import FrameExport
from custmgmt.notebook.display import Displayed, Report, Table, counts_table, short_repr
from custmgmt.recommend.purchases import Purchases

__all__ = [
    "SIMILARITIES",
    "ItemItemModel",
    "PopularityModel",
    "Recommendations",
    "top_k_rows",
]

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]

#: The similarity measures :class:`ItemItemModel` offers.
SIMILARITIES = ("cosine", "lift")
_BLOCK_CELLS = 1 << 22
#: Most pairs generated for one block of items (int64 keys: 16 MiB).
_BLOCK_PAIRS = 1 << 21
#: Most cells of one block of pair counts (int64: 16 MiB). Blocks stay below glibc's
#: mmap threshold, so their memory is reused instead of faulted in afresh each time.
_DENSE_CELLS = 1 << 21
#: A block is counted densely when it has at most this many cells per pair.
_DENSE_RATIO = 32
#: Value buckets per row when pruning candidates for the top k.
_BUCKETS = 256
_DAY_US = 86_400_000_000
_MAX_DAYS = (np.iinfo(np.int64).max - 1) // _DAY_US


def top_k_rows(scores: F64, k: int) -> tuple[I64, F64]:
    """Per row, the columns of the ``k`` largest *positive* scores, best first.

    Ties go to the lower column. Rows with fewer than ``k`` positive scores are padded
    with column -1 and score 0.

    >>> cols, vals = top_k_rows(np.array([[0.0, 2.0, 1.0, 2.0]]), 3)
    >>> cols.tolist(), vals.tolist()
    ([[1, 3, 2]], [[2.0, 2.0, 1.0]])
    """
    rows_n, n = scores.shape
    out_cols = np.full((rows_n, k), -1, dtype=np.int64)
    out_vals = np.zeros((rows_n, k), dtype=np.float64)
    width = min(k, n)
    if rows_n == 0 or width == 0:
        return out_cols, out_vals
    positive = scores > 0
    # Rows with at most k positive scores keep them all; only the others need the k-th
    # largest value, found by a partial sort of those rows alone (a partition of many
    # zeros is slow, and most rows of co-purchase counts are mostly zeros).
    heavy = np.flatnonzero(np.count_nonzero(positive, axis=1) > width)
    if len(heavy):
        kth = -np.partition(-scores[heavy], width - 1, axis=1)[:, width - 1]
        positive[heavy] &= scores[heavy] >= kth[:, None]
    rows, cols = np.nonzero(positive)
    vals = scores[rows, cols]
    order = np.lexsort((cols, -vals, rows))
    rows, cols, vals = rows[order], cols[order], vals[order]
    first = np.searchsorted(rows, np.arange(rows_n))
    pos = np.arange(len(rows)) - first[rows]
    take = pos < k
    out_cols[rows[take], pos[take]] = cols[take]
    out_vals[rows[take], pos[take]] = vals[take]
    return out_cols, out_vals


def _distinct(keys: I64) -> I64:
    """The distinct values, sorted (a values-only sort: faster than ``np.unique``)."""
    ordered = np.sort(keys)
    if len(ordered) == 0:
        return ordered
    keep = np.empty(len(ordered), dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


def _top_k_sparse(rows: I64, cols: I64, vals: F64, n_rows: int, k: int) -> tuple[I64, F64]:
    """Like :func:`top_k_rows` for triplets in any order (all values positive)."""
    per_row = np.bincount(rows, minlength=n_rows)
    if len(rows) and per_row.max() > k:
        # Keep only candidates: bucket the values (the bits of a positive double grow
        # with its value, so shifted bits are monotone buckets, log-like, no log2
        # needed), count each row's entries per bucket, and keep the buckets from the
        # top down until they hold k entries. Every entry of the top k is kept; the
        # exact order comes from the sort below, over far fewer entries.
        buckets = _BUCKETS
        bits = vals.view(np.int64)
        low = int(bits.min())
        shift = max(0, (int(bits.max()) - low).bit_length() - (buckets.bit_length() - 1))
        bucket = (bits - low) >> shift
        hist = np.bincount(rows * buckets + bucket, minlength=n_rows * buckets)
        from_top = np.cumsum(hist.reshape(n_rows, buckets)[:, ::-1], axis=1)
        enough = from_top >= k
        threshold = np.where(enough[:, -1], buckets - 1 - np.argmax(enough, axis=1), 0)
        keep = bucket >= threshold[rows]
        rows, cols, vals = rows[keep], cols[keep], vals[keep]
    order = np.lexsort((cols, -vals, rows))  # by row, best first, ties by column
    rows, cols, vals = rows[order], cols[order], vals[order]
    first = np.searchsorted(rows, np.arange(n_rows))
    pos = np.arange(len(rows)) - first[rows]
    take = pos < k
    out_cols = np.full((n_rows, k), -1, dtype=np.int64)
    out_vals = np.zeros((n_rows, k), dtype=np.float64)
    out_cols[rows[take], pos[take]] = cols[take]
    out_vals[rows[take], pos[take]] = vals[take]
    return out_cols, out_vals


def _baskets(purchases: Purchases) -> tuple[I64, I64]:
    """The distinct (customer, item) pairs, by customer then item."""
    n = max(purchases.n_items, 1)
    pairs = _distinct(purchases.customer * n + purchases.item)
    customer = pairs // n
    return customer, pairs - customer * n


def _item_blocks(pairs_per_item: I64, n: int) -> list[int]:
    """Block edges over item codes: each block's pairs and cells within the caps.

    A block ``[lo, hi)`` holds the pairs ``(a, b)`` with ``lo <= a < hi`` and ``b > a``,
    so its cells are ``(hi - lo) * (n - lo)``: blocks of rare, high codes are taller.
    """
    cum = np.concatenate(([0], np.cumsum(pairs_per_item)))
    edges = [0]
    lo = 0
    while lo < n:
        by_cells = lo + max(1, _DENSE_CELLS // (n - lo))
        by_pairs = int(np.searchsorted(cum, cum[lo] + _BLOCK_PAIRS, side="right")) - 1
        lo = min(n, by_cells, max(lo + 1, by_pairs))
        edges.append(lo)
    return edges


_Piece = tuple[I64, I64, I64]


def _co_purchases(
    customer: I64, item: I64, n: int, n_customers: int
) -> Iterator[tuple[int, int, I64, I64, I64]]:
    """Co-purchase counts, block by block of rows: ``(lo, hi, rows, cols, counts)``.

    ``customer``/``item`` are the distinct pairs by customer then item. Each block
    yields every nonzero count of the rows ``lo <= row < hi`` (both triangles), in no
    particular order; no count of an item with itself.
    """
    sizes = np.bincount(customer, minlength=n_customers)
    ends = np.cumsum(sizes)
    # How many items come after each pair's item in its customer's sorted basket: the
    # pairs it starts in the upper triangle.
    after = ends[customer] - np.arange(len(customer)) - 1
    # A stable sort of 16-bit codes is a radix sort in numpy: linear time.
    by_item = np.argsort(item.astype(np.int16) if n < 2**15 else item, kind="stable")
    item_starts = np.concatenate(([0], np.cumsum(np.bincount(item, minlength=n))))
    pairs_per_item = np.bincount(item, weights=after, minlength=n).astype(np.int64)
    edges = _item_blocks(pairs_per_item, n)
    block_of = np.repeat(np.arange(len(edges) - 1), np.diff(edges))
    span = 1 + max((int(pairs_per_item[lo:hi].sum()) for lo, hi in
                    itertools.pairwise(edges)), default=0)
    offsets_all = np.arange(span, dtype=np.int64)
    # waiting[j]: counts (b, a, c) for rows b in block j, from blocks before j.
    waiting: list[list[_Piece]] = [[] for _ in range(len(edges) - 1)]
    for i, (lo, hi) in enumerate(itertools.pairwise(edges)):
        width = n - lo
        first = by_item[item_starts[lo] : item_starts[hi]]
        lens = after[first]
        total = int(lens.sum())
        upper: list[_Piece] = []
        if total:
            # Keys (b - lo) * height + (a - lo), column-major, for each a in the block
            # and each b after it in a basket (b's position is the pair's own position
            # plus 1, 2, ...): the cells of each later block's columns are contiguous,
            # so the (b, a) halves go to the block of b by slicing, with no sort.
            height = hi - lo
            keys = np.repeat(item[first] - lo - lo * height, lens)
            source = np.repeat(first + 1 - (np.cumsum(lens) - lens), lens)
            source += offsets_all[:total]
            right = item[source]
            right *= height
            keys += right
            cells = height * width
            col_edges = [(e - lo) * height for e in edges[i:]]
            if cells <= _DENSE_RATIO * total:
                dense = np.bincount(keys, minlength=cells)
                for start, stop in itertools.pairwise(col_edges):
                    cell = np.flatnonzero(dense[start:stop]) + start
                    if len(cell):
                        c = cell // height
                        upper.append((cell - c * height + lo, c + lo, dense[cell]))
            else:
                keys.sort()
                cut = np.flatnonzero(keys[1:] != keys[:-1]) + 1
                starts = np.concatenate(([0], cut))
                counts = np.diff(np.concatenate((starts, [len(keys)])))
                uniq = keys[starts]
                bounds = np.searchsorted(uniq, col_edges).tolist()
                for s, e in itertools.pairwise(bounds):
                    if e > s:
                        c = uniq[s:e] // height
                        upper.append((uniq[s:e] - c * height + lo, c + lo, counts[s:e]))
        for rows, cols, counts in upper:
            j = int(block_of[cols[0]])
            if j > i:
                waiting[j].append((cols, rows, counts))
        mine = upper + [(cols, rows, counts) for rows, cols, counts in upper
                        if int(block_of[cols[0]]) == i] + waiting[i]
        waiting[i] = []
        if mine:
            yield (lo, hi, np.concatenate([m[0] for m in mine]),
                   np.concatenate([m[1] for m in mine]), np.concatenate([m[2] for m in mine]))
        else:
            empty = np.zeros(0, dtype=np.int64)
            yield lo, hi, empty, empty, empty


@attrs.frozen(kw_only=True)
class Recommendations(FrameExport, Displayed):
    """Top-``k`` items for some customers.

    Attributes:
        customer_ids: the customers, in the order asked.
        items: ``(customers, k)`` object array of item ids (None where fewer were found).
        scores: ``(customers, k)`` scores (0 for popularity fill).
        from_history: ``(customers, k)`` whether each item came from the customer's
            history (False: popularity fill or padding).
    """

    customer_ids: tuple[str, ...]
    items: Any
    scores: F64
    from_history: npt.NDArray[np.bool_]

    def __repr__(self) -> str:
        return short_repr("Recommendations", customers=len(self.customer_ids),
                          k=int(self.scores.shape[1]) if self.scores.ndim == 2 else 0)

    def _display(self) -> Report:
        """How full the lists are, where the items came from, the most recommended."""
        items = np.asarray(self.items, dtype=object).reshape(-1)
        found = np.asarray(items != None, dtype=bool)  # noqa: E711 (elementwise, in C)
        history = np.asarray(self.from_history).reshape(-1)
        report = Report("Recommendations", facts=[
            ("customers", len(self.customer_ids)),
            ("k", int(self.scores.shape[1]) if self.scores.ndim == 2 else 0),
            ("items recommended", int(found.sum())),
            ("from the customers' history", int((history & found).sum())),
            ("popularity fill", int((~history & found).sum())),
        ])
        # Counter counts in C: a few hundred ms for 10M cells, where np.unique on
        # object ids would sort them.
        top = Counter(items[found].tolist()).most_common(10)
        report.add(Table(caption="most recommended items", header=("item", "lists"),
                         rows=tuple((str(item), count) for item, count in top)))
        per_list = np.asarray(found.reshape(self.scores.shape).sum(axis=1)
                              if self.scores.ndim == 2 else [], dtype=np.int64)
        sizes = np.bincount(per_list, minlength=int(per_list.max(initial=0)) + 1)
        report.add(counts_table("customers per list length", "items",
                                {str(n): int(c) for n, c in enumerate(sizes) if c}))
        return report

    def _frame_columns(self) -> dict[str, Any]:
        """Exported columns, one row per customer and rank (long form; ``item`` is
        missing where fewer than ``k`` were found): ``customer_id``, ``rank`` (1 best),
        ``item``, ``score`` and ``from_history``."""
        n, k = (self.scores.shape if self.scores.ndim == 2 else (0, 0))
        return {
            "customer_id": np.repeat(np.asarray(self.customer_ids, dtype=object), k),
            "rank": np.tile(np.arange(1, k + 1, dtype=np.int64), n),
            "item": np.asarray(self.items, dtype=object).reshape(-1),
            # A C-ordered (n, k) matrix flattens to a view: the scores are not copied.
            "score": self.scores.reshape(-1),
            "from_history": np.asarray(self.from_history).reshape(-1),
        }

    def for_customer(self, customer_id: str) -> list[str]:
        """One customer's items, best first.

        Raises:
            ValidationError: the customer was not asked for.
        """
        if customer_id not in self.customer_ids:
            raise ValidationError("customer_id", customer_id, "a customer in this result")
        row = self.customer_ids.index(customer_id)
        return [str(x) for x in self.items[row] if x is not None]


class _Recommender:
    """What both models share: the fitted history, exclusion, popularity fill."""

    history_: Purchases
    popularity_: I64
    popular_order_: I64

    def _fit_common(self, purchases: Purchases) -> tuple[I64, I64]:
        """Keep the history, count buyers; returns the distinct (customer, item) pairs."""
        if not isinstance(purchases, Purchases):
            raise ValidationError("purchases", purchases, "a Purchases frame")
        self.history_ = purchases
        customers, items = _baskets(purchases)
        self.popularity_ = np.bincount(items, minlength=purchases.n_items).astype(np.int64)
        self.popular_order_ = np.lexsort(
            (np.arange(purchases.n_items), -self.popularity_)
        ).astype(np.int64)
        return customers, items

    def _check_fitted(self) -> None:
        if not hasattr(self, "history_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted: call fit(purchases)")

    def _history_scores(self, users: int, hist_user: I64, hist_item: I64) -> F64:
        """Dense ``(users, n_items)`` history scores (zero: no evidence)."""
        return np.zeros((users, self.history_.n_items), dtype=np.float64)

    def recommend(
        self,
        customer_ids: Sequence[str],
        *,
        k: int = 10,
        exclude_bought: bool = True,
        rebuy_after: Mapping[str, int] | None = None,
        as_of: datetime | None = None,
    ) -> Recommendations:
        """The top ``k`` items for each customer.

        Args:
            customer_ids: the customers (unknown ones get the popularity fill).
            k: how many items each.
            exclude_bought: leave out items the customer bought.
            rebuy_after: ``{item id: days}``: an item last bought at least that many
                days before ``as_of`` may be recommended again (a re-buyable).
            as_of: the moment for ``rebuy_after`` (aware; required with it).

        Raises:
            NotFittedError: the model is not fitted.
            ValidationError: bad ``k``, ``customer_ids`` or ``rebuy_after``.
        """
        self._check_fitted()
        if not isinstance(k, int) or isinstance(k, bool) or k < 1:
            raise ValidationError("k", k, "a positive number of items")
        if isinstance(customer_ids, str) or not isinstance(customer_ids, Iterable):
            # None raised a bare TypeError ("'NoneType' object is not iterable").
            raise ValidationError("customer_ids", customer_ids, "a sequence of customer ids")
        wanted = list(customer_ids)  # once: a generator would be spent by the type check
        if not all(isinstance(c, str) for c in wanted):
            raise ValidationError("customer_ids", wanted, "a sequence of customer ids")
        once = dict.fromkeys(wanted)
        if len(once) < len(wanted):
            # A customer asked twice: answer each distinct customer once and repeat the
            # rows (the history lookup below keys on distinct customers).
            distinct = self.recommend(list(once), k=k, exclude_bought=exclude_bought,
                                      rebuy_after=rebuy_after, as_of=as_of)
            row_of = {c: i for i, c in enumerate(once)}
            idx = np.array([row_of[c] for c in wanted], dtype=np.int64)
            return Recommendations(
                customer_ids=tuple(wanted), items=distinct.items[idx],
                scores=distinct.scores[idx], from_history=distinct.from_history[idx],
            )
        rebuy = (self._rebuy_thresholds(rebuy_after, as_of)
                 if exclude_bought and rebuy_after else None)
        hist = self.history_
        codes = np.searchsorted(hist.customer_ids, np.asarray(wanted, dtype=object))
        codes = np.minimum(codes, max(hist.n_customers - 1, 0))
        known = np.array(
            [hist.n_customers > 0 and hist.customer_ids[c] == w for c, w in zip(codes, wanted,
                                                                                 strict=True)],
            dtype=bool,
        )
        user_code = np.where(known, codes, -1)
        # Each asked customer's history rows: (position in the request, item, last time).
        local = np.full(max(hist.n_customers, 1), -1, dtype=np.int64)
        local[user_code[known]] = np.flatnonzero(known)
        rows = np.flatnonzero(local[hist.customer] >= 0) if len(hist) else np.zeros(0, np.int64)
        h_user = local[hist.customer[rows]]
        order = np.argsort(h_user, kind="stable")
        h_user, h_item, h_at = h_user[order], hist.item[rows][order], hist.at[rows][order]
        n, users = hist.n_items, len(wanted)
        # No list can hold more items than the model knows: a huge k (the CLI's
        # --k 1e20) would otherwise size the arrays by k and fail to allocate.
        k = min(k, max(n, 1))
        cols = np.full((users, k), -1, dtype=np.int64)
        vals = np.zeros((users, k), dtype=np.float64)
        never = np.iinfo(np.int64).min
        block = max(1, _BLOCK_CELLS // max(n, 1))
        for lo in range(0, users, block):
            hi = min(users, lo + block)
            a, b = np.searchsorted(h_user, [lo, hi])
            bu, bi, bt = h_user[a:b] - lo, h_item[a:b], h_at[a:b]
            bought = np.zeros((hi - lo, n), dtype=bool)
            if exclude_bought and b > a:
                last = np.full((hi - lo) * n, never, dtype=np.int64)
                np.maximum.at(last, bu * n + bi, bt)
                bought = (last > never).reshape(hi - lo, n)
                if rebuy is not None:
                    threshold, reachable = rebuy
                    bought &= ~(reachable[None, :] & (last.reshape(hi - lo, n) <= threshold))
            scores = self._history_scores(hi - lo, bu, bi)
            scores[bought] = 0.0
            cols[lo:hi], vals[lo:hi] = top_k_rows(scores, k)
            self._fill(cols[lo:hi], bought)
        items = np.empty(cols.shape, dtype=object)
        items[cols >= 0] = hist.item_ids[cols[cols >= 0]]
        return Recommendations(
            customer_ids=tuple(wanted), items=items, scores=vals, from_history=vals > 0,
        )

    def _rebuy_thresholds(
        self, rebuy_after: Mapping[str, int], as_of: datetime | None
    ) -> tuple[I64, npt.NDArray[np.bool_]]:
        """Per item, the latest last purchase that makes it due again at ``as_of``, and
        whether any can (checked once per call, whoever has a history: a bad key used
        to pass unnoticed when no asked customer had bought anything)."""
        if as_of is None:
            raise ValidationError("as_of", None, "an aware as_of with rebuy_after")
        now = to_epoch_micros(require_aware("as_of", as_of))
        if not isinstance(rebuy_after, Mapping):
            raise ValidationError("rebuy_after", rebuy_after, "a mapping of item id -> days")
        interval = np.full(self.history_.n_items, np.iinfo(np.int64).max, dtype=np.int64)
        for item, days in rebuy_after.items():
            if not isinstance(item, str):
                # An int or None key raised a bare TypeError inside numpy's search, and a
                # tuple ('x',) was searched as an array and matched item 'x'.
                raise ValidationError("rebuy_after", item, "item ids (str) as keys")
            if not isinstance(days, int) or isinstance(days, bool) or days < 0:
                raise ValidationError(f"rebuy_after[{item!r}]", days, "a number of days >= 0")
            found = np.searchsorted(self.history_.item_ids, item)
            if found < self.history_.n_items and self.history_.item_ids[found] == item:
                # Beyond int64 µs (about 290,000 years) an interval never comes due anyway.
                interval[found] = min(days, _MAX_DAYS) * _DAY_US
        # Due when ``last + interval <= now``, i.e. ``last <= now - interval``. The
        # threshold is computed in Python ints per item and clamped: a threshold below
        # int64 (an interval reaching before the earliest time) is never due. (This was
        # ``now - min(interval, now)``: before 1970 ``now`` is negative, the threshold
        # became 0 and an item bought a day ago was due again whatever its interval.)
        lowest = int(np.iinfo(np.int64).min)
        finite = interval < np.iinfo(np.int64).max
        threshold = np.full(self.history_.n_items, lowest, dtype=np.int64)
        reachable = np.zeros(self.history_.n_items, dtype=bool)
        for code in np.flatnonzero(finite).tolist():
            edge = now - int(interval[code])
            if edge > lowest:
                threshold[code], reachable[code] = edge, True
        return threshold, reachable

    def _fill(self, cols: I64, bought: npt.NDArray[np.bool_]) -> None:
        """Fill empty slots with the most popular items not bought and not chosen.

        Chosen items are packed to the left of each row (as :func:`top_k_rows` leaves
        them); the fill goes after them in popularity order. Vectorised over the rows
        of a block: a Python loop per row and per popular item took 15 s for 300,000
        new customers at ``k=50``.
        """
        k = cols.shape[1]
        rows = np.flatnonzero((cols < 0).any(axis=1))
        order = self.popular_order_
        if len(rows) == 0 or len(order) == 0:
            return
        part = cols[rows]
        taken = bought[rows]  # fancy indexing: a copy
        at_r, at_c = np.nonzero(part >= 0)
        taken[at_r, part[at_r, at_c]] = True
        need = np.count_nonzero(part < 0, axis=1)
        bought_any = self.popularity_[order] > 0
        # The most popular items first: a prefix twice the list is usually enough; the
        # rows it does not fill (they bought many of those) look further, 4x each time.
        left = np.arange(len(rows))
        width = min(len(order), 2 * k)
        while len(left):
            avail = ~taken[left][:, order[:width]]
            avail &= bought_any[None, :width]
            rank = np.cumsum(avail, axis=1)  # 1-based rank among the items still free
            done = (rank[:, -1] >= need[left]) | (width == len(order))
            sub = np.flatnonzero(done)
            take_r, take_c = np.nonzero(avail[sub] & (rank[sub] <= need[left[sub], None]))
            r = left[sub][take_r]
            part[r, k - need[r] + rank[sub][take_r, take_c] - 1] = order[take_c]
            left = left[~done]
            width = min(len(order), 4 * width)
        cols[rows] = part


class PopularityModel(_Recommender):
    """Recommends the items most customers bought (the cold-start fallback and baseline).

    >>> from custmgmt.recommend.purchases import Purchases
    >>> p = Purchases.from_arrays(
    ...     customer_id=["a", "b", "b"], item=["茶", "茶", "杯"], at=[1, 2, 3])
    >>> PopularityModel().fit(p).recommend(["a"], k=2).for_customer("a")
    ['杯']
    """

    def fit(self, purchases: Purchases) -> PopularityModel:
        """Count each item's distinct buyers; returns ``self``."""
        self._fit_common(purchases)
        return self


class ItemItemModel(_Recommender):
    """Item-to-item co-purchase similarities with pruned neighbour lists.

    Args:
        similarity: ``"cosine"`` or ``"lift"``.
        top_k: neighbours kept per item.
        min_support: pairs bought together by fewer customers are ignored.

    Attributes (after :meth:`fit`):
        neighbours_: ``(n_items, min(top_k, n_items - 1))`` item codes, -1 padded (at
            least one column).
        similarities_: the similarities, of the same shape.
        popularity_: distinct buyers per item.
    """

    neighbours_: I64
    similarities_: F64

    def __init__(
        self, *, similarity: str = "cosine", top_k: int = 50, min_support: int = 1
    ) -> None:
        self.similarity = similarity
        self.top_k = top_k
        self.min_support = min_support

    def fit(self, purchases: Purchases) -> ItemItemModel:
        """Count co-purchases and keep each item's top neighbours; returns ``self``.

        Raises:
            ValidationError: bad parameters or not a :class:`Purchases`.
        """
        if self.similarity not in SIMILARITIES:
            raise ValidationError("similarity", self.similarity, f"one of {SIMILARITIES}")
        for name in ("top_k", "min_support"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValidationError(name, value, "a positive integer")
        cust, item = self._fit_common(purchases)
        n = purchases.n_items
        # No item has more neighbours than the others: a huge top_k would otherwise size
        # the arrays by top_k and fail to allocate.
        width = min(self.top_k, max(n - 1, 1))
        neighbours = np.full((n, width), -1, dtype=np.int64)
        sims = np.zeros((n, width), dtype=np.float64)
        if n == 0 or len(purchases) == 0:
            self.neighbours_, self.similarities_ = neighbours, sims
            return self
        pop = self.popularity_.astype(np.float64)
        customers = float(np.count_nonzero(np.bincount(cust)))
        for lo, hi, rows, cols, counts in _co_purchases(cust, item, n, purchases.n_customers):
            if self.min_support > 1:
                strong = counts >= self.min_support
                rows, cols, counts = rows[strong], cols[strong], counts[strong]
            # One rounding of a ratio of exact integers (every pair's items have buyers):
            # symmetric in (a, b), ties exact, cosine <= 1. Weights per item multiplied
            # in turn (c * w(a) * w(b)) rounded twice: sim(a, b) != sim(b, a), a cosine
            # of 1.0000000000000002, and equal similarities ordered by rounding noise.
            scores: F64 = counts.astype(np.float64)
            both = pop[rows]
            both *= pop[cols]
            scores *= scores if self.similarity == "cosine" else customers
            scores /= both
            if self.similarity == "cosine":
                np.sqrt(scores, out=scores)
            neighbours[lo:hi], sims[lo:hi] = _top_k_sparse(
                rows - lo, cols, scores, hi - lo, width
            )
        self.neighbours_, self.similarities_ = neighbours, sims
        return self

    def similar_items(self, item_id: str, *, k: int = 10) -> list[tuple[str, float]]:
        """"Bought this, also bought": the item's nearest neighbours with similarities.

        Raises:
            NotFittedError: not fitted.
            ValidationError: an item the model never saw, or a bad ``k``.
        """
        self._check_fitted()
        if not isinstance(k, int) or isinstance(k, bool) or k < 1:
            raise ValidationError("k", k, "a positive number of items")
        ids = self.history_.item_ids
        code = int(np.searchsorted(ids, item_id)) if isinstance(item_id, str) else len(ids)
        if code >= len(ids) or ids[code] != item_id:
            raise ValidationError("item_id", item_id, "an item in the fitted purchases")
        row = self.neighbours_[code][:k]
        keep = row >= 0
        return [
            (str(ids[c]), float(s))
            for c, s in zip(row[keep], self.similarities_[code][:k][keep], strict=True)
        ]

    def _history_scores(self, users: int, hist_user: I64, hist_item: I64) -> F64:
        n = self.history_.n_items
        scores = np.zeros((users, n), dtype=np.float64)
        if len(hist_user) == 0:
            return scores
        # Distinct (user, item) history pairs, by user then item.
        pairs = _distinct(hist_user * n + hist_item)
        pu, pi = pairs // n, pairs % n
        nb = self.neighbours_[pi]
        w = self.similarities_[pi]
        valid = nb >= 0
        width = nb.shape[1]
        u = np.repeat(pu, width).reshape(-1, width)[valid]
        flat = np.bincount(u * n + nb[valid], weights=w[valid], minlength=users * n)
        scores[:] = flat.reshape(users, n)
        return scores
