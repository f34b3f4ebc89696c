"""Service tickets: the ticket, its workflow, SLAs in business time, satisfaction follow-up."""

from custmgmt.tickets.ticket import (
    CATEGORY_RAISE,
    FINAL_STATUSES,
    STAR_PRIORITY,
    PriorityDecision,
    StarPriorities,
    Ticket,
    TicketCategory,
    TicketEvent,
    TicketEventRecord,
    TicketStatus,
    derive_priority,
)

__all__ = [
    "CATEGORY_RAISE",
    "FINAL_STATUSES",
    "STAR_PRIORITY",
    "PriorityDecision",
    "StarPriorities",
    "Ticket",
    "TicketCategory",
    "TicketEvent",
    "TicketEventRecord",
    "TicketStatus",
    "derive_priority",
]
