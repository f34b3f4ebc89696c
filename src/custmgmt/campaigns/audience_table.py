"""The feature table campaign audiences are chosen from, built from a store.

:func:`audience_table` gives one row per customer with orders up to ``as_of`` and
these columns, for any audience rule:

* every segmentation feature (``annual_spend``, ``frequency``, ``recency``,
  ``tenure`` ...; see :func:`custmgmt.segmentation.segment_features`);
* ``"<scheme>=<segment>"``: 1 for the members of each segment of each shipped scheme
  (``"lifecycle=new"``, ``"value tiers=high"``, ``"activity=dormant"`` ...);
* ``stars``: the stars of the store's latest rating run (0: not rated);
* ``churn``: 1 for customers the default churn engine flags;
* ``is_new``: 1 for customers with at most one order (new-customer offers).

>>> from custmgmt.segmentation import feature
>>> rule = (feature("stars") >= 4) & feature("churn").eq(0)
>>> sorted(rule.features())
['churn', 'stars']
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np

from custmgmt.domain import _validate as v
from custmgmt.ports import Store
from custmgmt.segmentation.table import Columns

__all__ = ["audience_table"]


def audience_table(store: Store, *, as_of: datetime, currency: str = "CNY") -> Columns:
    """One row per customer with orders, with the columns listed in the module docstring.

    Raises:
        ValidationError: a naive ``as_of`` or an unknown currency.
    """
    from custmgmt.analytics.frames import InteractionFrame, OrderFrame
    from custmgmt.churn import ChurnEngine
    from custmgmt.segmentation import segment_features, shipped_schemes

    v.check_aware("as_of", as_of)
    orders = OrderFrame.from_store(store, currency=currency, as_of=as_of)
    interactions = InteractionFrame.from_store(store, as_of=as_of, customer_index=orders)
    engine = ChurnEngine()
    needed = sorted(engine.required_features(interactions=True))
    features = segment_features(orders, interactions, as_of=as_of, extra=needed)
    ids = np.asarray(features.customer_ids)
    columns: dict[str, Any] = {name: np.asarray(features[name]) for name in features.names}
    available = set(features.names)
    for scheme in shipped_schemes():
        if not scheme.features() <= available:
            continue
        labels = np.asarray(scheme.assign(features).labels)
        for segment in scheme.segment_names:
            columns[f"{scheme.name}={segment}"] = (labels == segment).astype(np.int8)
    churn = engine.evaluate(orders, interactions, as_of=as_of, features=features)
    flagged = dict(zip(np.asarray(churn.customer_ids).tolist(), churn.flagged.tolist(),
                       strict=True))
    columns["churn"] = np.array([int(flagged.get(c, False)) for c in ids.tolist()], np.int8)
    stars = _latest_stars(store, as_of)
    columns["stars"] = np.array([stars.get(str(c), 0) for c in ids.tolist()], np.int64)
    frequency = np.asarray(features["frequency"]) if "frequency" in available else None
    columns["is_new"] = (
        (frequency <= 1).astype(np.int8) if frequency is not None
        else np.zeros(ids.size, np.int8)
    )
    return Columns(_texts(ids), columns)


def _texts(ids: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """The ids as text, each string exactly as it is: ``ids.astype(str)`` would drop a
    trailing NUL before :class:`Columns` could refuse it, making ``"a\x00"`` the
    customer ``"a"`` (their rows, stars and churn flags merged under one id)."""
    if ids.dtype.kind == "U":
        return ids
    if ids.dtype.kind != "O":
        return ids.astype(str)  # numbers: no NUL to lose
    items = ids.tolist()
    if all(type(x) is str for x in items):
        return ids
    out = np.empty(len(items), dtype=object)
    out[:] = [x if isinstance(x, str) else str(x) for x in items]
    return out


def _latest_stars(store: Store, as_of: datetime) -> dict[str, int]:
    # A host store may not offer ratings; then nobody has stars.
    ratings = getattr(store, "ratings", None)
    if ratings is None:
        return {}
    run = ratings.latest_run(as_of)
    if run is None:
        return {}
    return {r.customer_id: int(r.stars) for r in ratings.results(run.id)}
