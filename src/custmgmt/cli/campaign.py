"""``custmgmt campaign``: plan a campaign, preview its audience, run it, report its uplift.

Works on an SQLite store or a PostgreSQL one (``--db PATH`` or
``--db postgresql://...``). ``plan`` stores a campaign (an amount coupon,
a percent coupon or points; audience as a rule in JSON over the columns of
:func:`custmgmt.campaigns.audience_table`, or ``--min-stars``); ``preview`` shows,
for every reason, how many candidates would be sent to, held back or dropped;
``run`` decides for every candidate, stores the decisions and hands the messages to
an in-memory notifier (nothing is sent: a host sends through its own notifier);
``report`` measures the campaign against its holdout with intervals and p-values,
overall and per star level and segment at the time of the run; ``list`` lists the
stored campaigns.
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol, TextIO

from custmgmt._text import one_line
from custmgmt.campaigns import (
    MAX_DAYS,
    Campaign,
    FrequencyCap,
    MemoryNotifier,
    Offer,
    QuietHours,
    audience_table,
    campaign_report,
    create_campaign,
    preview_audience,
    run_campaign,
)
from custmgmt.campaigns.ports import CampaignStore
from custmgmt.cli._inputs import as_of_or_now, open_existing_store, parse_as_of, zone
from custmgmt.domain import Money, SystemClock
from custmgmt.errors import ValidationError
from custmgmt.rating import current_stars
from custmgmt.rating.ports import RatingStore
from custmgmt.segmentation import feature, rule_from_json

__all__ = [
    "CampaignReportStore",
    "build_campaign",
    "print_campaigns",
    "register",
    "run",
    "star_groups_at_run",
]

class CampaignReportStore(CampaignStore, RatingStore, Protocol):
    """What a campaign's report reads: the campaign, its decisions and the stars."""


_TEMPLATE = "{name}您好，{campaign}送您{offer}，{valid_until}前有效"


def register(subparsers: Any) -> None:
    """Add the ``campaign`` command."""
    parser = subparsers.add_parser(
        "campaign",
        help="plan a campaign, preview its audience with the reasons, run it with a holdout "
        "and report its uplift",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    parser.add_argument("--db", metavar="PATH|DSN", required=True,
                        help="the store: an SQLite file or a postgresql:// DSN")
    parser.add_argument("--tz", default="Asia/Shanghai",
                        help="the business's time zone (default: Asia/Shanghai)")
    actions = parser.add_subparsers(title="actions", dest="action", metavar="ACTION",
                                    required=True)
    actions.add_parser("list", help="list the stored campaigns")
    plan = actions.add_parser("plan", help="store a new campaign")
    plan.add_argument("id", help="the campaign id")
    plan.add_argument("--name", required=True, help="the campaign's name")
    plan.add_argument("--channel", default="sms", choices=["email", "sms", "social"])
    who = plan.add_mutually_exclusive_group()
    who.add_argument("--audience", metavar="RULE_JSON",
                     help='a segmentation rule as JSON, e.g. {"type": "compare", '
                     '"feature": "stars", "op": ">=", "value": 4}')
    who.add_argument("--min-stars", type=int,
                     help="shortcut: customers with at least these stars")
    offer = plan.add_mutually_exclusive_group(required=True)
    offer.add_argument("--coupon", metavar="AMOUNT", help="an amount-off coupon, in CNY")
    offer.add_argument("--percent", metavar="P", help="a percent-off coupon")
    offer.add_argument("--points", type=int, help="points given")
    plan.add_argument("--offer-name", help="how the offer is named in messages")
    plan.add_argument("--cost", metavar="AMOUNT", default=None,
                      help="what one offer costs the business, CNY (default: the coupon amount, "
                      "else 0)")
    plan.add_argument("--valid-days", type=int, default=30, help="offer validity (default: 30)")
    plan.add_argument("--holdout", type=float, default=0.1, help="holdout share 0-0.5 (0.1)")
    plan.add_argument("--template", default=_TEMPLATE,
                      help="the message, with {name} {offer} {valid_until} {campaign} ...")
    plan.add_argument("--starts", metavar="DATE", help="start, ISO (default: now)")
    plan.add_argument("--days", type=int, default=7, help="how long it runs (default: 7)")
    plan.add_argument("--attribution-days", type=int, default=14,
                      help="orders this long after the message count (default: 14)")
    plan.add_argument("--cap", metavar="N/DAYS", default="3/7",
                      help="at most N messages per customer per DAYS days across campaigns "
                      "(default: 3/7; 'none' for no cap)")
    plan.add_argument("--quiet", metavar="HH:MM-HH:MM", default="21:00-09:00",
                      help="quiet hours, local (default: 21:00-09:00; 'none')")
    for name, text in (("preview", "who the campaign would reach now, and why not the others"),
                       ("run", "run the campaign against an in-memory notifier"),
                       ("report", "the campaign's uplift against its holdout")):
        sub = actions.add_parser(name, help=text)
        sub.add_argument("id", help="the campaign id")
        sub.add_argument("--as-of", metavar="DATE",
                         help="ISO date (its end) or datetime; naive values are in --tz "
                         "(default: now)")
        if name == "report":
            sub.add_argument("--replicates", type=int, default=2000,
                             help="bootstrap replicates, 100 to 1,000,000 (default: 2000)")
            sub.add_argument("--seed", type=int, default=0, help="bootstrap seed (default: 0)")
            sub.add_argument("--by-segment", metavar="SCHEME", default="value tiers",
                             help="also break the uplift down by this segmentation scheme's "
                             "segments at the time of the run (default: 'value tiers'; "
                             "'none' for no breakdown)")
    parser.set_defaults(func=run)


def _decimal(option: str, text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValidationError(option, text, "a decimal number") from None
    if not value.is_finite():
        raise ValidationError(option, text, "a finite number")
    return value


def _days(option: str, days: int) -> int:
    if not 1 <= days <= MAX_DAYS:
        raise ValidationError(option, days, f"a number of days from 1 to {MAX_DAYS:,}")
    return days


def _cap(text: str) -> Any:

    if text.lower() == "none":
        return None
    match = re.fullmatch(r"(\d+)/(\d+)", text)
    if not match:
        raise ValidationError("--cap", text, "N/DAYS like 3/7, or none")
    return FrequencyCap(messages=int(match[1]), window_days=int(match[2]))


def _quiet(text: str) -> Any:

    if text.lower() == "none":
        return None
    match = re.fullmatch(r"(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})", text)
    try:
        if not match:
            raise ValueError(text)
        return QuietHours(start=time(int(match[1]), int(match[2])),
                          end=time(int(match[3]), int(match[4])))
    except ValueError:
        raise ValidationError("--quiet", text, "HH:MM-HH:MM like 21:00-09:00, or none") from None


def build_campaign(args: argparse.Namespace, now: datetime) -> Any:
    """The campaign the ``plan`` arguments describe.

    Raises:
        ValidationError: a bad option value, named after the option.
    """

    starts = parse_as_of(args.starts, zone(args.tz), option="--starts") if args.starts else now
    if args.starts and len(args.starts) == 10:
        starts = starts.replace(hour=0, minute=0, second=0, microsecond=0)
    if args.audience:
        audience = rule_from_json(args.audience)
    else:
        audience = feature("stars") >= (args.min_stars if args.min_stars is not None else 1)
    until = starts + timedelta(days=_days("--valid-days", args.valid_days))
    cost = Money(_decimal("--cost", args.cost), "CNY") if args.cost is not None else None
    if args.coupon is not None:
        value = _decimal("--coupon", args.coupon)
        if value <= 0:  # else the cost, defaulting to it, would be named instead
            raise ValidationError("--coupon", args.coupon, "a positive amount in CNY")
        amount = Money(value, "CNY")
        offer = Offer(kind="amount_coupon", amount=amount, valid_from=starts, valid_until=until,
                      unit_cost=cost or amount, description=args.offer_name or f"{amount}优惠券")
    elif args.percent is not None:
        pct = _decimal("--percent", args.percent)
        offer = Offer(kind="percent_coupon", percent=pct, valid_from=starts, valid_until=until,
                      unit_cost=cost or Money(Decimal(0), "CNY"),
                      description=args.offer_name or f"{pct}%折扣券")
    else:
        offer = Offer(kind="points", points=args.points, valid_from=starts, valid_until=until,
                      unit_cost=cost or Money(Decimal(0), "CNY"),
                      description=args.offer_name or f"{args.points}积分")
    return Campaign(
        id=args.id, name=args.name, channel=args.channel, audience=audience, offers=(offer,),
        template=args.template, starts_at=starts,
        ends_at=starts + timedelta(days=_days("--days", args.days)),
        created_at=now, attribution_days=args.attribution_days, holdout_share=args.holdout,
        frequency_cap=_cap(args.cap), quiet_hours=_quiet(args.quiet), timezone=args.tz,
        created_by="custmgmt campaign",
    )


def print_campaigns(campaigns: list[Any], out: TextIO) -> None:
    """One line per campaign."""
    if not campaigns:
        print("no campaigns stored", file=out)
    for c in campaigns:
        state = f"ran {c.ran_at:%Y-%m-%d %H:%M}" if c.ran_at else "planned"
        print(f"{one_line(c.id)}  {one_line(c.name)}  [{c.channel.value}] "
              f"{c.starts_at:%Y-%m-%d}..{c.ends_at:%Y-%m-%d}  holdout {c.holdout_share:.0%}  "
              f"{state}", file=out)


def run(args: argparse.Namespace) -> int:
    """Run one action; returns the exit code."""

    out = sys.stdout

    tz = zone(args.tz)
    now = as_of_or_now(args, tz) if hasattr(args, "as_of") else SystemClock(tz).now()
    writable = args.action in ("plan", "run")
    store: Any = open_existing_store(args.db, writable=writable)
    try:
        _act(args, store, now, out)
    except ValidationError as exc:
        raise _as_option(exc, args, now) from None
    finally:
        store.close()
    return 0


#: The library's names of what the options set (field: option, its ``args`` attribute),
#: so that an error names the option and shows what was typed, not the object it became.
_OPTIONS = {
    "Campaign.id": ("ID", "id"),
    "Campaign.name": ("--name", "name"),
    "Campaign.template": ("--template", "template"),
    "Campaign.attribution_days": ("--attribution-days", "attribution_days"),
    "Campaign.holdout_share": ("--holdout", "holdout"),
    "Offer.percent": ("--percent", "percent"),
    "Offer.points": ("--points", "points"),
    "Offer.unit_cost": ("--cost", "cost"),
    "Offer.description": ("--offer-name", "offer_name"),
    "FrequencyCap.messages": ("--cap", "cap"),
    "FrequencyCap.window_days": ("--cap", "cap"),
    "replicates": ("--replicates", "replicates"),
    "seed": ("--seed", "seed"),
}


def _as_option(exc: ValidationError, args: argparse.Namespace, now: datetime) -> ValidationError:
    """``exc`` naming the command's option: the library named its own fields and
    parameters (``Campaign.holdout_share: got 0.9``, ``as_of: got datetime.datetime(2026,
    5, 1, ... ZoneInfo(ke...``)."""
    if exc.field in ("at", "as_of"):  # an ISO moment, not a repr cut off mid-zone
        return ValidationError("--as-of", now.isoformat(), exc.expected)
    if exc.field == "rule" or exc.field.startswith("rule."):
        if getattr(args, "audience", None) is None:
            return exc
        where = "" if exc.field == "rule" else f"{exc.field} "
        return ValidationError("--audience", args.audience, f"{where}{exc.expected}")
    found = _OPTIONS.get(exc.field)
    if found is None or not hasattr(args, found[1]):
        return exc
    option, attr = found
    typed = getattr(args, attr)
    return ValidationError(option, exc.value if typed is None else typed, exc.expected)


def _act(args: argparse.Namespace, store: Any, now: datetime, out: TextIO) -> None:
    """Run ``args.action`` on the opened store."""
    if args.action == "list":
        print_campaigns(store.campaigns.list_campaigns(), out)
    elif args.action == "plan":
        campaign = create_campaign(store, build_campaign(args, now))
        print_campaigns([campaign], out)
    elif args.action in ("preview", "run"):
        table = audience_table(store, as_of=now)
        if args.action == "preview":
            for line in preview_audience(store, args.id, table, at=now).lines():
                print(one_line(line), file=out)
        else:
            notifier = MemoryNotifier()
            result = run_campaign(store, args.id, table, notifier, at=now)
            n = sum(result.counts.values())
            for reason, count in result.counts.items():
                print(f"  {one_line(reason.value):<14} {count:>7,} of {n:,}", file=out)
            print(f"{result.messages:,} messages handed to the in-memory notifier "
                  "(nothing was sent)", file=out)
            print(str(result.ratio), file=out)
    else:
        groups = star_groups_at_run(store, args.id, now)
        if args.by_segment.lower() != "none":
            groups.update(_segment_groups(store, args.id, args.by_segment))
        report = campaign_report(store, args.id, as_of=now, groups=groups,
                                 replicates=args.replicates, seed=args.seed)
        for line in report.lines():  # each line one line, whatever the ids hold
            print(one_line(line), file=out)


def star_groups_at_run(
    store: CampaignReportStore, campaign_id: str, now: datetime
) -> dict[str, dict[str, str]]:
    """``{"stars": {customer id: stars}}``: every customer's stars when the campaign
    ran (at ``now`` if it has not run), for :func:`custmgmt.campaigns.campaign_report`'s
    ``groups``; empty when no stars applied then.

    Stars when the campaign ran, as the segments are: stars rated after it depend on
    what the campaign made customers buy (a treated buyer moved up a level), and
    grouping by them compared unlike customers. ``campaign report`` and the demo both
    group by these.

    Raises:
        NotFound: no such campaign.
    """
    ran_at = store.campaigns.get_campaign(campaign_id).ran_at
    stars = current_stars(store, ran_at if ran_at is not None else now)
    return {"stars": {cid: str(s) for cid, s in stars.items()}} if stars else {}


def _segment_groups(store: Any, campaign_id: str, scheme: str) -> dict[str, dict[str, str]]:

    campaign = store.campaigns.get_campaign(campaign_id)
    if campaign.ran_at is None:
        return {}
    table = audience_table(store, as_of=campaign.ran_at)
    prefix = f"{scheme}="
    columns = [name for name in table.names if name.startswith(prefix)]
    if not columns:
        known = sorted({n.split("=", 1)[0] for n in table.names if "=" in n})
        raise ValidationError("--by-segment", scheme, f"one of {', '.join(known)} or none")
    labels: dict[str, str] = {}
    ids = [str(c) for c in table.customer_ids.tolist()]
    for name in columns:
        for cid, member in zip(ids, table[name].tolist(), strict=True):
            if member:
                labels[cid] = name[len(prefix):]
    return {scheme: labels}
