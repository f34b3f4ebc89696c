"""Customer-lifetime analysis as a library service: orders in, a printable report out.

:func:`analyse_clv` is what ``custmgmt clv`` and the demo run: it counts the orders the
way every analysis does (:func:`~custmgmt.analytics.frames.counted_mask`: cancelled
orders are not purchases; returned ones are, with spend net of refunds), summarises
them per customer, fits the chosen models one after the other, and combines BG/NBD
(or Pareto/NBD) with Gamma-Gamma into each customer's lifetime value. A ``progress``
callback hears about each stage as soon as it is done, so a caller can print every
model's figures while the next one is still being fitted.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import numpy.typing as npt

from custmgmt._text import one_line
from custmgmt.analytics.clv._base import FitProgress
from custmgmt.analytics.clv._bgnbd import BetaGeo
from custmgmt.analytics.clv._common import FloatArray
from custmgmt.analytics.clv._gamma import GammaGamma, check_clv_terms
from custmgmt.analytics.clv._pareto import ParetoNBD
from custmgmt.analytics.clv._partitioned import summarize_orders
from custmgmt.analytics.clv._summary import (
    TransactionSummary,
    normalise_unit,
)
from custmgmt.analytics.frames import OrderFrame, counted_mask
from custmgmt.domain.money import currency_digits
from custmgmt.domain.time import require_aware, to_epoch_micros
from custmgmt.errors import ConvergenceError, ValidationError
from custmgmt.notebook.dataframes import FrameExport, MoneyColumn
from custmgmt.notebook.display import Report, Table, numeric_summary, pad, short_repr

if TYPE_CHECKING:
    from custmgmt.ports import Store

__all__ = [
    "MODELS",
    "ClvEvent",
    "ClvReport",
    "ModelFit",
    "SpendExclusion",
    "SummaryReady",
    "analyse_clv",
]

#: The models :func:`analyse_clv` can fit, by the short name ``--models`` uses.
MODELS: dict[str, str] = {"bg": "BG/NBD", "pnbd": "Pareto/NBD", "gg": "Gamma-Gamma"}

_UNIT_NAMES = {"h": "hours", "D": "days", "W": "weeks", "M": "months"}
_PERIOD_NAMES = {"h": "hour", "D": "day", "W": "week", "M": "month"}
_SHOWN_EXCLUSIONS = 10


@attrs.frozen(kw_only=True, eq=False)
class SummaryReady:
    """The first stage of :func:`analyse_clv`: orders counted and summarised.

    ``str()`` gives the report's heading lines.

    Attributes:
        summary: the per-customer summary (of the calibration period when split).
        as_of: the end of observation.
        calibration_end: the end of calibration, or None.
        unit: the models' time unit (``"D"``, ``"W"``, ``"M"``, ``"h"``).
        period: the period within which purchases merge.
        n_orders: orders read up to ``as_of``.
        n_counted: those that count as purchases.
    """

    summary: TransactionSummary
    as_of: datetime
    calibration_end: datetime | None
    unit: str
    period: str
    n_orders: int
    n_counted: int

    def __str__(self) -> str:
        summary = self.summary
        window = "calibration period" if self.calibration_end is not None else "observation"
        end = self.calibration_end or self.as_of
        left_out = self.n_orders - self.n_counted
        return (
            f"{len(summary)} customers, {int(summary.frequency.sum())} repeat purchases; "
            f"{window} ends {end.isoformat()}; times in {_UNIT_NAMES[self.unit]}, "
            f"purchases merged per {_PERIOD_NAMES[self.period]}\n"
            f"{self.n_counted} orders counted ({left_out} cancelled left out; returned "
            "orders count, spend is net of refunds)\n"
        )


@attrs.frozen(kw_only=True, eq=False)
class ModelFit:
    """One model's outcome in :func:`analyse_clv`.

    ``str()`` gives the report's lines for it: the estimates with their
    log-likelihood and, right below, what the data cannot identify; or why it was not
    fitted.

    Attributes:
        key: the short name (``"bg"``, ``"pnbd"``, ``"gg"``).
        name: the model's name (``"BG/NBD"`` ...).
        model: the fitted estimator, or None when it could not be fitted.
        error: why it could not be fitted, or None.
        seconds: how long the fit took.
    """

    key: str
    name: str
    model: BetaGeo | ParetoNBD | GammaGamma | None
    error: str | None
    seconds: float

    @property
    def warnings(self) -> tuple[str, ...]:
        """What the data cannot identify (the model's ``warnings_``)."""
        return () if self.model is None else self.model.warnings_

    def __repr__(self) -> str:
        status = "fitted" if self.model is not None else "not fitted"
        return short_repr("ModelFit", name=self.name, status=status, seconds=self.seconds)

    def _repr_html_(self) -> str:
        return self._display().to_html()

    def summary(self) -> str:
        """The summary shown in a notebook, as aligned text for a terminal."""
        return self._display().to_text()

    def _display(self) -> Report:
        """The fitted model's display, or why it was not fitted."""
        if self.model is None:
            report = Report(f"{self.name}: not fitted", facts=[("seconds", self.seconds)])
            report.note(str(self.error))
            return report
        return self.model._display()

    def __str__(self) -> str:
        if self.model is None:
            return f"  {self.name:<11}  not fitted: {self.error}\n"
        params = "  ".join(f"{k}={v:.6g}" for k, v in self.model.params_.items())
        lines = [f"  {self.name:<11}  {params}  log-likelihood={self.model.log_likelihood_:.6g}"]
        lines += [f"  {'':<11}  warning: {w}" for w in self.warnings]
        return "\n".join(lines) + "\n"


#: What a ``progress`` callback of :func:`analyse_clv` receives.
ClvEvent = SummaryReady | FitProgress | ModelFit


@attrs.frozen(kw_only=True)
class SpendExclusion:
    """A customer Gamma-Gamma left out: repeat purchases averaging 0 or less.

    Attributes:
        customer_id: the customer.
        rows: the rows of the order frame with this customer's counted orders (map
            them to lines of a file with ``ClvReport.render(lines=...)``).
        order_ids: the ids of those orders, where the frame has them.
    """

    customer_id: Any
    rows: tuple[int, ...]
    order_ids: tuple[str, ...]


@attrs.frozen(kw_only=True, eq=False)
class ClvReport(FrameExport):
    """What :func:`analyse_clv` found; ``str()`` or :meth:`render` prints it.

    Attributes:
        stage: the summary stage (counts, window, units).
        fits: one :class:`ModelFit` per model asked for, in the order fitted.
        customer_ids: the original id of each summary row.
        clv: discounted lifetime value over ``months`` per summary row, in major
            currency units (purchase model times Gamma-Gamma spend), or None.
        alive: P(alive) per summary row from the same purchase model, or None.
        value_model: the purchase model behind ``clv`` (``"BG/NBD"`` or
            ``"Pareto/NBD"``), or None.
        months: the lifetime-value horizon.
        discount_rate: the monthly discount rate.
        currency: the currency of the values.
        spend_exclusions: the customers Gamma-Gamma left out.
    """

    stage: SummaryReady
    fits: tuple[ModelFit, ...]
    customer_ids: npt.NDArray[Any]
    clv: FloatArray | None
    alive: FloatArray | None
    value_model: str | None
    months: int
    discount_rate: float
    currency: str
    spend_exclusions: tuple[SpendExclusion, ...]

    def __repr__(self) -> str:
        return short_repr(
            "ClvReport", customers=len(self.customer_ids),
            models=[f.name for f in self.fits], value_model=self.value_model,
            currency=self.currency,
        )

    def _repr_html_(self) -> str:
        return self._display().to_html()

    def _display(self) -> Report:
        """Every model's estimates and warnings, and the lifetime values' quantiles."""
        stage = self.stage
        report = Report(
            "Customer lifetime value",
            facts=[
                ("customers", len(self.customer_ids)),
                ("repeat purchases", int(stage.summary.frequency.sum())),
                ("orders counted", stage.n_counted),
                ("observation ends", stage.calibration_end or stage.as_of),
                ("time unit", stage.unit),
                ("value model", self.value_model or "none"),
                ("horizon (months)", self.months),
                ("monthly discount rate", self.discount_rate),
                ("currency", self.currency),
            ],
        )
        rows: list[tuple[Any, ...]] = []
        for fit in self.fits:
            if fit.model is None:
                rows.append((fit.name, "not fitted", "", str(fit.error), fit.seconds))
                continue
            params = ", ".join(f"{k}={v:.4g}" for k, v in fit.model.params_.items())
            rows.append((fit.name, params, fit.model.log_likelihood_,
                         "; ".join(fit.warnings) or "none", fit.seconds))
        report.add(Table(caption="models",
                         header=("model", "estimates", "log-likelihood", "warnings", "seconds"),
                         rows=tuple(rows)))
        columns: dict[str, Any] = {}
        if self.clv is not None:
            # money at the currency's minor-unit digits, not 4 significant digits
            columns[f"clv ({self.currency})"] = MoneyColumn(self.clv, self.currency, "major")
        if self.alive is not None:
            columns["P(alive)"] = self.alive
        if columns:
            report.add(numeric_summary(columns, caption="per customer"))
        if self.spend_exclusions:
            report.note(f"{len(self.spend_exclusions)} customers left out of Gamma-Gamma "
                        "(repeat purchases averaging 0 or less)")
        return report

    def _frame_columns(self) -> dict[str, Any]:
        """Exported columns (one row per customer): ``customer_id``, ``frequency``,
        ``recency``, ``T``, ``monetary_value`` (mean repeat spend, money), and where a
        value model was fitted ``p_alive`` and ``clv`` (money; floats in major units
        unless ``money=`` asks for minor units or decimals)."""
        summary = self.summary
        columns: dict[str, Any] = {
            "customer_id": self.customer_ids,
            "frequency": summary.frequency,
            "recency": summary.recency,
            "T": summary.T,
        }
        if summary.monetary_value is not None:
            columns["monetary_value"] = MoneyColumn(summary.monetary_value, self.currency)
        if self.alive is not None:
            columns["p_alive"] = self.alive
        if self.clv is not None:
            columns["clv"] = MoneyColumn(self.clv, self.currency, "major")
        return columns

    @property
    def summary(self) -> TransactionSummary:
        """The per-customer summary the models were fitted on."""
        return self.stage.summary

    def fit(self, key: str) -> ModelFit | None:
        """The outcome for one model (``"bg"``, ``"pnbd"``, ``"gg"``), or None if not asked."""
        return next((f for f in self.fits if f.key == key), None)

    def model(self, key: str) -> BetaGeo | ParetoNBD | GammaGamma | None:
        """The fitted estimator for ``key``, or None."""
        found = self.fit(key)
        return None if found is None else found.model

    def __str__(self) -> str:
        return self.render()

    def render(self, *, top: int = 10, lines: Sequence[int] | None = None) -> str:
        """The whole report as text.

        Args:
            top: how many customers to list by lifetime value.
            lines: the source line of each order-frame row (e.g. of a CSV file), so
                the customers Gamma-Gamma left out are named with their lines.
        """
        return (
            str(self.stage)
            + "".join(str(f) for f in self.fits)
            + self.render_details(top=top, lines=lines)
        )

    def render_details(self, *, top: int = 10, lines: Sequence[int] | None = None) -> str:
        """What follows the models' lines: exclusions, holdout comparison, top customers."""
        parts = [self._exclusions(lines), self._holdout(), self._top(top)]
        return "".join(parts)

    def _exclusions(self, lines: Sequence[int] | None) -> str:
        if not self.spend_exclusions:
            return ""
        shown = []
        for item in self.spend_exclusions[:_SHOWN_EXCLUSIONS]:
            if lines is not None:
                where = ", ".join(str(lines[row]) for row in item.rows[:5])
                more = ", ..." if len(item.rows) > 5 else ""
                label = "line" if len(item.rows) == 1 else "lines"
                shown.append(f"{one_line(item.customer_id)} ({label} {where}{more})")
            elif item.order_ids:
                where = ", ".join(item.order_ids[:5])
                more = ", ..." if len(item.order_ids) > 5 else ""
                shown.append(f"{one_line(item.customer_id)} (orders {where}{more})")
            else:
                shown.append(one_line(item.customer_id))
        rest = len(self.spend_exclusions) - len(shown)
        tail = f", and {rest} more" if rest else ""
        return (
            f"\nGamma-Gamma left out {len(self.spend_exclusions)} customers whose repeat "
            f"purchases average 0 or less: {', '.join(shown)}{tail}\n"
        )

    def _holdout(self) -> str:
        summary = self.summary
        actual = summary.frequency_holdout
        if actual is None:
            return ""
        duration = float(summary.duration_holdout or 0.0)
        heading = (
            f"\nholdout: {duration:g} {_UNIT_NAMES[self.stage.unit]} after the calibration "
            f"end, {int(actual.sum())} repeat purchases by these customers\n"
        )
        out = [heading]
        forecasts = {}
        for key in ("bg", "pnbd"):
            model = self.model(key)
            if isinstance(model, BetaGeo | ParetoNBD):
                forecasts[MODELS[key]] = model.predict_purchases(
                    duration, summary.frequency, summary.recency, summary.T
                )
        header = "".join(f" {name:>11}" for name in forecasts)
        out.append(f"  {'repeat (cal.)':<13} {'customers':>9} {'actual':>8}{header}\n")
        buckets = np.minimum(summary.frequency, 7)
        for bucket in range(8):
            rows = buckets == bucket
            if not np.any(rows):
                continue
            label = f"{bucket}+" if bucket == 7 else str(bucket)
            means = "".join(f" {f[rows].mean():>11.3f}" for f in forecasts.values())
            out.append(f"  {label:<13} {int(rows.sum()):>9} {actual[rows].mean():>8.3f}{means}\n")
        totals = "".join(f" {f.sum():>11.1f}" for f in forecasts.values())
        out.append(f"  {'total':<13} {len(summary):>9} {float(actual.sum()):>8.1f}{totals}\n")
        return "".join(out)

    def _top(self, top: int) -> str:
        if self.clv is None or self.alive is None or top <= 0 or not len(self.summary):
            return ""
        finite = np.flatnonzero(np.isfinite(self.clv))
        # highest value first, ties by position (customers are sorted by id)
        order = finite[np.argsort(-self.clv[finite], kind="stable")][:top]
        title = (
            f"top {len(order)} customers by predicted {self.months}-month lifetime value "
            f"({self.currency}; {self.value_model} purchases x Gamma-Gamma spend)"
        )
        out = [f"\n{title}:\n", f"  {'customer':<16} {'repeat':>6} {'P(alive)':>8} {'value':>12}\n"]
        frequency = self.summary.frequency
        digits = currency_digits(self.currency)
        for i in order:
            out.append(
                f"  {pad(one_line(self.customer_ids[i]), 16)} {int(frequency[i]):>6} "
                f"{self.alive[i]:>8.3f} {self.clv[i]:>12,.{digits}f}\n"
            )
        return "".join(out)


def _check_models(models: Collection[str]) -> tuple[str, ...]:
    if isinstance(models, str):
        models = [m.strip() for m in models.split(",") if m.strip()]
    chosen = tuple(dict.fromkeys(models))
    unknown = [m for m in chosen if m not in MODELS]
    if unknown or not chosen:
        raise ValidationError("models", list(models), f"some of {', '.join(MODELS)}")
    return chosen


def analyse_clv(
    source: OrderFrame | Store,
    *,
    as_of: datetime,
    calibration_end: datetime | None = None,
    unit: str = "day",
    period: str = "day",
    models: Collection[str] = ("bg", "pnbd", "gg"),
    months: int = 12,
    discount_rate: float = 0.01,
    currency: str = "CNY",
    time_limit: float | None = 60.0,
    progress: Callable[[ClvEvent], None] | bool | None = None,
    threads: int | None = None,
    partitions: int | None = None,
) -> ClvReport:
    """Fit customer-lifetime models to orders and value every customer.

    Orders count as everywhere in the library: cancelled orders are not purchases,
    returned and partially returned ones are, and spend is net of refunds. Purchases
    of one customer within one ``period`` (in the local calendar of ``as_of``'s UTC
    offset) merge into one transaction; recency and ages are measured in ``unit``
    (``period="day", unit="week"`` is the literature's usual setting and lifetimes'
    ``freq="D", freq_multiplier=7``). Each model is fitted on its own: one that fails
    is reported with its reason while the others go on. Gamma-Gamma leaves out
    customers whose repeat purchases average 0 or less (free or fully refunded
    orders), as the literature does, and names them in the report.

    Args:
        source: an :class:`~custmgmt.analytics.frames.OrderFrame` or a store whose
            orders are read up to ``as_of``.
        as_of: the end of observation (timezone-aware).
        calibration_end: fit on the orders up to this instant and compare the
            forecasts with the purchases after it (aware), or None.
        unit: the models' time unit: ``"day"``, ``"week"``, ``"month"`` (or
            ``"D"``, ``"W"``, ``"M"``, ``"hour"``).
        period: the window within which purchases merge, same names; a week or
            month unit can go with a daily period, a month unit needs a monthly one.
        models: which of ``"bg"``, ``"pnbd"``, ``"gg"`` to fit (a collection or a
            comma-separated string).
        months: the lifetime-value horizon in months, 1 to 1200.
        discount_rate: the monthly discount rate of the lifetime value (finite, >= 0).
        currency: the currency of the values (read from a store in this currency;
            orders in others need rates, see ``OrderFrame.from_store``).
        time_limit: wall-clock limit of each fit in seconds (None: none); a fit that
            reaches it is reported as not fitted, with the best point reached.
        progress: called with a :class:`SummaryReady`, then while fitting with
            :class:`FitProgress` reports, and with each :class:`ModelFit` as soon as
            that model is done; ``True`` draws a bar per fit on an interactive
            terminal or notebook (nothing on a pipe); ``False`` / ``None``: silence.
        threads: worker threads for the transaction summary (default
            ``CUSTMGMT_THREADS``, else the cores this process may run on): on a large
            frame it runs per range of customers on the partitioned engine
            (:func:`custmgmt.analytics.clv._partitioned.summarize_orders`), with the
            identical result for every thread count; the fits run on the joined
            summary.
        partitions: the number of customer ranges (default: see
            :func:`custmgmt.analytics.partitioned.partition_bounds`).

    Returns:
        A :class:`ClvReport`.

    Raises:
        ValidationError: a naive datetime, a calibration end not before ``as_of``,
            an unknown unit, period or model, a horizon outside 1-1200 months, a
            negative or non-finite discount rate (before any fit), ``threads`` or
            ``partitions`` not a positive integer.
    """
    require_aware("as_of", as_of)
    chosen = _check_models(models)
    unit_code = normalise_unit("unit", unit)
    period_code = normalise_unit("period", period)
    # Checked before any fit, so a bad horizon or rate costs no fitting time.
    check_clv_terms(months, discount_rate, time_field="months")
    months = int(months)
    if time_limit is not None and not (
        isinstance(time_limit, int | float) and not isinstance(time_limit, bool) and time_limit > 0
    ):
        raise ValidationError("time_limit", time_limit, "None or a positive number of seconds")
    orders = (
        source
        if isinstance(source, OrderFrame)
        else OrderFrame.from_store(source, currency=currency, as_of=as_of)
    )
    if progress is not None and not isinstance(progress, bool) and not callable(progress):
        raise ValidationError("progress", progress, "True, False, None or a callable")
    emit = _ignore if progress is None or isinstance(progress, bool) else progress
    # progress=True: a bar per model fit on an interactive terminal, nothing elsewhere.
    on_fit: Any = True if progress is True else emit
    if calibration_end is not None:
        require_aware("calibration_end", calibration_end)
    done = summarize_orders(
        orders,
        as_of=as_of,
        calibration_end=calibration_end,
        unit=unit_code,
        period=period_code,
        threads=threads,
        partitions=partitions,
    )
    summary = done.summary
    stage = SummaryReady(
        summary=summary,
        as_of=as_of,
        calibration_end=calibration_end,
        unit=unit_code,
        period=period_code,
        n_orders=done.n_orders,
        n_counted=done.n_counted,
    )
    emit(stage)
    x, tx, age = summary.frequency, summary.recency, summary.T
    money = (
        np.zeros(len(summary))
        if summary.monetary_value is None
        else summary.monetary_value / 10**orders.digits
    )

    def fit_one(key: str) -> ModelFit:
        started = time.monotonic()
        model: BetaGeo | ParetoNBD | GammaGamma
        try:
            if key == "gg":
                model = GammaGamma(max_time=time_limit).fit(x, money, progress=on_fit)
            else:
                cls = BetaGeo if key == "bg" else ParetoNBD
                model = cls(max_time=time_limit).fit(x, tx, age, progress=on_fit)
        except (ConvergenceError, ValidationError) as exc:
            reason = exc.reason if isinstance(exc, ConvergenceError) else str(exc)
            if isinstance(exc, ConvergenceError) and exc.best is not None:
                best = ", ".join(f"{k}={v:.6g}" for k, v in exc.best.items())
                reason = f"{reason} (best point reached: {best})"
            return ModelFit(
                key=key,
                name=MODELS[key],
                model=None,
                error=reason,
                seconds=time.monotonic() - started,
            )
        return ModelFit(
            key=key, name=MODELS[key], model=model, error=None, seconds=time.monotonic() - started
        )

    fits = []
    for key in chosen:
        outcome = fit_one(key)
        fits.append(outcome)
        emit(outcome)
    report_fits = tuple(fits)
    purchases: BetaGeo | ParetoNBD | None = None
    value_model = None
    for key in ("bg", "pnbd"):
        candidate = next((f.model for f in report_fits if f.key == key), None)
        if isinstance(candidate, BetaGeo | ParetoNBD):
            purchases, value_model = candidate, MODELS[key]
            break
    spend_model = next((f.model for f in report_fits if f.key == "gg"), None)
    clv = alive = None
    if purchases is not None:
        alive = purchases.probability_alive(x, tx, age)
        if isinstance(spend_model, GammaGamma):
            clv = spend_model.customer_lifetime_value(
                purchases,
                x,
                tx,
                age,
                np.maximum(money, 0.0),
                time=months,
                discount_rate=discount_rate,
                freq=unit_code,
            )
    exclusions = _spend_exclusions(orders, as_of, summary, money) if "gg" in chosen else ()
    return ClvReport(
        stage=stage,
        fits=report_fits,
        customer_ids=orders.customer_ids[summary.customer_ids],
        clv=clv,
        alive=alive,
        value_model=value_model,
        months=months,
        discount_rate=float(discount_rate),
        currency=orders.currency,
        spend_exclusions=exclusions,
    )


def _ignore(event: ClvEvent) -> None:
    """The default ``progress``: nobody listens."""


def _spend_exclusions(
    orders: OrderFrame,
    as_of: datetime,
    summary: TransactionSummary,
    money: FloatArray,
) -> tuple[SpendExclusion, ...]:
    """The customers with repeat purchases whose mean repeat spend is 0 or less."""
    left_out = np.flatnonzero((summary.frequency > 0) & (money <= 0))
    if left_out.size == 0:
        return ()
    counted = counted_mask(orders.status) & (orders.placed_at <= to_epoch_micros(as_of))
    codes = summary.customer_ids[left_out]  # summary ids are the frame's customer codes
    wanted = np.isin(orders.customer_code, codes) & counted
    rows = np.flatnonzero(wanted)
    by_code: dict[int, list[int]] = {}
    for row in rows.tolist():
        by_code.setdefault(int(orders.customer_code[row]), []).append(row)
    found = []
    for code in codes.tolist():
        own = by_code.get(int(code), [])
        ids: tuple[str, ...] = ()
        if orders.order_id is not None:
            ids = tuple(str(orders.order_id[r]) for r in own if orders.order_id[r] is not None)
        found.append(
            SpendExclusion(
                customer_id=orders.customer_ids[int(code)], rows=tuple(own), order_ids=ids
            )
        )
    return tuple(found)
