"""Satisfaction follow-up after a resolution, and per-customer ticket statistics.

When a ticket is resolved, a survey is due after :attr:`SurveyPolicy.delay`. The
customer's 1-5 reply is recorded on the ticket (a ``rate`` entry and
:attr:`Ticket.satisfaction`) by :func:`record_reply`:

* a score above the threshold (2 by default) closes the ticket (configurable);
* a score at or under it reopens the ticket (the workflow's reopen: the same ticket
  within the reopen window, else a new linked ticket, the old one being closed), or,
  when the ticket was already reopened, escalates it; either way a
  :class:`FollowUpTask` says who must do what by when.

A ticket whose survey stays unanswered :attr:`SurveyPolicy.reply_within` after it was
due is closed; :func:`due_actions` lists what is due at ``as_of`` (send a survey,
close), and :func:`apply_due` carries out a close.

:func:`ticket_statistics` exports, per customer, what ratings, risk scores and KPIs
use: tickets, complaints, reopenings, escalations, answered surveys, mean and low
satisfaction, as numpy arrays keyed by customer id.

>>> from datetime import datetime, timedelta, timezone
>>> from custmgmt.tickets.workflow import DEFAULT_WORKFLOW as wf
>>> at = datetime(2024, 9, 23, 9, tzinfo=timezone.utc)
>>> t = wf.open(id="T-1", customer_id="C-1", category="logistics", priority="normal",
...             subject="没收到货", at=at, actor="web")
>>> for event, data in [("assign", {"assignee": "a1"}), ("start", {}),
...                     ("resolve", {"solution": "已补发"})]:
...     t = wf.fire(t, event, at=at, actor="a1", **data)
>>> [a.action.value for a in due_actions([t], SurveyPolicy(), at + timedelta(days=1))]
['send_survey']
>>> outcome = record_reply(t, 1, at=at + timedelta(days=2))
>>> outcome.ticket.status.value, outcome.task.kind.value, outcome.ticket.satisfaction
('in_progress', 'reopen', 1)
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, Final

import attrs
import numpy as np
import numpy.typing as npt

from custmgmt.domain import _validate as v
from custmgmt.errors import ValidationError
from custmgmt.notebook.dataframes import FrameExport
from custmgmt.notebook.display import Report, numeric_summary, short_repr
from custmgmt.tickets.ticket import Ticket, TicketCategory, TicketEvent, TicketStatus
from custmgmt.tickets.workflow import DEFAULT_WORKFLOW, Workflow

__all__ = [
    "COMPLAINT_CATEGORIES",
    "DueAction",
    "FollowUpKind",
    "FollowUpTask",
    "SurveyAction",
    "SurveyOutcome",
    "SurveyPolicy",
    "TicketStatistics",
    "apply_due",
    "due_actions",
    "record_reply",
    "ticket_statistics",
]

#: The categories that count as complaints (an inquiry is not one).
COMPLAINT_CATEGORIES: Final = frozenset(
    {TicketCategory.PRODUCT_QUALITY, TicketCategory.LOGISTICS, TicketCategory.AFTER_SALES}
)

#: The actor recorded on entries the follow-up makes by itself.
SYSTEM_ACTOR: Final = "satisfaction-follow-up"


def _duration(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, timedelta) or value < timedelta(0):
        raise ValidationError(v.field_name(instance, attribute), value, "a timedelta >= 0")


def _score(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 5:
        raise ValidationError(v.field_name(instance, attribute), value, "an integer from 1 to 5")


def _count(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValidationError(v.field_name(instance, attribute), value, "an integer >= 0")


@attrs.frozen(kw_only=True)
class SurveyPolicy:
    """When surveys are due, what a bad score triggers, when silence closes a ticket.

    Attributes:
        delay: how long after the resolution the survey is due.
        reply_within: how long after it was due an unanswered survey closes the ticket.
        threshold: scores at or under it are unsatisfied (1-5, default 2).
        max_reopens: how often an unsatisfied customer's ticket is reopened before the
            next bad score escalates it instead (default 1: reopened once, then
            escalated).
        follow_up_within: when a follow-up task is due after the bad score.
        close_when_satisfied: whether a good score closes the ticket at once (with
            False the host closes it: a rated ticket is no longer due for anything).

    Raises:
        ValidationError: for negative durations, a threshold outside 1-5 or a negative
            reopen count.
    """

    delay: timedelta = attrs.field(default=timedelta(days=1), validator=_duration)
    reply_within: timedelta = attrs.field(default=timedelta(days=3), validator=_duration)
    threshold: int = attrs.field(default=2, validator=_score)
    max_reopens: int = attrs.field(default=1, validator=_count)
    follow_up_within: timedelta = attrs.field(default=timedelta(days=1), validator=_duration)
    close_when_satisfied: bool = attrs.field(
        default=True, validator=v.instance_of(bool, "True or False")
    )


class FollowUpKind(enum.Enum):
    """What an unsatisfied customer's ticket needs."""

    REOPEN = "reopen"
    ESCALATE = "escalate"


@attrs.frozen(kw_only=True)
class FollowUpTask:
    """Work created by a bad survey score: adjust the solution, or escalate.

    Attributes:
        ticket_id: the ticket to work on (a new one when reopening created one).
        customer_id: the unsatisfied customer.
        kind: reopen or escalate.
        due_at: by when someone must contact the customer.
        score: the score that triggered it.
        reason: a sentence for the agent.
    """

    ticket_id: str
    customer_id: str
    kind: FollowUpKind
    due_at: datetime
    score: int
    reason: str


@attrs.frozen(kw_only=True)
class SurveyOutcome:
    """What recording a survey reply did.

    Attributes:
        ticket: the rated ticket afterwards (rated, and closed, reopened or escalated).
        created: a new follow-up ticket, when reopening had to open one (store it).
        task: the follow-up task for an unsatisfied customer, else None.
    """

    ticket: Ticket
    created: Ticket | None = None
    task: FollowUpTask | None = None


def record_reply(
    ticket: Ticket,
    score: int,
    *,
    at: datetime,
    actor: str = "customer",
    policy: SurveyPolicy | None = None,
    workflow: Workflow = DEFAULT_WORKFLOW,
    new_id: str | None = None,
) -> SurveyOutcome:
    """Record a survey reply on a resolved ticket and follow it up.

    Args:
        ticket: the resolved ticket.
        score: the customer's score, 1 (very unsatisfied) to 5.
        at: when the reply arrived.
        actor: who answered.
        policy: the survey policy (default :class:`SurveyPolicy`).
        workflow: the workflow to fire the events in.
        new_id: the id of a follow-up ticket if one must be opened (see
            :meth:`Workflow.reopen <custmgmt.tickets.workflow.Workflow.reopen>`).

    Raises:
        TransitionNotAllowed: the ticket is not resolved (a closed ticket's survey has
            expired).
        ValidationError: a score outside 1-5 or a bad ``at``.
    """
    rules = _policy(policy)
    rated = workflow.fire(
        ticket, TicketEvent.RATE, at=at, actor=actor, score=score, reason=f"survey score {score}"
    )
    if score > rules.threshold:
        if rules.close_when_satisfied:
            rated = workflow.fire(
                rated, TicketEvent.CLOSE, at=at, actor=SYSTEM_ACTOR,
                reason=f"customer satisfied ({score}/5)",
            )
        return SurveyOutcome(ticket=rated)
    why = f"satisfaction {score}/5 at or under {rules.threshold}"
    due = _later(at, rules.follow_up_within, "follow_up_within")
    if rated.times_reopened < rules.max_reopens:
        reopened = workflow.reopen(rated, at=at, actor=SYSTEM_ACTOR, reason=why, new_id=new_id)
        if reopened.id == rated.id:
            return SurveyOutcome(
                ticket=reopened,
                task=_task(reopened, FollowUpKind.REOPEN, due, score,
                           f"{why}: reopened; adjust the solution with the customer"),
            )
        closed = workflow.fire(
            rated, TicketEvent.CLOSE, at=at, actor=SYSTEM_ACTOR,
            reason=f"{why}: follow-up ticket {reopened.id}",
        )
        return SurveyOutcome(
            ticket=closed, created=reopened,
            task=_task(reopened, FollowUpKind.REOPEN, due, score,
                       f"{why}: follow-up of {rated.id}; adjust the solution"),
        )
    escalated = workflow.fire(
        rated, TicketEvent.ESCALATE, at=at, actor=SYSTEM_ACTOR,
        reason=f"{why} after {rated.times_reopened} reopening(s)",
    )
    return SurveyOutcome(
        ticket=escalated,
        task=_task(escalated, FollowUpKind.ESCALATE, due, score,
                   f"{why} again: escalated; a senior agent contacts the customer"),
    )


def _later(at: datetime, delta: timedelta, field: str) -> datetime:
    """``at + delta``, or a ValidationError naming the policy's field when the sum
    would pass the end of year 9999 (a policy of centuries is a typo, not a crash)."""
    try:
        return at + delta
    except OverflowError:
        raise ValidationError(
            f"SurveyPolicy.{field}", delta,
            f"a duration that ends before year 9999 when added to {at.isoformat()}",
        ) from None


def _later_or_none(at: datetime, delta: timedelta) -> datetime | None:
    try:
        return at + delta
    except OverflowError:
        return None


def _policy(policy: Any) -> SurveyPolicy:
    if policy is None:
        return SurveyPolicy()
    if not isinstance(policy, SurveyPolicy):
        raise ValidationError("policy", policy, "a SurveyPolicy or None")
    return policy


def _iterable(name: str, value: Any) -> Iterable[Any]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise ValidationError(name, value, "an iterable")
    return value


def _task(ticket: Ticket, kind: FollowUpKind, due: datetime, score: int,
          reason: str) -> FollowUpTask:
    return FollowUpTask(ticket_id=ticket.id, customer_id=ticket.customer_id, kind=kind,
                        due_at=due, score=score, reason=reason)


# -- what is due ---------------------------------------------------------------------


class SurveyAction(enum.Enum):
    """What the follow-up must do for a resolved ticket."""

    SEND_SURVEY = "send_survey"
    CLOSE = "close"


@attrs.frozen(kw_only=True)
class DueAction:
    """An action due for a ticket.

    Attributes:
        ticket_id: the ticket.
        action: what to do.
        due_at: since when it is due.
        reason: why.
    """

    ticket_id: str
    action: SurveyAction
    due_at: datetime
    reason: str


def _survey_due(ticket: Ticket, policy: SurveyPolicy) -> datetime | None:
    """When the survey of a resolved, still unrated ticket is due (None otherwise)."""
    if ticket.status is not TicketStatus.RESOLVED:
        return None
    last_resolve = None
    for i, record in enumerate(ticket.events):
        if record.event is TicketEvent.RESOLVE:
            last_resolve = i
    if last_resolve is None:  # pragma: no cover - a resolved ticket has a resolve entry
        return None
    if any(r.event is TicketEvent.RATE for r in ticket.events[last_resolve:]):
        return None
    # A delay past the end of year 9999 means the survey is never due.
    return _later_or_none(ticket.events[last_resolve].at, policy.delay)


def due_actions(
    tickets: Iterable[Ticket], policy: SurveyPolicy | None, as_of: datetime
) -> list[DueAction]:
    """The survey actions due at ``as_of``, in the order of ``tickets``.

    A resolved, unrated ticket needs its survey sent from ``resolved + delay``, and is
    closed from ``resolved + delay + reply_within`` when nobody answered. (The survey
    is reported due until answered or closed: sending it once is the host's job.)

    Raises:
        ValidationError: ``as_of`` is naive or an item is not a Ticket.
    """
    rules = _policy(policy)
    v.check_aware("as_of", as_of)
    found = []
    for i, ticket in enumerate(_iterable("tickets", tickets)):
        if not isinstance(ticket, Ticket):
            raise ValidationError(f"tickets[{i}]", ticket, "a Ticket")
        due = _survey_due(ticket, rules)
        if due is None or as_of < due:
            continue
        close_at = _later_or_none(due, rules.reply_within)  # None: never closed
        if close_at is not None and as_of >= close_at:
            found.append(DueAction(
                ticket_id=ticket.id, action=SurveyAction.CLOSE, due_at=close_at,
                reason=f"no survey reply within {rules.reply_within} of {due.isoformat()}",
            ))
        else:
            found.append(DueAction(
                ticket_id=ticket.id, action=SurveyAction.SEND_SURVEY, due_at=due,
                reason=f"resolved; survey due {rules.delay} after the resolution",
            ))
    return found


def apply_due(
    ticket: Ticket,
    policy: SurveyPolicy | None,
    as_of: datetime,
    workflow: Workflow = DEFAULT_WORKFLOW,
) -> Ticket:
    """Close ``ticket`` if its unanswered survey has expired at ``as_of``; else return it.

    The close is recorded at the moment it became due (not ``as_of``), so running the
    follow-up late does not stretch the log; it is never earlier than the last entry.
    """
    for action in due_actions([ticket], policy, as_of):
        if action.action is SurveyAction.CLOSE:
            return workflow.fire(
                ticket, TicketEvent.CLOSE, at=max(action.due_at, ticket.updated_at),
                actor=SYSTEM_ACTOR, reason=action.reason,
            )
    return ticket


# -- statistics ------------------------------------------------------------------------


IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@attrs.frozen(kw_only=True, eq=False)
class TicketStatistics(FrameExport):
    """Per-customer ticket and satisfaction statistics, one row per customer.

    Arrays are aligned with :attr:`customer_ids` (sorted). Counts cover the tickets
    opened in the window; satisfaction covers the survey replies given in it.

    Attributes:
        customer_ids: the customers, sorted (a numpy array of str).
        tickets: tickets opened.
        complaints: tickets in a complaint category.
        open: tickets not yet resolved, closed, cancelled or merged at ``as_of``.
        reopened: reopenings (``reopen`` entries, and tickets following up another).
        escalated: ``escalate`` entries.
        surveys: survey replies.
        low_scores: replies at or under the threshold.
        mean_satisfaction: the mean reply, NaN without replies.
        as_of: the moment the statistics describe.
    """

    customer_ids: npt.NDArray[np.str_]
    tickets: IntArray
    complaints: IntArray
    open: IntArray
    reopened: IntArray
    escalated: IntArray
    surveys: IntArray
    low_scores: IntArray
    mean_satisfaction: FloatArray
    as_of: datetime

    def __len__(self) -> int:
        return int(self.customer_ids.shape[0])

    def __repr__(self) -> str:
        return short_repr(
            "TicketStatistics", customers=len(self), tickets=int(self.tickets.sum()),
            as_of=self.as_of,
        )

    def _repr_html_(self) -> str:
        return self._display().to_html()

    def summary(self) -> str:
        """The summary shown in a notebook, as aligned text for a terminal."""
        return self._display().to_text()

    def _display(self) -> Report:
        """Totals, and quantiles of each per-customer column."""
        report = Report(
            "Ticket statistics",
            facts=[
                ("customers", len(self)),
                ("tickets", int(self.tickets.sum())),
                ("complaints", int(self.complaints.sum())),
                ("open", int(self.open.sum())),
                ("survey replies", int(self.surveys.sum())),
                ("as of", self.as_of),
            ],
        )
        report.add(numeric_summary({name: getattr(self, name) for name in _COLUMNS}))
        return report

    def row(self, customer_id: str) -> dict[str, Any]:
        """One customer's statistics as a dict (zeros for a customer without tickets)."""
        at = int(np.searchsorted(self.customer_ids, customer_id))
        if at < len(self) and self.customer_ids[at] == customer_id:
            return {name: getattr(self, name)[at].item() for name in _COLUMNS}
        return {name: (float("nan") if name == "mean_satisfaction" else 0)
                for name in _COLUMNS}

    def _frame_columns(self) -> dict[str, Any]:
        """Exported columns (one row per customer): ``customer_id`` then ``tickets``,
        ``complaints``, ``open``, ``reopened``, ``escalated``, ``surveys``,
        ``low_scores`` and ``mean_satisfaction``."""
        columns: dict[str, Any] = {"customer_id": self.customer_ids}
        columns.update({name: getattr(self, name) for name in _COLUMNS})
        return columns

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """Every customer's row, keyed by customer id."""
        return {str(c): self.row(str(c)) for c in self.customer_ids}


_COLUMNS: Final = (
    "tickets", "complaints", "open", "reopened", "escalated", "surveys", "low_scores",
    "mean_satisfaction",
)
_DONE: Final = frozenset(
    {TicketStatus.RESOLVED, TicketStatus.CLOSED, TicketStatus.CANCELLED, TicketStatus.MERGED}
)


def ticket_statistics(
    tickets: Iterable[Ticket],
    as_of: datetime,
    *,
    window: timedelta | None = None,
    threshold: int = 2,
    complaint_categories: Collection[TicketCategory] = COMPLAINT_CATEGORIES,
) -> TicketStatistics:
    """Per-customer complaint and satisfaction statistics at ``as_of``.

    Only what happened at or before ``as_of`` counts (later entries are ignored, so
    the statistics of a past moment can be recomputed); with ``window`` only tickets
    opened and replies given in ``(as_of - window, as_of]``.

    >>> from datetime import datetime, timezone
    >>> from custmgmt.tickets.ticket import Ticket
    >>> at = datetime(2024, 9, 23, 9, tzinfo=timezone.utc)
    >>> ts = [Ticket.open(id=f"T-{i}", customer_id=c, category=k, priority="normal",
    ...                   subject="问题", at=at, actor="web")
    ...       for i, (c, k) in enumerate([("C-1", "logistics"), ("C-1", "inquiry"),
    ...                                    ("C-2", "after_sales")])]
    >>> stats = ticket_statistics(ts, at)
    >>> stats.customer_ids.tolist(), stats.complaints.tolist()
    (['C-1', 'C-2'], [1, 1])

    Raises:
        ValidationError: a naive ``as_of``, a negative window, a threshold outside 1-5,
            an item that is not a Ticket, or a ticket id given twice.
    """
    v.check_aware("as_of", as_of)
    if window is not None and (not isinstance(window, timedelta) or window < timedelta(0)):
        raise ValidationError("window", window, "a timedelta >= 0 or None")
    if not isinstance(threshold, int) or isinstance(threshold, bool) or not 1 <= threshold <= 5:
        raise ValidationError("threshold", threshold, "an integer from 1 to 5")
    complaint = frozenset(
        v.coerce_enum(TicketCategory, c, "complaint_categories")
        for c in _iterable("complaint_categories", complaint_categories)
    )
    try:
        start = None if window is None else as_of - window
    except OverflowError:
        start = None  # a window reaching before year 1 holds everything
    rows: dict[str, list[float]] = {}
    seen: set[str] = set()
    for i, ticket in enumerate(_iterable("tickets", tickets)):
        if not isinstance(ticket, Ticket):
            raise ValidationError(f"tickets[{i}]", ticket, "a Ticket")
        # The same ticket twice (a list concatenated with itself, overlapping pages)
        # would count its complaints and scores twice.
        if ticket.id in seen:
            raise ValidationError(f"tickets[{i}].id", ticket.id, "each ticket id once")
        seen.add(ticket.id)
        opened_in = ticket.created_at <= as_of and (start is None or ticket.created_at > start)
        row = rows.get(ticket.customer_id)
        if row is None:
            row = rows[ticket.customer_id] = [0.0] * 8
        status = ticket.status
        for record in ticket.events:
            if record.at > as_of:
                break
            status = record.to_status
            score = record.score
            if score is not None and (start is None or record.at > start):
                row[5] += 1
                row[6] += score <= threshold
                row[7] += score
            if opened_in and record.event is TicketEvent.REOPEN:
                row[3] += 1
            if opened_in and record.event is TicketEvent.ESCALATE:
                row[4] += 1
        if opened_in:
            row[0] += 1
            row[1] += ticket.category in complaint
            row[2] += status not in _DONE
            row[3] += ticket.reopened_from is not None
    return _frame(rows, as_of)


def _frame(rows: Mapping[str, list[float]], as_of: datetime) -> TicketStatistics:
    ids = sorted(rows)
    table = np.array([rows[c] for c in ids], dtype=np.float64).reshape(len(ids), 8)
    counts = table[:, :7].astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(counts[:, 5] > 0, table[:, 7] / np.maximum(counts[:, 5], 1), np.nan)
    return TicketStatistics(
        customer_ids=np.array(ids, dtype=np.str_), tickets=counts[:, 0],
        complaints=counts[:, 1], open=counts[:, 2], reopened=counts[:, 3],
        escalated=counts[:, 4], surveys=counts[:, 5], low_scores=counts[:, 6],
        mean_satisfaction=mean.astype(np.float64), as_of=as_of,
    )
