"""The follow-up effect prints the spend change at the currency's minor-unit digits
(KWD 3, JPY 0, CNY 2); purchases and satisfaction keep two decimals. Before, the spend
change was printed with ``+,.2f`` whatever the currency (KWD +1.234 showed ``+1.23``).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest

from custmgmt.errors import ValidationError
from custmgmt.followup import FollowUpEffect, evaluate_followup_effect


def _data() -> dict[str, Any]:
    # Two strata of two followed and two other customers; every followed customer's
    # spend rises by 1.234 more than the others'.
    followed = np.array([True, True, False, False] * 2)
    before = np.array([10.0, 20.0, 10.0, 20.0, 30.0, 40.0, 30.0, 40.0])
    after = before + np.where(followed, 1.234, 0.0)
    return {
        "followed": followed, "segment": np.array(["a"] * 4 + ["b"] * 4),
        "stars": np.array([3] * 8), "prior_spend": before,
        "before": {"spend": before, "purchases": np.ones(8)},
        "after": {"spend": after, "purchases": np.ones(8) + followed},
    }  # fmt: skip


def _line(result: FollowUpEffect, name: str) -> str:
    return next(ln for ln in result.lines() if ln.startswith(f"{name}:"))


@pytest.mark.parametrize(
    ("currency", "change"),
    [("KWD", "+1.234"), ("JPY", "+1"), ("CNY", "+1.23"), (None, "+1.23")],
)  # fmt: skip
def test_the_spend_change_has_the_currency_digits(currency: str | None, change: str) -> None:
    result = evaluate_followup_effect(**_data(), replicates=100, currency=currency)
    assert result.currency == currency
    spend = _line(result, "spend")
    assert spend.startswith(f"spend: change {change} followed vs +0")
    assert f"; effect {change} [{change}, {change}]" in spend
    numbers = re.findall(r"[+-][\d,]+(?:\.\d+)?", spend.split(" p=")[0])
    places = {0 if "." not in n else len(n.split(".")[1]) for n in numbers}
    assert places == {2 if currency is None else {"KWD": 3, "JPY": 0, "CNY": 2}[currency]}
    assert result.spend is not None
    assert str(result.spend).startswith(f"spend: treated {change[1:]} ")  # the Uplift too
    # purchases are counts: two decimals, as before
    assert _line(result, "purchases").startswith("purchases: change +1.00 followed vs +0.00")


def test_an_unknown_currency_is_refused_naming_it() -> None:
    with pytest.raises(ValidationError, match="'XXY'") as caught:
        evaluate_followup_effect(**_data(), replicates=100, currency="XXY")
    assert caught.value.field == "currency"
