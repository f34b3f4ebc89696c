"""``analyse_clv``: the use case behind ``custmgmt clv`` as a library service.

Issue 10 item 6 (use cases are library functions with typed, printable results) and
issue 11's CLV items 1 (each model's result as soon as it is ready), 4 (Gamma-Gamma
leaves out non-positive spenders, the others still fit, customers are named) and 6
(returned orders count like everywhere else, spend net of refunds).
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from custmgmt import MemoryStore
from custmgmt.analytics.clv import (
    ClvReport,
    FitProgress,
    ModelFit,
    SummaryReady,
    analyse_clv,
    simulate_bgnbd,
)
from custmgmt.analytics.frames import OrderFrame
from custmgmt.datasets import load_into, make_dataset
from custmgmt.errors import ValidationError

AS_OF = datetime(2025, 1, 1, tzinfo=UTC)


def simulated_orders(n: int = 600, seed: int = 4) -> OrderFrame:
    """Orders of customers simulated from BG/NBD, one order per purchase day."""
    data = simulate_bgnbd(n, r=0.8, alpha=20.0, a=0.6, b=3.0, T=365.0, seed=seed)
    rng = np.random.default_rng(seed)
    ids, days, amounts = [], [], []
    for c, (x, tx, T) in enumerate(zip(data.frequency, data.recency, data.T, strict=True)):
        start = 365 - int(T)
        repeat = sorted(rng.choice(np.arange(1, max(int(tx), 1) + 1), int(x), replace=False))
        if x:
            repeat[-1] = int(tx)
        for day in [0, *repeat]:
            ids.append(f"c{c:04d}")
            days.append(int(start + day))
            amounts.append(int(rng.gamma(5.0, 800.0)) + 100)
    placed = [AS_OF - timedelta(days=366) + timedelta(days=d, hours=10) for d in days]
    return OrderFrame.from_arrays(
        customer_id=ids,
        placed_at=placed,
        amount=amounts,
        currency="CNY",
        order_id=[f"o{i}" for i in range(len(ids))],
    )


@pytest.fixture(scope="module")
def orders() -> OrderFrame:
    return simulated_orders()


@pytest.fixture(scope="module")
def report(orders: OrderFrame) -> ClvReport:
    return analyse_clv(orders, as_of=AS_OF)


def test_the_report_holds_each_model_and_the_customers_values(
    report: ClvReport, orders: OrderFrame
) -> None:
    assert [f.key for f in report.fits] == ["bg", "pnbd", "gg"]
    assert all(f.model is not None and f.error is None for f in report.fits)
    assert report.clv is not None
    assert report.alive is not None
    assert report.value_model == "BG/NBD"
    assert report.clv.shape == (orders.n_customers,)
    assert np.all(np.isfinite(report.clv))
    assert np.all(report.clv >= 0)
    text = str(report)
    assert text == report.render(top=10)
    assert "top 10 customers by predicted 12-month lifetime value (CNY;" in text
    assert "nan" not in text.lower()


def test_each_stage_is_reported_as_soon_as_it_is_done(orders: OrderFrame) -> None:
    events: list[Any] = []
    report = analyse_clv(orders, as_of=AS_OF, progress=events.append)
    assert isinstance(events[0], SummaryReady)
    finished = [e for e in events if isinstance(e, ModelFit)]
    assert [f.key for f in finished] == ["bg", "pnbd", "gg"]
    # progress of a model comes before its result, and after the previous result
    for before, after in itertools.pairwise(finished):
        between = events[events.index(before) + 1 : events.index(after)]
        assert between
        assert all(isinstance(e, FitProgress) and e.model == after.name for e in between)
    # what was streamed is what the report prints, followed by its details
    streamed = "".join(str(e) for e in events if not isinstance(e, FitProgress))
    assert report.render() == streamed + report.render_details()


def test_only_the_models_asked_for_are_fitted(orders: OrderFrame) -> None:
    report = analyse_clv(orders, as_of=AS_OF, models="bg,gg")
    assert [f.key for f in report.fits] == ["bg", "gg"]
    assert report.model("pnbd") is None
    assert "Pareto/NBD" not in str(report)
    only_pareto = analyse_clv(orders, as_of=AS_OF, models=["pnbd"])
    assert only_pareto.clv is None  # no spend model
    assert only_pareto.value_model == "Pareto/NBD"


@pytest.mark.parametrize(
    ("option", "value"),
    [("models", "bg,xx"), ("models", []), ("unit", "fortnight"), ("period", "year")],
)
def test_bad_choices_are_validation_errors(orders: OrderFrame, option: str, value: Any) -> None:
    with pytest.raises(ValidationError, match=option):
        analyse_clv(orders, as_of=AS_OF, **{option: value})


def test_a_naive_as_of_is_refused(orders: OrderFrame) -> None:
    with pytest.raises(ValidationError, match="as_of"):
        analyse_clv(orders, as_of=datetime(2025, 1, 1))


def test_returned_orders_count_and_spend_is_net_of_refunds() -> None:
    day = AS_OF - timedelta(days=100)
    orders = OrderFrame.from_arrays(
        customer_id=["a", "a", "a", "a", "a"],
        placed_at=[day + timedelta(days=d) for d in (0, 10, 20, 30, 40)],
        amount=[1000, 3000, 2000, 5000, 1200],
        returned_amount=[0, 3000, 500, 0, 0],
        status=["delivered", "returned", "partially_returned", "cancelled", "delivered"],
        currency="CNY",
    )
    summary = analyse_clv(orders, as_of=AS_OF, models="bg").summary
    # day 0 is the first purchase; the returned (day 10) and partially returned
    # (day 20) orders are repeat purchases, the cancelled one (day 30) is not.
    assert summary.frequency.tolist() == [3]
    assert summary.recency.tolist() == [40.0]
    assert summary.monetary_value is not None
    assert summary.monetary_value.tolist() == [(0 + 1500 + 1200) / 3]


def test_gamma_gamma_leaves_out_zero_spenders_and_names_them(orders: OrderFrame) -> None:
    amount = orders.amount.copy()
    busiest = np.argmax(np.bincount(orders.customer_code))
    free = orders.customer_code == busiest
    amount[free] = 0  # a customer whose every order was free
    frame = OrderFrame.from_arrays(
        customer_id=orders.customer_ids[orders.customer_code],
        placed_at=orders.placed_at,
        amount=amount,
        currency="CNY",
        order_id=orders.order_id,
    )
    report = analyse_clv(frame, as_of=AS_OF)
    assert all(f.model is not None for f in report.fits)
    (left_out,) = report.spend_exclusions
    assert left_out.customer_id == orders.customer_ids[orders.customer_code[free][0]]
    assert list(left_out.rows) == np.flatnonzero(free).tolist()
    gamma = report.model("gg")
    assert gamma is not None
    assert gamma.n_excluded_ == 1
    text = report.render()
    assert (
        "Gamma-Gamma left out 1 customers whose repeat purchases average 0 or less: "
        f"{left_out.customer_id} (orders o"
    ) in text
    lines = list(range(2, len(frame) + 2))
    with_lines = report.render(lines=lines)
    assert f"{left_out.customer_id} (lines {left_out.rows[0] + 2}, " in with_lines
    assert "row" not in with_lines


def test_a_model_that_cannot_be_fitted_does_not_stop_the_others() -> None:
    # nobody came back: no purchase model can be fitted, and no spend model either
    orders = OrderFrame.from_arrays(
        customer_id=["a", "b", "c"],
        placed_at=[AS_OF - timedelta(days=d) for d in (30, 20, 10)],
        amount=[100, 200, 300],
        currency="CNY",
    )
    report = analyse_clv(orders, as_of=AS_OF)
    assert [f.model for f in report.fits] == [None, None, None]
    assert "no customer made a repeat purchase" in (report.fits[0].error or "")
    assert report.clv is None
    assert "BG/NBD       not fitted: no customer made a repeat purchase" in str(report)


def test_a_fit_that_reaches_the_time_limit_is_reported_with_its_best_point(
    orders: OrderFrame,
) -> None:
    report = analyse_clv(orders, as_of=AS_OF, models="pnbd", time_limit=1e-9)
    (fit,) = report.fits
    assert fit.model is None
    assert fit.error is not None
    assert "time limit" in fit.error
    assert "best point reached: r=" in fit.error


def test_a_store_is_read_up_to_as_of_like_a_frame() -> None:
    data = make_dataset(n_customers=120, seed=3)
    store = MemoryStore()
    load_into(store, data, progress=None)
    as_of = data.as_of
    from_store = analyse_clv(store, as_of=as_of, models="bg")
    frame = OrderFrame.from_store(store, currency="CNY", as_of=as_of)
    from_frame = analyse_clv(frame, as_of=as_of, models="bg")
    assert from_store.render() == from_frame.render()
    assert from_store.stage.n_counted < from_store.stage.n_orders  # cancellations left out
