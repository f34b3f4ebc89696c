"""Chart specifications from hostile counts: ValidationError, never a bare ValueError."""

from __future__ import annotations

from typing import Any

import pytest

from custmgmt import charts
from custmgmt.errors import ValidationError


@pytest.mark.parametrize(
    "counts",
    [[1, 2.7, 3], [1, float("nan")], [1, float("inf")], ["a", 2], [1, None], [True, 2]],
    ids=["fraction", "nan", "inf", "text", "none", "bool"],
)
def test_star_counts_that_are_not_whole_numbers_are_a_validation_error(counts: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        charts.star_distribution(counts)
    assert caught.value.field == "stars"


def test_whole_valued_float_star_counts_are_drawn() -> None:
    spec = charts.star_distribution([1.0, 2.0, 0.0])
    assert spec.series[0].values == (1.0, 2.0, 0.0)  # type: ignore[union-attr]
