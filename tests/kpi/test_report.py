"""KpiReport: targets met / not met / not measurable, edge cases, renderings, bad input."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from custmgmt.analytics.frames import InteractionFrame, OrderFrame
from custmgmt.errors import ValidationError
from custmgmt.kpi import (
    DEFAULT_TARGETS,
    CustomerAttributes,
    KpiInputs,
    KpiReport,
    Period,
    SummaryTemplate,
    Target,
    cohort_matrix,
)

JAN = datetime(2026, 1, 1, tzinfo=UTC)
APR = datetime(2026, 4, 1, tzinfo=UTC)
JUL = datetime(2026, 7, 1, tzinfo=UTC)
BASE, CUR = Period(JAN, APR), Period(APR, JUL)
AS_OF = datetime(2026, 6, 30, 12, tzinfo=UTC)


def _orders(rows: list[tuple[int, str, int, str]], **kw: Any) -> OrderFrame:
    return OrderFrame.from_arrays(
        customer_id=np.array([r[0] for r in rows], dtype=np.int64),
        placed_at=np.array([r[1] for r in rows], dtype="datetime64[D]"),
        amount=np.array([r[2] for r in rows], dtype=np.int64),
        status=[r[3] for r in rows], currency="CNY", **kw)


def _report(orders: OrderFrame, **kw: Any) -> KpiReport:
    return KpiReport.build(KpiInputs(orders=orders, **kw), baseline=BASE, current=CUR,
                           as_of=AS_OF, **{k: v for k, v in kw.items() if k == "targets"})


def test_targets_are_met_not_met_or_not_measurable_with_the_reason() -> None:
    orders = _orders([(1, "2026-01-05", 1000, "delivered"), (2, "2026-02-05", 1000, "delivered"),
                      (1, "2026-04-05", 1500, "delivered"), (3, "2026-05-05", 100, "cancelled")])
    report = KpiReport.build(
        KpiInputs(orders=orders), baseline=BASE, current=CUR, as_of=AS_OF,
        targets=[Target("net_sales", "change", 0.10), Target("orders", "change", 0.5),
                 Target("cancellation_rate", "level", 0.2),
                 Target("satisfaction_share", "level", 0.9)])
    status = {r.target.kpi: r for r in report.targets}
    # 2000 -> 1500: -25%, below +10%; orders 2 -> 1; cancellations 0% -> 50% > 20%
    assert status["net_sales"].status == "not met"
    assert status["net_sales"].change.value == pytest.approx(-0.25)
    assert status["orders"].status == "not met"
    assert status["cancellation_rate"].status == "not met"
    assert status["cancellation_rate"].current.numerator == 1
    assert status["satisfaction_share"].status == "not measurable"
    assert "no reviews or ticket surveys" in (status["satisfaction_share"].reason or "")
    easier = KpiReport.build(KpiInputs(orders=orders), baseline=BASE, current=CUR, as_of=AS_OF,
                             targets=[Target("net_sales", "change", -0.3),
                                      Target("cancellation_rate", "level", 0.6)])
    assert [r.status for r in easier.targets] == ["met", "met"]


def test_a_rate_carries_numerator_denominator_and_a_wilson_interval() -> None:
    orders = _orders([(c, "2026-05-01", 100, "delivered") for c in range(10)]
                     + [(c, "2026-05-02", 100, "delivered") for c in range(3)])
    f = _report(orders).figure("repeat_purchase_rate")
    assert (f.numerator, f.denominator, f.value) == (3, 10, 0.3)
    assert f.low is not None
    assert f.high is not None
    assert f.low < 0.3 < f.high


def test_empty_periods_give_not_measurable_figures_never_nan_or_errors() -> None:
    orders = _orders([(1, "2025-03-01", 100, "delivered")])
    report = _report(orders)
    for name, (_b, c, _) in report.kpis.items():
        if name in ("orders", "buyers"):
            assert c.value == 0
            continue
        assert c.value is None, name
        assert c.reason, name
    data = json.loads(report.to_json())  # allow_nan=False: a NaN would raise here
    assert data["kpis"]["net_sales"]["current"]["reason"] == "no counted orders in the period"
    assert "nan" not in report.to_text().lower()
    assert "NaN" not in report.to_html()
    assert {r.status for r in report.targets} == {"not measurable"}


def test_an_empty_frame_makes_a_report_too() -> None:
    orders = _orders([])
    report = _report(orders)
    assert report.cohorts.sizes.sum() == 0
    assert "not measurable" in report.to_html()


def test_a_cohort_of_one_customer() -> None:
    orders = _orders([(7, "2026-03-03", 500, "delivered"), (7, "2026-05-03", 500, "delivered")])
    m = cohort_matrix(orders, AS_OF, 6)
    i = m.cohorts.index("2026-03")
    assert m.sizes.tolist()[i] == 1
    assert m.returned[i, :5].tolist() == [1, 0, 1, 0, -1]
    assert m.active[i, :5].tolist() == [1, 1, 1, 0, -1]
    assert np.isnan(m.shares()[i, 4])
    assert "2026-03 (1)" in _report(orders).to_html()


def test_all_missing_gender_is_not_measurable_with_the_reason() -> None:
    from custmgmt.domain import Customer

    orders = _orders([(1, "2026-05-01", 100, "delivered"), (2, "2026-05-02", 200, "delivered")])
    customers = CustomerAttributes.from_customers(
        Customer(id=str(i), name="王芳", registered_at=JAN) for i in (1, 2))
    report = KpiReport.build(KpiInputs(orders=orders, customers=customers), baseline=BASE,
                             current=CUR, as_of=AS_OF)
    by = {b.dimension: b for b in report.breakdowns}
    assert by["gender"].reason == "no buyer with a known gender"
    assert by["gender"].unknown == 2
    assert "no buyer with a known gender" in report.to_html()
    assert "not measurable: no buyer with a known gender" in report.to_text()


def test_overlapping_periods_unknown_kpis_and_inverted_ranges_are_refused() -> None:
    orders = _orders([(1, "2026-05-01", 100, "delivered")])
    with pytest.raises(ValidationError, match="baseline"):
        KpiReport.build(KpiInputs(orders=orders), baseline=Period(JAN, APR + timedelta(days=1)),
                        current=CUR, as_of=AS_OF)
    with pytest.raises(ValidationError, match=r"Target\.kpi.*happiness"):
        Target("happiness", "level", 0.9)
    with pytest.raises(ValidationError, match="kind"):
        Target("net_sales", "double", 2)
    with pytest.raises(ValidationError, match="finite"):
        Target("net_sales", "change", float("nan"))
    with pytest.raises(ValidationError, match="kpi"):
        Target.from_dict({"kpi": "nps", "kind": "level", "value": 1})
    with pytest.raises(ValidationError, match="Period"):
        Period(JUL, APR)


def test_the_json_is_the_data_versioned() -> None:
    orders = _orders([(1, "2026-02-01", 100, "delivered"), (1, "2026-05-01", 300, "returned")])
    data = json.loads(_report(orders).to_json())
    assert (data["schema"], data["version"]) == ("custmgmt.kpi.report", 1)
    assert data["kpis"]["net_sales"]["current"]["numerator"] == 300
    assert [t["kpi"] for t in data["targets"]] == [t.kpi for t in DEFAULT_TARGETS]
    assert "<svg" not in json.dumps(data)  # no rendering in the data
    assert "<html" not in json.dumps(data)


def test_the_same_input_gives_byte_identical_html_and_json() -> None:
    rng = np.random.default_rng(5)
    n = 3000
    orders = OrderFrame.from_arrays(
        customer_id=rng.integers(0, 400, n),
        placed_at=np.datetime64("2025-01-01") + rng.integers(0, 540, n).astype("timedelta64[D]"),
        amount=rng.integers(100, 50_000, n), currency="CNY",
        category=list(rng.choice(["茶叶", "books", "toys"], n)))
    a, b = _report(orders), _report(orders)
    assert a.to_html().encode() == b.to_html().encode()
    assert a.to_json() == b.to_json()
    # A notebook shows the compact summary; to_html() is the whole charted file.
    assert a._repr_html_() == b._repr_html_()
    assert len(a._repr_html_()) < len(a.to_html())
    assert "<svg" not in a._repr_html_()


class _Structure(HTMLParser):
    VOID: ClassVar[set[str]] = {"meta", "br", "img", "input", "link", "hr", "circle", "rect",
                                "line", "polyline"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.svgs: list[dict[str, str | None]] = []
        self.tags: list[str] = []
        self.decl: list[str] = []

    def handle_decl(self, decl: str) -> None:
        self.decl.append(decl)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        attributes = dict(attrs)
        for name, value in attrs:
            if name in ("src", "href", "xlink:href") or name.startswith("on"):
                self.errors.append(f"{tag} {name}={value}")
        if tag == "svg":
            self.svgs.append(attributes)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()


def check_structure(html: str) -> _Structure:
    parser = _Structure()
    parser.feed(html)
    parser.close()
    assert parser.decl == ["DOCTYPE html"]
    assert parser.errors == []
    assert parser.stack == []
    assert parser.tags[:3] == ["html", "head", "meta"]
    assert "script" not in parser.tags
    assert "iframe" not in parser.tags
    assert "default-src 'none'" in html
    for svg in parser.svgs:
        assert float(svg["width"] or 0) > 0
        assert float(svg["height"] or 0) > 0
        assert svg["viewbox"]
        assert svg["aria-label"]
    return parser


def test_the_demo_report_is_well_formed_self_contained_html(demo_report_html: Path) -> None:
    html = demo_report_html.read_text(encoding="utf-8")
    parser = check_structure(html)
    assert len(parser.svgs) >= 10
    for label in ("Targets · 目标", "同期群留存", "RFM", "客户星级分布", "Net sales by month"):
        assert label in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in html


def test_the_report_of_a_store_reads_interactions_tickets_and_stars(demo_db: Path) -> None:
    from custmgmt.adapters.sqlite import SQLiteStore
    from custmgmt.tickets import default_calendar, default_sla_policy

    store = SQLiteStore(demo_db, mode="read_only")
    try:
        as_of = datetime(2026, 6, 30, 23, 59, tzinfo=UTC)
        inputs = KpiInputs.from_store(store, currency="CNY", as_of=as_of,
                                      sla_policy=default_sla_policy(),
                                      calendar=default_calendar())
    finally:
        store.close()
    assert isinstance(inputs.interactions, InteractionFrame)
    assert inputs.ticket_score is not None
    assert inputs.sla_met is not None
    assert inputs.stars is not None
    report = KpiReport.build(inputs, baseline=BASE, current=CUR, as_of=as_of)
    assert report.figure("satisfaction_share").measurable
    assert report.stars is not None
    assert sum(report.stars) == inputs.orders.n_customers


def test_the_summary_fills_the_mission_template_with_the_figures() -> None:
    orders = _orders([(1, "2026-02-01", 100, "delivered"), (1, "2026-05-01", 300, "delivered")])
    text = _report(orders).summary(SummaryTemplate(title="会员计划 2026"))
    for heading in ("# 会员计划 2026", "## Goals", "## Background and current state",
                    "## Strategy", "## Expected results and criteria", "## Risks"):
        assert heading in text
    assert "Net sales / 销售额: 3.00 CNY" in text
    assert "net_sales +10% vs baseline: met" in text


@pytest.mark.slow
def test_the_html_for_a_million_customers_and_24_cohorts_stays_under_400_kb() -> None:
    rng = np.random.default_rng(11)
    n_customers, n = 1_000_000, 2_000_000
    first = rng.integers(0, 24 * 30, n_customers)
    cust = np.concatenate([np.arange(n_customers), rng.integers(0, n_customers, n - n_customers)])
    day = np.concatenate([first, first[cust[n_customers:]] + rng.integers(0, 200, n - n_customers)])
    start = np.datetime64("2024-07-01")
    orders = OrderFrame.from_arrays(
        customer_id=cust, placed_at=start + np.minimum(day, 729).astype("timedelta64[D]"),
        amount=rng.integers(100, 100_000, n), currency="CNY",
        category=rng.choice(np.array(["服装", "图书", "茶叶", "toys", "home", "beauty"]), n))
    report = _report(orders)
    assert (report.cohorts.sizes > 0).sum() == 24
    html = report.to_html().encode()
    print(f"HTML report for 1M customers, 24x24 cohorts: {len(html):,} bytes")
    assert len(html) < 400_000, len(html)
    assert _report(orders).to_html().encode() == html
    check_structure(html.decode())


def test_the_segment_distribution_adds_up_the_rfm_grid_by_the_ten_segment_map() -> None:
    from custmgmt.kpi.measures import segment_distribution
    from custmgmt.segmentation.rfm import TEN_SEGMENTS

    grid = np.arange(25).reshape(5, 5)
    got = dict(segment_distribution(grid))
    assert sum(got.values()) == grid.sum()
    for r in range(1, 6):
        for f in range(1, 6):
            name = TEN_SEGMENTS.segment_at(r, f)
            assert got[name] >= grid[r - 1, f - 1]
    assert got["champions"] == grid[4, 3] + grid[4, 4]
    with pytest.raises(ValidationError, match="grid"):
        segment_distribution(np.zeros((4, 5)))


@pytest.mark.parametrize("suffix", ["png", "pdf"])
def test_charts_export_to_png_and_pdf_identically_twice(tmp_path: Path, suffix: str) -> None:
    pytest.importorskip("matplotlib")
    orders = _orders([(1, "2026-02-01", 100, "delivered"), (1, "2026-05-01", 300, "delivered"),
                      (2, "2026-05-03", 800, "delivered")])
    report = _report(orders)
    a, b = tmp_path / f"a.{suffix}", tmp_path / f"b.{suffix}"
    report.export_charts(a)
    report.export_charts(b)
    head = {"png": b"\x89PNG", "pdf": b"%PDF"}[suffix]
    assert a.read_bytes().startswith(head)
    assert a.read_bytes() == b.read_bytes()


def test_chart_export_refuses_other_formats(tmp_path: Path) -> None:
    orders = _orders([(1, "2026-05-01", 300, "delivered")])
    with pytest.raises(ValidationError, match=r"\.png or \.pdf"):
        _report(orders).export_charts(tmp_path / "chart.svg")


def test_category_growth_compares_each_category_with_its_baseline() -> None:
    orders = _orders([(1, "2026-02-01", 100, "delivered"), (1, "2026-05-01", 300, "delivered"),
                      (2, "2026-05-03", 800, "delivered")], category=["茶叶", "茶叶", "图书"])
    report = _report(orders)
    assert report.categories[1].labels == ("图书", "茶叶")
    assert report.category_growth() == (None, 2.0)
    assert json.loads(report.to_json())["sales_by_category"]["growth"] == [None, 2.0]
    assert "+200.0%" in report.to_text()
