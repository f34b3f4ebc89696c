"""IncrementalRater: single events give what a full re-rate against the frozen run gives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custmgmt.analytics.features import customer_features
from custmgmt.analytics.frames import InteractionFrame, OrderFrame
from custmgmt.errors import NotFound, ValidationError
from custmgmt.rating import IncrementalRater, RatingPolicy, rate

T0 = datetime(2025, 1, 1, tzinfo=UTC)
RUN0 = datetime(2025, 12, 1, tzinfo=UTC)
RUN1 = datetime(2026, 1, 1, tzinfo=UTC)
CATEGORIES = ["书", "食品", "衣服", "玩具"]

POLICIES = [
    RatingPolicy.from_dict(
        {
            "criteria": {
                "spend": {"weight": 0.5},
                "frequency": {"weight": 0.2},
                "category_breadth": {"weight": 0.1},
                "complaints": {"weight": 0.2},
            },
            "hysteresis": {"margin": 0.03, "consecutive": 2},
        }
    ),
    RatingPolicy.from_dict(
        {
            "criteria": {
                "spend": {"weight": 0.4, "normalisation": "log"},
                "average_order_value": {"weight": 0.3, "normalisation": "min_max"},
                "frequency": {"weight": 0.3, "normalisation": "z_score"},
            },
            "bands": {"kind": "absolute", "cuts": [0.2, 0.4, 0.6, 0.8]},
        }
    ),
]


class History:
    """Orders and complaints as plain lists, turned into frames on demand."""

    def __init__(self) -> None:
        self.orders: list[dict[str, Any]] = []
        self.complaints: list[tuple[int, datetime]] = []

    def order(self, customer: int, at: datetime, amount: int, category: str,
              cancelled: bool = False) -> None:
        self.orders.append({"customer": customer, "at": at, "amount": amount,
                            "returned": 0, "category": category,
                            "status": "cancelled" if cancelled else "delivered"})

    def frames(self) -> tuple[OrderFrame, InteractionFrame]:
        orders = OrderFrame.from_arrays(
            customer_id=np.array([o["customer"] for o in self.orders], dtype=np.int64),
            placed_at=[o["at"] for o in self.orders],
            amount=np.array([o["amount"] for o in self.orders], dtype=np.int64),
            returned_amount=np.array([o["returned"] for o in self.orders], dtype=np.int64),
            category=[o["category"] for o in self.orders],
            status=[o["status"] for o in self.orders],
            currency="CNY",
        )
        interactions = InteractionFrame.from_arrays(
            customer_id=np.array([c for c, _ in self.complaints], dtype=np.int64),
            at=[t for _, t in self.complaints] or np.zeros(0, dtype=np.int64),
            kind=["complaint"] * len(self.complaints),
            customer_index=orders,
        )
        return orders, interactions


def features_for(policy: RatingPolicy, history: History, as_of: datetime) -> Any:
    orders, interactions = history.frames()
    return customer_features(
        orders, interactions, as_of=as_of, features=IncrementalRater.required_features(policy)
    ), orders


initial_orders = st.lists(
    st.tuples(
        st.integers(0, 12),
        st.integers(0, 360),
        st.integers(1, 50_000),
        st.sampled_from(CATEGORIES),
        st.booleans(),
    ),
    min_size=1,
    max_size=30,
)
events = st.lists(
    st.one_of(
        st.tuples(st.just("order"), st.integers(0, 16), st.integers(0, 50_000),
                  st.sampled_from(CATEGORIES)),
        st.tuples(st.just("return"), st.integers(0, 1000), st.floats(0.0, 1.0)),
        st.tuples(st.just("complaint"), st.integers(0, 16)),
    ),
    max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(initial_orders, st.lists(st.integers(0, 12), max_size=5), events,
       st.sampled_from(range(len(POLICIES))))
def test_after_any_events_the_rater_equals_a_full_re_rate_on_the_frozen_run(
    start: list[tuple[int, int, int, str, bool]],
    complainers: list[int],
    happenings: list[tuple[Any, ...]],
    which: int,
) -> None:
    policy = POLICIES[which]
    history = History()
    for customer, day, amount, category, cancelled in start:
        history.order(customer * 7, T0 + timedelta(days=day), amount, category, cancelled)
    for k, customer in enumerate(complainers):
        history.complaints.append((customer * 7, T0 + timedelta(days=k)))
    # Two scheduled runs, so the second one's hysteresis has a previous run to hold.
    features0, _ = features_for(policy, history, RUN0)
    run0 = rate(policy, features0)
    features1, orders1 = features_for(policy, history, RUN1)
    run1 = rate(policy, features1, run0)
    rater = IncrementalRater(run1, features1, orders1)
    now = RUN1
    for event in happenings:
        now += timedelta(hours=1)
        if event[0] == "order":
            _, customer, amount, category = event
            history.order(customer * 7, now, amount, category)
            rater.add_order(customer * 7, amount=amount, placed_at=now, categories=[category])
        elif event[0] == "return":
            _, pick, fraction = event
            counted = [o for o in history.orders if o["status"] != "cancelled"]
            if not counted:
                continue
            order = counted[pick % len(counted)]
            amount = int((order["amount"] - order["returned"]) * fraction)
            order["returned"] += amount
            rater.add_return(order["customer"], amount=amount, at=now)
        else:
            _, customer = event
            history.complaints.append((customer * 7, now))
            rater.add_complaint(customer * 7, at=now)
    features2, _ = features_for(policy, history, now)
    full = rate(policy, features2, run0, scale=run1)
    live = rater.snapshot()
    assert sorted(live.customer_ids.tolist()) == sorted(full.customer_ids.tolist())
    for i, customer in enumerate(full.customer_ids.tolist()):
        j = live.index_of(customer)
        assert live.score[j] == full.score[i], customer
        assert live.stars[j] == full.stars[i], customer
        assert live.pending[j] == full.pending[i], customer
        for name, column in full.contributions.items():
            assert live.contributions[name][j] == column[i]


def _simple() -> tuple[IncrementalRater, Any]:
    policy = POLICIES[1]
    history = History()
    for k in range(10):
        history.order(k, T0 + timedelta(days=k), 1000 * (k + 1), "书")
    features, orders = features_for(policy, history, RUN1)
    run = rate(policy, features)
    return IncrementalRater(run, features, orders), run


def test_absolute_bands_apply_at_once_to_a_big_order() -> None:
    rater, run = _simple()
    assert rater.stars(0) == int(run.stars[0]) < 4
    # Spend (log, 0.4) and order value (min-max, 0.3) max out at once; frequency is a
    # z-score against a population where everyone had one order (std 0: no signal).
    assert rater.add_order(0, amount=10_000_000, placed_at=RUN1) == 4
    assert rater.score(0) == pytest.approx(0.7)
    assert rater.feature(0, "frequency") == 2
    assert rater.as_of == RUN1


def test_new_customers_are_added_and_rated_against_the_frozen_population() -> None:
    rater, run = _simple()
    stars = rater.add_order(99, amount=1, placed_at=RUN1 + timedelta(days=1))
    assert 99 in rater
    assert len(rater) == len(run) + 1
    assert rater.stars(99) == stars
    assert rater.snapshot().customer_ids.dtype == np.int64


def test_bad_events_are_refused_clearly() -> None:
    rater, _ = _simple()
    with pytest.raises(NotFound):
        rater.add_return(12345, amount=1)
    with pytest.raises(ValidationError, match="net spend"):
        rater.add_return(0, amount=10**9)
    with pytest.raises(ValidationError, match="amount"):
        rater.add_order(0, amount=-5, placed_at=RUN1)
    with pytest.raises(ValidationError, match="at"):
        rater.add_order(0, amount=5, placed_at=datetime(2026, 1, 1))
    with pytest.raises(ValidationError, match="customer_id"):
        rater.add_order("x", amount=5, placed_at=RUN1)
    with pytest.raises(ValidationError, match="returned_amount"):
        rater.add_order(0, amount=5, returned_amount=6, placed_at=RUN1)


def test_time_dependent_criteria_need_a_scheduled_run() -> None:
    policy = RatingPolicy.from_dict(
        {"criteria": {"spend": {"weight": 0.5}, "recency": {"weight": 0.5}}}
    )
    history = History()
    history.order(1, T0, 100, "书")
    features, orders = features_for(
        RatingPolicy.default(), history, RUN1
    )
    features = customer_features(orders, as_of=RUN1, features=["monetary_net", "recency"])
    run = rate(policy, features)
    with pytest.raises(ValidationError, match="recency"):
        IncrementalRater(run, features, orders)


def test_category_breadth_needs_the_runs_orders() -> None:
    policy = RatingPolicy.default()
    history = History()
    history.order(1, T0, 100, "书")
    features, _ = features_for(policy, history, RUN1)
    with pytest.raises(ValidationError, match="orders"):
        IncrementalRater(rate(policy, features), features)
