"""Purchase histories as columns: who bought which item when, coded for numpy.

:class:`Purchases` holds one row per (customer, item, time) from order lines, with
customers and items factorised into dense codes. Build it from arrays, or from a store
with :meth:`Purchases.from_store`, which reads orders through the columnar port
(``store.order_frame``: customer, time, status and order id per order, no entity
objects) and their lines through the store's :data:`~custmgmt.recommend.ports.PURCHASE_LINES`
reader when it has one (else through the order entities).

Which orders count: every order in the window that was neither cancelled nor wholly
returned (a product sent back was not kept, so it is no evidence of taste).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from custmgmt.analytics.frames import STATUS_CODES, OrderFrame
from custmgmt.domain import Order, OrderStatus
from custmgmt.domain.time import require_aware, to_epoch_micros
from custmgmt.errors import NotFound, ValidationError
from custmgmt.ports import Store
from custmgmt.recommend.ports import PURCHASE_LINES, LineColumns, OrderLineReader

__all__ = ["Purchases", "lines_from_orders"]

I64 = npt.NDArray[np.int64]
_KEPT = np.array(
    [s not in (OrderStatus.CANCELLED, OrderStatus.RETURNED) for s in STATUS_CODES], dtype=bool
)


def _objects(values: Iterable[Any]) -> npt.NDArray[Any]:
    items = list(values)
    array = np.empty(len(items), dtype=object)
    array[:] = items
    return array


def lines_from_orders(orders: Iterable[Order]) -> LineColumns:
    """Order lines as columns from order entities (the path for stores without a reader)."""
    rows = sorted(
        (order.id, i, line.sku, line.quantity)
        for order in orders
        for i, line in enumerate(order.lines)
    )
    return LineColumns(
        order_id=_objects(r[0] for r in rows),
        sku=_objects(r[2] for r in rows),
        quantity=np.array([r[3] for r in rows], dtype=np.int64),
    )


def _factorise(name: str, values: npt.NDArray[Any]) -> tuple[npt.NDArray[Any], I64]:
    if values.ndim != 1:
        raise ValidationError(name, values.shape, "a 1-d column of ids")
    try:
        names, codes = np.unique(values, return_inverse=True)
    except TypeError:  # ids that cannot be sorted together: 1 and "a", None and "b"
        kinds = sorted({type(v).__name__ for v in values.tolist()})
        raise ValidationError(name, f"ids of types {kinds}", "ids of one type (str)") from None
    if not all(isinstance(v, str) for v in names.tolist()):
        # Int ids were coded, then every lookup by a str id (recommend, similar_items,
        # evaluate) compared str with int inside numpy and raised a bare TypeError.
        kinds = sorted({type(v).__name__ for v in names.tolist()})
        raise ValidationError(name, f"ids of types {kinds}", "string ids")
    return names, codes.astype(np.int64).reshape(-1)


def _times(at: Any) -> I64:
    raw_at = np.asarray(at)
    if raw_at.ndim != 1:
        raise ValidationError("at", raw_at.shape, "a 1-d column of times")
    if raw_at.dtype == object:
        return np.array(
            [to_epoch_micros(require_aware("at", t)) for t in raw_at], dtype=np.int64
        )
    if len(raw_at) and raw_at.dtype.kind not in "iu":
        # datetime64 is naive and counts in its own unit (pandas: ns), floats may be NaN
        # or fractions, strings are not times: none of them is µs since the epoch.
        raise ValidationError(
            "at", f"a {raw_at.dtype} column", "int64 µs since the epoch or aware datetimes"
        )
    return raw_at.astype(np.int64)


@attrs.frozen(kw_only=True)
class Purchases:
    """Who bought what when, as coded columns (one row per order line).

    Attributes:
        customer: int64 customer code per row, into :attr:`customer_ids`.
        item: int64 item code per row, into :attr:`item_ids`.
        at: int64 µs since the epoch.
        customer_ids: sorted customer ids (object array).
        item_ids: sorted item ids (object array).
    """

    customer: I64
    item: I64
    at: I64
    customer_ids: Any
    item_ids: Any

    def __attrs_post_init__(self) -> None:
        n = len(self.customer)
        if len(self.item) != n or len(self.at) != n:
            raise ValidationError("item", len(self.item), f"columns of length {n}")
        for name in ("customer", "item", "at"):
            getattr(self, name).setflags(write=False)
        if n and (self.customer.min() < 0 or self.customer.max() >= len(self.customer_ids)):
            raise ValidationError("customer", "a code", "codes into customer_ids")
        if n and (self.item.min() < 0 or self.item.max() >= len(self.item_ids)):
            raise ValidationError("item", "a code", "codes into item_ids")

    def __len__(self) -> int:
        return len(self.customer)

    @property
    def n_customers(self) -> int:
        """How many customers are coded."""
        return len(self.customer_ids)

    @property
    def n_items(self) -> int:
        """How many items are coded (the catalogue seen)."""
        return len(self.item_ids)

    @classmethod
    def from_arrays(cls, *, customer_id: Any, item: Any, at: Any) -> Purchases:
        """Code raw columns: customer ids, item ids and µs times (int64) or datetimes.

        Raises:
            ValidationError: columns of different lengths or not 1-d, naive datetimes
                (``datetime64`` included), times that are neither integers nor
                datetimes, or ids that are not all strings.
        """
        customers = np.asarray(customer_id, dtype=object)
        items = np.asarray(item, dtype=object)
        times = _times(at)
        if not len(customers) == len(items) == len(times):
            raise ValidationError(
                "item", len(items), f"as many rows as customer_id ({len(customers)}) and at"
            )
        customer_ids, customer_codes = _factorise("customer_id", customers)
        item_ids, item_codes = _factorise("item", items)
        return cls(customer=customer_codes, item=item_codes, at=times,
                   customer_ids=customer_ids, item_ids=item_ids)

    @classmethod
    def from_store(
        cls,
        store: Store,
        *,
        as_of: datetime,
        since: datetime | None = None,
        currency: str = "CNY",
        rates: Any = None,
    ) -> Purchases:
        """The purchases of a store placed in ``[since, as_of]``.

        Args:
            store: any store; its columnar port and line reader are used when present.
            as_of: the end of the window (aware).
            since: the start of the window (aware), or None.
            currency: the order frame's currency (amounts are not used, but orders in
                other currencies need ``rates`` to be framed).
            rates: currency code -> rate into ``currency``.

        Raises:
            ValidationError: naive bounds, ``since`` after ``as_of``; an order in another
                currency without a rate.
        """
        require_aware("as_of", as_of)
        if since is not None and require_aware("since", since) > as_of:
            # The memory store refused it naming ``end`` (a name the caller never
            # passed); SQLite and PostgreSQL answered an empty window.
            raise ValidationError("since", since, f"not after as_of {as_of.isoformat()}")
        frame = OrderFrame.from_store(store, currency=currency, as_of=as_of, since=since,
                                      rates=rates)
        kept = _KEPT[frame.status.astype(np.int64)]
        reader = _reader(store)
        if reader is not None:
            lines = reader.line_columns(since=since, as_of=as_of)
        else:
            lines = lines_from_orders(_orders_in(store, frame, since, as_of))
        order_ids = np.asarray(frame.order_id, dtype=object)
        if len(order_ids) == 0 or len(lines) == 0:
            return cls.from_arrays(customer_id=[], item=[], at=np.zeros(0, dtype=np.int64))
        # Join lines to orders by id: sort the frame's ids once, search each line's.
        order_sort = np.argsort(order_ids, kind="stable")
        pos = np.searchsorted(order_ids[order_sort], lines.order_id)
        pos = np.minimum(pos, len(order_ids) - 1)
        row = order_sort[pos]
        found = order_ids[row] == lines.order_id
        row = row[found]
        keep = kept[row]
        row = row[keep]
        customer_ids = np.asarray(frame.customer_ids, dtype=object)
        return cls.from_arrays(
            customer_id=customer_ids[frame.customer_code[row]],
            item=np.asarray(lines.sku, dtype=object)[found][keep],
            at=frame.placed_at[row],
        )


def _orders_in(
    store: Store, frame: OrderFrame, since: datetime | None, as_of: datetime
) -> Iterable[Order]:
    """The orders placed in ``[since, as_of]`` through ``store.orders.between``.

    The window started in 1900 (orders placed before it, which the SQL readers and the
    order frame keep, were dropped on the in-memory store alone) and ended at
    ``as_of + 1 µs``, which overflowed for an ``as_of`` at the last representable
    moment: there the window ends at ``as_of`` and the orders placed at that very
    moment are looked up by id from the frame.
    """
    start = since if since is not None else datetime.min.replace(tzinfo=UTC)
    try:
        end = as_of + timedelta(microseconds=1)
    except OverflowError:
        at_end = np.asarray(frame.order_id, dtype=object)[
            np.asarray(frame.placed_at) == to_epoch_micros(as_of)
        ]
        last = [store.orders.get(str(order_id)) for order_id in at_end.tolist()]
        return [*store.orders.between(start, as_of), *last]
    return store.orders.between(start, end)


def _reader(store: Store) -> OrderLineReader | None:
    repository = getattr(store, "repository", None)
    if repository is None:
        return None
    try:
        found: OrderLineReader = repository(PURCHASE_LINES)
    except NotFound:
        return None
    return found
