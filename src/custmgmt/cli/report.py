"""``custmgmt report``: the KPI report of a store or an orders CSV, as text, HTML and JSON.

Compares a current period with a baseline period against the mission's targets
(satisfaction 90%, sales +10%, returns -10%, high-value customers +20%, repurchase
+15%; ``--targets FILE`` gives others as JSON) and prints the text report. ``--html``
writes one self-contained HTML file with inline SVG charts (no script, nothing
fetched); ``--json`` the report's data, versioned. Without dates the current period is
the three months up to ``--as-of`` and the baseline the three months before it. From a
CSV only the KPIs of orders are measurable; the rest say why not.
"""

from __future__ import annotations

import argparse
import json
import os
import stat
import sys
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

from custmgmt._text import one_line
from custmgmt.analytics.frames import OrderFrame
from custmgmt.cli import _inputs
from custmgmt.errors import ValidationError
from custmgmt.kpi import DEFAULT_TARGETS, KpiInputs, KpiReport, Period, Target
from custmgmt.tickets import default_calendar, default_sla_policy

__all__ = ["default_periods", "register", "run", "write_text_atomically"]


def register(subparsers: Any) -> None:
    """Add the ``report`` command."""
    parser = subparsers.add_parser(
        "report",
        help="KPIs of a period against a baseline and targets, as text, HTML and JSON",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    _inputs.add_order_source_arguments(
        parser, as_of_help="read the data up to this ISO date (its end) or datetime "
        "(default: now for --db, the last order for a CSV)")
    for option, what in (("--from", "first day of the current period"),
                         ("--to", "last day of the current period (inclusive)"),
                         ("--baseline-from", "first day of the baseline period"),
                         ("--baseline-to", "last day of the baseline period (inclusive)")):
        parser.add_argument(option, metavar="DATE", help=what)
    parser.add_argument("--html", metavar="FILE", help="write the HTML report here")
    parser.add_argument("--json", metavar="FILE", help="write the report's data as JSON here")
    parser.add_argument("--targets", metavar="FILE",
                        help='targets as JSON: [{"kpi": "net_sales", "kind": "change", '
                        '"value": 0.1}, ...]')
    parser.add_argument("--summary", action="store_true",
                        help="print the plan summary with the figures filled in as well")
    parser.set_defaults(func=run)


def _day(text: str, option: str) -> date:
    return _inputs.parse_day(text, option)


def _period(start: str, end: str, tz: ZoneInfo, names: tuple[str, str]) -> Any:

    first, last = _day(start, names[0]), _day(end, names[1])
    if last < first:
        raise ValidationError(names[1], end, f"a date not before {names[0]} {start}")
    return Period(datetime.combine(first, time(), tzinfo=tz),
                  datetime.combine(last + timedelta(days=1), time(), tzinfo=tz))


def default_periods(as_of: datetime) -> tuple[Any, Any]:
    """``(baseline, current)``: the three months up to ``as_of`` and the three before."""

    end = as_of + timedelta(microseconds=1)
    middle = end - relativedelta(months=3)
    return Period(middle - relativedelta(months=3), middle), Period(middle, end)


def _periods(args: argparse.Namespace, tz: ZoneInfo, as_of: datetime) -> tuple[Any, Any]:
    baseline, current = default_periods(as_of)
    given = [args.__dict__[k] is not None for k in ("from", "to")]
    if any(given):
        if not all(given):
            raise ValidationError("--from/--to", None, "both --from and --to")
        current = _period(args.__dict__["from"], args.to, tz, ("--from", "--to"))
    b_given = [args.baseline_from is not None, args.baseline_to is not None]
    if any(b_given):
        if not all(b_given):
            raise ValidationError("--baseline-from/--baseline-to", None,
                                  "both --baseline-from and --baseline-to")
        baseline = _period(args.baseline_from, args.baseline_to, tz,
                           ("--baseline-from", "--baseline-to"))
    elif any(given):
        baseline = _baseline_before(current, args.__dict__["from"])
    # Nothing after --as-of is read: a period starting later could only come out empty,
    # every figure "not measurable", which reads like a report of a dead business.
    for option, period in (("--from", current), ("--baseline-from", baseline)):
        if period.start > as_of:
            raise ValidationError(option, period.start.date().isoformat(),
                                  f"a day on or before --as-of {as_of.date().isoformat()} "
                                  "(no data after it is read)")
    if baseline.overlaps(current):
        raise ValidationError("--baseline-from", baseline.label(),
                              f"a baseline that does not overlap the current {current.label()}")
    return baseline, current


def _baseline_before(current: Any, start: str) -> Any:
    """The period of the same length just before ``current``: the default baseline."""
    length = current.end - current.start
    try:
        first = current.start - length
    except OverflowError:
        first = None
    if first is None or first.date() < _inputs.FIRST_DAY:
        raise ValidationError(
            "--from", start,
            f"a current period whose baseline of the same length, just before it, starts "
            f"on or after {_inputs.FIRST_DAY} (or give --baseline-from and --baseline-to)",
        )
    return Period(first, current.start)


def _targets(path: str | None) -> Any:

    if path is None:
        return DEFAULT_TARGETS
    try:
        # utf-8-sig: Windows editors (Notepad) start UTF-8 files with a byte-order mark.
        data = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except (OSError, ValueError) as exc:
        raise ValidationError("--targets", path, f"a readable JSON file ({exc})") from None
    if not isinstance(data, list):
        raise ValidationError("--targets", path, "a JSON list of targets")
    return tuple(Target.from_dict(item) for item in data)


def write_text_atomically(path: str | Path, text: str, *, option: str = "--out") -> None:
    """Write ``text`` (UTF-8) to ``path`` by the ``--out`` rules
    (:func:`custmgmt.cli._inputs.write_output`): a regular file replaced atomically, a
    link followed, a device or FIFO written through, never destroyed."""
    _inputs.write_output(path, lambda stream: stream.write(text), option=option)


def _same_file(a: str, b: str) -> bool:
    """Whether two outputs would land in one regular file (written or yet to be);
    a FIFO, a device such as ``/dev/stdout`` or ``-`` (standard output) can take both."""
    if "-" in (a, b):
        return False
    if os.path.realpath(a) == os.path.realpath(b):
        try:
            return stat.S_ISREG(os.stat(a).st_mode)
        except OSError:
            return True
    try:
        first, second = os.stat(a), os.stat(b)
    except OSError:
        return False
    return os.path.samestat(first, second) and stat.S_ISREG(first.st_mode)


def run(args: argparse.Namespace) -> int:
    """Build and print the report; returns the exit code."""

    tz = _inputs.zone(args.tz)
    # The targets file is read too; and --json over --html would leave one of the two.
    sources = _inputs.inputs_of(args)
    if args.targets:
        sources.append(("--targets", args.targets))
    _inputs.check_output(args.html, sources, option="--html")
    _inputs.check_output(args.json, sources, option="--json")
    if args.html and args.json and _same_file(args.html, args.json):
        raise ValidationError("--json", args.json, f"a file other than --html {args.html!r}")
    if args.html == "-" and args.json == "-":
        raise ValidationError("--json", args.json, "a file (--html - writes to standard output)")
    targets = _targets(args.targets)
    if args.db is not None:
        if args.orders is not None:
            raise ValidationError("ORDERS.csv", args.orders, "no CSV file together with --db")

        as_of = _inputs.as_of_or_now(args, tz)
        baseline, current = _periods(args, tz, as_of)
        store = _inputs.open_existing_store(args.db)
        try:
            inputs = KpiInputs.from_store(store, currency=args.currency, as_of=as_of,
                                          sla_policy=default_sla_policy(),
                                          calendar=default_calendar(args.tz))
        finally:
            store.close()
    else:
        frame, as_of = _inputs.orders_from_csv(args, tz)
        assert isinstance(frame, OrderFrame)
        baseline, current = _periods(args, tz, as_of)
        inputs = KpiInputs(orders=frame)
    report = KpiReport.build(inputs, baseline=baseline, current=current, as_of=as_of,
                             targets=targets)
    # With --json - or --html -, standard output carries that document alone (`| jq`):
    # the text report and the lines saying what was written go to standard error.
    text = sys.stderr if "-" in (args.html, args.json) else sys.stdout
    text.write(report.to_text())
    if args.summary:
        text.write("\n" + report.summary())
    if args.html:
        write_text_atomically(args.html, report.to_html(), option="--html")
        if args.html != "-":
            print(f"HTML report written to {one_line(args.html)}", file=text)
    if args.json:
        write_text_atomically(args.json, report.to_json() + "\n", option="--json")
        if args.json != "-":
            print(f"JSON written to {one_line(args.json)}", file=text)
    return 0
