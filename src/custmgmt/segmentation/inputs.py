"""The feature table segmentation reads: customer features plus a few derived columns.

:func:`segment_features` runs :func:`custmgmt.analytics.features.customer_features`
for the features the shipped schemes, RFM and churn rules read, and adds columns in
the units people set thresholds in:

=====================  =====================================================================
column                 definition
=====================  =====================================================================
``annual_spend``       ``spend_365d`` in major units (net of returns, trailing 365 days)
``total_spend``        ``monetary_net`` in major units (all counted orders up to ``as_of``)
``aov_major``          ``aov`` in major units
``spend_change``       ``(spend_{N}d - spend_prev_{N}d) / spend_prev_{N}d`` with ``N =
                       change_days``; NaN when the previous period had no spend
``disputes``           complaints in the trailing 365 days (``complaint_365d``); only with
                       interactions
=====================  =====================================================================

Major units are float64: ``minor / 10**digits`` of the features' currency (exact for
every amount below 2**53 minor units, then rounded to the nearest double).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import numpy as np

from custmgmt.domain.money import currency_digits
from custmgmt.errors import ValidationError

__all__ = ["DERIVED_FEATURES", "add_derived_features", "segment_features"]

#: The columns :func:`add_derived_features` adds (``disputes`` only with interactions).
DERIVED_FEATURES: tuple[str, ...] = (
    "annual_spend",
    "total_spend",
    "aov_major",
    "spend_change",
    "disputes",
)

_ORDER_BASE = (
    "frequency",
    "recency",
    "tenure",
    "last_purchase",
    "monetary_total",
    "monetary_net",
    "aov",
    "return_rate",
    "interval_mean",
    "interval_median",
    "spend_365d",
)
_INTERACTION_BASE = (
    "review_count",
    "review_mean",
    "complaint_count",
    "complaint_unresolved",
    "complaint_365d",
    "browse_365d",
    "favorite_365d",
    "cart_365d",
)


def _check_days(change_days: Any) -> None:
    if isinstance(change_days, bool) or not isinstance(change_days, int) or change_days < 1:
        raise ValidationError("change_days", change_days, "a positive number of days")


def _base_names(change_days: int, interactions: bool, extra: Iterable[str]) -> list[str]:
    names = [*_ORDER_BASE, f"spend_{change_days}d", f"spend_prev_{change_days}d"]
    if interactions:
        names.extend(_INTERACTION_BASE)
    for name in extra:
        if name not in names and name not in DERIVED_FEATURES:
            names.append(name)
    return names


def add_derived_features(features: Any, *, change_days: int = 90) -> Any:
    """A copy of a ``CustomerFeatures`` with :data:`DERIVED_FEATURES` added.

    Args:
        features: a :class:`~custmgmt.analytics.features.CustomerFeatures` holding at
            least ``spend_365d``, ``monetary_net``, ``aov``, ``spend_{N}d`` and
            ``spend_prev_{N}d`` (and ``complaint_365d`` for ``disputes``).
        change_days: ``N`` of ``spend_change``.

    Raises:
        ValidationError: a needed feature is missing.
    """
    from custmgmt.analytics.features import CustomerFeatures
    from custmgmt.segmentation.table import column

    _check_days(change_days)
    scale = 10.0 ** currency_digits(features.currency or "CNY")
    columns: dict[str, Any] = dict(features.to_dict())
    columns["annual_spend"] = column(features, "spend_365d", field="features") / scale
    columns["total_spend"] = column(features, "monetary_net", field="features") / scale
    columns["aov_major"] = column(features, "aov", field="features") / scale
    current = column(features, f"spend_{change_days}d", field="features").astype(np.float64)
    previous = column(features, f"spend_prev_{change_days}d", field="features").astype(np.float64)
    change = np.full(current.shape, np.nan)
    np.divide(current - previous, previous, out=change, where=previous > 0)
    columns["spend_change"] = change
    if "complaint_365d" in features:
        columns["disputes"] = np.asarray(features["complaint_365d"])
    return CustomerFeatures(
        customer_ids=features.customer_ids,
        columns=columns,
        as_of=features.as_of,
        currency=features.currency,
        windows=features.windows,
    )


def segment_features(
    orders: Any,
    interactions: Any = None,
    *,
    as_of: datetime,
    change_days: int = 90,
    extra: Iterable[str] = (),
) -> Any:
    """Customer features for segmentation and churn, with the derived columns.

    Args:
        orders: an :class:`~custmgmt.analytics.frames.OrderFrame`.
        interactions: an optional :class:`~custmgmt.analytics.frames.InteractionFrame`
            (reviews, complaints, browsing; needed by the quality and acquisition schemes).
        as_of: the aware moment of evaluation; later orders and interactions are ignored.
        change_days: the period ``N`` compared by ``spend_change``.
        extra: further feature names to compute.

    Returns:
        A ``CustomerFeatures`` with the base features and :data:`DERIVED_FEATURES`.

    Raises:
        ValidationError: a naive ``as_of``, an unknown extra feature, bad frames.
    """
    from custmgmt.analytics.features import customer_features

    _check_days(change_days)
    names = _base_names(change_days, interactions is not None, extra)
    base = customer_features(orders, interactions, as_of=as_of, features=names)
    return add_derived_features(base, change_days=change_days)
