"""``LedgerColumns.from_arrays`` refuses unsigned columns that int64 cannot hold
(round 35d): the cast wrapped them, so a uint64 ``2**63 + 5`` points became
``-9223372036854775803`` and the balances were silently wrong."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from custmgmt.errors import ValidationError
from custmgmt.loyalty.balances import LedgerColumns
from custmgmt.testing.loyalty_contract import make_entry

NAMES = ("customer_ids", "customer", "kind", "points", "debt", "at", "expires_at",
         "locked_until", "lot", "draw_entry", "draw_lot", "draw_points")


def _arrays() -> dict[str, Any]:
    good = LedgerColumns.from_entries([make_entry(1)])
    return {name: getattr(good, name) for name in NAMES}


@pytest.mark.parametrize("name", ["points", "at", "expires_at", "customer"])
def test_a_uint64_beyond_int64_is_refused_not_wrapped(name: str) -> None:
    huge = np.array([2**63 + 5], dtype=np.uint64)
    with pytest.raises(ValidationError) as info:
        LedgerColumns.from_arrays(**{**_arrays(), name: huge})
    assert info.value.field == name
    assert info.value.value == 2**63 + 5


def test_a_uint64_column_that_fits_is_read_as_is() -> None:
    arrays = _arrays()
    got = LedgerColumns.from_arrays(**{**arrays, "points": arrays["points"].astype(np.uint64)})
    assert got.points.tolist() == arrays["points"].tolist()
