"""Segment migration: who moved from which segment to which between two dates.

:func:`migration_matrix` lines up two :class:`~custmgmt.segmentation.Segmentation`
results of the same scheme (say, the last quarter's and this quarter's) by customer id
and counts transitions. Customers present only in the later one enter from the row
``"(new)"``; customers present only in the earlier one leave to the column
``"(gone)"``; those rows / columns are listed only when someone is in them.
:func:`migrate` computes both segmentations from frames at two ``as_of`` dates.

>>> from custmgmt.segmentation.rules import feature
>>> from custmgmt.segmentation.schemes import Scheme, Segment
>>> from custmgmt.segmentation.table import Columns
>>> scheme = Scheme(name="v", segments=[Segment(name="high", rule=feature("x") > 5)],
...                 default="low")
>>> before = scheme.assign(Columns(["a", "b", "c"], {"x": [9, 1, 1]}))
>>> after = scheme.assign(Columns(["a", "b", "c"], {"x": [1, 9, 2]}))
>>> m = migration_matrix(before, after)
>>> m.counts.tolist(), m.shares.tolist()
([[0, 1], [1, 1]], [[0.0, 1.0], [0.5, 0.5]])
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs
import numpy as np
from numpy.typing import NDArray

from custmgmt.errors import ValidationError
from custmgmt.notebook.display import Report, Table, pad, short_repr, text_width
from custmgmt.segmentation.schemes import Scheme, Segmentation

__all__ = ["GONE", "NEW", "Migration", "migrate", "migration_matrix"]

#: The row of customers who were not in the earlier segmentation.
NEW = "(new)"
#: The column of customers who are not in the later segmentation.
GONE = "(gone)"


@attrs.frozen(kw_only=True, eq=False)
class Migration:
    """A transition matrix between two segmentations.

    Attributes:
        rows: the "from" segments (then ``"(new)"`` if anyone entered).
        columns: the "to" segments (then ``"(gone)"`` if anyone left).
        counts: ``counts[i, j]`` customers went from ``rows[i]`` to ``columns[j]``.
        shares: ``counts`` divided by its row total (0 for an empty row): the
            probability of moving to each segment.
    """

    rows: tuple[str, ...]
    columns: tuple[str, ...]
    counts: NDArray[np.int64]
    shares: NDArray[np.float64]

    def __repr__(self) -> str:
        return short_repr(
            "Migration", customers=int(self.counts.sum()), rows=len(self.rows),
            columns=len(self.columns),
        )

    def _repr_html_(self) -> str:
        return self._display().to_html()

    def summary(self) -> str:
        """The summary shown in a notebook, as aligned text for a terminal."""
        return self._display().to_text()

    def _display(self) -> Report:
        """The counts matrix, one row per "from" segment."""
        report = Report("Segment migration", facts=[("customers", int(self.counts.sum()))])
        rows = tuple(
            (name, *(int(c) for c in self.counts[i])) for i, name in enumerate(self.rows)
        )
        report.add(Table(caption="customers from (rows) to (columns)",
                         header=("from \\ to", *self.columns), rows=rows))
        return report

    def count(self, source: str, target: str) -> int:
        """Customers who went from ``source`` to ``target``.

        Raises:
            ValidationError: an unknown segment name.
        """
        if source not in self.rows:
            raise ValidationError("source", source, f"one of {', '.join(self.rows)}")
        if target not in self.columns:
            raise ValidationError("target", target, f"one of {', '.join(self.columns)}")
        return int(self.counts[self.rows.index(source), self.columns.index(target)])

    def format_table(self) -> str:
        """The counts (and row shares) as aligned text."""
        # Terminal columns, not characters: a Chinese segment name is twice as wide.
        width = max([text_width(n) for n in (*self.rows, *self.columns)] + [8])
        lines = [" " * width + "".join(f" {pad(c, width, right=True)}" for c in self.columns)]
        for i, row in enumerate(self.rows):
            cells = "".join(
                f" {f'{self.counts[i, j]} ({self.shares[i, j]:.0%})':>{width}}"
                for j in range(len(self.columns))
            )
            lines.append(f"{pad(row, width)}{cells}")
        return "\n".join(lines)


def migration_matrix(before: Segmentation, after: Segmentation) -> Migration:
    """Count transitions between two segmentations of the same scheme, by customer id.

    Raises:
        ValidationError: the segmentations use differently named segments, a
            segment is named ``"(new)"`` or ``"(gone)"``, or a customer id repeats
            within one of them.
    """
    for name, seg in (("before", before), ("after", after)):
        if not isinstance(seg, Segmentation):
            raise ValidationError(name, seg, "a Segmentation")
    if before.names != after.names:
        raise ValidationError("after", after.names, f"the same segments as before {before.names}")
    names = before.names
    reserved = [name for name in names if name in (NEW, GONE)]
    if reserved:
        # The matrix would list the name twice, and count() would read the wrong cell.
        raise ValidationError(
            "before.names", reserved, f"segment names other than {NEW!r} and {GONE!r} "
            "(those name the customers who enter and leave)"
        )
    k = len(names)
    ids = np.concatenate([np.asarray(before.customer_ids), np.asarray(after.customer_ids)])
    try:
        uniques, inverse = np.unique(ids, return_inverse=True)
    except TypeError as exc:  # mixed id types that do not order
        raise ValidationError("customer_ids", "mixed types", "ids of one type") from exc
    n_before = before.customer_ids.shape[0]
    code_before, code_after = inverse[:n_before], inverse[n_before:]
    for name, codes in (("before", code_before), ("after", code_after)):
        if np.bincount(codes, minlength=uniques.shape[0]).max(initial=0) > 1:
            raise ValidationError(f"{name}.customer_ids", "duplicates", "unique customer ids")
    # Per distinct customer: segment before (k = absent) and after (k = absent).
    source = np.full(uniques.shape[0], k, dtype=np.int64)
    target = np.full(uniques.shape[0], k, dtype=np.int64)
    source[code_before] = before.codes
    target[code_after] = after.codes
    full = np.bincount(source * (k + 1) + target, minlength=(k + 1) ** 2).reshape(k + 1, k + 1)
    keep_rows = k + (1 if full[k].sum() > 0 else 0)
    keep_cols = k + (1 if full[:, k].sum() > 0 else 0)
    counts = full[:keep_rows, :keep_cols].astype(np.int64)
    totals = counts.sum(axis=1, keepdims=True).astype(np.float64)
    shares = np.zeros(counts.shape)
    np.divide(counts, totals, out=shares, where=totals > 0)
    return Migration(
        rows=(*names, NEW)[:keep_rows],
        columns=(*names, GONE)[:keep_cols],
        counts=counts,
        shares=shares,
    )


def migrate(
    scheme: Scheme,
    orders: Any,
    interactions: Any = None,
    *,
    start: datetime,
    end: datetime,
) -> Migration:
    """Segment the customers at ``start`` and at ``end`` and count the transitions.

    Features come from :func:`~custmgmt.segmentation.inputs.segment_features` at each
    date. The customer index is the frames', so customers who had not yet ordered at
    ``start`` are counted in the scheme's prospect / default segment, not as ``(new)``.

    Raises:
        ValidationError: ``scheme`` not a Scheme, ``end`` not after ``start``, naive
            dates, or a rule's feature missing.
    """
    from custmgmt.segmentation.inputs import segment_features

    if not isinstance(scheme, Scheme):
        raise ValidationError("scheme", scheme, "a Scheme")
    if not isinstance(start, datetime) or not isinstance(end, datetime):
        raise ValidationError("start", (start, end), "two aware datetimes")
    if start.tzinfo is None or end.tzinfo is None:
        raise ValidationError("start", (start, end), "aware datetimes")
    if end <= start:
        raise ValidationError("end", end, f"a moment after start ({start.isoformat()})")
    before = scheme.assign(segment_features(orders, interactions, as_of=start))
    after = scheme.assign(segment_features(orders, interactions, as_of=end))
    return migration_matrix(before, after)
