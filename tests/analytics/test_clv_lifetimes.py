"""Agreement with lifetimes 0.11.3 where it is installed (the ``bench`` extra).

lifetimes needs old numpy/pandas, so this is usually skipped; ``benchmarks/bench_clv.py``
runs the same comparison against lifetimes in its own virtualenv.
"""

from __future__ import annotations

import warnings
from datetime import date

import numpy as np
import pytest

from custmgmt.analytics.clv import BetaGeo, ParetoNBD, simulate_bgnbd, summarize_transactions

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    lifetimes = pytest.importorskip("lifetimes")
    pd = pytest.importorskip("pandas")


def test_summary_matches_lifetimes() -> None:
    rng = np.random.default_rng(1)
    ids = rng.integers(0, 300, 3_000)
    days = np.datetime64("2024-01-01") + rng.integers(0, 200, 3_000).astype("timedelta64[D]")
    amounts = rng.integers(100, 10_000, 3_000)
    ours = summarize_transactions(ids, days, amounts, observation_end=date(2024, 6, 30))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = pd.DataFrame({"id": ids, "date": days.astype("datetime64[ns]"), "amount": amounts})
        theirs = lifetimes.utils.summary_data_from_transaction_data(
            frame, "id", "date", monetary_value_col="amount", observation_period_end="2024-06-30"
        ).sort_index()
    assert ours.customer_ids.tolist() == theirs.index.tolist()
    for column in ("frequency", "recency", "T", "monetary_value"):
        assert np.allclose(getattr(ours, column), theirs[column].to_numpy(), rtol=1e-12)


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [(BetaGeo, "BetaGeoFitter"), (ParetoNBD, "ParetoNBDFitter")],
)
def test_predictions_match_lifetimes_at_the_same_parameters(ours: type, theirs: str) -> None:
    data = simulate_bgnbd(3_000, r=0.9, alpha=12.0, a=0.7, b=2.5, T=200.0, seed=5)
    model = ours().fit(data.frequency, data.recency, data.T)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = getattr(lifetimes, theirs)()
        reference.params_ = pd.Series(dict(model.params_))
        expected = reference.conditional_expected_number_of_purchases_up_to_time(
            30.0, data.frequency, data.recency, data.T
        )
        alive = reference.conditional_probability_alive(data.frequency, data.recency, data.T)
    got = model.predict_purchases(30.0, data.frequency, data.recency, data.T)
    assert np.allclose(got, expected, rtol=5e-5)
    got_alive = model.probability_alive(data.frequency, data.recency, data.T)
    assert np.allclose(got_alive, alive, rtol=5e-5)
