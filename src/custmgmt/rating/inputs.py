"""Rating from frames: which customers are rated, and what the input can support.

:func:`rate_frames` is what every path that rates from data goes through (the ``rate``
command on a CSV, :func:`custmgmt.rating.rate_store`, the demo):

* the features are computed from the frames the policy's features need, as the
  feature catalogue says (:func:`custmgmt.analytics.features.feature_sources`);
* a customer with no counted order at or before ``as_of`` (every order later, or
  only cancelled ones; see :data:`custmgmt.analytics.frames.COUNTED_STATUSES`) is
  left unrated, not given stars (``Rating.unrated`` counts them);
* a policy feature the input cannot support (no category column, no interactions)
  is dropped with the others rescaled, or refused, as ``policy.missing_input`` says
  (``Rating.unsupported`` names them).
"""

from __future__ import annotations

from datetime import datetime

import attrs
import numpy as np

from custmgmt.analytics.features import (
    CustomerFeatures,
    customer_features,
    describe_feature,
    unsupported_features,
)
from custmgmt.analytics.frames import InteractionFrame, OrderFrame
from custmgmt.domain.time import require_aware
from custmgmt.errors import ValidationError
from custmgmt.rating.policy import RatingPolicy
from custmgmt.rating.result import PreviousStars, Rating, rate

__all__ = ["counted_only", "rate_frames", "rated_features"]


def rated_features(
    policy: RatingPolicy,
    orders: OrderFrame,
    interactions: InteractionFrame | None = None,
    *,
    as_of: datetime,
    engine: str = "numpy",
) -> tuple[RatingPolicy, CustomerFeatures, int, dict[str, str]]:
    """The policy to rate with, the features of the customers to rate, how many
    customers are left unrated, and the unsupported features (see the module).

    ``engine`` is the feature engine (:func:`custmgmt.analytics.features.customer_features`:
    ``"numpy"``, the default, or ``"polars"``); both give the same features.

    Raises:
        ValidationError: a naive ``as_of``; a feature the input cannot support under
            ``missing_input="refuse"`` (or none left to rate with); an unknown engine.
        MissingDependency: ``engine="polars"`` without polars installed.
    """
    require_aware("as_of", as_of)
    if not isinstance(orders, OrderFrame):
        raise ValidationError("orders", type(orders).__name__, "an OrderFrame")
    unsupported = unsupported_features(policy.features, orders, interactions)
    if unsupported:
        why = "; ".join(f"{k}: {v}" for k, v in unsupported.items())
        if policy.missing_input == "refuse" or set(unsupported) >= set(policy.features):
            # Refused, or nothing would be left to rate with: say why either way.
            raise ValidationError(
                "policy.features", sorted(unsupported), f"features the input supports ({why})"
            )
        policy = policy.without(unsupported)
    names = list(policy.features)
    table = customer_features(
        orders,
        interactions if any(_reads_interactions(n) for n in names) else None,
        as_of=as_of,
        features=[*names, "frequency"] if "frequency" not in names else names,
        engine=engine,
    )
    rated = np.asarray(table["frequency"]) > 0
    unrated = int(len(table) - int(rated.sum()))
    columns = {name: np.asarray(table[name])[rated] for name in names}
    features = attrs.evolve(
        table, customer_ids=np.asarray(table.customer_ids)[rated], columns=columns
    )
    return policy, features, unrated, unsupported


def counted_only(
    features: CustomerFeatures, orders: OrderFrame, *, as_of: datetime
) -> CustomerFeatures:
    """The rows of ``features`` (built on ``orders``' customer index, or with it
    first) of customers with a counted order at or before ``as_of``: the population a
    rating is fitted on.

    Raises:
        ValidationError: a naive ``as_of``.
    """
    counts = customer_features(orders, as_of=as_of, features=["frequency"])
    rows = np.flatnonzero(np.asarray(counts["frequency"]) > 0)
    keep = np.zeros(len(features), dtype=bool)
    keep[rows[rows < len(features)]] = True
    ids = np.asarray(features.customer_ids)
    columns = {name: np.asarray(features[name])[keep] for name in features.names}
    return attrs.evolve(features, customer_ids=ids[keep], columns=columns)


def _reads_interactions(name: str) -> bool:
    return describe_feature(name).source == "interactions"


def rate_frames(
    policy: RatingPolicy,
    orders: OrderFrame,
    interactions: InteractionFrame | None = None,
    *,
    as_of: datetime,
    previous: PreviousStars | Rating | None = None,
    engine: str = "numpy",
) -> Rating:
    """Rate the customers of frames by ``policy`` as of ``as_of`` (see the module).

    Args:
        policy: the rating policy.
        orders: the orders (customers with no counted order by ``as_of`` stay unrated).
        interactions: the interactions, for policies with interaction features
            (ideally built with ``customer_index=orders``).
        as_of: the aware time rated.
        previous: the previous run, for the change and the hysteresis.
        engine: the feature engine, ``"numpy"`` (default) or ``"polars"`` (the
            ``polars`` extra): the same features, hence the same rating.

    Raises:
        ValidationError: a naive ``as_of``, an unsupported feature the policy refuses,
            an unknown engine.
        MissingDependency: ``engine="polars"`` without polars installed.
    """
    used, features, unrated, unsupported = rated_features(
        policy, orders, interactions, as_of=as_of, engine=engine
    )
    rating = rate(used, features, previous, as_of=as_of)
    return attrs.evolve(rating, unsupported=unsupported, unrated=unrated)
