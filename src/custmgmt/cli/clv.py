"""``custmgmt clv``: customer-lifetime models fitted to a CSV of orders or a store.

Reads orders like ``custmgmt rate`` (same CSV columns and options, or ``--db``),
summarises them per customer (purchases on the same day, or week with ``--unit week``,
merge; cancelled and fully returned orders do not count; spend is net of refunds),
fits BG/NBD, Pareto/NBD and Gamma-Gamma, and prints their parameters and
log-likelihoods. With ``--calibration-end`` the models are fitted on the orders up to
that date and their forecasts are compared with the purchases actually made after it.
Finally it lists the customers with the highest predicted lifetime value. Needs scipy
(``pip install 'custmgmt[scipy]'``).
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import Any, TextIO

import attrs
import numpy as np

from custmgmt.cli._inputs import (
    add_order_source_arguments,
    check_top,
    frames_from_store,
    orders_from_csv,
    parse_as_of,
    zone,
)
from custmgmt.errors import ValidationError

__all__ = ["ClvRun", "analyse_clv", "print_clv", "register", "run"]


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
        choices=["day", "week", "month"],
        help="the time unit; purchases in one unit merge (default: day)",
    )
    parser.add_argument(
        "--months", type=int, default=12, help="lifetime-value horizon in months (default: 12)"
    )
    parser.add_argument(
        "--discount-rate",
        type=float,
        default=0.01,
        help="monthly discount rate of the lifetime value (default: 0.01)",
    )
    parser.add_argument(
        "--top", type=int, default=10, help="how many top customers to list (default: 10)"
    )
    parser.set_defaults(func=run)


@attrs.frozen(kw_only=True, eq=False)
class ClvRun:
    """What :func:`analyse_clv` computes.

    Attributes:
        as_of: the end of observation.
        calibration_end: the end of calibration, or None.
        unit: ``"D"``, ``"W"`` or ``"M"``.
        summary: the per-customer :class:`~custmgmt.analytics.clv.TransactionSummary`
            (of the calibration period when split).
        customer_ids: the original id of each summary row.
        models: fitted models by name ("BG/NBD", "Pareto/NBD", "Gamma-Gamma").
        failures: the reason per model that could not be fitted.
        clv: 12-month (``--months``) lifetime value per summary row in major currency
            units (BG/NBD purchases times Gamma-Gamma spend), or None.
        currency: the currency of the values.
    """

    as_of: datetime
    calibration_end: datetime | None
    unit: str
    summary: Any
    customer_ids: Any
    models: dict[str, Any]
    failures: dict[str, str]
    clv: Any
    currency: str


def analyse_clv(
    orders: Any,
    *,
    as_of: datetime,
    calibration_end: datetime | None = None,
    unit: str = "D",
    months: int = 12,
    discount_rate: float = 0.01,
) -> ClvRun:
    """Summarise an :class:`~custmgmt.analytics.frames.OrderFrame` and fit the models.

    Periods follow the local calendar of ``as_of``'s offset (so a "day" is a local
    day; a DST change inside the data shifts its boundaries by an hour).

    Raises:
        ValidationError: naive datetimes, or a calibration end not before ``as_of``.
    """
    from custmgmt.analytics.clv import (
        BetaGeo,
        ConvergenceError,
        GammaGamma,
        ParetoNBD,
        summarize_transactions,
    )
    from custmgmt.analytics.frames import STATUS_CODES
    from custmgmt.domain.order import OrderStatus
    from custmgmt.domain.time import require_aware, to_epoch_micros

    require_aware("as_of", as_of)
    offset = as_of.utcoffset()
    shift = 0 if offset is None else int(offset.total_seconds()) * 1_000_000
    excluded = [STATUS_CODES.index(OrderStatus.CANCELLED), STATUS_CODES.index(OrderStatus.RETURNED)]
    bought = ~np.isin(orders.status, excluded)
    spend = (orders.amount - orders.returned_amount)[bought]
    end = to_epoch_micros(as_of) + shift
    cal = None
    if calibration_end is not None:
        require_aware("calibration_end", calibration_end)
        cal = to_epoch_micros(calibration_end) + shift
    summary = summarize_transactions(
        orders.customer_code[bought],
        orders.placed_at[bought] + shift,
        spend,
        observation_end=end,
        calibration_end=cal,
        unit=unit,
    )
    digits = orders.digits
    models: dict[str, Any] = {}
    failures: dict[str, str] = {}
    x, tx, age = summary.frequency, summary.recency, summary.T
    for name, model in (("BG/NBD", BetaGeo()), ("Pareto/NBD", ParetoNBD())):
        try:
            models[name] = model.fit(x, tx, age)
        except (ConvergenceError, ValidationError) as exc:
            failures[name] = str(exc)
    money = summary.monetary_value / 10**digits
    repeat = (x > 0) & (money > 0)
    try:
        models["Gamma-Gamma"] = GammaGamma().fit(x[repeat], money[repeat])
    except (ConvergenceError, ValidationError) as exc:
        failures["Gamma-Gamma"] = str(exc)
    clv = None
    if "BG/NBD" in models and "Gamma-Gamma" in models:
        clv = models["Gamma-Gamma"].customer_lifetime_value(
            models["BG/NBD"],
            x,
            tx,
            age,
            np.where(repeat, money, 0.0),
            time=months,
            discount_rate=discount_rate,
            freq=unit,
        )
    return ClvRun(
        as_of=as_of,
        calibration_end=calibration_end,
        unit=unit,
        summary=summary,
        customer_ids=orders.customer_ids[summary.customer_ids],
        models=models,
        failures=failures,
        clv=clv,
        currency=orders.currency,
    )


_UNIT_NAMES = {"D": "days", "W": "weeks", "M": "months"}


def print_clv(result: ClvRun, out: TextIO, *, top: int = 10) -> None:
    """Print the fitted parameters, the holdout comparison and the top customers."""
    summary = result.summary
    unit = _UNIT_NAMES[result.unit]
    window = "calibration period" if result.calibration_end is not None else "observation"
    out.write(
        f"{len(summary)} customers, {int(summary.frequency.sum())} repeat purchases; "
        f"{window} ends {(result.calibration_end or result.as_of).isoformat()}; "
        f"times in {unit}\n"
    )
    for name in ("BG/NBD", "Pareto/NBD", "Gamma-Gamma"):
        model = result.models.get(name)
        if model is None:
            out.write(f"  {name:<11}  not fitted: {result.failures.get(name, '')}\n")
            continue
        params = "  ".join(f"{k}={v:.6g}" for k, v in model.params_.items())
        out.write(f"  {name:<11}  {params}  log-likelihood={model.log_likelihood_:.6g}\n")
    if summary.frequency_holdout is not None:
        _print_holdout(result, out)
    if result.clv is not None and top > 0 and len(summary):
        order = np.argsort(-result.clv, kind="stable")[:top]
        alive = result.models["BG/NBD"].probability_alive(
            summary.frequency, summary.recency, summary.T
        )
        title = f"top {len(order)} customers by predicted lifetime value ({result.currency})"
        out.write(f"\n{title}:\n")
        out.write(f"  {'customer':<16} {'repeat':>6} {'P(alive)':>8} {'value':>12}\n")
        for i in order:
            out.write(
                f"  {result.customer_ids[i]!s:<16} {int(summary.frequency[i]):>6} "
                f"{alive[i]:>8.3f} {result.clv[i]:>12,.2f}\n"
            )


def _print_holdout(result: ClvRun, out: TextIO) -> None:
    summary = result.summary
    duration = float(summary.duration_holdout or 0.0)
    actual = summary.frequency_holdout
    out.write(
        f"\nholdout: {duration:g} {_UNIT_NAMES[result.unit]} after the calibration end, "
        f"{int(actual.sum())} repeat purchases by these customers\n"
    )
    forecasts = {
        name: result.models[name].predict_purchases(
            duration, summary.frequency, summary.recency, summary.T
        )
        for name in ("BG/NBD", "Pareto/NBD")
        if name in result.models
    }
    header = "".join(f" {name:>11}" for name in forecasts)
    out.write(f"  {'repeat (cal.)':<13} {'customers':>9} {'actual':>8}{header}\n")
    buckets = np.minimum(summary.frequency, 7)
    for bucket in range(8):
        rows = buckets == bucket
        if not np.any(rows):
            continue
        label = f"{bucket}+" if bucket == 7 else str(bucket)
        means = "".join(f" {f[rows].mean():>11.3f}" for f in forecasts.values())
        out.write(f"  {label:<13} {int(rows.sum()):>9} {actual[rows].mean():>8.3f}{means}\n")
    totals = "".join(f" {f.sum():>11.1f}" for f in forecasts.values())
    out.write(f"  {'total':<13} {len(summary):>9} {float(actual.sum()):>8.1f}{totals}\n")


def run(args: argparse.Namespace) -> int:
    """Fit, print; returns the exit code."""
    tz = zone(args.tz)
    check_top(args)
    if args.months < 1:
        raise ValidationError("--months", args.months, "a positive number of months")
    unit = {"day": "D", "week": "W", "month": "M"}[args.unit]
    if args.db is not None:
        frame, _, as_of = frames_from_store(args, tz, interactions=False)
    else:
        frame, as_of = orders_from_csv(args, tz)
    calibration_end = None
    if args.calibration_end is not None:
        calibration_end = parse_as_of(args.calibration_end, tz, option="--calibration-end")
    result = analyse_clv(
        frame,
        as_of=as_of,
        calibration_end=calibration_end,
        unit=unit,
        months=args.months,
        discount_rate=args.discount_rate,
    )
    print_clv(result, sys.stdout, top=args.top)
    return 0
