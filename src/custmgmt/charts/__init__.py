"""Charts as data: one definition, rendered as inline SVG or drawn with matplotlib.

* :mod:`custmgmt.charts.spec`: the chart specifications, small immutable values
  (:class:`Bars`, :class:`Lines`, :class:`Heatmap`, :class:`NoData`);
* :mod:`custmgmt.charts.build`: specifications built from the library's results (the
  CLV diagnostics, star distribution and movement, the RFM grid, segment migration,
  cohort retention, SLA attainment by star);
* :mod:`custmgmt.charts.svg`: :func:`to_svg`, inline SVG with no dependency, as the
  HTML reports embed it.

:mod:`custmgmt.plots` draws the same specifications on a matplotlib ``Axes`` (the
``plot`` extra). ``docs/plots.md`` shows both.

>>> from custmgmt.charts import Bars, to_svg
>>> spec = Bars(title="Orders", labels=["a", "b"], series=[("orders", [3, 5])])
>>> to_svg(spec).startswith('<svg xmlns="http://www.w3.org/2000/svg"')
True
"""

from custmgmt.charts.build import (
    calibration_vs_holdout,
    cohort_retention,
    frequency_recency_matrix,
    period_transactions,
    probability_alive_matrix,
    rfm_grid,
    segment_migration,
    sla_attainment_by_star,
    star_distribution,
    star_movement,
)
from custmgmt.charts.spec import Bars, Chart, Heatmap, Lines, NoData, Series
from custmgmt.charts.svg import to_svg

__all__ = [
    "Bars",
    "Chart",
    "Heatmap",
    "Lines",
    "NoData",
    "Series",
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
    "to_svg",
]
