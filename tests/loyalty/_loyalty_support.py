"""Shared helpers for the loyalty tests: a store with one customer, orders, a reference fold."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from custmgmt.domain import Money, Order
from custmgmt.loyalty import EntryKind, LedgerEntry
from custmgmt.loyalty import services as loyalty_services
from custmgmt.loyalty.ports import LoyaltyStore
from custmgmt.testing import make_customer, make_order, make_order_line

SHANGHAI = timezone(timedelta(hours=8))
T0 = datetime(2025, 1, 1, 9, 0, tzinfo=SHANGHAI)


def add_customer(store: LoyaltyStore, customer_id: str = "C-1", at: datetime = T0) -> None:
    store.customers.add(make_customer(id=customer_id, registered_at=at))


def paid_order(
    order_id: str,
    yuan: str,
    at: datetime,
    *,
    customer_id: str = "C-1",
    delivered_after: timedelta | None = timedelta(days=2),
) -> Order:
    order = make_order(
        id=order_id, customer_id=customer_id, placed_at=at,
        lines=[make_order_line(sku="SKU-" + order_id, unit_price=Money(Decimal(yuan), "CNY"))],
    ).pay(at)
    if delivered_after is not None:
        order = order.ship(at + delivered_after / 2).deliver(at + delivered_after)
    return order


def reference_lots(entries: list[LedgerEntry]) -> tuple[dict[str, dict[str, object]], int]:
    """Lot remainders and debt computed the slow, obvious way, straight from the entries."""
    lots: dict[str, dict[str, object]] = {}
    debt = 0
    for e in entries:
        if e.kind is EntryKind.EARN or (e.kind is EntryKind.ADJUST and e.points > 0):
            lots[e.id] = {
                "remaining": e.points + e.debt, "expires_at": e.expires_at,
                "locked_until": e.locked_until, "held": False,
            }
            debt += e.debt
        elif e.kind is EntryKind.LOCK:
            lots[e.lot or ""]["held"] = True
        elif e.kind is EntryKind.UNLOCK:
            lots[e.lot or ""]["held"] = False
        else:
            for d in e.draws:
                lots[d.lot]["remaining"] = int(lots[d.lot]["remaining"]) - d.points  # type: ignore[call-overload]
            debt += e.debt
    return lots, debt


def reference_available(entries: list[LedgerEntry], at: datetime) -> int:
    lots, _ = reference_lots(entries)
    total = 0
    for lot in lots.values():
        expires = lot["expires_at"]
        locked = lot["locked_until"]
        assert isinstance(expires, datetime)
        if at >= expires or lot["held"] or (isinstance(locked, datetime) and at < locked):
            continue
        total += int(lot["remaining"])  # type: ignore[call-overload]
    return total


@contextmanager
def _no_running_state(store: Any, customer_id: str, account: Any) -> Iterator[None]:
    yield None


@contextmanager
def computed_afresh() -> Iterator[None]:
    """Every service as before the running state: computed from the whole ledger (the
    reference the running state is held to)."""
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(loyalty_services, "running", _no_running_state)
        yield
