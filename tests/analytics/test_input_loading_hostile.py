"""Hostile inputs to the frame constructors and the CSV reader: exact money from floats
and huge integers, times outside the years 1..9999, empty inputs, missing order ids,
and one very long CSV cell."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from custmgmt.analytics._convert import _one_minor, to_minor
from custmgmt.analytics.frames import InteractionFrame, OrderFrame
from custmgmt.errors import ValidationError

T = datetime(2024, 1, 1, tzinfo=UTC)


def _order(amount: object, **kw: object) -> OrderFrame:
    return OrderFrame.from_arrays(
        customer_id=["a"], placed_at=[T], amount=amount, currency="CNY", **kw
    )


# -- money ------------------------------------------------------------------------------
def test_a_float_with_more_decimals_than_the_currency_is_refused_whatever_its_size() -> None:
    # 10000000000.005 was rounded to 10000000000.00 (a relative tolerance hid the 0.5 fen).
    with pytest.raises(ValidationError, match="at most 2 decimal places"):
        _order(np.array([10_000_000_000.005]), amount_unit="major")


def test_a_large_float_amount_is_the_decimal_it_stands_for() -> None:
    # The float 123456789012345.67 times 100 rounds to ...68 in float arithmetic.
    frame = _order(np.array([123_456_789_012_345.67]), amount_unit="major")
    assert frame.amount.tolist() == [12_345_678_901_234_567]
    frame = _order(np.array([9_007_199_254_740_991.0]), amount_unit="major")
    assert frame.amount.tolist() == [900_719_925_474_099_100]


def test_float_arrays_read_like_python_floats_one_by_one() -> None:
    rng = random.Random(7)
    for _ in range(3000):
        digits = rng.choice([0, 2, 3])
        if rng.random() < 0.5:
            x = float(Decimal(rng.randrange(10 ** rng.randrange(1, 19))).scaleb(-digits))
        else:
            x = rng.random() * 10 ** rng.randrange(0, 17)
        try:
            want: int | None = _one_minor(x, digits, "major", "amount")
        except ValidationError:
            want = None
        try:
            got: int | None = int(to_minor(np.array([x]), digits, "major", "amount")[0])
        except ValidationError:
            got = None
        assert got == want, (x, digits)


def test_float32_amounts_are_their_shortest_decimal() -> None:
    frame = _order(np.array([0.1, 19.9], dtype=np.float32)[:1], amount_unit="major")
    assert frame.amount.tolist() == [10]


def test_huge_integer_major_amounts_are_refused_not_wrapped_around() -> None:
    # 2**62 yuan in fen wrapped to 0 in int64.
    with pytest.raises(ValidationError, match="fits in int64"):
        _order(np.array([2**62]), amount_unit="major")


def test_a_very_long_amount_text_is_a_validation_error() -> None:
    with pytest.raises(ValidationError, match="fits in int64"):
        _one_minor("1" * 10_000, 2, "major", "amount")
    assert _one_minor("1." + "0" * 10_000, 2, "major", "amount") == 100
    with pytest.raises(ValidationError, match="decimal places"):
        _one_minor("0." + "0" * 10_000 + "1", 2, "major", "amount")


# -- times ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "placed_at",
    [
        np.array([2**62]),
        np.array([np.iinfo(np.int64).min]),
        np.array([300_000], dtype="datetime64[Y]"),
        np.array(["10000-01-01"], dtype="datetime64[D]"),
        [datetime(1, 1, 1, 5, tzinfo=timezone(timedelta(hours=14)))],
        [datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-12)))],
    ],
    ids=["int-far", "int-min", "year-300000", "year-10000", "utc-year-0", "utc-year-10000"],
)
def test_times_outside_the_years_1_to_9999_are_refused(placed_at: object) -> None:
    with pytest.raises(ValidationError, match=r"placed_at\[0\].*years 1..9999"):
        OrderFrame.from_arrays(customer_id=["a"], placed_at=placed_at, amount=[1], currency="CNY")


def test_the_extreme_instants_are_kept_and_displayed() -> None:
    first = datetime(1, 1, 1, tzinfo=UTC)
    last = datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)
    frame = OrderFrame.from_arrays(
        customer_id=["a", "b"], placed_at=[first, last], amount=[1, 2], currency="CNY"
    )
    assert "9999-12-31" in str(frame.summary())
    frame = OrderFrame.from_arrays(
        customer_id=["a"],
        placed_at=np.array(["9999-12-31"], dtype="datetime64[D]"),
        amount=[1],
        currency="CNY",
    )
    assert frame.placed_at.tolist() == [253_402_214_400_000_000]


# -- empty inputs -----------------------------------------------------------------------
def test_empty_lists_make_empty_frames() -> None:
    orders = OrderFrame.from_arrays(
        customer_id=[],
        placed_at=[],
        amount=[],
        currency="CNY",
        returned_amount=[],
        category=[],
        status=[],
        channel=[],
        order_id=[],
    )
    assert len(orders) == 0
    assert orders.n_customers == 0
    interactions = InteractionFrame.from_arrays(
        customer_id=[], at=[], kind=[], rating=[], complaint_category=[], resolved=[], channel=[]
    )
    assert len(interactions) == 0


# -- missing order ids ------------------------------------------------------------------
def test_missing_order_ids_never_merge_orders() -> None:
    # NaN (a pandas float or Int64 column with gaps) merged every unnumbered order into one.
    nan = float("nan")
    frame = OrderFrame.from_arrays(
        customer_id=["a", "a", "b"],
        placed_at=[T, T, T],
        amount=[5, 6, 7],
        currency="CNY",
        order_id=[nan, nan, nan],
    )
    assert frame.amount.tolist() == [5, 6, 7]
    frame = OrderFrame.from_arrays(
        customer_id=["a", "a", "a"],
        placed_at=[T, T, T],
        amount=[5, 6, 7],
        currency="CNY",
        order_id=np.array(["x", nan, "x"], dtype=object),
    )
    assert frame.amount.tolist() == [12, 6]


def test_pandas_order_ids_with_gaps_are_separate_orders() -> None:
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(
        {
            "customer_id": ["a", "b", "a"],
            "placed_at": pd.to_datetime(["2024-01-01"] * 3).tz_localize("UTC"),
            "amount": [1, 2, 3],
            "order_id": pd.array([1, None, None], dtype="Int64"),
        }
    )
    frame = OrderFrame.from_pandas(df, currency="CNY")
    assert frame.amount.tolist() == [1, 2, 3]


# -- CSV --------------------------------------------------------------------------------
def test_one_very_long_csv_cell_is_read_without_a_huge_buffer(tmp_path: Path) -> None:
    # One 20 MB customer id made _gather allocate a 16384-row index of that width.
    path = tmp_path / "orders.csv"
    long_id = "a" * 20_000_000
    path.write_text(f"customer_id,placed_at,amount\n{long_id},2024-01-01,1\nb,2024-01-02,2\n")
    frame = OrderFrame.from_csv(path, tz="UTC")
    assert sorted(len(i) for i in frame.customer_ids) == [1, 20_000_000]
    assert frame.amount.tolist() == [100, 200]


def test_a_very_long_amount_cell_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text("customer_id,placed_at,amount\na,2024-01-01," + "1" * 100_000 + "\n")
    with pytest.raises(ValidationError, match="line 2, column amount") as caught:
        OrderFrame.from_csv(path, tz="UTC")
    assert caught.value.expected == "an amount that fits in int64"


# -- batches ----------------------------------------------------------------------------
@pytest.mark.parametrize("order_id", ["o1", 5, (x for x in ["o1"]), [["o1"]]])
def test_a_batch_needs_a_sequence_of_order_ids(order_id: object) -> None:
    from custmgmt.analytics.batches import OrderBatch

    # One string, a number or a generator raised TypeError: len() of unsized object.
    with pytest.raises(ValidationError, match="order_id"):
        OrderBatch.from_arrays(
            order_id=order_id,
            customer_id=["c"],
            placed_at=[T],
            amount=[100],
            currency="CNY",
            category="x",
        )


# -- currency conversion ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("amount", "rate"), [(2**62, "1e6"), (200, "1e999999")], ids=["past-int64", "decimal-overflow"]
)
def test_a_conversion_past_int64_is_a_validation_error(amount: int, rate: str) -> None:
    # OverflowError / decimal.Overflow escaped before.
    with pytest.raises(ValidationError, match=r"rates\['USD'\]"):
        OrderFrame.from_arrays(
            customer_id=["a", "b"],
            placed_at=[T, T],
            amount=[1, amount],
            currency="CNY",
            currencies=["CNY", "USD"],
            rates={"USD": Decimal(rate)},
        )


@pytest.mark.parametrize("rate", ["1000", "1e999999"])
def test_a_csv_conversion_past_int64_names_the_line(tmp_path: Path, rate: str) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(
        "customer_id,placed_at,amount,currency\n"
        "a,2024-01-01,1,CNY\n"
        "b,2024-01-01,50000000000000000,USD\n"
    )
    with pytest.raises(ValidationError, match="line 3, column amount"):
        OrderFrame.from_csv(path, rates={"USD": Decimal(rate)})


# -- interactions -----------------------------------------------------------------------
def _reviews(**kw: object) -> InteractionFrame:
    return InteractionFrame.from_arrays(
        customer_id=["a", "b"], at=[T, T], kind=["review", "complaint"], **kw
    )


def test_ratings_with_gaps_read_as_none() -> None:
    # A pandas rating column with gaps (float NaN, Int64 NA) was refused as "float64".
    assert _reviews(rating=np.array([5.0, np.nan])).rating.tolist() == [5, 0]
    assert _reviews(rating=[None, 3.0]).rating.tolist() == [0, 3]
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(
        {
            "customer_id": ["a", "b"],
            "at": pd.to_datetime(["2024-01-01"] * 2).tz_localize("UTC"),
            "kind": ["review", "complaint"],
            "rating": pd.array([4, None], dtype="Int64"),
            "resolved": pd.array([None, True], dtype="boolean"),
        }
    )
    frame = InteractionFrame.from_pandas(df)
    assert frame.rating.tolist() == [4, 0]
    assert frame.resolved.tolist() == [False, True]


@pytest.mark.parametrize(
    "rating",
    [[None, True], np.array([4.5, 1.0]), np.array([np.inf, 1.0]), [2**40, 1], [-1, 2]],
    ids=["bool", "fraction", "inf", "huge", "negative"],
)
def test_ratings_that_are_not_0_to_5_are_refused(rating: object) -> None:
    # [None, True] was read as the rating 1.
    with pytest.raises(ValidationError, match=r"rating\[\d\]"):
        _reviews(rating=rating)


def test_resolved_takes_none_as_false_and_refuses_other_values() -> None:
    assert _reviews(resolved=[None, True]).resolved.tolist() == [False, True]
    with pytest.raises(ValidationError, match=r"resolved\[0\]"):
        _reviews(resolved=np.array([1, True], dtype=object))


def test_a_file_descriptor_is_not_a_csv_path(tmp_path: Path) -> None:
    # open(fd) read the caller's descriptor and closed it.
    import os

    path = tmp_path / "orders.csv"
    path.write_text("customer_id,placed_at,amount\na,2024-01-01,1\n")
    fd = os.open(path, os.O_RDONLY)
    try:
        with pytest.raises(ValidationError, match="path"):
            OrderFrame.from_csv(fd)  # type: ignore[arg-type]
        os.fstat(fd)  # still open
    finally:
        os.close(fd)


@pytest.mark.parametrize("encoding", [None, 5])
def test_an_encoding_that_is_not_text_is_a_validation_error(
    tmp_path: Path, encoding: object
) -> None:
    path = tmp_path / "orders.csv"
    path.write_text("customer_id,placed_at,amount\na,2024-01-01,1\n")
    with pytest.raises(ValidationError, match="encoding"):
        OrderFrame.from_csv(path, encoding=encoding)  # type: ignore[arg-type]
