"""``custmgmt team``: the service team's performance table over a period.

Reads the agents and tickets of an SQLite store and prints, for the tickets opened
in ``[--from, --to)``, one line per agent: tickets handled, median first-response
and resolution times in business hours (office hours 09:00-12:00 and 13:00-18:00,
Monday to Friday, in ``--tz``), SLA attainment with its 95 % interval (the default
SLA targets of ``custmgmt tickets``), mean satisfaction, reopen and escalation
rates and complaints; then the same pooled per team, and the team medians. An
agent with no ticket in the period is shown as not measurable. Agent ids only: no
names.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date, datetime, timedelta
from typing import Any, Protocol, TextIO, runtime_checkable

import attrs

from custmgmt._text import one_line
from custmgmt.cli._inputs import open_existing_store, parse_as_of, schema_version, zone
from custmgmt.cli.prospects import pad
from custmgmt.domain import SystemClock
from custmgmt.errors import ValidationError
from custmgmt.rating import current_stars, response_time_factors
from custmgmt.rating.ports import RatingStore
from custmgmt.team.ports import TeamStore
from custmgmt.team.services import performance
from custmgmt.tickets import default_calendar, default_sla_policy, format_business_hours

__all__ = ["TeamReportStore", "print_team", "register", "run"]


@runtime_checkable
class TeamReportStore(TeamStore, RatingStore, Protocol):
    """What the team report reads: agents, assignments, tickets and stars."""


def register(subparsers: Any) -> None:
    """Add the ``team`` command."""
    parser = subparsers.add_parser(
        "team",
        help="per-agent service performance over a period (business time, SLA, "
        "satisfaction)",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    parser.add_argument("--db", metavar="PATH|DSN", required=True,
                        help="the store: an SQLite file or a postgresql:// DSN")
    parser.add_argument("--from", dest="start", metavar="DATE",
                        help="the period's first day, ISO (default: 30 days before --to)")
    parser.add_argument("--to", dest="end", metavar="DATE",
                        help="the period's last day, ISO, included (default: today)")
    parser.add_argument("--tz", default="Asia/Shanghai",
                        help="the office's time zone (default: Asia/Shanghai)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the performance table; returns the exit code."""


    tz = zone(args.tz)
    if args.end:
        end = parse_as_of(args.end, tz, option="--to")
        # A day (in any ISO form, 2026-06-30 or 20260630) is included to its end.
        end = (_midnight(end) + timedelta(days=1) if _is_day(args.end)
               else end + timedelta(microseconds=1))
    else:
        end = SystemClock(tz).now()
    if args.start:
        start = parse_as_of(args.start, tz, option="--from")
        start = _midnight(start) if _is_day(args.start) else start
    else:
        start = end - timedelta(days=30)
    if end <= start:

        raise ValidationError("--to", args.end, f"a day on or after --from ({args.start})")
    store = open_existing_store(args.db)
    try:
        # The schemas first: a read-only store cannot create the team tables.
        if (schema_version(store, "team") == 0 or schema_version(store, "tickets") == 0
                or not isinstance(store, TeamStore) or store.agents.count() == 0):
            print("no service team stored", file=sys.stdout)
            return 0
        try:
            print_team(store, start, end, sys.stdout, tz=args.tz)
        except ValidationError as exc:
            if exc.field != "end":
                raise
            # The library names its own argument; the user typed --to (or left it out).
            raise ValidationError("--to", args.end or end.isoformat(), exc.expected) from None
    finally:
        store.close()
    return 0


def _is_day(text: str) -> bool:
    """Whether ``text`` is an ISO date (any form) rather than a datetime."""
    try:
        date.fromisoformat(text.strip())
    except ValueError:
        return False
    return True


def _midnight(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def print_team(store: TeamReportStore, start: datetime, end: datetime, out: TextIO, *,
               tz: str = "Asia/Shanghai") -> None:
    """Print the team table for ``[start, end)``.

    Raises:
        ValidationError: ``end`` is not after ``start``.
    """


    def say(*parts: object) -> None:
        print(*parts, file=out)

    stars = current_stars(store, end)
    # The targets of ``custmgmt tickets``: each customer's scaled by their stars' factor.
    common: dict[str, Any] = {
        "start": start, "end": end, "calendar": default_calendar(tz),
        "policy": default_sla_policy(), "stars": stars,
        "factors": response_time_factors(stars),
    }
    perf = performance(store, **common)
    teams = performance(store, by_team=True, **common)

    def hours(d: timedelta | None) -> str:
        return "-" if d is None else format_business_hours(d)

    def pct(rate: Any) -> str:
        return "-" if rate is None else f"{rate.value:4.0%} [{rate.low:.0%}-{rate.high:.0%}]"

    def share(rate: Any) -> str:
        return "-" if rate is None else f"{rate.value:.0%}"

    say(f"service team, tickets opened {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} "
        "(business time):")
    say(f"  {'agent':<10} {'team':<8} {'tickets':>7} {'1st resp':>8} {'resolve':>8} "
        f"{'SLA met [95%]':>15} {'sat.':>4} {'reopen':>6} {'escal.':>6} {'compl.':>6}")
    rows = [*perf.rows(), *(attrs.evolve(r, agent_id="team", team=r.agent_id)
                           for r in teams.rows())]
    for row in rows:
        if not row.measurable:
            say(f"  {pad(one_line(row.agent_id), 10)} {pad(one_line(row.team or '-'), 8)} {0:>7}"
                "  not measurable "
                "(no ticket in the period)")
            continue
        sat = "-" if row.satisfaction is None else f"{row.satisfaction:.1f}"
        small = " *" if row.small else ""
        say(f"  {pad(one_line(row.agent_id), 10)} {pad(one_line(row.team or '-'), 8)} "
            f"{row.handled:>7} "
            f"{hours(row.first_response_median):>8} {hours(row.resolution_median):>8} "
            f"{pct(row.sla_attainment):>15} {sat:>4} "
            f"{share(row.reopen_rate):>6} {share(row.escalation_rate):>6} "
            f"{row.complaints:>6}{small}")
    say(f"  (* fewer than {perf.min_count} tickets: read the intervals)")
    for team, medians in perf.team_medians().items():
        if team is None:
            continue
        fr = medians["first_response_median"]
        sla = medians["sla_attainment"]
        say(f"  team {one_line(team or '-')} medians: first response "
            f"{'-' if fr is None else format_business_hours(timedelta(seconds=fr))}, "
            f"SLA met {'-' if sla is None else f'{sla:.0%}'}")
