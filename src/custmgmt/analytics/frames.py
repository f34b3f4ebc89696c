"""Immutable columnar frames of orders and interactions, without requiring pandas.

A frame is a bundle of read-only numpy arrays, one row per order
(:class:`OrderFrame`) or per interaction (:class:`InteractionFrame`), plus a dense
*customer index*: ``customer_code[i]`` is the row's customer as an integer code and
``customer_ids[code]`` the original id (int64 when the ids given were integers, ``str``
otherwise). Analytics group on the codes with ``np.bincount`` instead of hashing ids.

Conventions:

* Time is int64 microseconds since the epoch, UTC.
* Money is int64 *minor units* (fen, cents) of ONE currency, ``frame.currency``.
  Rows in other currencies are refused unless conversion ``rates`` are given (currency
  code -> ``Decimal`` rate into the frame currency); the amount is converted exactly and
  rounded half-even to the minor unit.
* One row per **order**. ``category`` is the order's main category (for orders read
  from a store: the category of the line with the largest subtotal, the first such line
  on ties); multi-category orders also list every (row, category) pair in
  ``line_row``/``line_category``, which category breadth uses when present.
* Status codes index :data:`STATUS_CODES` (``tuple(OrderStatus)``); when no status is
  given every order is ``delivered``. Interaction kinds index :data:`KIND_CODES`,
  complaint categories :data:`COMPLAINT_CATEGORY_CODES` (``-1`` = none).
* Customer index: without ``customer_index=`` it is the distinct ids sorted ascending;
  with ``customer_index=X`` (a frame, a ``CustomerFeatures`` or a sequence of ids) it is
  X's ids in X's order followed by the ids X lacks, sorted. Building the interactions
  with ``customer_index=orders`` keeps the order codes and adds the people who
  interacted but never ordered.

>>> import numpy as np
>>> orders = OrderFrame.from_arrays(
...     customer_id=np.array([30, 10, 30]),
...     placed_at=np.array(["2024-01-05", "2024-02-01", "2024-03-09"], dtype="datetime64[D]"),
...     amount=np.array([1990, 500, 120]),
...     currency="CNY",
...     category=["服装", "图书", "服装"],
... )
>>> orders.customer_ids.tolist(), orders.customer_code.tolist()
([10, 30], [1, 0, 1])
>>> orders.category_names
('图书', '服装')
"""

from __future__ import annotations

import functools
import itertools
import os
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from itertools import repeat
from typing import Any, ClassVar, Protocol, Self, TypeVar, cast

import attrs
import numpy as np
import numpy.typing as npt

from custmgmt._extras import require
from custmgmt.analytics import _convert as cv
from custmgmt.analytics._csv import merge_lines, read_orders_csv
from custmgmt.analytics._grouping import (
    code_dtype,
    factorize,
    factorize_parallel,
    group_order,
    map_onto_index,
)
from custmgmt.domain._validate import coerce_enum
from custmgmt.domain.interaction import (
    Complaint,
    ComplaintCategory,
    Interaction,
    InteractionKind,
    Review,
)
from custmgmt.domain.money import currency_digits
from custmgmt.domain.order import Order, OrderStatus
from custmgmt.domain.time import from_epoch_micros, iana_zone, require_aware, to_epoch_micros
from custmgmt.errors import ValidationError
from custmgmt.notebook.display import Displayed, Report, Table, counts_table, numeric_summary

__all__ = [
    "COMPLAINT_CATEGORY_CODES",
    "COUNTED_STATUS_CODES",
    "KIND_CODES",
    "MISSING_TIME",
    "STATUS_CODES",
    "InteractionFrame",
    "InteractionFrameBuilder",
    "InteractionSource",
    "OrderFrame",
    "OrderFrameBuilder",
    "OrderSource",
    "check_customers",
    "check_kinds",
    "check_window",
    "counted_mask",
    "time_then_id_order",
]

#: Order status codes: ``frame.status == STATUS_CODES.index(OrderStatus.CANCELLED)``.
STATUS_CODES: tuple[OrderStatus, ...] = tuple(OrderStatus)
#: Interaction kind codes, in :class:`InteractionKind` order.
KIND_CODES: tuple[InteractionKind, ...] = tuple(InteractionKind)
#: Complaint category codes, in :class:`ComplaintCategory` order (``-1`` = none).
COMPLAINT_CATEGORY_CODES: tuple[ComplaintCategory, ...] = tuple(ComplaintCategory)
#: A missing timestamp: int64 min, which is ``NaT`` when viewed as ``datetime64[us]``.
MISSING_TIME: int = int(np.iinfo(np.int64).min)

#: The status codes of counted orders (:data:`custmgmt.domain.COUNTED_STATUSES`), sorted.
COUNTED_STATUS_CODES: tuple[int, ...] = tuple(
    code for code, status in enumerate(STATUS_CODES) if status.is_counted
)

_DELIVERED = STATUS_CODES.index(OrderStatus.DELIVERED)
_STATUS_INDEX = {status: code for code, status in enumerate(STATUS_CODES)}
_KIND_INDEX = {kind: code for code, kind in enumerate(KIND_CODES)}
_COMPLAINT_INDEX = {category: code for code, category in enumerate(COMPLAINT_CATEGORY_CODES)}


AnyArray = npt.NDArray[Any]
T = TypeVar("T")
E_co = TypeVar("E_co", covariant=True)

# What OrderFrameBuilder.add_orders needs of an order beyond its plain attributes (its
# docstring says what each item is).
_OrderSummary = tuple[int | None, int | None, str, Sequence[str] | None]

#: Entities per chunk when a store is read through its entities.
DEFAULT_CHUNK_SIZE = 10_000


# What from_store reads, as structural types: any custmgmt.ports.Store fits them. This
# module does not import custmgmt.ports, whose columnar port returns the frames below
# (so the dependency goes one way only).
class _Chunked(Protocol[E_co]):
    def iter_chunks(self, size: int = ...) -> Iterator[Sequence[E_co]]: ...


class OrderSource(Protocol):
    """What :meth:`OrderFrame.from_store` reads: any :class:`custmgmt.ports.Store`."""

    @property
    def orders(self) -> _Chunked[Order]:
        """The order repository."""
        ...


class InteractionSource(Protocol):
    """What :meth:`InteractionFrame.from_store` reads: any :class:`custmgmt.ports.Store`."""

    @property
    def interactions(self) -> _Chunked[Interaction]:
        """The interaction repository."""
        ...


def counted_mask(status: AnyArray) -> npt.NDArray[np.bool_]:
    """Which rows of an :attr:`OrderFrame.status` column are counted orders.

    The vectorised form of :attr:`OrderStatus.is_counted`, the one definition every
    analysis uses.
    """
    lookup = np.zeros(len(STATUS_CODES), dtype=bool)
    lookup[list(COUNTED_STATUS_CODES)] = True
    mask: npt.NDArray[np.bool_] = lookup[np.asarray(status)]
    return mask


def _readonly(arr: AnyArray) -> AnyArray:
    # A view, so freezing never changes the caller's own array.
    view = arr.view()
    view.flags.writeable = False
    return view


def _index_ids(customer_index: Any) -> AnyArray:
    ids = getattr(customer_index, "customer_ids", None)
    if ids is not None:
        return np.asarray(ids)
    uniques, codes = factorize(customer_index, "customer_index")
    if len(uniques) != len(codes):
        raise ValidationError("customer_index", "duplicate ids", "distinct customer ids")
    # Keep the caller's order, which is the point of giving an index.
    return uniques[codes]


def _encode_customers(
    customer_id: Any, customer_index: Any, threads: int | None = 1
) -> tuple[AnyArray, AnyArray]:
    """(customer_ids, customer_code) with the index rules of the module docstring."""
    uniques, codes = factorize_parallel(customer_id, "customer_id", threads=threads)
    ids: AnyArray = uniques
    if customer_index is not None:
        ids, remap = map_onto_index(uniques, _index_ids(customer_index))
        codes = remap[codes]
    return ids, codes.astype(code_dtype(len(ids)), copy=False)


def _order_groups(order_ids: AnyArray) -> npt.NDArray[np.int64] | None:
    """A group code per row (rows with the same order id share one; a row without an
    id, None or blank, has its own), or None when no two rows share an id."""
    n = len(order_ids)
    blank = None
    if order_ids.dtype.kind == "O":
        # Ids compare as their text (C-level conversion, then one sort). A missing id
        # is None, or a float NaN (how pandas and numpy mark one).
        text = order_ids.astype(str)
        missing = np.equal(order_ids, np.array(None, dtype=object))
        # Only a few rows can be NaN or NA: those whose text says so (an id "nan" is kept).
        for row in np.flatnonzero(np.isin(text, _MISSING_TEXTS)).tolist():
            missing[row] = _is_missing_id(order_ids[row])
        blank = missing | (np.char.strip(text) == "")
        order_ids = text
    elif order_ids.dtype.kind == "U":
        blank = np.char.strip(order_ids) == ""
    elif order_ids.dtype.kind in "fc":
        blank = np.isnan(order_ids)
    uniques, codes = np.unique(order_ids, return_inverse=True)
    codes = codes.astype(np.int64).reshape(-1)
    if blank is not None and blank.any():
        rows = np.flatnonzero(blank)
        codes[rows] = len(uniques) + np.arange(len(rows), dtype=np.int64)
        distinct = len(np.unique(codes))
    else:
        distinct = len(uniques)
    return None if distinct == n else codes


#: How ``str()`` writes a missing value: None, float and Decimal NaN, pandas' NA, NaT.
_MISSING_TEXTS = ["None", "nan", "NaN", "<NA>", "NaT"]


def _is_missing_id(x: Any) -> bool:
    """None, float NaN or pandas' NA: an order id that is not there."""
    if x is None:
        return True
    try:
        return bool(x != x)  # NaN (and NaN-like scalars) differ from themselves
    except TypeError:  # pandas.NA: its truth value is ambiguous
        return True
    except ValueError:  # an array (one truth value per element): a value, not missing
        return False


def _ratings(raw: AnyArray, n: int) -> AnyArray:
    """int8 ratings 0..5, a missing one 0: None, NaN or pandas' NA (a pandas rating
    column with gaps, ``Int64`` or float, holds reviews' ratings only).

    Whole-number floats are read as integers; booleans, fractions and values outside
    0..5 are refused, naming the row.
    """
    if raw.size == 0:  # [] is float64 to numpy
        raw = raw.astype(np.int64)
    if raw.dtype == object:
        values: list[Any] = [
            0 if not isinstance(x, bool | np.bool_) and _is_missing_id(x) else x
            for x in raw.tolist()
        ]
        for row, x in enumerate(values):
            whole = isinstance(x, float) and x.is_integer()
            if isinstance(x, bool) or not (isinstance(x, int | np.integer) or whole):
                raise ValidationError(f"rating[{row}]", x, "an integer rating 0..5 (0 = none)")
        raw = np.empty(len(values), dtype=object)
        raw[:] = values
    elif raw.dtype.kind == "f":
        raw = np.where(np.isnan(raw), 0.0, raw)
    elif raw.dtype.kind not in "iu":
        raise ValidationError("rating", raw.dtype, "integer ratings 0..5 (0 = none)")
    cv.check_length("rating", raw, n, "customer_id")
    # isin also refuses every fraction and infinity; integers need only the bounds.
    bad = (raw < 0) | (raw > 5) if raw.dtype.kind in "iu" else ~np.isin(raw, np.arange(6))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        value = raw[row].item() if hasattr(raw[row], "item") else raw[row]
        raise ValidationError(f"rating[{row}]", value, "a rating 0..5 (0 = none)")
    return raw.astype(np.int8)


def _row_ids(customer_id: Any) -> AnyArray:
    """The customer id of each row, refusing anything but a one-dimensional array."""
    ids = np.asarray(customer_id)
    if ids.ndim != 1:
        raise ValidationError("customer_id", f"shape {ids.shape}", "a one-dimensional array")
    if ids.size == 0 and ids.dtype.kind == "f":  # [] is float64 to numpy: no ids at all
        return np.empty(0, dtype=np.int64)
    return ids


def _row_times(values: Any, field: str, n: int) -> AnyArray:
    """int64 µs UTC per row (see :func:`cv.to_micros`), one per customer id."""
    times = cv.to_micros(values, field)
    cv.check_length(field, times, n, "customer_id")
    return times


def _as_of_limit(as_of: datetime | None) -> int | None:
    """``as_of`` in µs UTC (None stays None); a naive datetime is refused."""
    return to_epoch_micros(require_aware("as_of", as_of)) if as_of is not None else None


def _require_columns(cols: dict[str, Any], required: tuple[str, ...]) -> None:
    for name in required:
        if name not in cols:
            raise ValidationError("columns", sorted(cols), f"a {name!r} column")


def _minor_units(
    values: AnyArray,
    field: str,
    *,
    currency: str,
    digits: int,
    amount_unit: str,
    currencies: Any,
    rates: dict[str, Decimal],
) -> AnyArray:
    """Minor units of ``currency`` per row, converting rows priced in ``currencies``."""
    if currencies is None:
        return cv.to_minor(values, digits, amount_unit, field)
    n = len(values)
    minor = _check_currency_rows(
        np.zeros(n, dtype=np.int64), currencies, currency, rates, values, amount_unit, field
    )
    native = np.asarray([c == currency for c in np.asarray(currencies).tolist()], dtype=bool)
    if native.any():
        minor[native] = cv.to_minor(values[native], digits, amount_unit, field)
    return minor


def _check_currency_rows(
    minor_by_row: AnyArray,
    currencies: Any,
    currency: str,
    rates: dict[str, Decimal],
    amount_values: Any,
    amount_unit: str,
    field: str,
) -> AnyArray:
    """Amounts in minor units of ``currency`` from rows priced in several currencies."""
    codes, names = cv.encode_labels(currencies, len(minor_by_row), "currencies")
    if (codes < 0).any():
        row = int(np.flatnonzero(codes < 0)[0])
        raise ValidationError(f"currencies[{row}]", None, "a currency code on every row")
    foreign = [c for c in names if c != currency]
    missing = [c for c in foreign if c not in rates]
    if missing:
        raise ValidationError(
            "currencies",
            sorted(set(names)),
            f"one currency ({currency}), or rates for {missing} into {currency}",
        )
    out = minor_by_row.copy()
    values = np.asarray(amount_values)
    for code, name in enumerate(names):
        if name == currency:
            continue
        rows = np.flatnonzero(codes == code)
        source_minor = cv.to_minor(
            values[rows], currency_digits(name, "currencies"), amount_unit, field
        )
        out[rows] = [cv.convert_minor(int(m), name, currency, rates[name]) for m in source_minor]
    return out


class _CustomerFrame(Displayed):
    """What both frames share: the customer index, read-only columns, re-indexing,
    DataFrame export and the notebook display (``_repr_html_``, ``summary()``: each
    frame writes its ``_display()`` report). Subclasses are frozen attrs classes with
    ``customer_code`` and ``customer_ids`` fields."""

    __slots__ = ()

    customer_code: AnyArray
    customer_ids: AnyArray
    #: Columns exported as ``datetime64[us, UTC]``.
    _time_columns: ClassVar[tuple[str, ...]]
    #: Required dtype kind of ``customer_code`` (None: any).
    _code_kind: ClassVar[str | None] = None

    def _freeze_columns(self, columns: Iterable[tuple[str, str | None]]) -> None:
        """Make the customer index and ``columns`` read-only views, checking each
        column's length (and dtype kind, when given) against ``customer_code``."""
        n = len(self.customer_code)
        code = np.asarray(self.customer_code)
        if self._code_kind is not None and code.dtype.kind != self._code_kind:
            raise ValidationError("customer_code", code.dtype, "integer codes")
        object.__setattr__(self, "customer_code", _readonly(code))
        object.__setattr__(self, "customer_ids", _readonly(np.asarray(self.customer_ids)))
        for name, kind in columns:
            arr = np.asarray(getattr(self, name))
            if kind is not None and arr.dtype.kind != kind:
                raise ValidationError(name, arr.dtype, "an integer array")
            cv.check_length(name, arr, n, "customer_code")
            object.__setattr__(self, name, _readonly(arr))

    def __len__(self) -> int:
        return len(self.customer_code)

    @property
    def n_rows(self) -> int:
        """The number of rows (orders, or interactions)."""
        return len(self.customer_code)

    @property
    def n_customers(self) -> int:
        """The size of the customer index (customers without rows included)."""
        return len(self.customer_ids)

    def _export_columns(self) -> dict[str, Any]:
        raise NotImplementedError

    def _report(
        self, title: str, rows: str, facts: list[tuple[str, Any]], times: AnyArray
    ) -> Report:
        """The start of each frame's display: its size (``rows`` names them), the
        customers, the frame's own ``facts``, then the span of ``times``."""
        return Report(
            title,
            facts=[(rows, len(self)), ("customers", self.n_customers), *facts, *_time_span(times)],
        )

    @staticmethod
    def _counts(caption: str, label: str, codes: AnyArray, members: Sequence[Enum]) -> Table:
        """Rows per code of a coded column, every member listed (zero counts too)."""
        counts = np.bincount(np.asarray(codes, dtype=np.int64), minlength=len(members))
        return counts_table(
            caption, label, {m.value: int(counts[i]) for i, m in enumerate(members)}
        )

    def to_pandas(self) -> Any:
        """A pandas DataFrame, one row per order (or interaction): ``customer_id``, the
        time column (``placed_at`` or ``at``) as ``datetime64[us, UTC]``, money as int64
        minor units, coded columns (``status``, ``kind``, ``category``, ``channel``,
        ``complaint_category``) as categoricals, and ``order_id`` when there is one."""
        return _to_pandas(self._export_columns(), time_columns=self._time_columns)

    def to_polars(self) -> Any:
        """A polars DataFrame with the columns of :meth:`to_pandas`."""
        return _to_polars(self._export_columns(), time_columns=self._time_columns)

    def with_customer_index(self, customer_index: Any) -> Self:
        """The same rows re-coded onto another customer index (module docstring)."""
        index = _index_ids(customer_index)
        new_ids, remap = map_onto_index(self.customer_ids, index)
        codes = remap[self.customer_code].astype(code_dtype(len(new_ids)), copy=False)
        # Every subclass is an attrs class; the base alone is not, hence the cast.
        frame: Self = attrs.evolve(cast(Any, self), customer_code=codes, customer_ids=new_ids)
        return frame


def _time_span(micros: AnyArray) -> list[tuple[str, Any]]:
    """("first", ...), ("last", ...) of epoch-microsecond times, for displays."""
    if len(micros) == 0:
        return []
    first, last = int(np.min(micros)), int(np.max(micros))
    return [("first", from_epoch_micros(first)), ("last", from_epoch_micros(last))]


@attrs.frozen(kw_only=True, eq=False, repr=False)
class OrderFrame(_CustomerFrame):
    """Orders as read-only columns, one row per order (see the module docstring).

    Build with a named constructor (:meth:`from_arrays`, :meth:`from_store`,
    :meth:`from_csv`, :meth:`from_pandas`, :meth:`from_polars`); they validate their
    input. The plain constructor only checks shapes and types.

    Attributes:
        customer_code: int32 (int64 beyond 2**31 customers) customer code per row.
        customer_ids: code -> original id (int64 or str objects).
        placed_at: int64 µs since the epoch, UTC.
        amount: int64 minor units of :attr:`currency`, the order total before returns.
        returned_amount: int64 minor units refunded, ``0 <= returned_amount <= amount``.
        status: int8 codes into :data:`STATUS_CODES`.
        category: int32 codes into :attr:`category_names` (the main category), -1 none.
        category_names: sorted category names.
        channel: int32 codes into :attr:`channel_names`, -1 none.
        channel_names: sorted channel names.
        currency: the ISO 4217 currency of every amount.
        order_id: the order ids, or None.
        line_row: for multi-category orders, the row of each (order, category) pair.
        line_category: the category code of each such pair.
    """

    customer_code: AnyArray
    customer_ids: AnyArray
    placed_at: AnyArray
    amount: AnyArray
    returned_amount: AnyArray
    status: AnyArray
    category: AnyArray
    category_names: tuple[str, ...] = ()
    channel: AnyArray
    channel_names: tuple[str, ...] = ()
    currency: str
    order_id: AnyArray | None = None
    line_row: AnyArray | None = None
    line_category: AnyArray | None = None

    _columns: ClassVar[tuple[tuple[str, str | None], ...]] = (
        ("placed_at", "i"),
        ("amount", "i"),
        ("returned_amount", "i"),
        ("status", "i"),
        ("category", "i"),
        ("channel", "i"),
    )
    _time_columns: ClassVar[tuple[str, ...]] = ("placed_at",)
    _code_kind: ClassVar[str | None] = "i"

    def __attrs_post_init__(self) -> None:
        currency_digits(self.currency)
        n = len(self.customer_code)
        self._freeze_columns(self._columns)
        for name in ("order_id", "line_row", "line_category"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _readonly(np.asarray(value)))
        if self.order_id is not None:
            cv.check_length("order_id", self.order_id, n, "customer_code")
        if (self.line_row is None) != (self.line_category is None):
            raise ValidationError("line_row", None, "line_row and line_category together")

    # -- reading ---------------------------------------------------------------------
    def __repr__(self) -> str:
        return (
            f"OrderFrame(rows={len(self)}, customers={self.n_customers}, "
            f"currency={self.currency!r}, categories={len(self.category_names)})"
        )

    def _display(self) -> Report:
        """Size, time span, orders per status and the amounts' quantiles."""
        report = self._report(
            "Order frame", "orders", [("currency", self.currency)], self.placed_at
        )
        report.add(self._counts("orders per status", "status", self.status, STATUS_CODES))
        report.add(
            numeric_summary(
                {"amount": self.amount, "returned_amount": self.returned_amount},
                caption=f"money in {self.currency} minor units",
            )
        )
        return report

    @property
    def digits(self) -> int:
        """Minor-unit digits of :attr:`currency` (2 for CNY)."""
        return currency_digits(self.currency)

    # -- building --------------------------------------------------------------------
    @classmethod
    def from_arrays(
        cls,
        *,
        customer_id: Any,
        placed_at: Any,
        amount: Any,
        currency: str,
        category: Any = None,
        status: Any = None,
        returned_amount: Any = None,
        channel: Any = None,
        order_id: Any = None,
        amount_unit: str = "minor",
        currencies: Any = None,
        rates: Mapping[str, Any] | None = None,
        customer_index: Any = None,
        threads: int | None = None,
    ) -> OrderFrame:
        """Build from arrays (or sequences), one entry per order.

        Args:
            customer_id: integer or string ids (sparse, unsorted: fine).
            placed_at: int64 µs UTC, numpy datetime64 (read as UTC) or aware datetimes.
            amount: order totals; integers in minor units when ``amount_unit="minor"``
                (the default), or major units when ``amount_unit="major"`` (floats exact
                to the currency's digits, ``Decimal`` or decimal strings).
            currency: the frame's currency (ISO 4217).
            category: the order's main category (text; None or "" for none).
            status: ``OrderStatus`` members, their values, or codes into ``STATUS_CODES``
                (default: every order ``delivered``).
            returned_amount: refunded amounts, same unit as ``amount`` (default 0).
            channel: sales channel labels.
            order_id: order ids, kept as given; rows sharing one are the lines of one
                order (amounts and returns summed, the category of the largest line,
                every line's category kept for breadth), as :meth:`from_csv` reads
                them; a customer, time, status or channel that differs between the
                lines is an error naming both rows. None (or blank) ids never merge.
            amount_unit: ``"minor"`` or ``"major"``.
            currencies: per-row currency codes, when rows are priced differently.
            rates: currency code -> ``Decimal`` rate into ``currency``.
            customer_index: a frame or ids that fix the first codes (module docstring).
            threads: threads for factorising the customer ids (default
                ``CUSTMGMT_THREADS`` or the cores; the codes are the same for any count).

        Raises:
            ValidationError: mismatched lengths, NaN/negative/inexact amounts, a return
                above its order's amount, unknown statuses, mixed currencies without
                rates, naive datetimes.
        """
        digits = currency_digits(currency)
        ids = _row_ids(customer_id)
        n = len(ids)
        times = _row_times(placed_at, "placed_at", n)
        amount_values = np.asarray(amount)
        cv.check_length("amount", amount_values, n, "customer_id")
        minor_units = functools.partial(
            _minor_units,
            currency=currency,
            digits=digits,
            amount_unit=amount_unit,
            currencies=currencies,
            rates=cv.check_rates(rates),
        )
        minor = minor_units(amount_values, "amount")
        if returned_amount is None:
            returned = cv.constant(0, np.int64, n)
        else:
            returned_values = np.asarray(returned_amount)
            cv.check_length("returned_amount", returned_values, n, "customer_id")
            returned = minor_units(returned_values, "returned_amount")
            over = returned > minor
            if over.any():
                row = int(np.flatnonzero(over)[0])
                raise ValidationError(
                    f"returned_amount[{row}]",
                    int(returned[row]),
                    f"at most the order's amount {int(minor[row])} (minor units)",
                )
        status_codes = cv.encode_enum(status, OrderStatus, n, "status", _DELIVERED)
        category_codes, category_names = cv.encode_labels(category, n, "category")
        channel_codes, channel_names = cv.encode_labels(channel, n, "channel")
        order_ids = None
        if order_id is not None:
            order_ids = np.asarray(order_id)
            cv.check_length("order_id", order_ids, n, "customer_id")
        customer_ids, codes = _encode_customers(ids, customer_index, threads)
        data: dict[str, Any] = {
            "customer_ids": customer_ids,
            "customer_code": codes,
            "placed_at": times,
            "amount": minor,
            "returned_amount": returned,
            "status": status_codes,
            "category": category_codes,
            "category_names": category_names,
            "channel": channel_codes,
            "channel_names": channel_names,
            "order_id": order_ids,
            "line_row": None,
            "line_category": None,
        }
        group = None if order_ids is None else _order_groups(order_ids)
        if group is not None:
            # Rows sharing an order id are the lines of one order, as in from_csv.
            data = merge_lines(data, group, np.arange(n, dtype=np.int64), unit="row")
        return cls._from_data(data, currency=currency)

    @classmethod
    def from_store(
        cls,
        store: OrderSource,
        *,
        currency: str,
        as_of: datetime | None = None,
        since: datetime | None = None,
        customers: Collection[str] | None = None,
        rates: Mapping[str, Any] | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        customer_index: Any = None,
    ) -> OrderFrame:
        """The orders of a store, placed in ``[since, as_of]`` (of ``customers``).

        A store with the columnar port (an ``order_frame`` method: see
        :class:`custmgmt.ports.ColumnarStore`; both bundled stores have it) builds the
        frame itself, filtering in its query and
        creating no entity objects. Any other store is read through its entities:
        ``store.orders.iter_chunks(chunk_size)`` into :meth:`from_orders`, with
        memory bounded by one chunk of orders plus the growing columns. Both give the
        same frame (the contract of :meth:`ColumnarStore.order_frame
        <custmgmt.ports.ColumnarStore.order_frame>`, which says what each column holds).

        Args:
            store: a :class:`custmgmt.ports.Store` (only ``orders`` is read, and
                ``order_frame`` when it has one).
            currency: the frame's currency.
            as_of: when given (aware), orders placed after it are left out.
            since: when given (aware), orders placed before it are left out.
            customers: when given, only these customers' orders (``str`` ids).
            rates: currency code -> ``Decimal`` rate into ``currency``.
            chunk_size: orders per chunk on the entity path.
            customer_index: fixes the first customer codes (module docstring).

        Raises:
            ValidationError: a naive ``as_of`` or ``since``, a bad ``customers``, an
                order in a currency without a rate, an order total without a
                minor-unit value.
            StorageError: the store failed.
        """
        port = getattr(store, "order_frame", None)
        if callable(port):
            return _from_port(
                cls,
                "order_frame",
                port(
                    currency=currency,
                    as_of=as_of,
                    since=since,
                    customers=customers,
                    rates=rates,
                    customer_index=customer_index,
                ),
            )
        builder = OrderFrameBuilder(currency=currency, rates=rates)  # checks before streaming
        check_window(as_of, since)
        check_customers(customers)
        return cls.from_orders(
            itertools.chain.from_iterable(store.orders.iter_chunks(chunk_size)),
            currency=builder.currency,
            as_of=as_of,
            since=since,
            customers=customers,
            rates=rates,
            customer_index=customer_index,
        )

    @classmethod
    def from_orders(
        cls,
        orders: Iterable[Order],
        *,
        currency: str,
        as_of: datetime | None = None,
        since: datetime | None = None,
        customers: Collection[str] | None = None,
        rates: Mapping[str, Any] | None = None,
        customer_index: Any = None,
    ) -> OrderFrame:
        """Order entities as a frame, one row per order in ``[since, as_of]`` (of
        ``customers``), in the order given.

        ``amount`` is ``Order.total`` and ``returned_amount`` ``Order.refunded`` in
        minor units; orders in another currency are converted with ``rates``. This is
        the reference the columnar port is checked against
        (:class:`custmgmt.testing.ColumnarStoreContract`): give it the orders by
        ``placed_at`` then id, as ``iter_chunks`` streams them, to get the port's frame.

        Raises:
            ValidationError: as :meth:`from_store`; also an item that is not an Order.
        """
        builder = OrderFrameBuilder(currency=currency, rates=rates)
        window = check_window(as_of, since)
        wanted = check_customers(customers)
        for chunk in _batches(orders):
            _check_entities(chunk, Order, "orders", "Order entities")
            builder.add_orders(chunk, _domain_summary, window=window, customers=wanted)
        return builder.build(customer_index)

    @classmethod
    def from_csv(
        cls,
        path: str | os.PathLike[str],
        *,
        currency: str = "CNY",
        tz: str = "Asia/Shanghai",
        rates: Mapping[str, Any] | None = None,
        encoding: str = "utf-8",
        customer_index: Any = None,
    ) -> OrderFrame:
        """Read a CSV file of orders with a header row.

        Columns (headers matched case-insensitively, other columns ignored):
        ``customer_id`` (kept as text, exactly: ids that differ in surrounding
        whitespace are different customers), ``placed_at`` (ISO date or datetime; naive
        values are in ``tz``, values with an offset keep it), ``amount`` (major units
        as decimal text, converted exactly). Optional: ``order_id`` (rows sharing one
        are the lines of one order: amounts summed, the category of the largest line,
        a differing customer, time, status or channel refused), ``currency`` (per row;
        other currencies need ``rates``), ``category``, ``status`` (an ``OrderStatus``
        value, default ``delivered``), ``returned_amount`` (major units), ``channel``.

        The file is parsed column by column with numpy (see
        :mod:`custmgmt.analytics._csv`); the result is the same as reading it row by
        row.

        Raises:
            ValidationError: a missing column, a file that cannot be decoded with
                ``encoding``, or a malformed row: the error's ``field`` is
                ``"line N, column NAME"`` (N counts physical lines, the header being
                line 1), ``value`` is the raw text, and the error also has ``.line``
                and ``.column`` attributes.
        """

        zone = iana_zone(tz, "tz")
        checked_rates = cv.check_rates(rates)
        data = read_orders_csv(
            path, currency=currency, zone=zone, rates=checked_rates, encoding=encoding
        )
        customer_ids, codes = data["customer_ids"], data["customer_code"]
        if customer_index is not None:
            customer_ids, remap = map_onto_index(customer_ids, _index_ids(customer_index))
            codes = remap[codes]
        data["customer_ids"] = customer_ids
        data["customer_code"] = codes.astype(code_dtype(len(customer_ids)), copy=False)
        return cls._from_data(data, currency=currency)

    @classmethod
    def _from_data(cls, data: Mapping[str, Any], *, currency: str) -> OrderFrame:
        """The frame of ``data``, the columns by field name as :func:`read_orders_csv`
        and :func:`merge_lines` give them (the one mapping of those onto the fields)."""
        return cls(
            customer_code=data["customer_code"],
            customer_ids=data["customer_ids"],
            placed_at=data["placed_at"],
            amount=data["amount"],
            returned_amount=data["returned_amount"],
            status=data["status"],
            category=data["category"],
            category_names=data["category_names"],
            channel=data["channel"],
            channel_names=data["channel_names"],
            currency=currency,
            order_id=data["order_id"],
            line_row=data["line_row"],
            line_category=data["line_category"],
        )

    @classmethod
    def from_pandas(
        cls,
        df: Any,
        *,
        currency: str,
        amount_unit: str = "minor",
        rates: Mapping[str, Any] | None = None,
        customer_index: Any = None,
        columns: Mapping[str, str] | None = None,
    ) -> OrderFrame:
        """Build from a pandas DataFrame whose columns are named like
        :meth:`from_arrays`' keywords (``customer_id``, ``placed_at``, ``amount`` and
        optionally ``category``, ``status``, ``returned_amount``, ``channel``,
        ``order_id``, ``currencies``); ``columns={"our_name": "df_name"}`` renames.

        int64 columns are used without copying; tz-aware datetime columns are converted
        to µs UTC (naive datetime columns are refused); categorical columns keep their
        codes.
        """
        return cls._from_columns(
            _dataframe_columns("pandas", df, columns, _ORDER_COLUMNS),
            currency=currency,
            amount_unit=amount_unit,
            rates=rates,
            customer_index=customer_index,
        )

    @classmethod
    def from_polars(
        cls,
        df: Any,
        *,
        currency: str,
        amount_unit: str = "minor",
        rates: Mapping[str, Any] | None = None,
        customer_index: Any = None,
        columns: Mapping[str, str] | None = None,
    ) -> OrderFrame:
        """Build from a polars DataFrame; the same columns as :meth:`from_pandas`.

        Datetime columns must carry a time zone (or be int64 µs UTC).
        """
        return cls._from_columns(
            _dataframe_columns("polars", df, columns, _ORDER_COLUMNS),
            currency=currency,
            amount_unit=amount_unit,
            rates=rates,
            customer_index=customer_index,
        )

    @classmethod
    def _from_columns(
        cls,
        cols: dict[str, Any],
        *,
        currency: str,
        amount_unit: str,
        rates: Mapping[str, Any] | None,
        customer_index: Any,
    ) -> OrderFrame:
        _require_columns(cols, ("customer_id", "placed_at", "amount"))
        category = cols.get("category")
        categorical = isinstance(category, tuple)
        if isinstance(category, tuple) and cols.get("order_id") is not None:
            # Lines of one order are merged row by row: give from_arrays the labels.
            codes, names = category
            labels = np.asarray([*names, None], dtype=object)
            category = labels[np.where(np.asarray(codes) < 0, len(names), codes)]
            categorical = False
        frame = cls.from_arrays(
            customer_id=_decategorise(cols["customer_id"]),
            placed_at=cols["placed_at"],
            amount=cols["amount"],
            currency=currency,
            category=None if categorical else category,
            status=_decategorise(cols.get("status")),
            returned_amount=cols.get("returned_amount"),
            channel=_decategorise(cols.get("channel")),
            order_id=_decategorise(cols.get("order_id")),
            amount_unit=amount_unit,
            currencies=_decategorise(cols.get("currencies")),
            rates=rates,
            customer_index=customer_index,
        )
        if categorical and category is not None:
            codes, names = category
            cv.check_length("category", codes, len(frame), "customer_id")
            new_codes, new_names = cv.relabel(codes, names)
            frame = attrs.evolve(frame, category=new_codes, category_names=new_names)
        return frame

    # -- exporting -------------------------------------------------------------------
    def _export_columns(self) -> dict[str, Any]:
        cols: dict[str, Any] = {
            "customer_id": self.customer_ids[self.customer_code],
            "placed_at": self.placed_at,
            "amount": self.amount,
            "returned_amount": self.returned_amount,
            "status": (tuple(s.value for s in STATUS_CODES), self.status),
            "category": (self.category_names, self.category),
            "channel": (self.channel_names, self.channel),
        }
        if self.order_id is not None:
            cols["order_id"] = self.order_id
        return cols

    # -- cached orderings (the frame is immutable, so they never go stale) -------------
    def _by_customer_time(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_] | None]:
        """Placed-at times sorted by (customer code, placed_at, row), and whether each
        of those orders is cancelled (None when none is).

        Customer ``c``'s orders are the ``bincount(customer_code)[c]`` entries after
        the previous customers'. Not cached: the 9 bytes per order would outlive the
        features that need them (the memory goal is a peak under the input's size).
        """
        perm, times = group_order(self.customer_code, self.n_customers, self.placed_at)
        assert times is not None
        cancelled = None
        cancelled_code = STATUS_CODES.index(OrderStatus.CANCELLED)
        if (self.status == cancelled_code).any():
            cancelled = np.empty(len(perm), dtype=bool)
            for start in range(0, len(perm), 1 << 18):
                rows = perm[start : start + (1 << 18)]
                cancelled[start : start + len(rows)] = self.status[rows] == cancelled_code
        del perm
        return times, cancelled


_ORDER_COLUMNS = (
    "customer_id",
    "placed_at",
    "amount",
    "category",
    "status",
    "returned_amount",
    "channel",
    "order_id",
    "currencies",
)
_INTERACTION_COLUMNS = (
    "customer_id",
    "at",
    "kind",
    "rating",
    "complaint_category",
    "resolved",
    "channel",
)


@attrs.frozen(kw_only=True, eq=False, repr=False)
class InteractionFrame(_CustomerFrame):
    """Interactions as read-only columns, one row per interaction.

    Attributes:
        customer_code: customer code per row (see the module docstring).
        customer_ids: code -> original id.
        at: int64 µs since the epoch, UTC.
        kind: int8 codes into :data:`KIND_CODES`.
        rating: int8 review rating 1..5, 0 = none.
        complaint_category: int8 codes into :data:`COMPLAINT_CATEGORY_CODES`, -1 none.
        resolved: bool, whether a complaint was resolved (False for other kinds).
        channel: int32 codes into :attr:`channel_names`, -1 none.
        channel_names: sorted channel names.
    """

    customer_code: AnyArray
    customer_ids: AnyArray
    at: AnyArray
    kind: AnyArray
    rating: AnyArray
    complaint_category: AnyArray
    resolved: AnyArray
    channel: AnyArray
    channel_names: tuple[str, ...] = ()

    _columns: ClassVar[tuple[tuple[str, str | None], ...]] = tuple(
        (name, None)
        for name in ("at", "kind", "rating", "complaint_category", "resolved", "channel")
    )
    _time_columns: ClassVar[tuple[str, ...]] = ("at",)

    def __attrs_post_init__(self) -> None:
        self._freeze_columns(self._columns)

    def _display(self) -> Report:
        """Size, time span and interactions per kind."""
        report = self._report("Interaction frame", "interactions", [], self.at)
        report.add(self._counts("interactions per kind", "kind", self.kind, KIND_CODES))
        return report

    def __repr__(self) -> str:
        return f"InteractionFrame(rows={len(self)}, customers={self.n_customers})"

    @classmethod
    def from_arrays(
        cls,
        *,
        customer_id: Any,
        at: Any,
        kind: Any,
        rating: Any = None,
        complaint_category: Any = None,
        resolved: Any = None,
        channel: Any = None,
        customer_index: Any = None,
    ) -> InteractionFrame:
        """Build from arrays (or sequences), one entry per interaction.

        Args:
            customer_id: integer or string ids.
            at: int64 µs UTC, numpy datetime64 (read as UTC) or aware datetimes.
            kind: ``InteractionKind`` members, their values, or codes into ``KIND_CODES``.
            rating: review ratings 1..5, 0 for none (so are None, NaN and pandas' NA:
                a float or ``Int64`` column with gaps); whole-number floats are read
                as integers.
            complaint_category: ``ComplaintCategory`` members/values/codes, None for none.
            resolved: booleans (complaints); None or pandas' NA is False.
            channel: channel labels.
            customer_index: a frame or ids that fix the first codes; pass the
                ``OrderFrame`` to align both frames on one index.

        Raises:
            ValidationError: mismatched lengths, unknown kinds, ratings outside 0..5.
        """
        ids = _row_ids(customer_id)
        n = len(ids)
        times = _row_times(at, "at", n)
        kinds = cv.encode_enum(kind, InteractionKind, n, "kind", None)
        ratings = np.zeros(n, dtype=np.int8) if rating is None else _ratings(np.asarray(rating), n)
        if complaint_category is None:
            complaint = np.full(n, -1, dtype=np.int8)
        else:
            raw_c = np.asarray(complaint_category)
            if raw_c.dtype.kind in "iu":
                complaint = raw_c.astype(np.int8)
                bad = (raw_c < -1) | (raw_c >= len(COMPLAINT_CATEGORY_CODES))
                if bad.any():
                    row = int(np.flatnonzero(bad)[0])
                    raise ValidationError(
                        f"complaint_category[{row}]",
                        int(raw_c[row]),
                        f"a code -1..{len(COMPLAINT_CATEGORY_CODES) - 1}",
                    )
            else:
                complaint = cv.encode_enum(raw_c, ComplaintCategory, n, "complaint_category", -1)
        if resolved is None:
            resolved_flags = np.zeros(n, dtype=bool)
        else:
            raw_r = np.asarray(resolved)
            cv.check_length("resolved", raw_r, n, "customer_id")
            if raw_r.size == 0:  # [] is float64 to numpy
                raw_r = raw_r.astype(bool)
            elif raw_r.dtype == object:
                # None or pandas' NA (a nullable boolean column): not resolved.
                items = raw_r.tolist()
                for row, x in enumerate(items):
                    if not isinstance(x, bool | np.bool_) and not _is_missing_id(x):
                        raise ValidationError(f"resolved[{row}]", x, "True, False or None")
                raw_r = np.asarray([x is True or x is np.True_ for x in items], dtype=bool)
            if raw_r.dtype.kind != "b":
                raise ValidationError("resolved", raw_r.dtype, "booleans")
            resolved_flags = raw_r
        channel_codes, channel_names = cv.encode_labels(channel, n, "channel")
        customer_ids, codes = _encode_customers(ids, customer_index)
        return cls(
            customer_code=codes,
            customer_ids=customer_ids,
            at=times,
            kind=kinds,
            rating=ratings,
            complaint_category=complaint,
            resolved=resolved_flags,
            channel=channel_codes,
            channel_names=channel_names,
        )

    @classmethod
    def from_store(
        cls,
        store: InteractionSource,
        *,
        as_of: datetime | None = None,
        since: datetime | None = None,
        customers: Collection[str] | None = None,
        kinds: Collection[InteractionKind] | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        customer_index: Any = None,
    ) -> InteractionFrame:
        """The interactions of a store at ``[since, as_of]`` (of ``customers``, ``kinds``).

        Like :meth:`OrderFrame.from_store`: the store's columnar port when it has one
        (an ``interaction_frame`` method: :meth:`ColumnarStore.interaction_frame
        <custmgmt.ports.ColumnarStore.interaction_frame>`), else its entities through
        :meth:`from_interactions`; both give the same frame.

        Args:
            store: a :class:`custmgmt.ports.Store` (only ``interactions`` is read, and
                ``interaction_frame`` when it has one).
            as_of: when given (aware), interactions after it are left out.
            since: when given (aware), interactions before it are left out.
            customers: when given, only these customers' interactions (``str`` ids).
            kinds: when given, only interactions of these kinds.
            chunk_size: interactions per chunk on the entity path.
            customer_index: fixes the first customer codes; pass the ``OrderFrame``.

        Raises:
            ValidationError: a naive ``as_of`` or ``since``, a bad ``customers``, an
                unknown kind.
            StorageError: the store failed.
        """
        port = getattr(store, "interaction_frame", None)
        if callable(port):
            return _from_port(
                cls,
                "interaction_frame",
                port(
                    as_of=as_of,
                    since=since,
                    customers=customers,
                    kinds=kinds,
                    customer_index=customer_index,
                ),
            )
        check_window(as_of, since)
        check_customers(customers)
        check_kinds(kinds)
        return cls.from_interactions(
            itertools.chain.from_iterable(store.interactions.iter_chunks(chunk_size)),
            as_of=as_of,
            since=since,
            customers=customers,
            kinds=kinds,
            customer_index=customer_index,
        )

    @classmethod
    def from_interactions(
        cls,
        interactions: Iterable[Interaction],
        *,
        as_of: datetime | None = None,
        since: datetime | None = None,
        customers: Collection[str] | None = None,
        kinds: Collection[InteractionKind] | None = None,
        customer_index: Any = None,
    ) -> InteractionFrame:
        """Interaction entities as a frame, one row per interaction in ``[since,
        as_of]`` (of ``customers`` and ``kinds``), in the order given: the reference
        the columnar port is checked against.

        Raises:
            ValidationError: as :meth:`from_store`; also an item that is not an
                Interaction.
        """
        window = check_window(as_of, since)
        wanted = check_customers(customers)
        wanted_kinds = check_kinds(kinds)
        builder = InteractionFrameBuilder()
        for chunk in _batches(interactions):
            _check_entities(chunk, Interaction, "interactions", "Interaction entities")
            builder.add_interactions(chunk, window=window, customers=wanted, kinds=wanted_kinds)
        return builder.build(customer_index)

    @classmethod
    def from_pandas(
        cls, df: Any, *, customer_index: Any = None, columns: Mapping[str, str] | None = None
    ) -> InteractionFrame:
        """Build from a pandas DataFrame with columns named like :meth:`from_arrays`'
        keywords (``columns={"our_name": "df_name"}`` renames)."""
        cols = _dataframe_columns("pandas", df, columns, _INTERACTION_COLUMNS)
        return cls._from_columns(cols, customer_index)

    @classmethod
    def from_polars(
        cls, df: Any, *, customer_index: Any = None, columns: Mapping[str, str] | None = None
    ) -> InteractionFrame:
        """Build from a polars DataFrame; the same columns as :meth:`from_pandas`."""
        cols = _dataframe_columns("polars", df, columns, _INTERACTION_COLUMNS)
        return cls._from_columns(cols, customer_index)

    @classmethod
    def _from_columns(cls, cols: dict[str, Any], customer_index: Any) -> InteractionFrame:
        _require_columns(cols, ("customer_id", "at", "kind"))
        channel = cols.get("channel")
        kind = cols["kind"]
        if isinstance(kind, tuple):  # a categorical: back to labels
            codes, names = kind
            kind = np.asarray(names, dtype=object)[np.asarray(codes)]
        frame = cls.from_arrays(
            customer_id=_decategorise(cols["customer_id"]),
            at=cols["at"],
            kind=kind,
            rating=cols.get("rating"),
            complaint_category=_decategorise(cols.get("complaint_category")),
            resolved=cols.get("resolved"),
            channel=_decategorise(channel),
            customer_index=customer_index,
        )
        return frame

    def _export_columns(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_ids[self.customer_code],
            "at": self.at,
            "kind": (tuple(k.value for k in KIND_CODES), self.kind),
            "rating": self.rating,
            "complaint_category": (
                tuple(c.value for c in COMPLAINT_CATEGORY_CODES),
                self.complaint_category,
            ),
            "resolved": self.resolved,
            "channel": (self.channel_names, self.channel),
        }


# -- building frames from stores ---------------------------------------------------------
F = TypeVar("F", "OrderFrame", "InteractionFrame")


def _from_port(kind: type[F], method: str, frame: object) -> F:
    """``frame``, checked to be what the store's port promised."""
    if not isinstance(frame, kind):
        raise ValidationError(f"store.{method}()", type(frame).__name__, f"an {kind.__name__}")
    return frame


def check_window(as_of: datetime | None, since: datetime | None) -> tuple[int | None, int | None]:
    """``(since, as_of)`` in µs UTC (None stays None); naive datetimes are refused.

    The window of the columnar port is ``since <= t <= as_of``.

    Raises:
        ValidationError: ``as_of`` or ``since`` is not an aware datetime.
    """
    lo = to_epoch_micros(require_aware("since", since)) if since is not None else None
    return lo, _as_of_limit(as_of)


def check_customers(customers: Collection[str] | None) -> frozenset[str] | None:
    """The ``customers`` filter of the columnar port as a set (None: every customer).

    Raises:
        ValidationError: a string (not a collection of ids), or an item not a string.
    """
    if customers is None:
        return None
    given: object = customers  # hosts call this untyped too: check at run time
    if isinstance(given, str | bytes) or not isinstance(given, Iterable):
        raise ValidationError("customers", customers, "a collection of customer ids or None")
    wanted = frozenset(given)
    for item in wanted:
        if not isinstance(item, str):
            raise ValidationError("customers", item, "customer ids (str)")
    return wanted


def check_kinds(kinds: Collection[InteractionKind] | None) -> frozenset[InteractionKind] | None:
    """The ``kinds`` filter as a set of members (None: every kind).

    Raises:
        ValidationError: a string, or an item that is not a kind or a kind's value.
    """
    if kinds is None:
        return None
    given: object = kinds  # hosts call this untyped too: check at run time
    if isinstance(given, str) or not isinstance(given, Iterable):
        raise ValidationError("kinds", kinds, "a collection of InteractionKind or None")
    return frozenset(coerce_enum(InteractionKind, k, "kinds") for k in given)


def _batches(items: Iterable[T]) -> Iterator[list[T]]:
    source = iter(items)
    while batch := list(itertools.islice(source, DEFAULT_CHUNK_SIZE)):
        yield batch


def _check_entities(chunk: Sequence[object], kind: type, field: str, expected: str) -> None:
    """Refuse a chunk holding an item that is not a ``kind``, naming the first such
    item (the types are compared once each, not once per item)."""
    if not all(issubclass(seen, kind) for seen in set(map(type, chunk))):
        item = next(item for item in chunk if not isinstance(item, kind))
        raise ValidationError(field, item, expected)


def _domain_summary(order: Order) -> _OrderSummary:
    """The order's summary from the domain's own arithmetic (``Order.total``,
    ``Order.refunded``, ``Money.to_minor``, which raises where no exact minor-unit
    value exists): the reference reading the stores' columnar ports are checked
    against."""
    categories = order.categories
    return (
        order.total.to_minor(),
        order.refunded.to_minor(),
        max(order.lines, key=lambda line: line.subtotal.amount).category,
        sorted(categories) if len(categories) > 1 else None,
    )


_UNSEEN = -2


class _Labels:
    """Text labels coded in first-seen order across chunks (``None`` -> ``-1``).

    A value may also be a code already (an ``int`` from :meth:`known`): a store that
    codes known labels in its query (the SQLite adapter, with a ``CASE``) saves
    creating a string per row.
    """

    def __init__(self, *, codes_given: bool = False) -> None:
        self.table: dict[str | int | None, int] = {None: -1}
        self._names: list[str] = []
        #: Whether values may be codes from :meth:`known` (each code is then a key too).
        self._codes_given = codes_given

    def known(self) -> dict[str, int]:
        """Label -> code of every label seen so far."""
        return {name: code for code, name in enumerate(self._names)}

    def codes(self, values: Sequence[str | int | None]) -> AnyArray:
        table = self.table
        # One C-level pass for the values seen before, then the new labels in bulk
        # (first-seen order); no Python statement runs per row.
        # int32: these codes are kept for every row until the frame is built.
        codes = np.fromiter(map(table.get, values, repeat(_UNSEEN)), np.int32, len(values))
        unseen = np.flatnonzero(codes == _UNSEEN)
        if len(unseen):
            pending = list(map(values.__getitem__, unseen.tolist()))
            fresh: list[str] = []
            for label in dict.fromkeys(pending):
                if label not in table:
                    if not isinstance(label, str):
                        raise ValidationError("label", label, "a text label or None")
                    fresh.append(label)
            base = len(self._names)
            self._names.extend(fresh)
            new_codes = range(base, base + len(fresh))
            table.update(zip(fresh, new_codes, strict=True))
            if self._codes_given:
                table.update(zip(new_codes, new_codes, strict=True))
            codes[unseen] = np.fromiter(map(table.__getitem__, pending), np.int32, len(pending))
        return codes

    def names(self) -> list[str]:
        """The labels in code order."""
        return list(self._names)

    def sorted(self, codes: AnyArray) -> tuple[npt.NDArray[np.int32], tuple[str, ...]]:
        """``codes`` re-coded so that the names come out sorted (-1 stays -1)."""
        names = self._names
        order = sorted(range(len(names)), key=names.__getitem__)
        remap = np.empty(len(names) + 1, dtype=np.int32)
        remap[-1] = -1  # code -1 takes the last slot ("wrap"): missing stays missing
        remap[np.asarray(order, dtype=np.int64)] = np.arange(len(names), dtype=np.int32)
        recoded: npt.NDArray[np.int32] = np.take(remap, codes, mode="wrap")
        return recoded, tuple(names[i] for i in order)


def _join(parts: list[AnyArray], dtype: Any) -> AnyArray:
    if not parts:
        return np.empty(0, dtype=dtype)
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _customer_codes(
    ids: _Labels, codes: AnyArray, customer_index: Any
) -> tuple[AnyArray, AnyArray]:
    """(customer_ids, customer_code) from first-seen codes, as :func:`_encode_customers`
    makes them from the ids of every row."""
    names = ids.names()
    order = sorted(range(len(names)), key=names.__getitem__)
    uniques = np.empty(len(names), dtype=object)
    uniques[:] = [names[i] for i in order]
    remap = np.empty(len(names), dtype=np.int64)
    remap[np.asarray(order, dtype=np.int64)] = np.arange(len(names), dtype=np.int64)
    customer_ids: AnyArray = uniques
    if customer_index is not None:
        customer_ids, onto = map_onto_index(uniques, _index_ids(customer_index))
        remap = onto[remap] if len(remap) else remap
    dtype = code_dtype(len(customer_ids))
    return customer_ids, remap.astype(dtype)[codes] if len(codes) else codes.astype(dtype)


def time_then_id_order(times: AnyArray, ids: AnyArray) -> AnyArray | None:
    """The permutation that orders rows by time, then id (None: already in order).

    A stable numpy sort on the int64 times; only runs of rows with equal times are
    then ordered by id, in Python (ids compare as Python strings compare).
    """
    n = len(times)
    if n < 2:
        return None
    step = times[1:] >= times[:-1]
    perm: AnyArray | None = None
    if not step.all():
        perm = np.argsort(times, kind="stable")
        times = times[perm]
    tie = times[1:] == times[:-1]
    if tie.any():
        edges = np.diff(np.concatenate(([0], tie.view(np.int8), [0])))
        starts = np.flatnonzero(edges == 1)
        stops = np.flatnonzero(edges == -1) + 1
        rows = np.arange(n, dtype=np.int64) if perm is None else perm
        changed = False
        for start, stop in zip(starts.tolist(), stops.tolist(), strict=True):
            run = rows[start:stop].tolist()
            ordered = sorted(run, key=ids.__getitem__)
            if ordered != run:
                rows[start:stop] = ordered
                changed = True
        if changed or perm is not None:
            perm = rows
    return perm


class _FrameBuilder:
    """What both builders share: the customers and channels coded as chunks arrive,
    the columns kept as numpy chunks under short keys (``"cust"``, ``"ch"``, ...) until
    :meth:`build` joins them, and the count of rows added."""

    def __init__(self, columns: tuple[str, ...], *, channel_codes: bool) -> None:
        self._customers = _Labels()
        #: ``channel_codes``: :meth:`add` may take a channel's code in its place.
        self._channels = _Labels(codes_given=channel_codes)
        self._parts: dict[str, list[AnyArray]] = {key: [] for key in columns}
        self._rows = 0

    def __len__(self) -> int:
        return self._rows

    def _coded(
        self, columns: Mapping[str, AnyArray], customer_index: Any
    ) -> tuple[AnyArray, AnyArray, AnyArray, tuple[str, ...]]:
        """(customer_ids, customer_code, channel codes, channel names) of the joined
        ``"cust"`` and ``"ch"`` columns, coded as the frames' other constructors code
        them."""
        channel_codes, channel_names = self._channels.sorted(columns["ch"])
        customer_ids, customer_code = _customer_codes(
            self._customers, columns["cust"], customer_index
        )
        return customer_ids, customer_code, channel_codes, channel_names


class OrderFrameBuilder(_FrameBuilder):
    """Assembles an :class:`OrderFrame` from a store's rows, chunk by chunk.

    For adapters implementing the columnar port
    (:meth:`custmgmt.ports.ColumnarStore.order_frame`) and for
    :meth:`OrderFrame.from_orders`: each :meth:`add` takes one chunk of rows as plain
    sequences, in the frame's row order; only numpy columns and the label tables are
    kept between chunks. :meth:`build` codes customers, categories and channels
    exactly as the frame's other constructors do and converts foreign currencies.

    Args:
        currency: the frame's currency.
        rates: currency code -> rate into ``currency`` (see :meth:`OrderFrame.from_arrays`).

    Raises:
        ValidationError: an unknown currency or invalid rates.
    """

    def __init__(self, *, currency: str, rates: Mapping[str, Any] | None = None) -> None:
        currency_digits(currency)
        self.currency = currency
        self.rates = cv.check_rates(rates)
        super().__init__(("cust", "t", "a", "r", "s", "cat", "ch", "oid"), channel_codes=True)
        self._categories = _Labels(codes_given=True)
        self._currencies = _Labels()
        self._foreign: list[tuple[int, AnyArray]] = []
        self._pairs: list[tuple[int, str]] = []

    def add(
        self,
        *,
        customer_id: Sequence[str],
        placed_at: Sequence[int],
        amount: Sequence[int | None],
        returned_amount: Sequence[int | None],
        status: Sequence[int],
        category: Sequence[str | int],
        channel: Sequence[str | int | None],
        order_id: Sequence[str],
        currency: Sequence[str | None] | None = None,
    ) -> None:
        """Append one chunk of orders (equal-length sequences, one entry per order).

        Args:
            customer_id: the orders' customer ids.
            placed_at: µs since the epoch, UTC.
            amount: each order's total in minor units of its own currency; None when
                it has no exact minor-unit value (refused in :meth:`build`).
            returned_amount: each order's refund, like ``amount``.
            status: codes into :data:`STATUS_CODES`.
            category: each order's main category (or its code from
                :meth:`known_categories`).
            channel: each order's channel, None for none (or its code from
                :meth:`known_channels`).
            order_id: the order ids.
            currency: each order's currency, None for the frame's currency (None for
                the whole chunk: every order is in the frame's currency).
        """
        parts = self._parts
        n = len(order_id)
        parts["cust"].append(self._customers.codes(customer_id))
        parts["t"].append(np.array(placed_at, dtype=np.int64))
        parts["a"].append(self._money(amount, order_id, "total"))
        parts["r"].append(self._money(returned_amount, order_id, "refund"))
        parts["s"].append(np.array(status, dtype=np.int8))
        parts["cat"].append(self._categories.codes(category))
        parts["ch"].append(self._channels.codes(channel))
        oid = np.empty(n, dtype=object)
        oid[:] = order_id
        parts["oid"].append(oid)
        if currency is not None and currency.count(None) != n:
            # Only chunks with foreign rows keep a column (with where it starts).
            self._foreign.append((self._rows, self._currencies.codes(currency)))
        self._rows += n

    @staticmethod
    def _money(values: Sequence[int | None], order_id: Sequence[str], what: str) -> AnyArray:
        try:
            return np.array(values, dtype=np.int64)
        except (TypeError, OverflowError):
            row = next(i for i, v in enumerate(values) if v is None or not -(2**63) <= v < 2**63)
            raise ValidationError(
                f"order {order_id[row]}",
                values[row],
                f"an order {what} with an exact minor-unit value in its currency "
                "(at most the currency's decimals, below 10^14)",
            ) from None

    def add_orders(
        self,
        orders: Iterable[Order],
        summarise: Callable[[Order], _OrderSummary],
        *,
        window: tuple[int | None, int | None] = (None, None),
        customers: frozenset[str] | None = None,
    ) -> None:
        """Append one chunk of Order entities, in the order given, keeping those placed
        in ``window`` by ``customers`` (None: no filter; the arguments as
        :func:`check_window` and :func:`check_customers` return them).

        The one reading of an order into the frame's columns, for
        :meth:`OrderFrame.from_orders` and the memory store's columnar port (which
        passes no window: its time index has applied it). The items are not
        type-checked here, per item: ``from_orders`` checks each chunk first.

        Args:
            orders: the orders.
            summarise: an order's (total, refund) in minor units of its own currency
                (None: no exact minor-unit value), its main category (that of the line
                with the largest subtotal, the first such line on ties) and its
                distinct categories, sorted, when it has several (None otherwise): the
                domain's arithmetic in ``from_orders``, the stores' column codec in the
                port.
            window: (since, until) in µs UTC, inclusive (None: unbounded).
            customers: keep only these customers' orders.
        """
        since_us, until_us = window
        status_index = _STATUS_INDEX
        currency = self.currency
        start = self._rows
        cid: list[str] = []
        placed: list[int] = []
        total: list[int | None] = []
        refunded: list[int | None] = []
        status: list[int] = []
        main: list[str] = []
        channel: list[str | None] = []
        oid: list[str] = []
        own: list[str | None] = []
        line_rows: list[int] = []
        names: list[str] = []
        for order in orders:
            if customers is not None and order.customer_id not in customers:
                continue
            at = to_epoch_micros(order.placed_at)
            if (since_us is not None and at < since_us) or (until_us is not None and at > until_us):
                continue
            order_total, order_refund, order_main, several = summarise(order)
            if several is not None:
                line_rows.extend([start + len(oid)] * len(several))
                names.extend(several)
            order_currency = order.lines[0].unit_price.currency
            cid.append(order.customer_id)
            placed.append(at)
            total.append(order_total)
            refunded.append(order_refund)
            status.append(status_index[order.status])
            main.append(order_main)
            channel.append(order.channel)
            oid.append(order.id)
            own.append(None if order_currency == currency else order_currency)
        self.add(
            customer_id=cid,
            placed_at=placed,
            amount=total,
            returned_amount=refunded,
            status=status,
            category=main,
            channel=channel,
            order_id=oid,
            currency=own,
        )
        self.add_categories(line_rows, names)

    def known_categories(self) -> dict[str, int]:
        """Category -> the code :meth:`add` accepts in its place (an ``int``), for
        every category seen so far: an adapter may code these in its query."""
        return self._categories.known()

    def known_channels(self) -> dict[str, int]:
        """Channel -> the code :meth:`add` accepts in its place (see
        :meth:`known_categories`)."""
        return self._channels.known()

    def add_categories(self, row: Sequence[int], category: Sequence[str]) -> None:
        """Add (row, category) pairs of orders with several distinct categories.

        ``row`` counts the orders added so far from 0; pairs may come in any order and
        repeat; :meth:`build` sorts them by row, then name, and drops repeats. Pairs
        for an order with one distinct category must not be given.
        """
        self._pairs.extend(zip(row, category, strict=True))

    def build(self, customer_index: Any = None, *, sort: bool = False) -> OrderFrame:
        """The frame of every row added (see :class:`OrderFrame`).

        Args:
            customer_index: fixes the first customer codes (module docstring).
            sort: the rows were added in any order: put them in the frame's order,
                by ``placed_at`` then order id (a stable numpy sort on the times; only
                rows that tie on time are ordered by id in Python).

        Raises:
            ValidationError: a row in a currency without a rate into the frame's
                currency, or a total or refund without a minor-unit value.
        """
        parts = self._parts
        n = self._rows
        columns: dict[str, AnyArray] = {}
        for key, dtype in (
            ("cust", np.int32), ("t", np.int64), ("a", np.int64), ("r", np.int64),
            ("s", np.int8), ("cat", np.int32), ("ch", np.int32), ("oid", object),
        ):  # fmt: skip
            # One column at a time, its chunks freed as soon as it is joined.
            columns[key] = _join(parts.pop(key), dtype)
        foreign = np.full(n if self._foreign else 0, -1, dtype=np.int32)
        for start, codes in self._foreign:
            foreign[start : start + len(codes)] = codes
        self._foreign = []
        if len(foreign):
            columns["cur"] = foreign
        pair_list = self._pairs
        if sort:
            perm = time_then_id_order(columns["t"], columns["oid"])
            if perm is not None:
                for key, column in columns.items():
                    columns[key] = column[perm]
                rank = np.empty(n, dtype=np.int64)
                rank[perm] = np.arange(n, dtype=np.int64)
                pair_list = [(int(rank[row]), name) for row, name in pair_list]
        amount, returned = columns.pop("a"), columns.pop("r")
        if "cur" in columns:
            amount, returned = self._convert(amount, returned, columns.pop("cur"))
        pairs = sorted(set(pair_list))
        line_row = line_category = None
        if pairs:
            line_row = np.array([p[0] for p in pairs], dtype=np.int64)
            pair_codes = self._categories.codes([p[1] for p in pairs])
        else:
            pair_codes = np.empty(0, dtype=np.int32)
        codes, category_names = self._categories.sorted(
            np.concatenate([columns["cat"], pair_codes])
        )
        if pairs:
            line_category = codes[n:]
        customer_ids, customer_code, channel_codes, channel_names = self._coded(
            columns, customer_index
        )
        return OrderFrame(
            customer_code=customer_code,
            customer_ids=customer_ids,
            placed_at=columns["t"],
            amount=amount,
            returned_amount=returned,
            status=columns["s"],
            category=codes[:n],
            category_names=category_names,
            channel=channel_codes,
            channel_names=channel_names,
            currency=self.currency,
            order_id=columns["oid"],
            line_row=line_row,
            line_category=line_category,
        )

    def _convert(
        self, amount: AnyArray, returned: AnyArray, foreign: AnyArray
    ) -> tuple[AnyArray, AnyArray]:
        amount = amount.copy()
        returned = returned.copy()
        for code, name in enumerate(self._currencies.names()):
            rate = self.rates.get(name)
            if name == self.currency:
                continue
            rows = np.flatnonzero(foreign == code)
            if not len(rows):
                continue
            if rate is None:
                raise ValidationError(
                    "currency",
                    name,
                    f"orders in {self.currency}, or rates for {name} into {self.currency}",
                )
            for row in rows.tolist():
                total = cv.convert_minor(int(amount[row]), name, self.currency, rate)
                refund = cv.convert_minor(int(returned[row]), name, self.currency, rate)
                amount[row] = total
                returned[row] = min(total, refund)
        return amount, returned


class InteractionFrameBuilder(_FrameBuilder):
    """Assembles an :class:`InteractionFrame` from a store's rows, chunk by chunk.

    The interaction counterpart of :class:`OrderFrameBuilder`, for adapters
    implementing :meth:`custmgmt.ports.ColumnarStore.interaction_frame`.
    """

    def __init__(self) -> None:
        super().__init__(("cust", "t", "k", "r", "c", "z", "ch", "id"), channel_codes=False)

    def add(
        self,
        *,
        customer_id: Sequence[str],
        at: Sequence[int],
        kind: Sequence[int],
        rating: Sequence[int],
        complaint_category: Sequence[int],
        resolved: Sequence[bool | int],
        channel: Sequence[str | None],
        interaction_id: Sequence[str] | None = None,
    ) -> None:
        """Append one chunk of interactions (equal-length sequences).

        Args:
            customer_id: the customer ids.
            at: µs since the epoch, UTC.
            kind: codes into :data:`KIND_CODES`.
            rating: a review's rating, 0 for other kinds.
            complaint_category: codes into :data:`COMPLAINT_CATEGORY_CODES`, -1 none.
            resolved: whether a complaint is resolved (False for other kinds).
            channel: the channel (None: none).
            interaction_id: the interaction ids, needed (only) to sort the rows in
                :meth:`build`; they are not part of the frame.
        """
        parts = self._parts
        if interaction_id is not None:
            ids = np.empty(len(interaction_id), dtype=object)
            ids[:] = interaction_id
            parts["id"].append(ids)
        parts["cust"].append(self._customers.codes(customer_id))
        parts["t"].append(np.array(at, dtype=np.int64))
        parts["k"].append(np.array(kind, dtype=np.int8))
        parts["r"].append(np.array(rating, dtype=np.int8))
        parts["c"].append(np.array(complaint_category, dtype=np.int8))
        parts["z"].append(np.array(resolved, dtype=bool))
        parts["ch"].append(self._channels.codes(channel))
        self._rows += len(at)

    def add_interactions(
        self,
        interactions: Iterable[Interaction],
        *,
        window: tuple[int | None, int | None] = (None, None),
        customers: frozenset[str] | None = None,
        kinds: frozenset[InteractionKind] | None = None,
    ) -> None:
        """Append one chunk of Interaction entities, in the order given, keeping those
        in ``window`` ((since, until) in µs UTC, inclusive; None: unbounded) of
        ``customers`` and ``kinds`` (None: no filter; the arguments as
        :func:`check_window`, :func:`check_customers` and :func:`check_kinds` return
        them).

        The one reading of an entity into the frame's columns, for
        :meth:`InteractionFrame.from_interactions` and the memory store's columnar port
        (which passes no window: its time index has applied it). The items are not
        type-checked here, per item: ``from_interactions`` checks each chunk first.
        """
        since_us, until_us = window
        kind_index = _KIND_INDEX
        complaint_index = _COMPLAINT_INDEX
        cid: list[str] = []
        t: list[int] = []
        k: list[int] = []
        r: list[int] = []
        c: list[int] = []
        z: list[bool] = []
        channel: list[str | None] = []
        for item in interactions:
            if customers is not None and item.customer_id not in customers:
                continue
            if kinds is not None and item.kind not in kinds:
                continue
            at = to_epoch_micros(item.at)
            if (since_us is not None and at < since_us) or (until_us is not None and at > until_us):
                continue
            details = item.details
            cid.append(item.customer_id)
            t.append(at)
            k.append(kind_index[item.kind])
            r.append(details.rating if isinstance(details, Review) else 0)
            if isinstance(details, Complaint):
                c.append(complaint_index[details.category])
                z.append(details.resolved)
            else:
                c.append(-1)
                z.append(False)
            channel.append(item.channel)
        self.add(
            customer_id=cid,
            at=t,
            kind=k,
            rating=r,
            complaint_category=c,
            resolved=z,
            channel=channel,
        )

    def build(self, customer_index: Any = None, *, sort: bool = False) -> InteractionFrame:
        """The frame of every row added (see :class:`InteractionFrame`).

        Args:
            customer_index: fixes the first customer codes; pass the ``OrderFrame``.
            sort: the rows were added in any order: put them in the frame's order, by
                ``at`` then interaction id (every chunk must have given its ids).

        Raises:
            ValidationError: ``sort`` without the interaction ids.
        """
        parts = self._parts
        columns = {
            key: _join(parts.pop(key), dtype)
            for key, dtype in (
                ("cust", np.int32), ("t", np.int64), ("k", np.int8), ("r", np.int8),
                ("c", np.int8), ("z", bool), ("ch", np.int32),
            )
        }  # fmt: skip
        if sort:
            ids = _join(parts["id"], object)
            if len(ids) != self._rows:
                raise ValidationError("interaction_id", None, "the ids of every row, to sort")
            perm = time_then_id_order(columns["t"], ids)
            if perm is not None:
                columns = {key: column[perm] for key, column in columns.items()}
        parts.clear()
        customer_ids, customer_code, channel_codes, channel_names = self._coded(
            columns, customer_index
        )
        return InteractionFrame(
            customer_code=customer_code,
            customer_ids=customer_ids,
            at=columns["t"],
            kind=columns["k"],
            rating=columns["r"],
            complaint_category=columns["c"],
            resolved=columns["z"],
            channel=channel_codes,
            channel_names=channel_names,
        )


# -- optional DataFrame libraries ------------------------------------------------------
def _require(module: str) -> Any:
    return require(module, extra=module, purpose=f"DataFrame interop ({module})")


def _decategorise(value: Any) -> Any:
    if isinstance(value, tuple):
        codes, names = value
        return _labels(names, codes)
    return value


def _dataframe_columns(
    library: str, df: Any, columns: Mapping[str, str] | None, known: tuple[str, ...]
) -> dict[str, Any]:
    """Our name -> numpy values (or ``(codes, names)`` for a categorical) of each known
    column a ``library`` ("pandas" or "polars") DataFrame has, after the
    ``columns={"our_name": "df_name"}`` renames."""
    module = _require(library)
    if not isinstance(df, module.DataFrame):
        raise ValidationError("df", type(df).__name__, f"a {library} DataFrame")
    convert = _pandas_column if library == "pandas" else _polars_column
    rename = dict(columns or {})
    repeated = sorted(str(n) for n, k in Counter(df.columns).items() if k > 1)
    if repeated:
        # pandas hands back a DataFrame, not a column, for a repeated name.
        raise ValidationError("df.columns", repeated, "each column name once")
    out: dict[str, Any] = {}
    for name in known:
        source = rename.get(name, name)
        if source in df.columns:
            out[name] = convert(module, name, df[source])
    return out


def _pandas_column(pd: Any, name: str, series: Any) -> Any:
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return (series.cat.codes.to_numpy(), [str(c) for c in dtype.categories])
    if isinstance(dtype, pd.DatetimeTZDtype):
        return series.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype("datetime64[us]")
    if dtype.kind == "M":
        raise ValidationError(name, str(dtype), "timezone-aware datetimes (or int64 µs UTC)")
    if dtype.kind in "OUS" or str(dtype).startswith("string"):
        return series.to_numpy(dtype=object, na_value=None)
    return series.to_numpy()


def _polars_column(pl: Any, name: str, series: Any) -> Any:
    dtype = series.dtype
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is None:
            raise ValidationError(name, str(dtype), "timezone-aware datetimes (or int64 µs UTC)")
        return series.dt.epoch("us").to_numpy()
    if dtype in (pl.Utf8, pl.Categorical) or isinstance(dtype, pl.Enum):
        return np.asarray(series.cast(pl.Utf8).to_list(), dtype=object)
    return series.to_numpy()


def _labels(names: Iterable[str], codes: AnyArray) -> AnyArray:
    table = np.asarray([*names, None], dtype=object)
    return table[np.asarray(codes, dtype=np.int64)]


def _to_pandas(cols: dict[str, Any], time_columns: tuple[str, ...]) -> Any:
    pd = _require("pandas")
    data: dict[str, Any] = {}
    for name, value in cols.items():
        if isinstance(value, tuple):
            names, codes = value
            data[name] = pd.Categorical.from_codes(
                np.asarray(codes, dtype=np.int64), categories=list(names)
            )
        elif name in time_columns:
            data[name] = pd.Series(np.asarray(value).view("datetime64[us]")).dt.tz_localize(UTC)
        else:
            data[name] = np.asarray(value)
    return pd.DataFrame(data)


def _to_polars(cols: dict[str, Any], time_columns: tuple[str, ...]) -> Any:
    pl = _require("polars")
    series = []
    for name, value in cols.items():
        if isinstance(value, tuple):
            names, codes = value
            series.append(pl.Series(name, _labels(names, codes).tolist(), dtype=pl.Utf8))
        elif name in time_columns:
            series.append(
                pl.Series(name, np.asarray(value))
                .cast(pl.Datetime("us"))
                .dt.replace_time_zone("UTC")
            )
        else:
            arr = np.asarray(value)
            if arr.dtype == object:
                series.append(pl.Series(name, arr.tolist()))
            else:
                series.append(pl.Series(name, arr))
    return pl.DataFrame(series)
