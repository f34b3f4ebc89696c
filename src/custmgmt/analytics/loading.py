"""Loading columns into a store, and reading a store's frames for an analysis.

:func:`load_orders` stores an :class:`~custmgmt.analytics.batches.OrderBatch` through
the store's :meth:`ColumnarStore.load_orders <custmgmt.ports.ColumnarStore.load_orders>`
when it has one (both bundled stores), else through its entity repository. It lives
apart from the batch type because it reads :mod:`custmgmt.ports`, whose port names
the batch type (so the dependency goes one way only).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import numpy as np

from custmgmt.analytics.batches import OrderBatch
from custmgmt.analytics.frames import InteractionFrame, OrderFrame
from custmgmt.domain.time import require_aware
from custmgmt.errors import ValidationError
from custmgmt.ports import ColumnarStore, Store

__all__ = ["customers_known", "load_orders", "store_frames"]


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


def customers_known(store: Store, *, as_of: datetime) -> list[str]:
    """The ids of the customers registered at or before ``as_of``, in id order.

    Raises:
        ValidationError: a naive ``as_of``.
    """
    require_aware("as_of", as_of)
    ids = [
        c.id for chunk in store.customers.iter_chunks() for c in chunk if c.registered_at <= as_of
    ]
    return sorted(ids)


def store_frames(
    store: Store,
    *,
    as_of: datetime,
    currency: str,
    interactions: bool = True,
    every_customer: bool = True,
    rates: Mapping[str, Any] | None = None,
) -> tuple[OrderFrame, InteractionFrame | None]:
    """The orders (and interactions) of a store up to ``as_of``, as frames over one
    customer index.

    With ``every_customer`` the index holds every customer registered by ``as_of``,
    so customers with no order and no interaction yet are rows too (prospects, with
    zero counts), then anyone else with orders or interactions.

    Raises:
        ValidationError: a naive ``as_of``, an order in a currency without a rate.
        StorageError: the store failed.
    """
    require_aware("as_of", as_of)
    index = customers_known(store, as_of=as_of) if every_customer else None
    orders = OrderFrame.from_store(
        store,
        currency=currency,
        as_of=as_of,
        rates=rates,
        customer_index=None if index is None else np.asarray(index, dtype=object),
    )
    found = (
        InteractionFrame.from_store(store, as_of=as_of, customer_index=orders)
        if interactions
        else None
    )
    return orders, found
