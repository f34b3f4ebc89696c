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
import os
import zoneinfo
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar, Self, cast

import attrs
import numpy as np
import numpy.typing as npt

from custmgmt._extras import require
from custmgmt.analytics import _convert as cv
from custmgmt.analytics._grouping import code_dtype, factorize, group_order, map_onto_index
from custmgmt.domain.interaction import (
    Complaint,
    ComplaintCategory,
    InteractionKind,
    Review,
)
from custmgmt.domain.money import currency_digits
from custmgmt.domain.order import OrderStatus
from custmgmt.domain.time import require_aware, to_epoch_micros
from custmgmt.errors import ValidationError

__all__ = [
    "COMPLAINT_CATEGORY_CODES",
    "COUNTED_STATUS_CODES",
    "KIND_CODES",
    "MISSING_TIME",
    "STATUS_CODES",
    "InteractionFrame",
    "OrderFrame",
    "counted_mask",
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
DEFAULT_CHUNK_SIZE = 10_000

AnyArray = npt.NDArray[Any]


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


def _encode_customers(customer_id: Any, customer_index: Any) -> tuple[AnyArray, AnyArray]:
    """(customer_ids, customer_code) with the index rules of the module docstring."""
    uniques, codes = factorize(customer_id, "customer_id")
    ids: AnyArray = uniques
    if customer_index is not None:
        ids, remap = map_onto_index(uniques, _index_ids(customer_index))
        codes = remap[codes]
    return ids, codes.astype(code_dtype(len(ids)), copy=False)


def _row_ids(customer_id: Any) -> AnyArray:
    """The customer id of each row, refusing anything but a one-dimensional array."""
    ids = np.asarray(customer_id)
    if ids.ndim != 1:
        raise ValidationError("customer_id", f"shape {ids.shape}", "a one-dimensional array")
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


class _Chunks:
    """Columns streamed from a store: per column, one numpy array per chunk, so only
    one chunk's values are ever held as Python objects."""

    def __init__(self, **dtypes: Any) -> None:
        self._dtypes = dtypes
        self._parts: dict[str, list[AnyArray]] = {key: [] for key in dtypes}

    def start(self) -> list[list[Any]]:
        """Empty lists for one chunk's values, one per column in declaration order."""
        return [[] for _ in self._dtypes]

    def add(self, values: list[list[Any]]) -> None:
        """Append one chunk's values (the lists from :meth:`start`) as arrays."""
        for (key, dtype), items in zip(self._dtypes.items(), values, strict=True):
            self._parts[key].append(np.array(items, dtype=dtype))

    def joined(self, key: str) -> AnyArray:
        """The whole column (empty, of its dtype, when no chunk came)."""
        parts = self._parts[key]
        return np.concatenate(parts) if parts else np.empty(0, dtype=self._dtypes[key])


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


class _CustomerFrame:
    """What both frames share: the customer index, read-only columns, re-indexing and
    DataFrame export. Subclasses are frozen attrs classes with ``customer_code`` and
    ``customer_ids`` fields."""

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
            order_id: order ids, kept as given.
            amount_unit: ``"minor"`` or ``"major"``.
            currencies: per-row currency codes, when rows are priced differently.
            rates: currency code -> ``Decimal`` rate into ``currency``.
            customer_index: a frame or ids that fix the first codes (module docstring).

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
        customer_ids, codes = _encode_customers(ids, customer_index)
        return cls(
            customer_code=codes,
            customer_ids=customer_ids,
            placed_at=times,
            amount=minor,
            returned_amount=returned,
            status=status_codes,
            category=category_codes,
            category_names=category_names,
            channel=channel_codes,
            channel_names=channel_names,
            currency=currency,
            order_id=order_ids,
        )

    @classmethod
    def from_store(
        cls,
        store: Any,
        *,
        currency: str,
        as_of: datetime | None = None,
        rates: Mapping[str, Any] | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        customer_index: Any = None,
    ) -> OrderFrame:
        """Stream ``store.orders.iter_chunks(chunk_size)`` into a frame.

        Memory stays bounded by one chunk of order objects plus the growing numpy
        columns. ``amount`` is ``Order.total``, ``returned_amount`` ``Order.refunded``;
        orders in another currency are converted with ``rates`` (else refused).

        Args:
            store: a :class:`custmgmt.ports.Store` (only ``.orders`` is read).
            currency: the frame's currency.
            as_of: when given (aware), orders placed after it are skipped.
            rates: currency code -> ``Decimal`` rate into ``currency``.
            chunk_size: orders per chunk.
            customer_index: fixes the first customer codes (module docstring).

        Raises:
            ValidationError: a naive ``as_of``, an order in a currency without a rate.
        """
        currency_digits(currency)  # refuse an unknown currency before streaming
        checked_rates = cv.check_rates(rates)
        limit = _as_of_limit(as_of)
        status_index = {s: i for i, s in enumerate(STATUS_CODES)}
        cols = _Chunks(cid=object, t=np.int64, a=np.int64, r=np.int64, s=np.int8, oid=object)
        category_labels: list[Any] = []
        channel_labels: list[Any] = []
        line_rows: list[int] = []
        line_labels: list[str] = []
        row = 0
        for chunk in store.orders.iter_chunks(chunk_size):
            cid, t, a, r, s, oid = values = cols.start()
            for order in chunk:
                placed = to_epoch_micros(order.placed_at)
                if limit is not None and placed > limit:
                    continue
                total = order.total.to_minor()
                refunded = order.refunded.to_minor()
                if order.currency != currency:
                    rate = checked_rates.get(order.currency)
                    if rate is None:
                        raise ValidationError(
                            "currency",
                            order.currency,
                            f"orders in {currency}, or rates for {order.currency} into {currency}",
                        )
                    total = cv.convert_minor(total, order.currency, currency, rate)
                    refunded = min(
                        total, cv.convert_minor(refunded, order.currency, currency, rate)
                    )
                cid.append(order.customer_id)
                t.append(placed)
                a.append(total)
                r.append(refunded)
                s.append(status_index[order.status])
                oid.append(order.id)
                best = max(order.lines, key=lambda line: line.subtotal.amount)
                category_labels.append(best.category)
                channel_labels.append(order.channel)
                categories = order.categories
                if len(categories) > 1:
                    for name in sorted(categories):
                        line_rows.append(row)
                        line_labels.append(name)
                row += 1
            cols.add(values)

        ids = cols.joined("cid")
        customer_ids, codes = _encode_customers(ids, customer_index)
        category_codes, category_names = cv.encode_labels(
            np.array(category_labels + line_labels, dtype=object),
            row + len(line_labels),
            "category",
        )
        channel_codes, channel_names = cv.encode_labels(
            np.array(channel_labels, dtype=object), row, "channel"
        )
        line_row = line_category = None
        if line_rows:
            line_row = np.asarray(line_rows, dtype=np.int64)
            line_category = category_codes[row:]
        return cls(
            customer_code=codes,
            customer_ids=customer_ids,
            placed_at=cols.joined("t"),
            amount=cols.joined("a"),
            returned_amount=cols.joined("r"),
            status=cols.joined("s"),
            category=category_codes[:row],
            category_names=category_names,
            channel=channel_codes,
            channel_names=channel_names,
            currency=currency,
            order_id=cols.joined("oid"),
            line_row=line_row,
            line_category=line_category,
        )

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
        from custmgmt.analytics._csv import read_orders_csv

        try:
            zone = zoneinfo.ZoneInfo(tz)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValidationError("tz", tz, "an IANA time zone such as 'Asia/Shanghai'") from None
        checked_rates = cv.check_rates(rates)
        data = read_orders_csv(
            path, currency=currency, zone=zone, rates=checked_rates, encoding=encoding
        )
        customer_ids, codes = data["customer_ids"], data["customer_code"]
        if customer_index is not None:
            customer_ids, remap = map_onto_index(customer_ids, _index_ids(customer_index))
            codes = remap[codes]
        return cls(
            customer_code=codes.astype(code_dtype(len(customer_ids)), copy=False),
            customer_ids=customer_ids,
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
            rating: review ratings 1..5, 0 (or None in a sequence) for none.
            complaint_category: ``ComplaintCategory`` members/values/codes, None for none.
            resolved: booleans (complaints).
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
        if rating is None:
            ratings = np.zeros(n, dtype=np.int8)
        else:
            raw = np.asarray(rating)
            if raw.dtype == object:
                raw = np.asarray([0 if x is None else x for x in raw.tolist()])
            cv.check_length("rating", raw, n, "customer_id")
            if raw.dtype.kind not in "iu":
                raise ValidationError("rating", raw.dtype, "integer ratings 0..5 (0 = none)")
            bad = (raw < 0) | (raw > 5)
            if bad.any():
                row = int(np.flatnonzero(bad)[0])
                raise ValidationError(f"rating[{row}]", int(raw[row]), "a rating 0..5 (0 = none)")
            ratings = raw.astype(np.int8)
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
        store: Any,
        *,
        as_of: datetime | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        customer_index: Any = None,
    ) -> InteractionFrame:
        """Stream ``store.interactions.iter_chunks(chunk_size)`` into a frame.

        Args:
            store: a :class:`custmgmt.ports.Store` (only ``.interactions`` is read).
            as_of: when given (aware), interactions after it are skipped.
            chunk_size: interactions per chunk.
            customer_index: fixes the first customer codes; pass the ``OrderFrame``.

        Raises:
            ValidationError: a naive ``as_of``.
        """
        limit = _as_of_limit(as_of)
        kind_index = {k: i for i, k in enumerate(KIND_CODES)}
        complaint_index = {c: i for i, c in enumerate(COMPLAINT_CATEGORY_CODES)}
        cols = _Chunks(cid=object, t=np.int64, k=np.int8, r=np.int8, c=np.int8, z=bool)
        channels: list[Any] = []
        for chunk in store.interactions.iter_chunks(chunk_size):
            cid, t, k, r, c, z = values = cols.start()
            for item in chunk:
                at = to_epoch_micros(item.at)
                if limit is not None and at > limit:
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
                channels.append(item.channel)
            cols.add(values)

        ids = cols.joined("cid")
        customer_ids, codes = _encode_customers(ids, customer_index)
        channel_codes, channel_names = cv.encode_labels(
            np.array(channels, dtype=object), len(ids), "channel"
        )
        return cls(
            customer_code=codes,
            customer_ids=customer_ids,
            at=cols.joined("t"),
            kind=cols.joined("k"),
            rating=cols.joined("r"),
            complaint_category=cols.joined("c"),
            resolved=cols.joined("z"),
            channel=channel_codes,
            channel_names=channel_names,
        )

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
