"""The notebook shortcuts with wrong-typed arguments: library errors, not AttributeError."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from custmgmt.errors import ValidationError
from custmgmt.notebook import analyses

pd = pytest.importorskip("pandas")

AS_OF = datetime(2026, 6, 1, tzinfo=UTC)


def _orders() -> Any:
    return pd.DataFrame(
        {
            "customer_id": ["张三", "李四", "张三"],
            "placed_at": pd.to_datetime(["2026-01-01", "2026-02-01", "2026-03-01"]).tz_localize(
                "Asia/Shanghai"
            ),
            "amount": [1000, 2000, 3000],
        }
    )


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda df: analyses.segment(df, "vip", as_of=AS_OF), "scheme"),
        (lambda df: analyses.churn_flags(df, engine="strict", as_of=AS_OF), "engine"),
        (lambda df: analyses.rate(df, {"stars": 5}, as_of=AS_OF), "policy"),
    ],
)
def test_a_wrong_typed_model_argument_is_a_validation_error(call: Any, field: str) -> None:
    # These raised AttributeError ('str' object has no attribute 'assign' ...) after
    # computing every customer's features.
    with pytest.raises(ValidationError) as caught:
        call(_orders())
    assert caught.value.field == field


def test_the_shortcuts_still_work_with_chinese_ids() -> None:
    assert analyses.segment(_orders(), as_of=AS_OF).labels.tolist() == ["mid", "low"]
    assert analyses.churn_flags(_orders(), as_of=AS_OF).risk_counts()["medium"] == 2
