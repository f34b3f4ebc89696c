"""Development analysis: the funnel, time in stage, wins and losses, weekly reports.

All functions read prospects (and contact records) as they come from a
:class:`~custmgmt.prospects.ports.ProspectRepository` and a
:class:`~custmgmt.prospects.pipeline.Pipeline`.

* :func:`funnel`: how many prospects reached each stage of the pipeline's main line
  (:attr:`Pipeline.funnel_stages`), overall and per source channel, with the
  conversion from the previous stage and its 95 % Wilson interval. A boolean matrix
  (prospect x stage) is filled from the histories once; every count is a column sum
  or a ``bincount`` on source codes.
* :func:`time_in_stage`: how long prospects stayed in each stage (until they left
  it, or until ``as_of`` while still there).
* :func:`win_rate` and :func:`loss_reasons`: among the decided prospects.
* :func:`weekly_report`: per owner, the week's new leads, contacts, visits, stage
  moves and wins (the manuals' weekly development report).
* :func:`outreach_effect`: win rates of prospects contacted and not, per contact
  kind and per campaign.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from custmgmt.domain._validate import check_aware
from custmgmt.errors import ValidationError
from custmgmt.notebook.display import Displayed, Report, Table, short_repr
from custmgmt.prospects.pipeline import Pipeline
from custmgmt.prospects.prospect import ContactKind, ContactRecord, Prospect
from custmgmt.team.performance import Rate, wilson_interval

__all__ = [
    "Funnel",
    "FunnelStep",
    "OutreachEffect",
    "StageTime",
    "WeeklyRow",
    "as_of_view",
    "funnel",
    "loss_reasons",
    "outreach_effect",
    "time_in_stage",
    "weekly_report",
    "win_rate",
]


def _rate_cells(rate: Rate | None) -> tuple[Any, ...]:
    """A rate as table cells: successes, trials, value and its 95 % interval."""
    if rate is None:
        return ("", 0, "n/a", "")
    return (rate.successes, rate.trials, f"{rate.value:.1%}",
            f"{rate.low:.1%} – {rate.high:.1%}")


def _rate(k: int, n: int) -> Rate | None:
    if n == 0:
        return None
    lo, hi = wilson_interval(k, n)
    return Rate(successes=k, trials=n, value=k / n, low=float(lo), high=float(hi))


def _prospects(value: Any) -> list[Prospect]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValidationError("prospects", value, "an iterable of Prospect")
    items = list(value)
    for item in items:
        if not isinstance(item, Prospect):
            raise ValidationError("prospects", item, "Prospect values")
    return items


def _pipeline(value: Any) -> Pipeline:
    if not isinstance(value, Pipeline):
        raise ValidationError("pipeline", value, "a Pipeline")
    return value


def as_of_view(
    prospects: Iterable[Prospect], pipeline: Pipeline, *, as_of: datetime
) -> list[Prospect]:
    """The prospects as they stood at ``as_of``: later ones left out, later moves undone.

    :func:`funnel`, :func:`win_rate`, :func:`loss_reasons` and :func:`outreach_effect`
    read the current stage and history; give them this view to report a past date.

    Raises:
        ValidationError: a naive ``as_of``, bad prospects or pipeline.
    """
    check_aware("as_of", as_of)
    pipe = _pipeline(pipeline)
    view = []
    for p in _prospects(prospects):
        if p.created_at > as_of:
            continue
        kept = tuple(e for e in p.history if e.at <= as_of)
        if len(kept) == len(p.history):
            view.append(p)
            continue
        last = kept[-1]
        lost_reason = last.note if last.to_stage in pipe.lost else None
        view.append(attrs.evolve(p, stage=last.to_stage, history=kept,
                                 lost_reason=lost_reason))
    return view


@attrs.frozen(kw_only=True)
class FunnelStep:
    """One stage of a funnel.

    Attributes:
        stage: the stage.
        reached: how many prospects ever entered it.
        conversion: of the prospects that reached the previous step, the share that
            reached this one too (None for the first step, or when the previous step
            was reached by nobody). Without skipped stages that is ``reached`` over
            the previous step's ``reached``; it never exceeds 100 %.
    """

    stage: str
    reached: int
    conversion: Rate | None


@attrs.frozen(kw_only=True)
class Funnel(Displayed):
    """A funnel overall and per source channel.

    Attributes:
        steps: the steps over every prospect.
        by_source: the steps per source channel, sources sorted.
        won: how many prospects are in a won stage.
        total: how many prospects were counted.
    """

    steps: tuple[FunnelStep, ...]
    by_source: Mapping[str, tuple[FunnelStep, ...]]
    won: int
    total: int

    def __repr__(self) -> str:
        return short_repr("Funnel", prospects=self.total, won=self.won,
                          stages=[s.stage for s in self.steps])

    def _display(self) -> Report:
        """Each stage's reach and conversion, overall and per source."""
        report = Report("Prospect funnel", facts=[("prospects", self.total),
                                                  ("won", self.won)])
        header = ("stage", "reached", "converted", "of", "conversion", "95% interval")
        report.add(Table(caption="all sources", header=header, rows=tuple(
            (s.stage, s.reached, *_rate_cells(s.conversion)) for s in self.steps)))
        report.add(Table(caption="per source", header=("source", *header), rows=tuple(
            (source, s.stage, s.reached, *_rate_cells(s.conversion))
            for source, steps in self.by_source.items() for s in steps)))
        return report


def _steps(matrix: npt.NDArray[np.bool_], stages: Sequence[str]) -> tuple[FunnelStep, ...]:
    """The steps of a prospect x stage matrix. A step's conversion counts the previous
    step's prospects that reached it too: a pipeline may skip a stage (``lead -> won``),
    and the bare ratio of two reach counts then exceeds 100 %."""
    reached = matrix.sum(axis=0).tolist()
    both = (matrix[:, 1:] & matrix[:, :-1]).sum(axis=0).tolist()
    steps = []
    for i, stage in enumerate(stages):
        conversion = None if i == 0 else _rate(int(both[i - 1]), int(reached[i - 1]))
        steps.append(FunnelStep(stage=stage, reached=int(reached[i]), conversion=conversion))
    return tuple(steps)


def funnel(prospects: Iterable[Prospect], pipeline: Pipeline) -> Funnel:
    """How many prospects reached each main-line stage, overall and per source.

    Raises:
        ValidationError: something that is not a Prospect, or not a Pipeline.
    """
    items = _prospects(prospects)
    pipe = _pipeline(pipeline)
    stages = pipe.funnel_stages
    column = {s: i for i, s in enumerate(stages)}
    reached = np.zeros((len(items), len(stages)), dtype=np.bool_)
    rows: list[int] = []
    cols: list[int] = []
    for r, p in enumerate(items):
        for entry in p.history:
            c = column.get(entry.to_stage)
            if c is not None:
                rows.append(r)
                cols.append(c)
    reached[np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)] = True
    sources = sorted({p.source for p in items})
    code = {s: i for i, s in enumerate(sources)}
    source_codes = np.asarray([code[p.source] for p in items], dtype=np.int64)
    by_source = {}
    for c_idx, source in enumerate(sources):
        by_source[source] = _steps(reached[source_codes == c_idx], stages)
    won = sum(1 for p in items if p.stage in pipe.won)
    return Funnel(steps=_steps(reached, stages), by_source=by_source, won=won,
                  total=len(items))


@attrs.frozen(kw_only=True)
class StageTime:
    """How long prospects stayed in a stage.

    Attributes:
        stage: the stage.
        count: stays counted (a prospect may enter a stage more than once).
        mean: the mean stay.
        median: the median stay.
    """

    stage: str
    count: int
    mean: timedelta
    median: timedelta


def time_in_stage(
    prospects: Iterable[Prospect], pipeline: Pipeline, *, as_of: datetime
) -> list[StageTime]:
    """Stays per non-final stage, in the pipeline's order (stages without stays left out).

    A stay lasts from entering the stage to the next change, or to ``as_of`` for a
    prospect still there; changes after ``as_of`` are ignored.

    Raises:
        ValidationError: a naive ``as_of``, bad prospects or pipeline.
    """
    check_aware("as_of", as_of)
    pipe = _pipeline(pipeline)
    stays: dict[str, list[timedelta]] = {}
    for p in _prospects(prospects):
        history = [e for e in p.history if e.at <= as_of]
        for i, entry in enumerate(history):
            if entry.to_stage in pipe.final:
                continue
            left = history[i + 1].at if i + 1 < len(history) else as_of
            stays.setdefault(entry.to_stage, []).append(left - entry.at)
    result = []
    for stage in pipe.stage_names:
        found = stays.get(stage)
        if found:
            # In whole microseconds: a sum of timedeltas overflows past 999,999,999
            # days (stays up to an --as-of in year 8999, summed over many prospects).
            total = sum(stay // _MICROSECOND for stay in found)
            mean = timedelta(microseconds=round(Fraction(total, len(found))))  # as timedelta / n
            result.append(StageTime(stage=stage, count=len(found), mean=mean,
                                    median=_median(found)))
    return result


_MICROSECOND = timedelta(microseconds=1)


def _median(values: list[timedelta]) -> timedelta:
    ordered = sorted(values)
    n = len(ordered)
    # In whole microseconds, rounded as timedelta / 2 rounds: low + high could overflow.
    both = ordered[(n - 1) // 2] // _MICROSECOND + ordered[n // 2] // _MICROSECOND
    return timedelta(microseconds=round(Fraction(both, 2)))


def win_rate(prospects: Iterable[Prospect], pipeline: Pipeline) -> Rate | None:
    """Won among the decided (won or lost) prospects, with its interval; None if none."""
    pipe = _pipeline(pipeline)
    items = _prospects(prospects)
    won = sum(1 for p in items if p.stage in pipe.won)
    lost = sum(1 for p in items if p.stage in pipe.lost)
    return _rate(won, won + lost)


def loss_reasons(prospects: Iterable[Prospect], pipeline: Pipeline) -> list[tuple[str, int]]:
    """The reasons lost prospects were given up, most frequent first."""
    pipe = _pipeline(pipeline)
    counts = Counter((p.lost_reason or "").strip() or "(none given)"
                     for p in _prospects(prospects) if p.stage in pipe.lost)
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


@attrs.frozen(kw_only=True)
class WeeklyRow:
    """One owner's week (the weekly development report).

    Attributes:
        owner: the person.
        new_leads: prospects they own that were recorded in the week.
        contacts: contacts they made (every kind).
        visits: of which visits.
        stage_moves: stage changes they made (creations not counted).
        wins: prospects they own that moved into a won stage in the week.
    """

    owner: str
    new_leads: int
    contacts: int
    visits: int
    stage_moves: int
    wins: int


def weekly_report(
    prospects: Iterable[Prospect],
    contacts: Iterable[ContactRecord],
    pipeline: Pipeline,
    *,
    week_start: datetime,
) -> list[WeeklyRow]:
    """Per person, the week ``[week_start, week_start + 7 days)``, by owner id.

    Raises:
        ValidationError: a naive ``week_start``, bad prospects, records or pipeline.
    """
    check_aware("week_start", week_start)
    pipe = _pipeline(pipeline)
    try:
        end = week_start + timedelta(days=7)
    except OverflowError:  # the last week of year 9999 runs to the calendar's end
        end = datetime.max.replace(tzinfo=UTC)
    rows: dict[str, Counter[str]] = {}

    def add(person: str, field: str) -> None:
        rows.setdefault(person, Counter())[field] += 1

    for p in _prospects(prospects):
        if week_start <= p.created_at < end:
            add(p.owner, "new_leads")
        for entry in p.history[1:]:
            if week_start <= entry.at < end:
                add(entry.actor, "stage_moves")
                if entry.to_stage in pipe.won:
                    add(p.owner, "wins")
    for record in contacts:
        if not isinstance(record, ContactRecord):
            raise ValidationError("contacts", record, "ContactRecord values")
        if week_start <= record.at < end:
            add(record.actor, "contacts")
            if record.kind is ContactKind.VISIT:
                add(record.actor, "visits")
    return [
        WeeklyRow(owner=owner, new_leads=c["new_leads"], contacts=c["contacts"],
                  visits=c["visits"], stage_moves=c["stage_moves"], wins=c["wins"])
        for owner, c in sorted(rows.items())
    ]


@attrs.frozen(kw_only=True)
class OutreachEffect(Displayed):
    """Win rates of decided prospects by how they were reached.

    Attributes:
        contacted: win rate of prospects with at least one contact (None: none).
        not_contacted: win rate of those with none.
        by_kind: win rate of prospects with at least one contact of each kind.
        by_campaign: win rate of prospects contacted in each campaign.
    """

    contacted: Rate | None
    not_contacted: Rate | None
    by_kind: Mapping[str, Rate]
    by_campaign: Mapping[str, Rate]

    def __repr__(self) -> str:
        def value(rate: Rate | None) -> float | None:
            return None if rate is None else rate.value

        return short_repr("OutreachEffect", contacted=value(self.contacted),
                          not_contacted=value(self.not_contacted), kinds=len(self.by_kind),
                          campaigns=len(self.by_campaign))

    def _display(self) -> Report:
        """Win rates with their intervals, by contact, contact kind and campaign."""
        report = Report("Outreach effect on win rates")
        header = ("group", "won", "decided", "win rate", "95% interval")
        rows = [("contacted", *_rate_cells(self.contacted)),
                ("not contacted", *_rate_cells(self.not_contacted))]
        rows += [(f"kind {k}", *_rate_cells(r)) for k, r in self.by_kind.items()]
        rows += [(f"campaign {c}", *_rate_cells(r)) for c, r in self.by_campaign.items()]
        report.add(Table(caption="win rates", header=header, rows=tuple(rows)))
        return report


def outreach_effect(
    prospects: Iterable[Prospect], contacts: Iterable[ContactRecord], pipeline: Pipeline
) -> OutreachEffect:
    """How outreach relates to winning, among the decided (won or lost) prospects.

    These are associations, not causal effects: who gets contacted is not random.
    """
    pipe = _pipeline(pipeline)
    decided = {p.id: p.stage in pipe.won for p in _prospects(prospects)
               if p.stage in pipe.won or p.stage in pipe.lost}
    kinds: dict[str, set[str]] = {}
    campaigns: dict[str, set[str]] = {}
    reached: set[str] = set()
    for record in contacts:
        if not isinstance(record, ContactRecord):
            raise ValidationError("contacts", record, "ContactRecord values")
        if record.prospect_id in decided:
            reached.add(record.prospect_id)
            kinds.setdefault(record.kind.value, set()).add(record.prospect_id)
            if record.campaign_id is not None:
                campaigns.setdefault(record.campaign_id, set()).add(record.prospect_id)

    def rate_of(ids: Iterable[str]) -> Rate | None:
        group = list(ids)
        return _rate(sum(decided[i] for i in group), len(group))

    def rates(groups: Mapping[str, set[str]]) -> dict[str, Rate]:
        out = {}
        for key in sorted(groups):
            r = rate_of(groups[key])
            if r is not None:
                out[key] = r
        return out

    return OutreachEffect(
        contacted=rate_of(reached),
        not_contacted=rate_of(i for i in decided if i not in reached),
        by_kind=rates(kinds), by_campaign=rates(campaigns),
    )
