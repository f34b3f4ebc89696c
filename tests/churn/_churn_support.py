"""Helpers for the churn tests: small hand-written histories as frames."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from custmgmt.analytics.frames import InteractionFrame, OrderFrame

T0 = datetime(2025, 1, 1, tzinfo=UTC)
DAY_US = 86_400_000_000
T0_US = int(T0.timestamp()) * 1_000_000


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def orders(
    rows: Sequence[tuple[str, float, int]] | Sequence[tuple[str, float, int, str]],
    *,
    status: Sequence[str] | None = None,
    returned: Sequence[int] | None = None,
) -> OrderFrame:
    """Rows of (customer, day, amount in minor units[, category])."""
    ids = np.array([r[0] for r in rows], dtype=object)
    at = np.array([T0_US + round(r[1] * DAY_US) for r in rows], dtype=np.int64)
    amount = np.array([r[2] for r in rows], dtype=np.int64)
    category = [r[3] if len(r) > 3 else "tea" for r in rows]  # type: ignore[misc]
    kwargs: dict[str, Any] = {}
    if status is not None:
        kwargs["status"] = list(status)
    if returned is not None:
        kwargs["returned_amount"] = np.array(returned, dtype=np.int64)
    return OrderFrame.from_arrays(
        customer_id=ids, placed_at=at, amount=amount, currency="CNY", category=category, **kwargs
    )


def interactions(
    rows: Sequence[tuple[str, float, str, int, str | None, bool]], *, index: Any
) -> InteractionFrame:
    """Rows of (customer, day, kind, rating, complaint category, resolved)."""
    return InteractionFrame.from_arrays(
        customer_id=np.array([r[0] for r in rows], dtype=object),
        at=np.array([T0_US + round(r[1] * DAY_US) for r in rows], dtype=np.int64),
        kind=[r[2] for r in rows],
        rating=np.array([r[3] for r in rows], dtype=np.int8),
        complaint_category=[r[4] for r in rows],
        resolved=np.array([r[5] for r in rows], dtype=np.bool_),
        customer_index=index,
    )
