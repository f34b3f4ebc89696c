"""One call from a DataFrame of orders to a result: the notebook's shortcuts.

Each function takes the orders as a pandas or polars DataFrame with the CSV's column
names (``customer_id``, ``placed_at``, ``amount`` and optionally ``category``,
``status``, ``returned_amount``, ``channel``, ``order_id``), or an
:class:`~custmgmt.analytics.frames.OrderFrame` already built, optionally the
interactions likewise (``customer_id``, ``at``, ``kind`` ...), and returns the same
result as the array path, whose ``to_pandas()`` / ``to_polars()`` give a DataFrame
back::

    rating = rate(orders_df, as_of=as_of, currency="CNY")
    rating.to_pandas()

Amounts are int64 minor units by default (``amount_unit="major"`` reads decimal
amounts); times must be timezone-aware.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from custmgmt.analytics.features import CustomerFeatures, customer_features
from custmgmt.analytics.frames import InteractionFrame, OrderFrame
from custmgmt.churn.engine import ChurnEngine, ChurnReport
from custmgmt.errors import ValidationError
from custmgmt.rating.policy import RatingPolicy
from custmgmt.rating.result import Rating
from custmgmt.rating.result import rate as _rate
from custmgmt.segmentation.inputs import add_derived_features
from custmgmt.segmentation.presets import value_tiers
from custmgmt.segmentation.rfm import RFM, RFMScores
from custmgmt.segmentation.schemes import Scheme, Segmentation

__all__ = ["churn", "features", "interaction_frame", "order_frame", "rate", "rfm", "segment"]


def _library(df: Any) -> str | None:
    module = type(df).__module__.split(".")[0]
    return module if module in ("pandas", "polars") else None


def order_frame(
    orders: Any, *, currency: str = "CNY", amount_unit: str = "minor"
) -> OrderFrame:
    """An :class:`OrderFrame` from a pandas or polars DataFrame (or the frame itself).

    Raises:
        ValidationError: ``orders`` is neither, or a column is missing or bad.
    """
    if isinstance(orders, OrderFrame):
        return orders
    library = _library(orders)
    if library == "pandas":
        return OrderFrame.from_pandas(orders, currency=currency, amount_unit=amount_unit)
    if library == "polars":
        return OrderFrame.from_polars(orders, currency=currency, amount_unit=amount_unit)
    raise ValidationError("orders", type(orders).__name__,
                          "a pandas or polars DataFrame, or an OrderFrame")


def interaction_frame(interactions: Any, orders: OrderFrame | None = None) -> InteractionFrame:
    """An :class:`InteractionFrame` from a DataFrame, on the orders' customer index.

    Raises:
        ValidationError: ``interactions`` is not a DataFrame or an InteractionFrame.
    """
    if isinstance(interactions, InteractionFrame):
        return interactions
    library = _library(interactions)
    if library == "pandas":
        return InteractionFrame.from_pandas(interactions, customer_index=orders)
    if library == "polars":
        return InteractionFrame.from_polars(interactions, customer_index=orders)
    raise ValidationError("interactions", type(interactions).__name__,
                          "a pandas or polars DataFrame, or an InteractionFrame")


def features(
    orders: Any,
    interactions: Any = None,
    *,
    as_of: datetime,
    currency: str = "CNY",
    amount_unit: str = "minor",
) -> CustomerFeatures:
    """Customer features (with segmentation's derived columns) from DataFrames."""
    frame = order_frame(orders, currency=currency, amount_unit=amount_unit)
    inter = None if interactions is None else interaction_frame(interactions, frame)
    table: CustomerFeatures = add_derived_features(
        customer_features(frame, inter, as_of=as_of)
    )
    return table


def rate(
    orders: Any,
    policy: RatingPolicy | None = None,
    interactions: Any = None,
    *,
    as_of: datetime,
    currency: str = "CNY",
    amount_unit: str = "minor",
) -> Rating:
    """Star ratings by ``policy`` (default :meth:`RatingPolicy.default`)."""
    table = features(orders, interactions, as_of=as_of, currency=currency,
                     amount_unit=amount_unit)
    return _rate(RatingPolicy.default() if policy is None else policy, table, as_of=as_of)


def segment(
    orders: Any,
    scheme: Scheme | None = None,
    interactions: Any = None,
    *,
    as_of: datetime,
    currency: str = "CNY",
    amount_unit: str = "minor",
) -> Segmentation:
    """Segments by ``scheme`` (default: the value tiers)."""
    table = features(orders, interactions, as_of=as_of, currency=currency,
                     amount_unit=amount_unit)
    return (value_tiers() if scheme is None else scheme).assign(table)


def rfm(
    orders: Any,
    *,
    as_of: datetime,
    currency: str = "CNY",
    amount_unit: str = "minor",
) -> RFMScores:
    """RFM scores with the default :class:`RFM` map."""
    return RFM().score(features(orders, as_of=as_of, currency=currency,
                                amount_unit=amount_unit))


def churn(
    orders: Any,
    interactions: Any = None,
    *,
    as_of: datetime,
    currency: str = "CNY",
    amount_unit: str = "minor",
    engine: ChurnEngine | None = None,
) -> ChurnReport:
    """Churn flags by ``engine`` (default :class:`ChurnEngine` rules)."""
    frame = order_frame(orders, currency=currency, amount_unit=amount_unit)
    inter = None if interactions is None else interaction_frame(interactions, frame)
    return (ChurnEngine() if engine is None else engine).evaluate(frame, inter, as_of=as_of)
