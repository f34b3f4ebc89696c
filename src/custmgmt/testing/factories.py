"""Factories for valid domain objects, with overridable defaults.

Each returns a fully valid entity; pass keyword arguments to change any field. Ids
default to fresh, unique values so tests can create many without bookkeeping.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from custmgmt.domain import (
    Customer,
    Interaction,
    InteractionKind,
    Money,
    Order,
    OrderLine,
    Review,
)

__all__ = ["make_customer", "make_interaction", "make_order", "make_order_line"]

_counter = itertools.count(1)
_T0 = datetime(2025, 1, 1, 9, 0, tzinfo=UTC)


def _next_id(prefix: str) -> str:
    return f"{prefix}{next(_counter):06d}"


def make_customer(**overrides: Any) -> Customer:
    """A valid person customer registered on 2025-01-01 (override any field)."""
    fields: dict[str, Any] = {
        "id": _next_id("cust-"),
        "name": "王芳",
        "registered_at": _T0,
        "email": "wang.fang@example.com",
        "phone": "13800138000",
        "region": "华东",
    }
    fields.update(overrides)
    return Customer(**fields)


def make_order_line(**overrides: Any) -> OrderLine:
    """A valid order line: one unit of ``SKU-1`` in ``tea`` at 88.00 CNY."""
    fields: dict[str, Any] = {
        "sku": "SKU-1",
        "category": "tea",
        "quantity": 1,
        "unit_price": Money(Decimal("88.00"), "CNY"),
    }
    fields.update(overrides)
    return OrderLine(**fields)


def make_order(**overrides: Any) -> Order:
    """A valid placed order with one line, for a fresh customer id unless given."""
    fields: dict[str, Any] = {
        "id": _next_id("ord-"),
        "customer_id": "cust-000000",
        "placed_at": _T0 + timedelta(days=1),
        "lines": (make_order_line(),),
    }
    fields.update(overrides)
    return Order(**fields)


def make_interaction(**overrides: Any) -> Interaction:
    """A valid 5-star review unless ``kind``/``details`` are given."""
    fields: dict[str, Any] = {
        "id": _next_id("int-"),
        "customer_id": "cust-000000",
        "kind": InteractionKind.REVIEW,
        "at": _T0 + timedelta(days=2),
        "details": Review(rating=5, text="很好，物流很快"),
    }
    if "kind" in overrides and "details" not in overrides:
        kind = InteractionKind(overrides["kind"])
        if kind is not InteractionKind.REVIEW:
            fields["details"] = None
    fields.update(overrides)
    return Interaction(**fields)
