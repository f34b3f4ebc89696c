"""Every public result type shows itself: valid, small HTML and a short repr."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
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
        html = value._repr_html_()
        parse(html)
        assert len(html.encode()) < 50_000, name
        line = repr(value)
        assert "\n" not in line, name
        if name not in CONFIGURATION:  # values whose repr is their full definition
            assert len(line) < 200, (name, line)
        assert "13812341234" not in html + line


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
                  summary):
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
