"""Rating from data: every catalogue feature from a store, who is rated, what the
input cannot support, and idempotent saving (issue 10 item 5, issue 11 items 7, 9, 12)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from custmgmt.adapters.memory import MemoryStore
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.analytics.features import (
    FEATURES,
    customer_features,
    describe_feature,
    feature_names,
    feature_sources,
    unsupported_features,
)
from custmgmt.analytics.frames import OrderFrame
from custmgmt.cli import main
from custmgmt.domain import Complaint, InteractionKind, Money, OrderStatus
from custmgmt.errors import ValidationError
from custmgmt.rating import RatingPolicy, rate, rate_frames, rate_store
from custmgmt.testing import make_customer, make_interaction, make_order, make_order_line

AS_OF = datetime(2025, 9, 1, tzinfo=UTC)
T0 = datetime(2025, 6, 1, tzinfo=UTC)

#: Every fixed feature, and the windowed ones for one window (90 days), which
#: includes ``complaint_90d`` and every other ``{kind}_90d``.
CATALOGUE = tuple(dict.fromkeys([*FEATURES, *feature_names((90,))]))


def _store(kind: str) -> Any:
    store: Any = MemoryStore() if kind == "memory" else SQLiteStore(":memory:")
    kinds = [k for k in InteractionKind if k not in (InteractionKind.SEARCH,
                                                     InteractionKind.REFERRAL)]
    for k in range(6):
        store.customers.add(make_customer(id=f"c{k}", name=["王芳", "李娜", "张伟"][k % 3]))
        for j in range(k + 1):
            line = make_order_line(category=["书", "食品", "衣服"][j % 3],
                                   unit_price=Money(Decimal(10 * (k + 1) + j), "CNY"))
            store.orders.add(make_order(id=f"o{k}-{j}", customer_id=f"c{k}",
                                        placed_at=T0 + timedelta(days=7 * j + k), lines=[line]))
        for j in range(k):
            kind_ = kinds[(k + j) % len(kinds)]
            details: Any = None
            if kind_ is InteractionKind.COMPLAINT:
                details = Complaint(category="logistics", resolved=j % 2 == 0)
            extra = {} if kind_ is InteractionKind.REVIEW else {"details": details}
            store.interactions.add(make_interaction(
                customer_id=f"c{k}", kind=kind_, at=T0 + timedelta(days=10 + j), **extra))
        store.interactions.add(make_interaction(
            customer_id=f"c{k}", kind=InteractionKind.COMPLAINT,
            at=T0 + timedelta(days=20 + k),
            details=Complaint(category="logistics", resolved=k % 2 == 0)))
    return store


@pytest.fixture(scope="module", params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest) -> Any:
    return _store(request.param)


def one_feature(name: str) -> RatingPolicy:
    return RatingPolicy.from_dict(
        {"criteria": {"only": {"feature": name, "weight": 1.0, "normalisation": "percentile_rank"}}}
    )


def test_the_catalogue_under_test_includes_every_interaction_feature() -> None:
    assert "complaint_90d" in CATALOGUE
    assert {n for n in CATALOGUE if describe_feature(n).source == "interactions"} >= {
        "review_count", "review_mean", "complaint_count", "complaint_unresolved", "browse_90d"}


@pytest.mark.parametrize("name", CATALOGUE)
def test_every_catalogue_feature_rates_from_a_store_one_at_a_time(store: Any, name: str) -> None:
    policy = one_feature(name)
    rating, run = rate_store(store, policy, as_of=AS_OF, currency="CNY", created_at=AS_OF,
                             save=False)
    assert run is None
    assert sorted(rating.customer_ids.tolist()) == [f"c{k}" for k in range(6)]
    # The same rating as computing the feature by hand from the store's frames.
    orders = OrderFrame.from_store(store, currency="CNY", as_of=AS_OF)
    from custmgmt.analytics.frames import InteractionFrame

    interactions = InteractionFrame.from_store(store, as_of=AS_OF, customer_index=orders)
    table = customer_features(orders, interactions, as_of=AS_OF, features=[name])
    expected = rate(policy, table)
    order = np.argsort(expected.customer_ids)
    got = np.argsort(rating.customer_ids)
    np.testing.assert_array_equal(rating.score[got], expected.score[order])


def test_feature_sources_come_from_the_catalogue() -> None:
    assert feature_sources(["frequency", "spend_30d"]) == {"orders"}
    assert feature_sources(["complaint_90d"]) == {"interactions"}
    with pytest.raises(ValidationError, match="features"):
        feature_sources(["no_such_feature"])


# -- issue 11 item 7: no counted order, no stars ----------------------------------------


def _csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "orders.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_customers_whose_orders_all_come_later_are_unrated_by_the_rate_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    orders = _csv(tmp_path, "customer_id,placed_at,amount,category\n"
                            "a,2025-03-01,100,书\nb,2025-04-01,50,书\n")
    assert main(["rate", str(orders), "--as-of", "2024-01-01"]) == 0
    out = capsys.readouterr().out
    assert "0 customers rated" in out
    assert "2 unrated: no counted order" in out
    # no stars handed out at all: every band is empty
    bands = [line for line in out.splitlines() if "★" in line]
    assert bands
    assert all(line.split()[1] == "0" for line in bands)


def test_cancelled_only_and_future_customers_are_left_unrated() -> None:
    frame = OrderFrame.from_arrays(
        customer_id=np.array(["a", "a", "b", "c", "d"]),
        placed_at=np.array(["2025-01-01", "2025-02-01", "2025-01-05", "2025-01-09",
                            "2026-01-01"], dtype="datetime64[D]"),
        amount=np.array([1000, 3000, 500, 700, 900]),
        status=["delivered", "delivered", "cancelled", "delivered", "delivered"],
        category=["书", "书", "书", "食品", "书"],
        currency="CNY",
    )
    rating = rate_frames(RatingPolicy.default(), frame, as_of=datetime(2025, 6, 1, tzinfo=UTC))
    assert sorted(rating.customer_ids.tolist()) == ["a", "c"]
    assert rating.unrated == 2  # b: cancelled only; d: its order comes later


def test_the_store_path_leaves_customers_without_counted_orders_unrated() -> None:
    store = _store("memory")
    store.customers.add(make_customer(id="late"))
    store.orders.add(make_order(id="o-late", customer_id="late",
                                placed_at=AS_OF + timedelta(days=3)))
    store.customers.add(make_customer(id="gone"))
    cancelled = make_order(id="o-gone", customer_id="gone", placed_at=T0)
    store.orders.add(cancelled.cancel(at=T0 + timedelta(hours=1)))
    rating, _ = rate_store(store, RatingPolicy.default(), as_of=AS_OF, currency="CNY",
                           created_at=AS_OF, save=False)
    assert "late" not in rating.customer_ids.tolist()
    assert "gone" not in rating.customer_ids.tolist()
    assert rating.unrated == 1  # the later order is not even read (as_of pushed down)


# -- issue 11 item 9: a missing category column ----------------------------------------


def test_a_missing_category_column_is_named_and_the_other_criteria_rescaled(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    orders = _csv(tmp_path, "customer_id,placed_at,amount\n"
                            "a,2025-03-01,100\na,2025-03-05,100\nb,2025-04-01,50\n"
                            "c,2025-04-02,10\n")
    assert main(["rate", str(orders)]) == 0
    out = capsys.readouterr().out
    assert "category_breadth left out (no order has a category)" in out
    frame = OrderFrame.from_arrays(customer_id=np.array(["a", "a", "b", "c"]),
                                   placed_at=np.array([1, 2, 3, 4]),
                                   amount=np.array([300, 300, 200, 100]), currency="CNY")
    rating = rate_frames(RatingPolicy.default(), frame, as_of=AS_OF)
    assert dict(rating.unsupported) == {"category_breadth": "no order has a category"}
    assert [c.name for c in rating.policy.criteria] == ["spend", "frequency"]
    assert rating.policy.criteria[0].weight == pytest.approx(2 / 3)
    # The best customer can reach the top score again (it could not with 0.05 fixed).
    assert rating.score.max() == pytest.approx(1.0)


def test_a_policy_that_refuses_missing_input_names_the_feature(tmp_path: Path) -> None:
    data = RatingPolicy.default().to_dict() | {"missing_input": "refuse"}
    policy = RatingPolicy.from_dict(data)
    assert RatingPolicy.from_json(policy.to_json()) == policy
    frame = OrderFrame.from_arrays(customer_id=np.array(["a"]), placed_at=np.array([1]),
                                   amount=np.array([300]), currency="CNY")
    with pytest.raises(ValidationError, match="category_breadth"):
        rate_frames(policy, frame, as_of=AS_OF)
    path = tmp_path / "p.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    orders = _csv(tmp_path, "customer_id,placed_at,amount\na,2025-03-01,100\n")
    assert main(["rate", str(orders), "--policy", str(path)]) == 2
    with pytest.raises(ValidationError, match="missing_input"):
        RatingPolicy.from_dict(RatingPolicy.default().to_dict() | {"missing_input": "ignore"})


def test_interaction_features_without_interactions_are_unsupported() -> None:
    frame = OrderFrame.from_arrays(customer_id=np.array(["a"]), placed_at=np.array([1]),
                                   amount=np.array([300]), category=["书"], currency="CNY")
    assert unsupported_features(["complaint_90d", "frequency"], frame) == {
        "complaint_90d": "no interactions given"}


# -- issue 11 item 12: saving twice for the same as_of ----------------------------------


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_saving_the_same_policy_and_as_of_twice_keeps_one_run(kind: str) -> None:
    store = _store(kind)
    policy = RatingPolicy.default()
    _, first = rate_store(store, policy, as_of=AS_OF, currency="CNY", created_at=AS_OF)
    _, again = rate_store(store, policy, as_of=AS_OF, currency="CNY",
                          created_at=AS_OF + timedelta(hours=1))
    assert first is not None
    assert again is not None
    assert again.id == first.id
    assert len(store.ratings.list_runs()) == 1
    other = RatingPolicy.from_dict({"name": "other", "criteria": {"spend": {"weight": 1.0}}})
    rate_store(store, other, as_of=AS_OF, currency="CNY", created_at=AS_OF)
    assert len(store.ratings.list_runs()) == 2


def test_rate_db_save_twice_stores_one_run_and_prints_moves_since_the_previous(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "shop.sqlite3"
    store = SQLiteStore(db)
    for k in range(5):
        store.customers.add(make_customer(id=f"c{k}"))
        store.orders.add(make_order(id=f"o{k}", customer_id=f"c{k}",
                                    placed_at=datetime(2025, 6, k + 1, tzinfo=UTC),
                                    lines=[make_order_line(
                                        unit_price=Money(Decimal(10 + k), "CNY"))]))
    store.close()
    assert main(["rate", "--db", str(db), "--as-of", "2025-07-01", "--save"]) == 0
    capsys.readouterr()
    store = SQLiteStore(db)
    store.orders.add(make_order(id="o-big", customer_id="c0",
                                placed_at=datetime(2025, 7, 5, tzinfo=UTC),
                                lines=[make_order_line(unit_price=Money(Decimal(900), "CNY"))]))
    store.close()
    for _ in range(2):
        assert main(["rate", "--db", str(db), "--as-of", "2025-08-01", "--save"]) == 0
    out = capsys.readouterr().out
    assert "since the previous run: 1 gained stars" in out
    store = SQLiteStore(db)
    assert len(store.ratings.list_runs()) == 2
    store.close()


def test_rating_a_frame_with_only_the_policy_features_needs_no_interactions() -> None:
    frame = OrderFrame.from_arrays(customer_id=np.array(["a", "b"]), placed_at=np.array([1, 2]),
                                   amount=np.array([300, 100]), category=["书", "食品"],
                                   currency="CNY")
    rating = rate_frames(RatingPolicy.default(), frame, as_of=AS_OF)
    assert rating.unsupported == {}
    assert rating.unrated == 0
    assert OrderStatus.CANCELLED.value == "cancelled"
