"""KpiReport: a baseline period against a current one, measured against targets.

>>> from datetime import UTC, datetime
>>> import numpy as np
>>> from custmgmt.analytics.frames import OrderFrame
>>> orders = OrderFrame.from_arrays(
...     customer_id=np.array([1, 1, 2, 2, 3, 3]),
...     placed_at=np.array(["2026-01-05", "2026-02-01", "2026-01-09", "2026-04-02",
...                         "2026-04-03", "2026-05-01"], dtype="datetime64[D]"),
...     amount=np.array([1000, 500, 700, 900, 1200, 300]), currency="CNY")
>>> report = KpiReport.build(
...     KpiInputs(orders=orders),
...     baseline=Period(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)),
...     current=Period(datetime(2026, 4, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC)),
...     as_of=datetime(2026, 6, 30, tzinfo=UTC))
>>> [(r.target.kpi, r.status) for r in report.targets][:2]
[('satisfaction_share', 'not measurable'), ('net_sales', 'not met')]
>>> round(report.figure("net_sales", "change").value, 3)
0.091
>>> report.figure("net_sales", "current").value
2400.0
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

import attrs
import numpy as np

from custmgmt._text import one_line
from custmgmt.domain.time import require_aware
from custmgmt.errors import ValidationError
from custmgmt.kpi import measures as m
from custmgmt.kpi.figures import Figure, Period, not_measurable, rate
from custmgmt.kpi.html import render_html
from custmgmt.kpi.inputs import KpiInputs
from custmgmt.kpi.targets import (
    AOV_BAND_EDGES,
    DEFAULT_TARGETS,
    KPI_LABELS,
    LOWER_IS_BETTER,
    Target,
    TargetResult,
    evaluate,
)
from custmgmt.notebook.display import Report, Table, short_repr

__all__ = [
    "DEFAULT_TARGETS",
    "KPI_LABELS",
    "LOWER_IS_BETTER",
    "REPORT_SCHEMA",
    "KpiReport",
    "SummaryTemplate",
    "Target",
    "TargetResult",
]

#: The JSON document's schema name and version.
REPORT_SCHEMA: tuple[str, int] = ("custmgmt.kpi.report", 1)
_COUNT_BANDS = ("1", "2", "3-4", "5+")

@attrs.frozen(kw_only=True)
class SummaryTemplate:
    """The mission's summary: the parts people write, the figures filled in by the report.

    Attributes:
        title: the plan's title.
        goals: what the plan sets out to do.
        background: the situation that led to it.
        strategy: what is being done.
        risks: what could go wrong and the fallback.
    """

    title: str = "Customer management plan · 客户管理方案"
    goals: str = ("Raise satisfaction, loyalty and sales through star-based service "
                  "and targeted marketing.")
    background: str = "Measured from the store's orders, interactions and tickets."
    strategy: str = ("Star ratings and service levels, segment campaigns, loyalty "
                     "rewards and faster ticket handling.")
    risks: str = ("Data quality, customer privacy, staff adoption; review the targets "
                  "each period and adjust.")


def _shift_back(period: Period) -> Period:
    length = period.end - period.start
    return Period(period.start - length, period.start)


def _band_groups(
    orders: Any, period: Period, digits: int
) -> list[tuple[str, Any, tuple[str, ...]]]:
    spend, counts = m.customer_spend(orders, period)
    buyers = counts > 0
    count_band = np.full(len(counts), -1, dtype=np.int64)
    count_band[buyers] = np.searchsorted(np.array([2, 3, 5]), counts[buyers], side="right")
    aov_band = np.full(len(counts), -1, dtype=np.int64)
    scale = 10**digits
    edges = [e * scale for e in AOV_BAND_EDGES]
    # spend / count >= edge  <=>  spend >= edge * count: exact integer comparisons
    level = np.zeros(int(buyers.sum()), dtype=np.int64)
    for edge in edges:
        level += spend[buyers] >= edge * counts[buyers]
    aov_band[buyers] = level
    e = AOV_BAND_EDGES
    labels = (f"<{e[0]}", *(f"{a}-{b}" for a, b in itertools.pairwise(e)), f"{e[-1]}+")
    return [("aov_band", aov_band, labels), ("purchase_count", count_band, _COUNT_BANDS)]


def _fmt_money(minor: float | None, digits: int, currency: str) -> str:
    """Minor units in major units with the currency's own decimals (0 for JPY, 3 for
    KWD); a whole number of minor units is shown exactly, however large (a float
    would round totals past 2**53 minor units)."""
    if minor is None:
        return "-"
    if isinstance(minor, int | np.integer):
        return f"{Decimal(int(minor)).scaleb(-digits):,.{digits}f} {currency}"
    return f"{minor / 10**digits:,.{digits}f} {currency}"


@attrs.frozen(kw_only=True)
class KpiReport:
    """The KPIs of a baseline and a current period, the targets' fate and the breakdowns.

    Build with :meth:`build`; render with :meth:`to_text`, :meth:`to_json`,
    :meth:`to_html` (a notebook shows it through ``_repr_html_``) or :meth:`summary`.

    Attributes:
        title: the report's title.
        as_of: the moment the data was read up to.
        baseline: the baseline period.
        current: the current period.
        currency: the currency of every money figure (minor units).
        kpis: name -> ``(baseline, current, change)`` figures.
        targets: the targets' results.
        high_value_threshold: the net spend (minor units) that makes a high-value
            customer: the baseline buyers' 80th percentile, None without baseline buyers.
        sales: net sales per month from the baseline's start to the current end.
        sales_trend: the linear trend of :attr:`sales` with its slope interval.
        sales_moving_average: the 3-month trailing mean of :attr:`sales`.
        sales_change: month over month change of :attr:`sales` (None: not measurable).
        categories: ``(baseline, current)`` sales per main category.
        cohorts: the monthly cohort retention matrix up to ``as_of``.
        breakdowns: the current period's figures by gender, region, age band, AOV band
            and purchase count.
        stars: customers per star level 0 (unrated) .. 5, or None.
        rfm: buyers by recency x frequency quintile score, 5x5.
        segments: buyers per segment of the ten-segment RFM map.
        sla_by_star: the current period's SLA attainment per star level.
    """

    title: str
    as_of: datetime
    baseline: Period
    current: Period
    currency: str
    digits: int
    kpis: dict[str, tuple[Figure, Figure, Figure]]
    targets: tuple[TargetResult, ...]
    high_value_threshold: int | None
    sales: m.GroupedSales
    sales_trend: m.Trend
    sales_moving_average: tuple[float | None, ...]
    sales_change: tuple[float | None, ...]
    categories: tuple[m.GroupedSales, m.GroupedSales]
    cohorts: m.CohortMatrix
    breakdowns: tuple[m.Breakdown, ...]
    stars: tuple[int, ...] | None
    rfm: tuple[tuple[int, ...], ...]
    segments: tuple[tuple[str, int], ...]
    sla_by_star: dict[int, Figure]

    def __repr__(self) -> str:
        met = sum(1 for r in self.targets if r.status == "met")
        return short_repr("KpiReport", baseline=self.baseline.label(),
                          current=self.current.label(), currency=self.currency,
                          targets_met=f"{met}/{len(self.targets)}")

    @classmethod
    def build(
        cls,
        inputs: KpiInputs,
        *,
        baseline: Period,
        current: Period,
        as_of: datetime,
        targets: Iterable[Target] = DEFAULT_TARGETS,
        title: str = "Customer KPI report · 客户关键指标报告",
        cohort_months: int = 24,
    ) -> KpiReport:
        """Measure every KPI in both periods and evaluate ``targets``.

        Raises:
            ValidationError: ``inputs`` is not :class:`KpiInputs`; the periods overlap;
                a naive ``as_of``; a target that is not a :class:`Target`.
        """
        if not isinstance(inputs, KpiInputs):
            raise ValidationError("inputs", type(inputs).__name__, "KpiInputs")
        for name, p in (("baseline", baseline), ("current", current)):
            if not isinstance(p, Period):
                raise ValidationError(name, p, "a Period")
        require_aware("as_of", as_of)
        if baseline.overlaps(current):
            raise ValidationError("baseline", baseline.label(),
                                  f"a period that does not overlap the current {current.label()}")
        goals = tuple(targets)
        for t in goals:
            if not isinstance(t, Target):
                raise ValidationError("targets", t, "Target values")
        orders = inputs.orders
        threshold = m.high_value_threshold(orders, baseline)
        kpis: dict[str, tuple[Figure, Figure, Figure]] = {}
        for name in KPI_LABELS:
            b = _measure(name, inputs, baseline, threshold)
            c = _measure(name, inputs, current, threshold)
            kpis[name] = (b, c, m.growth(c, b))
        span = Period(min(baseline.start, current.start), max(baseline.end, current.end))
        sales = m.sales_by_period(orders, span, "month")
        ma = m.moving_average(sales.net, 3)
        pop = m.period_over_period(sales.net)
        groups: list[tuple[str, Any, tuple[str, ...]]] = []
        if inputs.customers is not None:
            for dim in ("gender", "region", "age"):
                g, labels = inputs.customers.groups(orders, dim, current.end)
                groups.append((dim, g, labels))
        groups += _band_groups(orders, current, orders.digits)
        sla = {}
        if (inputs.sla_met is not None and inputs.sla_at is not None
                and inputs.sla_stars is not None):
            inside = m._in(inputs.sla_at, current)
            sla = m.sla_attainment_by_star(inputs.sla_met[inside], inputs.sla_stars[inside])
        grid = m.rfm_grid(orders, as_of)
        return cls(
            title=title, as_of=as_of, baseline=baseline, current=current,
            currency=orders.currency, digits=orders.digits, kpis=kpis,
            targets=tuple(evaluate(t, kpis[t.kpi][0], kpis[t.kpi][1], currency=orders.currency)
                          for t in goals),
            high_value_threshold=threshold, sales=sales, sales_trend=m.linear_trend(sales.net),
            sales_moving_average=tuple(None if v != v else float(v) for v in ma.tolist()),
            sales_change=tuple(None if v != v else float(v) for v in pop.tolist()),
            categories=(m.sales_by_category(orders, baseline),
                        m.sales_by_category(orders, current)),
            cohorts=m.cohort_matrix(orders, as_of, cohort_months),
            breakdowns=tuple(m.breakdown(orders, current, g, labels, dim)
                             for dim, g, labels in groups),
            stars=None if inputs.stars is None
            else tuple(m.star_distribution(inputs.stars).tolist()),
            rfm=tuple(tuple(r) for r in grid.tolist()),
            segments=m.segment_distribution(grid),
            sla_by_star=sla,
        )

    def category_growth(self) -> tuple[float | None, ...]:
        """Per category, net sales growth from the baseline (None: no baseline sales)."""
        base, cur = self.categories
        return tuple(None if b == 0 else c / b - 1
                     for b, c in zip(base.net.tolist(), cur.net.tolist(), strict=True))

    def figure(self, kpi: str, which: str = "current") -> Figure:
        """One KPI's figure: ``which`` is ``baseline``, ``current`` or ``change``."""
        if kpi not in self.kpis:
            raise ValidationError("kpi", kpi, f"one of {', '.join(self.kpis)}")
        index = {"baseline": 0, "current": 1, "change": 2}
        if which not in index:
            raise ValidationError("which", which, "baseline, current or change")
        return self.kpis[kpi][index[which]]

    def format_figure(self, figure: Figure, *, interval: bool = True) -> str:
        """A figure for people: ``83.2% [80.1%, 86.0%]``, ``1,234.50 CNY``, ``n/m``."""
        v = figure.value
        if v is None:
            return "not measurable"
        if figure.unit == "share":
            text = f"{v:.1%}"
            if interval and figure.low is not None and figure.high is not None:
                text += f" [{figure.low:.1%}, {figure.high:.1%}]"
            return text
        if figure.unit == "money":
            # A total carries its exact int64 sum as the numerator: show that.
            exact = figure.numerator
            shown: float = exact if exact is not None and float(exact) == v else v
            text = _fmt_money(shown, self.digits, self.currency)
            if interval and figure.low is not None and figure.high is not None:
                d = self.digits
                text += f" [{figure.low / 10**d:,.{d}f}, {figure.high / 10**d:,.{d}f}]"
            return text
        if figure.unit == "score":
            text = f"{v:.2f}"
            if interval and figure.low is not None and figure.high is not None:
                text += f" [{figure.low:.2f}, {figure.high:.2f}]"
            return text
        if figure.unit == "ratio":
            return f"{v:+.1%}"
        return f"{v:,.0f}"

    # -- renderings ------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The report's data, versioned (``schema``, ``version``), no rendering in it."""
        return {
            "schema": REPORT_SCHEMA[0],
            "version": REPORT_SCHEMA[1],
            "title": self.title,
            "as_of": self.as_of.isoformat(),
            "baseline": {"start": self.baseline.start.isoformat(),
                         "end": self.baseline.end.isoformat()},
            "current": {"start": self.current.start.isoformat(),
                        "end": self.current.end.isoformat()},
            "currency": self.currency,
            "minor_unit_digits": self.digits,
            "kpis": {k: {"baseline": b.to_dict(), "current": c.to_dict(), "change": d.to_dict()}
                     for k, (b, c, d) in self.kpis.items()},
            "targets": [t.to_dict() for t in self.targets],
            "high_value_threshold": self.high_value_threshold,
            "sales_by_month": {**self.sales.to_dict(),
                               "moving_average_3": list(self.sales_moving_average),
                               "month_over_month": list(self.sales_change),
                               "trend": self.sales_trend.to_dict()},
            "sales_by_category": {"baseline": self.categories[0].to_dict(),
                                  "current": self.categories[1].to_dict(),
                                  "growth": list(self.category_growth())},
            "cohorts": self.cohorts.to_dict(),
            "breakdowns": [b.to_dict() for b in self.breakdowns],
            "stars": None if self.stars is None else list(self.stars),
            "rfm_grid": [list(r) for r in self.rfm],
            "rfm_segments": dict(self.segments),
            "sla_by_star": {str(k): v.to_dict() for k, v in sorted(self.sla_by_star.items())},
        }

    def to_json(self, indent: int | None = 2) -> str:
        """:meth:`to_dict` as JSON text (keys in a fixed order, non-ASCII kept)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent, allow_nan=False)

    def to_text(self) -> str:
        """A plain-text rendering for terminals."""
        lines = [self.title, "=" * 60,
                 f"as of {self.as_of.isoformat()}   currency {self.currency}",
                 f"baseline {self.baseline.label()}   current {self.current.label()}", "",
                 "Targets"]
        for r in self.targets:
            line = (f"  [{r.status:^14}] {r.target.describe(self.currency):<40} "
                    f"{self.format_figure(r.baseline, interval=False)} -> "
                    f"{self.format_figure(r.current, interval=False)}")
            if r.change.value is not None:
                line += f" ({r.change.value:+.1%})"
            if r.reason:
                line += f"  -- {one_line(r.reason)}"
            lines.append(line)
        lines += ["", f"{'KPI':<36} {'baseline':<30} {'current':<30} change"]
        for name, (b, c, d) in self.kpis.items():
            label = KPI_LABELS[name][0]
            lines.append(f"{label:<36} {self.format_figure(b):<30} "
                         f"{self.format_figure(c):<30} {self.format_figure(d)}")
            if c.reason:
                lines.append(f"{'':<4}current not measurable: {one_line(c.reason)}")
        lines += ["", "Net sales by month"]
        for label, net, n in zip(self.sales.labels, self.sales.net.tolist(),
                                 self.sales.orders.tolist(), strict=True):
            lines.append(f"  {one_line(label)}  "
                         f"{_fmt_money(net, self.digits, self.currency):>20}  "
                         f"{n:>8,} orders")
        t = self.sales_trend
        if t.slope is not None and t.low is not None and t.high is not None:
            nd = self.digits
            lines.append(f"  trend {_fmt_money(t.slope, nd, self.currency)} per month "
                         f"[{t.low / 10**nd:,.{nd}f}, {t.high / 10**nd:,.{nd}f}]")
        else:
            lines.append(f"  trend not measurable: {one_line(t.reason)}")
        lines += ["", "Net sales by category (current, growth from the baseline)"]
        cat = self.categories[1]
        if not cat.labels:  # an orders CSV without a category column: no empty table
            lines.append("  not measurable: the orders have no category")
        for label, net, g in zip(cat.labels, cat.net.tolist(), self.category_growth(),
                                 strict=True):
            change = "     -" if g is None else f"{g:+6.1%}"
            lines.append(f"  {one_line(label):<20} "
                         f"{_fmt_money(net, self.digits, self.currency):>20}"
                         f"  {change}")
        for br in self.breakdowns:
            lines += ["", f"By {one_line(br.dimension)} (current)"]
            if br.reason:
                lines.append(f"  not measurable: {one_line(br.reason)}")
                continue
            for i, label in enumerate(br.labels):
                lines.append(f"  {one_line(label):<12} {int(br.buyers[i]):>8,} buyers "
                             f"{_fmt_money(int(br.net[i]), self.digits, self.currency):>20}  "
                             f"AOV {self.format_figure(br.aov[i], interval=False)}")
        co = self.cohorts
        lines += ["", "Cohort retention (returned in month k, first 6 months)"]
        shares = co.shares("returned")
        for i, label in enumerate(co.cohorts):
            if co.sizes[i] == 0:
                continue
            cells = " ".join("   -  " if v != v else f"{v:6.1%}" for v in shares[i, :6])
            lines.append(f"  {one_line(label)} {int(co.sizes[i]):>7,}  {cells}")
        lines += ["", "Buyers by RFM segment"]
        lines += [f"  {one_line(name):<20} {count:>8,}" for name, count in self.segments]
        if self.sla_by_star:
            lines += ["", "SLA attainment by stars (current)"]
            for s, f in sorted(self.sla_by_star.items()):
                lines.append(f"  {s if s else 'unrated':>7}  {self.format_figure(f)}")
        return "\n".join(lines) + "\n"

    def summary(self, template: SummaryTemplate | None = None) -> str:
        """The mission's summary template with the measured figures filled in (text)."""
        t = template or SummaryTemplate()
        state = [f"- {KPI_LABELS[k][0]} / {KPI_LABELS[k][1]}: "
                 f"{self.format_figure(self.kpis[k][1])}"
                 for k in ("satisfaction_share", "repeat_purchase_rate", "retention_rate",
                           "net_sales", "return_rate", "high_value_ratio")]
        results = [f"- {r.target.describe(self.currency)}: {r.status}"
                   + (f" ({one_line(r.reason)})" if r.reason else "") for r in self.targets]
        return "\n".join([
            f"# {t.title}", "", "## Goals · 目标", t.goals, "",
            "## Background and current state · 背景与现状", t.background,
            f"Current period {self.current.label()}:", *state, "",
            "## Strategy · 策略", t.strategy, "",
            "## Expected results and criteria · 预期效果与评估标准",
            f"Baseline {self.baseline.label()} against current {self.current.label()}:",
            *results, "", "## Risks · 风险", t.risks, ""])

    def to_html(self) -> str:
        """A single self-contained HTML file with inline SVG charts (no script, no fetch)."""
        return render_html(self)

    def export_charts(self, path: str | os.PathLike[str], *, dpi: int = 100) -> None:
        """Write the charts as PNG or PDF through matplotlib (the ``plot`` extra); see
        :func:`custmgmt.kpi.export.export_charts`."""
        from custmgmt.kpi.export import export_charts

        export_charts(self, path, dpi=dpi)

    def _repr_html_(self) -> str:
        # A notebook cell gets the compact tables; the charted report (150+ KB of
        # inline SVG) stays one call away in to_html().
        return self._display().to_html()

    def _display(self) -> Report:
        """The KPIs against the baseline, the targets' fate and the RFM segments."""
        report = Report(self.title, facts=[
            ("as of", self.as_of), ("baseline", self.baseline.label()),
            ("current", self.current.label()), ("currency", self.currency),
        ])
        report.add(Table(
            caption="targets", header=("target", "status", "baseline", "current", "why"),
            rows=tuple((r.target.describe(self.currency), r.status,
                        self.format_figure(r.baseline, interval=False),
                        self.format_figure(r.current, interval=False), r.reason or "")
                       for r in self.targets),
        ))
        report.add(Table(
            caption="KPIs", header=("KPI", "指标", "baseline", "current", "change"),
            rows=tuple((KPI_LABELS[name][0], KPI_LABELS[name][1], self.format_figure(b),
                        self.format_figure(c), self.format_figure(d))
                       for name, (b, c, d) in self.kpis.items()),
        ))
        report.add(Table(caption="buyers by RFM segment", header=("segment", "buyers"),
                         rows=tuple(self.segments)))
        report.note("to_html() renders the whole report with its charts")
        return report


def _measure(name: str, inputs: KpiInputs, period: Period, threshold: int | None) -> Figure:
    orders, inter = inputs.orders, inputs.interactions
    no_inter = "no interactions in the inputs"
    if name in ("satisfaction_share", "satisfaction_mean"):
        if inter is None and inputs.ticket_score is None:
            return not_measurable("no reviews or ticket surveys in the inputs",
                                  KPI_LABELS[name][2])
        mean, share = m.satisfaction(inter, period, ticket_times=inputs.ticket_score_at,
                                     ticket_scores=inputs.ticket_score)
        return share if name == "satisfaction_share" else mean
    if name in ("referral_rate", "complaint_rate"):
        if inter is None:
            return not_measurable(no_inter)
        fn = m.referral_rate if name == "referral_rate" else m.complaint_rate
        return fn(orders, inter, period)
    if name in ("retention_rate", "churn_rate"):
        fn2 = m.retention_rate if name == "retention_rate" else m.churn_rate
        try:
            before = _shift_back(period)
        except OverflowError:  # a period that starts in year 1 has nothing before it
            return not_measurable("the period before it would start before year 1")
        return fn2(orders, before, period)
    if name == "high_value_ratio":
        if threshold is None:
            return not_measurable("no buyers in the baseline to fix the high-value threshold")
        return m.high_value_ratio(orders, period, threshold)
    if name == "sla_attainment":
        if inputs.sla_met is None or inputs.sla_at is None:
            return not_measurable("no ticket SLA statuses in the inputs")
        inside = m._in(inputs.sla_at, period)
        return rate(int(inputs.sla_met[inside].sum()), int(inside.sum()),
                    reason="no tickets created in the period")
    if name in ("orders", "buyers"):
        counts = m.customer_spend(orders, period)[1]
        n = int(counts.sum()) if name == "orders" else int((counts > 0).sum())
        return Figure(value=float(n), numerator=n, unit="count")
    simple: dict[str, Any] = {
        "repeat_purchase_rate": m.repeat_purchase_rate, "repurchase_rate": m.repurchase_rate,
        "net_sales": m.net_sales, "average_order_value": m.average_order_value,
        "return_rate": m.return_rate, "cancellation_rate": m.cancellation_rate,
    }
    result: Figure = simple[name](orders, period)
    return result


