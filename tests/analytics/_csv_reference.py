"""A slow, obvious reading of the orders CSV format, row by row with the csv module.

The vectorised reader (:mod:`custmgmt.analytics._csv`) must give the same orders; the
tests compare the two on generated files. Each cell goes through the one-cell reference
rules (``reference_time``, ``reference_minor``), the rest is spelled out here.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from custmgmt.analytics import _convert as cv
from custmgmt.analytics._csv import (
    CSV_COLUMNS,
    REQUIRED_COLUMNS,
    reference_minor,
    reference_time,
    time_bounds,
)
from custmgmt.domain._validate import _ID_REFUSED
from custmgmt.domain.money import currency_digits
from custmgmt.domain.order import OrderStatus


@dataclass
class Order:
    customer: str
    placed_at: int
    amount: int
    returned: int
    status: OrderStatus
    category: str | None
    channel: str | None
    order_id: str | None
    categories: set[str] = field(default_factory=set)
    line: int = 0


class Refused(Exception):
    def __init__(self, line: int, column: str) -> None:
        super().__init__(f"line {line}, column {column}")
        self.line = line
        self.column = column


def read(
    path: Path,
    *,
    currency: str = "CNY",
    tz: str = "Asia/Shanghai",
    rates: dict[str, Decimal] | None = None,
    encoding: str = "utf-8",
) -> list[Order]:
    """The orders of the file, in the order of their first line."""
    rates = rates or {}
    zone = ZoneInfo(tz)
    low, high = time_bounds(zone)
    text = path.read_bytes().decode(encoding)
    text = text.removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [h.strip().lstrip("\ufeff").strip().lower() for h in next(reader)]
    assert all(c in header for c in REQUIRED_COLUMNS)
    at = {name: header.index(name) for name in CSV_COLUMNS if name in header}
    orders: list[Order] = []
    by_id: dict[str, Order] = {}
    while True:
        line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise Refused(line, "row")

        def cell(name: str, row: list[str] = row) -> str | None:
            return row[at[name]] if name in at else None

        customer = cell("customer_id") or ""
        if not customer.strip() or _ID_REFUSED.search(customer):
            raise Refused(line, "customer_id")
        try:
            placed = reference_time(cell("placed_at") or "", zone)
        except (ValueError, OverflowError):
            raise Refused(line, "placed_at") from None
        if not low <= placed <= high:
            raise Refused(line, "placed_at")
        row_currency = (cell("currency") or "").strip() or currency
        try:
            digits = currency_digits(row_currency)
        except ValueError:
            raise Refused(line, "currency") from None
        if row_currency != currency and row_currency not in rates:
            raise Refused(line, "currency")
        try:
            amount = reference_minor(cell("amount") or "", digits)
        except ValueError:
            raise Refused(line, "amount") from None
        returned_text = cell("returned_amount") or ""
        try:
            returned = reference_minor(returned_text, digits) if returned_text.strip() else 0
        except ValueError:
            raise Refused(line, "returned_amount") from None
        if row_currency != currency:
            amount = cv.convert_minor(amount, row_currency, currency, rates[row_currency])
            returned = cv.convert_minor(returned, row_currency, currency, rates[row_currency])
        if returned > amount:
            raise Refused(line, "returned_amount")
        status_text = (cell("status") or "").strip().lower()
        try:
            status = OrderStatus(status_text) if status_text else OrderStatus.DELIVERED
        except ValueError:
            raise Refused(line, "status") from None
        category = (cell("category") or "").strip() or None
        channel = (cell("channel") or "").strip() or None
        order_id = cell("order_id")
        order_id = order_id if order_id is not None and order_id.strip() else None
        if order_id is not None and _ID_REFUSED.search(order_id):
            raise Refused(line, "order_id")
        order = Order(customer, placed, amount, returned, status, category, channel, order_id)
        order.categories = {category} if category else set()
        order.line = line
        known = by_id.get(order_id) if order_id is not None else None
        if known is None:
            orders.append(order)
            if order_id is not None:
                by_id[order_id] = order
            order.biggest = amount  # type: ignore[attr-defined]
            continue
        for name, mine, theirs in (
            ("customer_id", customer, known.customer),
            ("placed_at", placed, known.placed_at),
            ("status", status, known.status),
            ("channel", channel, known.channel),
        ):
            if mine != theirs:
                raise Refused(line, name)
        known.amount += amount
        known.returned += returned
        if category:
            known.categories.add(category)
        if amount > known.biggest:  # type: ignore[attr-defined]
            known.biggest = amount  # type: ignore[attr-defined]
            known.category = category
    return orders


def frame_orders(frame: Any) -> list[tuple[Any, ...]]:
    """The frame's rows in the reference's terms."""
    rows = []
    lines: dict[int, set[str]] = {}
    if frame.line_row is not None:
        for row, code in zip(frame.line_row.tolist(), frame.line_category.tolist(), strict=True):
            lines.setdefault(row, set()).add(frame.category_names[code])
    for i in range(len(frame)):
        category = frame.category[i]
        channel = frame.channel[i]
        order_id = None if frame.order_id is None else frame.order_id[i]
        main = None if category < 0 else frame.category_names[category]
        rows.append(
            (
                frame.customer_ids[frame.customer_code[i]],
                int(frame.placed_at[i]),
                int(frame.amount[i]),
                int(frame.returned_amount[i]),
                list(OrderStatus)[int(frame.status[i])],
                main,
                None if channel < 0 else frame.channel_names[channel],
                None if order_id is None else str(order_id),
                lines.get(i, {main} if main else set()),
            )
        )
    return rows


def reference_orders(orders: list[Order]) -> list[tuple[Any, ...]]:
    return [
        (
            o.customer,
            o.placed_at,
            o.amount,
            o.returned,
            o.status,
            o.category,
            o.channel,
            o.order_id,
            # like a store's frame: every category only for orders with several
            o.categories if len(o.categories) > 1 else ({o.category} if o.category else set()),
        )
        for o in orders
    ]
