"""What the adapters derive from an order for the columnar port, shared sideways.

:meth:`ColumnarStore.order_frame <custmgmt.ports.ColumnarStore.order_frame>` needs,
per order, its total and refund in exact minor units, its main category and, when it
has several, its distinct categories. The memory adapter derives them when it builds a
frame; the SQLite adapter when it writes the order, into columns of the ``orders``
row, so that reading a frame never touches the order's lines. Both use
:func:`order_summary`, so they cannot disagree.
"""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

from custmgmt.domain.money import CURRENCY_DIGITS
from custmgmt.domain.order import Order

__all__ = ["CATEGORY_SEPARATOR", "OrderSummary", "minor_or_none", "order_summary"]

#: Joins an order's distinct categories into one text (the domain refuses control
#: characters in a category, so it never occurs inside one).
CATEGORY_SEPARATOR = "\x1f"

_LIMIT = Decimal(10) ** 14
_INT64 = 2**63


class OrderSummary(NamedTuple):
    """An order's columns for the frame (see :func:`order_summary`)."""

    total_minor: int | None
    returned_minor: int | None
    main_category: str
    #: The distinct categories, sorted and joined by CATEGORY_SEPARATOR, when there
    #: are several; None for an order with one category.
    line_categories: str | None


def minor_or_none(amount: Decimal, currency: str) -> int | None:
    """``amount`` in exact minor units of ``currency``, or None when there is none.

    None when the amount has more decimals than the currency has, or is at least
    10^14 in magnitude (what :class:`~custmgmt.domain.Money` refuses): exactly the
    amounts for which ``Money(amount, currency).to_minor()`` raises.
    """
    if abs(amount) >= _LIMIT:
        return None
    scaled = amount.scaleb(CURRENCY_DIGITS[currency])
    if scaled != scaled.to_integral_value():
        return None
    value = int(scaled)
    return value if -_INT64 <= value < _INT64 else None


def order_summary(order: Order) -> OrderSummary:
    """The order's total and refund in minor units, main category and categories.

    The total is the sum of the lines' ``quantity * unit_price`` (``Order.total``),
    None when :meth:`Money.to_minor <custmgmt.domain.Money.to_minor>` of it would
    raise; likewise the refund (``Order.refunded``). The main category is the category
    of the line with the largest subtotal, the first such line on ties.
    """
    lines = order.lines
    currency = lines[0].unit_price.currency
    if len(lines) == 1:
        line = lines[0]
        total = line.unit_price.amount * line.quantity
        main = line.category
        categories = None
    else:
        best = None
        total = Decimal(0)
        for line in lines:
            subtotal = line.unit_price.amount * line.quantity
            total += subtotal
            if best is None or subtotal > best:
                best, main = subtotal, line.category
        distinct = {line.category for line in lines}
        categories = CATEGORY_SEPARATOR.join(sorted(distinct)) if len(distinct) > 1 else None
    returned = order.returned_amount
    refund = 0 if returned is None else minor_or_none(returned.amount, currency)
    return OrderSummary(minor_or_none(total, currency), refund, main, categories)
