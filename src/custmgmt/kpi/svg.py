"""Inline SVG charts for the KPI report.

The drawing functions moved to :mod:`custmgmt.charts.svg`, where chart specifications
shared with the matplotlib plots (:mod:`custmgmt.plots`) are rendered; this module keeps
the names importable from where they were.
"""

from __future__ import annotations

from custmgmt.charts.svg import (
    PALETTE,
    STATUS_COLOURS,
    bar_chart,
    heatmap,
    line_chart,
    message,
    tile,
    to_svg,
)

__all__ = ["PALETTE", "STATUS_COLOURS", "bar_chart", "heatmap", "line_chart", "message", "tile",
           "to_svg"]
