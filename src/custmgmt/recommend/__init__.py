"""Recommendations from purchase history: item-to-item co-purchase in numpy.

* :mod:`~custmgmt.recommend.purchases`: :class:`Purchases`, who bought what when, as
  coded columns (from arrays, or from a store through its columnar port).
* :mod:`~custmgmt.recommend.model`: :class:`ItemItemModel` (cosine or lift
  similarities, top-K neighbours per item) and :class:`PopularityModel`.
* :mod:`~custmgmt.recommend.evaluation`: :func:`evaluate` with a global time cutoff
  (or leave-last-out): hit rate, recall, NDCG at k, catalogue coverage.
* :mod:`~custmgmt.recommend.services`: the use cases on a store.
* :mod:`~custmgmt.recommend.synthetic`: purchase histories with or without planted
  structure, for tests and benchmarks.

See ``docs/recommendations.md``.
"""

from custmgmt.recommend.evaluation import (
    EvaluationReport,
    EvaluationRow,
    default_models,
    evaluate,
)
from custmgmt.recommend.model import ItemItemModel, PopularityModel, Recommendations
from custmgmt.recommend.ports import PURCHASE_LINES, LineColumns, OrderLineReader
from custmgmt.recommend.purchases import Purchases
from custmgmt.recommend.services import also_bought, evaluate_store, recommend_for
from custmgmt.recommend.synthetic import synthetic_purchases

__all__ = [
    "PURCHASE_LINES",
    "EvaluationReport",
    "EvaluationRow",
    "ItemItemModel",
    "LineColumns",
    "OrderLineReader",
    "PopularityModel",
    "Purchases",
    "Recommendations",
    "also_bought",
    "default_models",
    "evaluate",
    "evaluate_store",
    "recommend_for",
    "synthetic_purchases",
]
