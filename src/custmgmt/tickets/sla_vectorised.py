"""The SLA status of many tickets at once, in numpy.

:func:`sla_status_many` computes, for every ticket, exactly what
:func:`custmgmt.tickets.sla.sla_status` computes for one (the tests compare the two
with hypothesis). It works on a columnar copy of the event logs,
:class:`SLAEventFrame`: one row per event plus a creation row per ticket, in log
order, with int64 microsecond timestamps (UTC).

How it works. Every row opens a *segment* that lasts until the next row of its ticket
(or ``as_of``), in the status the row set. A
:class:`~custmgmt.calendars.BusinessTimeTable` gives each segment's working time as
``F(end) - F(start)`` in two ``searchsorted`` calls. Each metric counts the segments
whose status does not pause it; one global cumulative sum ``P`` of the counted
working time then answers every question about a clock running over rows
``[p, q)``:

* elapsed working time is ``P[q] - P[p]``;
* the deadline lies in the first row ``j`` with ``P[j + 1] >= P[p] + target``: one
  more ``searchsorted`` on ``P`` (it is non-decreasing across tickets), then the
  table's inverse finds the instant inside that segment.

Clock boundaries are found without sorting: the first answer of each ticket, the
customer replies that open next-response cycles (the first unanswered one after each
answer, by grouping on a running count of answers) and the next answer after each
of them (a reversed ``minimum.accumulate``).

The result, :class:`SLAStatusFrame`, stays columnar; :meth:`SLAStatusFrame.status`
builds the :class:`~custmgmt.tickets.sla.SLAStatus` of one ticket when needed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, Final

import attrs
import numpy as np
import numpy.typing as npt

from custmgmt.calendars import BusinessCalendar, BusinessTimeTable
from custmgmt.calendars.table import MAX_SPAN_DAYS
from custmgmt.domain.time import EPOCH, from_epoch_micros, require_aware, to_epoch_micros
from custmgmt.errors import ValidationError
from custmgmt.notebook.dataframes import Coded, FrameExport, Times
from custmgmt.notebook.display import Report, Table, short_repr
from custmgmt.tickets.sla import (
    CANCELLED_STATUSES,
    CUSTOMER_REPLIED,
    DONE_STATUSES,
    RESPOND,
    SLAMetric,
    SLAPolicy,
    SLAState,
    SLAStatus,
    SLATicket,
    TargetStatus,
    check_factor,
    status_key,
)

__all__ = [
    "KIND_CREATED",
    "KIND_CUSTOMER_REPLIED",
    "KIND_OTHER",
    "KIND_RESPOND",
    "NO_TIME",
    "STATE_CODES",
    "SLAEventFrame",
    "SLAStatusFrame",
    "TargetColumns",
    "sla_status_many",
]

Int64Array = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Row kinds in :attr:`SLAEventFrame.kind`.
KIND_CREATED: Final = 0
KIND_RESPOND: Final = 1
KIND_CUSTOMER_REPLIED: Final = 2
KIND_OTHER: Final = 3
_KINDS: Final = {RESPOND: KIND_RESPOND, CUSTOMER_REPLIED: KIND_CUSTOMER_REPLIED}

#: The order of :class:`SLAState` codes in :attr:`TargetColumns.state`.
STATE_CODES: Final[tuple[SLAState, ...]] = tuple(SLAState)
_CODE: Final = {state: code for code, state in enumerate(STATE_CODES)}

#: The int64 that stands for "no instant" in time columns.
NO_TIME: Final = np.iinfo(np.int64).min

_MICRO: Final = timedelta(microseconds=1)


@attrs.frozen(kw_only=True, eq=False)
class SLAEventFrame:
    """Tickets' event logs as columns: what the vectorised SLA engine reads.

    Rows ``offsets[i]:offsets[i + 1]`` belong to ticket ``i``: first a creation row
    (kind 0, at ``created_at``, in the log's initial status), then its events in log
    order. Build it with :meth:`from_tickets`, or directly from a host's own columns.

    Attributes:
        ticket_ids: one id per ticket.
        priorities: each ticket's priority, as on the ticket.
        categories: each ticket's category, as on the ticket.
        offsets: int64, ``n + 1`` row offsets.
        at: int64 microseconds since the epoch (UTC) of each row.
        kind: int8 row kinds: 0 creation, 1 agent response, 2 customer reply, 3 other.
        status: int32 code, into ``status_members``, of the status after each row.
        status_members: the statuses as the logs spell them, by code.
    """

    ticket_ids: tuple[str, ...]
    priorities: tuple[Any, ...]
    categories: tuple[Any, ...]
    offsets: Int64Array
    at: Int64Array
    kind: npt.NDArray[np.int8]
    status: npt.NDArray[np.int32]
    status_members: tuple[Any, ...]

    def __len__(self) -> int:
        return len(self.ticket_ids)

    @classmethod
    def from_tickets(cls, tickets: Iterable[SLATicket]) -> SLAEventFrame:
        """Copy the logs of ``tickets`` into columns, validating them.

        Raises:
            ValidationError: for naive datetimes, an empty log, or events out of time
                order or before the creation (naming the ticket and the event).
        """
        ids: list[str] = []
        priorities: list[Any] = []
        categories: list[Any] = []
        offsets = [0]
        at: list[int] = []
        kinds: list[int] = []
        statuses: list[int] = []
        codes: dict[Any, int] = {}
        members: list[Any] = []
        # Enum members are singletons: looking them up by identity skips Enum.__hash__
        # and .value in the loop below (``members`` keeps them alive, so ids stay valid).
        code_by_id: dict[int, int] = {}
        kind_by_id: dict[int, int] = {}
        kept: list[Any] = []

        def status_code(status: Any) -> int:
            key = status_key(status)
            code = codes.get(key)
            if code is None:
                code = codes[key] = len(members)
                members.append(status)
            code_by_id[id(status)] = code
            kept.append(status)
            return code

        def kind_code(event: Any) -> int:
            code = _KINDS.get(status_key(event), KIND_OTHER)
            kind_by_id[id(event)] = code
            kept.append(event)
            return code

        status_of = code_by_id.get
        kind_of = kind_by_id.get
        for ticket in tickets:
            events = ticket.events
            if not events:
                raise ValidationError(
                    f"tickets[{ticket.id!r}].events",
                    (),
                    "a non-empty event log starting with the creation",
                )
            first = events[0]
            initial = first.from_status if first.from_status is not None else first.to_status
            try:
                delta = ticket.created_at - EPOCH
            except TypeError:
                require_aware(f"tickets[{ticket.id!r}].created_at", ticket.created_at)
                raise  # pragma: no cover - require_aware raised
            previous = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
            code = status_of(id(initial))
            at.append(previous)
            kinds.append(KIND_CREATED)
            statuses.append(status_code(initial) if code is None else code)
            for index, record in enumerate(events):
                moment = record.at
                try:
                    delta = moment - EPOCH
                except TypeError:
                    require_aware(f"tickets[{ticket.id!r}].events[{index}].at", moment)
                    raise  # pragma: no cover - require_aware raised
                micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
                if micros < previous:
                    raise ValidationError(
                        f"tickets[{ticket.id!r}].events[{index}].at",
                        moment,
                        "events in time order"
                        if index
                        else "events at or after the ticket's creation",
                    )
                previous = micros
                at.append(micros)
                to_status = record.to_status
                code = status_of(id(to_status))
                statuses.append(status_code(to_status) if code is None else code)
                event = record.event
                code = kind_of(id(event))
                kinds.append(kind_code(event) if code is None else code)
            offsets.append(len(at))
            ids.append(ticket.id)
            priorities.append(ticket.priority)
            categories.append(ticket.category)
        return cls(
            ticket_ids=tuple(ids),
            priorities=tuple(priorities),
            categories=tuple(categories),
            offsets=np.asarray(offsets, dtype=np.int64),
            at=np.asarray(at, dtype=np.int64),
            kind=np.asarray(kinds, dtype=np.int8),
            status=np.asarray(statuses, dtype=np.int32),
            status_members=tuple(members),
        )


@attrs.frozen(kw_only=True, eq=False)
class TargetColumns:
    """One metric's clocks for every ticket (int64 microseconds unless noted).

    Attributes:
        metric: the clock.
        present: bool, whether the ticket has this clock (a target, and for next
            response a cycle).
        state: int8 codes into :data:`STATE_CODES`.
        target: the target.
        elapsed: counted working time of the current cycle.
        remaining: ``max(target - elapsed, 0)``.
        lateness: ``max(elapsed - target, 0)``.
        due_at: the deadline (epoch microseconds), or :data:`NO_TIME`.
        breached_at: the first breached cycle's deadline, or :data:`NO_TIME`.
        cycles: how many cycles ran.
        breaches: how many cycles breached.
    """

    metric: SLAMetric
    present: BoolArray
    state: npt.NDArray[np.int8]
    target: Int64Array
    elapsed: Int64Array
    remaining: Int64Array
    lateness: Int64Array
    due_at: Int64Array
    breached_at: Int64Array
    cycles: Int64Array
    breaches: Int64Array

    def count(self, state: SLAState) -> int:
        """How many tickets have this clock in ``state``."""
        return int(np.count_nonzero(self.present & (self.state == _CODE[state])))


@attrs.frozen(kw_only=True, eq=False)
class SLAStatusFrame(FrameExport):
    """The SLA status of many tickets, as columns.

    Attributes:
        as_of: the moment of evaluation.
        calendar: the calendar the clocks ran on (its zone shows the deadlines).
        ticket_ids: the tickets, in input order.
        priorities: their priorities.
        categories: their categories.
        statuses: their statuses at ``as_of``.
        first_response: the first-response clocks.
        next_response: the next-response clocks.
        resolution: the resolution clocks.
    """

    as_of: datetime
    calendar: BusinessCalendar
    ticket_ids: tuple[str, ...]
    priorities: tuple[Any, ...]
    categories: tuple[Any, ...]
    statuses: tuple[Any, ...]
    first_response: TargetColumns
    next_response: TargetColumns
    resolution: TargetColumns

    def __len__(self) -> int:
        return len(self.ticket_ids)

    def __repr__(self) -> str:
        breached = int(np.count_nonzero(self.resolution.present & (
            self.resolution.state == STATE_CODES.index(SLAState.BREACHED))))
        return short_repr(
            "SLAStatusFrame", tickets=len(self), as_of=self.as_of,
            resolution_breached=breached,
        )

    def _repr_html_(self) -> str:
        return self._display().to_html()

    def summary(self) -> str:
        """The summary shown in a notebook, as aligned text for a terminal."""
        return self._display().to_text()

    def _display(self) -> Report:
        """Tickets per SLA state for each clock, and breaches counted over cycles."""
        report = Report("SLA status", facts=[("tickets", len(self)), ("as of", self.as_of)])
        metrics = (self.first_response, self.next_response, self.resolution)
        rows = tuple(
            (state.value, *(c.count(state) for c in metrics)) for state in STATE_CODES
        )
        rows += (("breached cycles", *(int(c.breaches[c.present].sum()) for c in metrics)),)
        report.add(Table(caption="tickets per state of each clock",
                         header=("state", *(c.metric.value for c in metrics)), rows=rows))
        return report

    def _frame_columns(self) -> dict[str, Any]:
        """Exported columns (one row per ticket): ``ticket_id``, ``priority``,
        ``category``, ``status``, and per clock (``first_response``, ``next_response``,
        ``resolution``) its ``_state`` (missing where the ticket has no such clock),
        ``_due_at`` (UTC; missing when none) and ``_breaches``."""
        def labels(values: tuple[Any, ...]) -> npt.NDArray[np.object_]:
            return np.asarray([getattr(v, "value", v) for v in values], dtype=object)

        columns: dict[str, Any] = {
            "ticket_id": np.asarray(self.ticket_ids, dtype=object),
            "priority": labels(self.priorities),
            "category": labels(self.categories),
            "status": labels(self.statuses),
        }
        states = tuple(state.value for state in STATE_CODES)
        for clock in (self.first_response, self.next_response, self.resolution):
            name = clock.metric.value
            codes = np.where(clock.present, clock.state, -1).astype(np.int16)
            columns[f"{name}_state"] = Coded(codes, states)
            columns[f"{name}_due_at"] = Times(clock.due_at)
            columns[f"{name}_breaches"] = clock.breaches
        return columns

    def column(self, metric: SLAMetric) -> TargetColumns:
        """The columns of ``metric``."""
        result: TargetColumns = getattr(self, metric.value)
        return result

    def status(self, i: int) -> SLAStatus:
        """The :class:`~custmgmt.tickets.sla.SLAStatus` of the ``i``-th ticket.

        Raises:
            ValidationError: if ``i`` is not a ticket index.
        """
        if not isinstance(i, int) or isinstance(i, bool) or not -len(self) <= i < len(self):
            raise ValidationError("i", i, f"a ticket index in 0..{len(self) - 1}")
        return SLAStatus(
            ticket_id=self.ticket_ids[i],
            as_of=self.as_of,
            priority=self.priorities[i],
            category=self.categories[i],
            status=self.statuses[i],
            first_response=self._target(self.first_response, i),
            next_response=self._target(self.next_response, i),
            resolution=self._target(self.resolution, i),
        )

    def to_list(self) -> list[SLAStatus]:
        """Every ticket's :class:`~custmgmt.tickets.sla.SLAStatus`, in input order."""
        return [self.status(i) for i in range(len(self))]

    def _target(self, columns: TargetColumns, i: int) -> TargetStatus | None:
        if not columns.present[i]:
            return None
        zone = self.calendar.tzinfo

        def instant(value: np.int64) -> datetime | None:
            return None if value == NO_TIME else from_epoch_micros(int(value), zone)

        return TargetStatus(
            metric=columns.metric,
            state=STATE_CODES[int(columns.state[i])],
            target=int(columns.target[i]) * _MICRO,
            elapsed=int(columns.elapsed[i]) * _MICRO,
            remaining=int(columns.remaining[i]) * _MICRO,
            lateness=int(columns.lateness[i]) * _MICRO,
            due_at=instant(columns.due_at[i]),
            breached_at=instant(columns.breached_at[i]),
            cycles=int(columns.cycles[i]),
            breaches=int(columns.breaches[i]),
        )


# -- the engine ---------------------------------------------------------------------


def _first_per_group(groups: Int64Array) -> BoolArray:
    """True at the first element of each run of equal values (``groups`` is sorted)."""
    keep = np.ones(groups.size, dtype=np.bool_)
    keep[1:] = groups[1:] != groups[:-1]
    return keep


def _last_per_group(groups: Int64Array) -> BoolArray:
    keep = np.ones(groups.size, dtype=np.bool_)
    keep[:-1] = groups[1:] != groups[:-1]
    return keep


@attrs.frozen(kw_only=True, eq=False)
class _Rows:
    """The rows up to ``as_of`` with everything the clocks need."""

    table: BusinessTimeTable
    as_of: int
    n: int
    ticket: Int64Array  # the ticket of each row
    first: Int64Array  # per ticket: its creation row
    last: Int64Array  # per ticket: its last row
    at: Int64Array
    kind: npt.NDArray[np.int8]
    status: npt.NDArray[np.int32]
    f_at: Int64Array  # F(at)
    work: Int64Array  # working time of each row's segment
    done: BoolArray  # the status after the row is solved
    cancelled: BoolArray  # ... dropped
    ender: BoolArray  # the row answers the customer or ends the ticket
    ender_met: BoolArray  # ... and fulfils the clocks (rather than cancelling them)


@attrs.frozen(kw_only=True, eq=False)
class _Clocks:
    """Per-cycle results of one metric."""

    elapsed: Int64Array
    due: Int64Array  # NO_TIME when the counted time has not reached the target
    breached: BoolArray
    state: npt.NDArray[np.int8]
    due_at: Int64Array


def _clocks(
    rows: _Rows,
    counted: BoolArray,
    start: Int64Array,
    stop: Int64Array,
    is_open: BoolArray,
    stop_met: BoolArray,
    paused_now: BoolArray,
    target: Int64Array,
    warn: Int64Array,
) -> _Clocks:
    """Clocks counting ``counted`` rows in ``[start, stop)``, stopped at row ``stop`` unless open.

    ``stop_met`` says whether a stopped clock was fulfilled (else cancelled).
    """
    level = np.zeros(rows.at.size + 1, dtype=np.int64)
    np.cumsum(np.where(counted, rows.work, 0), out=level[1:])
    elapsed = level[stop] - level[start]
    goal = level[start] + target
    k = np.searchsorted(level, goal, side="left")
    reached = k <= stop
    due = np.full(start.size, NO_TIME, dtype=np.int64)
    if reached.any():
        j = k[reached] - 1
        due[reached] = rows.table.add_from_level(
            rows.at[j], rows.f_at[j] + goal[reached] - level[j]
        )
    end = np.where(is_open, rows.as_of, rows.at[np.minimum(stop, rows.at.size - 1)])
    breached = reached & (due < end)
    state = np.select(
        [breached, ~is_open & stop_met, ~is_open, paused_now, elapsed >= warn],
        [
            _CODE[SLAState.BREACHED],
            _CODE[SLAState.MET],
            _CODE[SLAState.CANCELLED],
            _CODE[SLAState.PAUSED],
            _CODE[SLAState.WARNING],
        ],
        _CODE[SLAState.OK],
    ).astype(np.int8)
    due_at = due.copy()
    running = is_open & ~paused_now & ~reached
    if running.any():
        due_at[running] = rows.table.add(
            np.full(int(running.sum()), rows.as_of, dtype=np.int64),
            target[running] - elapsed[running],
        )
    return _Clocks(elapsed=elapsed, due=due, breached=breached, state=state, due_at=due_at)


def _columns(
    metric: SLAMetric,
    present: BoolArray,
    target: Int64Array,
    clocks: _Clocks,
    *,
    state: npt.NDArray[np.int8] | None = None,
    breached_at: Int64Array | None = None,
    cycles: Int64Array | None = None,
    breaches: Int64Array | None = None,
) -> TargetColumns:
    n = present.size
    return TargetColumns(
        metric=metric,
        present=present,
        state=clocks.state if state is None else state,
        target=target,
        elapsed=clocks.elapsed,
        remaining=np.maximum(target - clocks.elapsed, 0),
        lateness=np.maximum(clocks.elapsed - target, 0),
        due_at=clocks.due_at,
        breached_at=np.where(clocks.breached, clocks.due, NO_TIME)
        if breached_at is None
        else breached_at,
        cycles=np.ones(n, dtype=np.int64) if cycles is None else cycles,
        breaches=clocks.breached.astype(np.int64) if breaches is None else breaches,
    )


def _factors(value: Any, n: int) -> list[float]:
    """Each ticket's response-time factor (all 1.0 when none are given)."""
    if value is None:
        return [1.0] * n
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise ValidationError("factors", value, "one positive factor per ticket")
    given = [f.item() if isinstance(f, np.generic) else f for f in value]
    found = [check_factor(f"factors[{i}]", f) for i, f in enumerate(given)]
    if len(found) != n:
        raise ValidationError("factors", len(found), f"one factor per ticket ({n})")
    return found


def _targets(
    frame: SLAEventFrame, policy: SLAPolicy, factors: list[float]
) -> dict[SLAMetric, tuple[Int64Array, Int64Array]]:
    """Per metric: each ticket's target and warning threshold (0 when unmeasured)."""
    groups: dict[tuple[Any, Any, float], int] = {}
    code = np.empty(len(frame), dtype=np.int64)
    for i, (priority, category) in enumerate(zip(frame.priorities, frame.categories, strict=True)):
        key = (status_key(priority), status_key(category), factors[i])
        found = groups.get(key)
        if found is None:
            found = groups[key] = len(groups)
        code[i] = found
    result: dict[SLAMetric, tuple[Int64Array, Int64Array]] = {}
    for metric in SLAMetric:
        target = np.zeros(len(groups), dtype=np.int64)
        warn = np.zeros(len(groups), dtype=np.int64)
        for (priority, category, factor), g in groups.items():
            # The same timedelta arithmetic as the reference (SLATargets.scaled).
            value = policy.targets_for(priority, category).scaled(factor).get(metric)
            if value is not None:
                target[g] = value // _MICRO
                warn[g] = policy.warning_threshold(value) // _MICRO
        result[metric] = (target[code], warn[code])
    return result


def sla_status_many(
    tickets: Iterable[SLATicket] | SLAEventFrame,
    policy: SLAPolicy,
    calendar: BusinessCalendar,
    as_of: datetime,
    *,
    factors: Iterable[float] | None = None,
) -> SLAStatusFrame:
    """The SLA status of many tickets at once; equals :func:`~custmgmt.tickets.sla.sla_status`.

    Args:
        tickets: the tickets, or their logs already in an :class:`SLAEventFrame`
            (build it once to evaluate several ``as_of`` or policies).
        policy: the targets, pauses and warning share.
        calendar: the working time the clocks run on.
        as_of: the moment of evaluation (timezone-aware).
        factors: one response-time factor per ticket, in order (the customers'
            :attr:`~custmgmt.rating.ServiceLevel.response_time_factor`); ticket ``i``
            gets ``sla_status(..., factor=factors[i])``. None: 1.0 for every ticket.

    Raises:
        ValidationError: as :func:`~custmgmt.tickets.sla.sla_status` does, naming the
            ticket.
    """
    as_of = require_aware("as_of", as_of)
    frame = tickets if isinstance(tickets, SLAEventFrame) else SLAEventFrame.from_tickets(tickets)
    n = len(frame)
    as_of_us = to_epoch_micros(as_of)
    offsets = frame.offsets
    created = frame.at[offsets[:-1]]
    if n and int(created.max()) > as_of_us:
        bad = int(np.argmax(created > as_of_us))
        raise ValidationError(
            "as_of", as_of, f"an instant at or after ticket {frame.ticket_ids[bad]!r}'s creation"
        )
    scale = _factors(factors, n)
    targets = _targets(frame, policy, scale)
    if n == 0:
        return _empty(frame, calendar, as_of)

    # Rows up to as_of; logs are time-ordered, so each ticket keeps a prefix.
    keep = frame.at <= as_of_us
    ticket = np.repeat(np.arange(n, dtype=np.int64), np.diff(offsets))[keep]
    at = frame.at[keep]
    kind = frame.kind[keep]
    status = frame.status[keep]
    counts = np.bincount(ticket, minlength=n)
    first = np.zeros(n, dtype=np.int64)
    np.cumsum(counts[:-1], out=first[1:])
    last = first + counts - 1
    m = at.size
    segment_end = np.empty(m, dtype=np.int64)
    segment_end[:-1] = at[1:]
    segment_end[last] = as_of_us

    first_created = from_epoch_micros(int(created.min()))
    try:
        table = BusinessTimeTable.covering(
            calendar,
            first_created,
            as_of,
            then_at_least=policy.longest_target * max(scale, default=1.0),
        )
    except (OverflowError, ValidationError) as exc:
        if isinstance(exc, OverflowError) or exc.field == "then_at_least":
            # The calendar's working time ends (9999-12-31) before the longest target.
            raise ValidationError(
                "as_of",
                as_of,
                f"tickets, an as_of and factors whose SLA clocks stay within years 1 to "
                f"9999 (earliest ticket created {first_created.isoformat()}, largest "
                f"factor {max(scale, default=1.0):g})",
            ) from None
        if exc.field != "last_day":
            raise
        # The business-time table would span centuries (MAX_SPAN_DAYS).
        raise ValidationError(
            "as_of",
            as_of.isoformat(),
            f"an instant less than {MAX_SPAN_DAYS:,} days (400 years) after the earliest "
            f"ticket's creation ({first_created.isoformat()}), SLA targets included",
        ) from exc
    f_at = table.business_time(at)
    work = table.business_time(segment_end) - f_at

    keys = [status_key(member) for member in frame.status_members]

    def by_status(statuses: Iterable[Any]) -> BoolArray:
        wanted = set(statuses)
        lookup = np.asarray([key in wanted for key in keys], dtype=np.bool_)
        return lookup[status]

    done = by_status(DONE_STATUSES)
    cancelled = by_status(CANCELLED_STATUSES)
    final = done | cancelled
    responds = kind == KIND_RESPOND
    ender = (kind != KIND_CREATED) & (responds | final)
    rows = _Rows(
        table=table,
        as_of=as_of_us,
        n=n,
        ticket=ticket,
        first=first,
        last=last,
        at=at,
        kind=kind,
        status=status,
        f_at=f_at,
        work=work,
        done=done,
        cancelled=cancelled,
        ender=ender,
        ender_met=ender & (responds | done),
    )
    paused = {metric: by_status(policy.paused_in[metric]) for metric in SLAMetric}
    paused_last = {metric: paused[metric][last] for metric in SLAMetric}

    # First response: from creation to the first answer (or solution, or drop).
    end_rows = np.flatnonzero(ender)
    end_first = end_rows[_first_per_group(ticket[end_rows])]
    fr_stop = last + 1
    fr_stop[ticket[end_first]] = end_first
    fr_open = np.ones(n, dtype=np.bool_)
    fr_open[ticket[end_first]] = False
    fr_target, fr_warn = targets[SLAMetric.FIRST_RESPONSE]
    fr_met = ~fr_open & rows.ender_met[np.minimum(fr_stop, m - 1)]
    fr = _clocks(
        rows,
        ~paused[SLAMetric.FIRST_RESPONSE],
        first,
        fr_stop,
        fr_open,
        fr_met,
        fr_open & paused_last[SLAMetric.FIRST_RESPONSE],
        fr_target,
        fr_warn,
    )
    first_response = _columns(SLAMetric.FIRST_RESPONSE, fr_target > 0, fr_target, fr)

    # Next response: a cycle per first unanswered customer reply after an answer.
    row_index = np.arange(m, dtype=np.int64)
    candidate = (
        (kind == KIND_CUSTOMER_REPLIED) & ~final & fr_met[ticket] & (row_index > fr_stop[ticket])
    )
    opens = np.flatnonzero(candidate)
    answers_before = np.cumsum(ender, dtype=np.int64)[opens]
    cycle_ticket = ticket[opens]
    fresh = np.ones(opens.size, dtype=np.bool_)
    fresh[1:] = (cycle_ticket[1:] != cycle_ticket[:-1]) | (
        answers_before[1:] != answers_before[:-1]
    )
    opens = opens[fresh]
    cycle_ticket = cycle_ticket[fresh]
    next_end = np.minimum.accumulate(np.where(ender, row_index, m)[::-1])[::-1]
    closes = next_end[opens]
    nr_open = closes > last[cycle_ticket]
    closes = np.where(nr_open, last[cycle_ticket] + 1, closes)
    nr_target_all, nr_warn_all = targets[SLAMetric.NEXT_RESPONSE]
    nr = _clocks(
        rows,
        ~paused[SLAMetric.NEXT_RESPONSE],
        opens,
        closes,
        nr_open,
        rows.ender_met[np.minimum(closes, m - 1)],
        nr_open & paused_last[SLAMetric.NEXT_RESPONSE][cycle_ticket],
        nr_target_all[cycle_ticket],
        nr_warn_all[cycle_ticket],
    )
    next_response = _next_response(n, cycle_ticket, nr, nr_target_all)

    # Resolution: open, unpaused statuses from creation; resumes after a reopen.
    res_target, res_warn = targets[SLAMetric.RESOLUTION]
    res_open = ~final[last]
    group = np.where(done, 1, np.where(cancelled, 2, 0))
    run_start = np.ones(m, dtype=np.bool_)
    run_start[1:] = group[1:] != group[:-1]
    run_start[first] = True
    latest_run = np.maximum.accumulate(np.where(run_start, row_index, 0))
    res_stop = np.where(res_open, last + 1, latest_run[last])
    res = _clocks(
        rows,
        ~paused[SLAMetric.RESOLUTION] & ~final,
        first,
        res_stop,
        res_open,
        done[last],
        res_open & paused_last[SLAMetric.RESOLUTION],
        res_target,
        res_warn,
    )
    resolution = _columns(SLAMetric.RESOLUTION, res_target > 0, res_target, res)

    return SLAStatusFrame(
        as_of=as_of,
        calendar=calendar,
        ticket_ids=frame.ticket_ids,
        priorities=frame.priorities,
        categories=frame.categories,
        statuses=tuple(frame.status_members[int(c)] for c in status[last]),
        first_response=first_response,
        next_response=next_response,
        resolution=resolution,
    )


def _next_response(
    n: int, cycle_ticket: Int64Array, clocks: _Clocks, target: Int64Array
) -> TargetColumns:
    """Fold the cycles into one column per ticket: the last cycle, with sticky breaches."""
    last_cycle = np.flatnonzero(_last_per_group(cycle_ticket))
    owners = cycle_ticket[last_cycle]

    def per_ticket(values: Int64Array, fill: int) -> Int64Array:
        out = np.full(n, fill, dtype=np.int64)
        out[owners] = values[last_cycle]
        return out

    cycles = np.bincount(cycle_ticket, minlength=n).astype(np.int64)
    breaches = np.bincount(cycle_ticket[clocks.breached], minlength=n).astype(np.int64)
    breached_cycles = np.flatnonzero(clocks.breached)
    first_breach = breached_cycles[_first_per_group(cycle_ticket[breached_cycles])]
    breached_at = np.full(n, NO_TIME, dtype=np.int64)
    breached_at[cycle_ticket[first_breach]] = clocks.due[first_breach]
    state = per_ticket(clocks.state.astype(np.int64), _CODE[SLAState.OK]).astype(np.int8)
    state[breaches > 0] = _CODE[SLAState.BREACHED]
    folded = _Clocks(
        elapsed=per_ticket(clocks.elapsed, 0),
        due=per_ticket(clocks.due, NO_TIME),
        breached=breaches > 0,
        state=state,
        due_at=per_ticket(clocks.due_at, NO_TIME),
    )
    return _columns(
        SLAMetric.NEXT_RESPONSE,
        (target > 0) & (cycles > 0),
        target,
        folded,
        breached_at=breached_at,
        cycles=cycles,
        breaches=breaches,
    )


def _empty(frame: SLAEventFrame, calendar: BusinessCalendar, as_of: datetime) -> SLAStatusFrame:
    none = np.zeros(0, dtype=np.int64)
    columns = {
        metric.value: TargetColumns(
            metric=metric,
            present=np.zeros(0, dtype=np.bool_),
            state=np.zeros(0, dtype=np.int8),
            target=none,
            elapsed=none,
            remaining=none,
            lateness=none,
            due_at=none,
            breached_at=none,
            cycles=none,
            breaches=none,
        )
        for metric in SLAMetric
    }
    return SLAStatusFrame(
        as_of=as_of,
        calendar=calendar,
        ticket_ids=(),
        priorities=(),
        categories=(),
        statuses=(),
        **columns,
    )
