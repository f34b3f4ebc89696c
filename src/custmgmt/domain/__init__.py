"""The domain model: value types and entities, with no I/O and no numpy.

Everything here is a frozen attrs class validated on construction; changes go through
methods that return new copies with ``version`` bumped. Only the standard library,
attrs and python-dateutil are imported (a test keeps it so).
"""

from custmgmt.domain.customer import (
    Address,
    BusinessProfile,
    Consent,
    ContactChannel,
    Customer,
    CustomerKind,
    Gender,
    normalise_phone,
)
from custmgmt.domain.interaction import (
    Complaint,
    ComplaintCategory,
    Interaction,
    InteractionKind,
    Referral,
    Review,
    Search,
)
from custmgmt.domain.masking import mask_email, mask_phone, mask_text
from custmgmt.domain.money import CURRENCY_DIGITS, Money, currency_digits
from custmgmt.domain.order import COUNTED_STATUSES, Order, OrderLine, OrderStatus
from custmgmt.domain.service import Priority
from custmgmt.domain.time import (
    Clock,
    SystemClock,
    from_epoch_micros,
    require_aware,
    to_epoch_micros,
)

__all__ = [
    "COUNTED_STATUSES",
    "CURRENCY_DIGITS",
    "Address",
    "BusinessProfile",
    "Clock",
    "Complaint",
    "ComplaintCategory",
    "Consent",
    "ContactChannel",
    "Customer",
    "CustomerKind",
    "Gender",
    "Interaction",
    "InteractionKind",
    "Money",
    "Order",
    "OrderLine",
    "OrderStatus",
    "Priority",
    "Referral",
    "Review",
    "Search",
    "SystemClock",
    "currency_digits",
    "from_epoch_micros",
    "mask_email",
    "mask_phone",
    "mask_text",
    "normalise_phone",
    "require_aware",
    "to_epoch_micros",
]
