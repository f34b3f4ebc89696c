"""Rating policies and records refuse numbers and nesting that used to escape."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest

from custmgmt.errors import ValidationError
from custmgmt.rating import Hysteresis, RatingPolicy, StarBands
from custmgmt.rating.overrides import Override
from custmgmt.rating.records import CustomerRating
from custmgmt.scoring import Criterion
from custmgmt.testing.rating_contract import make_rating_run

HUGE = 10**400
T0 = datetime(2026, 1, 1, tzinfo=UTC)


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


@pytest.mark.parametrize("field", ["stars", "computed_stars", "previous_stars", "pending"])
def test_stored_ratings_refuse_counts_beyond_int64(field: str) -> None:
    _, results = make_rating_run(customers={"c-1": 3})
    fields = {**attrs.asdict(results[0], recurse=False), field: 2**63}
    with pytest.raises(ValidationError, match=rf"^CustomerRating\.{field}: got {2**63}"):
        CustomerRating(**fields)


@pytest.mark.parametrize("field", ["stars", "version"])
def test_overrides_refuse_counts_beyond_int64(field: str) -> None:
    override = Override.request(
        id="ov-1", customer_id="c-1", stars=5, reason="合同", requested_by="alice",
        at=T0, expires_at=T0 + timedelta(days=30),
    )
    with pytest.raises(ValidationError, match=rf"^Override\.{field}: got 9223372036854775808"):
        attrs.evolve(override, **{field: 2**63})
