"""PNG and PDF export of a report's charts through matplotlib (the ``plot`` extra).

The HTML report needs nothing; this is for slides and print. One page of six panels:
net sales by month with the 3-month average, sales by category (baseline and current),
the cohort retention heatmap, the RFM grid, customers by stars and the targets.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np

from custmgmt._extras import require
from custmgmt.errors import ValidationError
from custmgmt.kpi.html import RenderedReport

__all__ = ["FORMATS", "export_charts"]

_CJK_FONTS = ("Noto Sans CJK SC", "WenQuanYi Zen Hei", "Microsoft YaHei", "PingFang SC",
              "SimHei")

#: The file formats :func:`export_charts` writes, by suffix.
FORMATS: tuple[str, ...] = ("png", "pdf")


def export_charts(report: RenderedReport, path: str | os.PathLike[str], *,
                  dpi: int = 100) -> None:
    """Write the report's charts to ``path`` (``.png`` or ``.pdf``).

    The output carries no timestamp, so the same report gives the same file.

    Raises:
        ValidationError: a suffix other than ``.png`` or ``.pdf``.
        MissingDependency: matplotlib is not installed (``pip install custmgmt[plot]``).
    """
    target = os.fspath(path)
    suffix = target.rsplit(".", 1)[-1].lower() if "." in target else ""
    if suffix not in FORMATS:
        raise ValidationError("path", target, "a file name ending in .png or .pdf")
    matplotlib = require("matplotlib", extra="plot", purpose="exporting report charts")
    matplotlib.use("Agg", force=True)
    plt: Any = require("matplotlib.pyplot", extra="plot", purpose="exporting report charts")
    metadata: dict[str, Any] = ({"Software": None} if suffix == "png"
                                else {"CreationDate": None, "Producer": None})
    # Chinese labels need a CJK font; where none is installed they show as boxes, which
    # is not worth a warning per glyph.
    fonts = {"font.sans-serif": [*_CJK_FONTS, *matplotlib.rcParams["font.sans-serif"]]}
    with warnings.catch_warnings(), matplotlib.rc_context(fonts):
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from font")
        warnings.filterwarnings("ignore", message=r"findfont: Font family .* not found")
        scale = 10.0**report.digits
        fig, axes = plt.subplots(3, 2, figsize=(14, 15))
        try:
            _sales(axes[0][0], report, scale)
            _categories(axes[0][1], report, scale)
            _cohorts(axes[1][0], report)
            _rfm(axes[1][1], report)
            _stars(axes[2][0], report)
            _targets(axes[2][1], report)
            fig.suptitle(f"{report.title}   ({report.current.label()} vs "
                         f"{report.baseline.label()})")
            fig.tight_layout()
            fig.savefig(target, format=suffix, dpi=dpi, metadata=metadata)
        finally:
            plt.close(fig)


def _sales(ax: Any, report: RenderedReport, scale: float) -> None:
    s = report.sales
    x = np.arange(len(s.labels))
    ax.plot(x, s.net / scale, marker="o", label="net sales")
    ma = [np.nan if v is None else v / scale for v in report.sales_moving_average]
    ax.plot(x, ma, linestyle="--", label="3-month average")
    ax.set_xticks(x, s.labels, rotation=45, fontsize=8)
    ax.set_title(f"Net sales by month ({report.currency})")
    ax.legend(fontsize=8)


def _categories(ax: Any, report: RenderedReport, scale: float) -> None:
    base, cur = report.categories
    y = np.arange(len(cur.labels))
    ax.barh(y - 0.2, base.net / scale, height=0.4, label="baseline")
    ax.barh(y + 0.2, cur.net / scale, height=0.4, label="current")
    ax.set_yticks(y, cur.labels, fontsize=8)
    ax.set_title(f"Net sales by category ({report.currency})")
    ax.legend(fontsize=8)


def _cohorts(ax: Any, report: RenderedReport) -> None:
    c = report.cohorts
    shares = np.ma.masked_invalid(c.shares("returned"))
    ax.imshow(shares, cmap="Blues", vmin=0, vmax=1, aspect="auto")
    ax.set_yticks(np.arange(len(c.cohorts)), c.cohorts, fontsize=6)
    ax.set_xlabel("months since the first purchase")
    ax.set_title("Cohort retention: returned in month k")


def _rfm(ax: Any, report: RenderedReport) -> None:
    grid = np.array(report.rfm)[::-1]
    ax.imshow(grid, cmap="Blues", aspect="auto")
    for i in range(5):
        for j in range(5):
            ax.text(j, i, f"{grid[i, j]:,}", ha="center", va="center", fontsize=8)
    ax.set_xticks(range(5), [f"F{j}" for j in range(1, 6)])
    ax.set_yticks(range(5), [f"R{5 - i}" for i in range(5)])
    ax.set_title("RFM grid (buyers)")


def _stars(ax: Any, report: RenderedReport) -> None:
    if report.stars is None:
        ax.text(0.5, 0.5, "no stored rating", ha="center", va="center")
        ax.set_axis_off()
        return
    ax.bar(["unrated", "1", "2", "3", "4", "5"], report.stars)
    ax.set_title("Customers by stars")


def _targets(ax: Any, report: RenderedReport) -> None:
    ax.set_axis_off()
    ax.set_title("Targets")
    colours = {"met": "green", "not met": "red", "not measurable": "grey"}
    for i, r in enumerate(report.targets):
        text = (f"{r.status}: {r.target.describe()}  "
                f"{report.format_figure(r.baseline, interval=False)} -> "
                f"{report.format_figure(r.current, interval=False)}")
        ax.text(0.0, 0.95 - i * 0.1, text, fontsize=9, color=colours.get(r.status, "black"),
                transform=ax.transAxes)
