"""Every public result type shows itself: valid, small HTML and a short repr."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from custmgmt.analytics.clv import analyse_clv
from custmgmt.analytics.clv._summary import TransactionSummary
from custmgmt.analytics.features import customer_features
from custmgmt.analytics.frames import InteractionFrame, OrderFrame
from custmgmt.churn import ChurnEngine
from custmgmt.notebook.display import (
    MAX_TABLE_ROWS,
    Report,
    Table,
    numeric_summary,
    text_width,
)
from custmgmt.rating import RatingPolicy
from custmgmt.rating.result import rate
from custmgmt.segmentation.clustering import cluster_customers
from custmgmt.segmentation.inputs import add_derived_features
from custmgmt.segmentation.migration import migration_matrix
from custmgmt.segmentation.presets import value_tiers
from custmgmt.segmentation.rfm import RFM
from custmgmt.tickets import Ticket, default_calendar, default_sla_policy
from custmgmt.tickets.satisfaction import ticket_statistics
from custmgmt.tickets.sla_vectorised import sla_status_many

AS_OF = datetime(2025, 1, 1, tzinfo=UTC)
VOID = {"br", "hr", "img", "input", "meta", "link", "col", "wbr"}


class _Checker(HTMLParser):
    """Checks that every tag is closed in order; collects the text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.text: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        self.tags.append(tag)
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack, f"</{tag}> closes nothing"
        assert self.stack[-1] == tag, f"</{tag}> closes <{self.stack[-1]}>"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: str) -> _Checker:
    checker = _Checker()
    checker.feed(html)
    checker.close()
    assert checker.stack == [], f"unclosed tags {checker.stack}"
    assert "table" in checker.tags
    return checker


def orders_of(n: int, seed: int = 0) -> OrderFrame:
    rng = np.random.default_rng(seed)
    per = rng.integers(1, 6, n)
    ids = np.repeat(np.arange(n), per)
    days = rng.integers(0, 700, ids.size)
    start = int((AS_OF - timedelta(days=720)).timestamp() * 1_000_000)
    micros = start + days.astype(np.int64) * 86_400_000_000
    return OrderFrame.from_arrays(
        customer_id=ids,
        placed_at=micros,
        amount=rng.integers(1_000, 50_000, ids.size),
        currency="CNY",
        category=np.array(["books", "toys", "服装"])[rng.integers(0, 3, ids.size)],
    )


def interactions_of(orders: OrderFrame, seed: int = 1) -> InteractionFrame:
    rng = np.random.default_rng(seed)
    m = len(orders.customer_ids) * 2
    start = int((AS_OF - timedelta(days=300)).timestamp() * 1_000_000)
    return InteractionFrame.from_arrays(
        customer_id=np.asarray(orders.customer_ids)[rng.integers(0, len(orders.customer_ids), m)],
        at=start + rng.integers(0, 290, m).astype(np.int64) * 86_400_000_000,
        kind=np.array(["browse", "review", "complaint"])[rng.integers(0, 3, m)],
    )


def _ticket(i: int) -> Ticket:
    return Ticket.open(
        id=f"T-{i}", customer_id=f"c-{i % 7}", category="logistics", priority="normal",
        subject="快递三天没有更新 13812341234", at=AS_OF - timedelta(hours=30 + i), actor="web",
    )


def results(n: int) -> dict[str, Any]:
    """One instance of every public result type, over ``n`` customers."""
    orders = orders_of(n)
    interactions = interactions_of(orders)
    features = add_derived_features(customer_features(orders, interactions, as_of=AS_OF))
    segments = value_tiers().assign(features)
    clv = analyse_clv(orders, as_of=AS_OF, time_limit=None)
    tickets = [_ticket(i) for i in range(12)]
    found: dict[str, Any] = {
        "OrderFrame": orders,
        "InteractionFrame": interactions,
        "CustomerFeatures": features,
        "Rating": rate(RatingPolicy.default(), features, as_of=AS_OF),
        "Segmentation": segments,
        "RFMScores": RFM().score(features),
        "Clustering": cluster_customers(features, k=3),
        "Migration": migration_matrix(segments, segments),
        "ChurnReport": ChurnEngine().evaluate(orders, interactions, as_of=AS_OF),
        "ClvReport": clv,
        "TransactionSummary": clv.summary,
        "SLAStatusFrame": sla_status_many(
            tickets, default_sla_policy(), default_calendar(), AS_OF
        ),
        "TicketStatistics": ticket_statistics(tickets, AS_OF),
        "RatingPolicy": RatingPolicy.default(),
        "Scheme": value_tiers(),
    }
    for fit in clv.fits:
        found[f"ModelFit {fit.key}"] = fit
        found[type(fit.model).__name__] = fit.model
    return found


@pytest.fixture(scope="module")
def small() -> dict[str, Any]:
    return results(300)


@pytest.fixture(scope="module")
def larger() -> dict[str, Any]:
    return results(3000)


EXPECTED = {
    "OrderFrame", "InteractionFrame", "CustomerFeatures", "Rating", "Segmentation",
    "RFMScores", "Clustering", "Migration", "ChurnReport", "ClvReport",
    "TransactionSummary", "SLAStatusFrame", "TicketStatistics", "BetaGeo", "ParetoNBD",
    "GammaGamma", "ModelFit bg", "ModelFit pnbd", "ModelFit gg", "RatingPolicy", "Scheme",
}


CONFIGURATION = {"RatingPolicy", "Scheme"}


def test_every_public_result_type_has_valid_small_html_and_a_short_repr(
    small: dict[str, Any],
) -> None:
    assert set(small) == EXPECTED
    for name, value in small.items():
        html, line = check_display(name, value)
        assert "13812341234" not in html + line


def check_display(name: str, value: Any) -> tuple[str, str]:
    """Valid HTML under 50 KB and a one-line repr (short unless it is a definition)."""
    html = value._repr_html_()
    parse(html)
    assert len(html.encode()) < 50_000, name
    line = repr(value)
    assert "\n" not in line, name
    if name not in CONFIGURATION:  # values whose repr is their full definition
        assert len(line) < 200, (name, line)
    return html, line


def test_the_html_summarises_so_it_does_not_grow_with_the_customers(
    small: dict[str, Any], larger: dict[str, Any]
) -> None:
    for name in EXPECTED - {"CustomerFeatures"}:
        a, b = len(small[name]._repr_html_()), len(larger[name]._repr_html_())
        # Only the digits of counts and statistics may differ.
        assert abs(b - a) < 0.1 * a + 200, (name, a, b)


def test_the_rating_html_shows_the_star_distribution(small: dict[str, Any]) -> None:
    rating = small["Rating"]
    text = "".join(parse(rating._repr_html_()).text)
    for level, count in rating.distribution().items():
        assert f"{level}★{count:,}" in text
    assert repr(rating).startswith("Rating(policy='default', customers=300")


def test_the_segmentation_html_lists_every_segment_with_its_count(
    small: dict[str, Any],
) -> None:
    seg = small["Segmentation"]
    text = "".join(parse(seg._repr_html_()).text)
    for name, count in seg.sizes().items():
        assert f"{name}{count:,}" in text


def test_policies_and_schemes_show_their_criteria_and_rules(small: dict[str, Any]) -> None:
    policy = small["RatingPolicy"]
    text = "".join(parse(policy._repr_html_()).text)
    for c in policy.criteria:
        assert f"{c.name}{c.feature}{c.weight:g}" in text
    scheme = small["Scheme"]
    text = "".join(parse(scheme._repr_html_()).text)
    for segment in scheme.segments:
        assert segment.name in text


def test_the_churn_html_counts_customers_per_risk_level(small: dict[str, Any]) -> None:
    report = small["ChurnReport"]
    text = "".join(parse(report._repr_html_()).text)
    for level, count in report.risk_counts().items():
        assert f"{level}{count:,}" in text


def test_an_unfitted_model_says_so_and_a_fitted_one_shows_its_estimates(
    small: dict[str, Any],
) -> None:
    from custmgmt.analytics.clv import BetaGeo

    assert "not fitted" in BetaGeo()._repr_html_()
    model = small["BetaGeo"]
    text = "".join(parse(model._repr_html_()).text)
    for name in ("r", "alpha", "a", "b", "log-likelihood"):
        assert name in text


def test_text_is_escaped_and_long_tables_are_cut() -> None:
    table = Table(caption="<b>", header=("a&b",), rows=tuple((i,) for i in range(100)))
    report = Report("x<script>", facts=[("名字", "<i>")])
    report.add(table)
    html = report.to_html()
    parse(html)
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert html.count("<tr>") == MAX_TABLE_ROWS + 3  # fact, header, rows, "... more"
    assert "70 more rows" in html


def test_the_numeric_summary_matches_numpy() -> None:
    values = np.random.default_rng(5).normal(size=1001)
    values[::10] = np.nan
    row = numeric_summary({"v": values}).rows[0]
    finite = values[~np.isnan(values)]
    assert row[:3] == ("v", 1001, 101)
    np.testing.assert_allclose(row[3:], [finite.mean(), finite.min(),
                                         *np.percentile(finite, [25, 50, 75]), finite.max()])


@pytest.mark.slow
def test_a_million_customers_display_in_under_50_kb() -> None:
    n = 1_000_000
    rng = np.random.default_rng(0)
    start = int((AS_OF - timedelta(days=720)).timestamp() * 1_000_000)
    orders = OrderFrame.from_arrays(
        customer_id=np.arange(n),
        placed_at=start + rng.integers(0, 700, n).astype(np.int64) * 86_400_000_000,
        amount=rng.integers(1_000, 50_000, n),
        currency="CNY",
    )
    features = add_derived_features(customer_features(orders, as_of=AS_OF))
    summary = TransactionSummary(
        customer_ids=np.arange(n), frequency=rng.integers(0, 5, n),
        recency=rng.random(n), T=rng.random(n) + 1,
    )
    for value in (orders, features, value_tiers().assign(features), RFM().score(features),
                  summary, *columnar_results(n).values()):
        html = value._repr_html_()
        parse(html)
        assert len(html.encode()) < 50_000, type(value).__name__


def test_summary_is_the_same_report_as_aligned_text(small: dict[str, Any]) -> None:
    for name, value in small.items():
        if not hasattr(value, "summary") or not callable(value.summary):
            continue
        if name in {"RFMScores", "ClvReport"}:  # summary() means something else there
            continue
        text = value.summary()
        assert text.endswith("\n"), name
        assert "<" not in text.replace("<=", ""), name
    rating = small["Rating"]
    for level, count in rating.distribution().items():
        assert any(line.split() == [f"{level}★", str(count),
                                    f"{count / len(rating):.1%}"]
                   for line in rating.summary().splitlines())


def test_chinese_text_lines_up_in_the_text_tables() -> None:
    table = Table(caption="分群", header=("segment", "customers"),
                  rows=(("高价值客户", 12), ("low", 3), ("流失风险", 1_234)))
    lines = table.to_text().splitlines()[1:]
    widths = {text_width(line) for line in lines}
    assert len(widths) == 1  # every row ends in the same terminal column
    assert text_width("高价值客户") == 10
    assert lines[1].startswith("  高价值客户")


# -- the later capabilities: loyalty, recommend, risk, campaigns, KPIs, prospects, team --

EXPECTED_LATER = {
    "Statement", "TierStatus", "TierScheme", "BalanceTable", "Recommendations",
    "EvaluationReport", "ScoreRun", "ScoreBatch", "Scorecard", "AlertRun", "AudiencePreview",
    "CampaignReport", "UpliftReport", "KpiReport", "Funnel", "OutreachEffect",
    "PerformanceFrame", "TeamPerformance", "TrainingEffect",
}

#: The per-customer (or per-ticket) ones, built from arrays at any size.
COLUMNAR_LATER = {"BalanceTable", "Recommendations", "ScoreRun", "ScoreBatch",
                  "PerformanceFrame"}


def demo_results(store: Any, as_of: datetime) -> dict[str, Any]:
    """One of each later result type, from the demo store through the library's services."""
    from custmgmt.campaigns import audience_table, campaign_report, preview_audience
    from custmgmt.cli.demo_engagement import DEMO_CAMPAIGN_ID
    from custmgmt.cli.demo_risk import DEMO_CARD
    from custmgmt.cli.report import default_periods
    from custmgmt.kpi import KpiInputs, KpiReport
    from custmgmt.loyalty import TierScheme, statement, tier_status
    from custmgmt.loyalty.balances import LedgerColumns, balances
    from custmgmt.prospects import DEFAULT_PIPELINE, funnel, outreach_effect
    from custmgmt.rating import current_stars
    from custmgmt.recommend import ItemItemModel, Purchases, evaluate_store
    from custmgmt.risk import DEFAULT_RULES, raise_alerts, score_customers
    from custmgmt.team.performance import training_effect
    from custmgmt.team.services import performance, performance_frame

    found: dict[str, Any] = {}
    holder = min(e.customer_id for chunk in store.loyalty.iter_chunks() for e in chunk)
    found["Statement"] = statement(store, holder, as_of=as_of)
    found["TierStatus"] = tier_status(store, holder, as_of=as_of)
    found["TierScheme"] = TierScheme.default()
    found["BalanceTable"] = balances(LedgerColumns.from_entries(store.loyalty.iter_chunks()),
                                     as_of=as_of)
    purchases = Purchases.from_store(store, as_of=as_of)
    found["Recommendations"] = ItemItemModel().fit(purchases).recommend(
        [str(c) for c in purchases.customer_ids.tolist()], k=5, as_of=as_of)
    found["EvaluationReport"] = evaluate_store(store, as_of=as_of, split="last", k=5)
    run = score_customers(store, DEMO_CARD, as_of=as_of, run_id="display-test")
    found["ScoreRun"] = run
    found["ScoreBatch"] = run.batch
    found["Scorecard"] = DEMO_CARD
    found["AlertRun"] = raise_alerts(store, DEFAULT_RULES, as_of=as_of)
    table = audience_table(store, as_of=as_of)
    found["AudiencePreview"] = preview_audience(store, DEMO_CAMPAIGN_ID, table, at=as_of)
    report = campaign_report(store, DEMO_CAMPAIGN_ID, as_of=as_of, replicates=200)
    found["CampaignReport"] = report
    found["UpliftReport"] = report.uplift
    inputs = KpiInputs.from_store(store, currency="CNY", as_of=as_of,
                                  sla_policy=default_sla_policy(), calendar=default_calendar())
    baseline, current = default_periods(as_of)
    found["KpiReport"] = KpiReport.build(inputs, baseline=baseline, current=current,
                                         as_of=as_of)
    prospects = [p for p in store.prospects.find() if p.created_at <= as_of]
    contacts = store.prospects.contacts(until=as_of + timedelta(microseconds=1))
    found["Funnel"] = funnel(prospects, DEFAULT_PIPELINE)
    found["OutreachEffect"] = outreach_effect(prospects, contacts, DEFAULT_PIPELINE)
    stars = current_stars(store, as_of)
    frame = performance_frame(store, as_of=as_of, policy=default_sla_policy(), stars=stars)
    found["PerformanceFrame"] = frame
    found["TeamPerformance"] = performance(
        store, start=as_of - timedelta(days=90), end=as_of, calendar=default_calendar(),
        policy=default_sla_policy(), stars=stars)
    found["TrainingEffect"] = training_effect(frame, frame.agent_ids[0],
                                              as_of - timedelta(days=30),
                                              calendar=default_calendar())
    return found


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The demo's SQLite store of 150 customers (every capability filled)."""
    from custmgmt.adapters.sqlite import SQLiteStore
    from custmgmt.cli import main

    db = tmp_path_factory.mktemp("display-demo") / "demo.sqlite3"
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["demo", "--db", str(db), "--customers", "150"]) == 0
    store = SQLiteStore(Path(db))
    try:
        yield store
    finally:
        store.close()


@pytest.fixture(scope="module")
def later(demo_store: Any) -> dict[str, Any]:
    from custmgmt.cli.demo import DEFAULT_AS_OF

    return demo_results(demo_store, DEFAULT_AS_OF)


def columnar_results(n: int, seed: int = 0) -> dict[str, Any]:
    """The per-customer later results over ``n`` customers, from arrays."""
    from custmgmt.cli.demo_risk import DEMO_CARD
    from custmgmt.loyalty.balances import BalanceTable
    from custmgmt.recommend import Recommendations
    from custmgmt.risk import ScoreRun
    from custmgmt.team import PerformanceFrame

    rng = np.random.default_rng(seed)
    ids = np.asarray([f"C{i:07d}" for i in range(n)], dtype=object)
    balance = rng.integers(0, 5_000, n)
    debt = np.where(rng.random(n) < 0.05, rng.integers(1, 300, n), 0)
    k = 5
    catalogue = np.asarray([f"SKU-{i:05d}" for i in range(2_000)], dtype=object)
    items = catalogue[rng.integers(0, catalogue.size, (n, k))]
    items[rng.random((n, k)) < 0.1] = None
    features = {t.feature: rng.random(n) * 3 for t in DEMO_CARD.tables}
    batch = DEMO_CARD.score_columns(features)
    agents = 12
    start = int((AS_OF - timedelta(days=90)).timestamp() * 1_000_000)
    created = start + rng.integers(0, 80 * 86_400, n).astype(np.int64) * 1_000_000
    return {
        "BalanceTable": BalanceTable(customer_ids=ids, balance=balance - debt,
                                     available=balance, locked=rng.integers(0, 100, n),
                                     debt=debt),
        "Recommendations": Recommendations(
            customer_ids=tuple(ids.tolist()), items=items, scores=rng.random((n, k)),
            from_history=rng.random((n, k)) < 0.7),
        "ScoreRun": ScoreRun(id="run-1", card_name=DEMO_CARD.name,
                             card_version=DEMO_CARD.version, as_of=AS_OF, customer_ids=ids,
                             batch=batch),
        "ScoreBatch": batch,
        "PerformanceFrame": PerformanceFrame.from_arrays(
            agent_ids=[f"a{i:02d}" for i in range(agents)], as_of=AS_OF,
            agent=rng.integers(-1, agents, n), created=created,
            first_response=created + rng.integers(1, 7_200, n) * 1_000_000,
            satisfaction=rng.integers(0, 6, n)),
    }


def test_every_later_capability_result_type_has_valid_small_html_and_a_short_repr(
    later: dict[str, Any], demo_store: Any,
) -> None:
    assert set(later) == EXPECTED_LATER
    names = [c.name for chunk in demo_store.customers.iter_chunks() for c in chunk]
    for name, value in later.items():
        html, line = check_display(name, value)
        text = value.summary() if name != "KpiReport" else value.to_text()
        assert text.endswith("\n"), name
        # Personal data stays out: no customer's name appears anywhere.
        shown = html + line + text
        assert not [n for n in names if len(n) > 1 and n in shown], name


def test_the_later_columnar_results_summarise_so_they_do_not_grow_with_the_customers() -> None:
    small, larger = columnar_results(300), columnar_results(3000)
    assert set(small) == COLUMNAR_LATER
    for name in COLUMNAR_LATER:
        a, b = len(small[name]._repr_html_()), len(larger[name]._repr_html_())
        assert abs(b - a) < 0.1 * a + 200, (name, a, b)


def test_the_later_displays_show_their_counts(later: dict[str, Any]) -> None:
    run = later["ScoreRun"]
    text = "".join(parse(run._repr_html_()).text)
    for grade, count in run.batch.distribution().items():
        assert f"{grade}{count:,}" in text
    preview = later["AudiencePreview"]
    text = "".join(parse(preview._repr_html_()).text)
    for reason, count in preview.counts().items():
        assert f"{reason.value}{count:,}" in text
    statement = later["Statement"]
    assert f"balance{statement.balance:,}" in "".join(parse(statement._repr_html_()).text)
    funnel = later["Funnel"]
    text = "".join(parse(funnel._repr_html_()).text)
    for step in funnel.steps:
        assert f"{step.stage}{step.reached:,}" in text
    team = later["TeamPerformance"]
    text = "".join(parse(team._repr_html_()).text)
    for i, agent in enumerate(team.agent_ids):
        assert f"{agent}{team.teams[i] or ''}{int(team.handled[i]):,}" in text
    kpi = later["KpiReport"]
    assert "<svg" not in kpi._repr_html_()
    assert "<svg" in kpi.to_html()


def test_the_later_per_customer_results_export_one_row_per_customer(
    later: dict[str, Any],
) -> None:
    pytest.importorskip("pandas")
    run = later["ScoreRun"]
    df = run.to_pandas()
    assert df["customer_id"].tolist() == run.customer_ids.tolist()
    assert np.shares_memory(df["score"].to_numpy(), run.batch.scores)
    assert df["grade"].astype(str).tolist() == [run.batch.grade_of(i) for i in range(len(df))]
    recs = later["Recommendations"]
    long = recs.to_pandas()
    k = recs.scores.shape[1]
    assert len(long) == len(recs.customer_ids) * k
    assert np.shares_memory(long["score"].to_numpy(), recs.scores)
    for i, customer in enumerate(recs.customer_ids[:20]):
        mine = long[long["customer_id"] == customer].dropna(subset=["item"])
        assert mine["item"].tolist() == recs.for_customer(customer)
        assert mine["rank"].tolist() == list(range(1, len(mine) + 1))
        assert mine["score"].tolist() == recs.scores[i, : len(mine)].tolist()
    preview = later["AudiencePreview"]
    decisions = preview.to_pandas()
    counted = decisions["decision"].value_counts().to_dict()
    assert {r: n for r, n in counted.items() if n} == {
        r.value: n for r, n in preview.counts().items() if n}
    balances = later["BalanceTable"]
    assert balances.to_polars()["balance"].to_list() == balances.balance.tolist()
