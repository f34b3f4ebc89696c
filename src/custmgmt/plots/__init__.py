"""Diagnostic plots with matplotlib (the ``plot`` extra: ``pip install ".[plot]"``).

Every function takes a result of the library and an optional matplotlib ``Axes``
(``ax=``; a new figure when None), draws one chart and returns the ``Axes``. The
chart is defined once in :mod:`custmgmt.charts.build` as a specification that the
HTML reports render as inline SVG without matplotlib (:func:`custmgmt.charts.to_svg`)
and that :func:`draw` turns into matplotlib calls here, so the notebook and the report
show the same figures.

* CLV diagnostics (from a :class:`~custmgmt.analytics.clv.ClvReport`, or a fitted
  ``BetaGeo`` / ``ParetoNBD`` with its summary): :func:`frequency_recency_matrix`,
  :func:`probability_alive_matrix`, :func:`calibration_vs_holdout`,
  :func:`period_transactions`;
* ratings: :func:`star_distribution`, :func:`star_movement`;
* segmentation: :func:`rfm_grid`, :func:`segment_migration`;
* KPIs: :func:`cohort_retention`, :func:`sla_attainment_by_star`.

matplotlib is imported when a chart is drawn, never on import, and the backend is
left to the caller (a notebook's inline backend, or ``matplotlib.use("Agg")`` for
files). ``docs/plots.md`` shows each plot.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from custmgmt.analytics.clv import ClvReport, TransactionSummary
from custmgmt.charts import build
from custmgmt.charts.build import CountingModel
from custmgmt.plots.render import draw
from custmgmt.rating.result import Rating
from custmgmt.segmentation.migration import Migration
from custmgmt.segmentation.rfm import RFMScores

if TYPE_CHECKING:
    from custmgmt.kpi.figures import Figure
    from custmgmt.kpi.measures import CohortMatrix

__all__ = [
    "calibration_vs_holdout",
    "cohort_retention",
    "draw",
    "frequency_recency_matrix",
    "period_transactions",
    "probability_alive_matrix",
    "rfm_grid",
    "segment_migration",
    "sla_attainment_by_star",
    "star_distribution",
    "star_movement",
]


def frequency_recency_matrix(
    result: ClvReport | CountingModel,
    *,
    model: str = "bg",
    t: float = 1.0,
    max_frequency: int | None = None,
    max_recency: float | None = None,
    summary: TransactionSummary | None = None,
    ax: Any = None,
) -> Any:
    """Expected purchases in the next ``t`` units by frequency and recency (lifetimes'
    ``plot_frequency_recency_matrix``); see :func:`custmgmt.charts.frequency_recency_matrix`.

    Returns:
        The matplotlib ``Axes``.
    """
    return draw(build.frequency_recency_matrix(
        result, model=model, t=t, max_frequency=max_frequency, max_recency=max_recency,
        summary=summary), ax)


def probability_alive_matrix(
    result: ClvReport | CountingModel,
    *,
    model: str = "bg",
    max_frequency: int | None = None,
    max_recency: float | None = None,
    summary: TransactionSummary | None = None,
    ax: Any = None,
) -> Any:
    """P(alive) by frequency and recency (lifetimes' ``plot_probability_alive_matrix``);
    see :func:`custmgmt.charts.probability_alive_matrix`.

    Returns:
        The matplotlib ``Axes``.
    """
    return draw(build.probability_alive_matrix(
        result, model=model, max_frequency=max_frequency, max_recency=max_recency,
        summary=summary), ax)


def calibration_vs_holdout(
    result: ClvReport | CountingModel,
    *,
    model: str = "bg",
    max_frequency: int = 7,
    summary: TransactionSummary | None = None,
    ax: Any = None,
) -> Any:
    """Holdout purchases, actual and predicted, by calibration frequency; see
    :func:`custmgmt.charts.calibration_vs_holdout`.

    Returns:
        The matplotlib ``Axes``.
    """
    return draw(build.calibration_vs_holdout(
        result, model=model, max_frequency=max_frequency, summary=summary), ax)


def period_transactions(
    result: ClvReport | CountingModel,
    *,
    model: str = "bg",
    max_frequency: int = 7,
    summary: TransactionSummary | None = None,
    draws: int = 10,
    seed: int = 0,
    ax: Any = None,
) -> Any:
    """Customers by repeat purchases, actual and simulated from the model; see
    :func:`custmgmt.charts.period_transactions`.

    Returns:
        The matplotlib ``Axes``.
    """
    return draw(build.period_transactions(
        result, model=model, max_frequency=max_frequency, summary=summary, draws=draws,
        seed=seed), ax)


def star_distribution(source: Rating | Sequence[int] | Any, *, ax: Any = None) -> Any:
    """Customers per star level; see :func:`custmgmt.charts.star_distribution`.

    Returns:
        The matplotlib ``Axes``.
    """
    return draw(build.star_distribution(source), ax)


def star_movement(rating: Rating, *, ax: Any = None) -> Any:
    """Stars before (rows) and now (columns); see :func:`custmgmt.charts.star_movement`.

    Returns:
        The matplotlib ``Axes``.
    """
    return draw(build.star_movement(rating), ax)


def rfm_grid(source: RFMScores | Any, *, ax: Any = None) -> Any:
    """Buyers by recency and frequency score; see :func:`custmgmt.charts.rfm_grid`.

    Returns:
        The matplotlib ``Axes``.
    """
    return draw(build.rfm_grid(source), ax)


def segment_migration(migration: Migration, *, ax: Any = None) -> Any:
    """Customers from segment to segment; see :func:`custmgmt.charts.segment_migration`.

    Returns:
        The matplotlib ``Axes``.
    """
    return draw(build.segment_migration(migration), ax)


def cohort_retention(
    source: CohortMatrix | Any, which: str = "returned", *, ax: Any = None
) -> Any:
    """Monthly cohorts' retention; see :func:`custmgmt.charts.cohort_retention`.

    Returns:
        The matplotlib ``Axes``.
    """
    return draw(build.cohort_retention(source, which), ax)


def sla_attainment_by_star(source: Mapping[int, Figure] | Any, *, ax: Any = None) -> Any:
    """SLA attainment per star level; see :func:`custmgmt.charts.sla_attainment_by_star`.

    Returns:
        The matplotlib ``Axes``.
    """
    return draw(build.sla_attainment_by_star(source), ax)
