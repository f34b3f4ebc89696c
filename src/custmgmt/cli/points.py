"""``custmgmt points``: a customer's points statement, with lots, expiries and tier.

Reads the points ledger of a store (SQLite or PostgreSQL) and prints, at ``--as-of``,
the balance, the points still locked in return windows or on hold, any clawback debt,
the tier with the points needed to keep or reach one, each lot (awarded, left, expiry,
state) and the ledger entries, under the default programme
(:data:`custmgmt.loyalty.DEFAULT_PROGRAM`). The store is opened read-only.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import Any, TextIO

from custmgmt._text import one_line
from custmgmt.cli._inputs import as_of_or_now, open_existing_store, zone
from custmgmt.errors import ValidationError
from custmgmt.loyalty import statement
from custmgmt.loyalty.ports import LoyaltyStore

__all__ = ["print_statement", "register", "run"]


def register(subparsers: Any) -> None:
    """Add the ``points`` command."""
    parser = subparsers.add_parser(
        "points",
        help="a customer's points statement: balance, lots and expiries, tier, ledger",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    parser.add_argument("customer", metavar="CUSTOMER", help="the customer id")
    parser.add_argument("--db", metavar="PATH|DSN", required=True,
                        help="the store: an SQLite file or a postgresql:// DSN")
    parser.add_argument(
        "--as-of", metavar="DATE",
        help="the statement's moment: ISO date (its end) or datetime, naive in --tz "
        "(default: now)",
    )
    parser.add_argument("--tz", default="Asia/Shanghai", help="time zone (default: Asia/Shanghai)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the statement; returns the exit code."""


    tz = zone(args.tz)
    as_of = as_of_or_now(args, tz)
    store = open_existing_store(args.db)
    try:
        if not isinstance(store, LoyaltyStore):  # every bundled store keeps a ledger
            raise ValidationError("--db", args.db, "a store that keeps loyalty points")
        print_statement(statement(store, args.customer, as_of=as_of), sys.stdout, tz=tz)
    finally:
        store.close()
    return 0


def _day(t: datetime) -> str:
    """``YYYY-MM-DD``, the year padded (``%Y`` printed year 1 as ``1-01-01``)."""
    return t.date().isoformat()


def _minute(t: datetime) -> str:
    """``YYYY-MM-DD HH:MM``, the year padded."""
    return f"{t.date().isoformat()} {t:%H:%M}"


def _state(lot: Any, at: datetime) -> str:
    if lot.expired(at):
        return "expired"
    if lot.held:
        return "on hold"
    if lot.locked_until is not None and at < lot.locked_until:
        return f"locked to {_day(lot.locked_until)}"
    return "used up" if lot.remaining == 0 else "available"


def print_statement(st: Any, out: TextIO, *, tz: Any = None) -> None:
    """Print a :class:`~custmgmt.loyalty.Statement` (times shown in ``tz``)."""

    def local(t: datetime) -> datetime:
        # A lot expiring at 9999-12-31 20:00 UTC is in year 10000 in Asia/Shanghai (a
        # registration at 0001-01-01 UTC in year 0 west of it): astimezone raised a bare
        # OverflowError half way through the statement. Such a moment is shown as stored.
        try:
            return t.astimezone(tz) if tz is not None else t
        except OverflowError:
            return t

    print(f"points statement of {one_line(st.customer_id)} at "
          f"{_minute(local(st.as_of))}", file=out)
    print(f"  balance {st.balance:,}   locked {st.locked:,}   debt {st.debt:,}", file=out)
    if st.tier is not None:
        t = st.tier
        parts = [f"  tier {one_line(t.tier.name)} since {_day(local(t.since))}",
                 f"points earned in window {t.qualifying:,}"]
        if t.next_tier is not None:
            parts.append(f"{t.points_to_next:,} more for {one_line(t.next_tier)}")
        if t.expires_at is not None:
            parts.append(f"{t.points_to_keep:,} to keep it past {_day(local(t.expires_at))}")
        benefits = [name for name, on in (("free shipping", t.tier.free_shipping),
                                          ("priority service", t.tier.priority_service)) if on]
        parts.append(f"x{t.tier.multiplier.normalize()} points" + (
            f", {', '.join(benefits)}" if benefits else ""))
        print(", ".join(parts), file=out)
    for when, points in st.expiring:
        print(f"  {points:,} points expire on {_day(local(when))}", file=out)
    print("  lots:", file=out)
    if not st.lots:
        print("    (none)", file=out)
    for lot in st.lots:
        source = one_line(lot.order_id or lot.rule or lot.kind.value)
        print(
            f"    {one_line(lot.id):<16} {_day(local(lot.earned_at))} {source:<14} "
            f"{lot.points:>7,} left {lot.remaining:>7,}  expires {_day(local(lot.expires_at))}  "
            f"{_state(lot, st.as_of)}",
            file=out,
        )
    print("  ledger:", file=out)
    if not st.entries:
        print("    (no entries)", file=out)
    for e in st.entries:
        extra = ""
        if e.draws:
            extra = " from " + ", ".join(f"{one_line(d.lot)} ({d.points:,})"
                                         for d in e.draws)
        if e.debt > 0:
            extra += f"; debt {e.debt:,}"
        elif e.debt < 0:
            extra += f"; settles debt {-e.debt:,}"
        if e.written_off:
            extra += f"; written off {e.written_off:,}"
        if e.lot:
            extra += f" lot {one_line(e.lot)}"
        print(
            f"    #{e.seq:<3} {_minute(local(e.at))} {e.kind.value:<7} {e.points:>+8,}  "
            f"{one_line(e.reason)}{extra}",
            file=out,
        )
