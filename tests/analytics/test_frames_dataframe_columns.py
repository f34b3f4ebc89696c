"""A DataFrame with a repeated column name, and a time zone that is not text.

pandas hands back a DataFrame for a repeated name, and ``from_pandas`` died with
``AttributeError: 'DataFrame' object has no attribute 'dtype'``; ``from_csv(tz=None)``
raised ``TypeError``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from custmgmt.analytics.frames import InteractionFrame, OrderFrame
from custmgmt.errors import ValidationError

CDNOW = Path(__file__).parents[1] / "data" / "cdnow" / "cdnow_sample.csv"


def test_a_repeated_column_name_is_named() -> None:
    df = pd.DataFrame([["a", 1, 2]], columns=["customer_id", "amount", "amount"])
    with pytest.raises(ValidationError) as caught:
        OrderFrame.from_pandas(df, currency="CNY")
    assert caught.value.field == "df.columns"
    assert caught.value.value == ["amount"]
    with pytest.raises(ValidationError, match="each column name once"):
        InteractionFrame.from_pandas(
            pd.DataFrame([["a", "b"]], columns=["customer_id", "customer_id"])
        )


@pytest.mark.parametrize("tz", [None, 5, b"UTC"])
def test_a_time_zone_that_is_not_text_is_named(tz: object) -> None:
    with pytest.raises(ValidationError) as caught:
        OrderFrame.from_csv(CDNOW, currency="USD", tz=tz)  # type: ignore[arg-type]
    assert caught.value.field == "tz"
