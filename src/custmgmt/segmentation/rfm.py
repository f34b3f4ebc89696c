"""RFM: recency, frequency and monetary scores 1-5, and segment maps over R x F.

Scores
------
:class:`RFM` scores each customer who bought at least once (``frequency >= 1``) on
recency (days since the last order, fewer is better), frequency (orders) and monetary
value (net spend), each from 1 (worst) to 5 (best). Customers who never bought get
``0`` on all three and the segment ``"no purchase"``.

*Quantile bins* (the default) are computed among the buyers. With ``n`` buyers and
``less(x)`` the number of buyers whose value is strictly worse than ``x``, the score is
``1 + floor(5 * less(x) / n)``. Ties therefore always share a score, and a tie block
that straddles a quintile boundary takes the **lower** score (its best rank does not
lift it); this is pandas' ``rank(method="min")`` binned into fifths. Frequency is often
heavily tied (most customers order once), so F = 1 can hold far more than a fifth.
The implementation needs only four order statistics (``np.partition``), never a full sort.

*Fixed bins* are four increasing edges per dimension. Recency edges are days:
``R = 5 - #{edges e : recency > e}``, so edges ``(30, 90, 180, 365)`` give 5 for a
purchase within 30 days and 1 for more than 365. Frequency and monetary edges are
lower bounds: ``score = 1 + #{edges e : value >= e}``.

Segment maps
------------
An :class:`RFMSegmentMap` names regions of the 5 x 5 grid of (R, F) scores. It is
validated when built: every cell must belong to exactly one segment, and an overlap
or a hole raises :class:`~custmgmt.errors.ValidationError` naming the cells (the
error's ``value`` is ``{"holes": [...], "overlaps": {...}}``). :data:`TEN_SEGMENTS` is
the common ten-segment map.

>>> TEN_SEGMENTS.segment_at(5, 5), TEN_SEGMENTS.segment_at(1, 5)
('champions', "can't lose")
>>> try:
...     RFMSegmentMap.from_dict({"all": [{"r": [1, 5], "f": [1, 4]}], "top": [{"r": 5, "f": 4}]})
... except ValidationError as exc:
...     print(exc.value)
{'holes': ['R1F5', 'R2F5', 'R3F5', 'R4F5', 'R5F5'], 'overlaps': {'R5F4': ['all', 'top']}}
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import numpy as np
from numpy.typing import NDArray

from custmgmt.domain._validate import is_finite_number
from custmgmt.domain.money import CURRENCY_DIGITS
from custmgmt.errors import ValidationError
from custmgmt.notebook.dataframes import Coded, FrameExport, MoneyColumn
from custmgmt.notebook.display import (
    Report,
    Table,
    counts_table,
    numeric_summary,
    pad,
    short_repr,
)
from custmgmt.segmentation.table import column

__all__ = [
    "NO_PURCHASE",
    "RFM",
    "TEN_SEGMENTS",
    "RFMScores",
    "RFMSegmentMap",
    "RFMSummaryRow",
    "quantile_scores",
]

#: The segment of customers without an order (all scores 0).
NO_PURCHASE = "no purchase"
_SCORES = range(1, 6)


def _cell(r: int, f: int) -> str:
    return f"R{r}F{f}"


def _span(value: Any, path: str) -> tuple[int, int]:
    if isinstance(value, int) and not isinstance(value, bool):
        low = high = value
    elif (
        isinstance(value, Sequence)
        and not isinstance(value, str)
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        low, high = int(value[0]), int(value[1])
    else:
        raise ValidationError(path, value, "a score 1-5 or an inclusive range [low, high]")
    if not 1 <= low <= high <= 5:
        raise ValidationError(path, value, "scores from 1 to 5 with low <= high")
    return low, high


@attrs.frozen(kw_only=True)
class RFMSegmentMap:
    """Named regions of the (R, F) grid; every cell in exactly one segment.

    Build it with :meth:`from_dict`: ``{name: [{"r": [low, high], "f": [low, high]},
    ...]}`` (inclusive ranges, or a single score). ``cells`` holds, per segment in
    order, the frozenset of ``(r, f)`` cells.

    Raises:
        ValidationError: a hole or an overlap (naming the cells), an empty segment, a
            score outside 1-5.
    """

    cells: tuple[tuple[str, frozenset[tuple[int, int]]], ...]

    def __attrs_post_init__(self) -> None:
        owners: dict[tuple[int, int], list[str]] = {}
        for name, cells in self.cells:
            if not isinstance(name, str) or not name.strip() or name == NO_PURCHASE:
                raise ValidationError("RFMSegmentMap.segments", name, "a segment name")
            if not cells:
                raise ValidationError(f"RFMSegmentMap.segments[{name!r}]", [], "some cells")
            for cell in cells:
                owners.setdefault(cell, []).append(name)
        holes = [_cell(r, f) for r in _SCORES for f in _SCORES if (r, f) not in owners]
        overlaps = {
            _cell(r, f): owners[(r, f)]
            for r in _SCORES
            for f in _SCORES
            if len(owners.get((r, f), ())) > 1
        }
        names = [name for name, _ in self.cells]
        if len(set(names)) != len(names):
            raise ValidationError("RFMSegmentMap.segments", names, "unique segment names")
        if holes or overlaps:
            raise ValidationError(
                "RFMSegmentMap.segments",
                {"holes": holes, "overlaps": overlaps},
                "every (R, F) cell from 1 to 5 in exactly one segment",
            )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RFMSegmentMap:
        """Build and validate a map from ``{name: [regions]}`` (see the class docstring)."""
        if not isinstance(data, Mapping) or not data:
            raise ValidationError("RFMSegmentMap.segments", data, "a mapping of segments")
        built = []
        for name, regions in data.items():
            path = f"RFMSegmentMap.segments[{name!r}]"
            if isinstance(regions, Mapping):
                regions = [regions]
            if not isinstance(regions, Sequence) or isinstance(regions, str):
                raise ValidationError(path, regions, "a list of {'r': ..., 'f': ...} regions")
            cells: set[tuple[int, int]] = set()
            for i, region in enumerate(regions):
                if not isinstance(region, Mapping) or set(region) != {"r", "f"}:
                    raise ValidationError(f"{path}[{i}]", region, "a mapping with keys r and f")
                r0, r1 = _span(region["r"], f"{path}[{i}].r")
                f0, f1 = _span(region["f"], f"{path}[{i}].f")
                cells.update((r, f) for r in range(r0, r1 + 1) for f in range(f0, f1 + 1))
            built.append((name, frozenset(cells)))
        return cls(cells=tuple(built))

    def to_dict(self) -> dict[str, list[dict[str, list[int]]]]:
        """Plain data, one single-cell region per cell (round-trips through :meth:`from_dict`)."""
        return {
            name: [{"r": [r, r], "f": [f, f]} for r, f in sorted(cells)]
            for name, cells in self.cells
        }

    @property
    def names(self) -> tuple[str, ...]:
        """The segment names in map order."""
        return tuple(name for name, _ in self.cells)

    def segment_at(self, r: int, f: int) -> str:
        """The segment of the cell (r, f).

        Raises:
            ValidationError: scores outside 1-5.
        """
        _span([r, r], "r")
        _span([f, f], "f")
        return self.names[int(self.grid()[r, f])]

    def grid(self) -> NDArray[np.int16]:
        """A 6 x 6 lookup ``grid[r, f] -> segment code``; row/column 0 (no purchase) is -1."""
        grid = np.full((6, 6), -1, dtype=np.int16)
        for code, (_, cells) in enumerate(self.cells):
            for r, f in cells:
                grid[r, f] = code
        return grid


#: The common ten-segment map over (R, F).
TEN_SEGMENTS = RFMSegmentMap.from_dict(
    {
        "champions": [{"r": 5, "f": [4, 5]}],
        "loyal": [{"r": [3, 4], "f": [4, 5]}],
        "potential loyalists": [{"r": [4, 5], "f": [2, 3]}],
        "new": [{"r": 5, "f": 1}],
        "promising": [{"r": 4, "f": 1}],
        "need attention": [{"r": 3, "f": 3}],
        "about to sleep": [{"r": 3, "f": [1, 2]}],
        "at risk": [{"r": [1, 2], "f": [3, 4]}],
        "can't lose": [{"r": [1, 2], "f": 5}],
        "hibernating": [{"r": [1, 2], "f": [1, 2]}],
    }
)


def quantile_scores(values: NDArray[np.float64]) -> NDArray[np.int8]:
    """Scores 1-5 by quintile, higher values better, ties sharing the lower score.

    ``score = 1 + floor(5 * less / n)`` with ``less`` the number of values strictly
    below; computed from the four order statistics at ranks ``ceil(k n / 5)`` (k = 1..4):
    ``score = 1 + #{k : value > that statistic}``.

    >>> quantile_scores(np.array([10.0, 20.0, 20.0, 30.0, 40.0])).tolist()
    [1, 2, 2, 4, 5]
    """
    n = int(values.shape[0])
    if n == 0:
        return np.zeros(0, dtype=np.int8)
    ranks = [-(-k * n // 5) - 1 for k in range(1, 5)]  # ceil(k n / 5) - 1, exact integers
    cuts = np.partition(values, ranks)[ranks]
    scores = np.ones(n, dtype=np.int8)
    for cut in cuts:
        scores += values > cut
    return scores


def _check_edges(name: str, edges: Any) -> tuple[float, ...] | None:
    if edges is None:
        return None
    if (
        not isinstance(edges, Sequence)
        or isinstance(edges, str)
        or len(edges) != 4
        or not all(is_finite_number(e) for e in edges)
        or any(b <= a for a, b in itertools.pairwise(edges))
    ):
        raise ValidationError(f"RFM.{name}", edges, "None (quantiles) or 4 increasing numbers")
    return tuple(float(e) for e in edges)


def _recency_edges(edges: Any) -> tuple[float, ...] | None:
    return _check_edges("recency_bins", edges)


def _frequency_edges(edges: Any) -> tuple[float, ...] | None:
    return _check_edges("frequency_bins", edges)


def _monetary_edges(edges: Any) -> tuple[float, ...] | None:
    return _check_edges("monetary_bins", edges)


@attrs.frozen(kw_only=True)
class RFMSummaryRow:
    """One segment's line of the RFM table.

    Attributes:
        segment: the segment name.
        customers: how many customers.
        share: their fraction of all customers.
        r, f, m: mean scores.
        recency_days, orders, spend: mean recency (days; NaN for "no purchase"),
            frequency and net spend (major units).
        revenue_share: the segment's fraction of all net spend.
    """

    segment: str
    customers: int
    share: float
    r: float
    f: float
    m: float
    recency_days: float
    orders: float
    spend: float
    revenue_share: float


@attrs.frozen(kw_only=True, eq=False)
class RFMScores(FrameExport):
    """Per-customer R, F, M scores and map segments.

    Attributes:
        customer_ids: the customers, in the table's order.
        r, f, m: int8 scores 1-5 (0 for customers without an order).
        codes: segment codes into ``names`` (``names[-1]`` is ``"no purchase"``).
        names: the map's segment names, then ``"no purchase"``.
        recency, frequency, monetary: the raw values scored (monetary in major units).
        currency: the currency of ``monetary`` where the table says (exports then
            offer it as money: ``to_pandas(money="decimal")``), else None.
    """

    customer_ids: NDArray[Any]
    r: NDArray[np.int8]
    f: NDArray[np.int8]
    m: NDArray[np.int8]
    codes: NDArray[np.int16]
    names: tuple[str, ...]
    recency: NDArray[np.float64]
    frequency: NDArray[np.float64]
    monetary: NDArray[np.float64]
    currency: str | None = None

    @property
    def labels(self) -> NDArray[np.str_]:
        """Per customer, the segment's name."""
        return np.asarray(self.names, dtype=np.str_)[self.codes]

    def __repr__(self) -> str:
        return short_repr("RFMScores", customers=len(self.codes), segments=len(self.names))

    def _repr_html_(self) -> str:
        return self._display().to_html()

    def _display(self) -> Report:
        """Customers per segment and per score, and the raw values' quantiles (monetary
        at the currency's minor-unit digits where the currency is known)."""
        facts: list[tuple[str, Any]] = [("customers", len(self.codes))]
        code = self.currency
        known = code if isinstance(code, str) and code in CURRENCY_DIGITS else None
        if known is not None:
            facts.append(("currency", known))
        report = Report("RFM scores", facts=facts)
        report.add(counts_table("customers per segment", "segment", self.sizes()))
        per_score = [np.bincount(s.astype(np.int64), minlength=6) for s in (self.r, self.f, self.m)]
        rows = tuple(
            (score, *(int(c[score]) for c in per_score)) for score in range(5, -1, -1)
        )
        report.add(Table(caption="customers per score (0: no order)",
                         header=("score", "R", "F", "M"), rows=rows))
        monetary: Any = (self.monetary if known is None
                         else MoneyColumn(self.monetary, known, "major"))
        report.add(numeric_summary(
            {"recency": self.recency, "frequency": self.frequency, "monetary": monetary},
            caption="values scored",
        ))
        return report

    def _frame_columns(self) -> dict[str, Any]:
        """Exported columns (one row per customer): ``customer_id``, the ``r``, ``f``,
        ``m`` scores, ``segment`` (categorical) and the raw values scored."""
        return {
            "customer_id": self.customer_ids,
            "r": self.r,
            "f": self.f,
            "m": self.m,
            "segment": Coded(self.codes, self.names),
            "recency": self.recency,
            "frequency": self.frequency,
            "monetary": (self.monetary if self.currency is None
                         else MoneyColumn(self.monetary, self.currency, "major")),
        }

    def sizes(self) -> dict[str, int]:
        """Customers per segment (every segment listed)."""
        counts = np.bincount(self.codes, minlength=len(self.names))
        return {n: int(c) for n, c in zip(self.names, counts, strict=True)}

    def summary(self) -> tuple[RFMSummaryRow, ...]:
        """The RFM table: one row per segment, in map order, empty segments included."""
        k = len(self.names)
        counts = np.bincount(self.codes, minlength=k).astype(np.float64)
        total = max(float(counts.sum()), 1.0)
        spend = np.where(np.isnan(self.monetary), 0.0, self.monetary)
        revenue = np.bincount(self.codes, weights=spend, minlength=k)
        all_revenue = float(revenue.sum())

        def mean(values: NDArray[Any]) -> NDArray[np.float64]:
            # Over the values present: the "no purchase" row has no recency (NaN -> "-").
            values = values.astype(np.float64)
            present = ~np.isnan(values)
            seen = np.bincount(self.codes[present], minlength=k)
            sums = np.bincount(self.codes[present], weights=values[present], minlength=k)
            out = np.full(k, np.nan)
            np.divide(sums, seen, out=out, where=seen > 0)
            return out

        r, f, m = mean(self.r), mean(self.f), mean(self.m)
        rec, freq, mon = mean(self.recency), mean(self.frequency), mean(spend)
        return tuple(
            RFMSummaryRow(
                segment=name,
                customers=int(counts[i]),
                share=float(counts[i]) / total,
                r=float(r[i]),
                f=float(f[i]),
                m=float(m[i]),
                recency_days=float(rec[i]),
                orders=float(freq[i]),
                spend=float(mon[i]),
                revenue_share=float(revenue[i]) / all_revenue if all_revenue > 0 else 0.0,
            )
            for i, name in enumerate(self.names)
        )

    def format_table(self) -> str:
        """The :meth:`summary` as aligned text, for the command line and notebooks.

        Mean spend shows the currency's minor-unit digits (0 for JPY, 3 for KWD), two
        where the currency is unknown.
        """
        digits = CURRENCY_DIGITS.get(self.currency, 2) if self.currency else 2
        spend_spec = f",.{digits}f"
        header = (
            f"{'segment':<20} {'customers':>9} {'share':>6} {'R':>4} {'F':>4} {'M':>4} "
            f"{'recency':>8} {'orders':>7} {'spend':>12} {'revenue':>8}"
        )
        lines = [header]
        for row in self.summary():

            def num(value: float, spec: str) -> str:
                return "-" if math.isnan(value) else format(value, spec)

            lines.append(
                f"{pad(row.segment, 20)} {row.customers:>9} {row.share:>6.1%} "
                f"{num(row.r, '.1f'):>4} {num(row.f, '.1f'):>4} {num(row.m, '.1f'):>4} "
                f"{num(row.recency_days, '.0f'):>8} {num(row.orders, '.1f'):>7} "
                f"{num(row.spend, spend_spec):>12} {row.revenue_share:>8.1%}"
            )
        return "\n".join(lines)


@attrs.frozen(kw_only=True)
class RFM:
    """RFM scoring with a segment map.

    Attributes:
        recency_bins: None for quintiles, or 4 increasing day edges (see module docs).
        frequency_bins: None, or 4 increasing lower bounds on the order count.
        monetary_bins: None, or 4 increasing lower bounds on net spend (major units).
        segment_map: the (R, F) map; :data:`TEN_SEGMENTS` by default.
        recency, frequency, monetary: the feature columns read (``monetary`` by
            default is ``total_spend``, net spend in major units from
            :func:`~custmgmt.segmentation.inputs.segment_features`).

    >>> from custmgmt.segmentation.table import Columns
    >>> t = Columns(["a", "b", "c", "d", "e", "f"], {
    ...     "recency": [3, 10, 40, 90, 400, float("nan")],
    ...     "frequency": [12, 6, 3, 2, 1, 0],
    ...     "total_spend": [900, 500, 300, 200, 50, 0],
    ... })
    >>> s = RFM().score(t)
    >>> s.r.tolist(), s.f.tolist(), s.labels.tolist()[:2], s.labels.tolist()[-1]
    ([5, 4, 3, 2, 1, 0], [5, 4, 3, 2, 1, 0], ['champions', 'loyal'], 'no purchase')
    """

    recency_bins: tuple[float, ...] | None = attrs.field(default=None, converter=_recency_edges)
    frequency_bins: tuple[float, ...] | None = attrs.field(default=None, converter=_frequency_edges)
    monetary_bins: tuple[float, ...] | None = attrs.field(default=None, converter=_monetary_edges)
    segment_map: RFMSegmentMap = attrs.field(default=TEN_SEGMENTS)
    recency: str = "recency"
    frequency: str = "frequency"
    monetary: str = "total_spend"

    @segment_map.validator
    def _check_map(self, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not isinstance(value, RFMSegmentMap):
            raise ValidationError("RFM.segment_map", value, "an RFMSegmentMap")

    def score(self, table: Any) -> RFMScores:
        """Score every customer of ``table`` and look up their segment.

        Raises:
            ValidationError: a column is missing, or a buyer's recency or monetary
                value is NaN or infinite (negative values are scored like any other).
        """
        recency = column(table, self.recency, field="RFM.recency").astype(np.float64)
        frequency = column(table, self.frequency, field="RFM.frequency").astype(np.float64)
        monetary = column(table, self.monetary, field="RFM.monetary").astype(np.float64)
        if not recency.shape == frequency.shape == monetary.shape:
            raise ValidationError("RFM", self.monetary, "columns of equal length")
        buyers = frequency >= 1
        for name, values in (("recency", recency), ("monetary", monetary)):
            bad = buyers & ~np.isfinite(values)
            if bad.any():
                raise ValidationError(
                    f"RFM.{name}", float(values[bad][0]), "a finite value for every buyer"
                )
        n = int(frequency.shape[0])
        r = np.zeros(n, dtype=np.int8)
        f = np.zeros(n, dtype=np.int8)
        m = np.zeros(n, dtype=np.int8)
        if self.recency_bins is None:
            r[buyers] = quantile_scores(-recency[buyers])
        else:
            edges = np.asarray(self.recency_bins)
            r[buyers] = 5 - np.searchsorted(edges, recency[buyers], side="left")
        f[buyers] = self._higher_better(frequency[buyers], self.frequency_bins)
        m[buyers] = self._higher_better(monetary[buyers], self.monetary_bins)
        grid = self.segment_map.grid()
        k = len(self.segment_map.names)
        codes = np.where(buyers, grid[r, f], k).astype(np.int16)
        ids = getattr(table, "customer_ids", None)
        return RFMScores(
            customer_ids=np.arange(n) if ids is None else np.asarray(ids),
            r=r,
            f=f,
            m=m,
            codes=codes,
            names=(*self.segment_map.names, NO_PURCHASE),
            recency=recency,
            frequency=frequency,
            monetary=monetary,
            currency=getattr(table, "currency", None),
        )

    @staticmethod
    def _higher_better(
        values: NDArray[np.float64], edges: tuple[float, ...] | None
    ) -> NDArray[np.int8]:
        if edges is None:
            return quantile_scores(values)
        return (1 + np.searchsorted(np.asarray(edges), values, side="right")).astype(np.int8)
