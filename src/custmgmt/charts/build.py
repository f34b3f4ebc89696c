"""Chart specifications built from the library's results.

Each function reads one result (a CLV report or a fitted model, a rating, RFM scores,
a segment migration, a KPI report or its parts) and returns a chart specification
(:mod:`custmgmt.charts.spec`) with the data, titles and labels, which
:func:`custmgmt.charts.svg.to_svg` renders as inline SVG and :mod:`custmgmt.plots`
draws with matplotlib. Titles and labels are in English and Chinese (``"... · ..."``);
the matplotlib renderer keeps the English part where no installed font has the
Chinese glyphs.

Results of the KPI capability are read by their attributes (a ``CohortMatrix``, a
``KpiReport``'s ``stars``, ``rfm``, ``cohorts`` and ``sla_by_star``), so this module
does not import the KPI package, whose HTML report builds its charts here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from custmgmt.analytics.clv import (
    BetaGeo,
    ClvReport,
    ParetoNBD,
    TransactionSummary,
    simulate_bgnbd,
    simulate_pareto_nbd,
)
from custmgmt.charts.spec import Bars, Heatmap, Lines, NoData
from custmgmt.errors import ValidationError
from custmgmt.rating.result import Rating
from custmgmt.segmentation.migration import Migration
from custmgmt.segmentation.rfm import RFMScores

if TYPE_CHECKING:
    from custmgmt.kpi.figures import Figure
    from custmgmt.kpi.measures import CohortMatrix

__all__ = [
    "MAX_GRID",
    "SIMULATED",
    "CountingModel",
    "calibration_vs_holdout",
    "cohort_retention",
    "frequency_recency_matrix",
    "period_transactions",
    "probability_alive_matrix",
    "rfm_grid",
    "segment_migration",
    "sla_attainment_by_star",
    "star_distribution",
    "star_movement",
]

#: The purchase models the CLV charts read.
CountingModel = BetaGeo | ParetoNBD
_MODEL_NAMES = {"bg": "BG/NBD", "pnbd": "Pareto/NBD"}
_UNITS = {"h": "hours", "D": "days", "W": "weeks", "M": "months"}
#: The most customers :func:`period_transactions` simulates over all its draws.
SIMULATED = 1_000_000
#: The most rows or columns a frequency/recency matrix gets: beyond it the grid steps
#: over values, so a customer base with 300 repeat purchases still gives a readable chart.
MAX_GRID = 40


def _stars(level: int) -> str:
    return "★" * level


# -- CLV ------------------------------------------------------------------------------


def _clv_parts(
    source: ClvReport | CountingModel, model: str, summary: TransactionSummary | None
) -> tuple[CountingModel, TransactionSummary, str]:
    """The fitted purchase model, the summary it describes and the model's name."""
    if isinstance(source, ClvReport):
        if model not in _MODEL_NAMES:
            raise ValidationError("model", model, f"one of {', '.join(_MODEL_NAMES)}")
        found = source.model(model)
        if not isinstance(found, BetaGeo | ParetoNBD):
            fit = source.fit(model)
            why = "was not asked for" if fit is None else f"was not fitted: {fit.error}"
            raise ValidationError("model", model, f"a fitted purchase model ({model} {why})")
        return found, summary if summary is not None else source.summary, _MODEL_NAMES[model]
    if isinstance(source, BetaGeo | ParetoNBD):
        if summary is None:
            raise ValidationError("summary", None, "the TransactionSummary the model describes")
        if not isinstance(summary, TransactionSummary):
            raise ValidationError("summary", type(summary).__name__, "a TransactionSummary")
        name = "BG/NBD" if isinstance(source, BetaGeo) else "Pareto/NBD"
        return source, summary, name
    raise ValidationError(
        "result", type(source).__name__, "a ClvReport or a fitted BetaGeo or ParetoNBD"
    )


def _grid(top: float) -> npt.NDArray[np.float64]:
    """At most :data:`MAX_GRID` points from 0 to ``top``: every whole number when they
    fit (and ``top`` itself when it is not whole), else evenly spaced whole numbers."""
    whole = np.arange(0.0, math.floor(top) + 1.0)
    if whole.size + (top != whole[-1]) <= MAX_GRID:
        return whole if top == whole[-1] else np.append(whole, top)
    return np.unique(np.append(np.round(np.linspace(0.0, math.floor(top), MAX_GRID - 1)), top))


def _label(value: float) -> str:
    return f"{value:g}" if value == round(value) else f"{value:.1f}"


def _matrix_axes(
    summary: TransactionSummary, max_frequency: int | None, max_recency: float | None
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], float]:
    if max_frequency is None:
        max_frequency = int(summary.frequency.max()) if len(summary) else 0
    if max_recency is None:
        max_recency = float(summary.T.max()) if len(summary) else 0.0
    if isinstance(max_frequency, bool) or not isinstance(max_frequency, int | np.integer) \
            or max_frequency < 0:
        raise ValidationError("max_frequency", max_frequency, "a whole number >= 0")
    if not isinstance(max_recency, int | float | np.number) or not math.isfinite(max_recency) \
            or max_recency < 0:
        raise ValidationError("max_recency", max_recency, "a finite time >= 0")
    frequencies = _grid(float(max_frequency))
    recencies = _grid(float(max_recency))
    return frequencies, recencies, float(max_recency)


def _model_matrix(
    fn: Any, frequencies: npt.NDArray[np.float64], recencies: npt.NDArray[np.float64], T: float
) -> list[list[float | None]]:
    """``fn(x, t_x, T)`` on the grid, rows by recency and columns by frequency; a customer
    without a repeat purchase has no recency, so those cells stay blank."""
    x, tx = np.meshgrid(frequencies, recencies)
    valid = (x > 0) | (tx == 0)
    out = np.full(x.shape, np.nan)
    out[valid] = fn(x[valid], tx[valid], np.full(int(valid.sum()), T))
    return [[None if math.isnan(v) else float(v) for v in row] for row in out.tolist()]


def frequency_recency_matrix(
    result: ClvReport | CountingModel,
    *,
    model: str = "bg",
    t: float = 1.0,
    max_frequency: int | None = None,
    max_recency: float | None = None,
    summary: TransactionSummary | None = None,
) -> Heatmap:
    """Expected repeat purchases in the next ``t`` time units by frequency and recency.

    As lifetimes' ``plot_frequency_recency_matrix``: a customer of age ``max_recency``
    (by default the oldest customer's ``T``) with each frequency (columns, 0 to
    ``max_frequency``, by default the highest seen) and recency (rows, 0 at the top);
    the best customers sit bottom right. At most :data:`MAX_GRID` values per axis.

    Args:
        result: a :class:`~custmgmt.analytics.clv.ClvReport`, or a fitted
            :class:`~custmgmt.analytics.clv.BetaGeo` / :class:`~custmgmt.analytics.clv.ParetoNBD`
            with ``summary``.
        model: which purchase model of a report: ``"bg"`` or ``"pnbd"``.
        t: the horizon, in the summary's time unit.
        max_frequency: the highest frequency shown.
        max_recency: the highest recency shown, also the customers' age.
        summary: the summary the model was fitted on (required with a bare model).

    Raises:
        ValidationError: not a report or fitted model, a model the report lacks, a bare
            model without its summary, or a bad bound or horizon.
    """
    fitted, s, name = _clv_parts(result, model, summary)
    frequencies, recencies, T = _matrix_axes(s, max_frequency, max_recency)
    values = _model_matrix(lambda x, tx, age: fitted.predict_purchases(t, x, tx, age),
                           frequencies, recencies, T)
    peak = max((v for row in values for v in row if v is not None), default=0.0)
    span = _UNITS[s.unit].removesuffix("s") if t == 1 else _UNITS[s.unit]
    return Heatmap(
        title=f"Expected purchases in the next {t:g} {span} ({name}) · 预期购买次数",
        rows=[_label(r) for r in recencies], columns=[_label(f) for f in frequencies],
        values=values, low=0.0, high=peak if peak > 0 else 1.0, value_format="{:.2f}",
        notes=[[f"frequency {_label(f)}, recency {_label(r)}: " + (
            "-" if v is None else f"{v:.3f}") for f, v in zip(frequencies, row, strict=True)]
            for r, row in zip(recencies, values, strict=True)],
        x_label="frequency (repeat purchases) · 复购次数",
        y_label=f"recency ({_UNITS[s.unit]}) · 最近复购时间",
    )


def probability_alive_matrix(
    result: ClvReport | CountingModel,
    *,
    model: str = "bg",
    max_frequency: int | None = None,
    max_recency: float | None = None,
    summary: TransactionSummary | None = None,
) -> Heatmap:
    """P(alive) by frequency (columns) and recency (rows), as lifetimes'
    ``plot_probability_alive_matrix``; arguments as :func:`frequency_recency_matrix`.

    Raises:
        ValidationError: as :func:`frequency_recency_matrix`.
    """
    fitted, s, name = _clv_parts(result, model, summary)
    frequencies, recencies, T = _matrix_axes(s, max_frequency, max_recency)
    values = _model_matrix(fitted.probability_alive, frequencies, recencies, T)
    return Heatmap(
        title=f"Probability alive ({name}) · 存活概率",
        rows=[_label(r) for r in recencies], columns=[_label(f) for f in frequencies],
        values=values, low=0.0, high=1.0, value_format="{:.0%}",
        notes=[[f"frequency {_label(f)}, recency {_label(r)}: " + (
            "-" if v is None else f"{v:.1%}") for f, v in zip(frequencies, row, strict=True)]
            for r, row in zip(recencies, values, strict=True)],
        x_label="frequency (repeat purchases) · 复购次数",
        y_label=f"recency ({_UNITS[s.unit]}) · 最近复购时间",
    )


def _buckets(frequency: npt.NDArray[Any], max_frequency: int) -> npt.NDArray[np.int64]:
    if isinstance(max_frequency, bool) or not isinstance(max_frequency, int | np.integer) \
            or max_frequency < 1:
        raise ValidationError("max_frequency", max_frequency, "a whole number >= 1")
    return np.minimum(np.asarray(frequency, dtype=np.int64), max_frequency)


def _bucket_labels(max_frequency: int) -> list[str]:
    return [str(b) for b in range(max_frequency)] + [f"{max_frequency}+"]


def calibration_vs_holdout(
    result: ClvReport | CountingModel,
    *,
    model: str = "bg",
    max_frequency: int = 7,
    summary: TransactionSummary | None = None,
) -> Lines:
    """Mean repeat purchases in the holdout, actual and predicted, by calibration frequency.

    As lifetimes' ``plot_calibration_purchases_vs_holdout_purchases``: customers are
    grouped by their repeat purchases in the calibration period (``max_frequency``
    and more in the last group); each group's actual mean in the holdout is the first
    line, the model's mean prediction over the holdout's length the second. Needs a
    summary with a calibration/holdout split (``calibration_end=``).

    Raises:
        ValidationError: as :func:`frequency_recency_matrix`; a summary without a holdout.
    """
    fitted, s, name = _clv_parts(result, model, summary)
    if s.frequency_holdout is None or s.duration_holdout is None:
        raise ValidationError("summary.frequency_holdout", None,
                              "a summary split into calibration and holdout (calibration_end=)")
    buckets = _buckets(s.frequency, max_frequency)
    predicted = fitted.predict_purchases(s.duration_holdout, s.frequency, s.recency, s.T)
    n = np.bincount(buckets, minlength=max_frequency + 1)
    actual = np.bincount(buckets, weights=s.frequency_holdout, minlength=max_frequency + 1)
    model_sum = np.bincount(buckets, weights=predicted, minlength=max_frequency + 1)

    def means(sums: npt.NDArray[Any]) -> list[float | None]:
        return [None if k == 0 else float(v / k) for v, k in zip(sums, n, strict=True)]

    return Lines(
        title=f"Holdout purchases by calibration frequency ({name}) · 校准期与验证期购买",
        labels=_bucket_labels(max_frequency),
        series=[("actual · 实际", means(actual)), (f"{name} model · 模型", means(model_sum))],
        value_format="{:.2f}",
        x_label="repeat purchases in calibration · 校准期复购次数",
        y_label=f"mean repeat purchases in {s.duration_holdout:g} {_UNITS[s.unit]} of holdout",
    )


def _simulated(fitted: CountingModel, T: npt.NDArray[np.float64], seed: int) -> Any:
    # The no-dropout limit (a = 0 for BG/NBD, s = 0 for Pareto/NBD) is outside the
    # simulators' domain; the smallest positive value draws dropout probabilities or
    # rates of 0 to double precision, which is that limit.
    p = {k: (v if v > 0 else float(np.finfo(np.float64).tiny)) for k, v in fitted.params_.items()}
    if isinstance(fitted, BetaGeo):
        return simulate_bgnbd(T.size, r=p["r"], alpha=p["alpha"], a=p["a"], b=p["b"], T=T,
                              seed=seed)
    return simulate_pareto_nbd(T.size, r=p["r"], alpha=p["alpha"], s=p["s"], beta=p["beta"],
                               T=T, seed=seed)


def period_transactions(
    result: ClvReport | CountingModel,
    *,
    model: str = "bg",
    max_frequency: int = 7,
    summary: TransactionSummary | None = None,
    draws: int = 10,
    seed: int = 0,
) -> Bars:
    """Customers by number of repeat purchases, actual and as the model simulates them.

    As lifetimes' ``plot_period_transactions``: the model's customers are drawn with
    the fitted parameters and the actual customers' ages (``T``), ``draws`` times
    (seeded, so the chart is reproducible), and their counts averaged; a model that
    fits puts its bars next to the actual ones. Past :data:`SIMULATED` customers in
    all, each draw takes that share of the ages at random and scales its counts up.

    Raises:
        ValidationError: as :func:`frequency_recency_matrix`; ``draws`` below 1.
    """
    fitted, s, name = _clv_parts(result, model, summary)
    if isinstance(draws, bool) or not isinstance(draws, int) or draws < 1:
        raise ValidationError("draws", draws, "a whole number >= 1")
    actual = np.bincount(_buckets(s.frequency, max_frequency), minlength=max_frequency + 1)
    simulated = np.zeros(max_frequency + 1)
    rng = np.random.default_rng(seed)
    ages = np.asarray(s.T, dtype=np.float64)
    # At most SIMULATED customers in all: beyond that a draw takes ages at random (with
    # replacement) and its counts are scaled up, so a million customers cost a million
    # draws rather than ten million (3.7 s) and the bars still add up to the customers.
    per_draw = min(ages.size, max(1, SIMULATED // draws))
    for _ in range(draws):
        sample = ages if per_draw == ages.size else rng.choice(ages, per_draw)
        drawn = _simulated(fitted, sample, int(rng.integers(2**63)))
        counts = np.bincount(_buckets(drawn.frequency, max_frequency),
                             minlength=max_frequency + 1)
        simulated += counts * (ages.size / max(per_draw, 1))
    return Bars(
        title=f"Customers by repeat purchases: actual vs {name} · 复购次数分布",
        labels=_bucket_labels(max_frequency),
        series=[("actual · 实际", actual.tolist()),
                (f"{name} model · 模型", (simulated / draws).tolist())],
        value_label="customers · 客户", category_label="repeat purchases · 复购次数",
        horizontal=False,
    )


# -- ratings ---------------------------------------------------------------------------


def star_distribution(source: Rating | Sequence[int] | Any | None) -> Bars | NoData:
    """Customers per star level: from a :class:`~custmgmt.rating.Rating`, from a KPI
    report (its ``stars``), or from counts per level with index 0 the unrated.

    The "unrated" bar is drawn when someone is unrated.

    Raises:
        ValidationError: counts that are not whole numbers >= 0.
    """
    title = "Customers by stars · 客户星级分布"
    if isinstance(source, Rating):
        counts = [source.unrated, *source.distribution().values()]
    else:
        source = getattr(source, "stars", source)
        if source is None:
            return NoData(title=title, reason="not measurable: no stored rating · 无法衡量：无评级")
        given = [v.item() if isinstance(v, np.generic) else v for v in source]
        # int() would truncate 2.7, and fail on NaN or text with a bare ValueError.
        if any(isinstance(v, bool) or not isinstance(v, int | float)
               or (isinstance(v, float) and not v.is_integer()) for v in given):
            raise ValidationError("stars", given, "whole customer counts >= 0")
        counts = [int(v) for v in given]
    if any(c < 0 for c in counts):
        raise ValidationError("stars", counts, "customer counts >= 0")
    if not any(counts):
        return NoData(title=title, reason="not measurable: no stored rating · 无法衡量：无评级")
    labels = ["unrated · 未评级"] + [_stars(s) for s in range(1, len(counts))]
    first = 0 if counts[0] else 1
    return Bars(title=title, labels=labels[first:],
                series=[("customers · 客户", counts[first:])],
                value_label="customers · 客户", category_label="stars · 星级")


def star_movement(rating: Rating) -> Heatmap:
    """Where each customer's stars went since the previous run: rows are the previous
    stars (``new`` for customers not rated before), columns the stars now (rated stars,
    before overrides, as :attr:`~custmgmt.rating.Rating.change` counts them). Cells are
    shaded by the share of their row and show the customer count.

    Raises:
        ValidationError: ``rating`` is not a Rating.
    """
    if not isinstance(rating, Rating):
        raise ValidationError("rating", type(rating).__name__, "a Rating")
    levels = rating.policy.levels
    before = np.clip(rating.previous_stars.astype(np.int64), 0, levels)
    after = np.clip(rating.rated_stars.astype(np.int64), 1, levels)
    counts = np.bincount(before * levels + (after - 1),
                         minlength=(levels + 1) * levels).reshape(levels + 1, levels)
    totals = counts.sum(axis=1)
    rows = ["new · 新客户"] + [_stars(s) for s in range(1, levels + 1)]
    columns = [_stars(s) for s in range(1, levels + 1)]
    return Heatmap(
        title="Star movement since the previous run · 星级变动",
        rows=rows, columns=columns,
        values=[[None if totals[i] == 0 else counts[i, j] / totals[i] for j in range(levels)]
                for i in range(levels + 1)],
        texts=[[f"{counts[i, j]:,}" if totals[i] else "" for j in range(levels)]
               for i in range(levels + 1)],
        notes=[[f"{rows[i]} → {columns[j]}: {counts[i, j]:,} of {totals[i]:,}"
                for j in range(levels)] for i in range(levels + 1)],
        x_label="stars now · 本次星级", y_label="stars before · 上次星级",
    )


# -- segmentation ------------------------------------------------------------------------


def rfm_grid(source: RFMScores | Any) -> Heatmap | NoData:
    """Buyers by recency score (rows, 5 at the top) and frequency score (columns): from
    :class:`~custmgmt.segmentation.rfm.RFMScores`, a KPI report (its ``rfm``) or a 5x5
    grid whose ``[r - 1][f - 1]`` counts the buyers with scores ``r`` and ``f``.

    Raises:
        ValidationError: a grid that is not 5x5 whole numbers >= 0.
    """
    title = "RFM grid: recency x frequency score · RFM 矩阵"
    if isinstance(source, RFMScores):
        buyers = source.r > 0
        r = source.r[buyers].astype(np.int64)
        f = source.f[buyers].astype(np.int64)
        grid = np.bincount((r - 1) * 5 + (f - 1), minlength=25).reshape(5, 5)
    else:
        grid = np.asarray(getattr(source, "rfm", source))
        if grid.shape != (5, 5) or grid.dtype.kind not in "iu" or np.any(grid < 0):
            raise ValidationError("rfm", f"<array {grid.shape} of {grid.dtype}>",
                                  "a 5x5 grid of buyer counts")
    if int(grid.sum()) == 0:
        return NoData(title=title, reason="not measurable: no buyers · 无法衡量")
    shown = grid[::-1].tolist()
    return Heatmap(
        title=title, rows=[f"R{5 - i}" for i in range(5)],
        columns=[f"F{j}" for j in range(1, 6)], values=shown,
        low=0.0, high=float(grid.max()),
        texts=[[f"{v:,}" for v in row] for row in shown],
        notes=[[f"R{5 - i} F{j + 1}: {v} buyers" for j, v in enumerate(row)]
               for i, row in enumerate(shown)],
    )


def segment_migration(migration: Migration) -> Heatmap:
    """Customers from each segment (rows) to each segment (columns) between two dates,
    shaded by the share of the row, with the counts written in the cells.

    Raises:
        ValidationError: ``migration`` is not a Migration.
    """
    if not isinstance(migration, Migration):
        raise ValidationError("migration", type(migration).__name__, "a Migration")
    counts, shares = migration.counts, migration.shares
    totals = counts.sum(axis=1)
    rows, columns = migration.rows, migration.columns
    return Heatmap(
        title="Segment migration · 客户分群迁移",
        rows=rows, columns=columns,
        values=[[None if totals[i] == 0 else float(shares[i, j]) for j in range(len(columns))]
                for i in range(len(rows))],
        texts=[[f"{counts[i, j]:,}" for j in range(len(columns))] for i in range(len(rows))],
        notes=[[f"{rows[i]} → {columns[j]}: {counts[i, j]:,} ({shares[i, j]:.0%})"
                for j in range(len(columns))] for i in range(len(rows))],
        x_label="to · 迁入", y_label="from · 迁出",
    )


# -- KPIs ------------------------------------------------------------------------------


def cohort_retention(source: CohortMatrix | Any, which: str = "returned") -> Heatmap | NoData:
    """Monthly first-purchase cohorts (rows, with their sizes) by months since (columns):
    the share that bought again in month ``k`` (``which="returned"``) or is still
    active by month ``k`` (``"active"``). From a ``CohortMatrix`` or a KPI report (its
    ``cohorts``); empty cohorts are left out, months after ``as_of`` are blank.

    Raises:
        ValidationError: ``which`` is neither ``"returned"`` nor ``"active"``.
    """
    if which not in ("returned", "active"):
        raise ValidationError("which", which, "'returned' or 'active'")
    # A CohortMatrix has shares(); a KPI report holds one as ``cohorts``.
    c: Any = source if hasattr(source, "shares") else getattr(source, "cohorts", None)
    if not hasattr(c, "shares"):
        raise ValidationError("cohorts", type(source).__name__, "a CohortMatrix or a KpiReport")
    shares = c.shares(which)
    counts = c.returned if which == "returned" else c.active
    keep = [i for i in range(len(c.cohorts)) if c.sizes[i] > 0]
    title = (
        "Cohort retention: returned in month k · 同期群留存（第k月回购）"
        if which == "returned"
        else "Cohort retention: still active by month k · 同期群留存（第k月仍活跃）"
    )
    if not keep:
        return NoData(title=title,
                      reason="not measurable: no first purchases in the window · 无法衡量")
    months = shares.shape[1]
    return Heatmap(
        title=title,
        rows=[f"{c.cohorts[i]} ({int(c.sizes[i])})" for i in keep],
        columns=[str(k) for k in range(months)],
        values=[[None if shares[i, k] != shares[i, k] else float(shares[i, k])
                 for k in range(months)] for i in keep],
        notes=[[f"{c.cohorts[i]} +{k}: {int(counts[i, k])}/{int(c.sizes[i])}"
                for k in range(months)] for i in keep],
        value_format="{:.0%}",
    )


def sla_attainment_by_star(source: Mapping[int, Figure] | Any) -> Bars | NoData:
    """The share of tickets that met their SLA per star level of the customer (0:
    unrated): from :func:`custmgmt.kpi.sla_attainment_by_star`'s mapping or a KPI
    report (its ``sla_by_star``). A level without a measurable share draws as 0.
    """
    title = "Ticket SLA attainment by stars · 各星级工单SLA达成率"
    by_star = getattr(source, "sla_by_star", source)
    if not by_star:
        return NoData(title=title, reason="not measurable: no ticket SLA statuses · 无法衡量")
    items = sorted(by_star.items())
    return Bars(
        title=title, labels=["unrated" if s == 0 else _stars(s) for s, _ in items],
        series=[("share met · 达成率", [f.value or 0.0 for _, f in items])],
        value_format="{:.1%}", value_label="share of tickets met · 达成率",
        category_label="stars · 星级",
    )
