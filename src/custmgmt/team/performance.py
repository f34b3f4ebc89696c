"""Per-agent and per-team service performance over a period, in numpy.

A :class:`PerformanceFrame` is a columnar copy of the tickets an analysis needs: per
ticket the agent's code (into sorted ``agent_ids``), when it was opened, first
answered and resolved (int64 microseconds since the epoch, :data:`NO_TIME` for
never), its SLA targets in business microseconds (from an
:class:`~custmgmt.tickets.SLAPolicy`, ``-1`` for none), the customer's stars (0 when
unknown), the survey score (0 when unanswered) and whether it was reopened or
escalated. Build it from tickets with :meth:`PerformanceFrame.from_tickets`, or from
arrays with :meth:`PerformanceFrame.from_arrays`.

:func:`team_performance` counts, for the tickets opened in ``[start, end)``, per
agent: tickets handled, first-response and resolution times in business time (mean
and median, over a :class:`~custmgmt.calendars.BusinessTimeTable`: two
``searchsorted`` per instant), SLA attainment overall and per customer star level
(a ticket attains its SLA when neither clock is missed and both are decided;
a clock still running at the frame's ``as_of`` is missed once past its target, else
undecided), satisfaction from the follow-up surveys, reopen and escalation rates,
and complaints (survey scores at or under ``complaint_score``). Everything is a
``bincount`` on agent codes, the medians one sort of a packed ``agent << 53 | value``
key. Rates carry 95 % Wilson intervals, which stay honest when counts are small.

The resolution time runs from opening to the (last) resolution in business time,
waiting on the customer included; the SLA engine
(:func:`custmgmt.tickets.sla_vectorised.sla_status_many`) pauses its resolution clock
there, so for a ticket's own SLA state use the engine: these figures measure how long
customers waited, per agent.

An agent with no tickets in the period is *not measurable*: its figures are masked
(``numpy.ma``) in the columns and ``None`` in :meth:`TeamPerformance.row`; never
zero, never NaN. The same goes for a single figure without data (the mean
satisfaction of an agent whose customers answered no survey).

>>> from datetime import datetime, timedelta, timezone
>>> from custmgmt.calendars import BusinessCalendar
>>> tz = timezone(timedelta(hours=8))
>>> cal = BusinessCalendar.round_the_clock("Asia/Shanghai")
>>> t0 = datetime(2026, 3, 2, 9, tzinfo=tz)
>>> us = lambda d: int(d.timestamp() * 1_000_000)
>>> frame = PerformanceFrame.from_arrays(
...     agent_ids=["a1", "a2"], teams=["华东", "华东"], as_of=t0 + timedelta(days=5),
...     agent=[0, 0, 0], created=[us(t0)] * 3,
...     first_response=[us(t0 + timedelta(hours=1)), us(t0 + timedelta(hours=3)), NO_TIME],
...     resolved=[us(t0 + timedelta(hours=5)), NO_TIME, NO_TIME],
...     satisfaction=[5, 0, 2])
>>> perf = team_performance(frame, start=t0, end=t0 + timedelta(days=1), calendar=cal)
>>> row = perf.row("a1")
>>> row.handled, row.first_response_median, row.complaints
(3, datetime.timedelta(seconds=7200), 1)
>>> perf.row("a2").measurable, perf.row("a2").handled, perf.row("a2").satisfaction
(False, 0, None)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Final

import attrs
import numpy as np
import numpy.typing as npt

from custmgmt.analytics.intervals import wilson_interval
from custmgmt.calendars import BusinessCalendar, BusinessTimeTable
from custmgmt.calendars.table import MAX_SPAN_DAYS
from custmgmt.domain._validate import check_aware
from custmgmt.domain.time import from_epoch_micros, to_epoch_micros
from custmgmt.errors import NotFound, ValidationError
from custmgmt.notebook.display import Displayed, Report, Table, counts_table, short_repr
from custmgmt.team.agents import Agent
from custmgmt.tickets.sla import SLAPolicy, check_factor
from custmgmt.tickets.ticket import Ticket, TicketEvent, TicketStatus

__all__ = [
    "NO_TIME",
    "AgentFigures",
    "Comparison",
    "PerformanceFrame",
    "Rate",
    "TeamPerformance",
    "TeamTargets",
    "TrainingEffect",
    "compare_with_targets",
    "team_performance",
    "training_effect",
    "training_window",
    "wilson_interval",
]

Int64Array = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]

#: The epoch, for examples.
EPOCH_UTC: Final = from_epoch_micros(0)
#: "Never" in the frame's time columns.
NO_TIME: Final = int(np.iinfo(np.int64).min)
#: "No target" in the frame's target columns.
NO_TARGET: Final = -1
_MICROS: Final = 1_000_000


# -- the frame ------------------------------------------------------------------------


def _column(name: str, value: Any, n: int | None, dtype: Any) -> npt.NDArray[Any]:
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise ValidationError(name, type(value).__name__, "a one-dimensional array") from exc
    if array.ndim != 1 or (n is not None and array.shape[0] != n):
        raise ValidationError(name, array.shape, f"a one-dimensional array of length {n}")
    if array.size and dtype is np.bool_ and array.dtype != np.bool_:
        raise ValidationError(name, array.dtype, "booleans")
    if array.size and dtype is not np.bool_ and array.dtype.kind not in "iu":
        raise ValidationError(name, array.dtype, "integers")
    return array.astype(dtype, copy=False)


@attrs.frozen(kw_only=True, eq=False)
class PerformanceFrame(Displayed):
    """The columns the performance figures are computed from (one row per ticket).

    Attributes:
        agent_ids: the agents, sorted; ``agent`` codes into it.
        teams: each agent's team (None when it has none, or several).
        as_of: when the frame was taken: clocks still running run until then.
        agent: the agent's code per ticket.
        created, first_response, resolved: epoch microseconds, :data:`NO_TIME` for never.
        first_response_target, resolution_target: business microseconds, ``-1``: none.
        stars: the customer's stars (1-5, 0 unknown).
        satisfaction: the survey score (1-5, 0 unanswered).
        reopened, escalated: whether it was reopened, escalated.
        dropped: epoch microseconds when the ticket was cancelled or merged,
            :data:`NO_TIME` for never: its clocks stop there, as the SLA engine's do.
    """

    agent_ids: tuple[str, ...]
    teams: tuple[str | None, ...]
    as_of: datetime
    agent: Int64Array
    created: Int64Array
    first_response: Int64Array
    resolved: Int64Array
    first_response_target: Int64Array
    resolution_target: Int64Array
    stars: Int64Array
    satisfaction: Int64Array
    reopened: BoolArray
    escalated: BoolArray
    dropped: Int64Array

    def __len__(self) -> int:
        return int(self.agent.shape[0])

    def __repr__(self) -> str:
        return short_repr("PerformanceFrame", tickets=len(self), agents=len(self.agent_ids),
                          as_of=self.as_of)

    def _display(self) -> Report:
        """Tickets per agent and how many were answered, resolved, reopened, escalated."""
        report = Report("Team performance frame", facts=[
            ("tickets", len(self)), ("agents", len(self.agent_ids)), ("as of", self.as_of),
            ("answered", int(np.count_nonzero(self.first_response != NO_TIME))),
            ("resolved", int(np.count_nonzero(self.resolved != NO_TIME))),
            ("surveys answered", int(np.count_nonzero(self.satisfaction > 0))),
            ("reopened", int(np.count_nonzero(self.reopened))),
            ("escalated", int(np.count_nonzero(self.escalated))),
        ])
        assigned = self.agent >= 0
        counts = np.bincount(self.agent[assigned], minlength=len(self.agent_ids))
        per_agent = dict(zip(self.agent_ids, counts.tolist(), strict=True))
        per_agent["(unassigned)"] = int(np.count_nonzero(~assigned))
        report.add(counts_table("tickets per agent", "agent", per_agent))
        return report

    @classmethod
    def from_arrays(
        cls,
        *,
        agent_ids: Sequence[str],
        teams: Sequence[str | None] | None = None,
        as_of: datetime,
        agent: Any,
        created: Any,
        first_response: Any = None,
        resolved: Any = None,
        first_response_target: Any = None,
        resolution_target: Any = None,
        stars: Any = None,
        satisfaction: Any = None,
        reopened: Any = None,
        escalated: Any = None,
        dropped: Any = None,
    ) -> PerformanceFrame:
        """A frame from arrays (missing optional columns: never, no target, unknown, no).

        Raises:
            ValidationError: columns of different lengths or the wrong kind, agent
                codes outside ``agent_ids`` (``-1`` marks an unassigned ticket),
                unsorted or repeated agent ids, stars or scores outside 0-5, a naive
                ``as_of``, answers, resolutions or drops before the ticket was opened.
        """
        check_aware("as_of", as_of)
        ids = tuple(agent_ids)
        if any(not isinstance(i, str) for i in ids) or list(ids) != sorted(set(ids)):
            raise ValidationError("agent_ids", ids, "sorted, distinct agent id strings")
        team_of = tuple(teams) if teams is not None else (None,) * len(ids)
        if len(team_of) != len(ids) or any(t is not None and not isinstance(t, str)
                                           for t in team_of):
            raise ValidationError("teams", team_of, f"{len(ids)} team names or None")
        codes = _column("agent", agent, None, np.int64)
        n = codes.shape[0]

        def opt(name: str, value: Any, fill: int, dtype: Any = np.int64) -> npt.NDArray[Any]:
            if value is None:
                return np.full(n, fill, dtype=dtype)
            return _column(name, value, n, dtype)

        frame = cls(
            agent_ids=ids, teams=team_of, as_of=as_of, agent=codes,
            created=_column("created", created, n, np.int64),
            first_response=opt("first_response", first_response, NO_TIME),
            resolved=opt("resolved", resolved, NO_TIME),
            first_response_target=opt("first_response_target", first_response_target, NO_TARGET),
            resolution_target=opt("resolution_target", resolution_target, NO_TARGET),
            stars=opt("stars", stars, 0), satisfaction=opt("satisfaction", satisfaction, 0),
            reopened=opt("reopened", reopened, False, np.bool_),
            escalated=opt("escalated", escalated, False, np.bool_),
            dropped=opt("dropped", dropped, NO_TIME),
        )
        frame._check()
        return frame

    def _check(self) -> None:
        if self.agent.size:
            if int(self.agent.min()) < -1 or int(self.agent.max()) >= len(self.agent_ids):
                raise ValidationError("agent", int(self.agent.max()),
                                      f"codes from -1 to {len(self.agent_ids) - 1}")
            for name in ("stars", "satisfaction"):
                col = getattr(self, name)
                if int(col.min()) < 0 or int(col.max()) > 5:
                    raise ValidationError(name, int(col.max()), "values from 0 to 5")
            for name in ("first_response", "resolved", "dropped"):
                col = getattr(self, name)
                early = (col != NO_TIME) & (col < self.created)
                if early.any():
                    raise ValidationError(name, int(col[early][0]),
                                          "an instant at or after the ticket was opened")
            for name in ("first_response_target", "resolution_target"):
                col = getattr(self, name)
                if int(col.min()) < NO_TARGET or bool((col == 0).any()):
                    raise ValidationError(name, int(col.min()),
                                          "a positive target in microseconds, or -1")

    def by_team(self) -> PerformanceFrame:
        """The same tickets counted per team: the rows of the result are the teams.

        ``agent_ids`` become the sorted team names (``teams`` the same); a ticket of
        an agent without a team (or with several) is counted for nobody. Pass the
        result to :func:`team_performance` for per-team figures (pooled over the
        team's tickets, medians included).

        >>> f = PerformanceFrame.from_arrays(agent_ids=["a", "b", "c"],
        ...     teams=["east", "west", "east"], as_of=EPOCH_UTC, agent=[0, 1, 2, -1],
        ...     created=[0, 0, 0, 0])
        >>> f.by_team().agent_ids, f.by_team().agent.tolist()
        (('east', 'west'), [0, 1, 0, -1])
        """
        names = tuple(sorted({t for t in self.teams if t is not None}))
        position = {name: i for i, name in enumerate(names)}
        lookup = np.asarray([position.get(t, -1) if t is not None else -1
                             for t in self.teams] + [-1], dtype=np.int64)
        # Code -1 (nobody) indexes the trailing -1.
        codes = lookup[np.where(self.agent >= 0, self.agent, len(self.teams))]
        return attrs.evolve(self, agent_ids=names, teams=names, agent=codes)

    @classmethod
    def from_tickets(
        cls,
        tickets: Iterable[Ticket],
        agents: Iterable[Agent],
        *,
        as_of: datetime,
        policy: SLAPolicy | None = None,
        stars: Mapping[str, int] | None = None,
        factors: Mapping[str, float] | None = None,
    ) -> PerformanceFrame:
        """The frame of ``tickets``, each counted for its (last) assignee.

        A ticket assigned to nobody, or to someone not among ``agents``, is kept
        with code ``-1`` and counted for nobody. The first response is the first
        ``respond`` entry; the resolution the last ``resolve`` entry (so a reopened
        ticket counts until it was solved for good); a ticket is reopened when its
        log has a ``reopen`` entry or another ticket was reopened from it; escalated
        when its log has an ``escalate`` entry; dropped when an entry cancelled or
        merged it (its clocks stop there). Entries after ``as_of`` are ignored.

        Args:
            tickets: the tickets.
            agents: the service team.
            as_of: when the figures are taken (aware).
            policy: SLA targets per priority and category (none: nothing is measured
                against a target).
            stars: the customers' stars (unknown: 0).
            factors: each customer's SLA response-time factor, as ``custmgmt tickets``
                applies it (e.g. :func:`custmgmt.rating.response_time_factors`: a 5★
                customer's targets are halved); customers not in it keep the targets.

        Raises:
            ValidationError: a naive ``as_of``, something that is not a Ticket or an
                Agent, a ``policy`` that is not an SLAPolicy, ``stars`` that are not a
                mapping of whole numbers from 0 to 5, a factor that is not a positive
                finite number.
        """
        check_aware("as_of", as_of)
        team = sorted(agents, key=lambda a: a.id) if agents is not None else []
        for a in team:
            if not isinstance(a, Agent):
                raise ValidationError("agents", a, "Agent values")
        code = {a.id: i for i, a in enumerate(team)}
        rows = list(tickets)
        reopened_from = {t.reopened_from for t in rows if isinstance(t, Ticket)
                         and t.reopened_from is not None and t.created_at <= as_of}
        if policy is not None and not isinstance(policy, SLAPolicy):
            raise ValidationError("policy", policy, "an SLAPolicy or None")
        if stars is not None and not isinstance(stars, Mapping):
            raise ValidationError("stars", stars, "a mapping of customer id to stars (0-5)")
        star_of = stars or {}
        if factors is not None and not isinstance(factors, Mapping):
            raise ValidationError(
                "factors", factors, "a mapping of customer id to response-time factor"
            )
        scale = {c: check_factor(f"factors[{c!r}]", f) for c, f in (factors or {}).items()}
        targets: dict[tuple[Any, Any, float], tuple[int, int]] = {}
        cols: dict[str, list[Any]] = {k: [] for k in (
            "agent", "created", "first_response", "resolved", "first_response_target",
            "resolution_target", "stars", "satisfaction", "reopened", "escalated", "dropped")}
        for t in rows:
            if not isinstance(t, Ticket):
                raise ValidationError("tickets", t, "Ticket values")
            if t.created_at > as_of:
                continue
            factor = scale.get(t.customer_id, 1.0)
            key = (t.priority, t.category, factor)
            if key not in targets:
                found = (policy.targets_for(t.priority, t.category).scaled(factor)
                         if policy else None)
                targets[key] = (
                    _us(found.first_response) if found else NO_TARGET,
                    _us(found.resolution) if found else NO_TARGET,
                )
            responded = resolved = dropped = NO_TIME
            reopened = escalated = False
            score = 0
            for e in t.events:
                if e.at > as_of:
                    break
                if e.event is TicketEvent.RESPOND and responded == NO_TIME:
                    responded = to_epoch_micros(e.at)
                elif e.event is TicketEvent.RESOLVE:
                    resolved = to_epoch_micros(e.at)
                elif e.event is TicketEvent.REOPEN:
                    reopened = True
                    resolved = NO_TIME
                elif e.event is TicketEvent.ESCALATE:
                    escalated = True
                elif e.event is TicketEvent.RATE and e.score is not None:
                    score = e.score
                if e.to_status in _DROPPED_STATUSES:
                    dropped = to_epoch_micros(e.at)
            owner = t.assignee
            cols["agent"].append(-1 if owner is None else code.get(owner, -1))
            cols["created"].append(to_epoch_micros(t.created_at))
            cols["first_response"].append(responded)
            cols["resolved"].append(resolved)
            cols["first_response_target"].append(targets[key][0])
            cols["resolution_target"].append(targets[key][1])
            cols["stars"].append(_stars(star_of, t.customer_id))
            cols["satisfaction"].append(score)
            cols["reopened"].append(reopened or t.id in reopened_from)
            cols["escalated"].append(escalated)
            cols["dropped"].append(dropped)
        arrays = {k: np.asarray(v, dtype=np.bool_ if k in ("reopened", "escalated") else np.int64)
                  for k, v in cols.items()}
        return cls.from_arrays(agent_ids=[a.id for a in team], teams=[a.team for a in team],
                               as_of=as_of, **arrays)


#: The statuses that drop a ticket: its clocks stop there, neither met nor missed.
_DROPPED_STATUSES: Final = frozenset({TicketStatus.CANCELLED, TicketStatus.MERGED})


def _stars(stars: Mapping[str, int], customer_id: str) -> int:
    value = stars.get(customer_id, 0)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValidationError(f"stars[{customer_id!r}]", value, "a whole number of stars (0-5)")
    return int(value)


def _us(delta: timedelta | None) -> int:
    return NO_TARGET if delta is None else delta // timedelta(microseconds=1)


# -- the figures ----------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Rate:
    """A proportion with its 95 % Wilson interval.

    Attributes:
        successes: how many.
        trials: out of how many (> 0).
        value: ``successes / trials``.
        low, high: the interval's bounds.
    """

    successes: int
    trials: int
    value: float
    low: float
    high: float


@attrs.frozen(kw_only=True)
class AgentFigures:
    """One agent's figures over a period; None where there is nothing to measure.

    Attributes:
        agent_id: the agent.
        team: its team (None when it has none or several).
        measurable: whether it handled any ticket opened in the period.
        handled: tickets opened in the period and assigned to it.
        small: fewer tickets than the analysis' ``min_count``: read the intervals.
        first_response_mean, first_response_median: business time to the first answer.
        resolution_mean, resolution_median: business time to the resolution.
        sla_attainment: tickets attaining their SLA among those decided.
        sla_by_stars: the same per customer star level (1-5), where decided.
        satisfaction: the mean survey score, and ``rated`` how many answered.
        reopen_rate, escalation_rate: among the tickets handled.
        complaints: surveys at or under the complaint score (None if not measurable).
    """

    agent_id: str
    team: str | None
    measurable: bool
    handled: int
    small: bool
    first_response_mean: timedelta | None
    first_response_median: timedelta | None
    resolution_mean: timedelta | None
    resolution_median: timedelta | None
    sla_attainment: Rate | None
    sla_by_stars: Mapping[int, Rate]
    satisfaction: float | None
    rated: int
    reopen_rate: Rate | None
    escalation_rate: Rate | None
    complaints: int | None


#: The metrics the columns of :class:`TeamPerformance` hold, in table order.
METRICS: Final = (
    "first_response_mean", "first_response_median", "resolution_mean", "resolution_median",
    "sla_attainment", "satisfaction", "reopen_rate", "escalation_rate",
)


@attrs.frozen(kw_only=True, eq=False)
class TeamPerformance(Displayed):
    """Per-agent figures as columns (masked where not measurable); see the module.

    Durations are in business seconds (float64); rates in [0, 1] with ``_low`` and
    ``_high`` Wilson bounds; ``sla_by_stars`` has one column per star level 1-5.
    """

    start: datetime
    end: datetime
    min_count: int
    agent_ids: tuple[str, ...]
    teams: tuple[str | None, ...]
    handled: Int64Array
    responded: Int64Array
    resolved: Int64Array
    first_response_mean: np.ma.MaskedArray[Any, Any]
    first_response_median: np.ma.MaskedArray[Any, Any]
    resolution_mean: np.ma.MaskedArray[Any, Any]
    resolution_median: np.ma.MaskedArray[Any, Any]
    sla_decided: Int64Array
    sla_attained: Int64Array
    sla_attainment: np.ma.MaskedArray[Any, Any]
    sla_attainment_low: np.ma.MaskedArray[Any, Any]
    sla_attainment_high: np.ma.MaskedArray[Any, Any]
    sla_by_stars_decided: Int64Array
    sla_by_stars_attained: Int64Array
    sla_by_stars: np.ma.MaskedArray[Any, Any]
    rated: Int64Array
    satisfaction: np.ma.MaskedArray[Any, Any]
    reopened: Int64Array
    reopen_rate: np.ma.MaskedArray[Any, Any]
    escalated: Int64Array
    escalation_rate: np.ma.MaskedArray[Any, Any]
    complaints: np.ma.MaskedArray[Any, Any]

    @property
    def measurable(self) -> BoolArray:
        """Which agents handled any ticket in the period."""
        return self.handled > 0

    def __len__(self) -> int:
        return len(self.agent_ids)

    def __repr__(self) -> str:
        return short_repr("TeamPerformance", agents=len(self),
                          measurable=int(np.count_nonzero(self.measurable)),
                          start=self.start, end=self.end)

    def _display(self) -> Report:
        """One row per agent: tickets, median times (hours), rates and satisfaction."""
        report = Report("Team performance", facts=[
            ("from", self.start), ("to", self.end), ("agents", len(self)),
            ("tickets handled", int(self.handled.sum())), ("min count", self.min_count),
        ])

        def cell(col: np.ma.MaskedArray[Any, Any], i: int, scale: float = 1.0) -> Any:
            return "" if np.ma.getmaskarray(col)[i] else float(col.data[i]) / scale

        rows = tuple(
            (agent, self.teams[i] or "", int(self.handled[i]),
             cell(self.first_response_median, i, 3600.0),
             cell(self.resolution_median, i, 3600.0), cell(self.sla_attainment, i),
             cell(self.satisfaction, i), cell(self.reopen_rate, i),
             cell(self.escalation_rate, i))
            for i, agent in enumerate(self.agent_ids)
        )
        report.add(Table(caption="per agent (business hours; rates as shares)", header=(
            "agent", "team", "handled", "first response (h, median)",
            "resolution (h, median)", "SLA attainment", "satisfaction", "reopen rate",
            "escalation rate"), rows=rows))
        if any(self.handled[i] < self.min_count for i in range(len(self))):
            report.note(f"agents with fewer than {self.min_count} tickets: read the "
                        "intervals (AgentFigures), not the point figures")
        return report

    def index(self, agent_id: str) -> int:
        """The row of ``agent_id``.

        Raises:
            NotFound: the agent is not in the frame.
        """
        i = int(np.searchsorted(np.asarray(self.agent_ids, dtype=object), agent_id)) \
            if self.agent_ids else 0
        if i >= len(self.agent_ids) or self.agent_ids[i] != agent_id:
            raise NotFound("agent", agent_id)
        return i

    def row(self, agent_id: str) -> AgentFigures:
        """One agent's figures (None where not measurable)."""
        return self._figures(self.index(agent_id))

    def rows(self) -> list[AgentFigures]:
        """Every agent's figures, by agent id."""
        return [self._figures(i) for i in range(len(self))]

    def _figures(self, i: int) -> AgentFigures:
        def duration(col: np.ma.MaskedArray[Any, Any]) -> timedelta | None:
            if np.ma.getmaskarray(col)[i]:
                return None
            return timedelta(microseconds=round(float(col.data[i]) * _MICROS))

        def rate(k: int, n: int) -> Rate | None:
            if n == 0:
                return None
            lo, hi = wilson_interval(k, n)
            return Rate(successes=k, trials=n, value=k / n, low=float(lo), high=float(hi))

        handled = int(self.handled[i])
        by_stars = {}
        for s in range(5):
            r = rate(int(self.sla_by_stars_attained[i, s]), int(self.sla_by_stars_decided[i, s]))
            if r is not None:
                by_stars[s + 1] = r
        return AgentFigures(
            agent_id=self.agent_ids[i], team=self.teams[i], measurable=handled > 0,
            handled=handled, small=handled < self.min_count,
            first_response_mean=duration(self.first_response_mean),
            first_response_median=duration(self.first_response_median),
            resolution_mean=duration(self.resolution_mean),
            resolution_median=duration(self.resolution_median),
            sla_attainment=rate(int(self.sla_attained[i]), int(self.sla_decided[i])),
            sla_by_stars=by_stars,
            satisfaction=(None if np.ma.getmaskarray(self.satisfaction)[i]
                          else float(self.satisfaction.data[i])),
            rated=int(self.rated[i]),
            reopen_rate=rate(int(self.reopened[i]), handled),
            escalation_rate=rate(int(self.escalated[i]), handled),
            complaints=None if handled == 0 else int(self.complaints.data[i]),
        )

    def team_medians(self) -> dict[str | None, dict[str, float | None]]:
        """Per team, the median of each metric over its measurable agents (None: none)."""
        result: dict[str | None, dict[str, float | None]] = {}
        for team in sorted(set(self.teams), key=lambda t: (t is None, t or "")):
            members = np.asarray([t == team for t in self.teams], dtype=np.bool_)
            result[team] = {}
            for metric in METRICS:
                col: np.ma.MaskedArray[Any, Any] = getattr(self, metric)
                values = col.data[members & ~np.ma.getmaskarray(col)]
                result[team][metric] = float(np.median(values)) if values.size else None
        return result


def _masked(values: FloatArray, valid: BoolArray) -> np.ma.MaskedArray[Any, Any]:
    data = np.where(valid, values, 0.0)
    return np.ma.MaskedArray(data, mask=~valid)


def _group_medians(codes: Int64Array, values: Int64Array, n_groups: int) -> FloatArray:
    """The median of ``values`` per code (0.0 where a group is empty); values >= 0."""
    counts = np.bincount(codes, minlength=n_groups)
    if codes.size == 0:
        return np.zeros(n_groups)
    bits = max(1, int(n_groups).bit_length())
    if int(values.max()) < (1 << (63 - bits)):
        # One values-only sort of a packed key: the low bits are the sorted values.
        key = (codes.astype(np.uint64) << np.uint64(63 - bits)) | values.astype(np.uint64)
        key.sort()
        ordered = (key & np.uint64((1 << (63 - bits)) - 1)).astype(np.int64)
    else:  # pragma: no cover - spans of more than 2**50 µs (35 years) per ticket
        ordered = values[np.lexsort((values, codes))]
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    has = counts > 0
    lo = starts + np.maximum(counts - 1, 0) // 2
    hi = starts + np.maximum(counts, 1) // 2
    lo = np.where(has, lo, 0)
    hi = np.where(has, np.minimum(hi, max(ordered.size - 1, 0)), 0)
    if ordered.size == 0:
        return np.zeros(n_groups)
    return np.where(has, (ordered[lo].astype(np.float64) + ordered[hi]) / 2.0, 0.0)


def _period(start: Any, end: Any) -> tuple[int, int]:
    check_aware("start", start)
    check_aware("end", end)
    if end <= start:
        raise ValidationError("end", end, f"an instant after start ({start.isoformat()})")
    return to_epoch_micros(start), to_epoch_micros(end)


def team_performance(
    frame: PerformanceFrame,
    *,
    start: datetime,
    end: datetime,
    calendar: BusinessCalendar,
    min_count: int = 20,
    complaint_score: int = 2,
) -> TeamPerformance:
    """Per-agent figures for the tickets opened in ``[start, end)`` (see the module).

    Args:
        frame: the tickets.
        start, end: the period (aware; ``end`` after ``start``).
        calendar: the business calendar times are measured in.
        min_count: below this many tickets an agent's figures are marked ``small``.
        complaint_score: survey scores at or under it count as complaints.

    Raises:
        ValidationError: a bad period, frame, calendar, ``min_count`` or
            ``complaint_score``.
    """
    s, e = _period(start, end)
    if not isinstance(frame, PerformanceFrame):
        raise ValidationError("frame", frame, "a PerformanceFrame")
    if not isinstance(calendar, BusinessCalendar):
        raise ValidationError("calendar", calendar, "a BusinessCalendar")
    if not isinstance(min_count, int) or isinstance(min_count, bool) or min_count < 1:
        raise ValidationError("min_count", min_count, "a positive integer")
    if complaint_score not in (1, 2, 3, 4, 5):
        raise ValidationError("complaint_score", complaint_score, "a score from 1 to 5")
    n_agents = len(frame.agent_ids)
    sel = (frame.created >= s) & (frame.created < e) & (frame.agent >= 0)
    code = frame.agent[sel]
    created = frame.created[sel]
    fr_at = frame.first_response[sel]
    res_at = frame.resolved[sel]
    as_of = to_epoch_micros(frame.as_of)
    responded = fr_at != NO_TIME
    resolved = res_at != NO_TIME
    if created.size:
        lo = min(int(created.min()), as_of)
        hi = max(as_of, int(fr_at.max()), int(res_at.max()), int(created.max()))
        try:
            table = BusinessTimeTable.covering(calendar, from_epoch_micros(lo),
                                               from_epoch_micros(hi))
        except ValidationError as exc:
            if exc.field != "last_day":
                raise
            # The business-time table would span centuries (MAX_SPAN_DAYS).
            raise ValidationError(
                "end", end.isoformat(),
                f"a period whose tickets and end lie less than {MAX_SPAN_DAYS:,} days "
                f"(400 years) apart (earliest ticket {from_epoch_micros(lo).isoformat()})",
            ) from exc
        except OverflowError:
            # The table takes a day either side in the calendar's zone: past year 9999
            # or before year 1 there is no such day (was a bare OverflowError).
            raise ValidationError(
                "end", end.isoformat(),
                "a period whose tickets, answers and as_of lie at least a day inside the "
                f"years 1 to 9999 in the calendar's zone (from "
                f"{from_epoch_micros(lo).isoformat()} to {from_epoch_micros(hi).isoformat()})",
            ) from None
        f_created = table.business_time(created)
        # A clock still running runs until as_of (not at all for a ticket opened later),
        # or until the ticket was cancelled or merged: then it stops, undecided unless
        # already past its target (the SLA engine's CANCELLED).
        dropped_at = frame.dropped[sel]
        until = np.where(dropped_at != NO_TIME, np.minimum(dropped_at, as_of), as_of)
        f_now = np.maximum(table.business_time(until), f_created)
        fr_bt = np.where(responded, table.business_time(np.where(responded, fr_at, created))
                         - f_created, 0)
        res_bt = np.where(resolved, table.business_time(np.where(resolved, res_at, created))
                          - f_created, 0)
        elapsed = f_now - f_created
    else:
        fr_bt = res_bt = elapsed = np.zeros(0, dtype=np.int64)

    def clock(
        done: BoolArray, taken: Int64Array, target: Int64Array
    ) -> tuple[BoolArray, BoolArray]:
        has = target > 0
        missed = has & ((done & (taken > target)) | (~done & (elapsed > target)))
        decided = ~has | done | missed
        return missed, decided

    fr_missed, fr_decided = clock(responded, fr_bt, frame.first_response_target[sel])
    res_missed, res_decided = clock(resolved, res_bt, frame.resolution_target[sel])
    measured = (frame.first_response_target[sel] > 0) | (frame.resolution_target[sel] > 0)
    missed = fr_missed | res_missed
    decided = measured & (missed | (fr_decided & res_decided))
    attained = decided & ~missed

    def count(weights: Any = None) -> Int64Array:
        if weights is None:
            return np.bincount(code, minlength=n_agents).astype(np.int64)
        return np.bincount(code, weights=weights.astype(np.float64),
                           minlength=n_agents).round().astype(np.int64)

    handled = count()
    n_resp = count(responded)
    n_res = count(resolved)
    # Float sums are exact while an agent's total stays under 2**53 µs (285 years).
    fr_sum = np.bincount(code, weights=fr_bt.astype(np.float64), minlength=n_agents)
    res_sum = np.bincount(code, weights=res_bt.astype(np.float64), minlength=n_agents)
    with np.errstate(divide="ignore", invalid="ignore"):
        fr_mean = fr_sum / n_resp / _MICROS
        res_mean = res_sum / n_res / _MICROS
    fr_median = _group_medians(code[responded], fr_bt[responded], n_agents) / _MICROS
    res_median = _group_medians(code[resolved], res_bt[resolved], n_agents) / _MICROS
    n_decided = count(decided)
    n_attained = count(attained)
    stars = frame.stars[sel]
    cell = code * 5 + np.clip(stars - 1, 0, 4)
    starred = stars > 0
    by_decided = np.bincount(cell[starred & decided], minlength=n_agents * 5).reshape(n_agents, 5)
    by_attained = np.bincount(cell[starred & attained], minlength=n_agents * 5).reshape(
        n_agents, 5)
    score = frame.satisfaction[sel]
    rated_mask = score > 0
    n_rated = count(rated_mask)
    score_sum = np.bincount(code, weights=score.astype(np.float64), minlength=n_agents)
    n_reopened = count(frame.reopened[sel])
    n_escalated = count(frame.escalated[sel])
    n_complaints = count(rated_mask & (score <= complaint_score))
    with np.errstate(divide="ignore", invalid="ignore"):
        sla_rate = n_attained / n_decided
        sla_lo, sla_hi = wilson_interval(n_attained, n_decided)
        by_rate = by_attained / by_decided
        sat = score_sum / n_rated
        reopen = n_reopened / handled
        escalation = n_escalated / handled
    has = handled > 0
    return TeamPerformance(
        start=start, end=end, min_count=min_count, agent_ids=frame.agent_ids,
        teams=frame.teams, handled=handled, responded=n_resp, resolved=n_res,
        first_response_mean=_masked(fr_mean, n_resp > 0),
        first_response_median=_masked(fr_median, n_resp > 0),
        resolution_mean=_masked(res_mean, n_res > 0),
        resolution_median=_masked(res_median, n_res > 0),
        sla_decided=n_decided, sla_attained=n_attained,
        sla_attainment=_masked(sla_rate, n_decided > 0),
        sla_attainment_low=_masked(sla_lo, n_decided > 0),
        sla_attainment_high=_masked(sla_hi, n_decided > 0),
        sla_by_stars_decided=by_decided.astype(np.int64),
        sla_by_stars_attained=by_attained.astype(np.int64),
        sla_by_stars=np.ma.MaskedArray(np.where(by_decided > 0, by_rate, 0.0),
                                       mask=by_decided == 0),
        rated=n_rated, satisfaction=_masked(sat, n_rated > 0),
        reopened=n_reopened, reopen_rate=_masked(reopen, has),
        escalated=n_escalated, escalation_rate=_masked(escalation, has),
        complaints=np.ma.MaskedArray(n_complaints, mask=~has),
    )


# -- targets and the team median ------------------------------------------------------


def _optional_delta(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and (not isinstance(value, timedelta) or value <= timedelta(0)):
        raise ValidationError(f"TeamTargets.{attribute.name}", value,
                              "a positive timedelta or None")


def _optional_share(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)
                              or not 0.0 <= value <= 1.0 or math.isnan(value)):
        raise ValidationError(f"TeamTargets.{attribute.name}", value,
                              "a share from 0 to 1, or None")


def _optional_score(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)
                              or not 1.0 <= value <= 5.0):
        raise ValidationError("TeamTargets.satisfaction", value, "a score from 1 to 5, or None")


@attrs.frozen(kw_only=True)
class TeamTargets:
    """What a team aims for; None leaves a metric without a target.

    Attributes:
        first_response: the longest median business time to the first answer.
        resolution: the longest median business time to the resolution.
        sla_attainment: the lowest share of tickets attaining their SLA.
        satisfaction: the lowest mean survey score.
        reopen_rate: the highest share of tickets reopened.
        escalation_rate: the highest share of tickets escalated.
    """

    first_response: timedelta | None = attrs.field(default=None, validator=_optional_delta)
    resolution: timedelta | None = attrs.field(default=None, validator=_optional_delta)
    sla_attainment: float | None = attrs.field(default=None, validator=_optional_share)
    satisfaction: float | None = attrs.field(default=None, validator=_optional_score)
    reopen_rate: float | None = attrs.field(default=None, validator=_optional_share)
    escalation_rate: float | None = attrs.field(default=None, validator=_optional_share)


@attrs.frozen(kw_only=True)
class Comparison:
    """One agent's figure against its team's target and its team's median.

    Attributes:
        agent_id: the agent.
        metric: the metric's name (a :class:`TeamTargets` field).
        value: the agent's figure (None: not measurable).
        target: the team's target (None: no target).
        team_median: the median over the team's measurable agents (None: none).
        verdict: ``"met"``, ``"missed"``, ``"uncertain"`` (a rate whose interval
            contains the target, or a duration or score from fewer than
            ``min_count`` tickets) or ``"not measurable"``; ``"no target"``.
    """

    agent_id: str
    metric: str
    value: float | None
    target: float | None
    team_median: float | None
    verdict: str


_TARGET_COLUMNS: Final = {
    "first_response": ("first_response_median", "max"),
    "resolution": ("resolution_median", "max"),
    "sla_attainment": ("sla_attainment", "min"),
    "satisfaction": ("satisfaction", "min"),
    "reopen_rate": ("reopen_rate", "max"),
    "escalation_rate": ("escalation_rate", "max"),
}


def compare_with_targets(
    performance: TeamPerformance,
    targets: TeamTargets | Mapping[str | None, TeamTargets],
) -> list[Comparison]:
    """Every agent's figures against its team's targets and median, by agent then metric.

    Durations are compared in business seconds. Rates are judged on their Wilson
    interval, so a small count is "uncertain" rather than "missed".

    Raises:
        ValidationError: ``targets`` is neither TeamTargets nor a mapping of them.
    """
    single: TeamTargets | None = None
    per_team: dict[str | None, TeamTargets] = {}
    if isinstance(targets, TeamTargets):
        single = targets
    elif isinstance(targets, Mapping):
        for key, given in targets.items():
            if not isinstance(given, TeamTargets):
                raise ValidationError(f"targets[{key!r}]", given, "TeamTargets")
            per_team[key] = given
    else:
        raise ValidationError("targets", targets, "TeamTargets or a mapping of team to them")
    medians = performance.team_medians()
    result = []
    for i, agent_id in enumerate(performance.agent_ids):
        team = performance.teams[i]
        goal = single if single is not None else per_team.get(team)
        for name, (column, direction) in _TARGET_COLUMNS.items():
            col: np.ma.MaskedArray[Any, Any] = getattr(performance, column)
            value = None if np.ma.getmaskarray(col)[i] else float(col.data[i])
            raw = getattr(goal, name) if goal is not None else None
            target = raw.total_seconds() if isinstance(raw, timedelta) else raw
            verdict = _verdict(performance, i, name, value, target, direction)
            result.append(Comparison(agent_id=agent_id, metric=name, value=value,
                                     target=None if target is None else float(target),
                                     team_median=medians[team][column], verdict=verdict))
    return result


def _verdict(
    perf: TeamPerformance, i: int, name: str, value: float | None, target: float | None,
    direction: str,
) -> str:
    if value is None:
        return "not measurable"
    if target is None:
        return "no target"
    if name in ("sla_attainment", "reopen_rate", "escalation_rate"):
        if name == "sla_attainment":
            lo, hi = float(perf.sla_attainment_low.data[i]), float(perf.sla_attainment_high.data[i])
        else:
            k = int((perf.reopened if name == "reopen_rate" else perf.escalated)[i])
            lo_a, hi_a = wilson_interval(k, int(perf.handled[i]))
            lo, hi = float(lo_a), float(hi_a)
        if direction == "min":
            return "met" if lo >= target else "missed" if hi < target else "uncertain"
        return "met" if hi <= target else "missed" if lo > target else "uncertain"
    counts = {"first_response": perf.responded, "resolution": perf.resolved,
              "satisfaction": perf.rated}[name]
    if int(counts[i]) < perf.min_count:
        return "uncertain"
    ok = value <= target if direction == "max" else value >= target
    return "met" if ok else "missed"


# -- training -------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class TrainingEffect(Displayed):
    """An agent's figures before and after a training date.

    Attributes:
        agent_id: the agent.
        at: the training date.
        window: how long each side spans.
        before: the figures for tickets opened in ``[at - window, at)``.
        after: the figures for tickets opened in ``[at, at + window)``.
    """

    agent_id: str
    at: datetime
    window: timedelta
    before: AgentFigures
    after: AgentFigures

    def __repr__(self) -> str:
        return short_repr("TrainingEffect", agent_id=self.agent_id, at=self.at,
                          before=self.before.handled, after=self.after.handled)

    def _display(self) -> Report:
        """The agent's figures before and after the training, side by side."""
        report = Report("Training effect", facts=[
            ("agent", self.agent_id), ("trained at", self.at), ("window", str(self.window)),
        ])

        def shown(value: Any) -> Any:
            if value is None:
                return ""
            if isinstance(value, Rate):
                return f"{value.value:.1%} ({value.low:.1%} – {value.high:.1%})"
            if isinstance(value, timedelta):
                return str(value)
            return value

        names = ("handled", "first_response_median", "resolution_median", "sla_attainment",
                 "satisfaction", "reopen_rate", "escalation_rate")
        report.add(Table(caption="before and after", header=("figure", "before", "after"),
                         rows=tuple((name.replace("_", " "), shown(getattr(self.before, name)),
                                     shown(getattr(self.after, name))) for name in names)))
        return report


def training_window(at: datetime, window: timedelta) -> tuple[datetime, datetime]:
    """``(at - window, at + window)``, the span a training is compared over.

    Raises:
        ValidationError: a naive ``at``, a non-positive ``window``, or one that takes
            the span past the years 1 to 9999.
    """
    check_aware("at", at)
    if not isinstance(window, timedelta) or window <= timedelta(0):
        raise ValidationError("window", window, "a positive timedelta")
    try:
        return at - window, at + window
    except OverflowError:
        raise ValidationError(
            "window", window,
            f"a span either side of {at.isoformat()} that stays within years 1 to 9999",
        ) from None


def training_effect(
    frame: PerformanceFrame,
    agent_id: str,
    at: datetime,
    *,
    calendar: BusinessCalendar,
    window: timedelta = timedelta(days=30),
    min_count: int = 20,
) -> TrainingEffect:
    """An agent's figures over ``window`` before and after ``at`` (a training date).

    Raises:
        NotFound: the agent is not in the frame.
        ValidationError: a naive ``at`` or a non-positive ``window``.
    """
    first, last = training_window(at, window)
    before = team_performance(frame, start=first, end=at, calendar=calendar,
                              min_count=min_count)
    after = team_performance(frame, start=at, end=last, calendar=calendar,
                             min_count=min_count)
    return TrainingEffect(agent_id=agent_id, at=at, window=window, before=before.row(agent_id),
                          after=after.row(agent_id))
