"""Demo section: one customer's profile, orders and interactions in one place."""

from __future__ import annotations

from typing import TYPE_CHECKING

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
    name_line, *rest = view.format().splitlines()
    ctx.heading(f"One customer in one place: {name_line}")
    for line in rest:
        ctx.print(line)
