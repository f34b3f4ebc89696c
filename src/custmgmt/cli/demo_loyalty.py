"""Demo section: one customer's points: earn, lock, redeem, expire, clawback on a return.

Picks the first customer (by id) with a returned order, at least three orders, and
an award old enough to expire by the demo's "now"; replays their history on the points
ledger in time order: each paid order earns (locked through the 7-day return window),
a redemption once the first points unlock, the clawback when the return is recorded,
and the expiry job at the end. Then prints the statement (lots, expiries, tier).

Every write carries an idempotency key (``order:<id>``, ``demo:redeem``,
``reverse:...``, ``expire:<lot>``), so a second run against the same database finds
them and adds nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from custmgmt._text import one_line
from custmgmt.cli.demo_context import DemoContext
from custmgmt.cli.points import print_statement
from custmgmt.domain import Order, OrderStatus
from custmgmt.loyalty import (
    DEFAULT_PROGRAM,
    EntryKind,
    account,
    earn_for_order,
    expire_points,
    redeem_points,
    reverse_for_order,
    statement,
    update_tier,
)
from custmgmt.loyalty.ports import LoyaltyStore

__all__ = ["demo_customer", "demo_section"]

_PAID = (OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.DELIVERED,
         OrderStatus.PARTIALLY_RETURNED, OrderStatus.RETURNED)


def demo_customer(store: LoyaltyStore, as_of: datetime) -> tuple[str, list[Order]] | None:
    """The customer the section follows and their paid orders up to ``as_of``, by payment."""
    by_customer: dict[str, list[Order]] = {}
    for chunk in store.orders.iter_chunks():
        for order in chunk:
            if order.status in _PAID and order.placed_at <= as_of:
                by_customer.setdefault(order.customer_id, []).append(order)
    year_ago = as_of - timedelta(days=366)

    def fits(orders: list[Order], strict: bool) -> bool:
        returned = any(not o.refunded.is_zero for o in orders)
        old = any(o.placed_at < year_ago for o in orders)
        return len(orders) >= 3 and returned and (old or not strict)

    for strict in (True, False):
        for cid in sorted(by_customer):
            if fits(by_customer[cid], strict):
                orders = sorted(by_customer[cid], key=lambda o: (o.paid_at or o.placed_at, o.id))
                return cid, orders
    return None


def demo_section(ctx: DemoContext) -> None:
    """Replay one customer's points and print the statement."""
    store = ctx.store
    assert isinstance(store, LoyaltyStore)
    ctx.heading("Points: earn, lock, redeem, expire, clawback")
    found = demo_customer(store, ctx.as_of)
    if found is None:
        ctx.print("no customer with three paid orders and a return: nothing to show")
        return
    cid, orders = found
    program = DEFAULT_PROGRAM
    # Events in time order: awards at payment, clawbacks at the refund, one redemption.
    events: list[tuple[datetime, int, Order]] = []
    for order in orders:
        events.append((order.paid_at or order.placed_at, 0, order))
        if not order.refunded.is_zero and order.returned_at is not None:
            events.append((order.returned_at, 1, order))
    events.sort(key=lambda e: (e[0], e[1], e[2].id))
    first_unlock = None
    for at, kind, order in events:
        if first_unlock is not None and at >= first_unlock:
            _redeem_once(store, cid, first_unlock)
            first_unlock = None
        if kind == 0:
            entry = earn_for_order(store, order.id, program=program, reverse_refunds=False)
            if (
                entry is not None
                and first_unlock is None
                and entry.locked_until is not None
                and store.loyalty.by_key(cid, "demo:redeem") is None
            ):
                first_unlock = entry.locked_until + timedelta(days=1)
        else:
            reverse_for_order(store, order.id, program=program)
    if first_unlock is not None and first_unlock <= ctx.as_of:
        _redeem_once(store, cid, first_unlock)
    expire_points(store, as_of=ctx.as_of, customer_ids=[cid], program=program)
    update_tier(store, cid, as_of=ctx.as_of, program=program)
    st = statement(store, cid, as_of=ctx.as_of, program=program)
    expired = sum(1 for e in st.entries if e.kind is EntryKind.EXPIRE)
    ctx.print(
        f"customer {one_line(cid)}: {len(orders)} paid orders, 1 point per yuan times the tier's "
        f"multiplier, locked 7 days after delivery, lots expire after 12 months ({expired} "
        "lots expired by the expiry job)"
    )
    print_statement(st, ctx.out, tz=ctx.as_of.tzinfo)


def _redeem_once(store: LoyaltyStore, cid: str, at: datetime) -> None:
    if store.loyalty.by_key(cid, "demo:redeem") is not None:
        return
    last = account(store, cid).at
    if last is not None and at < last:
        at = last
    available = account(store, cid).balance(at)
    points = min(available, max(100, available // 2))
    if points > 0:
        redeem_points(store, cid, points, key="demo:redeem", at=at, reason="积分兑换优惠券")
