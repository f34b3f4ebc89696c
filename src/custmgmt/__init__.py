"""custmgmt: customer management for e-commerce and service platforms.

Keep every customer's profile, orders and interactions in one place, rate customers
with stars by a weighted policy, segment them, catch churn early, model their
lifetime value and run service tickets with SLAs: as a pure library behind
repository protocols that a host application implements (or the bundled in-memory
and SQLite stores).

The main types and the use cases a host application calls (record an order or an
interaction, a customer's overview, rate a store, the segment report, lifetime value,
the open-ticket report, open a ticket and fire its transitions) are importable from
here, and so are the notebook's one-call analyses from a pandas or polars DataFrame
of orders (:func:`rate`, :func:`segment`, :func:`rfm`, :func:`churn_flags`,
:func:`clv`, :func:`sla_status`; see :mod:`custmgmt.notebook.analyses`); capabilities
live in their own packages
(:mod:`custmgmt.analytics`, :mod:`custmgmt.rating`, :mod:`custmgmt.segmentation`,
:mod:`custmgmt.churn`, :mod:`custmgmt.tickets`, :mod:`custmgmt.calendars`).
Names are imported on first use (PEP 562), so ``import custmgmt`` is cheap and
loads no adapter or capability until one is asked for.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# Where each top-level name lives; imported on first attribute access.
_EXPORTS: dict[str, str] = {
    "Address": "custmgmt.domain",
    "BusinessCalendar": "custmgmt.calendars",
    "BusinessProfile": "custmgmt.domain",
    "Clock": "custmgmt.domain",
    "Complaint": "custmgmt.domain",
    "ComplaintCategory": "custmgmt.domain",
    "Conflict": "custmgmt.errors",
    "Consent": "custmgmt.domain",
    "ContactChannel": "custmgmt.domain",
    "CustMgmtError": "custmgmt.errors",
    "Customer": "custmgmt.domain",
    "CustomerFeatures": "custmgmt.analytics.features",
    "CustomerKind": "custmgmt.domain",
    "CustomerOverview": "custmgmt.services",
    "CustomerRepository": "custmgmt.ports",
    "Gender": "custmgmt.domain",
    "Interaction": "custmgmt.domain",
    "InteractionFrame": "custmgmt.analytics.frames",
    "InteractionKind": "custmgmt.domain",
    "InteractionRepository": "custmgmt.ports",
    "MemoryStore": "custmgmt.adapters.memory",
    "MissingDependency": "custmgmt.errors",
    "Money": "custmgmt.domain",
    "NotFittedError": "custmgmt.errors",
    "NotFound": "custmgmt.errors",
    "OpenTicketReport": "custmgmt.tickets",
    "Order": "custmgmt.domain",
    "OrderFrame": "custmgmt.analytics.frames",
    "OrderLine": "custmgmt.domain",
    "OrderRepository": "custmgmt.ports",
    "OrderStatus": "custmgmt.domain",
    "PermissionDenied": "custmgmt.errors",
    "Priority": "custmgmt.domain",
    "Rating": "custmgmt.rating",
    "RatingPolicy": "custmgmt.rating",
    "Referral": "custmgmt.domain",
    "Review": "custmgmt.domain",
    "SQLiteStore": "custmgmt.adapters.sqlite",
    "Search": "custmgmt.domain",
    "SegmentReport": "custmgmt.segmentation.report",
    "ServiceLevels": "custmgmt.rating",
    "StorageError": "custmgmt.errors",
    "Store": "custmgmt.ports",
    "SystemClock": "custmgmt.domain",
    "Ticket": "custmgmt.tickets",
    "TicketCategory": "custmgmt.tickets",
    "TicketStatus": "custmgmt.tickets",
    "TransitionNotAllowed": "custmgmt.errors",
    "ValidationError": "custmgmt.errors",
    "analyse_clv": "custmgmt.analytics.clv",
    "churn_flags": "custmgmt.notebook.analyses",
    "clv": "custmgmt.notebook.analyses",
    "customer_features": "custmgmt.analytics.features",
    "current_stars": "custmgmt.rating",
    "customer_overview": "custmgmt.services",
    "fire_ticket": "custmgmt.tickets",
    "format_rating": "custmgmt.rating",
    "open_ticket": "custmgmt.tickets",
    "open_ticket_report": "custmgmt.tickets",
    "rate": "custmgmt.notebook.analyses",
    "rate_frames": "custmgmt.rating",
    "rate_store": "custmgmt.rating",
    "record_interaction": "custmgmt.services",
    "record_order": "custmgmt.services",
    "record_return": "custmgmt.services",
    "rfm": "custmgmt.notebook.analyses",
    "segment": "custmgmt.notebook.analyses",
    "segment_report": "custmgmt.segmentation.report",
    "segment_store": "custmgmt.segmentation.report",
    "sla_status": "custmgmt.notebook.analyses",
}

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
    "CustomerOverview",
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
    "OpenTicketReport",
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
    "SegmentReport",
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
    "analyse_clv",
    "churn_flags",
    "clv",
    "current_stars",
    "customer_features",
    "customer_overview",
    "fire_ticket",
    "format_rating",
    "open_ticket",
    "open_ticket_report",
    "rate",
    "rate_frames",
    "rate_store",
    "record_interaction",
    "record_order",
    "record_return",
    "rfm",
    "segment",
    "segment_report",
    "segment_store",
    "sla_status",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'custmgmt' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # what type checkers and IDEs see; at run time __getattr__ serves these
    from custmgmt.adapters.memory import MemoryStore
    from custmgmt.adapters.sqlite import SQLiteStore
    from custmgmt.analytics.clv import analyse_clv
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
    from custmgmt.notebook.analyses import churn_flags, clv, rate, rfm, segment, sla_status
    from custmgmt.ports import (
        CustomerRepository,
        InteractionRepository,
        OrderRepository,
        Store,
    )
    from custmgmt.rating import (
        Rating,
        RatingPolicy,
        ServiceLevels,
        current_stars,
        format_rating,
        rate_frames,
        rate_store,
    )
    from custmgmt.segmentation.report import SegmentReport, segment_report, segment_store
    from custmgmt.services import (
        CustomerOverview,
        customer_overview,
        record_interaction,
        record_order,
        record_return,
    )
    from custmgmt.tickets import (
        OpenTicketReport,
        Ticket,
        TicketCategory,
        TicketStatus,
        fire_ticket,
        open_ticket,
        open_ticket_report,
    )
