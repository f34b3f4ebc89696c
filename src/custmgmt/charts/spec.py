"""Chart specifications: what a chart shows, as small immutable values.

A spec holds the data and the words of one chart (title, axis labels, categories,
values, what a cell's hover note says) and nothing about pixels, colours or fonts, so
one definition feeds two renderers: :func:`custmgmt.charts.svg.to_svg` writes inline
SVG for the HTML reports with no dependency, and :mod:`custmgmt.plots` draws on a
matplotlib ``Axes`` (the ``plot`` extra). Three kinds cover every chart the library
draws, plus a fourth that says why there is nothing to draw:

* :class:`Bars`: one or more series of values over categories (star distribution,
  SLA attainment by star, period transactions, sales by category);
* :class:`Lines`: series over ordered points (calibration vs holdout, sales by month);
* :class:`Heatmap`: a matrix of values, shaded between ``low`` and ``high`` (the
  frequency/recency and probability-alive matrices, the RFM grid, segment migration,
  cohort retention, star movement);
* :class:`NoData`: a titled message instead of a chart.

Values are plain floats (``None`` for a missing point or cell); the constructors check
that every series and row has the length of its labels and that shading bounds are
ordered, raising :class:`~custmgmt.errors.ValidationError`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import attrs

from custmgmt.errors import ValidationError

__all__ = ["Bars", "Chart", "Heatmap", "Lines", "NoData", "Series"]


def _value(field: str, v: Any) -> float | None:
    if v is None:
        return None
    try:
        out = float(v)
    except (TypeError, ValueError) as exc:
        raise ValidationError(field, v, "a number or None") from exc
    # NaN is how numpy says "missing"; one spelling (None) keeps renderers simple.
    if math.isnan(out):
        return None
    if math.isinf(out):
        raise ValidationError(field, v, "a finite number or None")
    return out


def _values(field: str, values: Iterable[Any]) -> tuple[float | None, ...]:
    return tuple(_value(f"{field}[{i}]", v) for i, v in enumerate(values))


def _series_values(values: Iterable[Any]) -> tuple[float | None, ...]:
    return _values("values", values)


def _labels(values: Iterable[Any]) -> tuple[str, ...]:
    return tuple(str(v) for v in values)


@attrs.frozen(kw_only=True)
class Series:
    """One named sequence of values (``None``: no value at that point).

    Attributes:
        name: the legend's text.
        values: one value per label of the chart.
    """

    name: str
    values: tuple[float | None, ...] = attrs.field(converter=_series_values)

    def present(self) -> list[float]:
        """The values that are there."""
        return [v for v in self.values if v is not None]


def _series(items: Iterable[Series | tuple[str, Sequence[Any]]]) -> tuple[Series, ...]:
    out = []
    for item in items:
        if isinstance(item, Series):
            out.append(item)
        else:
            name, values = item
            out.append(Series(name=name, values=values))
    return tuple(out)


def _check_lengths(name: str, labels: tuple[str, ...], series: tuple[Series, ...]) -> None:
    for s in series:
        if len(s.values) != len(labels):
            raise ValidationError(
                f"{name}.series[{s.name!r}]", len(s.values), f"{len(labels)} values, one per label"
            )


@attrs.frozen(kw_only=True)
class Bars:
    """Bars over categories, one bar per series in each category.

    Attributes:
        title: the chart's title.
        labels: the categories, in order.
        series: one :class:`Series` per bar of a category (``(name, values)`` pairs
            are converted).
        value_format: a ``str.format`` pattern for the value written by each bar.
        value_label: what the values measure (the value axis' label).
        category_label: what the categories are (the category axis' label).
        horizontal: bars run left to right, categories top to bottom.
    """

    title: str
    labels: tuple[str, ...] = attrs.field(converter=_labels)
    series: tuple[Series, ...] = attrs.field(converter=_series)
    value_format: str = "{:,.0f}"
    value_label: str = ""
    category_label: str = ""
    horizontal: bool = True

    def __attrs_post_init__(self) -> None:
        _check_lengths("Bars", self.labels, self.series)

    def is_empty(self) -> bool:
        """No category, or every value missing or zero: nothing worth a bar."""
        return not self.labels or all(not v for s in self.series for v in s.values)


@attrs.frozen(kw_only=True)
class Lines:
    """Lines over ordered points; the first series is the observed one (drawn with dots),
    the others are references (dashed).

    Attributes:
        title: the chart's title.
        labels: the points' labels, in order along the x axis.
        series: one :class:`Series` per line.
        value_format: a ``str.format`` pattern for the value axis' ticks.
        x_label: the x axis' label.
        y_label: the y axis' label.
    """

    title: str
    labels: tuple[str, ...] = attrs.field(converter=_labels)
    series: tuple[Series, ...] = attrs.field(converter=_series)
    value_format: str = "{:,.0f}"
    x_label: str = ""
    y_label: str = ""

    def __attrs_post_init__(self) -> None:
        _check_lengths("Lines", self.labels, self.series)

    def is_empty(self) -> bool:
        """No point, or no value in any series."""
        return not self.labels or not any(s.present() for s in self.series)


def _matrix(rows: Iterable[Iterable[Any]]) -> tuple[tuple[float | None, ...], ...]:
    return tuple(_values(f"values[{i}]", row) for i, row in enumerate(rows))


def _texts(rows: Iterable[Iterable[Any]] | None) -> tuple[tuple[str, ...], ...] | None:
    return None if rows is None else tuple(_labels(row) for row in rows)


@attrs.frozen(kw_only=True)
class Heatmap:
    """A matrix of values, each cell shaded by where its value lies in ``[low, high]``.

    Attributes:
        title: the chart's title.
        rows: the row labels, top to bottom.
        columns: the column labels, left to right.
        values: ``values[i][j]`` for row ``i`` and column ``j`` (``None``: a blank cell).
        low: the value shaded lightest.
        high: the value shaded darkest (values beyond the bounds are clipped).
        value_format: a ``str.format`` pattern for the text of a cell.
        texts: the text written in each cell, instead of ``value_format``; optional.
        notes: the hover note of each cell (SVG ``<title>``); optional.
        x_label: what the columns are.
        y_label: what the rows are.
    """

    title: str
    rows: tuple[str, ...] = attrs.field(converter=_labels)
    columns: tuple[str, ...] = attrs.field(converter=_labels)
    values: tuple[tuple[float | None, ...], ...] = attrs.field(converter=_matrix)
    low: float = 0.0
    high: float = 1.0
    value_format: str = "{:.0%}"
    texts: tuple[tuple[str, ...], ...] | None = attrs.field(default=None, converter=_texts)
    notes: tuple[tuple[str, ...], ...] | None = attrs.field(default=None, converter=_texts)
    x_label: str = ""
    y_label: str = ""

    def __attrs_post_init__(self) -> None:
        shape = (len(self.rows), len(self.columns))
        for name in ("values", "texts", "notes"):
            grid = getattr(self, name)
            if grid is None:
                continue
            if len(grid) != shape[0] or any(len(row) != shape[1] for row in grid):
                raise ValidationError(
                    f"Heatmap.{name}", [len(row) for row in grid],
                    f"{shape[0]} rows of {shape[1]} cells (rows x columns)",
                )
        if not (math.isfinite(self.low) and math.isfinite(self.high) and self.low < self.high):
            raise ValidationError("Heatmap.high", (self.low, self.high), "finite low < high")

    def is_empty(self) -> bool:
        """No row, no column, or every cell blank."""
        return not any(v is not None for row in self.values for v in row)

    def shade(self, value: float) -> float:
        """Where ``value`` lies between ``low`` (0) and ``high`` (1), clipped."""
        return max(0.0, min(1.0, (value - self.low) / (self.high - self.low)))

    def text(self, i: int, j: int) -> str:
        """The text of cell ``(i, j)`` ("" for a blank cell)."""
        if self.texts is not None:
            return self.texts[i][j]
        v = self.values[i][j]
        return "" if v is None else self.value_format.format(v)

    def note(self, i: int, j: int) -> str:
        """The hover note of cell ``(i, j)``: ``notes`` if given, else its text."""
        return self.notes[i][j] if self.notes is not None else self.text(i, j)


@attrs.frozen(kw_only=True)
class NoData:
    """A chart's place with the reason there is nothing to draw.

    Attributes:
        title: the title of the chart that would have been drawn.
        reason: why there is nothing (shown in its place).
    """

    title: str
    reason: str

    def is_empty(self) -> bool:
        """Always: there is nothing to draw."""
        return True


#: Any chart specification.
Chart = Bars | Lines | Heatmap | NoData
