"""Loading columns into a store: the service over the columnar write port.

:func:`load_orders` stores an :class:`~custmgmt.analytics.batches.OrderBatch` through
the store's :meth:`ColumnarStore.load_orders <custmgmt.ports.ColumnarStore.load_orders>`
when it has one (both bundled stores), else through its entity repository. It lives
apart from the batch type because it reads :mod:`custmgmt.ports`, whose port names
the batch type (so the dependency goes one way only).
"""

from __future__ import annotations

from custmgmt.analytics.batches import OrderBatch
from custmgmt.errors import ValidationError
from custmgmt.ports import ColumnarStore, Store

__all__ = ["load_orders"]


def load_orders(store: Store, batch: OrderBatch) -> int:
    """Store every order of ``batch``, all or nothing; returns how many.

    A store with the columnar port (:class:`~custmgmt.ports.ColumnarStore`) writes the
    columns itself; any other store gets ``orders.add_many(batch.to_orders())`` inside
    its ``transaction()``. Either way the stored orders equal ``batch.to_orders()``.

    Raises:
        ValidationError: ``batch`` is not an :class:`OrderBatch`.
        Conflict: an order id is already stored; nothing is written.
        StorageError: the store failed; nothing is written.
    """
    if not isinstance(batch, OrderBatch):
        raise ValidationError("batch", type(batch).__name__, "an OrderBatch")
    if isinstance(store, ColumnarStore):
        return store.load_orders(batch)
    with store.transaction():
        return store.orders.add_many(batch.to_orders())
