"""The KPI report as one self-contained HTML file: inline CSS and SVG, nothing else.

No script, no external font, stylesheet or image; a Content-Security-Policy forbids
fetching anything, so the file renders the same offline. Labels are in English and
Chinese. The output depends only on the report: the same report gives the same bytes.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Protocol

from custmgmt.charts import build
from custmgmt.charts.spec import Bars, Chart, Lines, NoData
from custmgmt.charts.svg import tile, to_svg
from custmgmt.kpi.figures import Figure, Period
from custmgmt.kpi.measures import Breakdown, CohortMatrix, GroupedSales, Trend
from custmgmt.kpi.targets import KPI_LABELS, TargetResult

__all__ = ["RenderedReport", "render_html", "report_charts"]


class RenderedReport(Protocol):
    """What :func:`render_html` reads: a :class:`~custmgmt.kpi.RenderedReport`."""

    @property
    def title(self) -> str: ...
    @property
    def as_of(self) -> datetime: ...
    @property
    def baseline(self) -> Period: ...
    @property
    def current(self) -> Period: ...
    @property
    def currency(self) -> str: ...
    @property
    def digits(self) -> int: ...
    @property
    def kpis(self) -> dict[str, tuple[Figure, Figure, Figure]]: ...
    @property
    def targets(self) -> tuple[TargetResult, ...]: ...
    @property
    def high_value_threshold(self) -> int | None: ...
    @property
    def sales(self) -> GroupedSales: ...
    @property
    def sales_trend(self) -> Trend: ...
    @property
    def sales_moving_average(self) -> tuple[float | None, ...]: ...
    @property
    def categories(self) -> tuple[GroupedSales, GroupedSales]: ...
    @property
    def cohorts(self) -> CohortMatrix: ...
    @property
    def breakdowns(self) -> tuple[Breakdown, ...]: ...
    @property
    def stars(self) -> tuple[int, ...] | None: ...
    @property
    def rfm(self) -> tuple[tuple[int, ...], ...]: ...
    @property
    def segments(self) -> tuple[tuple[str, int], ...]: ...
    @property
    def sla_by_star(self) -> dict[int, Figure]: ...

    def format_figure(self, figure: Figure, *, interval: bool = True) -> str:
        """The figure for people."""
        ...

_CSS = """
body{font-family:"Noto Sans CJK SC","PingFang SC","Microsoft YaHei",system-ui,sans-serif;
margin:24px;color:#1a202c;background:#f7fafc;max-width:1200px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #cbd5e0}
.tiles{display:flex;flex-wrap:wrap;gap:10px}.charts{display:flex;flex-wrap:wrap;gap:16px}
table{border-collapse:collapse;font-size:13px;background:#fff}
td,th{border:1px solid #e2e8f0;padding:4px 8px;text-align:right}
td:first-child,th:first-child{text-align:left}.nm{color:#718096}
.met{color:#2f855a}.not-met{color:#c53030}.not-measurable{color:#718096}
svg{background:#fff}
""".strip()

_DIMENSIONS = {
    "gender": "gender · 性别", "region": "region · 地区", "age": "age band · 年龄段",
    "aov_band": "AOV band · 客单价区间", "purchase_count": "purchases · 购买次数",
}


def _cls(status: str) -> str:
    return status.replace(" ", "-")


def _major(report: RenderedReport, minor: float) -> float:
    return float(minor) / float(10**report.digits)


def _tiles(report: RenderedReport) -> list[str]:
    out = []
    for r in report.targets:
        en, zh, unit = KPI_LABELS[r.target.kpi]
        cur = report.format_figure(r.current, interval=False)
        base = report.format_figure(r.baseline, interval=False)
        wanted = r.target.describe(report.currency).split(" ", 1)[1]
        detail = f"baseline {base} · target {wanted}"
        if r.reason:
            detail = r.reason[:60]
        share = r.current.value if unit == "share" else None
        goal = r.target.value if unit == "share" and r.target.kind == "level" else None
        out.append(tile(f"{en} · {zh}"[:38], cur, detail, r.status, share, goal))
    return out


def _kpi_table(report: RenderedReport) -> str:
    rows = [('<table class="kpis"><thead><tr><th>KPI · 指标</th><th>baseline · 基期</th>'
            '<th>current · 本期</th><th>change · 变化</th><th>n</th></tr></thead><tbody>')]
    for name, (b, c, d) in report.kpis.items():
        en, zh, _ = KPI_LABELS[name]
        cells = []
        for f in (b, c, d):
            if f.value is None:
                cells.append(f'<td class="nm" title="{escape(f.reason or "")}">not '
                             f'measurable · 无法衡量: {escape(f.reason or "")}</td>')
            else:
                cells.append(f"<td>{escape(report.format_figure(f))}</td>")
        n = "" if c.denominator is None else f"{c.numerator}/{c.denominator}" \
            if c.unit == "share" else f"{c.denominator}"
        rows.append(f"<tr><td>{escape(en)} · {escape(zh)}</td>{''.join(cells)}"
                    f"<td>{escape(n)}</td></tr>")
    rows.append("</tbody></table>")
    return "".join(rows)


def _targets(report: RenderedReport) -> str:
    items = []
    for r in report.targets:
        extra = f": {escape(r.reason)}" if r.reason else ""
        change = "" if r.change.value is None else f" ({r.change.value:+.1%})"
        items.append(f'<li class="{_cls(r.status)}"><b>{escape(r.status)}</b> · '
                     f"{escape(r.target.describe(report.currency))} · "
                     f"{escape(report.format_figure(r.baseline))} → "
                     f"{escape(report.format_figure(r.current))}{escape(change)}{extra}</li>")
    return "<ul>" + "".join(items) + "</ul>"


def _sales(report: RenderedReport) -> Lines:
    s = report.sales
    net = [_major(report, v) for v in s.net.tolist()]
    ma = [None if v is None else _major(report, v) for v in report.sales_moving_average]
    series: list[tuple[str, list[float | None]]] = [
        ("net sales · 销售额", list(net)), ("3-month average · 3月均值", ma)]
    t = report.sales_trend
    if t.slope is not None and t.intercept is not None:
        series.append(("linear trend · 趋势", [_major(report, t.intercept + t.slope * i)
                                               for i in range(len(net))]))
    return Lines(title=f"Net sales by month · 月度销售额 ({report.currency})",
                 labels=s.labels, series=series)


def _categories(report: RenderedReport) -> Bars | NoData:
    base, cur = report.categories
    title = f"Net sales by category · 品类销售额 ({report.currency})"
    if not cur.labels:
        return NoData(title=title, reason="not measurable: the orders have no category · 无品类")
    return Bars(
        title=title, labels=cur.labels,
        series=[("baseline · 基期", [_major(report, v) for v in base.net.tolist()]),
                ("current · 本期", [_major(report, v) for v in cur.net.tolist()])])


def _breakdown(report: RenderedReport, b: Breakdown) -> Bars | NoData:
    title = f"Net sales by {_DIMENSIONS.get(b.dimension, b.dimension)} ({report.currency})"
    if b.reason:
        return NoData(title=title, reason=f"not measurable · 无法衡量: {b.reason}")
    net = [_major(report, v) for v in b.net.tolist()]
    return Bars(title=title, labels=b.labels, series=[("net sales · 销售额", net)])


def _segments(report: RenderedReport) -> Bars | NoData:
    title = "Buyers by RFM segment · RFM 客户分群"
    if not any(count for _, count in report.segments):
        return NoData(title=title, reason="not measurable: no buyers · 无法衡量")
    return Bars(title=title, labels=[name for name, _ in report.segments],
                series=[("buyers · 客户", [count for _, count in report.segments])])


def report_charts(report: RenderedReport) -> dict[str, Chart]:
    """Every chart of the report as a specification (:mod:`custmgmt.charts.spec`), by
    name in the report's order: ``sales``, ``categories``, ``cohorts_returned``,
    ``cohorts_active``, ``stars``, ``rfm``, ``segments``, ``sla``, then
    ``breakdown_<dimension>`` for each breakdown.

    The HTML renders them as SVG; :func:`custmgmt.kpi.export.export_charts` and
    :mod:`custmgmt.plots` draw the same specifications with matplotlib.
    """
    out: dict[str, Chart] = {
        "sales": _sales(report),
        "categories": _categories(report),
        "cohorts_returned": build.cohort_retention(report.cohorts, "returned"),
        "cohorts_active": build.cohort_retention(report.cohorts, "active"),
        "stars": build.star_distribution(report.stars),
        "rfm": build.rfm_grid(report.rfm),
        "segments": _segments(report),
        "sla": build.sla_attainment_by_star(report.sla_by_star),
    }
    for b in report.breakdowns:
        out[f"breakdown_{b.dimension}"] = _breakdown(report, b)
    return out


#: SVG sizes per chart of the page (the rest take the renderer's defaults).
_LAYOUT: dict[str, dict[str, int]] = {
    "cohorts_returned": {"left": 110}, "cohorts_active": {"left": 110},
    "stars": {"width": 460}, "rfm": {"cell": 40, "left": 70}, "segments": {"width": 460},
    "sla": {"width": 460},
}


def _svg(charts: dict[str, Chart], name: str) -> str:
    default = {"width": 460} if name.startswith("breakdown_") else {}
    return to_svg(charts[name], **_LAYOUT.get(name, default))


def _figure_note(f: Figure) -> str:
    return "" if f.reason is None else f.reason


def render_html(report: RenderedReport) -> str:
    """The report as a complete HTML document (see the module docstring)."""
    threshold = report.high_value_threshold
    charts = report_charts(report)
    exact_threshold = Figure(value=float(threshold or 0), numerator=threshold, unit="money")
    hv = ("" if threshold is None else
          f"<p>High-value customer: net spend of at least "
          f"{escape(report.format_figure(exact_threshold))} "
          "in a period (the baseline buyers' 80th percentile) · 高价值客户门槛</p>")
    parts = [
        "<!DOCTYPE html>", '<html lang="zh-CN"><head><meta charset="utf-8">',
        ('<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; img-src data:\">"),
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(report.title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{escape(report.title)}</h1>",
        (f"<p>as of · 截至 {escape(report.as_of.isoformat())} · baseline · 基期 "
        f"{escape(report.baseline.label())} · current · 本期 {escape(report.current.label())}"
        f" · {escape(report.currency)}</p>"),
        "<h2>Targets · 目标</h2>", '<div class="tiles">', *_tiles(report), "</div>",
        _targets(report), "<h2>KPIs · 关键指标</h2>", _kpi_table(report), hv,
        "<h2>Sales · 销售</h2>", '<div class="charts">', _svg(charts, "sales"),
        _svg(charts, "categories"), "</div>", "<h2>Retention · 留存</h2>",
        '<div class="charts">', _svg(charts, "cohorts_returned"),
        _svg(charts, "cohorts_active"), "</div>", "<h2>Customers · 客户</h2>",
        '<div class="charts">', _svg(charts, "stars"), _svg(charts, "rfm"),
        _svg(charts, "segments"), _svg(charts, "sla"), "</div>",
        "<h2>Breakdowns (current period) · 细分（本期）</h2>", '<div class="charts">',
        *(_svg(charts, name) for name in charts if name.startswith("breakdown_")), "</div>",
        ("<footer><p>custmgmt KPI report · generated from the data only; no script, "
        "nothing fetched.</p></footer>"), "</body></html>", "",
    ]
    return "\n".join(parts)
