"""PNG and PDF export of a report's charts through matplotlib (the ``plot`` extra).

The HTML report needs nothing; this is for slides and print. One page of six panels:
net sales by month with the 3-month average, sales by category (baseline and current),
the cohort retention heatmap, the RFM grid, customers by stars and the targets. The
charts are the HTML report's own specifications (:func:`custmgmt.kpi.html.report_charts`)
drawn by :func:`custmgmt.plots.draw`.
"""

from __future__ import annotations

import io
import os
import warnings
from typing import Any

from custmgmt._extras import require
from custmgmt._files import write_file
from custmgmt.errors import ValidationError
from custmgmt.kpi.html import RenderedReport, report_charts
from custmgmt.plots.render import draw, legible

__all__ = ["FORMATS", "export_charts"]

_CJK_FONTS = ("Noto Sans CJK SC", "WenQuanYi Zen Hei", "Microsoft YaHei", "PingFang SC",
              "SimHei")

#: The file formats :func:`export_charts` writes, by suffix.
FORMATS: tuple[str, ...] = ("png", "pdf")
#: The highest ``dpi``: a page of 14 x 15 inches at 1000 dpi is already 210 megapixels.
_MAX_DPI = 1000


def export_charts(report: RenderedReport, path: str | os.PathLike[str], *,
                  dpi: int = 100) -> None:
    """Write the report's charts to ``path`` (``.png`` or ``.pdf``).

    The output carries no timestamp, so the same report gives the same file.

    A regular file is replaced atomically (readers see the old file or the whole new
    one; a failure leaves the old file untouched); a FIFO or a device is written
    through, never replaced.

    Raises:
        ValidationError: a suffix other than ``.png`` or ``.pdf``; a ``dpi`` that is not
            a whole number from 1 to 1000; a directory, or a file that cannot be written.
        MissingDependency: matplotlib is not installed (``pip install custmgmt[plot]``).
    """
    target = os.fspath(path)
    suffix = target.rsplit(".", 1)[-1].lower() if "." in target else ""
    if suffix not in FORMATS:
        raise ValidationError("path", target, "a file name ending in .png or .pdf")
    if isinstance(dpi, bool) or not isinstance(dpi, int) or not 1 <= dpi <= _MAX_DPI:
        raise ValidationError("dpi", dpi, f"a whole number of dots per inch from 1 to {_MAX_DPI}")
    _check_target(target)
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
        charts = report_charts(report)
        fig, axes = plt.subplots(3, 2, figsize=(14, 15))
        try:
            # The HTML report's own chart definitions, drawn with matplotlib.
            for ax, name in zip(axes.ravel(), ("sales", "categories", "cohorts_returned",
                                               "rfm", "stars"), strict=False):
                draw(charts[name], ax)
            _targets(axes[2][1], report)
            fig.suptitle(f"{legible(report.title)}   ({report.current.label()} vs "
                         f"{report.baseline.label()})")
            fig.tight_layout()
            buffer = io.BytesIO()
            fig.savefig(buffer, format=suffix, dpi=dpi, metadata=metadata)
        finally:
            plt.close(fig)
    _write_bytes(target, buffer.getvalue())


def _check_target(target: str) -> None:
    """Refuse a path that cannot take the file before the charts are drawn."""
    real = os.path.realpath(target)
    if os.path.isdir(real):
        raise ValidationError("path", target, "a file, not a directory")
    if not os.path.isdir(os.path.dirname(real) or "."):
        raise ValidationError("path", target, "a file in an existing directory")


def _write_bytes(target: str, data: bytes) -> None:
    """Replace a regular file atomically; write a FIFO or a device through."""
    try:
        write_file(target, lambda stream: stream.write(data), binary=True)
    except OSError as exc:
        raise ValidationError("path", target, f"a writable file ({exc.strerror or exc})") from None


def _targets(ax: Any, report: RenderedReport) -> None:
    ax.set_axis_off()
    ax.set_title("Targets")
    colours = {"met": "green", "not met": "red", "not measurable": "grey"}
    for i, r in enumerate(report.targets):
        text = (f"{r.status}: {r.target.describe(report.currency)}  "
                f"{report.format_figure(r.baseline, interval=False)} -> "
                f"{report.format_figure(r.current, interval=False)}")
        ax.text(0.0, 0.95 - i * 0.1, text, fontsize=9, color=colours.get(r.status, "black"),
                transform=ax.transAxes)
