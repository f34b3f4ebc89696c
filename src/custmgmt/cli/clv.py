"""``custmgmt clv``: customer-lifetime models fitted to a CSV of orders or a store.

Reads orders like ``custmgmt rate`` (same CSV columns and options, or ``--db``) and
runs :func:`custmgmt.analytics.clv.analyse_clv`: orders count as everywhere (cancelled
ones do not; returned ones do, spend net of refunds), purchases merge per ``--period``
and times are measured in ``--unit``; BG/NBD, Pareto/NBD and Gamma-Gamma (or those
``--models`` names) are fitted and each one's figures are printed as soon as it is
done, with what the data cannot identify right below them. With
``--calibration-end`` the models are fitted on the orders up to that date and their
forecasts compared with the purchases made after it. Finally it lists the customers
with the highest predicted lifetime value. Needs scipy (``pip install
'custmgmt[scipy]'``).
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from typing import Any, TextIO

from custmgmt.analytics.clv import MAX_MONTHS, MODELS, FitProgress, analyse_clv
from custmgmt.cli._cluster import add_cluster_arguments, clv_on_cluster, on_cluster
from custmgmt.cli._inputs import (
    add_order_source_arguments,
    check_top,
    frames_from_store,
    is_parquet,
    orders_from_csv,
    parse_as_of,
    zone,
)
from custmgmt.errors import ValidationError

__all__ = ["ProgressPrinter", "csv_row_lines", "register", "run"]

_UNITS = {"day": "D", "week": "W", "month": "M"}


def register(subparsers: Any) -> None:
    """Add the ``clv`` command."""
    parser = subparsers.add_parser(
        "clv",
        help="fit customer-lifetime models (BG/NBD, Pareto/NBD, Gamma-Gamma) to a CSV of "
        "orders (or a store with --db)",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    parser.add_argument(
        "--calibration-end",
        metavar="DATE",
        help="fit on the orders up to this ISO date (its end) and compare the forecast "
        "with the purchases after it",
    )
    add_order_source_arguments(
        parser,
        as_of_help="the end of observation, ISO date (its end) or datetime; naive values are "
        "in --tz (default: the last order in the file; with --db: now)",
    )
    parser.add_argument(
        "--unit",
        default="day",
        choices=list(_UNITS),
        help="the models' time unit, of recency, ages and alpha/beta (default: day)",
    )
    parser.add_argument(
        "--period",
        default="day",
        choices=list(_UNITS),
        help="purchases of a customer within one period merge into one (default: day; "
        "'--period day --unit week' is the literature's usual setting)",
    )
    parser.add_argument(
        "--models",
        default="bg,pnbd,gg",
        metavar="LIST",
        help="which models to fit, comma-separated from bg (BG/NBD), pnbd (Pareto/NBD), "
        "gg (Gamma-Gamma) (default: bg,pnbd,gg)",
    )
    parser.add_argument(
        "--months",
        type=int,
        default=12,
        help=f"lifetime-value horizon in months, 1 to {MAX_MONTHS} (default: 12)",
    )
    parser.add_argument(
        "--discount-rate",
        type=float,
        default=0.01,
        help="monthly discount rate of the lifetime value (default: 0.01)",
    )
    parser.add_argument(
        "--time-limit",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="give up a model's fit after this long, reporting the best point reached "
        "(default: 60)",
    )
    parser.add_argument(
        "--top", type=int, default=10, help="how many top customers to list (default: 10)"
    )
    add_cluster_arguments(parser)
    parser.set_defaults(func=run)


class ProgressPrinter:
    """Prints :func:`analyse_clv`'s stages as they come.

    The summary and every model's lines go to ``out`` at once (flushed); progress
    reports of a fit that has run for more than ``after`` seconds update one line on
    ``err``, and only when ``err`` is a terminal.
    """

    def __init__(self, out: TextIO, err: TextIO, *, after: float = 1.0) -> None:
        self.out = out
        self.err = err
        self.after = after
        self.live = _is_terminal(err)
        self._shown = 0

    def __call__(self, event: Any) -> None:
        """Handle one event (a ``SummaryReady``, ``FitProgress`` or ``ModelFit``)."""
        if isinstance(event, FitProgress):
            if self.live and event.elapsed >= self.after:
                text = str(event)
                self.err.write("\r" + text.ljust(self._shown))
                self.err.flush()
                self._shown = len(text)
            return
        self._clear()
        self.out.write(str(event))
        self.out.flush()

    def _clear(self) -> None:
        if self._shown:
            self.err.write("\r" + " " * self._shown + "\r")
            self.err.flush()
            self._shown = 0


def _is_terminal(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def csv_row_lines(path: str, encoding: str = "utf-8") -> list[int]:
    """The physical line of each data row of an orders CSV, in the order
    :meth:`OrderFrame.from_csv` reads them (the header is line 1; blank rows are
    skipped as the reader skips them)."""
    lines = []
    with open(path, encoding=encoding, newline="") as stream:
        reader = csv.reader(stream)
        next(reader, None)
        for row in reader:
            if not row or all(not cell.strip() for cell in row):
                continue
            lines.append(reader.line_num)
    return lines


def run(args: argparse.Namespace) -> int:
    """Fit, print; returns the exit code."""
    tz = zone(args.tz)
    check_top(args)
    if args.months < 1:
        raise ValidationError("--months", args.months, "a positive number of months")
    if args.months > MAX_MONTHS:
        raise ValidationError("--months", args.months, f"at most {MAX_MONTHS} months")
    if not 0 <= args.discount_rate < math.inf:  # NaN fails too; checked before reading
        raise ValidationError("--discount-rate", args.discount_rate, "a finite rate >= 0")
    if not args.time_limit > 0:
        raise ValidationError("--time-limit", args.time_limit, "a positive number of seconds")
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    if not models or any(m not in MODELS for m in models):
        raise ValidationError("--models", args.models, f"a list from {', '.join(MODELS)}")
    if args.unit == "month" and args.period != "month":
        raise ValidationError(
            "--period", args.period, "month with --unit month (months differ in length)"
        )
    lines = None
    if on_cluster(args):
        report = clv_on_cluster(
            args,
            tz,
            unit=_UNITS[args.unit],
            period=_UNITS[args.period],
            models=models,
            progress=ProgressPrinter(sys.stdout, sys.stderr),
        )
        sys.stdout.write(report.render_details(top=args.top, lines=None))
        return 0
    if args.db is not None:
        frame, _, as_of = frames_from_store(args, tz, interactions=False)
    else:
        frame, as_of = orders_from_csv(args, tz)
    calibration_end = None
    if args.calibration_end is not None:
        calibration_end = parse_as_of(args.calibration_end, tz, option="--calibration-end")
    printer = ProgressPrinter(sys.stdout, sys.stderr)
    report = analyse_clv(
        frame,
        as_of=as_of,
        calibration_end=calibration_end,
        unit=_UNITS[args.unit],
        period=_UNITS[args.period],
        models=models,
        months=args.months,
        discount_rate=args.discount_rate,
        time_limit=args.time_limit,
        progress=printer,
    )
    if args.db is None and report.spend_exclusions and not is_parquet(args.orders):
        lines = csv_row_lines(args.orders)
    sys.stdout.write(report.render_details(top=args.top, lines=lines))
    return 0
