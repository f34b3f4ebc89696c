"""The service ticket: a frozen record with an append-only event log.

A :class:`Ticket` is never changed in place. Every change is a transition of its
workflow (:mod:`custmgmt.tickets.workflow`) that returns a new copy with one more
:class:`TicketEventRecord` in :attr:`Ticket.events` (who, when, which event, from which
status to which, why) and ``version`` bumped. The log is the source of truth for
everything computed later: SLA clocks (:mod:`custmgmt.tickets.sla`), satisfaction
follow-up, complaint statistics. A ticket therefore refuses a log that could not have
happened: one that does not start with its creation, runs backwards in time, or whose
``from_status`` does not continue the previous entry's ``to_status``.

The log is a :class:`TicketLog`: an immutable sequence that shares its entries with
the log it was appended to, so firing n events copies and checks O(n) entries in
all, not O(n**2) (each transition checks only the entry it adds).

Priority comes from the customer's stars (through the rating package's
``ServiceLevels``, or anything with a ``priority_for(stars)`` method), raised for some
categories and for urgent requests, and can be overridden with a reason
(:func:`derive_priority`).

>>> from datetime import datetime, timezone
>>> t = Ticket.open(
...     id="T-1", customer_id="C-1", category="logistics", priority=Priority.NORMAL,
...     subject="包裹还没到", at=datetime(2024, 9, 23, 9, tzinfo=timezone.utc), actor="web",
... )
>>> t.status, t.version, [e.event.value for e in t.events]
(<TicketStatus.NEW: 'new'>, 1, ['create'])
"""

from __future__ import annotations

import enum
import itertools
import operator
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, Final, Protocol, overload, runtime_checkable

import attrs

from custmgmt.domain import _validate as v
from custmgmt.domain.service import Priority
from custmgmt.errors import ValidationError

__all__ = [
    "CATEGORY_RAISE",
    "FINAL_STATUSES",
    "OPEN_STATUSES",
    "STAR_PRIORITY",
    "PriorityDecision",
    "StarPriorities",
    "Ticket",
    "TicketCategory",
    "TicketEvent",
    "TicketEventRecord",
    "TicketLog",
    "TicketStatus",
    "derive_priority",
]


class TicketStatus(enum.Enum):
    """Where a ticket stands in its workflow (values are stored as they are)."""

    NEW = "new"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    WAITING_ON_CUSTOMER = "waiting_on_customer"
    ESCALATED = "escalated"
    RESOLVED = "resolved"
    CLOSED = "closed"
    CANCELLED = "cancelled"
    MERGED = "merged"


#: The statuses of the default workflow that have no exits.
FINAL_STATUSES: Final = frozenset(
    {TicketStatus.CLOSED, TicketStatus.CANCELLED, TicketStatus.MERGED}
)

#: The statuses in which a ticket is open: still being worked on (not yet resolved,
#: closed, cancelled or merged). Every "open tickets" list reads this one tuple.
OPEN_STATUSES: Final[tuple[TicketStatus, ...]] = (
    TicketStatus.NEW,
    TicketStatus.ASSIGNED,
    TicketStatus.IN_PROGRESS,
    TicketStatus.WAITING_ON_CUSTOMER,
    TicketStatus.ESCALATED,
)


class TicketEvent(enum.Enum):
    """What happened to a ticket: the events of its workflow."""

    CREATE = "create"
    """The ticket was opened (only ever the first entry of a log)."""
    ASSIGN = "assign"
    """An agent was (re)assigned."""
    START = "start"
    """The agent started (or resumed) working on it."""
    RESPOND = "respond"
    """An agent's public reply to the customer (stops the response clocks)."""
    WAIT_ON_CUSTOMER = "wait_on_customer"
    """The agent needs something from the customer."""
    CUSTOMER_REPLIED = "customer_replied"
    """The customer wrote back."""
    RESOLVE = "resolve"
    """A solution was given."""
    CLOSE = "close"
    """The ticket was closed for good."""
    REOPEN = "reopen"
    """A resolved ticket went back to work (within the reopen window)."""
    ESCALATE = "escalate"
    """Handed to a higher support level."""
    CANCEL = "cancel"
    """Withdrawn: no answer is needed any more."""
    MERGE = "merge"
    """Folded into another ticket (``merged_into``)."""
    SET_PRIORITY = "set_priority"
    """The priority was overridden (the reason says why)."""
    RATE = "rate"
    """The customer answered the satisfaction survey (1-5)."""


class TicketCategory(enum.Enum):
    """What a ticket is about (the mission's service classification)."""

    PRODUCT_QUALITY = "product_quality"
    LOGISTICS = "logistics"
    AFTER_SALES = "after_sales"
    INQUIRY = "inquiry"
    OTHER = "other"


def _to_status(value: Any) -> TicketStatus:
    return v.coerce_enum(TicketStatus, value, "TicketEventRecord.to_status")


def _to_optional_status(value: Any) -> TicketStatus | None:
    if value is None:
        return None
    return v.coerce_enum(TicketStatus, value, "TicketEventRecord.from_status")


def _to_event(value: Any) -> TicketEvent:
    return v.coerce_enum(TicketEvent, value, "TicketEventRecord.event")


@attrs.frozen(kw_only=True)
class TicketEventRecord:
    """One entry of a ticket's event log.

    Attributes:
        at: when it happened (timezone-aware).
        event: what happened.
        from_status: the status before (None only for the creation).
        to_status: the status after (the same as before for events such as a reply).
        actor: who did it (an agent id, ``"customer"``, ``"system"`` ...).
        reason: why, in free text (may be empty).
        score: the survey score (1-5) on a ``rate`` entry (the workflow always records
            it; a log written by hand may leave it None); None on every other entry.
    """

    at: datetime = attrs.field(validator=v.aware_datetime())
    event: TicketEvent = attrs.field(converter=_to_event)
    from_status: TicketStatus | None = attrs.field(converter=_to_optional_status)
    to_status: TicketStatus = attrs.field(converter=_to_status)
    actor: str = attrs.field(validator=v.text(max_length=200))
    reason: str = attrs.field(default="", validator=v.text(blank_ok=True, max_length=2000))
    score: int | None = attrs.field(default=None)

    def __attrs_post_init__(self) -> None:
        # The ticket keeps only the latest score; the log keeps every survey reply.
        if self.score is None:
            return
        if self.event is TicketEvent.RATE:
            if (
                not isinstance(self.score, int)
                or isinstance(self.score, bool)
                or not 1 <= self.score <= 5
            ):
                raise ValidationError(
                    "TicketEventRecord.score", self.score, "a survey score from 1 to 5 on 'rate'"
                )
        else:
            raise ValidationError(
                "TicketEventRecord.score", self.score, "None except on 'rate' entries"
            )


def _to_category(value: Any) -> TicketCategory:
    return v.coerce_enum(TicketCategory, value, "Ticket.category")


def _to_priority(value: Any) -> Priority:
    return v.coerce_enum(Priority, value, "Ticket.priority")


def _to_ticket_status(value: Any) -> TicketStatus:
    return v.coerce_enum(TicketStatus, value, "Ticket.status")


class TicketLog(Sequence[TicketEventRecord]):
    """A ticket's event log: an immutable sequence of :class:`TicketEventRecord`.

    It reads like a tuple (indexing, slicing to a tuple, iteration, ``len``, equality
    with tuples and other logs, hashing). :meth:`Ticket.appended` extends it without
    copying: the longer log shares the entries of the shorter one, which never change
    (a second log appended to the same one gets a copy of its own).

    >>> from datetime import datetime, timezone
    >>> at = datetime(2024, 9, 23, 9, tzinfo=timezone.utc)
    >>> log = TicketLog([TicketEventRecord(at=at, event="create", from_status=None,
    ...                                    to_status="new", actor="web")])
    >>> len(log), log[0].event.value, log == tuple(log)
    (1, 'create', True)

    Args:
        records: the entries, oldest first. A log on its own is not checked; a ticket
            checks the log it is given once (:class:`Ticket`).

    Raises:
        ValidationError: ``records`` is not an iterable of TicketEventRecord.
    """

    __slots__ = ("_checked", "_entries", "_size")

    def __init__(self, records: Iterable[TicketEventRecord] = ()) -> None:
        given: object = records  # hosts call this untyped too: check at run time
        if isinstance(given, str | bytes) or not isinstance(given, Iterable):
            raise ValidationError("Ticket.events", records, "a sequence of TicketEventRecord")
        entries = list(records)
        for i, record in enumerate(entries):
            if not isinstance(record, TicketEventRecord):
                raise ValidationError(f"Ticket.events[{i}]", record, "a TicketEventRecord")
        self._entries = entries
        self._size = len(entries)
        # Set by Ticket once it has checked the log's order and status chain.
        self._checked = False

    @classmethod
    def _view(cls, entries: list[TicketEventRecord], size: int) -> TicketLog:
        log = cls.__new__(cls)
        log._entries = entries
        log._size = size
        log._checked = True
        return log

    def _append(self, record: TicketEventRecord) -> TicketLog:
        """A checked log one entry longer, sharing this log's entries when it can."""
        entries, size = self._entries, self._size
        if len(entries) == size:
            entries.append(record)
        # Another log (or thread) may have appended to the same list first: share it
        # when it holds the same entry (a replay of the log), else copy.
        if entries[size] is record or entries[size] == record:
            return TicketLog._view(entries, size + 1)
        copied = entries[:size]
        copied.append(record)
        return TicketLog._view(copied, size + 1)

    def __len__(self) -> int:
        return self._size

    @overload
    def __getitem__(self, index: int) -> TicketEventRecord: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[TicketEventRecord, ...]: ...

    def __getitem__(
        self, index: int | slice
    ) -> TicketEventRecord | tuple[TicketEventRecord, ...]:
        if isinstance(index, slice):
            start, stop, step = index.indices(self._size)
            if step > 0:
                return tuple(self._entries[start:stop:step])
            entries = self._entries
            return tuple(entries[i] for i in range(start, stop, step))
        position = operator.index(index)
        if position < 0:
            position += self._size
        if not 0 <= position < self._size:
            raise IndexError("ticket log index out of range")
        return self._entries[position]

    def __iter__(self) -> Iterator[TicketEventRecord]:
        return itertools.islice(self._entries, self._size)

    def __reversed__(self) -> Iterator[TicketEventRecord]:
        entries = self._entries
        return (entries[i] for i in range(self._size - 1, -1, -1))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, TicketLog):
            if other._size != self._size:
                return False
            if other._entries is self._entries:
                return True
        elif isinstance(other, tuple):
            if len(other) != self._size:
                return False
        else:
            return NotImplemented
        return all(a is b or a == b for a, b in zip(self, other, strict=True))

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return repr(tuple(self))

    def __reduce__(self) -> tuple[Any, ...]:
        return (TicketLog, (tuple(self),))

    def extends(self, other: TicketLog | Sequence[TicketEventRecord]) -> bool:
        """Whether ``other`` is a prefix of this log (O(1) when one was appended to the other)."""
        size = len(other)
        if size > self._size:
            return False
        if isinstance(other, TicketLog) and other._entries is self._entries:
            return True
        return all(a is b or a == b for a, b in zip(self, other, strict=False))


def _to_events(value: Any) -> TicketLog:
    if isinstance(value, TicketLog):
        return value
    return TicketLog(value)


def _check_satisfaction(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 5:
        raise ValidationError("Ticket.satisfaction", value, "an integer score from 1 to 5, or None")


@attrs.frozen(kw_only=True)
class Ticket:
    """A customer's inquiry, complaint or after-sales request, with its history.

    Build one with :meth:`Ticket.open` (or :meth:`Workflow.open
    <custmgmt.tickets.workflow.Workflow.open>`); change it with a workflow's
    :meth:`~custmgmt.tickets.workflow.Workflow.fire`.

    Attributes:
        id: the ticket id.
        customer_id: whose request it is.
        category: what it is about.
        channel: where it came in (``"web"``, ``"phone"``, ``"微信"`` ...).
        priority: how urgently it is handled (selects the SLA targets).
        subject: a one-line summary.
        description: the full request (may be empty).
        status: the current status; always the last event's ``to_status``.
        created_at: when it was opened; the first event's ``at``.
        events: the append-only event log, oldest first.
        assignee: the agent working on it, if any.
        solution: the solution given, if any (resolving needs one).
        satisfaction: the customer's 1-5 survey score, if they answered.
        reopened_from: the ticket this one follows up, when reopened after its window.
        merged_into: the ticket this one was merged into.
        version: optimistic-concurrency version, 1 for a new ticket.

    Raises:
        ValidationError: for a bad field, or an event log that could not have happened
            (not starting with ``create``, out of time order, a broken status chain).
    """

    id: str = attrs.field(validator=v.an_id)
    customer_id: str = attrs.field(validator=v.an_id)
    category: TicketCategory = attrs.field(converter=_to_category)
    channel: str = attrs.field(validator=v.text(max_length=100))
    priority: Priority = attrs.field(converter=_to_priority)
    subject: str = attrs.field(validator=v.text(max_length=500))
    description: str = attrs.field(default="", validator=v.text(blank_ok=True))
    status: TicketStatus = attrs.field(converter=_to_ticket_status)
    created_at: datetime = attrs.field(validator=v.aware_datetime())
    events: TicketLog = attrs.field(converter=_to_events)
    assignee: str | None = attrs.field(default=None, validator=v.optional_id)
    solution: str | None = attrs.field(
        default=None, validator=v.text(optional=True, blank_ok=False)
    )
    satisfaction: int | None = attrs.field(default=None, validator=_check_satisfaction)
    reopened_from: str | None = attrs.field(default=None, validator=v.optional_id)
    merged_into: str | None = attrs.field(default=None, validator=v.optional_id)
    version: int = attrs.field(default=1, validator=v.version)

    def __attrs_post_init__(self) -> None:
        events = self.events
        if not events._checked:
            _check_log(events, self.created_at, self.status)
            events._checked = True
        _check_ends(events, self.created_at, self.status)

    @classmethod
    def open(
        cls,
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
        reopened_from: str | None = None,
        status: TicketStatus = TicketStatus.NEW,
    ) -> Ticket:
        """A new ticket whose log holds its creation.

        Args:
            id: the ticket id.
            customer_id: whose request it is.
            category: what it is about (member or value).
            priority: its priority (see :func:`derive_priority`).
            subject: a one-line summary.
            at: when it was opened (aware).
            actor: who opened it.
            channel: where it came in.
            description: the full request.
            reason: recorded on the ``create`` entry (e.g. how the priority was chosen).
            reopened_from: the ticket this one follows up, if any.
            status: the workflow's initial status.

        Raises:
            ValidationError: for any bad field.
        """
        record = TicketEventRecord(
            at=at, event=TicketEvent.CREATE, from_status=None, to_status=status,
            actor=actor, reason=reason,
        )
        return cls(
            id=id, customer_id=customer_id, category=category, channel=channel,
            priority=priority, subject=subject, description=description, status=status,
            created_at=at, events=(record,), reopened_from=reopened_from,
        )

    def appended(self, record: TicketEventRecord, **changes: Any) -> Ticket:
        """A copy with ``record`` appended to the log, its status, and ``changes`` applied.

        This is the low-level step under every workflow transition: it checks that the
        log stays consistent but not that the workflow allows the event. Use
        :meth:`Workflow.fire <custmgmt.tickets.workflow.Workflow.fire>` instead.

        Raises:
            ValidationError: when ``record`` is earlier than the last entry, does not
                start from the current status, or ``changes`` names a field an event
                may not change (id, customer, the log, status, version) or holds a bad
                value.
        """
        if not isinstance(record, TicketEventRecord):
            raise ValidationError("record", record, "a TicketEventRecord")
        for name, value in changes.items():
            if name not in _CHANGEABLE:
                raise ValidationError(
                    f"changes[{name!r}]", value,
                    f"one of the fields an event may change ({', '.join(sorted(_CHANGEABLE))})",
                )
        # This ticket was checked when it was built: check only the new entry and the
        # fields that change (attrs.evolve would re-run every field's validator).
        events = self.events
        _check_entry(len(events), events[-1], record)
        return self._derived(
            events=events._append(record), status=record.to_status,
            version=self.version + 1, **changes,
        )

    def _derived(self, **changes: Any) -> Ticket:
        """A copy with ``changes``, running the converters and validators of those only."""
        fields = _ticket_fields()
        copy = object.__new__(Ticket)
        for field in fields.values():
            object.__setattr__(copy, field.name, getattr(self, field.name))
        for name, value in changes.items():
            field = fields[name]
            if field.converter is not None:
                value = field.converter(value)  # type: ignore[operator]
            object.__setattr__(copy, name, value)
        for name in changes:
            field = fields[name]
            if field.validator is not None:
                field.validator(copy, field, getattr(copy, name))
        copy.__attrs_post_init__()
        return copy

    # -- what the log says ----------------------------------------------------------

    @property
    def updated_at(self) -> datetime:
        """When the last event happened."""
        return self.events[-1].at

    @property
    def is_final(self) -> bool:
        """Whether the status is closed, cancelled or merged (the default finals)."""
        return self.status in FINAL_STATUSES

    @property
    def resolved_at(self) -> datetime | None:
        """When it was last resolved, while it is resolved or closed; else None."""
        if self.status not in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
            return None
        for record in reversed(self.events):
            if record.event is TicketEvent.RESOLVE:
                return record.at
        return None

    @property
    def times_reopened(self) -> int:
        """How often it was reopened: ``reopen`` entries, plus one if it follows another."""
        count = sum(1 for r in self.events if r.event is TicketEvent.REOPEN)
        return count + (1 if self.reopened_from is not None else 0)

    def events_of(self, event: TicketEvent) -> tuple[TicketEventRecord, ...]:
        """The entries of one kind of event, oldest first."""
        return tuple(r for r in self.events if r.event is event)


_FIELDS: dict[str, attrs.Attribute[Any]] = {}


def _ticket_fields() -> dict[str, attrs.Attribute[Any]]:
    if not _FIELDS:
        _FIELDS.update(attrs.fields_dict(Ticket))
    return _FIELDS


#: The fields an event may change besides the log, status and version.
_CHANGEABLE: Final = frozenset(
    {"assignee", "solution", "satisfaction", "priority", "merged_into", "description",
     "subject", "category", "channel"}
)


def _check_log(events: TicketLog, created_at: datetime, status: TicketStatus) -> None:
    if not events:
        raise ValidationError("Ticket.events", events, "a log starting with a 'create' entry")
    first = events[0]
    if first.event is not TicketEvent.CREATE or first.from_status is not None:
        raise ValidationError(
            "Ticket.events[0]", first, "a 'create' entry with from_status None"
        )
    if first.at != created_at:
        raise ValidationError("Ticket.events[0].at", first.at, f"created_at ({created_at})")
    for i, (before, record) in enumerate(itertools.pairwise(events), start=1):
        _check_entry(i, before, record)


def _check_entry(i: int, before: TicketEventRecord, record: TicketEventRecord) -> None:
    """Check log entry ``i`` against the entry before it."""
    if record.at < before.at:
        raise ValidationError(
            f"Ticket.events[{i}].at", record.at,
            f"a time at or after the previous entry's ({before.at.isoformat()})",
        )
    if record.event is TicketEvent.CREATE:
        raise ValidationError(f"Ticket.events[{i}].event", record.event,
                              "'create' only as the first entry")
    if record.from_status is not before.to_status:
        raise ValidationError(
            f"Ticket.events[{i}].from_status", record.from_status,
            f"the previous entry's to_status ({before.to_status.value!r})",
        )


def _check_ends(events: TicketLog, created_at: datetime, status: TicketStatus) -> None:
    """What a checked log must still agree with: the ticket's creation time and status."""
    if events[0].at != created_at:
        raise ValidationError("Ticket.events[0].at", events[0].at, f"created_at ({created_at})")
    if events[-1].to_status is not status:
        raise ValidationError(
            "Ticket.status", status, f"the last entry's to_status ({events[-1].to_status.value!r})"
        )


# -- priority -----------------------------------------------------------------------


@runtime_checkable
class StarPriorities(Protocol):
    """Anything that maps a star level to a ticket priority (the rating's ServiceLevels)."""

    def priority_for(self, stars: int) -> Priority:
        """The priority for customers with ``stars`` stars."""
        ...


#: The priority by star level when no service levels are given: the same as
#: ``custmgmt.rating.ServiceLevels.default()`` (URGENT is left to category and urgency).
STAR_PRIORITY: Final[Mapping[int, Priority]] = {
    5: Priority.HIGH,
    4: Priority.HIGH,
    3: Priority.NORMAL,
    2: Priority.NORMAL,
    1: Priority.NORMAL,
}

#: How many levels each category raises the star priority by default: a faulty
#: product or a broken after-sales promise is a complaint, an inquiry is not.
CATEGORY_RAISE: Final[Mapping[TicketCategory, int]] = {
    TicketCategory.PRODUCT_QUALITY: 1,
    TicketCategory.AFTER_SALES: 1,
    TicketCategory.LOGISTICS: 0,
    TicketCategory.INQUIRY: 0,
    TicketCategory.OTHER: 0,
}


@attrs.frozen(kw_only=True)
class PriorityDecision:
    """A ticket priority and how it was reached (recorded on the ``create`` entry).

    Attributes:
        priority: the chosen priority.
        reason: a sentence explaining it.
        overridden: whether a person chose it over the derived one.
    """

    priority: Priority
    reason: str
    overridden: bool = False


def derive_priority(
    stars: int | None,
    category: TicketCategory | str,
    *,
    urgent: bool = False,
    service_levels: StarPriorities | Callable[[int], Priority] | None = None,
    category_raise: Mapping[TicketCategory, int] = CATEGORY_RAISE,
    override: Priority | str | None = None,
    override_reason: str = "",
) -> PriorityDecision:
    """A ticket's priority from the customer's stars, the category and urgency.

    The star level gives the base (through ``service_levels``, else
    :data:`STAR_PRIORITY`; an unrated customer is NORMAL); the category raises it by
    ``category_raise`` levels; an urgent request is URGENT. A person may override the
    result, and must then say why.

    >>> derive_priority(5, "product_quality").priority
    <Priority.URGENT: 'urgent'>
    >>> derive_priority(1, "inquiry", override="high", override_reason="VIP complaint").reason
    'overridden to high (derived normal): VIP complaint'

    Args:
        stars: the customer's star level (1-5, or up to the service levels' top), or
            None when unrated.
        category: the ticket category.
        urgent: whether the request was flagged urgent.
        service_levels: an object with ``priority_for(stars)`` or a function of stars.
        category_raise: levels each category raises the priority by.
        override: a priority chosen by a person.
        override_reason: why (required with ``override``).

    Raises:
        ValidationError: for stars outside 1-5 (the service levels refuse their own
            unknown levels), an unknown category or priority, or an override without a
            reason.
    """
    if stars is not None and (
        not isinstance(stars, int)
        or isinstance(stars, bool)
        or stars < 1
        or (service_levels is None and stars not in STAR_PRIORITY)
    ):
        raise ValidationError("stars", stars, "a star level from 1 to 5, or None")
    cat = v.coerce_enum(TicketCategory, category, "category")
    if stars is None:
        base, why = Priority.NORMAL, "unrated customer"
    elif service_levels is None:
        base, why = STAR_PRIORITY[stars], f"{stars} stars"
    else:
        found = (
            service_levels.priority_for(stars)
            if isinstance(service_levels, StarPriorities)
            else service_levels(stars)
        )
        base = v.coerce_enum(Priority, found, "service_levels(stars)")
        why = f"{stars} stars"
    if not isinstance(category_raise, Mapping):
        raise ValidationError("category_raise", category_raise, "a mapping of category to levels")
    steps = category_raise.get(cat, 0)
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 0:
        raise ValidationError(f"category_raise[{cat.value!r}]", steps, "an integer >= 0")
    derived = base.raised(steps) if steps > 0 else base
    parts = [f"{why}: {base.value}"]
    if steps > 0:
        parts.append(f"{cat.value} raises it to {derived.value}")
    if urgent:
        derived = Priority.URGENT
        parts.append("flagged urgent")
    reason = "; ".join(parts)
    if override is None:
        return PriorityDecision(priority=derived, reason=reason)
    chosen = v.coerce_enum(Priority, override, "override")
    if not isinstance(override_reason, str) or not override_reason.strip():
        raise ValidationError("override_reason", override_reason, "a reason for the override")
    return PriorityDecision(
        priority=chosen,
        reason=f"overridden to {chosen.value} (derived {derived.value}): {override_reason}",
        overridden=True,
    )
