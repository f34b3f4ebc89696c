"""OrderFrame.from_csv: the documented columns, exact money, and errors naming the cell."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from custmgmt.analytics.frames import STATUS_CODES, OrderFrame
from custmgmt.domain import OrderStatus
from custmgmt.errors import ValidationError

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "orders.csv"
    path.write_text(text, encoding="utf-8")
    return path


def _micros(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(microseconds=1)


def test_a_documented_csv_is_read_exactly(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "customer_id,placed_at,amount,order_id,category,status,returned_amount,currency\n"
        "王芳,2024-03-01,19.90,o1,服装,paid,,CNY\n"
        "李雷,2024-03-01 10:30,1234.5,o2,图书,partially_returned,0.50,\n"
        "王芳,2024-03-02T08:00:00+00:00,0.1,o3,,cancelled,0,\n"
        "\n"
        "李雷,2024-03-05,3,o4,图书,,,\n",
    )
    frame = OrderFrame.from_csv(path)
    assert frame.customer_ids.tolist() == ["李雷", "王芳"]
    assert frame.amount.tolist() == [1990, 123450, 10, 300]
    assert frame.returned_amount.tolist() == [0, 50, 0, 0]
    assert frame.order_id.tolist() == ["o1", "o2", "o3", "o4"]
    assert [STATUS_CODES[s] for s in frame.status] == [
        OrderStatus.PAID,
        OrderStatus.PARTIALLY_RETURNED,
        OrderStatus.CANCELLED,
        OrderStatus.DELIVERED,
    ]
    assert frame.category_names == ("图书", "服装")
    # Naive values are Shanghai time (UTC+8); explicit offsets are kept.
    assert frame.placed_at.tolist()[:3] == [
        _micros(datetime(2024, 2, 29, 16, 0, tzinfo=UTC)),
        _micros(datetime(2024, 3, 1, 2, 30, tzinfo=UTC)),
        _micros(datetime(2024, 3, 2, 8, 0, tzinfo=UTC)),
    ]


def test_other_timezones_and_a_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_text("\ufeffcustomer_id,placed_at,amount\n1,2024-01-01,5\n", encoding="utf-8")
    frame = OrderFrame.from_csv(path, tz="UTC", currency="USD")
    assert frame.placed_at.tolist() == [_micros(datetime(2024, 1, 1, tzinfo=UTC))]
    assert frame.currency == "USD"
    assert frame.amount.tolist() == [500]
    with pytest.raises(ValidationError, match="tz"):
        OrderFrame.from_csv(path, tz="Mars/Olympus")


@pytest.mark.parametrize(
    ("row", "column", "value"),
    [
        ("c1,2024-13-01,1.00", "placed_at", "2024-13-01"),
        ("c1,yesterday,1.00", "placed_at", "yesterday"),
        ("c1,2024-01-01,12.3x", "amount", "12.3x"),
        ("c1,2024-01-01,-1", "amount", "-1"),
        ("c1,2024-01-01,1.001", "amount", "1.001"),
        ("c1,2024-01-01,NaN", "amount", "NaN"),
        (",2024-01-01,1", "customer_id", ""),
        ("c1,2024-01-01,1,lost", "status", "lost"),
        ("c1,2024-01-01,1,paid,2", "returned_amount", "2"),
        ("c1,2024-01-01,1,paid,0,USD", "currency", "USD"),
        ("c1,2024-01-01,1,paid,0,EURO", "currency", "EURO"),
        ("c1,2024-01-01", "row", "c1,2024-01-01"),
    ],
)
def test_a_malformed_row_names_its_line_column_and_value(
    tmp_path: Path, row: str, column: str, value: str
) -> None:
    header = "customer_id,placed_at,amount,status,returned_amount,currency"
    cells = row.split(",")
    if column != "row":
        row = ",".join(cells + [""] * (6 - len(cells)))
    path = _write(tmp_path, f"{header}\nok,2024-01-01,1,,,\n\n{row}\n")
    with pytest.raises(ValidationError) as info:
        OrderFrame.from_csv(path)
    error = info.value
    assert error.line == 4  # type: ignore[attr-defined]
    assert error.column == column  # type: ignore[attr-defined]
    assert error.field == f"line 4, column {column}"
    assert error.value == value
    assert f"line 4, column {column}: got {value!r}" in str(error)


def test_missing_columns_and_files_are_reported(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"missing \['amount'\]"):
        OrderFrame.from_csv(_write(tmp_path, "customer_id,placed_at\n"))
    with pytest.raises(ValidationError, match="path"):
        OrderFrame.from_csv(tmp_path / "nope.csv")
    with pytest.raises(ValidationError, match="header"):
        OrderFrame.from_csv(_write(tmp_path, ""))


def test_other_currencies_convert_with_rates(tmp_path: Path) -> None:
    path = _write(
        tmp_path, "customer_id,placed_at,amount,currency\nc,2024-01-01,1.00,USD\nc,2024-01-01,1,\n"
    )
    frame = OrderFrame.from_csv(path, rates={"USD": Decimal("7.2345")})
    assert frame.amount.tolist() == [723, 100]
