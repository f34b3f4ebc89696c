"""Drawing chart specifications (:mod:`custmgmt.charts.spec`) on a matplotlib ``Axes``.

matplotlib is the ``plot`` extra: it is imported when a chart is drawn, never when
this module is imported, so ``import custmgmt`` and the HTML reports work without it.
The drawing leaves the backend, the style and the fonts to the caller; given no
``Axes`` it draws on a new figure. A title or label written ``"English · 中文"`` keeps
only its English part when none of the configured fonts has the Chinese glyphs
(matplotlib would otherwise draw boxes and warn about every glyph).
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from custmgmt._extras import require
from custmgmt.charts.spec import Bars, Chart, Heatmap, Lines, NoData
from custmgmt.errors import ValidationError

__all__ = ["MAX_CELL_TEXTS", "draw", "legible"]

#: Heatmaps with more cells than this show values through the colour bar only: the
#: numbers would not fit in the cells.
MAX_CELL_TEXTS = 150


def _matplotlib() -> Any:
    return require("matplotlib", extra="plot", purpose="drawing charts")


def _families(matplotlib: Any) -> tuple[str, ...]:
    out: list[str] = []
    for name in matplotlib.rcParams["font.family"]:
        generic = f"font.{name}"
        out += list(matplotlib.rcParams[generic]) if generic in matplotlib.rcParams else [name]
    return tuple(out)


@functools.lru_cache(maxsize=8)
def _coverage(families: tuple[str, ...]) -> frozenset[int]:
    """The characters the fonts of ``families`` can draw (matplotlib falls back from one
    family to the next, so their union)."""
    font_manager = require("matplotlib.font_manager", extra="plot", purpose="drawing charts")
    ft2font = require("matplotlib.ft2font", extra="plot", purpose="drawing charts")
    chars: set[int] = set()
    for family in families:
        try:
            path = font_manager.findfont(font_manager.FontProperties(family=family),
                                         fallback_to_default=False)
        except ValueError:  # not installed
            continue
        chars.update(ft2font.FT2Font(path).get_charmap())
    return frozenset(chars)


def _say(text: str, covered: frozenset[int]) -> str:
    """``text``, or its parts (split at " · ") the fonts can draw."""
    def drawable(t: str) -> bool:
        return all(c.isspace() or ord(c) in covered for c in t)

    if drawable(text) or " · " not in text:
        return text
    parts = [p for p in text.split(" · ") if drawable(p)]
    return " · ".join(parts) if parts else text.split(" · ")[0]


def legible(text: str) -> str:
    """``text`` as :func:`draw` writes it with the fonts configured now: a bilingual
    ``"English · 中文"`` loses the parts no configured font can draw.

    Raises:
        MissingDependency: matplotlib is not installed.
    """
    return _say(text, _coverage(_families(_matplotlib())))


def _axes(ax: Any, size: tuple[float, float]) -> Any:
    if ax is not None:
        if not hasattr(ax, "figure") or not hasattr(ax, "imshow"):
            raise ValidationError("ax", type(ax).__name__, "a matplotlib Axes or None")
        return ax
    plt = require("matplotlib.pyplot", extra="plot", purpose="drawing charts")
    _, new = plt.subplots(figsize=size)
    return new


def _ticks(n: int, most: int = 25) -> range:
    return range(0, n, max(1, math.ceil(n / most)))


def draw(spec: Chart, ax: Any = None) -> Any:
    """Draw a chart specification on ``ax`` (a new figure's Axes when None).

    Bars draw as grouped bars with their values written by each bar (horizontal
    unless ``spec.horizontal`` is False); lines with dots for the first series and
    dashes for the others (missing points break the line); a heatmap as an image
    shaded from ``spec.low`` to ``spec.high`` with a colour bar, blank cells
    transparent and each cell's text where they fit (at most :data:`MAX_CELL_TEXTS`
    cells); :class:`~custmgmt.charts.spec.NoData`, and a chart with nothing in it, as
    a message in an empty frame.

    Returns:
        The matplotlib ``Axes`` drawn on.

    Raises:
        ValidationError: ``spec`` is not a chart specification or ``ax`` not an Axes.
        MissingDependency: matplotlib is not installed (``pip install custmgmt[plot]``).
    """
    matplotlib = _matplotlib()
    covered = _coverage(_families(matplotlib))

    def say(text: str) -> str:
        return _say(text, covered)

    if isinstance(spec, Bars | Lines | Heatmap) and spec.is_empty():
        # As the SVG renderer does: a titled message rather than an empty frame.
        spec = NoData(title=spec.title, reason="no data · 无数据")
    if isinstance(spec, Heatmap):
        ax = _axes(ax, (max(5.0, 0.3 * len(spec.columns) + 3), max(3.5, 0.3 * len(spec.rows) + 2)))
        _heatmap(ax, spec, say)
    elif isinstance(spec, Bars):
        ax = _axes(ax, (7.0, max(3.0, 0.35 * len(spec.labels) * len(spec.series) + 1.5)))
        _bars(ax, spec, say)
    elif isinstance(spec, Lines):
        ax = _axes(ax, (7.0, 4.0))
        _lines(ax, spec, say)
    elif isinstance(spec, NoData):
        ax = _axes(ax, (6.0, 1.5))
        ax.text(0.5, 0.5, say(spec.reason), ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
    else:
        raise ValidationError("spec", type(spec).__name__, "a Bars, Lines, Heatmap or NoData chart")
    ax.set_title(say(spec.title))
    return ax


def _bars(ax: Any, spec: Bars, say: Any) -> None:
    n, k = len(spec.labels), max(1, len(spec.series))
    positions = np.arange(n, dtype=np.float64)
    width = 0.8 / k
    for j, series in enumerate(spec.series):
        values = np.array([0.0 if v is None else v for v in series.values])
        where = positions - 0.4 + width * (j + 0.5)
        if spec.horizontal:
            bars = ax.barh(where, values, height=width, label=say(series.name))
        else:
            bars = ax.bar(where, values, width=width, label=say(series.name))
        ax.bar_label(bars, labels=[spec.value_format.format(v) for v in values], fontsize=8,
                     padding=2)
    labels = [say(label) for label in spec.labels]
    if spec.horizontal:
        ax.set_yticks(positions, labels)
        ax.invert_yaxis()  # the first category on top, as in the SVG
        ax.set_xlabel(say(spec.value_label))
        ax.set_ylabel(say(spec.category_label))
        ax.margins(x=0.15)
    else:
        ax.set_xticks(positions, labels)
        ax.set_ylabel(say(spec.value_label))
        ax.set_xlabel(say(spec.category_label))
        ax.margins(y=0.15)
    if len(spec.series) > 1:
        ax.legend(fontsize=8)


def _lines(ax: Any, spec: Lines, say: Any) -> None:
    x = np.arange(len(spec.labels), dtype=np.float64)
    for j, series in enumerate(spec.series):
        y = np.array([np.nan if v is None else v for v in series.values], dtype=np.float64)
        style: dict[str, Any] = {"marker": "o"} if j == 0 else {"linestyle": "--"}
        ax.plot(x, y, label=say(series.name), **style)
    shown = list(_ticks(len(spec.labels)))
    crowded = len(shown) > 8  # month labels side by side would overlap
    ax.set_xticks(x[shown], [say(spec.labels[i]) for i in shown],
                  rotation=45 if crowded else 0, ha="right" if crowded else "center")
    ax.set_xlabel(say(spec.x_label))
    ax.set_ylabel(say(spec.y_label))
    ax.legend(fontsize=8)


def _heatmap(ax: Any, spec: Heatmap, say: Any) -> None:
    values = np.array([[np.nan if v is None else v for v in row] for row in spec.values],
                      dtype=np.float64).reshape(len(spec.rows), len(spec.columns))
    image = ax.imshow(np.ma.masked_invalid(values), cmap="Blues", vmin=spec.low,
                      vmax=spec.high, aspect="auto", interpolation="nearest")
    ax.figure.colorbar(image, ax=ax)
    rows, columns = _ticks(len(spec.rows)), _ticks(len(spec.columns))
    ax.set_yticks(list(rows), [say(spec.rows[i]) for i in rows])
    ax.set_xticks(list(columns), [say(spec.columns[j]) for j in columns],
                  rotation=90 if len(spec.columns) > 12 else 0)
    ax.set_xlabel(say(spec.x_label))
    ax.set_ylabel(say(spec.y_label))
    if values.size <= MAX_CELL_TEXTS:
        for i in range(len(spec.rows)):
            for j in range(len(spec.columns)):
                v = spec.values[i][j]
                if v is None:
                    continue
                dark = spec.shade(v) > 0.6
                ax.text(j, i, say(spec.text(i, j)), ha="center", va="center", fontsize=7,
                        color="white" if dark else "black")
