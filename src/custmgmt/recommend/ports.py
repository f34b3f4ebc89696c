"""The recommend capability's port: order lines as columns, for purchase histories.

The core columnar port (``store.order_frame``) gives one row per order, without its
products. Recommendations need the products, so a store may offer the lines of the
orders in a window as columns under :data:`PURCHASE_LINES` (the SQLite store does,
straight from SQL). A store without it is read through its order entities
(:func:`custmgmt.recommend.purchases.lines_from_orders`); both give the same columns,
which :class:`custmgmt.testing.OrderLineReaderContract` checks.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol, runtime_checkable

import attrs

from custmgmt.ports import CapabilityKey

__all__ = ["PURCHASE_LINES", "LineColumns", "OrderLineReader"]


@attrs.frozen(kw_only=True)
class LineColumns:
    """Order lines as columns, one row per line, by order id then line number.

    Attributes:
        order_id: object array of order ids (``str``).
        sku: object array of skus (``str``).
        quantity: int64 units.
    """

    order_id: Any
    sku: Any
    quantity: Any

    def __len__(self) -> int:
        return len(self.order_id)


@runtime_checkable
class OrderLineReader(Protocol):
    """Reads the lines of stored orders as columns."""

    def line_columns(
        self, *, since: datetime | None = None, as_of: datetime | None = None
    ) -> LineColumns:
        """The lines of orders placed in ``[since, as_of]`` (either bound may be None).

        Rows go by order id (as Python compares strings), then by line number.

        Raises:
            ValidationError: a naive ``since`` or ``as_of``.
            StorageError: the backend failed.
        """
        ...


#: The key a store offers its order-line reader under (``store.purchase_lines``).
PURCHASE_LINES: CapabilityKey[OrderLineReader] = CapabilityKey("purchase_lines", OrderLineReader)
