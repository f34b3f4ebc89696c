"""Demo section: one customer's profile, orders and interactions in one place."""

from __future__ import annotations

from typing import TYPE_CHECKING

from custmgmt.domain.masking import mask_email, mask_phone
from custmgmt.services import customer_overview

if TYPE_CHECKING:
    from custmgmt.cli.demo_context import DemoContext

__all__ = ["demo_section"]


def demo_section(ctx: DemoContext) -> None:
    """Print the "customer 360" view of the customer with the most orders."""
    counts: dict[str, int] = {}
    for chunk in ctx.store.orders.iter_chunks():
        for order in chunk:
            counts[order.customer_id] = counts.get(order.customer_id, 0) + 1
    if not counts:
        return
    # Most orders first, ties broken by id, so the demo always shows the same customer.
    customer_id = min(counts, key=lambda cid: (-counts[cid], cid))
    view = customer_overview(ctx.store, customer_id, as_of=ctx.as_of)
    c = view.customer
    ctx.heading(f"One customer in one place: {c.name} ({c.id})")
    city = c.address.city if c.address and c.address.city else "-"
    age = c.age(ctx.as_of.date())
    gender = c.gender.value if c.gender else "-"
    ctx.print(
        f"{c.kind.value}, {gender}, age {age if age is not None else '-'}, "
        f"{c.occupation or '-'}, {city}, region {c.region or '-'}, "
        f"via {c.acquisition_channel or '-'}"
    )
    consented = [ch for ch in ("email", "sms", "social") if getattr(c.consent, ch)]
    # Personal data: a demo printout is shown and pasted around, so it is masked.
    ctx.print(
        f"contact: {mask_phone(c.phone) or '-'} / {mask_email(c.email) or '-'}; "
        f"marketing consent: {', '.join(consented) or 'none'}"
    )
    spend = ", ".join(str(m) for m in view.net_spend.values()) or "0"
    last = f"{view.last_order_at:%Y-%m-%d}" if view.last_order_at else "never"
    ctx.print(f"{view.order_count} orders (net {spend}), last {last}")
    kinds = ", ".join(
        f"{k.value} {n}" for k, n in sorted(view.interaction_counts.items(), key=lambda kv: -kv[1])
    )
    ctx.print(f"interactions: {kinds or 'none'}")
    if view.review_mean is not None:
        ctx.print(
            f"review mean {view.review_mean:.2f}; open complaints {len(view.open_complaints)}"
        )
