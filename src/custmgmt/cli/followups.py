"""``custmgmt followups``: the follow-ups due on a day, the overdue ones and care reminders.

Reads an SQLite store or a PostgreSQL one (``--db PATH`` or ``--db postgresql://...``):
lists the follow-ups of active plans due on ``--due`` (default: today in ``--tz``),
whether a contact was recorded for each, then the follow-ups that fell due in the
``--lookback`` days before and have no contact, and with ``--care`` the day's care
reminders (birthdays, holidays given with ``--holiday``, profiles to update). Segment
plans are expanded to the segment's members (a segment is a column of
:func:`custmgmt.campaigns.audience_table`, such as ``lifecycle=new``).
"""

from __future__ import annotations

import argparse
import sys
from datetime import date, datetime, time
from typing import Any, TextIO

from custmgmt._text import one_line
from custmgmt.campaigns import audience_table
from custmgmt.cli._inputs import FIRST_DAY, LAST_DAY, open_existing_store, parse_day, zone
from custmgmt.domain import SystemClock
from custmgmt.errors import ValidationError
from custmgmt.followup import (
    CarePolicy,
    birthday_reminders,
    due_followups,
    holiday_reminders,
    overdue_followups,
    profile_reminders,
)
from custmgmt.followup.plan import PlanStatus

__all__ = ["MAX_LOOKBACK_DAYS", "print_due", "register", "run"]


def register(subparsers: Any) -> None:
    """Add the ``followups`` command."""
    parser = subparsers.add_parser(
        "followups",
        help="list the follow-ups due on a day, the overdue ones and care reminders",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    parser.add_argument("--db", metavar="PATH|DSN", required=True,
                        help="the store: an SQLite file or a postgresql:// DSN")
    parser.add_argument("--due", metavar="DATE", help="the day, ISO (default: today in --tz)")
    parser.add_argument("--tz", default="Asia/Shanghai",
                        help="the business's time zone (default: Asia/Shanghai)")
    parser.add_argument("--lookback", type=int, default=30,
                        help="days searched for overdue follow-ups (default: 30)")
    parser.add_argument("--care", action="store_true", help="also list the day's care reminders")
    parser.add_argument("--holiday", action="append", default=[], metavar="DATE=NAME",
                        help="a holiday for care reminders, e.g. 2026-10-01=国庆节 (repeatable)")
    parser.set_defaults(func=run)


#: The longest --lookback: a century of silence is already every customer.
MAX_LOOKBACK_DAYS = 36_500


def _day(text: str | None, tz: Any) -> date:

    if text is None:
        return SystemClock(tz).now().date()
    return parse_day(text, "--due", "2026-06-30")


def _holidays(items: list[str]) -> dict[date, str]:
    found = {}
    for item in items:
        day, _, name = item.partition("=")
        try:
            found[parse_day(day, "--holiday")] = name.strip() or "holiday"
        except ValidationError:
            expected = f"DATE=NAME like 2026-10-01=国庆节, a day from {FIRST_DAY} to {LAST_DAY}"
            raise ValidationError("--holiday", item, expected) from None
    return found


def print_due(items: list[Any], out: TextIO, *, title: str) -> None:
    """A titled list of due items (``none`` when empty)."""
    print(f"{title}: {len(items):,}", file=out)
    for item in items:
        print(f"  {one_line(item)}", file=out)


def run(args: argparse.Namespace) -> int:
    """List what is due; returns the exit code."""

    # Checked before anything is printed: a look-back past the calendar's start would
    # fail half-way through the listing.
    if not 1 <= args.lookback <= MAX_LOOKBACK_DAYS:
        raise ValidationError(
            "--lookback", args.lookback, f"a number of days from 1 to {MAX_LOOKBACK_DAYS:,}"
        )
    tz = zone(args.tz)
    day = _day(args.due, tz)
    holidays = _holidays(args.holiday)
    end_of_day = datetime.combine(day, time.max, tzinfo=tz)
    out = sys.stdout
    store: Any = open_existing_store(args.db)
    try:
        members = _members(store, end_of_day)
        print_due(due_followups(store, day, timezone=args.tz, members=members), out,
                  title=f"follow-ups due on {day}")
        overdue = overdue_followups(store, as_of=datetime.combine(day, time(0), tzinfo=tz),
                                    lookback_days=args.lookback, members=members)
        print_due(overdue, out, title=f"overdue (last {args.lookback} days, no contact)")
        pending = store.followups.plans(status=PlanStatus.PENDING_APPROVAL)
        for plan in pending:
            print(f"  waiting for approval by {one_line(plan.approver)}: "
                  f"plan {one_line(plan.id)}", file=out)
        if args.care:
            policy = CarePolicy(timezone=args.tz)
            customers = [c for chunk in store.customers.iter_chunks() for c in chunk]
            reminders = (
                birthday_reminders(customers, as_of=end_of_day, policy=policy)
                + holiday_reminders(customers, as_of=end_of_day, holidays=holidays,
                                    policy=policy)
                + profile_reminders(customers, as_of=end_of_day, policy=policy)
            )
            print(f"care reminders on {day}: {len(reminders):,}", file=out)
            for r in reminders[:50]:
                print(f"  {r.kind.value:<15} {one_line(r.customer_id)}: {one_line(r.reason)}",
                      file=out)
            if len(reminders) > 50:
                print(f"  ... and {len(reminders) - 50:,} more", file=out)
    finally:
        store.close()
    return 0


def _members(store: Any, as_of: datetime) -> dict[str, list[str]]:

    segments = {p.segment for p in store.followups.plans(status=PlanStatus.ACTIVE)
                if p.segment is not None}
    if not segments:
        return {}

    table = audience_table(store, as_of=as_of)
    ids = table.customer_ids
    return {s: [str(c) for c in ids[table[s] > 0]] if s in table else [] for s in segments}
