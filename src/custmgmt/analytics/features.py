"""Per-customer features for an explicit ``as_of``: pure functions of frames.

:func:`customer_features` returns a :class:`CustomerFeatures` table, one row per
customer of the frames' (aligned) customer index, **including** customers with no
order before ``as_of`` (their counts and sums are 0, their means, recency and tenure
NaN, their first/last purchase :data:`~custmgmt.analytics.frames.MISSING_TIME`).
Rows after ``as_of`` are ignored; a naive ``as_of`` is refused.

Definitions (a *counted order* is one placed at or before ``as_of`` whose status is
not ``cancelled``; returned orders are counted, their refunds subtracted where said):

==========================  =============  =================================================
name                        dtype, unit    definition
==========================  =============  =================================================
frequency                   int64          number of counted orders
recency                     float64 days   ``as_of`` minus the last counted order
tenure                      float64 days   ``as_of`` minus the first counted order
first_purchase              int64 µs UTC   placed_at of the first counted order
last_purchase               int64 µs UTC   placed_at of the last counted order
monetary_total              int64 minor    sum of ``amount`` (gross, before returns)
monetary_net                int64 minor    sum of ``amount - returned_amount``
monetary_mean               float64 minor  ``monetary_total / frequency``
aov                         float64 minor  average order value net of returns,
                                           ``monetary_net / frequency``
returned_total              int64 minor    sum of ``returned_amount``
return_rate                 float64        share of counted orders with a return
                                           (refund > 0 or status returned /
                                           partially_returned)
cancelled_count             int64          cancelled orders placed at or before ``as_of``
cancellation_rate           float64        ``cancelled / (frequency + cancelled)``
interval_mean               float64 days   mean gap between consecutive counted orders,
                                           ``(last - first) / (frequency - 1)``
interval_median             float64 days   median gap (mean of the two middle gaps)
interval_std                float64 days   population standard deviation (ddof=0) of gaps
category_breadth            int64          distinct categories of counted orders (every
                                           line's category when the frame lists them)
orders_{N}d                 int64          counted orders in ``(as_of - N days, as_of]``
spend_{N}d                  int64 minor    their ``amount - returned_amount``
spend_prev_{N}d             int64 minor    the same over ``(as_of - 2N, as_of - N]``
review_count                int64          reviews at or before ``as_of``
review_mean                 float64 stars  mean rating of those with a rating (> 0)
complaint_count             int64          complaints at or before ``as_of``
complaint_unresolved        int64          those not resolved
{kind}_{N}d                 int64          interactions of that ``InteractionKind``
                                           (``browse_30d``, ``complaint_90d`` ...) in
                                           ``(as_of - N days, as_of]``
==========================  =============  =================================================

Ratios and means are NaN when their denominator is 0; interval features need at least
two counted orders (same-timestamp orders give gaps of 0). Returns are attributed to
the order's ``placed_at``. Money sums go through float64 ``np.bincount`` and are exact
while one customer's sum stays below 2**53 minor units (9e13 CNY).

Only the requested features are computed (with what they depend on): ask for
``features=["frequency", "monetary_net"]`` and no per-customer time ordering is done.

``engine="polars"`` aggregates with polars instead of numpy (the ``polars`` extra;
:mod:`custmgmt.analytics.polars_engine`); the features are derived from its integer
aggregates by the same code, so the table is identical. numpy is the default.

>>> import numpy as np
>>> from datetime import datetime, timezone
>>> from custmgmt.analytics.frames import OrderFrame
>>> orders = OrderFrame.from_arrays(
...     customer_id=np.array([7, 7, 9]),
...     placed_at=np.array(["2024-01-01", "2024-01-11", "2024-01-05"], dtype="datetime64[D]"),
...     amount=np.array([1000, 3000, 500]), currency="CNY")
>>> f = customer_features(orders, as_of=datetime(2024, 1, 31, tzinfo=timezone.utc),
...                       features=["frequency", "monetary_net", "recency", "interval_mean"])
>>> f["frequency"].tolist(), f["monetary_net"].tolist(), f["recency"].tolist()
([2, 1], [4000, 500], [20.0, 26.0])
>>> f.row(7)["interval_mean"]
10.0
"""

from __future__ import annotations

import html
import itertools
import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import cached_property
from types import MappingProxyType
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from custmgmt.analytics import polars_engine
from custmgmt.analytics._grouping import (
    CHUNK,
    map_onto_index,
    segment_starts,
    sorted_within_groups,
)
from custmgmt.analytics.frames import (
    KIND_CODES,
    MISSING_TIME,
    STATUS_CODES,
    InteractionFrame,
    OrderFrame,
)
from custmgmt.domain.interaction import InteractionKind
from custmgmt.domain.order import OrderStatus
from custmgmt.domain.time import require_aware, to_epoch_micros
from custmgmt.errors import NotFound, ValidationError

__all__ = [
    "DEFAULT_WINDOWS",
    "ENGINES",
    "FEATURES",
    "ORDER_COLUMNS",
    "CustomerFeatures",
    "FeatureSpec",
    "customer_features",
    "describe_feature",
    "feature_names",
    "feature_sources",
    "order_columns_masking",
    "order_columns_read",
    "unsupported_features",
]

AnyArray = npt.NDArray[Any]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

DAY_US = 86_400_000_000
DEFAULT_WINDOWS: tuple[int, ...] = (7, 30, 90, 365)
_CANCELLED = STATUS_CODES.index(OrderStatus.CANCELLED)
_RETURNED = (
    STATUS_CODES.index(OrderStatus.RETURNED),
    STATUS_CODES.index(OrderStatus.PARTIALLY_RETURNED),
)
_REVIEW = KIND_CODES.index(InteractionKind.REVIEW)
#: Category breadth marks (customer, category) pairs in a bitmap of
#: ``n_customers * n_categories`` bytes when it is at most this many bytes per order
#: (or at most _BITMAP_MIN_CELLS in all); beyond that, one sort of the packed pairs.
_BITMAP_CELLS_PER_ROW = 8
_BITMAP_MIN_CELLS = 1 << 24
_COMPLAINT = KIND_CODES.index(InteractionKind.COMPLAINT)


@attrs.frozen(kw_only=True)
class FeatureSpec:
    """What a feature is: its dtype, unit, source frame and definition."""

    name: str
    dtype: str
    unit: str
    source: str  # "orders" or "interactions"
    description: str
    needs: tuple[str, ...] = ()  # optional columns of the source frame it reads


def _spec(
    name: str, dtype: str, unit: str, source: str, description: str, needs: tuple[str, ...] = ()
) -> FeatureSpec:
    return FeatureSpec(
        name=name, dtype=dtype, unit=unit, source=source, description=description, needs=needs
    )


#: The fixed (non-windowed) features, in their default order.
FEATURES: Mapping[str, FeatureSpec] = MappingProxyType(
    {
        s.name: s
        for s in (
            _spec(
                "frequency", "int64", "orders", "orders", "number of counted (non-cancelled) orders"
            ),
            _spec("recency", "float64", "days", "orders", "as_of minus the last counted order"),
            _spec("tenure", "float64", "days", "orders", "as_of minus the first counted order"),
            _spec("first_purchase", "int64", "µs UTC", "orders", "time of the first counted order"),
            _spec("last_purchase", "int64", "µs UTC", "orders", "time of the last counted order"),
            _spec("monetary_total", "int64", "minor units", "orders", "sum of amounts, gross"),
            _spec(
                "monetary_net", "int64", "minor units", "orders", "sum of amounts net of returns"
            ),
            _spec(
                "monetary_mean", "float64", "minor units", "orders", "monetary_total / frequency"
            ),
            _spec("aov", "float64", "minor units", "orders", "monetary_net / frequency"),
            _spec("returned_total", "int64", "minor units", "orders", "sum of refunded amounts"),
            _spec("return_rate", "float64", "ratio", "orders", "share of counted orders returned"),
            _spec("cancelled_count", "int64", "orders", "orders", "cancelled orders"),
            _spec(
                "cancellation_rate",
                "float64",
                "ratio",
                "orders",
                "cancelled / (frequency + cancelled)",
            ),
            _spec("interval_mean", "float64", "days", "orders", "mean gap between counted orders"),
            _spec(
                "interval_median", "float64", "days", "orders", "median gap between counted orders"
            ),
            _spec("interval_std", "float64", "days", "orders", "population std of the gaps"),
            _spec(
                "category_breadth",
                "int64",
                "categories",
                "orders",
                "distinct categories bought",
                needs=("category",),
            ),
            _spec("review_count", "int64", "reviews", "interactions", "reviews written"),
            _spec("review_mean", "float64", "stars", "interactions", "mean review rating"),
            _spec("complaint_count", "int64", "complaints", "interactions", "complaints made"),
            _spec(
                "complaint_unresolved",
                "int64",
                "complaints",
                "interactions",
                "complaints not resolved",
            ),
        )
    }
)

_WINDOWED = re.compile(r"^(orders|spend|spend_prev|[a-z]+)_([1-9][0-9]*)d$")
_KIND_VALUES = {k.value: i for i, k in enumerate(KIND_CODES)}
_TIME_FEATURES = frozenset({"first_purchase", "last_purchase"})


def _windowed_spec(name: str) -> FeatureSpec | None:
    match = _WINDOWED.match(name)
    if match is None:
        return None
    prefix, days = match.group(1), int(match.group(2))
    if prefix == "orders":
        return _spec(name, "int64", "orders", "orders", f"counted orders in the last {days} days")
    if prefix == "spend":
        return _spec(name, "int64", "minor units", "orders", f"net spend in the last {days} days")
    if prefix == "spend_prev":
        return _spec(
            name,
            "int64",
            "minor units",
            "orders",
            f"net spend in the {days} days before the last {days} days",
        )
    if prefix in _KIND_VALUES:
        return _spec(
            name,
            "int64",
            "interactions",
            "interactions",
            f"{prefix} interactions in the last {days} days",
        )
    return None


def describe_feature(name: str) -> FeatureSpec:
    """The :class:`FeatureSpec` of a feature name (windowed names included).

    Raises:
        ValidationError: the name is not a known feature.
    """
    spec = FEATURES.get(name) if isinstance(name, str) else None
    if spec is None and isinstance(name, str):
        spec = _windowed_spec(name)
    if spec is None:
        raise ValidationError(
            "features",
            name,
            "a known feature name (see custmgmt.analytics.features.feature_names()) or "
            "orders_{N}d / spend_{N}d / spend_prev_{N}d / {interaction kind}_{N}d",
        )
    return spec


def feature_sources(names: Iterable[str]) -> frozenset[str]:
    """The frames (``"orders"``, ``"interactions"``) the features ``names`` are computed
    from, as the catalogue says: what a caller must load to compute them.

    >>> sorted(feature_sources(["monetary_net", "complaint_90d"]))
    ['interactions', 'orders']

    Raises:
        ValidationError: an unknown feature name.
    """
    if isinstance(names, str):
        raise ValidationError("features", names, "a sequence of feature names, not one string")
    return frozenset(describe_feature(name).source for name in names)


def unsupported_features(
    names: Iterable[str],
    orders: OrderFrame | None,
    interactions: InteractionFrame | None = None,
) -> dict[str, str]:
    """The features among ``names`` that the given frames cannot support, with why.

    A feature is unsupported when its source frame is missing, or when it reads an
    optional column that no row of a non-empty frame fills (``category_breadth`` on
    orders without categories would give every customer the same count).

    >>> import numpy as np
    >>> orders = OrderFrame.from_arrays(customer_id=np.array([1]),
    ...     placed_at=np.array([0]), amount=np.array([100]), currency="CNY")
    >>> unsupported_features(["frequency", "category_breadth", "review_mean"], orders)
    {'category_breadth': 'no order has a category', 'review_mean': 'no interactions given'}

    Raises:
        ValidationError: an unknown feature name.
    """
    if isinstance(names, str):
        raise ValidationError("features", names, "a sequence of feature names, not one string")
    out: dict[str, str] = {}
    for name in dict.fromkeys(names):
        spec = describe_feature(name)
        frame = orders if spec.source == "orders" else interactions
        if frame is None:
            out[name] = f"no {spec.source} given"
            continue
        if "category" in spec.needs and len(frame) and not _has_categories(orders):
            out[name] = "no order has a category"
    return out


def _has_categories(orders: OrderFrame | None) -> bool:
    """Whether any order of the frame has a category."""
    return orders is not None and len(orders.category_names) > 0


def _check_windows(windows: Any) -> tuple[int, ...]:
    if isinstance(windows, (str, bytes)) or not isinstance(windows, Iterable):
        raise ValidationError("windows", windows, "a sequence of positive whole days")
    out = tuple(windows)
    for w in out:
        if isinstance(w, bool) or not isinstance(w, (int, np.integer)) or w < 1:
            raise ValidationError("windows", w, "positive whole numbers of days")
    return tuple(int(w) for w in out)


def feature_names(
    windows: Sequence[int] = DEFAULT_WINDOWS, *, orders: bool = True, interactions: bool = True
) -> tuple[str, ...]:
    """The default feature set, in order: order features, then per window ``orders_``,
    ``spend_`` and ``spend_prev_``, then interaction features and ``{kind}_{N}d``."""
    days = _check_windows(windows)
    names: list[str] = []
    if orders:
        names += [n for n, s in FEATURES.items() if s.source == "orders"]
        for w in days:
            names += [f"orders_{w}d", f"spend_{w}d", f"spend_prev_{w}d"]
    if interactions:
        names += [n for n, s in FEATURES.items() if s.source == "interactions"]
        for w in days:
            names += [f"{k.value}_{w}d" for k in KIND_CODES]
    return tuple(names)


# -- the result table -------------------------------------------------------------------
def _freeze(values: AnyArray) -> AnyArray:
    view = np.asarray(values).view()
    view.flags.writeable = False
    return view


@attrs.frozen(kw_only=True, eq=False, repr=False)
class CustomerFeatures:
    """Named per-customer feature columns (numpy arrays) over one customer index.

    Attributes:
        customer_ids: code -> customer id; row ``i`` of every column is that customer.
        columns: feature name -> read-only numpy array (use ``features[name]``).
        as_of: the aware moment the features describe.
        currency: the currency of the money features (None without orders).
        windows: the default trailing windows used, in days.
    """

    customer_ids: AnyArray = attrs.field(converter=_freeze)
    columns: Mapping[str, AnyArray]
    as_of: datetime
    currency: str | None = None
    windows: tuple[int, ...] = DEFAULT_WINDOWS
    _positions: dict[Any, int] = attrs.field(factory=dict, init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        require_aware("as_of", self.as_of)
        n = len(self.customer_ids)
        frozen: dict[str, AnyArray] = {}
        for name, values in dict(self.columns).items():
            arr = np.asarray(values)
            if arr.ndim != 1 or len(arr) != n:
                raise ValidationError(
                    f"columns[{name!r}]", f"shape {arr.shape}", f"one value per customer ({n})"
                )
            frozen[name] = _freeze(arr)
        object.__setattr__(self, "columns", frozen)

    # -- mapping-like reading ---------------------------------------------------------
    def __getitem__(self, name: str) -> AnyArray:
        try:
            return self.columns[name]
        except (KeyError, TypeError):
            raise ValidationError(
                "features", name, f"one of the computed features {list(self.names)}"
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self.columns

    def __len__(self) -> int:
        return len(self.customer_ids)

    def __repr__(self) -> str:
        return (
            f"CustomerFeatures(customers={len(self)}, features={len(self.columns)}, "
            f"as_of={self.as_of.isoformat()!r}, currency={self.currency!r})"
        )

    @property
    def names(self) -> tuple[str, ...]:
        """The feature names, in column order."""
        return tuple(self.columns)

    def to_dict(self) -> dict[str, AnyArray]:
        """``{name: column}`` (the read-only arrays themselves)."""
        return dict(self.columns)

    def select(self, *names: str) -> CustomerFeatures:
        """A table with only ``names`` (in that order).

        Raises:
            ValidationError: a name that was not computed.
        """
        wanted = names[0] if len(names) == 1 and not isinstance(names[0], str) else names
        return attrs.evolve(self, columns={n: self[n] for n in wanted})

    def index_of(self, customer_id: Any) -> int:
        """The row of ``customer_id``.

        Raises:
            NotFound: the customer is not in the index.
        """
        positions = self._positions
        if not positions and len(self):
            positions.update((x, i) for i, x in enumerate(self.customer_ids.tolist()))
        key = customer_id.item() if isinstance(customer_id, np.generic) else customer_id
        try:
            return positions[key]
        except (KeyError, TypeError):
            raise NotFound("customer", customer_id) from None

    def codes_of(self, customer_ids: Any) -> I64:
        """The rows of many ids at once, ``-1`` for ids not in the index."""
        ids = np.asarray(customer_ids)
        if ids.dtype.kind in "iu" and self.customer_ids.dtype.kind == "i":
            order = np.argsort(self.customer_ids, kind="stable")
            sorted_ids = self.customer_ids[order]
            at = np.minimum(np.searchsorted(sorted_ids, ids), max(len(order) - 1, 0))
            if len(order) == 0:
                return np.full(len(ids), -1, dtype=np.int64)
            return np.where(sorted_ids[at] == ids, order[at], -1).astype(np.int64)
        out = np.empty(len(ids), dtype=np.int64)
        for i, x in enumerate(ids.tolist()):
            try:
                out[i] = self.index_of(x)
            except NotFound:
                out[i] = -1
        return out

    def row(self, customer_id: Any) -> dict[str, Any]:
        """One customer's features as plain Python values (for explanations).

        Raises:
            NotFound: the customer is not in the index.
        """
        i = self.index_of(customer_id)
        return {name: col[i].item() for name, col in self.columns.items()}

    # -- exporting --------------------------------------------------------------------
    def to_pandas(self) -> Any:
        """A pandas DataFrame indexed by ``customer_id``; time features as
        ``datetime64[us, UTC]`` (NaT when missing)."""
        from custmgmt.analytics.frames import _require

        pd = _require("pandas")
        data: dict[str, Any] = {}
        for name, col in self.columns.items():
            if name in _TIME_FEATURES:
                data[name] = pd.Series(col.view("datetime64[us]")).dt.tz_localize(UTC).array
            else:
                data[name] = col
        index = pd.Index(np.asarray(self.customer_ids), name="customer_id")
        return pd.DataFrame(data, index=index)

    def to_polars(self) -> Any:
        """A polars DataFrame whose first column is ``customer_id``."""
        from custmgmt.analytics.frames import _require

        pl = _require("polars")
        ids = np.asarray(self.customer_ids)
        series = [pl.Series("customer_id", ids.tolist() if ids.dtype == object else ids)]
        for name, col in self.columns.items():
            if name in _TIME_FEATURES:
                s = pl.Series(name, np.asarray(col)).cast(pl.Datetime("us"))
                s = s.set(pl.Series(np.asarray(col) == MISSING_TIME), None)
                series.append(s.dt.replace_time_zone("UTC"))
            else:
                series.append(pl.Series(name, np.asarray(col)))
        return pl.DataFrame(series)

    def _repr_html_(self, max_rows: int = 10) -> str:
        head = "".join(f"<th>{html.escape(n)}</th>" for n in ("customer_id", *self.names))
        body = []
        for i in range(min(len(self), max_rows)):
            cells = [self.customer_ids[i], *(col[i] for col in self.columns.values())]
            body.append(
                "<tr>" + "".join(f"<td>{html.escape(_fmt(c))}</td>" for c in cells) + "</tr>"
            )
        more = f"<p>{len(self) - max_rows} more customers</p>" if len(self) > max_rows else ""
        caption = html.escape(
            f"{len(self)} customers × {len(self.columns)} features as of {self.as_of.isoformat()}"
            + (f", money in {self.currency} minor units" if self.currency else "")
        )
        return (
            f"<table><caption>{caption}</caption><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>{more}"
        )


def _fmt(value: Any) -> str:
    if isinstance(value, (float, np.floating)):
        return "NaN" if math.isnan(value) else f"{value:.4g}"
    return str(value)


# -- computing ----------------------------------------------------------------------------
def _align(
    orders: OrderFrame | None, interactions: InteractionFrame | None
) -> tuple[AnyArray, AnyArray | None]:
    """One customer index for both frames: (ids, interaction codes on it).

    The orders' codes never change: their ids always come first.
    """
    if orders is None:
        assert interactions is not None
        return interactions.customer_ids, interactions.customer_code
    if interactions is None:
        return orders.customer_ids, None
    o_ids, i_ids = orders.customer_ids, interactions.customer_ids
    if len(i_ids) >= len(o_ids) and np.array_equal(i_ids[: len(o_ids)], o_ids):
        return i_ids, interactions.customer_code
    if len(o_ids) > len(i_ids) and np.array_equal(o_ids[: len(i_ids)], i_ids):
        return o_ids, interactions.customer_code
    ids, remap = map_onto_index(i_ids, o_ids, "interactions.customer_ids")
    return ids, remap[interactions.customer_code]


def _block_rows(n_customers: int) -> int:
    """Rows per block of a scan that adds a per-customer ``bincount`` per block: at
    least :data:`CHUNK`, and at least the customers, so the ``n_customers`` cells each
    block adds cost O(1) per row. (Blocks of CHUNK rows alone made these scans
    quadratic: 1e8 orders of 1e7 customers would add 381 tables of 1e7 cells.)"""
    return max(CHUNK, n_customers)


class _Orders:
    """Order aggregates for one ``as_of``, each computed on first use only.

    Rows are scanned in blocks of :data:`CHUNK` so that no full-length temporary is
    made for masks, compressed columns or float weights: the extra memory of a
    feature is its per-customer output (plus, for the purchase-cycle features, the
    gaps themselves). ``window_days`` lists every window boundary the requested
    features need, so one pass buckets the rows for all trailing windows; ``names``
    are the features that will be asked for (an engine that aggregates several at
    once, :class:`_PolarsOrders`, reads them).
    """

    def __init__(
        self,
        frame: OrderFrame,
        n: int,
        limit: int,
        window_days: Iterable[int] = (),
        names: Iterable[str] = (),
    ) -> None:
        self.frame = frame
        self.names = frozenset(names)
        self.codes = frame.customer_code
        self.n = n
        self.limit = limit
        self.window_days = tuple(sorted(set(window_days), reverse=True))
        t = frame.placed_at
        self.any_late = bool(len(t)) and int(t.max()) > limit
        self.any_cancelled = bool((frame.status == _CANCELLED).any())

    def blocks(self, cancelled: bool = False) -> Iterator[tuple[slice, AnyArray | None]]:
        """(rows, mask of counted rows or None for all) per block; with
        ``cancelled=True`` the mask selects cancelled rows up to ``as_of`` instead."""
        frame = self.frame
        step = _block_rows(self.n)
        for start in range(0, len(frame), step):
            rows = slice(start, min(start + step, len(frame)))
            mask: AnyArray | None = None
            if self.any_late:
                mask = frame.placed_at[rows] <= self.limit
            if cancelled:
                is_cancelled = frame.status[rows] == _CANCELLED
                mask = is_cancelled if mask is None else mask & is_cancelled
            elif self.any_cancelled:
                kept = frame.status[rows] != _CANCELLED
                mask = kept if mask is None else mask & kept
            yield rows, mask

    def _count(self, extra: Any = None, cancelled: bool = False) -> I64:
        out = np.zeros(self.n, dtype=np.int64)
        for rows, mask in self.blocks(cancelled):
            codes = self.codes[rows]
            if extra is not None:
                flag = extra(rows)
                mask = flag if mask is None else mask & flag
            if mask is not None:
                codes = codes[mask]
            out += np.bincount(codes, minlength=self.n)
        return out

    def _sum(self, column: AnyArray) -> I64:
        total = np.zeros(self.n)
        for rows, mask in self.blocks():
            codes, values = self.codes[rows], column[rows]
            nonzero = values != 0
            if np.count_nonzero(nonzero) * 2 < len(values):
                # A mostly-zero column (refunds): only its other rows reach the
                # customer table, one random access each, which dominates the scan
                # once the table outgrows the caches. Adding 0.0 changes no float
                # sum, so the result is the same to the bit.
                mask = nonzero if mask is None else mask & nonzero
            if mask is not None:
                codes, values = codes[mask], values[mask]
            total += np.bincount(codes, weights=values, minlength=self.n)
        return np.rint(total).astype(np.int64)

    # -- simple aggregates ------------------------------------------------------------
    @cached_property
    def frequency(self) -> I64:
        return self._count()

    @cached_property
    def monetary_total(self) -> I64:
        return self._sum(self.frame.amount)

    @cached_property
    def returned_total(self) -> I64:
        return self._sum(self.frame.returned_amount)

    @cached_property
    def monetary_net(self) -> I64:
        return self.monetary_total - self.returned_total

    @cached_property
    def first_last(self) -> tuple[I64, I64]:
        first = np.full(self.n, np.iinfo(np.int64).max, dtype=np.int64)
        last = np.full(self.n, MISSING_TIME, dtype=np.int64)
        for rows, mask in self.blocks():
            codes, times = self.codes[rows], self.frame.placed_at[rows]
            if mask is not None:
                codes, times = codes[mask], times[mask]
            np.minimum.at(first, codes, times)
            np.maximum.at(last, codes, times)
        first[last == MISSING_TIME] = MISSING_TIME
        return first, last

    @property
    def first(self) -> I64:
        return self.first_last[0]

    @property
    def last(self) -> I64:
        return self.first_last[1]

    def days_since(self, times: I64) -> F64:
        out = np.full(self.n, np.nan)
        has = times != MISSING_TIME
        out[has] = (self.limit - times[has]) / DAY_US
        return out

    @cached_property
    def cancelled_count(self) -> I64:
        if not self.any_cancelled:
            return np.zeros(self.n, dtype=np.int64)
        return self._count(cancelled=True)

    @cached_property
    def returned_orders(self) -> I64:
        frame = self.frame

        def returned(rows: slice) -> AnyArray:
            flag: AnyArray = (frame.returned_amount[rows] > 0) | np.isin(
                frame.status[rows], _RETURNED
            )
            return flag

        return self._count(returned)

    # -- the customer's own purchase cycle: one (customer, time) ordering -------------
    @cached_property
    def gaps(self) -> I64:
        """Gaps in µs between consecutive counted orders, customer by customer (in
        code order): customer ``c`` owns ``gap_counts[c]`` consecutive entries. The
        codes are not stored; blocks rebuild them from the counts."""
        frame = self.frame
        sorted_times, sorted_cancelled = frame._by_customer_time()
        per_customer = np.bincount(self.codes, minlength=frame.n_customers)
        ends = np.cumsum(per_customer)
        n_rows = len(sorted_times)
        gaps = np.empty(n_rows, dtype=np.int64)
        filled = 0
        previous_code, previous_time = -1, 0
        for start in range(0, n_rows, CHUNK):
            stop = min(start + CHUNK, n_rows)
            codes = _codes_between(ends, per_customer, start, stop)
            times = sorted_times[start:stop]
            keep: AnyArray | None = None
            if self.any_late:
                keep = times <= self.limit
            if sorted_cancelled is not None:
                kept = ~sorted_cancelled[start:stop]
                keep = kept if keep is None else keep & kept
            if keep is not None:
                codes, times = codes[keep], times[keep]
            if len(codes) == 0:
                continue
            # Carry the last counted order of the previous block across the seam.
            codes = np.concatenate([np.array([previous_code], dtype=codes.dtype), codes])
            times = np.concatenate([np.array([previous_time], dtype=np.int64), times])
            same = codes[1:] == codes[:-1]
            k = int(same.sum())
            gaps[filled : filled + k] = np.diff(times)[same]
            filled += k
            previous_code, previous_time = int(codes[-1]), int(times[-1])
        return gaps[:filled]

    @cached_property
    def gap_counts(self) -> I64:
        return np.maximum(self.frequency - 1, 0)

    @cached_property
    def mean_gap_us(self) -> F64:
        f = self.frequency
        out = np.full(self.n, np.nan)
        many = f >= 2
        first, last = self.first_last
        out[many] = (last[many] - first[many]) / (f[many] - 1)
        return out

    @cached_property
    def interval_std(self) -> F64:
        gaps = self.gaps
        counts = self.gap_counts
        ends = np.cumsum(counts)
        mean = self.mean_gap_us
        squares = np.zeros(self.n)
        # Blocks of whole customers (about CHUNK gaps each): a customer's squares are
        # summed by one bincount, in gap order, so the float result does not depend on
        # where blocks (or the partitions of the partitioned engine) fall.
        starts = ends - counts
        step = _block_rows(self.n)
        cuts = np.unique(np.searchsorted(starts, np.arange(0, len(gaps), step), side="right"))
        seams = [int(starts[c]) if c < self.n else len(gaps) for c in cuts.tolist()[1:]]
        for start, stop in itertools.pairwise([0, *seams, len(gaps)]):
            if start == stop:
                continue
            codes = _codes_between(ends, counts, start, stop)
            deviation = gaps[start:stop] - mean[codes]
            squares += np.bincount(codes, weights=deviation * deviation, minlength=self.n)
        f = self.frequency
        out = np.full(self.n, np.nan)
        many = f >= 2
        out[many] = np.sqrt(squares[many] / (f[many] - 1)) / DAY_US
        return out

    @cached_property
    def interval_median(self) -> F64:
        gaps = self.gaps
        out = np.full(self.n, np.nan)
        if len(gaps) == 0:
            return out
        counts = self.gap_counts
        starts = segment_starts(counts)
        # Whole customers per block of about CHUNK gaps: the sort keys stay small, and
        # with few customers per block (code, gap) usually fits one values-only key.
        cuts = np.unique(np.searchsorted(starts, np.arange(0, len(gaps), CHUNK), side="right") - 1)
        bounds = [*cuts.tolist(), self.n]
        for first, end in itertools.pairwise(bounds):
            a = int(starts[first])
            b = int(starts[end]) if end < self.n else len(gaps)
            if a == b:
                continue
            k = counts[first:end]
            local_codes = np.repeat(np.arange(end - first), k)
            ordered = sorted_within_groups(local_codes, end - first, gaps[a:b])
            has = k > 0
            s = starts[first:end][has] - a
            k = k[has]
            low = ordered[s + (k - 1) // 2].astype(np.float64)
            high = ordered[s + k // 2].astype(np.float64)
            out[first:end][has] = (low + high) / 2 / DAY_US
        return out

    @cached_property
    def category_breadth(self) -> I64:
        frame = self.frame
        k = max(len(frame.category_names), 1)
        line_blocks: list[tuple[AnyArray, AnyArray]] = []
        if frame.line_row is not None and frame.line_category is not None:
            line_rows = frame.line_row
            keep: AnyArray = np.ones(len(line_rows), dtype=bool)
            if self.any_late:
                keep &= frame.placed_at[line_rows] <= self.limit
            if self.any_cancelled:
                keep &= frame.status[line_rows] != _CANCELLED
            line_blocks.append((self.codes[line_rows[keep]], frame.line_category[keep]))

        def pair_blocks() -> Iterator[I64]:
            for rows, mask in self.blocks():
                codes, cats = self.codes[rows], frame.category[rows]
                if mask is not None:
                    codes, cats = codes[mask], cats[mask]
                yield _pair_keys(codes, cats, k)
            for codes, cats in line_blocks:
                yield _pair_keys(codes, cats, k)

        if self.n * k <= max(_BITMAP_CELLS_PER_ROW * len(frame), _BITMAP_MIN_CELLS):
            # A bitmap of (customer, category) pairs: no sort, no pair list.
            seen = np.zeros(self.n * k, dtype=bool)
            for key in pair_blocks():
                seen[key] = True
            breadth: I64 = seen.reshape(self.n, k).sum(axis=1, dtype=np.int64)
            return breadth
        # Otherwise one values-only sort of the packed pairs.
        every = np.concatenate([np.empty(0, dtype=np.int64), *pair_blocks()])
        every.sort()
        if len(every) == 0:
            return np.zeros(self.n, dtype=np.int64)
        new = np.empty(len(every), dtype=bool)
        new[0] = True
        np.not_equal(every[1:], every[:-1], out=new[1:])
        owners = every[new] // k
        return np.bincount(owners, minlength=self.n).astype(np.int64, copy=False)

    # -- trailing windows: every window from one bucketing pass ------------------------
    @cached_property
    def window_tables(self) -> tuple[AnyArray, AnyArray]:
        """Per customer, counted orders and net spend after each boundary.

        Column ``j`` covers ``(as_of - window_days[j] days, as_of]`` (boundaries in
        ``window_days`` order, widest first).
        """
        m = len(self.window_days)
        bounds = [self.limit - d * DAY_US for d in self.window_days]
        size = self.n * (m + 1)
        counts = np.zeros(size, dtype=np.int64)
        spend = np.zeros(size)
        frame = self.frame
        for rows, mask in self.blocks():
            codes, times = self.codes[rows], frame.placed_at[rows]
            net = frame.amount[rows] - frame.returned_amount[rows]
            if mask is not None:
                codes, times, net = codes[mask], times[mask], net[mask]
            # A row's bucket is how many boundaries lie before it: m comparisons are
            # cheaper than a binary search per row.
            key = codes.astype(np.int64) * (m + 1)
            for bound in bounds:
                key += times > bound
            counts += np.bincount(key, minlength=size)
            spend += np.bincount(key, weights=net, minlength=size)
        counts_2d = counts.reshape(self.n, m + 1)
        spend_2d = spend.reshape(self.n, m + 1)
        # A row of bucket b lies after boundaries 0..b-1: cumulate from the right.
        counts_after = np.cumsum(counts_2d[:, ::-1], axis=1)[:, ::-1]
        spend_after = np.cumsum(spend_2d[:, ::-1], axis=1)[:, ::-1]
        return counts_after[:, 1:], spend_after[:, 1:]

    def _after(self, days: int) -> tuple[AnyArray, AnyArray]:
        j = self.window_days.index(days)
        counts, spend = self.window_tables
        return counts[:, j], spend[:, j]

    def orders_in(self, days: int) -> I64:
        counts: I64 = np.ascontiguousarray(self._after(days)[0], dtype=np.int64)
        return counts

    def spend_in(self, days: int) -> I64:
        spend: I64 = np.rint(self._after(days)[1]).astype(np.int64)
        return spend

    def spend_between(self, start_days: int, end_days: int) -> I64:
        wide = self._after(start_days)[1]
        narrow = self._after(end_days)[1]
        spend: I64 = np.rint(wide - narrow).astype(np.int64)
        return spend

    def feature(self, name: str) -> AnyArray:
        if name in _ORDER_GETTERS:
            result: AnyArray = _ORDER_GETTERS[name](self)
            return result
        match = _WINDOWED.match(name)
        assert match is not None
        prefix, days = match.group(1), int(match.group(2))
        if prefix == "orders":
            return self.orders_in(days)
        if prefix == "spend":
            return self.spend_in(days)
        return self.spend_between(2 * days, days)


def _codes_between(ends: I64, sizes: I64, start: int, stop: int) -> I64:
    """The customer code of each position ``start..stop`` of the (customer, time)
    order, given each customer's end position and size: a ``repeat`` of just the
    customers overlapping the block."""
    first = int(np.searchsorted(ends, start, side="right"))
    last = int(np.searchsorted(ends, stop - 1, side="right"))
    customers = np.arange(first, last + 1)
    begin = np.maximum(ends[first : last + 1] - sizes[first : last + 1], start)
    end = np.minimum(ends[first : last + 1], stop)
    return np.repeat(customers, end - begin)


def _pair_keys(codes: AnyArray, cats: AnyArray, k: int) -> I64:
    """Packed ``code * k + category`` of the rows that have a category.

    int64, not uint64: numpy indexes with int64 directly, while uint64 indices are
    converted first (twice the time of marking the bitmap). Codes and categories are
    below 2**31, so the key fits.
    """
    has = cats >= 0
    if not has.all():
        codes, cats = codes[has], cats[has]
    key = codes.astype(np.int64)
    key *= k
    np.add(key, cats, out=key, casting="unsafe")  # any integer dtype of category codes
    return key


def _order_window_days(names: Iterable[str]) -> set[int]:
    days: set[int] = set()
    for name in names:
        match = _WINDOWED.match(name)
        if match is None:
            continue
        prefix, n = match.group(1), int(match.group(2))
        if prefix in ("orders", "spend"):
            days.add(n)
        elif prefix == "spend_prev":
            days.update((n, 2 * n))
    return days


_ORDER_GETTERS: dict[str, Any] = {
    "frequency": lambda o: o.frequency,
    "recency": lambda o: o.days_since(o.last),
    "tenure": lambda o: o.days_since(o.first),
    "first_purchase": lambda o: o.first,
    "last_purchase": lambda o: o.last,
    "monetary_total": lambda o: o.monetary_total,
    "monetary_net": lambda o: o.monetary_net,
    "returned_total": lambda o: o.returned_total,
    "monetary_mean": lambda o: _ratio(o.monetary_total, o.frequency),
    "aov": lambda o: _ratio(o.monetary_net, o.frequency),
    "return_rate": lambda o: _ratio(o.returned_orders, o.frequency),
    "cancelled_count": lambda o: o.cancelled_count,
    "cancellation_rate": lambda o: _ratio(o.cancelled_count, o.frequency + o.cancelled_count),
    "interval_mean": lambda o: o.mean_gap_us / DAY_US,
    "interval_median": lambda o: o.interval_median,
    "interval_std": lambda o: o.interval_std,
    "category_breadth": lambda o: o.category_breadth,
}

#: The columns of an OrderFrame besides the customer codes.
ORDER_COLUMNS = ("placed_at", "amount", "returned_amount", "status", "category")
_TIMES, _MONEY = ("placed_at",), ("amount", "returned_amount")
#: What each order feature reads besides the customer codes and the masks (``placed_at``
#: for late rows, ``status`` for cancelled ones): the partitioned engine moves only
#: these columns into each partition. Keep it in step with ``_ORDER_GETTERS``; a name
#: missing here is taken to read every column.
_ORDER_READS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "frequency": (),
        "recency": _TIMES,
        "tenure": _TIMES,
        "first_purchase": _TIMES,
        "last_purchase": _TIMES,
        "monetary_total": _MONEY,
        "monetary_net": _MONEY,
        "returned_total": _MONEY,
        "monetary_mean": _MONEY,
        "aov": _MONEY,
        "return_rate": (*_MONEY, "status"),
        "cancelled_count": ("status",),
        "cancellation_rate": ("status",),
        "interval_mean": (*_TIMES, "status"),
        "interval_median": (*_TIMES, "status"),
        "interval_std": (*_TIMES, "status"),
        "category_breadth": ("category",),
        "orders": _TIMES,  # windowed: orders_{N}d
        "spend": (*_TIMES, *_MONEY),  # spend_{N}d
        "spend_prev": (*_TIMES, *_MONEY),  # spend_prev_{N}d
    }
)


#: The aggregates of :class:`_Orders` that each order feature needs and that read no
#: other aggregate, so that they can be computed side by side on threads
#: (:func:`_features_on_threads`). Keep it in step with ``_ORDER_GETTERS``; a name
#: missing here is only computed later, on the calling thread.
_ORDER_LEAVES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "frequency": ("frequency",),
        "recency": ("first_last",),
        "tenure": ("first_last",),
        "first_purchase": ("first_last",),
        "last_purchase": ("first_last",),
        "monetary_total": ("monetary_total",),
        "monetary_net": ("monetary_total", "returned_total"),
        "returned_total": ("returned_total",),
        "monetary_mean": ("monetary_total", "frequency"),
        "aov": ("monetary_total", "returned_total", "frequency"),
        "return_rate": ("returned_orders", "frequency"),
        "cancelled_count": ("cancelled_count",),
        "cancellation_rate": ("cancelled_count", "frequency"),
        "interval_mean": ("frequency", "first_last"),
        "interval_median": ("frequency", "first_last"),
        "interval_std": ("frequency", "first_last"),
        "category_breadth": ("category_breadth",),
        "orders": ("window_tables",),  # windowed: orders_{N}d, spend_{N}d, spend_prev_{N}d
    }
)
#: Costliest first, so that the last aggregate to start is a short one.
_LEAVES_BY_COST = (
    "category_breadth",
    "window_tables",
    "monetary_total",
    "first_last",
    "frequency",
    "returned_orders",
    "returned_total",
    "cancelled_count",
)
#: Below this many rows the threads' start-up costs more than the overlap saves.
SIDE_BY_SIDE_MIN_ROWS = 1 << 17


def _order_leaves(name: str) -> tuple[str, ...]:
    if name in _ORDER_LEAVES:
        return _ORDER_LEAVES[name]
    match = _WINDOWED.match(name)
    if match is not None and match.group(1) in ("orders", "spend", "spend_prev"):
        return _ORDER_LEAVES["orders"]
    return ()


def _compute_side_by_side(part: _Orders, names: Iterable[str], threads: int) -> None:
    """Fill ``part``'s cached aggregates that ``names`` need, on up to ``threads``
    threads. Each is a scan of every row into a per-customer table; ``bincount`` and
    the bitmap's fancy indexing release the GIL, and with millions of customers the
    scans wait on memory, so two of them at once overlap their cache misses."""
    wanted = {leaf for name in names for leaf in _order_leaves(name)}
    leaves = [leaf for leaf in _LEAVES_BY_COST if leaf in wanted]
    if len(leaves) < 2 or len(part.frame) < SIDE_BY_SIDE_MIN_ROWS:
        return
    with ThreadPoolExecutor(max_workers=min(threads, len(leaves))) as pool:
        for _ in pool.map(lambda leaf: getattr(part, leaf), leaves):
            pass


def order_columns_read(names: Iterable[object] | None) -> frozenset[str]:
    """The :data:`ORDER_COLUMNS` the features ``names`` read, besides those that leave
    rows out (``placed_at`` and ``status``; see :func:`order_columns_masking`). None
    (the default feature set) or an unknown name reads every column; interaction
    features read none.

    >>> sorted(order_columns_read(["frequency", "monetary_net", "complaint_90d"]))
    ['amount', 'returned_amount']
    """
    if names is None:
        return frozenset(ORDER_COLUMNS)
    read: set[str] = set()
    for name in names:
        if not isinstance(name, str):
            return frozenset(ORDER_COLUMNS)  # not a name: the features' own check says so
        match = _WINDOWED.match(name) if name not in _ORDER_READS else None
        key = match.group(1) if match is not None else name
        if key in _ORDER_READS:
            read.update(_ORDER_READS[key])
        elif name in FEATURES and FEATURES[name].source == "interactions":
            continue
        elif match is not None and key not in ("orders", "spend", "spend_prev"):
            continue  # an interaction kind's window: {kind}_{N}d
        else:
            return frozenset(ORDER_COLUMNS)
    return frozenset(read)


def order_columns_masking(frame: OrderFrame, as_of: datetime) -> frozenset[str]:
    """The columns that leave rows of ``frame`` out at ``as_of``: ``placed_at`` when an
    order is placed after it, ``status`` when an order is cancelled.

    Raises:
        ValidationError: ``as_of`` is not a timezone-aware datetime.
    """
    limit = to_epoch_micros(require_aware("as_of", as_of))
    masking: set[str] = set()
    if len(frame) and int(frame.placed_at.max()) > limit:
        masking.add("placed_at")
    if bool((frame.status == _CANCELLED).any()):
        masking.add("status")
    return frozenset(masking)


class _Interactions:
    """Interaction aggregates for one ``as_of``, scanning rows in blocks."""

    def __init__(
        self, frame: InteractionFrame, codes: AnyArray, n: int, limit: int, names: Iterable[str]
    ) -> None:
        self.frame = frame
        self.codes = codes
        self.n = n
        self.limit = limit
        self.any_late = bool(len(frame.at)) and int(frame.at.max()) > limit
        # Trailing-window requests: days -> [(kind code, feature name)].
        self.requests: dict[int, list[tuple[int, str]]] = {}
        for name in names:
            match = _WINDOWED.match(name)
            if match is not None and match.group(1) in _KIND_VALUES:
                days = int(match.group(2))
                self.requests.setdefault(days, []).append((_KIND_VALUES[match.group(1)], name))

    def blocks(self) -> Iterator[tuple[slice, AnyArray | None]]:
        step = _block_rows(self.n)
        for start in range(0, len(self.frame), step):
            rows = slice(start, min(start + step, len(self.frame)))
            yield rows, (self.frame.at[rows] <= self.limit) if self.any_late else None

    def _count(self, select: Any) -> I64:
        out = np.zeros(self.n, dtype=np.int64)
        for rows, mask in self.blocks():
            flag = select(rows)
            if mask is not None:
                flag &= mask
            out += np.bincount(self.codes[rows][flag], minlength=self.n)
        return out

    def _is_review(self, rows: slice) -> AnyArray:
        flag: AnyArray = self.frame.kind[rows] == _REVIEW
        return flag

    def _is_complaint(self, rows: slice) -> AnyArray:
        flag: AnyArray = self.frame.kind[rows] == _COMPLAINT
        return flag

    @cached_property
    def windowed(self) -> dict[str, I64]:
        """Every requested ``{kind}_{N}d`` column: one pass over the rows per window."""
        out: dict[str, I64] = {}
        n_kinds = len(KIND_CODES)
        frame = self.frame
        for days, wanted in self.requests.items():
            local = np.full(n_kinds, -1, dtype=np.int64)
            kinds = sorted({kind for kind, _ in wanted})
            local[kinds] = np.arange(len(kinds))
            width = len(kinds)
            table = np.zeros(self.n * width, dtype=np.int64)
            bound = self.limit - days * DAY_US
            for rows, mask in self.blocks():
                inside = frame.at[rows] > bound
                if mask is not None:
                    inside &= mask
                slot = local[frame.kind[rows][inside]]
                ok = slot >= 0
                key = self.codes[rows][inside][ok].astype(np.int64) * width + slot[ok]
                table += np.bincount(key, minlength=self.n * width)
            grid = table.reshape(self.n, width)
            for kind, name in wanted:
                out[name] = np.ascontiguousarray(grid[:, int(local[kind])])
            del table, grid
        return out

    def feature(self, name: str) -> AnyArray:
        if name == "review_count":
            return self._count(self._is_review)
        if name == "review_mean":
            total = np.zeros(self.n)
            for rows, mask in self.blocks():
                rating = self.frame.rating[rows]
                rated = self._is_review(rows) & (rating > 0)
                if mask is not None:
                    rated &= mask
                total += np.bincount(
                    self.codes[rows][rated], weights=rating[rated], minlength=self.n
                )

            def rated_reviews(rows: slice) -> AnyArray:
                flag: AnyArray = self._is_review(rows) & (self.frame.rating[rows] > 0)
                return flag

            return _ratio(total, self._count(rated_reviews))
        if name == "complaint_count":
            return self._count(self._is_complaint)
        if name == "complaint_unresolved":

            def unresolved(rows: slice) -> AnyArray:
                flag: AnyArray = self._is_complaint(rows) & ~self.frame.resolved[rows]
                return flag

            return self._count(unresolved)
        return self.windowed[name]


# -- the polars engine: the same features, polars aggregating ----------------------------
#: The order aggregates (polars_engine.order_aggregates) each feature reads.
_POLARS_AGGREGATES: dict[str, tuple[str, ...]] = {
    "monetary_total": ("monetary_total",),
    "monetary_net": ("monetary_total", "returned_total"),
    "returned_total": ("returned_total",),
    "monetary_mean": ("monetary_total", "frequency"),
    "aov": ("monetary_total", "returned_total", "frequency"),
    "recency": ("last",),
    "last_purchase": ("last",),
    "tenure": ("first",),
    "first_purchase": ("first",),
    "interval_mean": ("first", "last", "frequency"),
    "return_rate": ("returned_orders", "frequency"),
}


class _PolarsOrders(_Orders):
    """:class:`_Orders` whose per-customer aggregations run as polars queries
    (:mod:`custmgmt.analytics.polars_engine`). Every feature is derived from them by
    the inherited code, so both engines share the definitions and the float
    arithmetic; what is not overridden here would be computed by numpy."""

    @cached_property
    def computed(self) -> dict[str, AnyArray]:
        return {}

    def aggregate(self, key: str) -> AnyArray:
        """One of :func:`polars_engine.order_aggregates`' columns. The first call
        computes, in one query, every aggregate the requested names need."""
        if key not in self.computed:
            wanted = {key}
            for name in self.names:
                wanted.update(_POLARS_AGGREGATES.get(name, ()))
            self.computed.update(
                polars_engine.order_aggregates(
                    self.frame,
                    self.n,
                    self.limit,
                    self.window_days if "window_counts" not in self.computed else (),
                    wanted=wanted,
                )
            )
        return self.computed[key]

    @cached_property
    def frequency(self) -> I64:
        return self.aggregate("frequency")

    @cached_property
    def monetary_total(self) -> I64:
        return self.aggregate("monetary_total")

    @cached_property
    def returned_total(self) -> I64:
        return self.aggregate("returned_total")

    @cached_property
    def first_last(self) -> tuple[I64, I64]:
        return self.aggregate("first"), self.aggregate("last")

    @cached_property
    def returned_orders(self) -> I64:
        return self.aggregate("returned_orders")

    @cached_property
    def cancelled_count(self) -> I64:
        return polars_engine.cancelled_counts(self.frame, self.n, self.limit)

    @cached_property
    def window_tables(self) -> tuple[AnyArray, AnyArray]:
        # Float spend, as the numpy engine's bincount gives it (exact below 2**53).
        spend = self.aggregate("window_spend").astype(np.float64)
        return self.aggregate("window_counts"), spend

    @cached_property
    def gap_statistics(self) -> tuple[F64, F64, F64]:
        return polars_engine.gap_statistics(self.frame, self.n, self.limit)

    @cached_property
    def interval_median(self) -> F64:
        low, high, _ = self.gap_statistics
        median: F64 = (low + high) / 2 / DAY_US
        return median

    @cached_property
    def interval_std(self) -> F64:
        squares = self.gap_statistics[2]
        f = self.frequency
        out = np.full(self.n, np.nan)
        many = f >= 2
        out[many] = np.sqrt(squares[many] / (f[many] - 1)) / DAY_US
        return out

    @cached_property
    def category_breadth(self) -> I64:
        return polars_engine.category_breadth(self.frame, self.n, self.limit)


class _PolarsInteractions(_Interactions):
    """:class:`_Interactions` aggregated by one polars query."""

    def __init__(
        self, frame: InteractionFrame, codes: AnyArray, n: int, limit: int, names: Iterable[str]
    ) -> None:
        names = tuple(names)
        super().__init__(frame, codes, n, limit, names)
        self.windows = [
            (name, kind, days) for days, wanted in self.requests.items() for kind, name in wanted
        ]

    @cached_property
    def counts(self) -> dict[str, I64]:
        return polars_engine.interaction_counts(
            self.frame, self.codes, self.n, self.limit, self.windows
        )

    def feature(self, name: str) -> AnyArray:
        counts = self.counts
        if name == "review_mean":
            return _ratio(counts["rating_sum"].astype(np.float64), counts["rated_count"])
        return counts[name]


#: Engine name -> (order aggregates, interaction aggregates).
_ENGINES: dict[str, tuple[type[_Orders], type[_Interactions]]] = {
    "numpy": (_Orders, _Interactions),
    "polars": (_PolarsOrders, _PolarsInteractions),
}
#: The engines of :func:`customer_features` (``engine=``); ``"numpy"`` is the default.
ENGINES: tuple[str, ...] = tuple(_ENGINES)


def _ratio(numerator: AnyArray, denominator: AnyArray) -> F64:
    out = np.full(len(denominator), np.nan)
    has = denominator > 0
    out[has] = numerator[has] / denominator[has]
    return out


def customer_features(
    orders: OrderFrame | None,
    interactions: InteractionFrame | None = None,
    *,
    as_of: datetime,
    features: Iterable[str] | None = None,
    windows: Sequence[int] = DEFAULT_WINDOWS,
    engine: str = "numpy",
) -> CustomerFeatures:
    """Compute per-customer features as of ``as_of`` (see the module docstring).

    Args:
        orders: the orders (None when only interaction features are wanted).
        interactions: the interactions, ideally built with ``customer_index=orders``;
            otherwise the two indexes are merged (orders' ids first).
        as_of: an aware datetime; later rows are ignored.
        features: the names to compute (default: :func:`feature_names` for the frames
            given). Windowed names work for any number of days.
        windows: the trailing windows of the default set, in days.
        engine: ``"numpy"`` (the default and the reference) or ``"polars"``: the
            same features, equal value for value, aggregated by polars on its own
            threads (needs the ``polars`` extra; see
            :mod:`custmgmt.analytics.polars_engine`).

    Returns:
        A :class:`CustomerFeatures` with the columns in the order requested.

    Raises:
        ValidationError: a naive ``as_of``; an unknown feature name; an interaction
            feature without interactions (or an order feature without orders); frames
            of the wrong type; ids of different types in the two frames; an unknown
            ``engine``.
        MissingDependency: ``engine="polars"`` without polars installed.
    """
    return _features_on_threads(
        orders, interactions, as_of=as_of, features=features, windows=windows,
        engine=engine, threads=1,
    )


def _features_on_threads(
    orders: OrderFrame | None,
    interactions: InteractionFrame | None = None,
    *,
    as_of: datetime,
    features: Iterable[str] | None = None,
    windows: Sequence[int] = DEFAULT_WINDOWS,
    engine: str = "numpy",
    threads: int = 1,
) -> CustomerFeatures:
    """:func:`customer_features` with the independent order aggregates it needs (the
    counts, the money sums, the category bitmap, ...) computed side by side on up to
    ``threads`` threads: the every-core engine's path when splitting the rows into
    partitions would cost more than it saves. The same result, bit for bit: each
    aggregate is computed by the same code, only at the same time as the others."""
    require_aware("as_of", as_of)
    if not isinstance(engine, str) or engine not in _ENGINES:
        raise ValidationError("engine", engine, f"one of {', '.join(map(repr, ENGINES))}")
    order_kind, interaction_kind = _ENGINES[engine]
    if engine == "polars":
        polars_engine.load_polars()  # a missing extra fails here, before any work
    days = _check_windows(windows)
    if orders is not None and not isinstance(orders, OrderFrame):
        raise ValidationError("orders", type(orders).__name__, "an OrderFrame or None")
    if interactions is not None and not isinstance(interactions, InteractionFrame):
        raise ValidationError(
            "interactions", type(interactions).__name__, "an InteractionFrame or None"
        )
    if orders is None and interactions is None:
        raise ValidationError("orders", None, "an OrderFrame and/or an InteractionFrame")
    if features is None:
        names = feature_names(
            days, orders=orders is not None, interactions=interactions is not None
        )
    else:
        if isinstance(features, str):
            raise ValidationError(
                "features", features, "a sequence of feature names, not one string"
            )
        names = tuple(dict.fromkeys(features))
    specs = [describe_feature(name) for name in names]
    for spec in specs:
        if spec.source == "orders" and orders is None:
            raise ValidationError("features", spec.name, "an OrderFrame to compute order features")
        if spec.source == "interactions" and interactions is None:
            raise ValidationError(
                "features", spec.name, "an InteractionFrame to compute interaction features"
            )
    customer_ids, interaction_codes = _align(orders, interactions)
    n = len(customer_ids)
    limit = to_epoch_micros(as_of)
    order_part = (
        order_kind(orders, n, limit, _order_window_days(names), names)
        if orders is not None and any(s.source == "orders" for s in specs)
        else None
    )
    interaction_part = (
        interaction_kind(interactions, interaction_codes, n, limit, names)
        if interactions is not None
        and interaction_codes is not None
        and any(s.source == "interactions" for s in specs)
        else None
    )
    if threads > 1 and type(order_part) is _Orders:
        _compute_side_by_side(order_part, names, threads)
    columns: dict[str, AnyArray] = {}
    for spec in specs:
        part: Any = order_part if spec.source == "orders" else interaction_part
        columns[spec.name] = part.feature(spec.name)
    return CustomerFeatures(
        customer_ids=customer_ids,
        columns=columns,
        as_of=as_of,
        currency=orders.currency if orders is not None else None,
        windows=days,
    )
