"""``custmgmt prospects``: the development funnel and the weekly development report.

Reads the prospects and contact records of an SQLite store and prints, as of
``--as-of``: the funnel of the default pipeline (how many prospects reached each
stage, the conversion from the stage before with its 95 % interval), the same per
source channel, the win rate, the reasons for losses, the time spent in each stage,
the weekly development report per person for the week (Monday to Sunday) that holds
``--as-of`` (or ``--week``), and the win rates with and without outreach. Only
counts and ids are printed: no names.
"""

from __future__ import annotations

import argparse
import sys
import unicodedata
from datetime import datetime, timedelta
from typing import Any, TextIO

from custmgmt._text import one_line
from custmgmt.cli._inputs import (
    as_of_or_now,
    open_existing_store,
    parse_as_of,
    schema_version,
    zone,
)
from custmgmt.prospects import (
    DEFAULT_PIPELINE,
    as_of_view,
    funnel,
    loss_reasons,
    outreach_effect,
    time_in_stage,
    weekly_report,
    win_rate,
)
from custmgmt.prospects.ports import ProspectStore

__all__ = ["pad", "print_development", "register", "run"]


def pad(text: str, width: int) -> str:
    """``text`` left-aligned in ``width`` terminal columns (CJK characters take two).

    >>> pad("展会", 6) + "|"
    '展会  |'
    """

    used = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(0, width - used)


def register(subparsers: Any) -> None:
    """Add the ``prospects`` command."""
    parser = subparsers.add_parser(
        "prospects",
        help="the customer-development funnel, win rate and weekly development report",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    parser.add_argument("--db", metavar="PATH|DSN", required=True,
                        help="the store: an SQLite file or a postgresql:// DSN")
    parser.add_argument("--as-of", metavar="DATE",
                        help="evaluate at this ISO date (its end) or datetime (default: now)")
    parser.add_argument("--week", metavar="DATE",
                        help="report the week (Monday to Sunday) holding this date "
                        "(default: the week of --as-of)")
    parser.add_argument("--tz", default="Asia/Shanghai",
                        help="the office's time zone (default: Asia/Shanghai)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the development analysis; returns the exit code."""


    tz = zone(args.tz)
    # In the office's zone: a datetime given with another offset (2026-03-08T20:00Z,
    # already Monday in Shanghai) names the week and the day of the office.
    as_of = _in_zone(as_of_or_now(args, tz), tz)
    week = _in_zone(parse_as_of(args.week, tz, option="--week"), tz) if args.week else as_of
    store = open_existing_store(args.db)
    try:
        # The schema first: a read-only store cannot create the prospect tables.
        if (schema_version(store, "prospects") == 0 or not isinstance(store, ProspectStore)
                or store.prospects.count() == 0):
            print("no prospects stored", file=sys.stdout)
            return 0
        print_development(store, as_of, sys.stdout, week_of=week)
    finally:
        store.close()
    return 0


def _in_zone(moment: datetime, tz: Any) -> datetime:
    """``moment`` in ``tz``, kept as given where that would leave the calendar."""
    try:
        return moment.astimezone(tz)
    except OverflowError:
        return moment


def _pct(rate: Any) -> str:
    if rate is None:
        return "-"
    return f"{rate.value:6.1%} [{rate.low:.0%}-{rate.high:.0%}]"


def print_development(
    store: ProspectStore, as_of: datetime, out: TextIO, *, week_of: datetime | None = None
) -> None:
    """Print the funnel, wins, losses, time in stage, the weekly report and outreach."""

    def say(*parts: object) -> None:
        print(*parts, file=out)

    pipe = DEFAULT_PIPELINE
    # Moves after ``as_of`` are undone, so a past date reports the funnel as it stood.
    prospects = as_of_view(store.prospects.find(), pipe, as_of=as_of)
    contacts = store.prospects.contacts(until=as_of + timedelta(microseconds=1))
    result = funnel(prospects, pipe)
    say(f"funnel of {result.total} prospects as of {as_of:%Y-%m-%d %H:%M}:")
    say(f"  {'stage':<22} {'reached':>7}  conversion from the stage before [95% interval]")
    for step in result.steps:
        say(f"  {one_line(step.stage):<22} {step.reached:>7}  {_pct(step.conversion)}")
    say("by source channel (reached per stage, in the order above):")
    for source, steps in result.by_source.items():
        say(f"  {pad(one_line(source), 16)} " + " ".join(f"{s.reached:>4}" for s in steps))
    say(f"win rate (won among decided): {_pct(win_rate(prospects, pipe))}")
    reasons = loss_reasons(prospects, pipe)
    if reasons:
        say("reasons for losses: " + ", ".join(f"{one_line(r)} {n}" for r, n in reasons))
    say("time in stage (mean / median, days):")
    for t in time_in_stage(prospects, pipe, as_of=as_of):
        say(f"  {one_line(t.stage):<22} {t.count:>4} stays  {t.mean / timedelta(days=1):6.1f} / "
            f"{t.median / timedelta(days=1):6.1f}")
    anchor = week_of or as_of
    monday = (anchor - timedelta(days=anchor.weekday())).replace(
        hour=0, minute=0, second=0, microsecond=0)
    say(f"weekly development report, week of {monday:%Y-%m-%d}:")
    say(f"  {'person':<16} {'new':>4} {'contacts':>8} {'visits':>6} {'moves':>5} {'wins':>4}")
    rows = weekly_report(prospects, contacts, pipe, week_start=monday)
    for row in rows:
        say(f"  {pad(one_line(row.owner), 16)} {row.new_leads:>4} {row.contacts:>8} "
            f"{row.visits:>6} {row.stage_moves:>5} {row.wins:>4}")
    if not rows:
        say("  (nothing this week)")
    effect = outreach_effect(prospects, contacts, pipe)
    say(f"outreach: win rate contacted {_pct(effect.contacted)}, "
        f"not contacted {_pct(effect.not_contacted)}")
    for kind, rate in effect.by_kind.items():
        say(f"  with a {one_line(kind):<9} {_pct(rate)}")
    for campaign, rate in effect.by_campaign.items():
        say(f"  campaign {one_line(campaign)}: {_pct(rate)}")
