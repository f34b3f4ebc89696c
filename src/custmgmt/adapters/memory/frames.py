"""The columnar port of the memory store: frames from its time index.

:func:`order_frame` and :func:`interaction_frame` implement
:meth:`ColumnarStore.order_frame <custmgmt.ports.ColumnarStore.order_frame>` and
:meth:`ColumnarStore.interaction_frame <custmgmt.ports.ColumnarStore.interaction_frame>`:
the time window is read from the repository's sorted ``(µs, id)`` index, the
stored (immutable) entities are read attribute by attribute into the columns of the
frame builders, filtered by customer and kind on the way, by the same code that reads
entities for ``OrderFrame.from_orders`` (:meth:`OrderFrameBuilder.add_orders
<custmgmt.analytics.frames.OrderFrameBuilder.add_orders>`, with the stores' column
codec for the money and categories, and :meth:`InteractionFrameBuilder.add_interactions
<custmgmt.analytics.frames.InteractionFrameBuilder.add_interactions>`); nothing is
copied or rebuilt.
The whole read holds the store's lock, so it sees one state of the store.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Protocol, TypeVar

from custmgmt.adapters._columns import CATEGORY_SEPARATOR, order_summary
from custmgmt.analytics.frames import (
    InteractionFrame,
    InteractionFrameBuilder,
    OrderFrame,
    OrderFrameBuilder,
    check_customers,
    check_kinds,
    check_window,
)
from custmgmt.domain import Interaction, InteractionKind, Order

E_co = TypeVar("E_co", covariant=True)


class IndexedEntities(Protocol[E_co]):
    """What a frame reads of a memory repository (``MemoryOrderRepository`` and
    ``MemoryInteractionRepository`` provide it; the store module imports this one,
    not the other way round)."""

    @property
    def lock(self) -> AbstractContextManager[Any]:
        """The store's lock, held for the whole read."""
        ...

    @property
    def items(self) -> Mapping[str, E_co]:
        """The stored entities by id."""
        ...

    def window_ids(self, lo: int | None, hi: int | None) -> list[str]:
        """Ids of the entities with ``lo <= µs <= hi`` (``None``: unbounded), in
        ``(µs, id)`` order."""
        ...


__all__ = ["IndexedEntities", "interaction_frame", "order_frame"]

_CHUNK = 65_536


def _stored_summary(order: Order) -> tuple[int | None, int | None, str, list[str] | None]:
    """The order's summary as the stores' column codec computes it (the SQL stores
    save it with each order), categories split from their stored form."""
    total, refund, main, joined = order_summary(order)
    return total, refund, main, None if joined is None else joined.split(CATEGORY_SEPARATOR)


def order_frame(
    orders: IndexedEntities[Order],
    *,
    currency: str,
    as_of: datetime | None = None,
    since: datetime | None = None,
    customers: Collection[str] | None = None,
    rates: Mapping[str, Any] | None = None,
    customer_index: Any = None,
) -> OrderFrame:
    """The stored orders as an OrderFrame (see
    :meth:`custmgmt.ports.ColumnarStore.order_frame` for the contract and errors)."""
    builder = OrderFrameBuilder(currency=currency, rates=rates)
    lo, hi = check_window(as_of, since)
    wanted = check_customers(customers)
    with orders.lock:
        items = orders.items
        ids = orders.window_ids(lo, hi)
        for start in range(0, len(ids), _CHUNK):
            # The window is the index's: the builder reads (and filters) the entities.
            builder.add_orders(
                map(items.__getitem__, ids[start : start + _CHUNK]),
                _stored_summary,
                customers=wanted,
            )
    return builder.build(customer_index)


def interaction_frame(
    interactions: IndexedEntities[Interaction],
    *,
    as_of: datetime | None = None,
    since: datetime | None = None,
    customers: Collection[str] | None = None,
    kinds: Collection[InteractionKind] | None = None,
    customer_index: Any = None,
) -> InteractionFrame:
    """The stored interactions as an InteractionFrame (see
    :meth:`custmgmt.ports.ColumnarStore.interaction_frame`)."""
    lo, hi = check_window(as_of, since)
    wanted = check_customers(customers)
    wanted_kinds = check_kinds(kinds)
    builder = InteractionFrameBuilder()
    with interactions.lock:
        items = interactions.items
        ids = interactions.window_ids(lo, hi)
        for start in range(0, len(ids), _CHUNK):
            # The window is the index's: the builder reads (and filters) the entities.
            builder.add_interactions(
                map(items.__getitem__, ids[start : start + _CHUNK]),
                customers=wanted,
                kinds=wanted_kinds,
            )
    return builder.build(customer_index)
