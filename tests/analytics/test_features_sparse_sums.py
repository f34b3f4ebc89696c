"""Money sums over a mostly-zero column (refunds) skip the zero rows: same result to
the bit as summing every row."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from custmgmt.analytics.features import customer_features
from custmgmt.analytics.frames import OrderFrame

AS_OF = datetime(2025, 1, 1, tzinfo=UTC)
T0 = 1_700_000_000_000_000


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 3000),
    share=st.sampled_from([0.0, 0.01, 0.3, 0.49, 0.51, 0.9, 1.0]),
    seed=st.integers(0, 2**32 - 1),
)
def test_refund_sums_equal_the_dense_sums(n: int, share: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    customers = rng.integers(0, max(n // 3, 1), n)
    amount = rng.integers(1, 10**12, n)  # large: float sums round, so order matters
    refund = np.where(rng.random(n) < share, rng.integers(1, 10**12, n) % amount + 1, 0)
    frame = OrderFrame.from_arrays(
        customer_id=customers,
        placed_at=T0 + rng.integers(0, 10**13, n),
        amount=amount,
        returned_amount=refund,
        currency="CNY",
    )
    table = customer_features(frame, as_of=AS_OF, features=("monetary_net", "monetary_total"))
    codes = frame.customer_code
    dense_refund = np.rint(
        np.bincount(codes, weights=frame.returned_amount, minlength=frame.n_customers)
    ).astype(np.int64)
    dense_total = np.rint(
        np.bincount(codes, weights=frame.amount, minlength=frame.n_customers)
    ).astype(np.int64)
    np.testing.assert_array_equal(np.asarray(table["monetary_total"]), dense_total)
    np.testing.assert_array_equal(
        np.asarray(table["monetary_net"]), dense_total - dense_refund
    )
