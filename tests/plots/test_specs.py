"""The chart specifications and their two renderers: validation, invariants, bad input,
fonts, and matplotlib staying optional."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custmgmt import charts, plots
from custmgmt.errors import MissingDependency, ValidationError
from custmgmt.plots.render import _say

SVG = "{http://www.w3.org/2000/svg}"

finite = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False)
cell = st.one_of(st.none(), finite)


def test_importing_the_library_charts_and_plots_loads_no_matplotlib() -> None:
    code = (
        "import sys, custmgmt, custmgmt.charts, custmgmt.plots, custmgmt.kpi\n"
        "from custmgmt.charts import Bars, to_svg\n"
        "to_svg(Bars(title='t', labels=['a'], series=[('s', [1])]))\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_without_matplotlib_a_plot_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now fails
    with pytest.raises(MissingDependency) as caught:
        plots.star_distribution([0, 3, 4, 5, 1, 0])
    assert "plot" in str(caught.value)
    # the SVG needs nothing
    assert charts.to_svg(charts.star_distribution([0, 3, 4, 5, 1, 0])).startswith("<svg")


def test_series_turn_nan_into_missing_and_refuse_infinity_and_text() -> None:
    assert charts.Series(name="s", values=[1, float("nan"), None]).values == (1.0, None, None)
    with pytest.raises(ValidationError) as caught:
        charts.Series(name="s", values=[1, float("inf")])
    assert caught.value.field == "values[1]"
    with pytest.raises(ValidationError) as caught:
        charts.Series(name="s", values=["many"])
    assert caught.value.field == "values[0]"


def test_specs_refuse_shapes_that_do_not_match_their_labels() -> None:
    with pytest.raises(ValidationError) as caught:
        charts.Bars(title="t", labels=["a", "b"], series=[("s", [1])])
    assert caught.value.field == "Bars.series['s']"
    with pytest.raises(ValidationError) as caught:
        charts.Lines(title="t", labels=["a"], series=[("s", [1, 2])])
    assert caught.value.field == "Lines.series['s']"
    with pytest.raises(ValidationError) as caught:
        charts.Heatmap(title="t", rows=["a", "b"], columns=["x"], values=[[1.0]])
    assert caught.value.field == "Heatmap.values"
    with pytest.raises(ValidationError) as caught:
        charts.Heatmap(title="t", rows=["a"], columns=["x"], values=[[1.0]],
                       texts=[["1", "2"]])
    assert caught.value.field == "Heatmap.texts"
    with pytest.raises(ValidationError) as caught:
        charts.Heatmap(title="t", rows=["a"], columns=["x"], values=[[1.0]], low=2, high=2)
    assert caught.value.field == "Heatmap.high"


def test_renderers_refuse_what_is_not_a_chart(pyplot: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        charts.to_svg("a chart")  # type: ignore[arg-type]
    assert caught.value.field == "spec"
    with pytest.raises(ValidationError) as caught:
        plots.draw({"title": "x"})  # type: ignore[arg-type]
    assert caught.value.field == "spec"
    with pytest.raises(ValidationError) as caught:
        plots.star_distribution([1, 2, 3, 0, 0, 1], ax="the left one")
    assert caught.value.field == "ax"


def test_builders_name_the_result_they_cannot_read() -> None:
    for fn, field in ((charts.star_movement, "rating"), (charts.segment_migration, "migration"),
                      (charts.frequency_recency_matrix, "result"),
                      (charts.cohort_retention, "cohorts")):
        with pytest.raises(ValidationError) as caught:
            fn(42)
        assert caught.value.field == field
    with pytest.raises(ValidationError) as caught:
        charts.rfm_grid([[1, 2], [3, 4]])
    assert caught.value.field == "rfm"
    with pytest.raises(ValidationError) as caught:
        charts.star_distribution([3, -1, 2])
    assert caught.value.field == "stars"


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 6).flatmap(lambda k: st.tuples(
    st.integers(1, 6), st.just(k),
    st.lists(st.lists(cell, min_size=k, max_size=k), min_size=1, max_size=6))),
    finite, finite)
def test_any_heatmap_renders_valid_svg_with_one_cell_per_value(
    shape: tuple[int, int, list[list[float | None]]], a: float, b: float
) -> None:
    _, k, values = shape
    low, high = min(a, b), max(a, b)
    if low == high:
        high = low + 1.0
    spec = charts.Heatmap(title="h <&>", rows=[f"r{i}" for i in range(len(values))],
                          columns=[f"c{j}" for j in range(k)], values=values, low=low,
                          high=high, value_format="{:.3g}")
    root = ET.fromstring(charts.to_svg(spec))
    cells = [r for r in root.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    present = [v for row in values for v in row if v is not None]
    assert len(cells) == (len(present) if present else 0)
    for v in present:
        assert 0.0 <= spec.shade(v) <= 1.0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.text(min_size=1, max_size=8), st.floats(0, 1e6)),
                min_size=1, max_size=8))
def test_any_bars_render_as_svg_with_one_bar_per_value(items: list[tuple[str, float]]) -> None:
    spec = charts.Bars(title="b", labels=[t for t, _ in items],
                       series=[("s", [v for _, v in items])])
    root = ET.fromstring(charts.to_svg(spec))
    bars = [r for r in root.iter(f"{SVG}rect") if r.attrib.get("height") == "12"]
    if spec.is_empty():
        assert bars == []
        assert "no data" in ET.tostring(root, encoding="unicode")
    else:
        assert len(bars) == len(items)


def test_bilingual_text_keeps_the_parts_the_fonts_can_draw() -> None:
    latin = frozenset(range(0x250)) | {ord("★"), ord("·")}
    assert _say("Customers by stars · 客户星级分布", latin) == "Customers by stars"
    assert _say("unrated · 未评级", latin) == "unrated"
    assert _say("★★★", latin) == "★★★"
    everything = latin | {ord(c) for c in "客户星级分布未评级"}
    both = "Customers by stars · 客户星级分布"
    assert _say(both, everything) == both
    assert _say("高价值", latin) == "高价值"  # one language: matplotlib's own fallback


def test_drawing_leaves_no_missing_glyph_warning(pyplot: Any, tmp_path: Any) -> None:
    # pytest turns warnings into errors: a Chinese title on DejaVu would fail here
    ax = plots.sla_attainment_by_star({})
    ax.figure.savefig(tmp_path / "x.png")
    ax = plots.star_distribution([2, 3, 4, 5, 6, 7])
    ax.figure.savefig(tmp_path / "y.png")
    assert ax.get_title().startswith("Customers by stars")


def test_legible_follows_the_configured_fonts(pyplot: Any) -> None:
    import matplotlib

    from custmgmt.plots.render import legible

    with matplotlib.rc_context({"font.family": ["sans-serif"],
                                "font.sans-serif": ["DejaVu Sans"]}):
        assert legible("Customer KPI report · 客户关键指标报告") == "Customer KPI report"
