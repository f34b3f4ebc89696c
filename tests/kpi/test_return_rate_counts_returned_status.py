"""A row of status ``returned`` without a ``returned_amount`` is a return in the KPI
report's return rate, as it is in the risk features' ``return_rate_{N}d``."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from custmgmt.analytics.frames import OrderFrame
from custmgmt.kpi import Period
from custmgmt.kpi.measures import return_rate

_PERIOD = Period(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))


def _orders(status: list[str], returned: list[int]) -> OrderFrame:
    n = len(status)
    return OrderFrame.from_arrays(
        customer_id=[f"c{i}" for i in range(n)],
        placed_at=np.full(n, _PERIOD.micros[0], dtype=np.int64),
        amount=np.full(n, 1000),
        status=status,
        returned_amount=np.array(returned),
        currency="CNY",
    )


def test_a_returned_status_without_a_refund_is_a_return() -> None:
    # Was 0.0: only a positive returned_amount counted, so a CSV with
    # `status=returned` and no returned_amount column reported no returns at all.
    figure = return_rate(_orders(["returned", "delivered", "cancelled"], [0, 0, 0]), _PERIOD)
    assert (figure.numerator, figure.denominator) == (1, 2)


def test_a_refund_and_a_returned_status_count_once() -> None:
    orders = _orders(["returned", "partially_returned", "delivered", "paid"],
                     [1000, 0, 300, 0])
    figure = return_rate(orders, _PERIOD)
    assert (figure.numerator, figure.denominator) == (3, 4)
