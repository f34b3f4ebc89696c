"""The documented orders CSV format, read row by row with exact money.

Every malformed cell is reported with its physical line number (the header is line
1), its column and its raw text, so the command-line tools can print
``line 7, column amount: got '12,3x', expected ...`` and write nothing.
"""

from __future__ import annotations

import csv
import os
from datetime import date, datetime, tzinfo
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt

from custmgmt.analytics import _convert as cv
from custmgmt.domain.money import currency_digits
from custmgmt.domain.order import OrderStatus
from custmgmt.domain.time import to_epoch_micros
from custmgmt.errors import ValidationError

__all__ = ["CSV_COLUMNS", "REQUIRED_COLUMNS", "read_orders_csv"]

REQUIRED_COLUMNS = ("customer_id", "placed_at", "amount")
CSV_COLUMNS = (
    *REQUIRED_COLUMNS,
    "order_id",
    "currency",
    "category",
    "status",
    "returned_amount",
    "channel",
)
_STATUS = {s.value: i for i, s in enumerate(OrderStatus)}
_DELIVERED = list(OrderStatus).index(OrderStatus.DELIVERED)


def cell_error(line: int, column: str, value: Any, expected: str) -> ValidationError:
    """A ValidationError for one CSV cell, with ``.line`` and ``.column`` attributes."""
    error = ValidationError(f"line {line}, column {column}", value, expected)
    error.line = line  # type: ignore[attr-defined]
    error.column = column  # type: ignore[attr-defined]
    return error


def _parse_time(text: str, zone: tzinfo) -> int:
    text = text.strip()
    if len(text) == 10:
        day = date.fromisoformat(text)
        moment = datetime(day.year, day.month, day.day)
    else:
        moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return to_epoch_micros(moment)


def _parse_minor(text: str, digits: int) -> int:
    return cv._one_minor(text.strip(), digits, "major", "amount")


def read_orders_csv(
    path: str | os.PathLike[str],
    *,
    currency: str,
    zone: tzinfo,
    rates: dict[str, Decimal],
    encoding: str = "utf-8",
) -> dict[str, Any]:
    """Parse the file into columns (amounts already in minor units of ``currency``).

    Raises:
        ValidationError: a missing required column or a malformed cell (see
            :func:`cell_error`); a file that cannot be read (``field="path"``).
    """
    digits = currency_digits(currency)
    ids: list[str] = []
    times: list[int] = []
    amounts: list[int] = []
    returns: list[int] = []
    statuses: list[int] = []
    categories: list[str | None] = []
    channels: list[str | None] = []
    order_ids: list[str | None] = []
    try:
        handle = open(path, encoding=encoding, newline="")  # noqa: SIM115 -- closed below
    except OSError as e:
        raise ValidationError("path", os.fspath(path), f"a readable CSV file ({e.strerror})") from e
    with handle:
        reader = csv.reader(handle)
        try:
            header = next(reader)
        except StopIteration:
            raise ValidationError("path", os.fspath(path), "a CSV file with a header row") from None
        except (csv.Error, UnicodeDecodeError) as e:
            raise cell_error(1, "header", "", f"a readable header ({e})") from None
        names = [h.strip().lstrip("\ufeff") for h in header]
        missing = [c for c in REQUIRED_COLUMNS if c not in names]
        if missing:
            raise ValidationError(
                "line 1, column header",
                names,
                f"the columns {list(REQUIRED_COLUMNS)} (missing {missing})",
            )
        at = {name: names.index(name) for name in CSV_COLUMNS if name in names}
        line = 1
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except (csv.Error, UnicodeDecodeError) as e:
                raise cell_error(
                    reader.line_num, "row", "", f"a well-formed CSV row ({e})"
                ) from None
            line = reader.line_num
            if not row or all(not cell.strip() for cell in row):
                continue
            if len(row) != len(names):
                raise cell_error(line, "row", ",".join(row), f"{len(names)} cells like the header")

            def cell(name: str, row: list[str] = row) -> str | None:
                index = at.get(name)
                return None if index is None else row[index]

            customer = (cell("customer_id") or "").strip()
            if not customer:
                raise cell_error(
                    line, "customer_id", cell("customer_id"), "a non-empty customer id"
                )
            placed_text = cell("placed_at") or ""
            try:
                placed = _parse_time(placed_text, zone)
            except (ValueError, OverflowError):
                raise cell_error(
                    line,
                    "placed_at",
                    placed_text,
                    "an ISO date or datetime such as 2024-03-01 10:30",
                ) from None
            row_currency = (cell("currency") or "").strip() or currency
            try:
                row_digits = currency_digits(row_currency)
            except ValidationError:
                raise cell_error(
                    line, "currency", row_currency, "an ISO 4217 currency code"
                ) from None
            if row_currency != currency and row_currency not in rates:
                raise cell_error(
                    line,
                    "currency",
                    row_currency,
                    f"{currency}, or a rate for {row_currency} into {currency} (rates=...)",
                )
            values = []
            for column in ("amount", "returned_amount"):
                text = cell(column)
                if column == "returned_amount" and (text is None or not text.strip()):
                    values.append(0)
                    continue
                try:
                    values.append(_parse_minor(text or "", row_digits))
                except ValidationError as e:
                    raise cell_error(line, column, text, e.expected) from None
            amount, returned = values
            if row_currency != currency:
                rate = rates[row_currency]
                amount = cv.convert_minor(amount, row_currency, currency, rate)
                returned = cv.convert_minor(returned, row_currency, currency, rate)
            if returned > amount:
                raise cell_error(
                    line, "returned_amount", cell("returned_amount"), "at most the amount"
                )
            status_text = (cell("status") or "").strip()
            if status_text:
                status = _STATUS.get(status_text.lower())
                if status is None:
                    raise cell_error(line, "status", status_text, f"one of {sorted(_STATUS)}")
            else:
                status = _DELIVERED
            ids.append(customer)
            times.append(placed)
            amounts.append(amount)
            returns.append(returned)
            statuses.append(status)
            categories.append((cell("category") or "").strip() or None)
            channels.append((cell("channel") or "").strip() or None)
            order_ids.append((cell("order_id") or "").strip() or None)
    order_id_array: npt.NDArray[Any] | None = None
    if "order_id" in at:
        order_id_array = np.array(order_ids, dtype=object)
    return {
        "customer_id": np.array(ids, dtype=object),
        "placed_at": np.array(times, dtype=np.int64),
        "amount": np.array(amounts, dtype=np.int64),
        "returned_amount": np.array(returns, dtype=np.int64),
        "status": np.array(statuses, dtype=np.int8),
        "category": np.array(categories, dtype=object),
        "channel": np.array(channels, dtype=object),
        "order_id": order_id_array,
        "digits": digits,
    }
