"""Offline evaluation of recommenders, with a split that does not leak the future.

Two splits:

* ``"time"`` (the default): one global cutoff. Models train on purchases before it;
  each customer who bought before *and* after it is asked for ``k`` items, and the
  items they bought after the cutoff and had not bought before are the truth. Nothing
  after the cutoff is seen in training, as in production.
* ``"last"``: leave-last-out. Each customer's last purchase moment is held out and
  everything else trains the model, other customers' later purchases included: the
  split most papers use, and one that leaks the future (co-purchases made after the
  held-out moment help predict it). Reported for comparison only.

Metrics at ``k``, averaged over the customers evaluated: hit rate (at least one held-out
item recommended), recall (share of held-out items recommended), NDCG (hits
discounted by rank, over the best possible), and catalogue coverage (distinct items
recommended over the items in training).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import attrs
import numpy as np
import numpy.typing as npt

from custmgmt.domain.time import require_aware, to_epoch_micros
from custmgmt.errors import ValidationError
from custmgmt.notebook.display import Displayed, Report, Table, short_repr
from custmgmt.recommend.model import ItemItemModel, PopularityModel
from custmgmt.recommend.purchases import Purchases

__all__ = ["SPLITS", "EvaluationReport", "EvaluationRow", "default_models", "evaluate"]

#: The splits :func:`evaluate` offers.
SPLITS = ("time", "last")

Model = ItemItemModel | PopularityModel


@attrs.frozen(kw_only=True)
class EvaluationRow:
    """One model's scores.

    Attributes:
        model: the model's name.
        hit_rate: share of customers with at least one hit in the top ``k``.
        recall: mean share of each customer's held-out items found.
        ndcg: mean normalised discounted cumulative gain.
        coverage: distinct items recommended over the training catalogue.
    """

    model: str
    hit_rate: float
    recall: float
    ndcg: float
    coverage: float


@attrs.frozen(kw_only=True)
class EvaluationReport(Displayed):
    """The evaluation of several models on one split.

    Attributes:
        split: ``"time"`` or ``"last"``.
        k: the list length.
        cutoff: the cutoff (time split), else None.
        customers: customers evaluated.
        rows: one per model, in the order given.
    """

    split: str
    k: int
    cutoff: datetime | None
    customers: int
    rows: tuple[EvaluationRow, ...]

    def __repr__(self) -> str:
        return short_repr("EvaluationReport", split=self.split, k=self.k,
                          customers=self.customers, models=[r.model for r in self.rows])

    def _display(self) -> Report:
        """One row per model: hit rate, recall, NDCG and coverage."""
        report = Report("Recommendation evaluation", facts=[
            ("split", self.split), ("cutoff", self.cutoff or "leave-last-out"),
            ("customers", self.customers), ("k", self.k),
        ])
        report.add(Table(caption="models", header=("model", "hit rate", "recall", "NDCG",
                                                   "coverage"),
                         rows=tuple((r.model, r.hit_rate, r.recall, r.ndcg, r.coverage)
                                    for r in self.rows)))
        return report

    def row(self, model: str) -> EvaluationRow:
        """The row of ``model``.

        Raises:
            ValidationError: no such model.
        """
        for row in self.rows:
            if row.model == model:
                return row
        raise ValidationError("model", model, f"one of {[r.model for r in self.rows]}")

    def format_table(self) -> str:
        """The report as a text table."""
        where = f"cutoff {self.cutoff.date().isoformat()}" if self.cutoff else "leave-last-out"
        lines = [
            f"split: {self.split} ({where}), {self.customers:,} customers, k = {self.k}",
            f"{'model':<22}{'hit rate':>10}{'recall':>10}{'NDCG':>10}{'coverage':>10}",
        ]
        lines += [
            f"{r.model:<22}{r.hit_rate:>10.3f}{r.recall:>10.3f}{r.ndcg:>10.3f}{r.coverage:>10.3f}"
            for r in self.rows
        ]
        return "\n".join(lines)


def default_models() -> dict[str, Model]:
    """Item-item cosine and lift, and the popularity baseline."""
    return {
        "item-item (cosine)": ItemItemModel(similarity="cosine"),
        "item-item (lift)": ItemItemModel(similarity="lift"),
        "popularity": PopularityModel(),
    }


def _subset(p: Purchases, rows: npt.NDArray[np.int64]) -> Purchases:
    return Purchases(customer=p.customer[rows], item=p.item[rows], at=p.at[rows],
                     customer_ids=p.customer_ids, item_ids=p.item_ids)


def evaluate(
    purchases: Purchases,
    *,
    split: str = "time",
    cutoff: datetime | None = None,
    k: int = 10,
    models: Mapping[str, Model] | None = None,
) -> EvaluationReport:
    """Fit each model on the training part and score its top ``k`` on the held-out part.

    Args:
        purchases: every purchase.
        split: ``"time"`` (needs ``cutoff``) or ``"last"``.
        cutoff: the global time cutoff (aware).
        k: list length.
        models: name -> unfitted model (None: :func:`default_models`).

    Raises:
        ValidationError: an unknown split, a missing or naive cutoff, a bad ``k``, an
            empty ``models``, or no customer to evaluate.
    """
    if split not in SPLITS:
        raise ValidationError("split", split, f"one of {SPLITS}")
    # ``models or default_models()`` read an empty mapping as "the defaults" and scored
    # three models nobody asked for.
    chosen = default_models() if models is None else models
    if not isinstance(chosen, Mapping) or not chosen:
        raise ValidationError("models", chosen, "a non-empty mapping of name -> model")
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ValidationError("k", k, "a positive number of items")
    if split == "time":
        if cutoff is None:
            raise ValidationError("cutoff", None, "an aware cutoff for the time split")
        t = to_epoch_micros(require_aware("cutoff", cutoff))
        train_rows = np.flatnonzero(purchases.at < t)
        test_rows = np.flatnonzero(purchases.at >= t)
    else:
        last = np.full(purchases.n_customers, np.iinfo(np.int64).min, dtype=np.int64)
        np.maximum.at(last, purchases.customer, purchases.at)
        held = purchases.at == last[purchases.customer]
        train_rows, test_rows = np.flatnonzero(~held), np.flatnonzero(held)
    train = _subset(purchases, train_rows)
    n = purchases.n_items
    seen = np.unique(train.customer * n + train.item)
    has_history = np.zeros(purchases.n_customers, dtype=bool)
    has_history[train.customer] = True
    test_c, test_i = purchases.customer[test_rows], purchases.item[test_rows]
    fresh = ~np.isin(test_c * n + test_i, seen) & has_history[test_c]
    pairs = np.unique(test_c[fresh] * n + test_i[fresh])
    truth_c, truth_i = pairs // n, pairs % n
    users = np.unique(truth_c)
    if len(users) == 0:
        # "got 2, expected customers to evaluate" left the reader to guess what 2 was
        # and what would do.
        raise ValidationError(
            "purchases", f"{len(purchases)} purchase lines",
            "customers to evaluate: one who bought before the split and something new"
            " after it",
        )
    local = np.searchsorted(users, truth_c)
    truth = local * n + truth_i  # sorted: pairs were sorted by customer, then item
    truth_counts = np.bincount(local, minlength=len(users))
    # No list holds more items than the catalogue (the models clip k the same way), and
    # a huge k (the CLI's --k 1e11) would otherwise size the discounts by k.
    k_eff = min(k, max(n, 1))
    discount = 1.0 / np.log2(np.arange(2, k_eff + 2))
    ideal = np.cumsum(discount)[np.minimum(truth_counts, k_eff) - 1]
    customer_ids = [str(c) for c in purchases.customer_ids[users]]
    train_items = max(1, int(np.count_nonzero(np.bincount(train.item, minlength=n))))
    rows: list[EvaluationRow] = []
    for name, model in chosen.items():
        fitted = model.fit(train)
        result = fitted.recommend(customer_ids, k=k)
        width = int(result.items.shape[1])  # k, or the catalogue when smaller
        codes = np.full(result.items.shape, -1, dtype=np.int64)
        filled = result.items != None  # noqa: E711 - elementwise over an object array
        codes[filled] = np.searchsorted(purchases.item_ids, result.items[filled])
        hits = np.zeros(codes.shape, dtype=bool)
        rows_idx = np.repeat(np.arange(len(users)), width).reshape(-1, width)
        hits[filled] = np.isin(rows_idx[filled] * n + codes[filled], truth)
        n_hits = hits.sum(axis=1)
        rows.append(EvaluationRow(
            model=name,
            hit_rate=float(np.mean(n_hits > 0)),
            recall=float(np.mean(n_hits / truth_counts)),
            ndcg=float(np.mean((hits * discount[:width]).sum(axis=1) / ideal)),
            coverage=len(np.unique(codes[filled])) / train_items,
        ))
    return EvaluationReport(
        split=split, k=k, cutoff=cutoff if split == "time" else None, customers=len(users),
        rows=tuple(rows),
    )
