"""Rating policies read from data refuse numbers and nesting that used to escape."""

from __future__ import annotations

from typing import Any

import pytest

from custmgmt.errors import ValidationError
from custmgmt.rating import Hysteresis, RatingPolicy, StarBands
from custmgmt.scoring import Criterion

HUGE = 10**400


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"criteria": {"spend": {"weight": HUGE}}}, r"criteria\.spend\.weight"),
        (
            {"criteria": {"spend": {"weight": 1, "normalisation": "capped", "cap": HUGE}}},
            r"criteria\.spend\.cap",
        ),
        ({"criteria": {"spend": {"weight": 1}}, "hysteresis": {"margin": HUGE}},
         r"hysteresis\.margin"),
        ({"criteria": {"spend": {"weight": 1}},
          "bands": {"kind": "absolute", "cuts": [1, 2, 3, HUGE]}}, r"bands\.cuts"),
    ],
)
def test_numbers_beyond_float_range_are_named(data: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError, match=rf"^{field}: got <integer of about 401 digits>"):
        RatingPolicy.from_dict(data)


def test_the_value_types_refuse_them_too() -> None:
    with pytest.raises(ValidationError, match=r"hysteresis\.margin"):
        Hysteresis(margin=-HUGE)
    with pytest.raises(ValidationError, match=r"bands\.cuts"):
        StarBands.absolute(1, 2, 3, HUGE)
    with pytest.raises(ValidationError, match=r"criteria\.x\.weight"):
        Criterion(name="x", feature="frequency", weight=HUGE)


def test_json_nested_100000_deep_is_a_validation_error() -> None:
    with pytest.raises(ValidationError, match=r"^policy: .*JSON nested under 1,000 levels"):
        RatingPolicy.from_json("[" * 100_000 + "]" * 100_000)
