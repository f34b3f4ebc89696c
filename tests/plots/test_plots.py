"""Each plot drawn on the Agg backend for the CDNOW sample and a demo store, checked by
what was drawn (the image's shape and range, the bars, the lines' data) against slow
references; the same specifications rendered as SVG."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from custmgmt import charts, plots
from custmgmt.analytics.clv import ClvReport
from custmgmt.analytics.frames import OrderFrame
from custmgmt.errors import ValidationError

from .conftest import Demo

SVG = "{http://www.w3.org/2000/svg}"


def image_of(ax: Any) -> np.ma.MaskedArray:
    (image,) = ax.images
    return np.ma.asarray(image.get_array())


def bar_heights(ax: Any) -> list[float]:
    return [float(p.get_height()) for p in ax.patches]


def bar_widths(ax: Any) -> list[float]:
    return [float(p.get_width()) for p in ax.patches]


def saved_pixels(ax: Any, path: Path, plt: Any) -> np.ndarray:
    ax.figure.savefig(path, dpi=50)
    pixels = plt.imread(path)
    assert pixels.ndim == 3
    assert pixels.shape[2] == 4
    assert pixels.min() >= 0.0
    assert pixels.max() <= 1.0
    assert np.unique(pixels.reshape(-1, 4), axis=0).shape[0] > 10  # something was drawn
    return pixels


def svg_root(spec: charts.Chart) -> ET.Element:
    root = ET.fromstring(charts.to_svg(spec))
    assert root.tag == f"{SVG}svg"
    assert float(root.attrib["width"]) > 0
    assert float(root.attrib["height"]) > 0
    assert root.find(f"{SVG}title") is not None
    return root


def heatmap_cells(root: ET.Element) -> list[ET.Element]:
    return [r for r in root.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]


# -- CLV diagnostics ------------------------------------------------------------------


def clv_sources(request: pytest.FixtureRequest) -> ClvReport:
    name = request.param
    return request.getfixturevalue("cdnow_clv") if name == "cdnow" else \
        request.getfixturevalue("demo").clv


@pytest.fixture(params=["cdnow", "demo"])
def clv(request: pytest.FixtureRequest) -> ClvReport:
    return clv_sources(request)


@pytest.mark.parametrize("key", ["bg", "pnbd"])
def test_the_frequency_recency_matrix_holds_the_models_predictions_on_its_grid(
    clv: ClvReport, key: str, pyplot: Any, tmp_path: Path
) -> None:
    model, summary = clv.model(key), clv.summary
    ax = plots.frequency_recency_matrix(clv, model=key)
    data = image_of(ax)
    spec = charts.frequency_recency_matrix(clv, model=key)
    T = float(summary.T.max())
    top = int(summary.frequency.max())
    # every whole number up to the highest frequency and the oldest age, and that age
    # (when they fit in MAX_GRID points; else MAX_GRID - 1 evenly spaced whole numbers)
    def grid(top: float) -> list[float]:
        whole = [float(v) for v in range(math.floor(top) + 1)] + ([top] if top % 1 else [])
        if len(whole) <= charts.build.MAX_GRID:
            return whole
        spaced = {float(round(v)) for v in np.linspace(0, math.floor(top), 39)} | {top}
        return sorted(spaced)

    frequencies, recencies = grid(float(top)), grid(T)
    assert len(frequencies) <= charts.build.MAX_GRID
    assert len(recencies) <= charts.build.MAX_GRID
    assert list(spec.columns) == [f"{f:g}" for f in frequencies]
    assert data.shape == (len(recencies), len(frequencies))
    for i, r in enumerate(recencies):  # the slow way: one cell at a time
        for j, f in enumerate(frequencies):
            if f == 0 and r > 0:
                assert data.mask[i, j], (r, f)  # no repeat purchase, no recency
                continue
            expected = float(model.predict_purchases(1.0, f, r, T))
            assert data[i, j] == pytest.approx(expected, rel=1e-12)
    assert data.min() >= 0.0
    assert ax.images[0].get_clim() == (0.0, pytest.approx(data.max()))
    saved_pixels(ax, tmp_path / "fr.png", pyplot)


@pytest.mark.parametrize("key", ["bg", "pnbd"])
def test_the_probability_alive_matrix_is_a_probability_that_rises_with_recency(
    clv: ClvReport, key: str, pyplot: Any, tmp_path: Path
) -> None:
    _, ax = pyplot.subplots()
    assert plots.probability_alive_matrix(clv, model=key, ax=ax) is ax
    data = image_of(ax)
    assert ax.images[0].get_clim() == (0.0, 1.0)
    assert data.min() >= 0.0
    assert data.max() <= 1.0
    if key == "bg":  # BG/NBD customers drop out only after a purchase
        assert data[0, 0] == 1.0
    # A more recent last purchase never makes a customer less likely to be alive.
    for j in range(1, data.shape[1]):
        column = data[:, j].compressed()
        assert np.all(np.diff(column) >= -1e-12)
    saved_pixels(ax, tmp_path / "alive.png", pyplot)


def holdout_reference(clv: ClvReport, key: str, top: int) -> tuple[list[Any], list[Any]]:
    s = clv.summary
    assert s.frequency_holdout is not None
    model = clv.model(key)
    actual: dict[int, list[float]] = {}
    predicted: dict[int, list[float]] = {}
    for x, tx, age, h in zip(s.frequency, s.recency, s.T, s.frequency_holdout, strict=True):
        b = min(int(x), top)
        actual.setdefault(b, []).append(float(h))
        predicted.setdefault(b, []).append(
            float(model.predict_purchases(s.duration_holdout, x, tx, age)))
    return ([None if b not in actual else sum(actual[b]) / len(actual[b]) for b in range(top + 1)],
            [None if b not in predicted else sum(predicted[b]) / len(predicted[b])
             for b in range(top + 1)])


@pytest.mark.parametrize("key", ["bg", "pnbd"])
def test_calibration_vs_holdout_draws_each_groups_mean_actual_and_predicted(
    cdnow_clv: ClvReport, key: str, pyplot: Any, tmp_path: Path
) -> None:
    ax = plots.calibration_vs_holdout(cdnow_clv, model=key)
    actual, model = ax.lines
    want_actual, want_model = holdout_reference(cdnow_clv, key, 7)
    assert list(actual.get_xdata()) == list(range(8))
    assert actual.get_ydata() == pytest.approx(want_actual, rel=1e-12)
    assert model.get_ydata() == pytest.approx(want_model, rel=1e-9)
    assert [t.get_text() for t in ax.get_xticklabels()][-1] == "7+"
    # the same figures as the report's holdout table (Fader, Hardie & Lee's check)
    table = cdnow_clv.render()
    assert f"{want_actual[0]:>8.3f}" in table
    assert f"{want_model[0]:>11.3f}" in table
    saved_pixels(ax, tmp_path / "holdout.png", pyplot)


def test_calibration_vs_holdout_needs_a_holdout(demo: Demo) -> None:
    with pytest.raises(ValidationError) as caught:
        charts.calibration_vs_holdout(demo.clv)
    assert caught.value.field == "summary.frequency_holdout"


@pytest.mark.parametrize("key", ["bg", "pnbd"])
def test_period_transactions_puts_simulated_customers_beside_the_actual_counts(
    clv: ClvReport, key: str, pyplot: Any, tmp_path: Path
) -> None:
    ax = plots.period_transactions(clv, model=key, max_frequency=5)
    heights = bar_heights(ax)
    assert len(heights) == 2 * 6
    counts = Counter(min(int(x), 5) for x in clv.summary.frequency)
    assert heights[:6] == [counts[b] for b in range(6)]
    # every draw simulates each customer once, so the model's bars add up to them all
    assert sum(heights[6:]) == pytest.approx(len(clv.summary))
    again = charts.period_transactions(clv, model=key, max_frequency=5)
    assert list(again.series[1].values) == pytest.approx(heights[6:])  # seeded
    saved_pixels(ax, tmp_path / "period.png", pyplot)


def test_the_fitted_models_reproduce_cdnows_repeat_purchase_counts(cdnow_clv: ClvReport) -> None:
    spec = charts.period_transactions(cdnow_clv, draws=20)
    actual, model = (np.array(s.values, dtype=float) for s in spec.series)
    # BG/NBD fits CDNOW well (Fader, Hardie & Lee 2005, figure 3): within 10% per bar
    # where the bars are large, and overall within 3 customers in 100.
    assert np.all(np.abs(model[:3] - actual[:3]) <= 0.1 * actual[:3])
    assert np.abs(model - actual).sum() / actual.sum() < 0.06


def test_past_the_simulation_budget_draws_sample_ages_and_scale_up(
    cdnow_clv: ClvReport, monkeypatch: pytest.MonkeyPatch
) -> None:
    exact = charts.period_transactions(cdnow_clv, draws=20)
    monkeypatch.setattr(charts.build, "SIMULATED", 20 * 500)  # 500 of 2,357 per draw
    sampled = charts.period_transactions(cdnow_clv, draws=20)
    model = np.array(sampled.series[1].values, dtype=float)
    assert model.sum() == pytest.approx(len(cdnow_clv.summary))
    assert sampled.series[0] == exact.series[0]  # the actual bars do not change
    # 10,000 simulated customers instead of 47,140: the same counts within five standard
    # deviations of the two estimates' difference (Poisson: a count c estimated from a
    # share f of the customers varies by c / f)
    reference = np.array(exact.series[1].values, dtype=float)
    n = len(cdnow_clv.summary)
    sd = np.sqrt(reference * n / 10_000 + reference / 20)
    assert np.all(np.abs(model - reference) <= 5 * sd)


def test_a_bare_model_plots_with_its_summary(cdnow_clv: ClvReport, pyplot: Any) -> None:
    model, summary = cdnow_clv.model("bg"), cdnow_clv.summary
    bare = image_of(plots.frequency_recency_matrix(model, summary=summary))
    from_report = image_of(plots.frequency_recency_matrix(cdnow_clv))
    assert np.ma.allequal(bare, from_report)
    with pytest.raises(ValidationError) as caught:
        charts.frequency_recency_matrix(model)
    assert caught.value.field == "summary"
    with pytest.raises(ValidationError) as caught:
        charts.probability_alive_matrix(cdnow_clv, model="gg")
    assert caught.value.field == "model"


def test_a_large_frequency_range_steps_to_at_most_forty_one_columns(
    cdnow_clv: ClvReport,
) -> None:
    spec = charts.frequency_recency_matrix(cdnow_clv, max_frequency=500, max_recency=200.5)
    assert len(spec.columns) <= 41
    assert spec.columns[0] == "0"
    assert spec.columns[-1] == "500"
    assert len(spec.rows) <= 41
    assert spec.rows[-1] == "200.5"


# -- ratings -----------------------------------------------------------------------------


def test_the_star_distribution_draws_one_bar_per_level(demo: Demo, pyplot: Any,
                                                       tmp_path: Path) -> None:
    rating = demo.rating
    ax = plots.star_distribution(rating)
    widths = bar_widths(ax)  # horizontal bars: the count is the width
    levels = rating.policy.levels
    assert len(widths) == levels + (1 if rating.unrated else 0)
    assert widths[-levels:] == [float(np.sum(rating.stars == s)) for s in range(1, levels + 1)]
    assert [t.get_text() for t in ax.get_yticklabels()][-1] == "★★★★★"
    saved_pixels(ax, tmp_path / "stars.png", pyplot)
    # the KPI report's counts (0: unrated) draw the same way
    stars = demo.kpi.stars
    kpi_widths = bar_widths(plots.star_distribution(demo.kpi))
    assert kpi_widths == [float(v) for v in (stars if stars[0] else stars[1:])]


def test_star_movement_counts_each_customer_once_from_previous_to_current_stars(
    demo: Demo, pyplot: Any, tmp_path: Path
) -> None:
    rating = demo.rating
    ax = plots.star_movement(rating)
    data = image_of(ax)
    levels = rating.policy.levels
    assert data.shape == (levels + 1, levels)
    reference = Counter(zip(rating.previous_stars.tolist(), rating.rated_stars.tolist(),
                            strict=True))
    spec = charts.star_movement(rating)
    texts = spec.texts
    assert texts is not None
    for i in range(levels + 1):
        row_total = sum(reference[(i, j)] for j in range(1, levels + 1))
        for j in range(levels):
            if row_total == 0:
                assert data.mask[i, j]
                continue
            assert texts[i][j] == f"{reference[(i, j + 1)]:,}"
            assert data[i, j] == pytest.approx(reference[(i, j + 1)] / row_total)
    assert sum(reference.values()) == len(rating)
    assert 0 < sum(reference[(i, i)] for i in range(1, levels + 1)) < len(rating)  # some moved
    saved_pixels(ax, tmp_path / "moves.png", pyplot)


# -- segmentation --------------------------------------------------------------------------


def test_the_rfm_grid_counts_buyers_by_recency_and_frequency_score(
    demo: Demo, cdnow_orders: OrderFrame, pyplot: Any, tmp_path: Path
) -> None:
    from datetime import UTC, datetime

    from custmgmt.notebook import analyses

    cdnow_rfm = analyses.rfm(cdnow_orders, as_of=datetime(1998, 7, 1, tzinfo=UTC),
                             currency="USD")
    for scores in (demo.rfm, cdnow_rfm):
        ax = plots.rfm_grid(scores)
        data = image_of(ax)
        assert data.shape == (5, 5)
        reference = Counter((int(r), int(f)) for r, f in zip(scores.r, scores.f, strict=True)
                            if r > 0)
        for i in range(5):
            for j in range(5):
                assert data[i, j] == reference[(5 - i, j + 1)]
        assert data.sum() == sum(reference.values())
        assert ax.images[0].get_clim() == (0.0, data.max())
        assert [t.get_text() for t in ax.get_yticklabels()] == ["R5", "R4", "R3", "R2", "R1"]
        assert len(ax.texts) == 25
    saved_pixels(ax, tmp_path / "rfm.png", pyplot)
    # the KPI report's grid is the same chart
    kpi = image_of(plots.rfm_grid(demo.kpi))
    assert kpi.tolist() == [list(row) for row in demo.kpi.rfm[::-1]]


def test_segment_migration_shades_row_shares_and_writes_counts(
    demo: Demo, pyplot: Any, tmp_path: Path
) -> None:
    m = demo.migration
    ax = plots.segment_migration(m)
    data = image_of(ax)
    assert data.shape == m.counts.shape
    for i, row in enumerate(m.counts.tolist()):
        total = sum(row)
        for j, count in enumerate(row):
            assert data[i, j] == pytest.approx(count / total)
    assert [t.get_text() for t in ax.texts] == [f"{c:,}" for c in m.counts.ravel().tolist()]
    saved_pixels(ax, tmp_path / "migration.png", pyplot)


# -- KPIs -------------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["returned", "active"])
def test_cohort_retention_shows_each_non_empty_cohorts_shares(
    demo: Demo, cdnow_orders: OrderFrame, which: str, pyplot: Any, tmp_path: Path
) -> None:
    from datetime import UTC, datetime

    from custmgmt.kpi import cohort_matrix

    cdnow = cohort_matrix(cdnow_orders, datetime(1998, 6, 30, tzinfo=UTC), 18)
    for source, matrix in ((demo.kpi, demo.kpi.cohorts), (cdnow, cdnow)):
        ax = plots.cohort_retention(source, which)
        data = image_of(ax)
        keep = [i for i, size in enumerate(matrix.sizes.tolist()) if size > 0]
        counts = matrix.returned if which == "returned" else matrix.active
        assert data.shape == (len(keep), counts.shape[1])
        for row, i in enumerate(keep):
            for k in range(counts.shape[1]):
                if counts[i, k] < 0:  # after as_of
                    assert data.mask[row, k]
                else:
                    assert data[row, k] == counts[i, k] / matrix.sizes[i]
        assert data.min() >= 0.0
        assert data.max() <= 1.0
    assert len(keep) == 3  # CDNOW's sample: customers who first bought in January-March 1997
    saved_pixels(ax, tmp_path / "cohorts.png", pyplot)


def test_sla_attainment_draws_one_bar_per_star_level_with_tickets(
    demo: Demo, pyplot: Any, tmp_path: Path
) -> None:
    by_star = demo.kpi.sla_by_star
    assert by_star  # the demo opens tickets
    ax = plots.sla_attainment_by_star(demo.kpi)
    assert bar_widths(ax) == [f.value or 0.0 for _, f in sorted(by_star.items())]
    assert all(0.0 <= w <= 1.0 for w in bar_widths(ax))
    saved_pixels(ax, tmp_path / "sla.png", pyplot)


def test_empty_results_draw_the_reason_instead_of_a_chart(pyplot: Any) -> None:
    ax = plots.sla_attainment_by_star({})
    assert not ax.axison
    assert "no ticket SLA statuses" in ax.texts[0].get_text()
    ax = plots.star_distribution(None)
    assert "no stored rating" in ax.texts[0].get_text()
    ax = plots.draw(charts.Bars(title="t", labels=["a"], series=[("s", [0])]))
    assert len(ax.patches) == 0
    assert "no data" in ax.texts[0].get_text()


# -- SVG from the same specifications ----------------------------------------------------------


def test_every_chart_renders_as_svg_with_the_same_cells_and_bars(
    cdnow_clv: ClvReport, demo: Demo
) -> None:
    specs: list[charts.Chart] = [
        charts.frequency_recency_matrix(cdnow_clv),
        charts.probability_alive_matrix(cdnow_clv, model="pnbd"),
        charts.calibration_vs_holdout(cdnow_clv),
        charts.period_transactions(cdnow_clv),
        charts.star_distribution(demo.rating),
        charts.star_movement(demo.rating),
        charts.rfm_grid(demo.rfm),
        charts.segment_migration(demo.migration),
        charts.cohort_retention(demo.kpi),
        charts.sla_attainment_by_star(demo.kpi),
    ]
    for spec in specs:
        root = svg_root(spec)
        assert root.find(f"{SVG}title").text == spec.title  # type: ignore[union-attr]
        if isinstance(spec, charts.Heatmap):
            filled = sum(v is not None for row in spec.values for v in row)
            cells = heatmap_cells(root)
            assert len(cells) == filled
            notes = [c.find(f"{SVG}title").text for c in cells]  # type: ignore[union-attr]
            assert notes == [spec.note(i, j) for i, row in enumerate(spec.values)
                             for j, v in enumerate(row) if v is not None]
        elif isinstance(spec, charts.Bars):
            bars = [r for r in root.iter(f"{SVG}rect") if r.attrib.get("height") == "12"]
            assert len(bars) == len(spec.labels) * len(spec.series)
        elif isinstance(spec, charts.Lines):
            lines = list(root.iter(f"{SVG}polyline"))
            assert len(lines) == len(spec.series)
            dots = list(root.iter(f"{SVG}circle"))
            assert len(dots) == len(spec.series[0].present())


def test_the_kpi_report_embeds_the_shared_charts(demo: Demo) -> None:
    html = demo.kpi.to_html()
    assert charts.to_svg(charts.rfm_grid(demo.kpi), cell=40, left=70) in html
    assert charts.to_svg(charts.star_distribution(demo.kpi), width=460) in html
    assert charts.to_svg(charts.sla_attainment_by_star(demo.kpi), width=460) in html
    assert charts.to_svg(charts.cohort_retention(demo.kpi, "active"), left=110) in html


def test_every_chart_of_the_kpi_report_is_a_specification_in_its_html(demo: Demo) -> None:
    from html import escape

    from custmgmt.kpi.html import report_charts

    specs = report_charts(demo.kpi)
    assert list(specs)[:8] == ["sales", "categories", "cohorts_returned", "cohorts_active",
                               "stars", "rfm", "segments", "sla"]
    assert len(specs) == 8 + len(demo.kpi.breakdowns)
    html = demo.kpi.to_html()
    for spec in specs.values():
        assert f'aria-label="{escape(spec.title)}"' in html
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart"') == len(specs)


def test_a_heatmap_of_more_than_625_cells_keeps_its_numbers_in_notes_only() -> None:
    values = [[float(i * j) for j in range(26)] for i in range(25)]
    big = charts.Heatmap(title="big", rows=range(25), columns=range(26), values=values,
                         high=625.0)
    root = svg_root(big)
    assert len(heatmap_cells(root)) == 650
    assert len(list(root.iter(f"{SVG}text"))) == 1 + 25 + 26  # title and labels
    assert math.isclose(big.shade(1000.0), 1.0)
    assert big.shade(-5.0) == 0.0
