"""Argument checks shared by the dataset generators; each names the parameter."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import numpy as np

from custmgmt.domain.money import currency_digits
from custmgmt.domain.time import require_aware
from custmgmt.errors import ValidationError

__all__ = [
    "check_as_of",
    "check_count",
    "check_currency",
    "check_history_days",
    "check_rate",
    "check_seed",
]

# Orders and interactions are counted in int64 and placed with int64 microseconds;
# far below either limit, but an absurd size should fail fast, not exhaust memory.
MAX_ROWS = 2_000_000_000


def _is_int(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def check_count(name: str, value: Any, *, minimum: int = 0) -> int:
    """A whole number of rows, at least ``minimum``."""
    if not _is_int(value) or not minimum <= int(value) <= MAX_ROWS:
        raise ValidationError(name, value, f"an integer from {minimum} to {MAX_ROWS:_}")
    return int(value)


def check_seed(value: Any) -> int:
    """A non-negative integer seed (numpy's SeedSequence refuses negative entropy)."""
    if not _is_int(value) or int(value) < 0:
        raise ValidationError("seed", value, "a non-negative integer")
    return int(value)


def check_as_of(value: Any) -> datetime:
    """A timezone-aware datetime within the range where int64 microseconds are safe."""
    as_of = require_aware("as_of", value)
    if not 1980 <= as_of.year <= 2200:
        raise ValidationError("as_of", value, "an aware datetime between 1980 and 2200")
    return as_of


def check_history_days(value: Any) -> int:
    """How many days of history before ``as_of``: 1 to 36,500 (a century)."""
    if not _is_int(value) or not 1 <= int(value) <= 36_500:
        raise ValidationError("history_days", value, "an integer number of days from 1 to 36500")
    return int(value)


def check_currency(value: Any) -> int:
    """The minor-unit digits of an ISO 4217 currency."""
    return currency_digits(value, "currency")


def check_rate(name: str, value: Any, *, maximum: float = 1_000.0) -> float:
    """A finite non-negative real number (a mean count per order or per customer)."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ValidationError(name, value, f"a number from 0 to {maximum:g}")
    result = float(value)
    if not math.isfinite(result) or not 0.0 <= result <= maximum:
        raise ValidationError(name, value, f"a number from 0 to {maximum:g}")
    return result
