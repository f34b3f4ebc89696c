"""Ticket use cases over a store: open a ticket, and load-fire-save a transition.

Two agents working the same ticket is normal on a service desk: :func:`fire_ticket`
reads the stored ticket, fires the event through the workflow and saves it at the
version it read; when someone else saved in between (a
:class:`~custmgmt.errors.Conflict`), it reads again and retries, a bounded number of
times, so the transition is applied to the current ticket or not at all.

>>> from datetime import datetime, timedelta, timezone
>>> from custmgmt.adapters.memory import MemoryStore
>>> from custmgmt.testing import make_customer
>>> store = MemoryStore()
>>> store.customers.add(make_customer(id="C-1"))
>>> at = datetime(2024, 9, 23, 9, tzinfo=timezone.utc)
>>> ticket = open_ticket(store, id="T-1", customer_id="C-1", category="logistics",
...                      priority="high", subject="快递没有更新", at=at, actor="web")
>>> fire_ticket(store, "T-1", "assign", at=at + timedelta(minutes=5), actor="lead",
...             assignee="agent-01").status.value
'assigned'
>>> store.tickets.get("T-1").version
2
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from custmgmt.domain import Priority
from custmgmt.domain._validate import coerce_enum
from custmgmt.errors import Conflict, ValidationError
from custmgmt.tickets.ports import TicketStore
from custmgmt.tickets.ticket import Ticket, TicketCategory, TicketEvent
from custmgmt.tickets.workflow import DEFAULT_WORKFLOW, Workflow

__all__ = ["DEFAULT_RETRIES", "fire_ticket", "open_ticket"]

#: How many times :func:`fire_ticket` re-reads and retries after a Conflict.
DEFAULT_RETRIES: Final = 3

#: The event data :func:`fire_ticket` passes on to :meth:`Workflow.fire`.
_EVENT_DATA: Final = frozenset(
    {"reason", "assignee", "solution", "merged_into", "priority", "score"}
)


def _workflow(workflow: object) -> Workflow:
    if not isinstance(workflow, Workflow):
        raise ValidationError("workflow", workflow, "a Workflow")
    return workflow


def open_ticket(
    store: TicketStore,
    *,
    id: str,
    customer_id: str,
    category: TicketCategory | str,
    priority: Priority | str,
    subject: str,
    at: datetime,
    actor: str,
    channel: str = "web",
    description: str = "",
    reason: str = "",
    workflow: Workflow = DEFAULT_WORKFLOW,
) -> Ticket:
    """Open a ticket for a known customer and store it.

    Raises:
        NotFound: the customer is unknown (nothing is stored).
        Conflict: the ticket id is taken.
        ValidationError: a bad field (see :meth:`Workflow.open`), or ``workflow`` is
            not a Workflow.
    """
    ticket = _workflow(workflow).open(
        id=id, customer_id=customer_id, category=category, priority=priority,
        subject=subject, at=at, actor=actor, channel=channel, description=description,
        reason=reason,
    )
    with store.transaction():
        store.customers.get(customer_id)
        store.tickets.add(ticket)
    return ticket


def fire_ticket(
    store: TicketStore,
    ticket_id: str,
    event: TicketEvent | str,
    *,
    at: datetime,
    actor: str,
    workflow: Workflow = DEFAULT_WORKFLOW,
    retries: int = DEFAULT_RETRIES,
    **data: Any,
) -> Ticket:
    """Load the ticket, fire ``event`` through ``workflow`` and save it.

    The save is at the version read; on a :class:`~custmgmt.errors.Conflict`
    (someone saved the ticket in between) the ticket is read again and the event
    fired on the fresh copy, up to ``retries`` more times. The event's data
    (``reason``, ``assignee``, ``solution``, ``merged_into``, ``priority``,
    ``score``) goes to :meth:`Workflow.fire`. A ``merge`` must name a stored ticket
    of the same customer that the workflow has not ended (not closed, cancelled or
    merged itself), so that the request lives on in the surviving ticket.

    Returns:
        The ticket as saved.

    Raises:
        NotFound: no such ticket (or no ``merged_into`` ticket).
        TransitionNotAllowed: the event is not allowed in the ticket's current status
            (also when a concurrent change moved it there); nothing is saved.
        Conflict: still conflicting after ``retries`` retries.
        ValidationError: bad event data (or a keyword that is none of them), a naive
            or out-of-order ``at``, a negative ``retries``, ``workflow`` not a Workflow;
            a ``merged_into`` ticket of another customer, or one in a final status.
    """
    _workflow(workflow)
    for name in sorted(set(data) - _EVENT_DATA):
        known = ", ".join(sorted(_EVENT_DATA))
        raise ValidationError(name, data[name], f"no such argument: the event data are {known}")
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ValidationError("retries", retries, "a whole number >= 0")
    merging = coerce_enum(TicketEvent, event, "event") is TicketEvent.MERGE
    attempt = 0
    while True:
        try:
            with store.transaction():
                stored = store.tickets.get(ticket_id)
                if merging:
                    _check_survivor(store, stored, data.get("merged_into"), workflow)
                changed = workflow.fire(stored, event, at=at, actor=actor, **data)
                store.tickets.update(changed, expected_version=stored.version)
            return changed
        except Conflict:
            if attempt >= retries:
                raise
            attempt += 1


def _check_survivor(
    store: TicketStore, ticket: Ticket, merged_into: object, workflow: Workflow
) -> None:
    """The ticket ``ticket`` merges into exists, is the same customer's and lives on."""
    if not isinstance(merged_into, str) or merged_into == ticket.id:
        return  # the workflow's own checks name the problem
    survivor = store.tickets.get(merged_into)
    if survivor.customer_id != ticket.customer_id:
        raise ValidationError(
            "merged_into", merged_into, f"a ticket of the same customer as {ticket.id!r}"
        )
    if survivor.status in workflow.final:
        raise ValidationError(
            "merged_into", merged_into,
            f"a ticket that lives on (it is {survivor.status.value!r})",
        )
