"""Inline SVG charts, written as text: no JavaScript, no fonts or images fetched.

:func:`to_svg` renders a chart specification (:mod:`custmgmt.charts.spec`) through the
drawing functions below, which the KPI report also calls directly for its tiles. Every
function returns one ``<svg>`` element with explicit ``width``, ``height`` and
``viewBox`` and a ``<title>``; numbers are formatted with a fixed number of decimals, so
the same data always gives the same bytes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from html import escape

from custmgmt.charts.spec import Bars, Chart, Heatmap, Lines, NoData
from custmgmt.errors import ValidationError

__all__ = ["MAX_CELL_TEXTS", "PALETTE", "STATUS_COLOURS", "bar_chart", "heatmap", "line_chart",
           "message", "tile", "to_svg"]

PALETTE = ("#2b6cb0", "#dd6b20", "#38a169", "#805ad5", "#d53f8c", "#718096")
STATUS_COLOURS = {"met": "#2f855a", "not met": "#c53030", "not measurable": "#718096"}


#: Heatmaps with more cells than this carry their values in hover notes only, which
#: keeps a 40 x 40 matrix near 150 KB (a month-by-month cohort chart of 24 x 24 keeps
#: its numbers).
MAX_CELL_TEXTS = 625


# Characters XML 1.0 does not allow (C0 controls but tab and newlines, lone surrogates,
# U+FFFE and U+FFFF): a label holding one would make the whole document unreadable.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _esc(text: str) -> str:
    return escape(_NOT_XML.sub("\ufffd", text))


def _n(x: float) -> str:
    text = f"{x:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _svg(width: float, height: float, title: str, body: Sequence[str], cls: str = "chart") -> str:
    t = _esc(title)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="{cls}" width="{_n(width)}" '
            f'height="{_n(height)}" viewBox="0 0 {_n(width)} {_n(height)}" role="img" '
            f'aria-label="{t}"><title>{t}</title>' + "".join(body) + "</svg>")


def _text(x: float, y: float, text: str, *, size: int = 11, anchor: str = "start",
          fill: str = "#1a202c", weight: str = "normal") -> str:
    bold = ' font-weight="bold"' if weight == "bold" else ""
    return (f'<text x="{_n(x)}" y="{_n(y)}" font-size="{size}" text-anchor="{anchor}" '
            f'fill="{fill}"{bold}>{_esc(text)}</text>')


def message(title: str, text: str, width: int = 480) -> str:
    """A chart-sized box saying why there is nothing to draw."""
    return _svg(width, 60, title, [
        (f'<rect x="0.5" y="0.5" width="{width - 1}" height="59" fill="#f7fafc" '
        'stroke="#cbd5e0"/>'), _text(12, 24, title, weight="bold"),
        _text(12, 44, text, fill="#4a5568")])


def tile(label: str, value: str, detail: str, status: str | None,
         share: float | None = None, target: float | None = None) -> str:
    """A KPI tile: the label, the value, a detail line, the target's status and, for a
    share, a bar with the target marked."""
    colour = STATUS_COLOURS.get(status or "", "#2b6cb0")
    body = [(f'<rect x="0.5" y="0.5" width="259" height="109" rx="6" fill="#ffffff" '
            f'stroke="{colour}" stroke-width="2"/>'),
            _text(12, 20, label, size=12, weight="bold"),
            _text(12, 50, value, size=20, fill=colour, weight="bold"),
            _text(12, 70, detail, size=10, fill="#4a5568")]
    if status:
        body.append(_text(248, 50, status, size=11, anchor="end", fill=colour, weight="bold"))
    if share is not None:
        w = max(0.0, min(1.0, share)) * 236
        body += ['<rect x="12" y="84" width="236" height="10" fill="#edf2f7"/>',
                 f'<rect x="12" y="84" width="{_n(w)}" height="10" fill="{colour}"/>']
        if target is not None and 0 <= target <= 1:
            tx = 12 + target * 236
            body.append(f'<line x1="{_n(tx)}" y1="80" x2="{_n(tx)}" y2="98" '
                        'stroke="#1a202c" stroke-width="2"/>')
    return _svg(260, 110, label, body, cls="tile")


def bar_chart(title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]],
              fmt: str = "{:,.0f}", width: int = 560) -> str:
    """Horizontal bars, one group per label and one bar per series."""
    if not labels or all(all(v == 0 for v in vals) for _, vals in series):
        return message(title, "no data in the period · 本期无数据", width)
    k = len(series)
    bar, gap, left, top = 14, 8, 130, 40
    height = top + len(labels) * (k * bar + gap) + 10
    peak = max((v for _, vals in series for v in vals), default=0) or 1
    scale = (width - left - 110) / peak
    body = [_text(8, 16, title, size=13, weight="bold")]
    for j, (name, _) in enumerate(series):
        body += [(f'<rect x="{8 + j * 130}" y="24" width="10" height="10" '
                 f'fill="{PALETTE[j % len(PALETTE)]}"/>'), _text(22 + j * 130, 33, name, size=10)]
    for i, label in enumerate(labels):
        y0 = top + i * (k * bar + gap)
        body.append(_text(left - 6, y0 + k * bar / 2 + 4, label, anchor="end"))
        for j, (_, vals) in enumerate(series):
            v = float(vals[i])
            w = max(v, 0) * scale
            y = y0 + j * bar
            body += [(f'<rect x="{left}" y="{_n(y)}" width="{_n(max(w, 1))}" '
                     f'height="{bar - 2}" fill="{PALETTE[j % len(PALETTE)]}"/>'),
                     _text(left + w + 4, y + bar - 4, fmt.format(v), size=10)]
    return _svg(width, height, title, body)


def line_chart(title: str, labels: Sequence[str],
               series: Sequence[tuple[str, Sequence[float | None]]],
               fmt: str = "{:,.0f}", width: int = 720, height: int = 280,
               x_label: str = "", y_label: str = "") -> str:
    """Lines over labelled points (None: no point); the first series also gets dots.
    Axis labels, when given, go below the points and, turned, left of the values."""
    values = [v for _, vals in series for v in vals if v is not None]
    if not labels or not values:
        return message(title, "no data · 无数据", width)
    left, right, top, bottom = 80, 20, 40, 40
    lo, hi = min(0.0, min(values)), max(values)
    hi = hi if hi > lo else lo + 1
    pw, ph = width - left - right, height - top - bottom
    n = len(labels)

    def x(i: int) -> float:
        return left + (pw * i / (n - 1) if n > 1 else pw / 2)

    def y(v: float) -> float:
        return top + ph * (1 - (v - lo) / (hi - lo))

    body = [_text(8, 16, title, size=13, weight="bold"),
            (f'<line x1="{left}" y1="{_n(y(lo))}" x2="{width - right}" y2="{_n(y(lo))}" '
            'stroke="#a0aec0"/>')]
    if x_label:
        body.append(_text(left + pw / 2, height - 6, x_label, size=10, anchor="middle",
                          fill="#4a5568"))
    if y_label:
        mid = top + ph / 2
        body.append(f'<text x="12" y="{_n(mid)}" font-size="10" text-anchor="middle" '
                    f'fill="#4a5568" transform="rotate(-90 12 {_n(mid)})">'
                    f"{_esc(y_label)}</text>")
    for t in range(5):
        v = lo + (hi - lo) * t / 4
        body += [(f'<line x1="{left}" y1="{_n(y(v))}" x2="{width - right}" y2="{_n(y(v))}" '
                 'stroke="#edf2f7"/>'), _text(left - 6, y(v) + 4, fmt.format(v), size=9,
                                             anchor="end")]
    step = max(1, math.ceil(n / 12))
    for i in range(0, n, step):
        body.append(_text(x(i), height - bottom + 16, labels[i], size=9, anchor="middle"))
    for j, (name, vals) in enumerate(series):
        colour = PALETTE[j % len(PALETTE)]
        pts = [(x(i), y(float(v))) for i, v in enumerate(vals) if v is not None]
        if len(pts) > 1:
            path = " ".join(f"{_n(px)},{_n(py)}" for px, py in pts)
            dash = ' stroke-dasharray="5,4"' if j else ""
            body.append(f'<polyline points="{path}" fill="none" stroke="{colour}" '
                        f'stroke-width="2"{dash}/>')
        if j == 0:
            body += [f'<circle cx="{_n(px)}" cy="{_n(py)}" r="3" fill="{colour}"/>'
                     for px, py in pts]
        body += [(f'<rect x="{left + 10 + j * 170}" y="24" width="10" height="3" '
                 f'fill="{colour}"/>'), _text(left + 24 + j * 170, 29, name, size=10)]
    return _svg(width, height, title, body)


def heatmap(title: str, rows: Sequence[str], cols: Sequence[str],
            cells: Sequence[Sequence[float | None]], notes: Sequence[Sequence[str]] | None = None,
            fmt: str = "{:.0%}", cell: int = 24, left: int = 70,
            texts: Sequence[Sequence[str]] | None = None, x_label: str = "",
            y_label: str = "") -> str:
    """A grid of cells shaded by value in [0, 1] (None: a blank cell), with hover titles;
    each cell shows ``texts[i][j]`` if given, else its value through ``fmt`` (where
    cells are at least 22 pixels and at most :data:`MAX_CELL_TEXTS` of them). Axis
    labels, when given, go above the columns and, turned, left of the rows."""
    if not rows or not cols:
        return message(title, "no data · 无数据")
    top = 50
    if y_label:
        left += 16
    width = max(left + len(cols) * cell + 10, 8 + 7 * len(title))
    height = top + len(rows) * cell + 10
    body = [_text(8, 16, title, size=13, weight="bold")]
    if x_label:
        body.append(_text(left + len(cols) * cell / 2, 32, x_label, size=10, anchor="middle",
                          fill="#4a5568"))
    if y_label:
        mid = top + len(rows) * cell / 2
        body.append(f'<text x="12" y="{_n(mid)}" font-size="10" text-anchor="middle" '
                    f'fill="#4a5568" transform="rotate(-90 12 {_n(mid)})">'
                    f"{_esc(y_label)}</text>")
    for j, c in enumerate(cols):
        body.append(_text(left + j * cell + cell / 2, top - 6, c, size=9, anchor="middle"))
    for i, r in enumerate(rows):
        y = top + i * cell
        body.append(_text(left - 6, y + cell / 2 + 4, r, size=9, anchor="end"))
        for j, v in enumerate(cells[i]):
            xx = left + j * cell
            if v is None:
                continue
            shade = max(0.0, min(1.0, float(v)))
            light = round(95 - 55 * shade)
            colour = f"hsl(212,70%,{light}%)"
            ink = "#ffffff" if light < 62 else "#1a202c"
            note = notes[i][j] if notes else fmt.format(v)
            body.append(f'<rect x="{xx}" y="{y}" width="{cell - 1}" height="{cell - 1}" '
                        f'fill="{colour}"><title>{_esc(note)}</title></rect>')
            if cell >= 22 and len(rows) * len(cols) <= MAX_CELL_TEXTS:
                shown = texts[i][j] if texts else fmt.format(v)
                body.append(_text(xx + cell / 2, y + cell / 2 + 3, shown, size=7,
                                  anchor="middle", fill=ink))
    return _svg(width, height, title, body)


def _heatmap_cell(spec: Heatmap) -> int:
    # Cells shrink so a wide matrix (a frequency/recency grid of 40 columns) stays
    # within about 900 pixels; below 22 pixels they carry no text, only hover notes.
    return max(6, min(24, 900 // max(1, len(spec.columns))))


def _heatmap_left(spec: Heatmap) -> int:
    longest = max((len(r) for r in spec.rows), default=0)
    return max(70, 12 + 6 * longest)


def to_svg(spec: Chart, *, width: int | None = None, height: int | None = None,
           cell: int | None = None, left: int | None = None) -> str:
    """Render a chart specification as one inline ``<svg>`` element.

    Bars are drawn horizontally whatever ``spec.horizontal`` says (labels stay
    readable in a narrow column); an empty chart becomes a titled message box.

    Args:
        spec: a :class:`~custmgmt.charts.spec.Bars`, :class:`~custmgmt.charts.spec.Lines`,
            :class:`~custmgmt.charts.spec.Heatmap` or :class:`~custmgmt.charts.spec.NoData`.
        width: the width in pixels (bars and lines; heatmaps size themselves).
        height: the height in pixels (lines only).
        cell: a heatmap's cell size in pixels; by default 24, smaller for many columns.
        left: a heatmap's margin for row labels; by default from the longest label.

    Raises:
        ValidationError: ``spec`` is not a chart specification.
    """
    if isinstance(spec, NoData):
        return message(spec.title, spec.reason, width or 480)
    if isinstance(spec, Bars):
        series = [(s.name, [0.0 if v is None else v for v in s.values]) for s in spec.series]
        return bar_chart(spec.title, list(spec.labels), series, fmt=spec.value_format,
                         width=width or 560)
    if isinstance(spec, Lines):
        return line_chart(spec.title, list(spec.labels),
                          [(s.name, list(s.values)) for s in spec.series],
                          fmt=spec.value_format, width=width or 720, height=height or 280,
                          x_label=spec.x_label, y_label=spec.y_label)
    if isinstance(spec, Heatmap):
        if spec.is_empty():
            return message(spec.title, "no data · 无数据")
        n, k = len(spec.rows), len(spec.columns)
        cells = [[None if v is None else spec.shade(v) for v in row] for row in spec.values]
        return heatmap(
            spec.title, list(spec.rows), list(spec.columns), cells,
            notes=[[spec.note(i, j) for j in range(k)] for i in range(n)],
            texts=[[spec.text(i, j) for j in range(k)] for i in range(n)],
            cell=cell or _heatmap_cell(spec), left=left or _heatmap_left(spec),
            x_label=spec.x_label, y_label=spec.y_label,
        )
    raise ValidationError("spec", type(spec).__name__, "a Bars, Lines, Heatmap or NoData chart")
