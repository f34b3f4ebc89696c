"""Use cases that tie the ports and the domain together.

These are the operations a host application calls from a request handler or a job:
they enforce the rules that span several repositories (an order needs a known
customer) and assemble the one-page view of a customer that service staff need.
Given a live rater (``rater=``, an :class:`~custmgmt.rating.IncrementalRater`), each
stored order, return and complaint also updates the customer's stars at once.

The other use cases live with their capability and are listed, with these, in
``docs/getting-started.md`` ("A host application"): :func:`custmgmt.rating.rate_store`,
:func:`custmgmt.segmentation.report.segment_store`,
:func:`custmgmt.analytics.clv.analyse_clv`, :func:`custmgmt.tickets.open_ticket_report`,
:func:`custmgmt.tickets.open_ticket` and :func:`custmgmt.tickets.fire_ticket`; every
one is also importable from :mod:`custmgmt` itself.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import attrs

from custmgmt._text import one_line
from custmgmt.domain import (
    Complaint,
    Customer,
    Interaction,
    InteractionKind,
    Money,
    Order,
    OrderStatus,
)
from custmgmt.domain.masking import mask_email, mask_phone
from custmgmt.domain.time import require_aware
from custmgmt.errors import NotFound, ValidationError
from custmgmt.ports import Store

if TYPE_CHECKING:
    # A type name only: the service calls the rater's methods, it never builds one.
    from custmgmt.rating.incremental import IncrementalRater

__all__ = [
    "CustomerOverview",
    "customer_overview",
    "record_interaction",
    "record_order",
    "record_return",
]


@attrs.frozen(kw_only=True)
class CustomerOverview:
    """Everything known about one customer as of a moment: the "customer 360" view.

    Attributes:
        customer: the profile.
        as_of: the moment the view describes (later orders and interactions are left out).
        orders: the customer's orders placed up to ``as_of``, oldest first.
        interactions: interactions up to ``as_of``, oldest first.
        net_spend: spend net of returns and cancellations, per currency.
        order_count: orders that were not cancelled.
        last_order_at: when the latest non-cancelled order was placed (None: never).
        interaction_counts: interactions per kind.
        review_mean: the mean review rating (None: no reviews).
        open_complaints: complaints not yet resolved.
    """

    customer: Customer
    as_of: datetime
    orders: tuple[Order, ...]
    interactions: tuple[Interaction, ...]
    net_spend: dict[str, Money]
    order_count: int
    last_order_at: datetime | None
    interaction_counts: dict[InteractionKind, int]
    review_mean: float | None
    open_complaints: tuple[Interaction, ...]

    def format(self) -> str:
        """The view as lines for people (a person's name and the contact details masked)."""
        c = self.customer
        city = c.address.city if c.address and c.address.city else "-"
        age = c.age(self.as_of.date())
        gender = c.gender.value if c.gender else "-"
        consented = [ch for ch in ("email", "sms", "social") if getattr(c.consent, ch)]
        spend = ", ".join(str(m) for m in self.net_spend.values()) or "0"
        last = f"{self.last_order_at:%Y-%m-%d}" if self.last_order_at else "never"
        kinds = ", ".join(
            f"{k.value} {n}"
            for k, n in sorted(self.interaction_counts.items(), key=lambda kv: -kv[1])
        )
        lines = [
            f"{c.display_name} ({c.id})",
            (f"{c.kind.value}, {gender}, age {age if age is not None else '-'}, "
            f"{c.occupation or '-'}, {city}, region {c.region or '-'}, "
            f"via {c.acquisition_channel or '-'}"),
            # Personal data: a printout is shown and pasted around, so it is masked.
            (f"contact: {mask_phone(c.phone) or '-'} / {mask_email(c.email) or '-'}; "
            f"marketing consent: {', '.join(consented) or 'none'}"),
            f"{self.order_count} orders (net {spend}), last {last}",
            f"interactions: {kinds or 'none'}",
        ]
        if self.review_mean is not None:
            lines.append(
                f"review mean {self.review_mean:.2f}; open complaints "
                f"{len(self.open_complaints)}"
            )
        # One line each whatever the data holds (an id from a file may hold a line break).
        return "\n".join(one_line(line) for line in lines)


def customer_overview(store: Store, customer_id: str, *, as_of: datetime) -> CustomerOverview:
    """Assemble a customer's profile, orders and interactions up to ``as_of``.

    Raises:
        NotFound: no such customer.
        ValidationError: ``as_of`` is naive.
    """
    require_aware("as_of", as_of)
    customer = store.customers.get(customer_id)
    orders = tuple(o for o in store.orders.for_customer(customer_id) if o.placed_at <= as_of)
    interactions = tuple(i for i in store.interactions.for_customer(customer_id) if i.at <= as_of)
    spend: dict[str, Money] = {}
    for order in orders:
        spend[order.currency] = (
            spend.get(order.currency, Money.zero(order.currency)) + order.net_total
        )
    kept = [o for o in orders if o.status is not OrderStatus.CANCELLED]
    ratings = [i.rating for i in interactions if i.rating is not None]
    review_mean = float(Decimal(sum(ratings)) / len(ratings)) if ratings else None
    open_complaints = tuple(
        i for i in interactions if isinstance(i.details, Complaint) and not i.details.resolved
    )
    return CustomerOverview(
        customer=customer,
        as_of=as_of,
        orders=orders,
        interactions=interactions,
        net_spend=spend,
        order_count=len(kept),
        last_order_at=kept[-1].placed_at if kept else None,
        interaction_counts=dict(Counter(i.kind for i in interactions)),
        review_mean=review_mean,
        open_complaints=open_complaints,
    )


def record_order(
    store: Store, order: Order, *, rater: IncrementalRater | None = None
) -> int | None:
    """Store a new order for a known customer, placed no earlier than registration.

    With ``rater`` (an :class:`~custmgmt.rating.IncrementalRater`, e.g. rebuilt at
    start-up with :meth:`~custmgmt.rating.IncrementalRater.from_store`), the
    customer's stars are updated once the order is stored, and returned.

    Returns:
        The customer's stars from ``rater``; None without one.

    Raises:
        NotFound: the customer is unknown (nothing is stored).
        ValidationError: the order predates the customer's registration.
        Conflict: the order id is taken.
    """
    with store.transaction():
        customer = store.customers.get(order.customer_id)
        if order.placed_at < customer.registered_at:
            raise ValidationError(
                "Order.placed_at",
                order.placed_at,
                f"not before registration {customer.registered_at}",
            )
        store.orders.add(order)
    # Only what was stored moves the stars (a failed write raised above).
    return None if rater is None else rater.apply_order(order)


def record_return(
    store: Store,
    order_id: str,
    amount: Money,
    *,
    at: datetime,
    rater: IncrementalRater | None = None,
) -> Order:
    """Record a refund on a stored order (see :meth:`Order.record_return`).

    With ``rater``, the customer's stars are updated once the return is stored.

    Returns:
        The updated order.

    Raises:
        NotFound: no such order.
        TransitionNotAllowed: the order cannot take a return (not paid, cancelled).
        ValidationError: a non-positive amount, more than is left to refund, another
            currency, a naive ``at``.
        Conflict: the order changed concurrently; nothing is stored.
    """
    with store.transaction():
        before = store.orders.get(order_id)
        after = before.record_return(amount, at)
        store.orders.update(after)
    if rater is not None:
        rater.apply_return(before, after)
    return after


def record_interaction(
    store: Store, interaction: Interaction, *, rater: IncrementalRater | None = None
) -> int | None:
    """Store a new interaction of a known customer (a referral's referred one too).

    With ``rater``, a complaint (or any interaction, when the policy reads interaction
    features) updates the customer's stars once it is stored.

    Returns:
        The customer's stars from ``rater`` when it changed anything; None otherwise.

    Raises:
        NotFound: the customer (or the referred customer) is unknown; nothing is stored.
        Conflict: the interaction id is taken.
    """
    with store.transaction():
        store.customers.get(interaction.customer_id)
        referred = getattr(interaction.details, "referred_customer_id", None)
        if referred is not None:
            try:
                store.customers.get(referred)
            except NotFound:
                raise NotFound("customer", referred) from None
        store.interactions.add(interaction)
    return None if rater is None else rater.apply_interaction(interaction)
