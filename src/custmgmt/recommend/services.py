"""Recommendation use cases on a store: for a customer, for a product, and evaluation.

Each reads the store's purchases through :meth:`Purchases.from_store
<custmgmt.recommend.purchases.Purchases.from_store>` (the columnar port, no entity
objects on SQLite) and fits a model; a host serving many requests fits once and keeps
the model (``ItemItemModel().fit(purchases)``) instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from custmgmt.domain.time import require_aware
from custmgmt.errors import ValidationError
from custmgmt.ports import Store
from custmgmt.recommend.evaluation import EvaluationReport, evaluate
from custmgmt.recommend.model import ItemItemModel, Recommendations
from custmgmt.recommend.purchases import Purchases

__all__ = ["also_bought", "evaluate_store", "recommend_for"]


def recommend_for(
    store: Store,
    customer_id: str,
    *,
    as_of: datetime,
    k: int = 10,
    similarity: str = "cosine",
    rebuy_after: Mapping[str, int] | None = None,
    currency: str = "CNY",
) -> Recommendations:
    """Items for one customer from purchases up to ``as_of`` (not ones they bought).

    Raises:
        NotFound: no such customer.
        ValidationError: a naive ``as_of`` or bad parameters.
    """
    require_aware("as_of", as_of)
    store.customers.get(customer_id)
    purchases = Purchases.from_store(store, as_of=as_of, currency=currency)
    model = ItemItemModel(similarity=similarity).fit(purchases)
    return model.recommend([customer_id], k=k, rebuy_after=rebuy_after, as_of=as_of)


def also_bought(
    store: Store,
    sku: str,
    *,
    as_of: datetime,
    k: int = 10,
    similarity: str = "cosine",
    currency: str = "CNY",
) -> list[tuple[str, float]]:
    """"Customers who bought ``sku`` also bought": its nearest co-purchased items.

    Raises:
        ValidationError: an item nobody bought up to ``as_of``.
    """
    purchases = Purchases.from_store(store, as_of=as_of, currency=currency)
    return ItemItemModel(similarity=similarity).fit(purchases).similar_items(sku, k=k)


def evaluate_store(
    store: Store,
    *,
    as_of: datetime,
    holdout_days: int = 90,
    k: int = 10,
    split: str = "time",
    currency: str = "CNY",
) -> EvaluationReport:
    """Evaluate the recommenders on the store's purchases up to ``as_of``.

    The time split's cutoff is ``holdout_days`` before ``as_of``.

    Raises:
        ValidationError: a naive ``as_of``, a ``holdout_days`` that is not a positive
            integer or reaches before year 1, bad parameters, or no customer to evaluate.
    """
    require_aware("as_of", as_of)
    if not isinstance(holdout_days, int) or isinstance(holdout_days, bool) or holdout_days < 1:
        raise ValidationError("holdout_days", holdout_days, "a positive number of days")
    try:
        cutoff = as_of - timedelta(days=holdout_days)
    except OverflowError:  # --holdout-days 999999999: before year 1
        raise ValidationError(
            "holdout_days", holdout_days, f"a number of days that stays after year 1 from {as_of}"
        ) from None
    purchases = Purchases.from_store(store, as_of=as_of, currency=currency)
    return evaluate(purchases, split=split, cutoff=cutoff if split == "time" else None, k=k)
