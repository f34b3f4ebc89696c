"""Random bad input to the capabilities' public value types ends in a custmgmt error.

The same idea as ``tests/domain/test_bad_input_sweep.py`` for the types the rating,
ticket, SLA, calendar, segmentation and churn packages expose: start from a valid
instance, rebuild it from its own fields with some of them replaced by junk, and
require that construction either succeeds or raises a ``CustMgmtError``.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custmgmt.calendars import BusinessCalendar
from custmgmt.churn import NoPurchaseWithin, PurchaseCycleRule, SpendDrop
from custmgmt.domain import Priority
from custmgmt.errors import CustMgmtError
from custmgmt.rating import Hysteresis, RatingPolicy, ServiceLevel, ServiceLevels
from custmgmt.segmentation import Compare
from custmgmt.tickets import EscalationRule, SLAPolicy, SLAState, SLATargets, SurveyPolicy, Ticket

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)

junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["", " ", "\x00", "张", "urgent", "monthly", "quantile", "9:00"]),
    st.datetimes(),  # naive
    st.timedeltas(),
    st.dates(),
    st.times(),
    st.lists(st.integers(min_value=-5, max_value=10), max_size=4),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.just(Decimal("1e30")),
    st.just(object()),
)


def valid_examples() -> dict[str, Any]:
    return {
        "RatingPolicy": RatingPolicy.default(),
        "Hysteresis": Hysteresis(margin=0.02, consecutive=2),
        "ServiceLevels": ServiceLevels.default(),
        "ServiceLevel": ServiceLevel(priority=Priority.HIGH, dedicated_support=True),
        "BusinessCalendar": BusinessCalendar(
            tz="Asia/Shanghai", hours={0: [(time(9), time(12)), (time(13), time(18))]}
        ),
        "SLATargets": SLATargets(first_response=timedelta(hours=1), resolution=timedelta(hours=8)),
        "SLAPolicy": SLAPolicy(
            targets={Priority.NORMAL: SLATargets(first_response=timedelta(hours=2))}
        ),
        "SurveyPolicy": SurveyPolicy(),
        "EscalationRule": EscalationRule(name="breach", when=SLAState.BREACHED),
        "Ticket": Ticket.open(
            id="T-1",
            customer_id="c1",
            category="logistics",
            priority="normal",
            subject="包裹未到",
            at=T0,
            actor="agent",
        ),
        "Compare": Compare(feature="frequency", op=">", value=3),
        "PurchaseCycleRule": PurchaseCycleRule(),
        "NoPurchaseWithin": NoPurchaseWithin(days=90),
        "SpendDrop": SpendDrop(),
    }


EXAMPLES = valid_examples()


def init_kwargs(instance: Any) -> dict[str, Any]:
    return {
        (f.alias or f.name): getattr(instance, f.name)
        for f in attrs.fields(type(instance))
        if f.init
    }


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_rebuilding_a_valid_instance_from_its_fields_works(name: str) -> None:
    instance = EXAMPLES[name]
    assert type(instance)(**init_kwargs(instance)) == instance


@pytest.mark.parametrize("name", sorted(EXAMPLES))
@settings(max_examples=120)
@given(data=st.data())
def test_bad_fields_raise_only_custmgmt_errors(name: str, data: st.DataObject) -> None:
    instance = EXAMPLES[name]
    kwargs = init_kwargs(instance)
    fields = data.draw(
        st.lists(st.sampled_from(sorted(kwargs)), min_size=1, max_size=2, unique=True)
    )
    for field in fields:
        kwargs[field] = data.draw(junk, label=field)
    with contextlib.suppress(CustMgmtError):
        type(instance)(**kwargs)
