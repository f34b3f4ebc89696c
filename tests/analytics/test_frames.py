"""OrderFrame and InteractionFrame: constructors, validation, round trips."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import numpy as np
import pytest

from custmgmt.adapters.memory import MemoryStore
from custmgmt.analytics.features import customer_features
from custmgmt.analytics.frames import (
    KIND_CODES,
    STATUS_CODES,
    InteractionFrame,
    OrderFrame,
)
from custmgmt.domain import (
    Complaint,
    ComplaintCategory,
    InteractionKind,
    Money,
    OrderStatus,
    Review,
)
from custmgmt.errors import ValidationError
from custmgmt.testing.factories import make_interaction, make_order, make_order_line

T = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
CNY = "CNY"


def _micros(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def small_orders(**overrides: object) -> OrderFrame:
    fields: dict[str, object] = {
        "customer_id": np.array([42, 7, 42], dtype=np.int64),
        "placed_at": np.array([_micros(T), _micros(T), _micros(T + timedelta(days=3))]),
        "amount": np.array([1990, 500, 8800], dtype=np.int64),
        "currency": CNY,
    }
    fields.update(overrides)
    return OrderFrame.from_arrays(**fields)  # type: ignore[arg-type]


# -- from_arrays ------------------------------------------------------------------------
def test_from_arrays_builds_a_dense_sorted_customer_index() -> None:
    frame = small_orders()
    assert frame.customer_ids.tolist() == [7, 42]
    assert frame.customer_code.tolist() == [1, 0, 1]
    assert frame.customer_code.dtype == np.int32
    assert frame.n_customers == 2
    assert frame.n_rows == len(frame) == 3
    assert frame.status.tolist() == [STATUS_CODES.index(OrderStatus.DELIVERED)] * 3
    assert frame.returned_amount.tolist() == [0, 0, 0]
    assert frame.category.tolist() == [-1, -1, -1]


def test_frames_are_read_only() -> None:
    frame = small_orders()
    with pytest.raises(ValueError, match="read-only"):
        frame.amount[0] = 1
    with pytest.raises(AttributeError):
        frame.currency = "USD"  # type: ignore[misc]


def test_the_callers_arrays_stay_writable_and_are_not_copied_when_int64() -> None:
    amount = np.array([1, 2, 3], dtype=np.int64)
    frame = small_orders(amount=amount)
    assert np.shares_memory(frame.amount, amount)
    amount[0] = 1  # still the caller's to write


def test_placed_at_accepts_datetime64_and_aware_datetimes() -> None:
    expected = small_orders().placed_at.tolist()
    as_datetime64 = np.array(expected, dtype="datetime64[us]").astype("datetime64[ns]")
    assert small_orders(placed_at=as_datetime64).placed_at.tolist() == expected
    shanghai = timezone(timedelta(hours=8))
    aware = [T.astimezone(shanghai), T, T + timedelta(days=3)]
    assert small_orders(placed_at=aware).placed_at.tolist() == expected


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValidationError, match=r"placed_at\[0\]"):
        small_orders(placed_at=[datetime(2024, 1, 1)] * 3)


def test_major_unit_amounts_convert_exactly() -> None:
    frame = small_orders(amount=np.array([19.9, 0.1, 1234.56]), amount_unit="major")
    assert frame.amount.tolist() == [1990, 10, 123456]
    frame = small_orders(amount=[Decimal("19.90"), "0.10", 3], amount_unit="major")
    assert frame.amount.tolist() == [1990, 10, 300]
    jpy = small_orders(amount=np.array([100.0, 1.0, 5.0]), amount_unit="major", currency="JPY")
    assert jpy.amount.tolist() == [100, 1, 5]


@pytest.mark.parametrize(
    ("amount", "unit", "match"),
    [
        (np.array([1.0, np.nan, 2.0]), "major", r"amount\[1\].*nan.*finite non-negative"),
        (np.array([1, -5, 2]), "minor", r"amount\[1\].*-5.*non-negative"),
        (np.array([1.0, 2.0, -0.5]), "major", r"amount\[2\]"),
        (np.array([19.901, 1.0, 1.0]), "major", r"amount\[0\].*2 decimal places"),
        (np.array([1.5, 2.0, 3.0]), "minor", "amount_unit='major'"),
        (["1", "x", "2"], "major", r"amount\[1\].*'x'"),
        (np.array([1, 2, 3]), "cents", "amount_unit"),
    ],
)
def test_bad_amounts_are_refused_naming_the_row(amount: object, unit: str, match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        small_orders(amount=amount, amount_unit=unit)


def test_a_return_above_the_amount_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"returned_amount\[1\]"):
        small_orders(returned_amount=np.array([0, 501, 0]))


@pytest.mark.parametrize(
    "name", ["placed_at", "amount", "status", "category", "returned_amount", "order_id"]
)
def test_mismatched_lengths_name_the_array(name: str) -> None:
    values = {
        "placed_at": np.array([1, 2]),
        "amount": np.array([1, 2]),
        "status": ["paid"],
        "category": ["a", "b"],
        "returned_amount": np.array([0]),
        "order_id": ["o1"],
    }
    with pytest.raises(ValidationError, match=rf"^{name}: .*length 3"):
        small_orders(**{name: values[name]})


def test_status_accepts_members_values_and_codes_and_refuses_others() -> None:
    frame = small_orders(status=[OrderStatus.PAID, "cancelled", 3])
    assert [STATUS_CODES[c] for c in frame.status] == [
        OrderStatus.PAID,
        OrderStatus.CANCELLED,
        STATUS_CODES[3],
    ]
    with pytest.raises(ValidationError, match=r"status\[1\].*'lost'"):
        small_orders(status=["paid", "lost", "paid"])
    with pytest.raises(ValidationError, match=r"status\[0\]"):
        small_orders(status=np.array([9, 0, 0]))


def test_unknown_currency_is_refused() -> None:
    with pytest.raises(ValidationError, match="currency"):
        small_orders(currency="XXX1")


def test_mixed_currencies_need_rates() -> None:
    with pytest.raises(ValidationError, match=r"currencies.*rates for \['USD'\]"):
        small_orders(currencies=["CNY", "USD", "CNY"])


def test_mixed_currencies_convert_exactly_and_round_half_even() -> None:
    frame = small_orders(
        amount=np.array([1000, 1, 3], dtype=np.int64),
        currencies=["CNY", "USD", "USD"],
        rates={"USD": Decimal("7.25")},
    )
    # 0.01 USD * 7.25 = 0.0725 CNY -> 0.07; 0.03 USD -> 0.2175 -> 0.22
    assert frame.amount.tolist() == [1000, 7, 22]
    frame = small_orders(
        amount=np.array([1, 3, 5], dtype=np.int64),
        currencies=["USD", "USD", "USD"],
        rates={"USD": Decimal("0.5")},
    )
    # 0.005 -> 0.00 (half to even), 0.015 -> 0.02, 0.025 -> 0.02
    assert frame.amount.tolist() == [0, 2, 2]


def test_float_rates_are_refused() -> None:
    with pytest.raises(ValidationError, match="rates"):
        small_orders(currencies=["USD"] * 3, rates={"USD": 7.25})


def test_chinese_category_names_round_trip() -> None:
    frame = small_orders(category=["服装", "图书", None], channel=["小程序", "app", ""])
    assert frame.category_names == ("图书", "服装")
    assert [frame.category_names[c] if c >= 0 else None for c in frame.category] == [
        "服装",
        "图书",
        None,
    ]
    assert frame.to_pandas()["category"].tolist()[:2] == ["服装", "图书"]
    assert frame.to_polars()["channel"].to_list() == ["小程序", "app", None]


def test_string_customer_ids_keep_their_text() -> None:
    frame = small_orders(customer_id=["王芳", "李雷", "王芳"])
    assert frame.customer_ids.tolist() == ["李雷", "王芳"]
    assert frame.customer_code.tolist() == [1, 0, 1]


def test_empty_frames_are_fine() -> None:
    frame = OrderFrame.from_arrays(
        customer_id=np.array([], dtype=np.int64),
        placed_at=np.array([], dtype=np.int64),
        amount=np.array([], dtype=np.int64),
        currency=CNY,
    )
    assert len(frame) == 0
    assert frame.n_customers == 0
    features = customer_features(frame, as_of=T)
    assert len(features) == 0
    assert "frequency" in features


# -- customer index -----------------------------------------------------------------------
def test_interactions_aligned_to_orders_keep_their_codes_and_add_new_customers() -> None:
    orders = small_orders()
    interactions = InteractionFrame.from_arrays(
        customer_id=np.array([99, 42, 3]),
        at=np.array([1, 2, 3]),
        kind=["browse", "review", "cart"],
        rating=np.array([0, 5, 0]),
        customer_index=orders,
    )
    assert interactions.customer_ids.tolist() == [7, 42, 3, 99]
    assert interactions.customer_code.tolist() == [3, 1, 2]
    features = customer_features(orders, interactions, as_of=T + timedelta(days=10))
    assert features.customer_ids.tolist() == [7, 42, 3, 99]
    assert features["frequency"].tolist() == [1, 2, 0, 0]
    assert features["browse_7d"].tolist() == [0, 0, 0, 0]  # at = 1 µs after the epoch
    assert np.isnan(features["recency"][3])


def test_with_customer_index_recodes_onto_another_index() -> None:
    frame = small_orders().with_customer_index([42, 1000, 7])
    assert frame.customer_ids.tolist() == [42, 1000, 7]
    assert frame.customer_code.tolist() == [0, 2, 0]
    with pytest.raises(ValidationError, match="customer_index"):
        small_orders(customer_index=[1, 1])


# -- interactions -----------------------------------------------------------------------
def test_interaction_frame_validates_its_columns() -> None:
    with pytest.raises(ValidationError, match=r"kind\[1\]"):
        InteractionFrame.from_arrays(customer_id=[1, 2], at=[1, 2], kind=["browse", "poke"])
    with pytest.raises(ValidationError, match=r"rating\[0\]"):
        InteractionFrame.from_arrays(customer_id=[1], at=[1], kind=["review"], rating=[6])
    with pytest.raises(ValidationError, match=r"^at: .*length 1"):
        InteractionFrame.from_arrays(customer_id=[1], at=[1, 2], kind=["review"])
    frame = InteractionFrame.from_arrays(
        customer_id=[1, 2],
        at=[1, 2],
        kind=[InteractionKind.COMPLAINT, 1],
        complaint_category=[ComplaintCategory.LOGISTICS, None],
        resolved=[True, False],
    )
    assert [KIND_CODES[k] for k in frame.kind] == [InteractionKind.COMPLAINT, KIND_CODES[1]]
    assert frame.complaint_category.tolist() == [1, -1]


# -- stores -------------------------------------------------------------------------------
def _fill_store() -> MemoryStore:
    store = MemoryStore()
    tea = make_order_line(category="茶", unit_price=Money(Decimal("88.00"), CNY))
    book = make_order_line(
        sku="B-1", category="图书", quantity=2, unit_price=Money(Decimal("50.00"), CNY)
    )
    orders = [
        make_order(id="o1", customer_id="王芳", placed_at=T, lines=[tea, book]),
        make_order(
            id="o2",
            customer_id="王芳",
            placed_at=T + timedelta(days=2),
            lines=[tea],
            status=OrderStatus.CANCELLED,
            cancelled_at=T + timedelta(days=2),
            channel="小程序",
        ),
        make_order(
            id="o3",
            customer_id="李雷",
            placed_at=T + timedelta(days=1),
            lines=[book],
            status=OrderStatus.RETURNED,
            paid_at=T + timedelta(days=1),
            returned_at=T + timedelta(days=4),
            returned_amount=Money(Decimal("30.00"), CNY),
        ),
        make_order(id="o4", customer_id="李雷", placed_at=T + timedelta(days=30), lines=[tea]),
    ]
    store.orders.add_many(orders)
    store.interactions.add_many(
        [
            make_interaction(id="i1", customer_id="王芳", at=T, details=Review(rating=4)),
            make_interaction(
                id="i2",
                customer_id="张三",
                kind=InteractionKind.COMPLAINT,
                at=T,
                details=Complaint(category=ComplaintCategory.LOGISTICS),
            ),
            make_interaction(id="i3", customer_id="张三", kind=InteractionKind.BROWSE, at=T),
        ]
    )
    return store


def test_from_store_equals_from_arrays_for_the_same_orders() -> None:
    store = _fill_store()
    from_store = OrderFrame.from_store(store, currency=CNY, chunk_size=1)
    order_ids = from_store.order_id.tolist()
    by_id = {o.id: o for o in (store.orders.get(i) for i in order_ids)}
    from_arrays = OrderFrame.from_arrays(
        customer_id=[by_id[i].customer_id for i in order_ids],
        placed_at=[by_id[i].placed_at for i in order_ids],
        amount=[by_id[i].total.amount for i in order_ids],
        amount_unit="major",
        returned_amount=[by_id[i].refunded.amount for i in order_ids],
        status=[by_id[i].status for i in order_ids],
        category=[
            max(by_id[i].lines, key=lambda line: line.subtotal.amount).category for i in order_ids
        ],
        channel=[by_id[i].channel for i in order_ids],
        order_id=order_ids,
        currency=CNY,
    )
    for name in (
        "customer_code",
        "placed_at",
        "amount",
        "returned_amount",
        "status",
        "category",
        "channel",
    ):
        np.testing.assert_array_equal(
            getattr(from_store, name), getattr(from_arrays, name), err_msg=name
        )
    assert from_store.customer_ids.tolist() == from_arrays.customer_ids.tolist() == ["李雷", "王芳"]
    assert from_store.category_names == from_arrays.category_names == ("图书", "茶")
    # o1 has two categories: both are listed for breadth.
    as_of = T + timedelta(days=60)
    breadth = customer_features(from_store, as_of=as_of, features=["category_breadth"])
    assert breadth.row("王芳")["category_breadth"] == 2
    assert (
        customer_features(from_arrays, as_of=as_of, features=["category_breadth"]).row("王芳")[
            "category_breadth"
        ]
        == 1
    )


def test_from_store_skips_orders_after_as_of_and_refuses_a_naive_one() -> None:
    store = _fill_store()
    frame = OrderFrame.from_store(store, currency=CNY, as_of=T + timedelta(days=3))
    assert sorted(frame.order_id.tolist()) == ["o1", "o2", "o3"]
    with pytest.raises(ValidationError, match="as_of"):
        OrderFrame.from_store(store, currency=CNY, as_of=datetime(2024, 1, 1))


def test_from_store_refuses_other_currencies_without_rates() -> None:
    store = MemoryStore()
    usd = make_order_line(unit_price=Money(Decimal("1.00"), "USD"))
    store.orders.add(make_order(id="u1", customer_id="c1", placed_at=T, lines=[usd]))
    with pytest.raises(ValidationError, match="USD"):
        OrderFrame.from_store(store, currency=CNY)
    frame = OrderFrame.from_store(store, currency=CNY, rates={"USD": Decimal("7.1")})
    assert frame.amount.tolist() == [710]


def test_interactions_from_store_equal_from_arrays_and_align_on_orders() -> None:
    store = _fill_store()
    orders = OrderFrame.from_store(store, currency=CNY)
    frame = InteractionFrame.from_store(store, chunk_size=2, customer_index=orders)
    assert frame.customer_ids.tolist() == ["李雷", "王芳", "张三"]
    expected = InteractionFrame.from_arrays(
        customer_id=["王芳", "张三", "张三"],
        at=[T, T, T],
        kind=["review", "complaint", "browse"],
        rating=[4, 0, 0],
        complaint_category=[None, "logistics", None],
        customer_index=orders,
    )
    order = np.argsort(frame.kind)
    expected_order = np.argsort(expected.kind)
    for name in ("customer_code", "at", "kind", "rating", "complaint_category", "resolved"):
        np.testing.assert_array_equal(
            getattr(frame, name)[order], getattr(expected, name)[expected_order], err_msg=name
        )
    features = customer_features(orders, frame, as_of=T + timedelta(days=60))
    assert features.row("张三")["complaint_unresolved"] == 1
    assert features.row("张三")["frequency"] == 0
    assert features.row("王芳")["review_mean"] == 4.0


# -- pandas and polars ----------------------------------------------------------------------
def test_pandas_round_trip() -> None:
    frame = small_orders(
        customer_id=["王芳", "李雷", "王芳"],
        category=["服装", None, "图书"],
        status=["paid", "cancelled", "delivered"],
        order_id=["a", "b", "c"],
    )
    df = frame.to_pandas()
    assert str(df["placed_at"].dtype) == "datetime64[us, UTC]"
    again = OrderFrame.from_pandas(df, currency=CNY)
    for name in ("customer_code", "placed_at", "amount", "returned_amount", "status", "category"):
        np.testing.assert_array_equal(getattr(again, name), getattr(frame, name), err_msg=name)
    assert again.category_names == frame.category_names
    assert again.customer_ids.tolist() == frame.customer_ids.tolist()


def test_polars_round_trip() -> None:
    frame = small_orders(category=["服装", None, "图书"], status=["paid", "cancelled", "delivered"])
    df = frame.to_polars()
    again = OrderFrame.from_polars(df, currency=CNY)
    for name in ("customer_code", "placed_at", "amount", "status", "category"):
        np.testing.assert_array_equal(getattr(again, name), getattr(frame, name), err_msg=name)
    interactions = InteractionFrame.from_arrays(
        customer_id=["a", "b"],
        at=[1, 2],
        kind=["review", "complaint"],
        rating=[3, 0],
        complaint_category=[None, "price"],
        resolved=[False, True],
        channel=["微信", None],
    )
    for df2, build in (
        (interactions.to_polars(), InteractionFrame.from_polars),
        (interactions.to_pandas(), InteractionFrame.from_pandas),
    ):
        back = build(df2)
        for name in (
            "customer_code",
            "at",
            "kind",
            "rating",
            "complaint_category",
            "resolved",
            "channel",
        ):
            np.testing.assert_array_equal(
                getattr(back, name), getattr(interactions, name), err_msg=name
            )


def test_from_pandas_int64_columns_are_not_copied_and_naive_times_are_refused() -> None:
    import pandas as pd

    df = pd.DataFrame({"customer_id": [1, 2], "placed_at": [10, 20], "amount": [100, 200]})
    frame = OrderFrame.from_pandas(df, currency=CNY)
    assert np.shares_memory(frame.amount, df["amount"].to_numpy())
    df["when"] = pd.to_datetime(["2024-01-01", "2024-01-02"])
    with pytest.raises(ValidationError, match=r"placed_at.*timezone-aware"):
        OrderFrame.from_pandas(df, currency=CNY, columns={"placed_at": "when"})
    with pytest.raises(ValidationError, match="'amount' column"):
        OrderFrame.from_pandas(df[["customer_id", "placed_at"]], currency=CNY)


def test_returns_in_other_currencies_convert_with_their_orders() -> None:
    frame = small_orders(
        amount=[Decimal("10.00"), Decimal("1.00"), Decimal("2.00")],
        returned_amount=[Decimal("0"), Decimal("0.50"), Decimal("2.00")],
        amount_unit="major",
        currencies=["CNY", "USD", "USD"],
        rates={"USD": Decimal("7")},
    )
    assert frame.amount.tolist() == [1000, 700, 1400]
    assert frame.returned_amount.tolist() == [0, 350, 1400]


def test_interactions_from_store_skip_those_after_as_of() -> None:
    store = _fill_store()
    frame = InteractionFrame.from_store(store, as_of=T - timedelta(seconds=1))
    assert len(frame) == 0
    with pytest.raises(ValidationError, match="as_of"):
        InteractionFrame.from_store(store, as_of=datetime(2024, 1, 1))
