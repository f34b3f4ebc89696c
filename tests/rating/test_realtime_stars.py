"""Real-time stars: the service layer feeds a rater rebuilt from the store at start-up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custmgmt.adapters.memory import MemoryStore
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.analytics.features import customer_features
from custmgmt.analytics.frames import InteractionFrame, OrderFrame
from custmgmt.domain import (
    Complaint,
    ComplaintCategory,
    InteractionKind,
    Money,
    OrderStatus,
    Review,
)
from custmgmt.errors import Conflict, ValidationError
from custmgmt.rating import (
    IncrementalRater,
    Rating,
    RatingPolicy,
    load_previous,
    rate,
    rate_store,
)
from custmgmt.rating.inputs import counted_only
from custmgmt.services import record_interaction, record_order, record_return
from custmgmt.testing import make_customer, make_interaction, make_order, make_order_line

T0 = datetime(2025, 1, 1, tzinfo=UTC)
RUN0 = datetime(2025, 12, 1, tzinfo=UTC)
RUN1 = datetime(2026, 1, 1, tzinfo=UTC)
NOW = RUN1 + timedelta(days=3)
CATEGORIES = ["书", "食品", "衣服", "玩具"]

POLICIES = {
    "with-complaints": RatingPolicy.from_dict(
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
    "absolute": RatingPolicy.from_dict(
        {
            "criteria": {
                "spend": {"weight": 0.4, "normalisation": "log"},
                "average_order_value": {"weight": 0.3, "normalisation": "min_max"},
                "frequency": {"weight": 0.3, "normalisation": "z_score"},
            },
            "bands": {"kind": "absolute", "cuts": [0.2, 0.4, 0.6, 0.8]},
        }
    ),
}

_ids = iter(range(10**9))


def _cid(k: int) -> str:
    return f"c{k:02d}"


def _order(customer: int, at: datetime, cents: int, category: str, cancelled: bool) -> Any:
    line = make_order_line(category=category, unit_price=Money(Decimal(cents) / 100, "CNY"))
    order = make_order(id=f"o{next(_ids):07d}", customer_id=_cid(customer), placed_at=at,
                       lines=[line])
    return order.cancel(at) if cancelled else order.pay(at)


def _complaint(customer: int, at: datetime) -> Any:
    return make_interaction(
        id=f"i{next(_ids):07d}", customer_id=_cid(customer), kind=InteractionKind.COMPLAINT,
        at=at, details=Complaint(category=ComplaintCategory.PRODUCT_QUALITY, text="质量问题"),
    )


def _seeded(store: Any, policy: RatingPolicy, start: list[tuple[Any, ...]],
            complainers: list[int]) -> Rating:
    """Customers, orders before the runs, and two stored scheduled runs."""
    for k in range(14):
        store.customers.add(make_customer(id=_cid(k), registered_at=T0))
    for customer, day, cents, category, cancelled in start:
        record_order(store, _order(customer, T0 + timedelta(days=day), cents, category,
                                   cancelled))
    for customer in complainers:
        record_interaction(store, _complaint(customer, RUN0 - timedelta(days=1)))
    rate_store(store, policy, as_of=RUN0, currency="CNY", created_at=RUN0, run_id="r0")
    latest, _ = rate_store(store, policy, as_of=RUN1, currency="CNY", created_at=RUN1,
                           run_id="r1")
    return latest


def _features(store: Any, policy: RatingPolicy, as_of: datetime) -> Any:
    orders = OrderFrame.from_store(store, currency="CNY", as_of=as_of)
    needed = IncrementalRater.required_features(policy)
    interactions = None
    if "complaint_count" in needed:  # as rate_store reads the store
        interactions = InteractionFrame.from_store(store, as_of=as_of, customer_index=orders)
    return customer_features(orders, interactions, as_of=as_of, features=needed)


def _full_re_rate(
    store: Any, policy: RatingPolicy, run: Rating, as_of: datetime, previous: Any = None
) -> Rating:
    """Every customer's stars from everything stored, against the frozen run (whose
    stars feed the hysteresis unless ``previous`` is given)."""
    previous = run if previous is None else previous
    return rate(policy, _features(store, policy, as_of), previous, as_of=as_of, scale=run)


def _run_as_stored_now(store: Any, policy: RatingPolicy) -> Rating:
    """Run r1's population as the store holds it now (later returns on its orders in):
    the customers with a counted order by then, as every rating is fitted on."""
    orders = OrderFrame.from_store(store, currency="CNY", as_of=RUN1)
    rated = counted_only(_features(store, policy, RUN1), orders, as_of=RUN1)
    return rate(policy, rated, None, as_of=RUN1)


def _stored_r1(store: Any) -> Any:
    """The stars run r1 stored: what customers had, whatever a refit says now."""
    return load_previous(store.ratings, before=RUN1 + timedelta(microseconds=1))


def _by_customer(rating: Rating) -> dict[str, tuple[int, int, float]]:
    return {
        str(c): (int(s), int(k), float(x))
        for c, s, k, x in zip(rating.customer_ids.tolist(), rating.stars.tolist(),
                              rating.computed_stars.tolist(), rating.score.tolist(), strict=True)
    }


def _same(a: Rating, b: Rating) -> None:
    left, right = _by_customer(a), _by_customer(b)
    assert left.keys() == right.keys()
    for customer, (stars, computed, score) in left.items():
        assert (stars, computed) == right[customer][:2], customer
        assert score == pytest.approx(right[customer][2], abs=1e-9), customer


initial_orders = st.lists(
    st.tuples(st.integers(0, 9), st.integers(0, 300), st.integers(1, 500_000),
              st.sampled_from(CATEGORIES), st.booleans()),
    min_size=2, max_size=25,
)
events = st.lists(
    st.one_of(
        st.tuples(st.just("order"), st.integers(0, 13), st.integers(1, 500_000),
                  st.sampled_from(CATEGORIES), st.booleans()),
        st.tuples(st.just("return"), st.integers(0, 1000), st.floats(0.0, 1.0)),
        st.tuples(st.just("complaint"), st.integers(0, 13)),
        st.tuples(st.just("review"), st.integers(0, 13)),
    ),
    max_size=20,
)


def _play(
    store: Any, rater: IncrementalRater, happenings: list[tuple[Any, ...]]
) -> tuple[datetime, bool]:
    """Record the events through the service layer with the rater attached; returns the
    last event's time and whether a return changed an order placed before the run."""
    at = NOW
    touched = False
    for happening in happenings:
        at += timedelta(hours=5)
        kind = happening[0]
        if kind == "order":
            _, customer, cents, category, cancelled = happening
            stars = record_order(store, _order(customer, at, cents, category, cancelled),
                                 rater=rater)
            assert stars == rater.stars(_cid(customer))
        elif kind == "return":
            _, pick, share = happening
            candidates = [
                o for chunk in store.orders.iter_chunks() for o in chunk
                if o.status in (OrderStatus.PAID, OrderStatus.PARTIALLY_RETURNED)
            ]
            if not candidates:
                continue
            order = candidates[pick % len(candidates)]
            left = order.total - order.refunded
            cents = max(1, int(share * left.to_minor()))
            record_return(store, order.id, Money(Decimal(cents) / 100, "CNY"), at=at,
                          rater=rater)
            touched = touched or order.placed_at <= RUN1
        elif kind == "complaint":
            record_interaction(store, _complaint(happening[1], at), rater=rater)
        else:
            record_interaction(
                store,
                make_interaction(id=f"i{next(_ids):07d}", customer_id=_cid(happening[1]),
                                 at=at, details=Review(rating=4, text="还行")),
                rater=rater,
            )
    return at, touched


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(initial_orders, st.lists(st.integers(0, 9), max_size=4), events,
       st.sampled_from(sorted(POLICIES)))
def test_after_any_events_through_the_services_the_rater_equals_a_full_re_rate(
    start: list[tuple[Any, ...]], complainers: list[int], happenings: list[tuple[Any, ...]],
    which: str,
) -> None:
    policy = POLICIES[which]
    store = MemoryStore()
    run = _seeded(store, policy, start, complainers)
    rater = IncrementalRater.from_store(store, policy, currency="CNY", now=NOW)
    # Rebuilt at start-up: the stored run's population and everything stored since.
    _same(rater.snapshot(), _full_re_rate(store, policy, run, NOW))
    last, touched_the_run = _play(store, rater, happenings)
    _same(rater.snapshot(), _full_re_rate(store, policy, run, last))
    # A restart rebuilds from the store alone: against the run's population as the
    # store now holds it, which is the live one unless a return changed an order the
    # run had counted.
    again = IncrementalRater.from_store(store, policy, currency="CNY", now=last)
    population = _run_as_stored_now(store, policy)
    _same(again.snapshot(), _full_re_rate(store, policy, population, last, _stored_r1(store)))
    if not touched_the_run:
        _same(again.snapshot(), rater.snapshot())


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(initial_orders, events)
def test_the_same_holds_on_sqlite(
    start: list[tuple[Any, ...]], happenings: list[tuple[Any, ...]]
) -> None:
    policy = POLICIES["with-complaints"]
    store = SQLiteStore(":memory:")
    try:
        run = _seeded(store, policy, start, [1, 2])
        rater = IncrementalRater.from_store(store, policy, currency="CNY", now=NOW)
        last, _ = _play(store, rater, happenings)
        _same(rater.snapshot(), _full_re_rate(store, policy, run, last))
        again = IncrementalRater.from_store(store, policy, currency="CNY", now=last)
        population = _run_as_stored_now(store, policy)
        _same(again.snapshot(),
              _full_re_rate(store, policy, population, last, _stored_r1(store)))
    finally:
        store.close()


def test_a_big_order_through_record_order_moves_the_stars_at_once() -> None:
    policy = POLICIES["absolute"]
    store = MemoryStore()
    _seeded(store, policy, [(k, 10 * k, 1_000 * (k + 1), "书", False) for k in range(10)], [])
    rater = IncrementalRater.from_store(store, policy, currency="CNY", now=NOW)
    before = rater.stars("c00")
    after = record_order(store, _order(0, NOW, 9_000_000, "玩具", False), rater=rater)
    assert after is not None
    assert after > before
    assert record_order(store, _order(1, NOW, 100, "书", False)) is None  # no rater attached


def test_a_failed_write_does_not_move_the_stars() -> None:
    policy = POLICIES["absolute"]
    store = MemoryStore()
    _seeded(store, policy, [(k, k, 1_000 * (k + 1), "书", False) for k in range(5)], [])
    rater = IncrementalRater.from_store(store, policy, currency="CNY", now=NOW)
    before = rater.snapshot()
    order = _order(0, NOW, 9_000_000, "玩具", False)
    record_order(store, order, rater=rater)
    moved = rater.snapshot()
    with pytest.raises(Conflict):
        record_order(store, order, rater=rater)  # the id is taken: nothing stored
    assert np.array_equal(rater.snapshot().score, moved.score)
    assert not np.array_equal(before.score, moved.score)


def test_without_a_stored_run_the_rater_starts_from_the_store_now() -> None:
    policy = POLICIES["with-complaints"]
    store = MemoryStore()
    for k in range(4):
        store.customers.add(make_customer(id=_cid(k), registered_at=T0))
        record_order(store, _order(k, T0 + timedelta(days=k), 1_000 * (k + 1), "书", False))
    rater = IncrementalRater.from_store(store, policy, currency="CNY", now=NOW)
    assert len(rater) == 4
    assert rater.snapshot().stars.tolist() == rate_store(
        store, policy, as_of=NOW, currency="CNY", created_at=NOW, save=False
    )[0].stars.tolist()


@pytest.mark.parametrize(
    ("criterion", "feature"),
    [("recent_spend", "spend_90d"), ("complaints_lately", "complaint_90d"),
     ("gaps", "interval_mean"), ("returns", "return_rate")],
)
def test_a_feature_the_rater_cannot_update_is_named_when_it_refuses(
    criterion: str, feature: str
) -> None:
    policy = RatingPolicy.from_dict(
        {"criteria": {"spend": {"weight": 0.5}, criterion: {"weight": 0.5, "feature": feature}}}
    )
    with pytest.raises(ValidationError) as refused:
        IncrementalRater.from_store(MemoryStore(), policy, currency="CNY", now=NOW)
    assert refused.value.field == f"criteria.{criterion}.feature"
    assert refused.value.value == feature
    assert f"cannot keep {feature!r} current" in str(refused.value)
