"""custmgmt: customer management for e-commerce and service platforms.

Keep every customer's profile, orders and interactions in one place, rate customers
with stars by a weighted policy, segment them, catch churn early, model their
lifetime value and run service tickets with SLAs: as a pure library behind
repository protocols that a host application implements (or the bundled in-memory
and SQLite stores).

The main types are importable from here; capabilities live in their own packages
(:mod:`custmgmt.analytics`, :mod:`custmgmt.rating`, :mod:`custmgmt.segmentation`,
:mod:`custmgmt.churn`, :mod:`custmgmt.tickets`, :mod:`custmgmt.calendars`).
"""

from custmgmt.adapters.memory import MemoryStore
from custmgmt.domain import (
    Address,
    BusinessProfile,
    Clock,
    Complaint,
    ComplaintCategory,
    Consent,
    ContactChannel,
    Customer,
    CustomerKind,
    Gender,
    Interaction,
    InteractionKind,
    Money,
    Order,
    OrderLine,
    OrderStatus,
    Priority,
    Referral,
    Review,
    Search,
    SystemClock,
)
from custmgmt.errors import (
    Conflict,
    CustMgmtError,
    NotFittedError,
    NotFound,
    PermissionDenied,
    StorageError,
    TransitionNotAllowed,
    ValidationError,
)
from custmgmt.ports import (
    CustomerRepository,
    InteractionRepository,
    OrderRepository,
    Store,
)

__version__ = "0.1.0"

__all__ = [
    "Address",
    "BusinessProfile",
    "Clock",
    "Complaint",
    "ComplaintCategory",
    "Conflict",
    "Consent",
    "ContactChannel",
    "CustMgmtError",
    "Customer",
    "CustomerKind",
    "CustomerRepository",
    "Gender",
    "Interaction",
    "InteractionKind",
    "InteractionRepository",
    "MemoryStore",
    "Money",
    "NotFittedError",
    "NotFound",
    "Order",
    "OrderLine",
    "OrderRepository",
    "OrderStatus",
    "PermissionDenied",
    "Priority",
    "Referral",
    "Review",
    "Search",
    "StorageError",
    "Store",
    "SystemClock",
    "TransitionNotAllowed",
    "ValidationError",
    "__version__",
]
