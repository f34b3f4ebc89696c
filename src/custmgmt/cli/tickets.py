"""``custmgmt tickets``: open service tickets with their SLA state, by priority and stars.

Reads the tickets of an SQLite store and prints
:func:`custmgmt.tickets.open_ticket_report` at ``--as-of``: every open ticket's most
pressing SLA clock on the default business calendar (office hours 09:00-12:00 and
13:00-18:00, Monday to Friday, in ``--tz``) with the default targets of
:func:`custmgmt.tickets.default_sla_policy`, grouped by priority and by the customer's
stars (from the latest stored rating run with approved overrides, ``-`` when there is
none); each customer's targets are multiplied by the response-time factor of their
service level (:meth:`custmgmt.rating.ServiceLevels.default`: a 5★ customer's are
halved). Each line shows
``ok`` or ``warning`` with the business time left, ``breached`` with the lateness,
``paused`` while waiting on the customer. Times are business hours and minutes of the
calendar (8 business hours a day), never 24-hour days.
"""

from __future__ import annotations

import argparse
from typing import Any

from custmgmt.cli._inputs import as_of_or_now, open_existing_store, zone
from custmgmt.errors import ValidationError
from custmgmt.rating import current_stars, response_time_factors
from custmgmt.tickets import DEFAULT_TZ, default_calendar, open_ticket_report

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    """Add the ``tickets`` command."""
    parser = subparsers.add_parser(
        "tickets",
        help="list open service tickets with their SLA state, by priority and star level",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    parser.add_argument(
        "--db",
        metavar="PATH|DSN",
        required=True,
        help="the store: an SQLite file or a postgresql://... DSN",
    )
    parser.add_argument(
        "--as-of",
        metavar="DATE",
        help="evaluate at this ISO date (its end) or datetime; naive values are in --tz "
        "(default: now)",
    )
    parser.add_argument(
        "--tz", default=DEFAULT_TZ, help=f"the office's time zone (default: {DEFAULT_TZ})"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """List the open tickets; returns the exit code."""
    as_of = as_of_or_now(args, zone(args.tz))
    store = open_existing_store(args.db)
    try:
        stars = current_stars(store, as_of)
        try:
            report = open_ticket_report(
                store,
                as_of,
                stars=stars,
                factors=response_time_factors(stars),
                calendar=default_calendar(args.tz),
            )
        except ValidationError as exc:
            if exc.field != "as_of":
                raise
            raise ValidationError("--as-of", exc.value, exc.expected) from None
    finally:
        store.close()
    print(report.format())
    return 0
