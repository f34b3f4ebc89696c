"""Random bad input to the risk value types ends in a custmgmt error, never a crash.

Start from a valid instance, rebuild it from its own fields with some replaced by
junk, and require that construction either succeeds or raises a ``CustMgmtError``;
the same for the rules, the fitter's inputs and the store-facing services.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from custmgmt.adapters.memory import MemoryStore
from custmgmt.domain import Money
from custmgmt.errors import CustMgmtError
from custmgmt.risk import (
    Alert,
    AlertFinding,
    BaselineRule,
    CreditTerms,
    GradeBand,
    PDOScaling,
    ReviewBurstRule,
    ScorecardFitter,
    ThresholdRule,
    impose_restriction,
)
from custmgmt.testing import make_customer
from custmgmt.testing.risk_contract import make_alert, make_appeal, make_restriction, make_scorecard

T0 = datetime(2025, 1, 6, 9, tzinfo=UTC)

junk = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True), st.decimals(allow_nan=True),
    st.text(max_size=12), st.sampled_from(["", " ", "\x00", "张", "blacklisted", "open"]),
    st.datetimes(), st.timedeltas(), st.lists(st.integers(-5, 10), max_size=4),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.text(alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1),
    st.just(object()),
)


def examples() -> list[Any]:
    card = make_scorecard()
    return [
        card, card.tables[0], card.tables[0].bins[0], card.grades[0],
        GradeBand(grade="A", lower=1, upper=5), PDOScaling(),
        make_restriction(), make_appeal(), make_alert(), make_alert().events[0],
        make_restriction().events[0], make_appeal().events[0],
        CreditTerms(grade="A", credit_limit=Money(Decimal(1), "CNY"), payment_methods={"card"}),
        ThresholdRule(name="t", feature="unpaid_count"), BaselineRule(name="b"),
        ReviewBurstRule(name="r"),
        AlertFinding(customer_id="c", rule="r", values=(("x", 1.0),), window_start=T0,
                     window_end=T0),
    ]


@given(which=st.integers(0, len(examples()) - 1), data=st.data())
def test_junk_in_any_field_of_a_risk_value_is_a_custmgmt_error(which: int, data: Any) -> None:
    valid = examples()[which]
    fields = {a.alias or a.name: getattr(valid, a.name)
              for a in attrs.fields(type(valid)) if a.init}
    names = sorted(fields)
    for name in data.draw(st.lists(st.sampled_from(names), min_size=1, max_size=2,
                                   unique=True)):
        fields[name] = data.draw(junk)
    with contextlib.suppress(CustMgmtError):
        type(valid)(**fields)


@given(y=st.lists(junk, min_size=1, max_size=6), x=junk)
def test_junk_labels_and_columns_for_the_fitter_are_custmgmt_errors(y: list[Any], x: Any) -> None:
    with contextlib.suppress(CustMgmtError):
        ScorecardFitter().fit({"a": x}, np.asarray(y, dtype=object))


@given(field=st.sampled_from(["id", "customer_id", "kind", "reason", "actor", "start", "end",
                              "blocked_methods", "credit_cap"]), value=junk)
def test_junk_to_impose_restriction_is_refused_and_nothing_is_stored(field: str,
                                                                      value: Any) -> None:
    store = MemoryStore()
    store.customers.add(make_customer(id="c1"))
    args: dict[str, Any] = {"id": "R1", "customer_id": "c1", "kind": "restricted",
                            "reason": "r", "actor": "o", "start": T0,
                            "end": T0 + timedelta(days=1)}
    args[field] = value
    try:
        impose_restriction(store, **args)
    except CustMgmtError:
        assert store.risk.find_restrictions() == []


def test_an_alert_rebuilt_without_its_log_is_refused() -> None:
    alert = make_alert()
    with pytest.raises(CustMgmtError, match="log"):
        Alert(**{**attrs.asdict(alert, recurse=False), "events": ()})
