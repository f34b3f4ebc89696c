"""Float money beyond int64 minor units: an error, never a wrapped negative amount."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from custmgmt.errors import ValidationError
from custmgmt.notebook import MoneyColumn
from custmgmt.segmentation.rfm import RFM
from custmgmt.segmentation.table import Columns


def test_a_float_beyond_int64_minor_units_is_refused_not_wrapped() -> None:
    # 9.3e16 yuan is 9.3e18 fen, past int64: the cast gave int64's minimum and the
    # export said Decimal('-92233720368547758.08').
    column = MoneyColumn(np.array([2.5, 9.3e16, np.nan]), "CNY", "major")
    with pytest.raises(ValidationError) as caught:
        column.decimals()
    assert caught.value.field == "money[1]"
    assert caught.value.value == 9.3e16
    with pytest.raises(ValidationError):
        column.minor()


def test_floats_within_int64_still_export_exactly() -> None:
    column = MoneyColumn(np.array([2.5, 9.2e16, np.nan, -1.005]), "CNY", "major")
    assert column.decimals() == [
        Decimal("2.50"), Decimal("92000000000000000.00"), None, Decimal("-1.00"),
    ]


def test_a_result_with_a_huge_estimate_refuses_the_decimal_export() -> None:
    pd = pytest.importorskip("pandas")
    class Priced(Columns):
        currency = "CNY"

    table = Priced(["a", "b"], {"recency": [1.0, 2.0], "frequency": [1, 2],
                                "total_spend": [1e300, 5.0]})
    scores = RFM().score(table)
    assert scores.currency == "CNY"
    with pytest.raises(ValidationError):
        scores.to_pandas(money="decimal")
    assert isinstance(scores.to_pandas(), pd.DataFrame)  # floats as computed: fine
