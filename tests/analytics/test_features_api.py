"""customer_features' contract: validation, selection, the result table's API."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from custmgmt.analytics.features import (
    FEATURES,
    CustomerFeatures,
    customer_features,
    describe_feature,
    feature_names,
)
from custmgmt.analytics.frames import MISSING_TIME, InteractionFrame, OrderFrame
from custmgmt.errors import NotFound, ValidationError

AS_OF = datetime(2024, 6, 30, tzinfo=UTC)
DAY = 86_400_000_000


def _micros(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


@pytest.fixture
def orders() -> OrderFrame:
    base = _micros(AS_OF)
    return OrderFrame.from_arrays(
        customer_id=["王芳", "王芳", "王芳", "李雷", "李雷", "赵六"],
        placed_at=np.array(
            [
                base - 40 * DAY,
                base - 10 * DAY,
                base - 4 * DAY,
                base - 400 * DAY,
                base - 2 * DAY,
                base + DAY,
            ]
        ),
        amount=np.array([10_000, 20_000, 30_000, 5_000, 7_000, 999], dtype=np.int64),
        returned_amount=np.array([0, 5_000, 0, 0, 7_000, 0], dtype=np.int64),
        status=["delivered", "partially_returned", "delivered", "delivered", "returned", "paid"],
        category=["服装", "图书", "服装", "茶", None, "茶"],
        currency="CNY",
    )


def test_the_features_of_a_small_history_are_as_documented(orders: OrderFrame) -> None:
    f = customer_features(orders, as_of=AS_OF)
    wang = f.row("王芳")
    assert wang["frequency"] == 3
    assert wang["monetary_total"] == 60_000
    assert wang["monetary_net"] == 55_000
    assert wang["aov"] == pytest.approx(55_000 / 3)
    assert wang["recency"] == 4.0
    assert wang["tenure"] == 40.0
    assert wang["interval_mean"] == 18.0
    assert wang["interval_median"] == 18.0
    assert wang["interval_std"] == 12.0
    assert wang["category_breadth"] == 2
    assert wang["return_rate"] == pytest.approx(1 / 3)
    assert wang["orders_7d"] == 1
    assert wang["spend_30d"] == 15_000 + 30_000
    assert wang["spend_prev_30d"] == 10_000
    assert wang["spend_365d"] == 55_000
    # 赵六's only order is after as_of: present, with nothing counted.
    zhao = f.row("赵六")
    assert zhao["frequency"] == 0
    assert zhao["first_purchase"] == MISSING_TIME
    assert math.isnan(zhao["recency"])
    assert math.isnan(zhao["aov"])
    assert zhao["category_breadth"] == 0


def test_as_of_must_be_aware(orders: OrderFrame) -> None:
    with pytest.raises(ValidationError, match="as_of"):
        customer_features(orders, as_of=datetime(2024, 6, 30))
    with pytest.raises(ValidationError, match="as_of"):
        customer_features(orders, as_of="2024-06-30")  # type: ignore[arg-type]


def test_unknown_feature_names_are_refused_by_name(orders: OrderFrame) -> None:
    with pytest.raises(ValidationError, match="features: got 'loyalty'"):
        customer_features(orders, as_of=AS_OF, features=["frequency", "loyalty"])
    with pytest.raises(ValidationError, match="features: got 'spend_0d'"):
        customer_features(orders, as_of=AS_OF, features=["spend_0d"])
    with pytest.raises(ValidationError, match="not one string"):
        customer_features(orders, as_of=AS_OF, features="frequency")
    with pytest.raises(ValidationError, match="windows"):
        customer_features(orders, as_of=AS_OF, windows=(30, -1))


def test_interaction_features_need_interactions(orders: OrderFrame) -> None:
    with pytest.raises(ValidationError, match=r"review_mean.*InteractionFrame"):
        customer_features(orders, as_of=AS_OF, features=["review_mean"])
    with pytest.raises(ValidationError, match="orders"):
        customer_features(None, as_of=AS_OF)


def test_any_window_length_can_be_asked_for(orders: OrderFrame) -> None:
    f = customer_features(orders, as_of=AS_OF, features=["spend_45d", "orders_5d", "spend_prev_5d"])
    assert f.names == ("spend_45d", "orders_5d", "spend_prev_5d")
    assert f.row("王芳") == {"spend_45d": 55_000, "orders_5d": 1, "spend_prev_5d": 0}


def test_default_names_follow_the_windows() -> None:
    names = feature_names((30,))
    assert names[: len(FEATURES) - 4] == tuple(
        n for n, s in FEATURES.items() if s.source == "orders"
    )
    assert "spend_prev_30d" in names
    assert "complaint_30d" in names
    assert "spend_365d" not in names
    assert describe_feature("browse_7d").source == "interactions"
    assert describe_feature("recency").unit == "days"


def test_the_table_api(orders: OrderFrame) -> None:
    f = customer_features(orders, as_of=AS_OF, features=["frequency", "recency", "last_purchase"])
    assert len(f) == 3
    assert f.customer_ids.tolist() == ["李雷", "王芳", "赵六"]
    assert f.currency == "CNY"
    assert f.as_of == AS_OF
    assert "frequency" in f
    assert "monetary_net" not in f
    with pytest.raises(ValidationError, match="monetary_net"):
        f["monetary_net"]
    with pytest.raises(ValueError, match="read-only"):
        f["frequency"][0] = 5
    assert f.select("recency").names == ("recency",)
    assert f.index_of("王芳") == 1
    with pytest.raises(NotFound):
        f.row("nobody")
    assert f.codes_of(["赵六", "nobody"]).tolist() == [2, -1]
    html = f._repr_html_()
    assert "王芳" in html
    assert "NaN" in html


def test_pandas_and_polars_exports(orders: OrderFrame) -> None:
    f = customer_features(orders, as_of=AS_OF, features=["frequency", "last_purchase", "recency"])
    df = f.to_pandas()
    assert df.index.name == "customer_id"
    assert df.loc["王芳", "frequency"] == 3
    assert str(df["last_purchase"].dtype) == "datetime64[us, UTC]"
    assert df["last_purchase"].isna().tolist() == [False, False, True]
    pl_df = f.to_polars()
    assert pl_df.columns == ["customer_id", "frequency", "last_purchase", "recency"]
    assert pl_df["last_purchase"].null_count() == 1
    assert pl_df["customer_id"].to_list() == ["李雷", "王芳", "赵六"]


def test_integer_ids_look_up_by_value() -> None:
    orders = OrderFrame.from_arrays(
        customer_id=np.array([2**40, 3]),
        placed_at=np.array([0, 0]),
        amount=np.array([1, 2]),
        currency="CNY",
    )
    f = customer_features(orders, as_of=AS_OF, features=["monetary_total"])
    assert f.row(2**40) == {"monetary_total": 1}
    assert f.row(np.int64(3)) == {"monetary_total": 2}
    assert f.codes_of(np.array([3, 4, 2**40])).tolist() == [0, -1, 1]


def test_customer_features_can_be_built_directly() -> None:
    table = CustomerFeatures(
        customer_ids=np.array(["a", "b"], dtype=object),
        columns={"score": np.array([1.0, 2.0])},
        as_of=AS_OF,
    )
    assert table.row("b") == {"score": 2.0}
    with pytest.raises(ValidationError, match="one value per customer"):
        CustomerFeatures(customer_ids=np.array([1]), columns={"x": np.array([1, 2])}, as_of=AS_OF)
    with pytest.raises(ValidationError, match="as_of"):
        CustomerFeatures(customer_ids=np.array([1]), columns={}, as_of=datetime(2024, 1, 1))


def test_complaints_and_reviews_count_only_until_as_of() -> None:
    base = _micros(AS_OF)
    interactions = InteractionFrame.from_arrays(
        customer_id=[1, 1, 1, 1, 2],
        at=np.array([base - DAY, base, base + 1, base - 100 * DAY, base - DAY]),
        kind=["review", "complaint", "complaint", "review", "browse"],
        rating=np.array([4, 0, 0, 0, 0]),
        resolved=np.array([False, False, False, False, False]),
    )
    f = customer_features(None, interactions, as_of=AS_OF)
    assert f.currency is None
    assert f.row(1)["review_count"] == 2
    assert f.row(1)["review_mean"] == 4.0
    assert f.row(1)["complaint_count"] == 1
    assert f.row(1)["complaint_unresolved"] == 1
    assert f.row(1)["review_7d"] == 1
    assert f.row(2)["browse_7d"] == 1
