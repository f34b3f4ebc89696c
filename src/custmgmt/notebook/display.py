"""Rich display of results: compact HTML for Jupyter, one short line for the terminal.

Every public result type renders itself through :class:`Report`: a title, a few
facts (size, time, currency ...) and small tables of *summaries* (counts per star or
segment, quantiles per column, fitted parameters), never one row per customer, so a
result over a million customers displays in a few kilobytes. All text is escaped;
customer-level personal data never appears (only aggregates and names the host chose,
such as segment names).

>>> import numpy as np
>>> report = Report("Scores", facts=[("customers", 3)])
>>> report.add(numeric_summary({"score": np.array([0.1, 0.5, np.nan])}))
>>> html = report.to_html()
>>> html.startswith('<div class="custmgmt">') and "<td>score</td>" in html
True
>>> short_repr("Rating", customers=3, levels=5)
'Rating(customers=3, levels=5)'

Money is shown at its currency's minor-unit digits, not to 4 significant digits: an
:class:`MajorAmount` (a float in major units that knows its currency) in a table or fact,
and a :class:`~custmgmt.notebook.dataframes.MoneyColumn` given to
:func:`numeric_summary`.

>>> format_value(1018.359), format_value(MajorAmount(1018.359, "KWD"))
('1,018', '1,018.359')
"""

from __future__ import annotations

import html
import math
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs
import numpy as np

from custmgmt.domain.money import MajorAmount, format_money
from custmgmt.notebook.dataframes import MoneyColumn

__all__ = [
    "MAX_TABLE_ROWS",
    "Displayed",
    "Report",
    "Table",
    "counts_table",
    "format_value",
    "numeric_summary",
    "pad",
    "short_repr",
    "text_width",
]

#: Tables show at most this many rows, then say how many more there are.
MAX_TABLE_ROWS = 30

_QUANTILES = (0.0, 0.25, 0.5, 0.75, 1.0)


def _money_text(amount: MajorAmount) -> str:
    v = float(amount)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return f"{v}"
    return format_money(v, amount.currency)


def format_value(value: Any) -> str:
    """A value as short text: floats to 4 significant digits (a :class:`MajorAmount` at its
    currency's minor-unit digits), times in ISO form."""
    if isinstance(value, MajorAmount):
        return _money_text(value)
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    if isinstance(value, float | np.floating):
        v = float(value)
        if math.isnan(v):
            return "NaN"
        if v != 0 and (abs(v) >= 1e6 or abs(v) < 1e-3):
            return f"{v:.4g}"
        return f"{v:,.4g}" if abs(v) < 1e4 else f"{v:,.0f}"
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    return str(value)


@attrs.frozen(kw_only=True)
class Table:
    """A small table: a caption, a header and rows of values (formatted when shown).

    Attributes:
        caption: what the table shows.
        header: the column names.
        rows: the rows; only the first :data:`MAX_TABLE_ROWS` are shown.
    """

    caption: str
    header: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]

    def to_html(self) -> str:
        """The table as escaped HTML, truncated to :data:`MAX_TABLE_ROWS` rows."""
        head = "".join(f"<th>{_e(h)}</th>" for h in self.header)
        body = [
            "<tr>" + "".join(f"<td>{_e(format_value(v))}</td>" for v in row) + "</tr>"
            for row in self.rows[:MAX_TABLE_ROWS]
        ]
        hidden = len(self.rows) - MAX_TABLE_ROWS
        if hidden > 0:
            body.append(
                f'<tr><td colspan="{len(self.header)}">… {hidden:,} more rows</td></tr>'
            )
        return (
            f"<table><caption>{_e(self.caption)}</caption><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>"
        )

    def to_text(self) -> str:
        """The table as aligned text (numbers right-aligned; wide characters such as
        Chinese count two columns), truncated like :meth:`to_html`."""
        shown = [tuple(format_value(v) for v in row) for row in self.rows[:MAX_TABLE_ROWS]]
        numeric = [
            all(isinstance(row[j], int | float | np.number) for row in self.rows[:MAX_TABLE_ROWS])
            for j in range(len(self.header))
        ]
        widths = [
            max([text_width(h)] + [text_width(row[j]) for row in shown])
            for j, h in enumerate(self.header)
        ]
        lines = [self.caption]
        for cells in (tuple(self.header), *shown):
            padded = [
                pad(cell, widths[j], right=numeric[j])
                for j, cell in enumerate(cells)
            ]
            lines.append("  " + "  ".join(padded).rstrip())
        hidden = len(self.rows) - MAX_TABLE_ROWS
        if hidden > 0:
            lines.append(f"  … {hidden:,} more rows")
        return "\n".join(lines)


class Report:
    """Builds one result's HTML: a title, facts, tables and notes (warnings).

    Args:
        title: what the result is (``"Rating"``).
        facts: (label, value) pairs shown first, as a two-column table.
    """

    def __init__(self, title: str, facts: Iterable[tuple[str, Any]] = ()) -> None:
        self.title = title
        self.facts = list(facts)
        self.tables: list[Table] = []
        self.notes: list[str] = []

    def add(self, table: Table | None) -> None:
        """Append a table (None is ignored, for optional parts)."""
        if table is not None:
            self.tables.append(table)

    def note(self, text: str) -> None:
        """Append a sentence shown under the tables (warnings, hints)."""
        self.notes.append(text)

    def to_html(self) -> str:
        """The whole report as one ``<div>``."""
        parts = [f'<div class="custmgmt"><strong>{_e(self.title)}</strong>']
        if self.facts:
            rows = "".join(
                f"<tr><th>{_e(label)}</th><td>{_e(format_value(value))}</td></tr>"
                for label, value in self.facts
            )
            parts.append(f"<table><tbody>{rows}</tbody></table>")
        parts.extend(t.to_html() for t in self.tables)
        if self.notes:
            items = "".join(f"<li>{_e(n)}</li>" for n in self.notes[:MAX_TABLE_ROWS])
            parts.append(f"<ul>{items}</ul>")
        parts.append("</div>")
        return "".join(parts)

    def to_text(self) -> str:
        """The whole report as aligned text for a terminal (the long ``summary()``)."""
        lines = [self.title]
        if self.facts:
            width = max(text_width(label) for label, _ in self.facts)
            lines += [f"  {pad(label, width)}  {format_value(v)}" for label, v in self.facts]
        for table in self.tables:
            lines += ["", table.to_text()]
        if self.notes:
            lines.append("")
            lines += [f"  * {note}" for note in self.notes[:MAX_TABLE_ROWS]]
        return "\n".join(lines) + "\n"


def numeric_summary(
    columns: Mapping[str, Any], *, caption: str = "per-customer columns"
) -> Table:
    """Count, missing, mean and quantiles (min, 25%, median, 75%, max) per column.

    Non-numeric columns are listed with their count only. A
    :class:`~custmgmt.notebook.dataframes.MoneyColumn` is summarised in major units,
    its mean and quantiles shown at the currency's minor-unit digits (:class:`MajorAmount`).
    """
    rows = []
    for name, values in columns.items():
        if isinstance(values, MoneyColumn):
            rows.append(_money_summary(name, values))
            continue
        arr = np.asarray(values)
        if arr.dtype.kind not in "biuf" or arr.size == 0:
            rows.append((name, int(arr.size), 0, *([""] * 6)))
            continue
        data = arr.astype(np.float64, copy=False)
        finite = data[np.isfinite(data)] if arr.dtype.kind == "f" else data
        missing = int(arr.size - finite.size)
        if finite.size == 0:
            rows.append((name, int(arr.size), missing, *([math.nan] * 6)))
            continue
        qs = np.quantile(finite, _QUANTILES)
        rows.append((name, int(arr.size), missing, float(finite.mean()), *map(float, qs)))
    header = ("column", "count", "missing", "mean", "min", "25%", "median", "75%", "max")
    return Table(caption=caption, header=header, rows=tuple(rows))


def _money_summary(name: str, column: MoneyColumn) -> tuple[Any, ...]:
    arr = np.asarray(column.values)
    data = arr.astype(np.float64)
    if column.unit == "minor":
        data = data / 10.0 ** column.digits
    finite = data[np.isfinite(data)]
    missing = int(arr.size - finite.size)
    if finite.size == 0:
        return (name, int(arr.size), missing, *([math.nan] * 6))
    qs = np.quantile(finite, _QUANTILES)
    figures = (float(finite.mean()), *map(float, qs))
    return (name, int(arr.size), missing, *(MajorAmount(v, column.currency) for v in figures))


def counts_table(caption: str, label: str, counts: Mapping[Any, int]) -> Table:
    """One row per group: its name, count and share of the total."""
    total = sum(int(c) for c in counts.values())
    rows = tuple(
        (name, int(c), f"{(int(c) / total if total else 0.0):.1%}") for name, c in counts.items()
    )
    return Table(caption=caption, header=(label, "customers", "share"), rows=rows)


def short_repr(type_name: str, /, **facts: Any) -> str:
    """``Name(key=value, ...)`` with short values (the terminal's one-line view)."""
    shown = ", ".join(f"{k}={_short(v)}" for k, v in facts.items())
    return f"{type_name}({shown})"


def _short(value: Any) -> str:
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:37] + "...")
    if isinstance(value, datetime):
        return repr(value.isoformat(timespec="seconds"))
    if isinstance(value, float | np.floating):
        return format_value(value).replace(",", "")
    if isinstance(value, Sequence) and not isinstance(value, str):
        items = [_short(v) for v in list(value)[:4]]
        more = ", ..." if len(value) > 4 else ""
        return "[" + ", ".join(items) + more + "]"
    return repr(value)


def text_width(text: str) -> int:
    """Columns ``text`` takes on a terminal: wide (East Asian) characters count two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, width: int, *, right: bool = False) -> str:
    """``text`` padded with spaces to ``width`` terminal columns."""
    fill = " " * max(width - text_width(text), 0)
    return fill + text if right else text + fill


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


class Displayed:
    """Mixin: ``_repr_html_`` (Jupyter) and ``summary()`` (terminal) from one report.

    A result class defines ``_display()`` returning its :class:`Report` (summaries
    only) and its own short ``__repr__`` (attrs writes one for the class otherwise).
    """

    __slots__ = ()

    def _display(self) -> Report:
        raise NotImplementedError  # each result builds its own report

    def _repr_html_(self) -> str:
        """The report as compact HTML, for Jupyter."""
        return self._display().to_html()

    def summary(self) -> str:
        """The report as aligned text, for a terminal."""
        return self._display().to_text()
