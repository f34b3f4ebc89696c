"""Bulk loading: new orders as validated columns, written without building entities.

An :class:`OrderBatch` holds many new orders as numpy columns, one order (with one
line) per row, checked with the rules of :class:`~custmgmt.domain.Order`,
vectorised: every row of a batch would build a valid ``Order``, and a row that would
not is refused, naming the column, the row and the value.
:func:`custmgmt.analytics.loading.load_orders` stores a batch all or nothing, through
the store's columnar port when it has one (:meth:`ColumnarStore.load_orders
<custmgmt.ports.ColumnarStore.load_orders>`: both bundled stores; SQLite writes the
rows straight from the columns) and through ``store.orders.add_many(batch.to_orders())``
otherwise.

>>> import numpy as np
>>> from custmgmt.adapters.memory import MemoryStore
>>> from custmgmt.analytics.loading import load_orders
>>> batch = OrderBatch.from_arrays(
...     order_id=["o-1", "o-2"],
...     customer_id=["客户-1", "客户-2"],
...     placed_at=np.array(["2025-01-05T10:00", "2025-02-01T09:30"], dtype="datetime64[us]"),
...     amount=[19900, 500],
...     currency="CNY",
...     category="茶叶",
...     status=["delivered", "cancelled"],
... )
>>> store = MemoryStore()
>>> load_orders(store, batch)
2
>>> store.orders.get("o-1").total
Money(amount=Decimal('199.00'), currency='CNY')
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from custmgmt.analytics import _convert as cv
from custmgmt.analytics.frames import STATUS_CODES, OrderFrame
from custmgmt.domain._bulk import check_ids, check_texts
from custmgmt.domain.money import Money, currency_digits
from custmgmt.domain.order import Order, OrderLine, OrderStatus
from custmgmt.domain.time import from_epoch_micros
from custmgmt.errors import ValidationError

__all__ = ["DEFAULT_SKU", "STEP_COLUMNS", "OrderBatch"]

AnyArray = npt.NDArray[Any]

#: The sku of a batch's order lines when none is given.
DEFAULT_SKU = "-"

#: The ``Order`` field that holds the time of each status's step (None: placed only).
STEP_COLUMNS: Mapping[OrderStatus, str | None] = {
    OrderStatus.PLACED: None,
    OrderStatus.PAID: "paid_at",
    OrderStatus.SHIPPED: "shipped_at",
    OrderStatus.DELIVERED: "delivered_at",
    OrderStatus.CANCELLED: "cancelled_at",
    OrderStatus.RETURNED: "returned_at",
    OrderStatus.PARTIALLY_RETURNED: "returned_at",
}

_DELIVERED = STATUS_CODES.index(OrderStatus.DELIVERED)
_PLACED = STATUS_CODES.index(OrderStatus.PLACED)
_RETURN_CODES = [
    STATUS_CODES.index(OrderStatus.RETURNED),
    STATUS_CODES.index(OrderStatus.PARTIALLY_RETURNED),
]
# The instants a datetime can hold (0001-01-01 .. 9999-12-31 UTC), in µs.
_MIN_US = -62_135_596_800_000_000
_MAX_US = 253_402_300_799_999_999


def _check(items: list[Any], field: str, max_length: int | None, rows: list[int] | None) -> None:
    """:func:`check_ids` when ``max_length`` is None (an id column), else
    :func:`check_texts` with that length."""
    if max_length is None:
        check_ids(items, field, rows=rows)
    else:
        check_texts(items, field, max_length=max_length, rows=rows)


def _strings(
    values: Any, n: int, field: str, *, max_length: int | None, optional: bool = False
) -> AnyArray:
    """An object array of ``n`` texts checked like the domain checks them: ``str``,
    non-blank, at most ``max_length`` characters, no control characters, encodable
    (no lone surrogates). With ``max_length=None`` the column holds ids, checked as
    ``Order`` checks its ids and skus (:func:`check_ids`: at most
    :data:`~custmgmt.domain._validate.MAX_ID_LENGTH` characters, no tab or line
    break either). A single string is used for every row; None rows are allowed when
    ``optional``."""
    if values is None or isinstance(values, str):
        if values is None and not optional:
            raise ValidationError(field, None, "a text for every order")
        _check([values] if values is not None else [], field, max_length, None)
        out = np.empty(n, dtype=object)
        out[:] = [values] * n
        return out
    arr = np.asarray(values, dtype=object)
    cv.check_length(field, arr, n, "order_id")
    items = arr.tolist()
    if optional and None in items:
        present = [i for i, x in enumerate(items) if x is not None]
        _check([items[i] for i in present], field, max_length, present)
    else:
        _check(items, field, max_length, None)
    out = np.empty(n, dtype=object)
    out[:] = items
    return out


def _amounts(values: Any, field: str) -> AnyArray:
    """``values`` as an array; a bool in a sequence is refused (numpy would read
    ``[True, 0]`` as the integers 1 and 0; ``Money`` refuses booleans)."""
    if not isinstance(values, np.ndarray):
        values = list(values) if isinstance(values, list | tuple) else values
        if isinstance(values, list):
            for row, value in enumerate(values):
                if isinstance(value, bool | np.bool_):
                    raise ValidationError(f"{field}[{row}]", value, "an amount, not a boolean")
    return np.asarray(values)


def _money(values: AnyArray, digits: int, unit: str, field: str) -> AnyArray:
    """Exact int64 minor units (see ``OrderFrame.from_arrays``); in minor units only
    integers, as :meth:`Money.from_minor <custmgmt.domain.Money.from_minor>` takes."""
    if unit == "minor" and values.dtype == object:
        for row, value in enumerate(values.tolist()):
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValidationError(f"{field}[{row}]", value, "an integer number of minor units")
    return cv.to_minor(values, digits, unit, field)


def _times(values: Any, field: str, n: int) -> AnyArray:
    times = cv.to_micros(values, field)
    cv.check_length(field, times, n, "order_id")
    bad = (times < _MIN_US) | (times > _MAX_US)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ValidationError(
            f"{field}[{row}]", int(times[row]), "a time between the years 1 and 9999 (µs UTC)"
        )
    return times


@attrs.frozen(kw_only=True, eq=False, repr=False)
class OrderBatch:
    """New orders as validated, read-only columns: one order with one line per row.

    Row ``i`` is the order ``order_id[i]`` of ``customer_id[i]``, placed at
    ``placed_at[i]`` (stored in UTC), with one line (``sku[i]``, ``category[i]``,
    quantity 1, unit price ``amount[i]``), status ``STATUS_CODES[status[i]]`` reached
    at ``status_at[i]`` (the step's timestamp: ``delivered_at`` for a delivered order,
    ``cancelled_at`` for a cancelled one ...; unused for a placed one), refunded
    ``returned_amount[i]`` (0: nothing) and sold on ``channel[i]``; version 1.
    :meth:`to_orders` gives exactly these orders.

    Build with :meth:`from_arrays` or :meth:`from_frame`, which validate.

    Attributes:
        order_id: the order ids (``str``, distinct).
        customer_id: the customer ids (``str``).
        placed_at: int64 µs since the epoch, UTC.
        currency: the currency of every order.
        amount: int64 minor units, each order's total (its one line's price).
        returned_amount: int64 minor units refunded, ``0 <= returned_amount <= amount``.
        status: int8 codes into :data:`~custmgmt.analytics.frames.STATUS_CODES`.
        status_at: int64 µs, the time of the status's step.
        category: each line's category.
        sku: each line's sku.
        channel: each order's channel (``str`` or None).
    """

    order_id: AnyArray
    customer_id: AnyArray
    placed_at: AnyArray
    currency: str
    amount: AnyArray
    returned_amount: AnyArray
    status: AnyArray
    status_at: AnyArray
    category: AnyArray
    sku: AnyArray
    channel: AnyArray

    def __attrs_post_init__(self) -> None:
        for field in attrs.fields(type(self)):
            value = getattr(self, field.name)
            if isinstance(value, np.ndarray):
                view = value.view()
                view.flags.writeable = False
                object.__setattr__(self, field.name, view)

    def __len__(self) -> int:
        return len(self.order_id)

    def __repr__(self) -> str:
        return f"OrderBatch(orders={len(self)}, currency={self.currency!r})"

    @classmethod
    def from_arrays(
        cls,
        *,
        order_id: Any,
        customer_id: Any,
        placed_at: Any,
        amount: Any,
        currency: str,
        category: Any,
        sku: Any = DEFAULT_SKU,
        status: Any = None,
        status_at: Any = None,
        returned_amount: Any = None,
        channel: Any = None,
        amount_unit: str = "minor",
    ) -> OrderBatch:
        """Validate columns of new orders (sequences or arrays, one entry per order).

        Args:
            order_id: distinct order ids.
            customer_id: customer ids.
            placed_at: int64 µs UTC, numpy ``datetime64`` (read as UTC) or aware
                datetimes.
            amount: each order's total; integer minor units (``amount_unit="minor"``)
                or major units (``"major"``: ``Decimal``, decimal strings, floats
                exact to the currency's digits).
            currency: the currency of every order (ISO 4217).
            category: each order's category (one string: every order's).
            sku: each order line's sku (one string: every line's).
            status: ``OrderStatus`` members, values or codes (default: delivered).
            status_at: when each order reached its status, like ``placed_at``
                (default: when it was placed).
            returned_amount: refunds, same unit as ``amount`` (default 0).
            channel: each order's channel, None for none (one string: every order's).
            amount_unit: ``"minor"`` or ``"major"``.

        Raises:
            ValidationError: what ``Order`` refuses, naming the column and row: a
                missing, blank, too long or repeated id; text with control characters
                or lone surrogates; a time that is not aware or outside the years
                1-9999; a negative, inexact or too large amount (at least 10^14 in
                major units); a refund above the total, or none for a (partially)
                returned order; an unknown status; a status time before placement;
                columns of different lengths.
        """
        digits = currency_digits(currency)
        if order_id is None:
            raise ValidationError("order_id", None, "an id for every order")
        raw_ids = np.asarray(order_id, dtype=object)
        if raw_ids.ndim != 1:  # one string, a number, a generator: not one id per order
            raise ValidationError(
                "order_id", order_id, "a sequence of order ids (a list or a 1-d array)"
            )
        n = len(raw_ids)
        ids = _strings(order_id, n, "order_id", max_length=None)
        if n and len(set(ids.tolist())) != n:
            seen: set[str] = set()
            for row, value in enumerate(ids.tolist()):
                if value in seen:
                    raise ValidationError(f"order_id[{row}]", value, "distinct order ids")
                seen.add(value)
        if customer_id is None or isinstance(customer_id, str):
            raise ValidationError("customer_id", customer_id, "a customer id per order")
        customers = _strings(customer_id, n, "customer_id", max_length=None)
        placed = _times(placed_at, "placed_at", n)
        amounts = _amounts(amount, "amount")
        if amounts.size == 0:
            amounts = amounts.astype(np.int64)  # an empty list reads as float64
        cv.check_length("amount", amounts, n, "order_id")
        minor = _money(amounts, digits, amount_unit, "amount")
        limit = 10 ** (14 + digits)  # Money refuses 10^14 and above (major units)
        over = minor >= limit
        if over.any():
            row = int(np.flatnonzero(over)[0])
            raise ValidationError(
                f"amount[{row}]", int(minor[row]), f"below 10^14 {currency} ({limit} minor units)"
            )
        if returned_amount is None:
            returned = np.zeros(n, dtype=np.int64)
        else:
            returned_values = _amounts(returned_amount, "returned_amount")
            if returned_values.size == 0:
                returned_values = returned_values.astype(np.int64)
            cv.check_length("returned_amount", returned_values, n, "order_id")
            returned = _money(returned_values, digits, amount_unit, "returned_amount")
            above = returned > minor
            if above.any():
                row = int(np.flatnonzero(above)[0])
                raise ValidationError(
                    f"returned_amount[{row}]",
                    int(returned[row]),
                    f"at most the order's amount {int(minor[row])} (minor units)",
                )
        # Without ``status`` every order is delivered; a given column must name each
        # order's status (None in it is refused, as Order refuses it).
        default = _DELIVERED if status is None else None
        codes = np.array(cv.encode_enum(status, OrderStatus, n, "status", default))
        missing = np.isin(codes, _RETURN_CODES) & (returned <= 0)
        if missing.any():
            row = int(np.flatnonzero(missing)[0])
            raise ValidationError(
                f"returned_amount[{row}]",
                int(returned[row]),
                f"a positive refund for status {STATUS_CODES[int(codes[row])].value!r}",
            )
        if status_at is None:
            steps = placed
        else:
            steps = _times(status_at, "status_at", n)
            early = (steps < placed) & (codes != _PLACED)
            if early.any():
                row = int(np.flatnonzero(early)[0])
                raise ValidationError(
                    f"status_at[{row}]",
                    int(steps[row]),
                    f"not before placed_at {int(placed[row])} (µs UTC)",
                )
        return cls(
            order_id=ids,
            customer_id=customers,
            placed_at=placed,
            currency=currency,
            amount=minor,
            returned_amount=returned,
            status=codes,
            status_at=steps,
            category=_strings(category, n, "category", max_length=200),
            sku=_strings(sku, n, "sku", max_length=None),
            channel=_strings(channel, n, "channel", max_length=100, optional=True),
        )

    @classmethod
    def from_frame(
        cls, frame: OrderFrame, *, sku: Any = DEFAULT_SKU, status_at: Any = None
    ) -> OrderBatch:
        """The orders of a frame, to load into a store (the frame's ids, customers,
        times, amounts, refunds, statuses, main categories and channels).

        Raises:
            ValidationError: the frame has no ``order_id``, an order without a
                category, or orders with several categories (a frame keeps no lines:
                load such orders as entities), or any row :meth:`from_arrays` refuses.
        """
        if not isinstance(frame, OrderFrame):
            raise ValidationError("frame", type(frame).__name__, "an OrderFrame")
        if frame.order_id is None:
            raise ValidationError("frame.order_id", None, "a frame with order ids")
        if frame.line_row is not None and len(frame.line_row):
            row = int(frame.line_row[0])
            raise ValidationError(
                f"frame.line_row[{row}]",
                frame.order_id[row],
                "orders with one category (a frame keeps no lines: add such orders "
                "as Order entities)",
            )
        if (frame.category < 0).any():
            row = int(np.flatnonzero(frame.category < 0)[0])
            raise ValidationError(f"category[{row}]", None, "a category for every order")
        categories = np.asarray((*frame.category_names, ""), dtype=object)
        channels = np.asarray((*frame.channel_names, None), dtype=object)
        ids = frame.customer_ids[frame.customer_code]
        if ids.dtype != object:
            ids = np.asarray([str(x) for x in ids.tolist()], dtype=object)
        return cls.from_arrays(
            order_id=frame.order_id,
            customer_id=ids,
            placed_at=frame.placed_at,
            amount=frame.amount,
            currency=frame.currency,
            category=categories[frame.category],
            sku=sku,
            status=frame.status,
            status_at=status_at,
            returned_amount=frame.returned_amount,
            channel=channels[frame.channel],
        )

    def step_times(self) -> dict[str, AnyArray]:
        """Per step column of ``Order`` (``paid_at`` ...): µs UTC where the row's
        status sets it, ``MISSING`` (int64 min) elsewhere."""
        out: dict[str, AnyArray] = {}
        for name in dict.fromkeys(c for c in STEP_COLUMNS.values() if c is not None):
            codes = [STATUS_CODES.index(s) for s, c in STEP_COLUMNS.items() if c == name]
            mask = np.isin(self.status, codes)
            out[name] = np.where(mask, self.status_at, np.iinfo(np.int64).min)
        return out

    def to_orders(self) -> Iterator[Order]:
        """The batch's orders as entities (UTC times, version 1), in row order."""
        currency = self.currency
        rows = zip(
            self.order_id.tolist(),
            self.customer_id.tolist(),
            self.placed_at.tolist(),
            self.amount.tolist(),
            self.returned_amount.tolist(),
            self.status.tolist(),
            self.status_at.tolist(),
            self.category.tolist(),
            self.sku.tolist(),
            self.channel.tolist(),
            strict=True,
        )
        for oid, cid, placed, amount, refund, code, step, category, sku, channel in rows:
            status = STATUS_CODES[code]
            fields: dict[str, datetime | Money] = {}
            step_column = STEP_COLUMNS[status]
            if step_column is not None:
                fields[step_column] = from_epoch_micros(step)
            if refund:
                fields["returned_amount"] = Money.from_minor(refund, currency)
            yield Order(
                id=oid,
                customer_id=cid,
                placed_at=from_epoch_micros(placed),
                lines=(
                    OrderLine(
                        sku=sku,
                        category=category,
                        quantity=1,
                        unit_price=Money.from_minor(amount, currency),
                    ),
                ),
                status=status,
                channel=channel,
                **fields,  # type: ignore[arg-type]
            )
