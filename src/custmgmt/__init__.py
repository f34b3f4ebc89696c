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
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.analytics.features import CustomerFeatures, customer_features
from custmgmt.analytics.frames import InteractionFrame, OrderFrame
from custmgmt.calendars import BusinessCalendar
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
    MissingDependency,
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
from custmgmt.rating import Rating, RatingPolicy, ServiceLevels
from custmgmt.tickets import Ticket, TicketCategory, TicketStatus

__version__ = "0.1.0"

__all__ = [
    "Address",
    "BusinessCalendar",
    "BusinessProfile",
    "Clock",
    "Complaint",
    "ComplaintCategory",
    "Conflict",
    "Consent",
    "ContactChannel",
    "CustMgmtError",
    "Customer",
    "CustomerFeatures",
    "CustomerKind",
    "CustomerRepository",
    "Gender",
    "Interaction",
    "InteractionFrame",
    "InteractionKind",
    "InteractionRepository",
    "MemoryStore",
    "MissingDependency",
    "Money",
    "NotFittedError",
    "NotFound",
    "Order",
    "OrderFrame",
    "OrderLine",
    "OrderRepository",
    "OrderStatus",
    "PermissionDenied",
    "Priority",
    "Rating",
    "RatingPolicy",
    "Referral",
    "Review",
    "SQLiteStore",
    "Search",
    "ServiceLevels",
    "StorageError",
    "Store",
    "SystemClock",
    "Ticket",
    "TicketCategory",
    "TicketStatus",
    "TransitionNotAllowed",
    "ValidationError",
    "__version__",
    "customer_features",
]
