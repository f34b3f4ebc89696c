"""The Ticket value: its log invariants, fields and priority derivation."""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest
from _ticket_support import T0, new_ticket, ticket_in

from custmgmt.domain import Priority
from custmgmt.errors import ValidationError
from custmgmt.tickets import (
    STAR_PRIORITY,
    TicketCategory,
    TicketEvent,
    TicketEventRecord,
    TicketStatus,
    derive_priority,
)


def record(at_minutes: int, event: str, src: str | None, dst: str) -> TicketEventRecord:
    return TicketEventRecord(at=T0 + timedelta(minutes=at_minutes), event=event,
                             from_status=src, to_status=dst, actor="a")


def test_a_new_ticket_holds_its_creation() -> None:
    ticket = new_ticket(reason="3 stars: normal")
    assert ticket.status is TicketStatus.NEW
    assert ticket.version == 1
    assert ticket.created_at == T0
    assert ticket.events == (TicketEventRecord(
        at=T0, event=TicketEvent.CREATE, from_status=None, to_status=TicketStatus.NEW,
        actor="web", reason="3 stars: normal"),)
    assert ticket.category is TicketCategory.PRODUCT_QUALITY
    assert (ticket.assignee, ticket.solution, ticket.satisfaction) == (None, None, None)
    assert not ticket.is_final
    assert ticket.updated_at == T0


def test_enum_values_are_the_agreed_lower_case_strings() -> None:
    assert [s.value for s in TicketStatus] == [
        "new", "assigned", "in_progress", "waiting_on_customer", "escalated", "resolved",
        "closed", "cancelled", "merged",
    ]
    assert {e.value for e in TicketEvent} >= {
        "create", "assign", "start", "respond", "wait_on_customer", "customer_replied",
        "resolve", "close", "reopen", "escalate", "cancel", "merge",
    }
    assert [c.value for c in TicketCategory] == [
        "product_quality", "logistics", "after_sales", "inquiry", "other",
    ]


@pytest.mark.parametrize(
    ("events", "field"),
    [
        ((), "Ticket.events"),
        ((record(0, "assign", None, "new"),), "Ticket.events[0]"),
        ((record(0, "create", "new", "new"),), "Ticket.events[0]"),
        ((record(5, "create", None, "new"),), "Ticket.events[0].at"),
        ((record(0, "create", None, "new"), record(-1, "cancel", "new", "cancelled")),
         "Ticket.events[1].at"),
        ((record(0, "create", None, "new"), record(1, "start", "assigned", "in_progress")),
         "Ticket.events[1].from_status"),
        ((record(0, "create", None, "new"), record(1, "create", "new", "new")),
         "Ticket.events[1].event"),
        ((record(0, "create", None, "new"), record(1, "cancel", "new", "cancelled")),
         "Ticket.status"),
        (("not a record",), "Ticket.events[0]"),
        ("create", "Ticket.events"),
    ],
)
def test_a_log_that_could_not_have_happened_is_refused(events: object, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        attrs.evolve(new_ticket(), events=events)
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"category": "complaint"}, "Ticket.category"),
        ({"priority": "p1"}, "Ticket.priority"),
        ({"subject": "  "}, "Ticket.subject"),
        ({"customer_id": ""}, "Ticket.customer_id"),
        ({"satisfaction": 0}, "Ticket.satisfaction"),
        ({"satisfaction": True}, "Ticket.satisfaction"),
        ({"version": 0}, "Ticket.version"),
        ({"created_at": T0.replace(tzinfo=None)}, "Ticket.created_at"),
    ],
)
def test_bad_fields_are_named(changes: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        attrs.evolve(new_ticket(), **changes)
    assert caught.value.field == field


def test_records_validate_their_fields() -> None:
    with pytest.raises(ValidationError, match=r"TicketEventRecord\.at"):
        TicketEventRecord(at=T0.replace(tzinfo=None), event="create", from_status=None,
                          to_status="new", actor="a")
    with pytest.raises(ValidationError, match=r"TicketEventRecord\.event"):
        TicketEventRecord(at=T0, event="explode", from_status=None, to_status="new", actor="a")
    with pytest.raises(ValidationError, match=r"TicketEventRecord\.score"):
        TicketEventRecord(at=T0, event="rate", from_status="resolved", to_status="resolved",
                          actor="a", score=0)
    with pytest.raises(ValidationError, match=r"TicketEventRecord\.score"):
        TicketEventRecord(at=T0, event="respond", from_status="new", to_status="new",
                          actor="a", score=3)


def test_appended_keeps_the_log_in_charge_of_status_and_version() -> None:
    ticket = new_ticket()
    with pytest.raises(ValidationError, match="fields an event may change"):
        ticket.appended(record(1, "cancel", "new", "cancelled"), status=TicketStatus.NEW)
    with pytest.raises(ValidationError, match=r"changes\['colour'\]"):
        ticket.appended(record(1, "cancel", "new", "cancelled"), colour="red")
    with pytest.raises(ValidationError, match="record"):
        ticket.appended("cancel")  # type: ignore[arg-type]
    after = ticket.appended(record(1, "cancel", "new", "cancelled"))
    assert (after.status, after.version) == (TicketStatus.CANCELLED, 2)
    with pytest.raises(ValidationError, match="from_status"):
        ticket.appended(record(1, "start", "assigned", "in_progress"))


def test_resolved_at_and_events_of_read_the_log() -> None:
    ticket = ticket_in(TicketStatus.RESOLVED)
    assert ticket.resolved_at == ticket.events_of(TicketEvent.RESOLVE)[0].at
    assert ticket_in(TicketStatus.IN_PROGRESS).resolved_at is None
    assert ticket_in(TicketStatus.CLOSED).resolved_at is not None
    assert ticket_in(TicketStatus.CLOSED).is_final


# -- priority -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stars", "category", "urgent", "expected"),
    [
        (5, "inquiry", False, Priority.HIGH),
        (5, "product_quality", False, Priority.URGENT),
        (3, "logistics", False, Priority.NORMAL),
        (3, "after_sales", False, Priority.HIGH),
        (1, "inquiry", False, Priority.NORMAL),
        (1, "product_quality", False, Priority.HIGH),
        (None, "other", False, Priority.NORMAL),
        (1, "inquiry", True, Priority.URGENT),
    ],
)
def test_priority_comes_from_stars_category_and_urgency(
    stars: int | None, category: str, urgent: bool, expected: Priority
) -> None:
    decision = derive_priority(stars, category, urgent=urgent)
    assert decision.priority is expected
    assert not decision.overridden


def test_service_levels_decide_the_star_priority() -> None:
    class Levels:
        def priority_for(self, stars: int) -> Priority:
            return Priority.URGENT if stars >= 4 else Priority.LOW

    assert derive_priority(4, "inquiry", service_levels=Levels()).priority is Priority.URGENT
    assert derive_priority(2, "inquiry", service_levels=lambda s: Priority.HIGH).priority is (
        Priority.HIGH
    )
    none_raise = dict.fromkeys(TicketCategory, 0)
    assert derive_priority(1, "product_quality", category_raise=none_raise).priority is (
        STAR_PRIORITY[1]
    )


def test_the_rating_service_levels_plug_in() -> None:
    from custmgmt.rating import ServiceLevels

    levels = ServiceLevels.default()
    for stars in range(1, 6):
        assert derive_priority(stars, "inquiry", service_levels=levels).priority is (
            STAR_PRIORITY[stars]
        )
    with pytest.raises(ValidationError, match="stars"):
        derive_priority(6, "inquiry", service_levels=levels)


def test_an_override_needs_a_reason_and_says_what_it_replaced() -> None:
    decision = derive_priority(1, "inquiry", override=Priority.URGENT,
                               override_reason="媒体投诉")
    assert decision.priority is Priority.URGENT
    assert decision.overridden
    assert decision.reason == "overridden to urgent (derived normal): 媒体投诉"
    with pytest.raises(ValidationError, match="override_reason"):
        derive_priority(1, "inquiry", override="urgent")


@pytest.mark.parametrize(
    ("stars", "category", "field"),
    [(0, "inquiry", "stars"), (6, "inquiry", "stars"), (True, "inquiry", "stars"),
     ("5", "inquiry", "stars"), (3, "complaint", "category")],
)
def test_bad_priority_inputs_are_named(stars: object, category: str, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        derive_priority(stars, category)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_a_bad_category_raise_map_is_named() -> None:
    with pytest.raises(ValidationError, match="category_raise"):
        derive_priority(3, "inquiry", category_raise=None)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="category_raise"):
        derive_priority(3, "inquiry", category_raise={TicketCategory.INQUIRY: -1})
