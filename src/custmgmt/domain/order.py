"""Orders and their lines, with the order's life cycle from placement to return.

An order's total is derived from its lines, never stored separately, so the two can
never disagree. Its status moves only forward along::

    placed ─► paid ─► shipped ─► delivered ─► partially_returned ─► returned
      │        │         │
      └────────┴─────────┴──► cancelled

(a paid but unshipped order can be cancelled; returns are recorded against paid,
shipped or delivered orders). Each step keeps its timestamp.
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Any

import attrs

from custmgmt.domain import _validate as v
from custmgmt.domain.money import Money
from custmgmt.errors import TransitionNotAllowed, ValidationError

__all__ = ["COUNTED_STATUSES", "Order", "OrderLine", "OrderStatus"]


class OrderStatus(enum.Enum):
    """Where an order is in its life cycle."""

    PLACED = "placed"
    PAID = "paid"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    RETURNED = "returned"
    PARTIALLY_RETURNED = "partially_returned"

    @property
    def is_counted(self) -> bool:
        """Whether an order in this status counts as a purchase (see :data:`COUNTED_STATUSES`)."""
        return self is not OrderStatus.CANCELLED


#: The one definition of a *counted order*, read by every analysis and command: any
#: order that was not cancelled. Returned and partially returned orders are purchases
#: that happened; their refunds are subtracted from spend (net spend), never from the
#: purchase count, so a return does not make a repeat buyer look like a new one.
COUNTED_STATUSES: frozenset[OrderStatus] = frozenset(s for s in OrderStatus if s.is_counted)


_STEP_TIMESTAMP: dict[OrderStatus, str] = {
    OrderStatus.PAID: "paid_at",
    OrderStatus.SHIPPED: "shipped_at",
    OrderStatus.DELIVERED: "delivered_at",
    OrderStatus.CANCELLED: "cancelled_at",
    OrderStatus.RETURNED: "returned_at",
    OrderStatus.PARTIALLY_RETURNED: "returned_at",
}
_PROGRESS = (OrderStatus.PLACED, OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.DELIVERED)
_RETURNABLE = frozenset(
    {OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.PARTIALLY_RETURNED}
)


def _check_quantity(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    v.check_count(
        v.field_name(instance, attribute), value, minimum=1,
        expected="a positive integer quantity below 2**63",
    )


def _check_price(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    name = v.field_name(instance, attribute)
    if not isinstance(value, Money):
        raise ValidationError(name, value, "a Money unit price")
    if value.amount < 0:
        raise ValidationError(name, value, "a non-negative price")


@attrs.frozen(kw_only=True)
class OrderLine:
    """One product line of an order.

    Attributes:
        sku: the product's stock-keeping unit.
        category: the product category (used for category breadth and churn cycles).
        quantity: units ordered, at least 1.
        unit_price: price of one unit.
    """

    sku: str = attrs.field(validator=v.an_id)
    category: str = attrs.field(validator=v.text(max_length=200))
    quantity: int = attrs.field(validator=_check_quantity)
    unit_price: Money = attrs.field(validator=_check_price)

    def __attrs_post_init__(self) -> None:
        if abs(self.unit_price.amount * self.quantity) >= v.MAX_AMOUNT:
            raise ValidationError(
                "OrderLine.quantity",
                self.quantity,
                f"a quantity whose subtotal at {self.unit_price} stays below 10^14",
            )

    @property
    def subtotal(self) -> Money:
        """``unit_price * quantity``."""
        return self.unit_price * self.quantity


def _check_lines(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    name = v.field_name(instance, attribute)
    if not isinstance(value, tuple) or not value:
        raise ValidationError(name, value, "a non-empty sequence of OrderLine")
    for line in value:
        if not isinstance(line, OrderLine):
            raise ValidationError(name, line, "OrderLine items")
    currencies = {line.unit_price.currency for line in value}
    if len(currencies) > 1:
        raise ValidationError(name, sorted(currencies), "lines priced in one currency")


def _to_status(value: Any) -> OrderStatus:
    return v.coerce_enum(OrderStatus, value, "Order.status")


def _to_tuple(value: Any) -> Any:
    # Lists are the natural way to write lines; keep anything else for the validator.
    return tuple(value) if isinstance(value, list) else value


@attrs.frozen(kw_only=True)
class Order:
    """A customer's order.

    Attributes:
        id: the host's order id.
        customer_id: who placed it.
        placed_at: when it was placed (aware).
        lines: the order lines, all in one currency.
        status: the life-cycle status; its step's timestamp must be set.
        paid_at, shipped_at, delivered_at, cancelled_at, returned_at: step times.
        returned_amount: money refunded for returns (zero if none), at most the total.
        channel: where it was placed (``"app"``, ``"web"``, ``"store"``, ``"小程序"``).
        version: optimistic-concurrency version, 1 for a new order.
    """

    id: str = attrs.field(validator=v.an_id)
    customer_id: str = attrs.field(validator=v.an_id)
    placed_at: datetime = attrs.field(validator=v.aware_datetime())
    lines: tuple[OrderLine, ...] = attrs.field(converter=_to_tuple, validator=_check_lines)
    status: OrderStatus = attrs.field(default=OrderStatus.PLACED, converter=_to_status)
    paid_at: datetime | None = attrs.field(default=None, validator=v.aware_datetime(optional=True))
    shipped_at: datetime | None = attrs.field(
        default=None, validator=v.aware_datetime(optional=True)
    )
    delivered_at: datetime | None = attrs.field(
        default=None, validator=v.aware_datetime(optional=True)
    )
    cancelled_at: datetime | None = attrs.field(
        default=None, validator=v.aware_datetime(optional=True)
    )
    returned_at: datetime | None = attrs.field(
        default=None, validator=v.aware_datetime(optional=True)
    )
    returned_amount: Money | None = attrs.field(
        default=None, validator=v.instance_of(Money, "a Money or None", optional=True)
    )
    channel: str | None = attrs.field(default=None, validator=v.text(optional=True, max_length=100))
    version: int = attrs.field(default=1, validator=v.version)

    def __attrs_post_init__(self) -> None:
        # Every analysis adds order totals as Money: a total out of Money's range
        # would break them all later, far from the order that caused it. (One line's
        # subtotal is already in range: OrderLine checks it.)
        if len(self.lines) > 1:
            self._check_total()
        # Steps cannot happen before the order was placed, nor out of order.
        previous = ("placed_at", self.placed_at)
        for name in ("paid_at", "shipped_at", "delivered_at"):
            at = getattr(self, name)
            if at is None:
                continue
            if at < previous[1]:
                raise ValidationError(
                    f"Order.{name}", at, f"not before {previous[0]} {previous[1]}"
                )
            previous = (name, at)
        for name in ("cancelled_at", "returned_at"):
            at = getattr(self, name)
            if at is not None and at < self.placed_at:
                raise ValidationError(f"Order.{name}", at, f"not before placed_at {self.placed_at}")
        step = _STEP_TIMESTAMP.get(self.status)
        if step is not None and getattr(self, step) is None:
            raise ValidationError(
                f"Order.{step}", None, f"a timestamp for status {self.status.value!r}"
            )
        if self.returned_amount is not None:
            if self.returned_amount.currency != self.currency:
                raise ValidationError(
                    "Order.returned_amount", self.returned_amount, f"an amount in {self.currency}"
                )
            if self.returned_amount.amount < 0 or self.returned_amount > self.total:
                raise ValidationError(
                    "Order.returned_amount",
                    self.returned_amount,
                    f"between 0 and the total {self.total}",
                )
        returned = self.returned_amount is not None and not self.returned_amount.is_zero
        if self.status in (OrderStatus.RETURNED, OrderStatus.PARTIALLY_RETURNED) and not returned:
            raise ValidationError(
                "Order.returned_amount",
                self.returned_amount,
                f"a positive amount for status {self.status.value!r}",
            )

    def _check_total(self) -> None:
        total = sum(line.unit_price.amount * line.quantity for line in self.lines)
        if total >= v.MAX_AMOUNT:
            raise ValidationError(
                "Order.lines",
                f"order {self.id!r}: total {total:,} {self.currency}",
                "lines whose total stays below 10^14",
            )

    # -- reading -------------------------------------------------------------------
    @property
    def currency(self) -> str:
        """The currency of every line."""
        return self.lines[0].unit_price.currency

    @property
    def total(self) -> Money:
        """The sum of the lines' subtotals."""
        total = Money(Decimal(0), self.currency)
        for line in self.lines:
            total = total + line.subtotal
        return total

    @property
    def refunded(self) -> Money:
        """The returned amount, zero when nothing was returned."""
        return self.returned_amount or Money.zero(self.currency)

    @property
    def net_total(self) -> Money:
        """Total less returns; zero for a cancelled order."""
        if self.status is OrderStatus.CANCELLED:
            return Money.zero(self.currency)
        return self.total - self.refunded

    @property
    def categories(self) -> frozenset[str]:
        """The distinct product categories on the order."""
        return frozenset(line.category for line in self.lines)

    # -- changing ------------------------------------------------------------------
    def pay(self, at: datetime) -> Order:
        """Record payment (from ``placed``)."""
        return self._advance(OrderStatus.PAID, at)

    def ship(self, at: datetime) -> Order:
        """Record shipment (from ``paid``)."""
        return self._advance(OrderStatus.SHIPPED, at)

    def deliver(self, at: datetime) -> Order:
        """Record delivery (from ``shipped``)."""
        return self._advance(OrderStatus.DELIVERED, at)

    def cancel(self, at: datetime) -> Order:
        """Cancel an order that has not shipped yet."""
        if self.status not in (OrderStatus.PLACED, OrderStatus.PAID):
            raise TransitionNotAllowed(
                self.status, "cancel", "only placed or paid orders can be cancelled"
            )
        return self._evolve(
            status=OrderStatus.CANCELLED, cancelled_at=v.check_aware("Order.cancelled_at", at)
        )

    def record_return(self, amount: Money, at: datetime) -> Order:
        """Record a refund of ``amount`` (adding to earlier returns).

        The status becomes ``returned`` once the whole total is refunded, else
        ``partially_returned``.

        Raises:
            TransitionNotAllowed: the order was never paid, or was cancelled.
            ValidationError: the amount is not positive or exceeds what is left.
        """
        if self.status not in _RETURNABLE:
            raise TransitionNotAllowed(self.status, "return", "only paid orders can be returned")
        if not isinstance(amount, Money) or amount.amount <= 0:
            raise ValidationError("Order.returned_amount", amount, "a positive Money")
        refunded = self.refunded + amount if amount.currency == self.currency else None
        if refunded is None or refunded > self.total:
            raise ValidationError(
                "Order.returned_amount", amount, f"at most {self.total - self.refunded} more"
            )
        status = OrderStatus.RETURNED if refunded == self.total else OrderStatus.PARTIALLY_RETURNED
        return self._evolve(
            status=status,
            returned_amount=refunded,
            returned_at=v.check_aware("Order.returned_at", at),
        )

    def _advance(self, to: OrderStatus, at: datetime) -> Order:
        index = _PROGRESS.index(to)
        if self.status is not _PROGRESS[index - 1]:
            raise TransitionNotAllowed(
                self.status, to.value, f"an order must be {_PROGRESS[index - 1].value} first"
            )
        return self._evolve(
            status=to, **{_STEP_TIMESTAMP[to]: v.check_aware(f"Order.{_STEP_TIMESTAMP[to]}", at)}
        )

    def _evolve(self, **changes: Any) -> Order:
        return attrs.evolve(self, version=self.version + 1, **changes)
