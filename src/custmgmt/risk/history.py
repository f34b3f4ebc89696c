"""Score runs: one scoring of many customers by one card, kept as history.

A :class:`ScoreRun` stores, per customer, the score, the grade and the bin each
feature fell in, so a stored score can always be re-explained (and re-checked) as
the sum of the card's points: :meth:`ScoreRun.recomputed` must equal
:attr:`ScoreRun.scores`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from custmgmt.domain import _validate as v
from custmgmt.errors import ValidationError
from custmgmt.notebook.dataframes import Coded, FrameExport
from custmgmt.notebook.display import Displayed, Report, counts_table, numeric_summary, short_repr
from custmgmt.risk.scorecard import ScoreBatch, Scorecard

__all__ = ["ScoreRecord", "ScoreRun", "ScoreRunInfo"]

AnyArray = npt.NDArray[Any]


def _ids(value: Any) -> AnyArray:
    arr = np.asarray(value, dtype=object)
    if arr.ndim != 1:
        raise ValidationError("ScoreRun.customer_ids", arr.shape, "a 1-d array of ids")
    for x in arr.tolist():
        v.check_id("ScoreRun.customer_ids", x)
    return arr


@attrs.frozen(kw_only=True, eq=False)
class ScoreRun(FrameExport, Displayed):
    """One scoring of many customers by one card.

    Attributes:
        id: the run's id.
        card_name: the card used.
        card_version: its version.
        as_of: the moment the features describe.
        customer_ids: the customers (str ids), one per row.
        batch: the scores, grades and bins (row ``i`` is ``customer_ids[i]``).
    """

    id: str = attrs.field(validator=v.an_id)
    card_name: str = attrs.field(validator=v.an_id)
    card_version: int = attrs.field(validator=v.version)
    as_of: datetime = attrs.field(validator=v.aware_datetime())
    customer_ids: AnyArray = attrs.field(converter=_ids)
    batch: ScoreBatch = attrs.field(validator=v.instance_of(ScoreBatch, "a ScoreBatch"))

    def __attrs_post_init__(self) -> None:
        n = len(self.customer_ids)
        if len(self.batch.scores) != n or self.batch.bins.shape[0] != n:
            raise ValidationError("ScoreRun.batch", len(self.batch.scores),
                                  f"one score per customer ({n})")
        if len(set(self.customer_ids.tolist())) != n:
            raise ValidationError("ScoreRun.customer_ids", n, "distinct customer ids")

    def __repr__(self) -> str:
        return short_repr("ScoreRun", id=self.id, card=f"{self.card_name} v{self.card_version}",
                          customers=len(self.customer_ids), as_of=self.as_of)

    def _display(self) -> Report:
        """Customers per grade and the scores' quantiles."""
        report = Report("Risk score run", facts=[
            ("run", self.id), ("card", f"{self.card_name} v{self.card_version}"),
            ("as of", self.as_of), ("customers", len(self.customer_ids)),
        ])
        report.add(counts_table("customers per grade", "grade", self.batch.distribution()))
        report.add(numeric_summary({"score": self.batch.scores}, caption="scores"))
        return report

    def _frame_columns(self) -> dict[str, Any]:
        """Exported columns (one row per customer): ``customer_id``, ``score``,
        ``grade`` (categorical) and one ``bin_<feature>`` per feature."""
        columns: dict[str, Any] = {
            "customer_id": self.customer_ids,
            "score": self.batch.scores,
            "grade": Coded(np.asarray(self.batch.grade_codes), self.batch.grades),
        }
        for j, name in enumerate(self.batch.features):
            columns[f"bin_{name}"] = self.batch.bins[:, j]
        return columns

    @property
    def info(self) -> ScoreRunInfo:
        """The run without its arrays."""
        return ScoreRunInfo(id=self.id, card_name=self.card_name,
                            card_version=self.card_version, as_of=self.as_of,
                            customers=len(self.customer_ids),
                            grades=self.batch.distribution())

    def recomputed(self, card: Scorecard) -> AnyArray:
        """The scores recomputed from the stored bins with ``card``'s points."""
        if card.name != self.card_name or card.version != self.card_version:
            raise ValidationError("card", f"{card.name} v{card.version}",
                                  f"the run's card {self.card_name} v{self.card_version}")
        return card.points_of_bins(self.batch.bins)

    def record(self, customer_id: str) -> ScoreRecord:
        """One customer's row.

        Raises:
            ValidationError: the customer is not in the run.
        """
        hits = np.flatnonzero(self.customer_ids == customer_id)
        if len(hits) == 0:
            raise ValidationError("customer_id", customer_id, f"a customer of run {self.id}")
        i = int(hits[0])
        return ScoreRecord(run_id=self.id, card_name=self.card_name,
                           card_version=self.card_version, as_of=self.as_of,
                           customer_id=customer_id, score=int(self.batch.scores[i]),
                           grade=self.batch.grade_of(i),
                           bins=tuple(int(b) for b in self.batch.bins[i]))


@attrs.frozen(kw_only=True)
class ScoreRunInfo:
    """A run's header: which card, when, how many customers, the grade counts."""

    id: str
    card_name: str
    card_version: int
    as_of: datetime
    customers: int
    grades: dict[str, int] = attrs.field(eq=False, hash=False)


@attrs.frozen(kw_only=True)
class ScoreRecord:
    """One customer's score in one run (a row of their history)."""

    run_id: str
    card_name: str
    card_version: int
    as_of: datetime
    customer_id: str
    score: int
    grade: str
    bins: tuple[int, ...]
