"""A churn rule declares which of its values are money (``money_values``); the engine
reads that declaration, with no table of its own. Before, the engine looked the shipped
rules up by their exact class, so a subclass of ``SpendDrop`` explained a KWD spend of
1.234 as ``1.23``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar

import attrs
import numpy as np

from custmgmt.analytics.frames import OrderFrame
from custmgmt.churn import ChurnEngine
from custmgmt.churn import engine as churn_engine
from custmgmt.churn.rules import (
    ChurnRule,
    FallingReviews,
    ModelAliveBelow,
    NoPurchaseWithin,
    PurchaseCycleRule,
    SpendDrop,
    UnresolvedComplaint,
)

AS_OF = datetime(2025, 5, 1, 23, 59, tzinfo=UTC)


def _orders(currency: str) -> OrderFrame:
    return OrderFrame.from_arrays(
        customer_id=np.array(["a", "a"]),
        placed_at=np.array(["2025-01-01", "2025-04-20"], dtype="datetime64[D]"),
        amount=np.array([10_000, 1_234]),
        currency=currency,
    )


def test_the_shipped_rules_declare_their_money_values() -> None:
    assert ChurnRule.money_values == frozenset()
    assert SpendDrop.money_values == frozenset({"previous_spend", "current_spend"})
    assert SpendDrop().money_values == SpendDrop.money_values
    for rule in (PurchaseCycleRule, NoPurchaseWithin, UnresolvedComplaint, FallingReviews,
                 ModelAliveBelow):
        assert rule.money_values == frozenset(), rule
    assert "money_values" not in attrs.asdict(SpendDrop())  # a class fact, not a parameter
    assert "money_values" not in SpendDrop().to_dict()


def test_the_engine_keeps_no_table_of_money_values() -> None:
    assert not hasattr(churn_engine, "_MONEY_VALUES")


@attrs.frozen(kw_only=True)
class QuarterlySpendDrop(SpendDrop):
    """A host's variant: the shipped rule under another class."""

    type_name: ClassVar[str] = "quarterly_spend_drop"


def test_a_subclass_inherits_the_declaration() -> None:
    report = ChurnEngine(rules=(QuarterlySpendDrop(),)).evaluate(_orders("KWD"), as_of=AS_OF)
    (fired,) = report.explain("a").fired
    assert fired.text.startswith("spend in the last 90 days 1.234 vs 10.000 before")


@attrs.frozen(kw_only=True)
class SpendInPoints(SpendDrop):
    """A host's variant that declares its values are not money."""

    type_name: ClassVar[str] = "spend_in_points"
    money_values: ClassVar[frozenset[str]] = frozenset()


def test_a_rule_s_own_declaration_is_what_the_engine_reads() -> None:
    report = ChurnEngine(rules=(SpendInPoints(),)).evaluate(_orders("KWD"), as_of=AS_OF)
    (fired,) = report.explain("a").fired
    assert fired.text.startswith("spend in the last 90 days 1.23 vs 10 before")
