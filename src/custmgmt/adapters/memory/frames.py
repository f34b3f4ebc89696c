"""The columnar port of the memory store: frames from its time index.

:func:`order_frame` and :func:`interaction_frame` implement
:meth:`ColumnarStore.order_frame <custmgmt.ports.ColumnarStore.order_frame>` and
:meth:`ColumnarStore.interaction_frame <custmgmt.ports.ColumnarStore.interaction_frame>`:
the time window is read from the repository's sorted ``(µs, id)`` index, the
customer and kind filters are applied while walking it, and the stored (immutable)
entities are read attribute by attribute into the columns of
:class:`~custmgmt.analytics.frames.OrderFrameBuilder`; nothing is copied or rebuilt.
The whole read holds the store's lock, so it sees one state of the store.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Protocol, TypeVar

from custmgmt.adapters._columns import CATEGORY_SEPARATOR, order_summary
from custmgmt.analytics.frames import (
    COMPLAINT_CATEGORY_CODES,
    KIND_CODES,
    STATUS_CODES,
    InteractionFrame,
    InteractionFrameBuilder,
    OrderFrame,
    OrderFrameBuilder,
    check_customers,
    check_kinds,
    check_window,
)
from custmgmt.domain import Complaint, Interaction, InteractionKind, Order, Review

E = TypeVar("E")


class IndexedEntities(Protocol[E]):
    """What a frame reads of a memory repository (``MemoryOrderRepository`` and
    ``MemoryInteractionRepository`` provide it; the store module imports this one,
    not the other way round)."""

    @property
    def lock(self) -> AbstractContextManager[Any]:
        """The store's lock, held for the whole read."""
        ...

    @property
    def items(self) -> Mapping[str, E]:
        """The stored entities by id."""
        ...

    def window_ids(self, lo: int | None, hi: int | None) -> list[str]:
        """Ids of the entities with ``lo <= µs <= hi`` (``None``: unbounded), in
        ``(µs, id)`` order."""
        ...

    def micros(self, entity: E) -> int:
        """The entity's time, µs since the epoch (UTC)."""
        ...

__all__ = ["IndexedEntities", "interaction_frame", "order_frame"]

_CHUNK = 65_536


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
    status_index = {s: i for i, s in enumerate(STATUS_CODES)}
    with orders.lock:
        items = orders.items
        ids = orders.window_ids(lo, hi)
        for start in range(0, len(ids), _CHUNK):
            cid: list[str] = []
            placed: list[int] = []
            total: list[int | None] = []
            refund: list[int | None] = []
            status: list[int] = []
            main: list[str] = []
            channel: list[str | None] = []
            oid: list[str] = []
            own: list[str | None] = []
            line_rows: list[int] = []
            names: list[str] = []
            for order_id in ids[start : start + _CHUNK]:
                order = items[order_id]
                if wanted is not None and order.customer_id not in wanted:
                    continue
                summary = order_summary(order)
                if summary.line_categories is not None:
                    parts = summary.line_categories.split(CATEGORY_SEPARATOR)
                    line_rows.extend([len(builder) + len(oid)] * len(parts))
                    names.extend(parts)
                order_currency = order.lines[0].unit_price.currency
                cid.append(order.customer_id)
                placed.append(orders.micros(order))
                total.append(summary.total_minor)
                refund.append(summary.returned_minor)
                status.append(status_index[order.status])
                main.append(summary.main_category)
                channel.append(order.channel)
                oid.append(order_id)
                own.append(None if order_currency == currency else order_currency)
            builder.add(
                customer_id=cid,
                placed_at=placed,
                amount=total,
                returned_amount=refund,
                status=status,
                category=main,
                channel=channel,
                order_id=oid,
                currency=own,
            )
            builder.add_categories(line_rows, names)
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
    kind_index = {k: i for i, k in enumerate(KIND_CODES)}
    complaint_index = {c: i for i, c in enumerate(COMPLAINT_CATEGORY_CODES)}
    builder = InteractionFrameBuilder()
    with interactions.lock:
        items = interactions.items
        ids = interactions.window_ids(lo, hi)
        for start in range(0, len(ids), _CHUNK):
            cid: list[str] = []
            at: list[int] = []
            kind: list[int] = []
            rating: list[int] = []
            complaint: list[int] = []
            resolved: list[bool] = []
            channel: list[str | None] = []
            for interaction_id in ids[start : start + _CHUNK]:
                item = items[interaction_id]
                if wanted is not None and item.customer_id not in wanted:
                    continue
                if wanted_kinds is not None and item.kind not in wanted_kinds:
                    continue
                details = item.details
                cid.append(item.customer_id)
                at.append(interactions.micros(item))
                kind.append(kind_index[item.kind])
                rating.append(details.rating if isinstance(details, Review) else 0)
                if isinstance(details, Complaint):
                    complaint.append(complaint_index[details.category])
                    resolved.append(details.resolved)
                else:
                    complaint.append(-1)
                    resolved.append(False)
                channel.append(item.channel)
            builder.add(
                customer_id=cid,
                at=at,
                kind=kind,
                rating=rating,
                complaint_category=complaint,
                resolved=resolved,
                channel=channel,
            )
    return builder.build(customer_index)
