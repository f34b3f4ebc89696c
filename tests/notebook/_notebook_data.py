"""Random orders and interactions for the DataFrame tests, their DataFrames in pandas
or polars, and the frames and feature table the array path computes from them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from custmgmt.analytics.features import customer_features
from custmgmt.analytics.frames import InteractionFrame, OrderFrame
from custmgmt.segmentation.inputs import add_derived_features

AS_OF = datetime(2025, 1, 1, tzinfo=UTC)
#: The orders fall in the 700 days from here.
START = AS_OF - timedelta(days=720)


def random_order_columns(
    *, customers: int, seed: int, first_id: int, most_orders: int, amounts: tuple[int, int]
) -> dict[str, Any]:
    """Orders of ``customers`` integer ids from ``first_id`` (1 to ``most_orders`` each,
    shuffled), amounts in minor units drawn from ``amounts``, a category each."""
    rng = np.random.default_rng(seed)
    per = rng.integers(1, most_orders + 1, customers)
    ids = np.repeat(np.arange(first_id, first_id + customers), per)
    rng.shuffle(ids)
    micros = int(START.timestamp() * 1e6) + rng.integers(0, 700 * 86_400, ids.size) * 1_000_000
    return {
        "customer_id": ids.astype(np.int64),
        "placed_at": micros.astype(np.int64),
        "amount": rng.integers(*amounts, ids.size).astype(np.int64),
        "category": np.array(["books", "toys", "服装"], dtype=object)[rng.integers(0, 3, ids.size)],
    }


def random_interaction_columns(
    *, count: int, seed: int, first_id: int, customers: int, days: int
) -> dict[str, Any]:
    """``count`` browses, reviews and complaints of the ``customers`` ids from
    ``first_id``, in the ``days`` before ``AS_OF`` but the last ten."""
    rng = np.random.default_rng(seed)
    return {
        "customer_id": rng.integers(first_id, first_id + customers, count).astype(np.int64),
        "at": (
            int((AS_OF - timedelta(days=days)).timestamp() * 1e6)
            + rng.integers(0, (days - 10) * 86_400, count) * 1_000_000
        ).astype(np.int64),
        "kind": np.array(["browse", "review", "complaint"], dtype=object)[
            rng.integers(0, 3, count)
        ],
    }


def dataframe(library: str, cols: dict[str, Any], time: str) -> Any:
    """``cols`` as a pandas or polars DataFrame, the ``time`` column (µs) an aware
    UTC datetime."""
    if library == "pandas":
        import pandas as pd

        df = pd.DataFrame(cols)
        df[time] = pd.to_datetime(df[time], unit="us", utc=True)
        return df
    import polars as pl

    df = pl.DataFrame({k: (v.tolist() if v.dtype == object else v) for k, v in cols.items()})
    return df.with_columns(pl.col(time).cast(pl.Datetime("us")).dt.replace_time_zone("UTC"))


def random_data(
    *,
    seed: int,
    customers: int,
    first_id: int,
    most_orders: int,
    amounts: tuple[int, int],
    interactions: int,
    days: int,
) -> dict[str, Any]:
    """Random orders (``seed``) and interactions (``seed + 1``) of the same customers,
    with what the array path makes of them (see :func:`array_path`)."""
    return array_path(
        random_order_columns(
            customers=customers,
            seed=seed,
            first_id=first_id,
            most_orders=most_orders,
            amounts=amounts,
        ),
        random_interaction_columns(
            count=interactions, seed=seed + 1, first_id=first_id, customers=customers, days=days
        ),
    )


def array_path(cols: dict[str, Any], inter: dict[str, Any]) -> dict[str, Any]:
    """The columns, their frames and the derived feature table at ``AS_OF``: what the
    DataFrame path is compared with."""
    orders = OrderFrame.from_arrays(**cols, currency="CNY")
    interactions = InteractionFrame.from_arrays(**inter, customer_index=orders)
    table = add_derived_features(customer_features(orders, interactions, as_of=AS_OF))
    return {
        "cols": cols,
        "inter": inter,
        "orders": orders,
        "interactions": interactions,
        "table": table,
    }
