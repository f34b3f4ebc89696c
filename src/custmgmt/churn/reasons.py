"""Why customers leave, and what to do about it.

:func:`infer_reasons` guesses, per customer, the likely reason from the evidence of the
``lookback_days`` (365) before the customer went quiet and since -- that is, from
``min(as_of, last purchase) - lookback_days`` up to ``as_of``, so a customer silent for
two years is judged on their last year as a customer -- counting:

=============  ===========================================================================
reason         evidence (one point each)
=============  ===========================================================================
``quality``    complaints in category ``product_quality``; reviews of 1 or 2 stars;
               counted orders with a return
``service``    complaints in categories ``service``, ``after_sales`` or ``logistics``
``price``      complaints in category ``price``
``unknown``    no evidence at all
=============  ===========================================================================

The reason with the most points wins; ties go to quality, then service, then price
(the order in which a fix is most within the business's control). Complaints of category
``other`` count for nothing. Without an interaction frame only returns are seen.

A :class:`WinBackPlaybook` maps each :class:`Reason` to a :class:`WinBackAction`; it is
data (``to_dict`` / ``from_dict``), so campaigns pick up the action codes:

* quality -> ``apology_and_compensation``
* price -> ``targeted_offer``
* service -> ``personal_follow_up``
* unknown -> ``reactivation_reminder``
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np
from numpy.typing import NDArray

from custmgmt.analytics.frames import COMPLAINT_CATEGORY_CODES, KIND_CODES, STATUS_CODES
from custmgmt.domain.interaction import ComplaintCategory, InteractionKind
from custmgmt.domain.order import OrderStatus
from custmgmt.errors import ValidationError
from custmgmt.segmentation.table import column

__all__ = ["Reason", "WinBackAction", "WinBackPlaybook", "infer_reasons"]

_DAY_US = 86_400_000_000
#: Longer than the whole range of times (years 1 to 9999), yet far from int64's limit.
_LONGEST_LOOKBACK_DAYS = 4_000_000


class Reason(enum.Enum):
    """The likely reason a customer is leaving."""

    QUALITY = "quality"
    SERVICE = "service"
    PRICE = "price"
    UNKNOWN = "unknown"

    @property
    def code(self) -> int:
        """The reason's index (in declaration order), as stored in numpy results."""
        return _REASONS.index(self)


_REASONS: tuple[Reason, ...] = tuple(Reason)


def _check_code(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"WinBackAction.{attribute.name}", value, "a non-blank text")


@attrs.frozen(kw_only=True)
class WinBackAction:
    """A win-back treatment campaigns can pick up.

    Attributes:
        code: a stable identifier (``"targeted_offer"``).
        description: what to do, for people.
    """

    code: str = attrs.field(validator=_check_code)
    description: str = attrs.field(validator=_check_code)


_DEFAULT_ACTIONS: dict[Reason, WinBackAction] = {
    Reason.QUALITY: WinBackAction(
        code="apology_and_compensation",
        description="apologise and offer compensation (refund, replacement or voucher)",
    ),
    Reason.PRICE: WinBackAction(
        code="targeted_offer", description="send a targeted offer (personal coupon or price match)"
    ),
    Reason.SERVICE: WinBackAction(
        code="personal_follow_up", description="a personal follow-up call from a senior agent"
    ),
    Reason.UNKNOWN: WinBackAction(
        code="reactivation_reminder",
        description="a reminder with personal recommendations",
    ),
}


def _to_actions(value: Any) -> Any:
    if not isinstance(value, Mapping):
        return value
    converted: dict[Reason, Any] = {}
    for key, action in value.items():
        try:
            reason = key if isinstance(key, Reason) else Reason(key)
        except ValueError:
            raise ValidationError(
                "WinBackPlaybook.actions", key, f"a reason among {[r.value for r in Reason]}"
            ) from None
        if isinstance(action, Mapping):
            action = WinBackAction(**action)
        converted[reason] = action
    return converted


def _check_actions(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, Mapping):
        raise ValidationError("WinBackPlaybook.actions", value, "a mapping of reason -> action")
    missing = [r.value for r in Reason if r not in value]
    if missing:
        raise ValidationError("WinBackPlaybook.actions", missing, "an action for every reason")
    for reason, action in value.items():
        if not isinstance(action, WinBackAction):
            raise ValidationError(
                f"WinBackPlaybook.actions[{reason.value!r}]", action, "a WinBackAction"
            )


@attrs.frozen(kw_only=True)
class WinBackPlaybook:
    """Reason -> win-back action, as data.

    Attributes:
        actions: an action for every :class:`Reason`.

    >>> WinBackPlaybook().action_for(Reason.PRICE).code
    'targeted_offer'
    """

    actions: Mapping[Reason, WinBackAction] = attrs.field(
        factory=lambda: dict(_DEFAULT_ACTIONS), converter=_to_actions, validator=_check_actions
    )

    def action_for(self, reason: Reason) -> WinBackAction:
        """The action for a reason."""
        return self.actions[reason]

    def with_action(self, reason: Reason | str, action: WinBackAction) -> WinBackPlaybook:
        """A copy with one reason's action replaced."""
        return WinBackPlaybook(actions={**self.actions, Reason(reason): action})

    def to_dict(self) -> dict[str, dict[str, str]]:
        """``{reason: {"code": ..., "description": ...}}``."""
        return {r.value: attrs.asdict(a) for r, a in self.actions.items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WinBackPlaybook:
        """The inverse of :meth:`to_dict`.

        Raises:
            ValidationError: an unknown reason, a missing reason or a malformed action.
        """
        try:
            return cls(actions=data)
        except TypeError as exc:
            raise ValidationError(
                "WinBackPlaybook.actions", data, "{reason: {code, description}}"
            ) from exc


def infer_reasons(
    ctx: Any, *, lookback_days: int = 365
) -> tuple[NDArray[np.int8], NDArray[np.int64]]:
    """The likely reason per customer (see the module docstring), vectorised.

    Args:
        ctx: a :class:`~custmgmt.churn.rules.ChurnContext`.
        lookback_days: how far back evidence counts.

    Returns:
        ``(codes, evidence)``: per customer an index into ``tuple(Reason)``, and an
        ``(n, 3)`` array of points for quality, service and price.

    Raises:
        ValidationError: ``lookback_days`` not a positive integer.
    """
    if isinstance(lookback_days, bool) or not isinstance(lookback_days, int) or lookback_days < 1:
        raise ValidationError("lookback_days", lookback_days, "a positive integer")
    n = ctx.n
    end = ctx.as_of_us()
    try:
        last = column(ctx.features, "last_purchase", field="features").astype(np.int64)
    except ValidationError:  # a host's own table without it: judge on the last year
        last = np.full(n, end, dtype=np.int64)
    # Customers without a purchase carry MISSING_TIME (int64 min): use as_of for them.
    start = np.where((last > end - 100 * 365 * _DAY_US) & (last < end), last, end)
    # A window longer than every representable time changes nothing; clamped, so that
    # a huge lookback cannot overflow int64 microseconds.
    start = start - min(lookback_days, _LONGEST_LOOKBACK_DAYS) * _DAY_US
    evidence = np.zeros((n, 3), dtype=np.int64)
    orders = ctx.orders
    if orders is not None:
        rows = ctx.rows_of(orders)
        at = np.asarray(orders.placed_at)
        status = np.asarray(orders.status)
        returned = (np.asarray(orders.returned_amount) > 0) | np.isin(
            status,
            [
                STATUS_CODES.index(OrderStatus.RETURNED),
                STATUS_CODES.index(OrderStatus.PARTIALLY_RETURNED),
            ],
        )
        counted = status != STATUS_CODES.index(OrderStatus.CANCELLED)
        known = rows >= 0
        inside = known & (at > start[np.where(known, rows, 0)]) & (at <= end)
        hit = returned & counted & inside
        evidence[:, 0] += np.bincount(rows[hit], minlength=n)
    frame = ctx.interactions
    if frame is not None:
        rows = ctx.rows_of(frame)
        at = np.asarray(frame.at)
        known = rows >= 0
        window = known & (at > start[np.where(known, rows, 0)]) & (at <= end)
        kind = np.asarray(frame.kind)
        rating = np.asarray(frame.rating)
        low_review = window & (kind == KIND_CODES.index(InteractionKind.REVIEW)) & (rating >= 1)
        low_review &= rating <= 2
        evidence[:, 0] += np.bincount(rows[low_review], minlength=n)
        complaint = window & (kind == KIND_CODES.index(InteractionKind.COMPLAINT))
        category = np.asarray(frame.complaint_category)
        groups = {
            0: (ComplaintCategory.PRODUCT_QUALITY,),
            1: (
                ComplaintCategory.SERVICE,
                ComplaintCategory.AFTER_SALES,
                ComplaintCategory.LOGISTICS,
            ),
            2: (ComplaintCategory.PRICE,),
        }
        for slot, categories in groups.items():
            wanted = [COMPLAINT_CATEGORY_CODES.index(c) for c in categories]
            mask = complaint & np.isin(category, wanted)
            evidence[:, slot] += np.bincount(rows[mask], minlength=n)
    # argmax returns the first maximum: ties go to quality, then service, then price.
    best = np.argmax(evidence, axis=1).astype(np.int8)
    codes = np.where(evidence.max(axis=1) > 0, best, Reason.UNKNOWN.code).astype(np.int8)
    return codes, evidence
