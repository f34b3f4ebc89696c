"""Random bad input to the capabilities' public value types ends in a custmgmt error.

The same idea as ``tests/domain/test_bad_input_sweep.py`` for the types the rating,
ticket, SLA, calendar, segmentation and churn packages expose: start from a valid
instance, rebuild it from its own fields with some of them replaced by junk, and
require that construction either succeeds or raises a ``CustMgmtError``. The same
goes for the constructors that read plain data (``from_dict``, ``from_json``: valid
data with junk spliced in, keys of any type, nesting far too deep), for
``Workflow.fire``'s arguments and for ``SQLiteStore``'s.

The sweeps take their number of examples from the hypothesis profile: 100 in the
suite, 10,000 each with ``HYPOTHESIS_PROFILE=sweep`` (see ``tests/conftest.py``).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from custmgmt.calendars import BusinessCalendar
from custmgmt.churn import (
    FallingReviews,
    ModelAliveBelow,
    NoPurchaseWithin,
    PurchaseCycleRule,
    SpendDrop,
    UnresolvedComplaint,
    WinBackAction,
    churn_rule_from_dict,
)
from custmgmt.domain import Priority
from custmgmt.errors import CustMgmtError
from custmgmt.rating import (
    CustomerRating,
    Hysteresis,
    Override,
    RatingPolicy,
    RatingRun,
    Schedule,
    ServiceLevel,
    ServiceLevels,
    StarBands,
)
from custmgmt.scoring import Criterion
from custmgmt.segmentation import (
    RFM,
    AllOf,
    Always,
    AnyOf,
    Between,
    Compare,
    Not,
    QuantileCut,
    RFMSegmentMap,
    Scheme,
    Segment,
    rule_from_dict,
    rule_from_json,
)
from custmgmt.tickets import (
    DEFAULT_WORKFLOW,
    EscalationRule,
    SLAPolicy,
    SLAState,
    SLATargets,
    SurveyPolicy,
    Ticket,
    TicketEvent,
    TicketEventRecord,
    Transition,
)

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
    st.sampled_from([2**63, -(2**63) - 1, 10**400, -(10**400), Decimal("1e1000000")]),
    st.text(alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1),
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
        "Between": Between(feature="frequency", low=1, high=3, closed="both"),
        "QuantileCut": QuantileCut(feature="frequency", op=">", q=0.8),
        "Not": Not(rule=Compare(feature="frequency", op=">", value=3)),
        "AllOf": AllOf(rules=[Always(), Compare(feature="frequency", op=">", value=3)]),
        "AnyOf": AnyOf(rules=[Always(), Always()]),
        "Segment": Segment(name="高价值", rule=Always(), description="x"),
        "Scheme": Scheme(name="v", segments=[Segment(name="a", rule=Always())], default="b"),
        "RFM": RFM(recency_bins=(30, 60, 90, 180)),
        "PurchaseCycleRule": PurchaseCycleRule(),
        "NoPurchaseWithin": NoPurchaseWithin(days=90),
        "SpendDrop": SpendDrop(),
        "FallingReviews": FallingReviews(),
        "ModelAliveBelow": ModelAliveBelow(),
        "UnresolvedComplaint": UnresolvedComplaint(),
        "WinBackAction": WinBackAction(code="coupon", description="优惠券"),
        "Schedule": Schedule(rule="FREQ=WEEKLY;BYDAY=MO", timezone="Asia/Shanghai"),
        "StarBands": StarBands.absolute(0.2, 0.4, 0.6, 0.8),
        "Criterion": Criterion(name="spend", feature="monetary_net", weight=0.5),
        "RatingRun": RatingRun(
            id="run-1", as_of=T0, created_at=T0, policy_json="{}", customer_count=1,
            distribution=(0, 1),
        ),
        "CustomerRating": CustomerRating(
            run_id="run-1", customer_id="c1", score=0.5, stars=3, computed_stars=3,
            contributions=(("spend", 0.5),),
        ),
        "Override": Override.request(
            id="ov-1", customer_id="c1", stars=5, reason="合同", requested_by="alice", at=T0,
            expires_at=T0 + timedelta(days=30),
        ),
        "TicketEventRecord": TicketEventRecord(
            at=T0, event="assign", from_status="new", to_status="assigned", actor="a"
        ),
        "Transition": Transition(source="new", event="assign", target="assigned"),
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


# -- constructors that read plain data -------------------------------------------------
keys = st.one_of(st.text(max_size=8), st.integers(-3, 3), st.none(), st.booleans())
plain = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=10),
        st.sampled_from([10**400, 2**63, "FREQ=SECONDLY", "compare", "not", "all"]),
    ),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=12,
)

RULE = Compare(feature="frequency", op=">", value=3)
PARSERS: dict[str, tuple[Callable[[Any], object], Any]] = {
    "RatingPolicy.from_dict": (RatingPolicy.from_dict, RatingPolicy.default().to_dict()),
    "rule_from_dict": (rule_from_dict, AllOf(rules=[Not(rule=RULE), Always()]).to_dict()),
    "Scheme.from_dict": (Scheme.from_dict, EXAMPLES["Scheme"].to_dict()),
    "ServiceLevels.from_dict": (ServiceLevels.from_dict, ServiceLevels.default().to_dict()),
    "RFMSegmentMap.from_dict": (
        RFMSegmentMap.from_dict,
        {"all": [{"r": [1, 5], "f": [1, 4]}], "top": [{"r": [1, 5], "f": 5}]},
    ),
    "churn_rule_from_dict": (churn_rule_from_dict, {"type": "no_purchase_within", "days": 90}),
}
JSON_PARSERS: dict[str, Callable[[str], object]] = {
    "RatingPolicy.from_json": RatingPolicy.from_json,
    "rule_from_json": rule_from_json,
    "Scheme.from_json": Scheme.from_json,
}


def splice(data: Any, draw: st.DataObject) -> Any:
    """``data`` with one value somewhere inside replaced by junk (or a key added)."""
    if isinstance(data, dict) and data and draw.draw(st.booleans(), label="go deeper"):
        key = draw.draw(st.sampled_from(sorted(data, key=str)), label="key")
        return {**data, key: splice(data[key], draw)}
    if isinstance(data, list) and data and draw.draw(st.booleans(), label="go deeper"):
        i = draw.draw(st.integers(0, len(data) - 1), label="index")
        return [*data[:i], splice(data[i], draw), *data[i + 1 :]]
    if isinstance(data, dict) and draw.draw(st.booleans(), label="add a key"):
        return {**data, draw.draw(keys, label="new key"): draw.draw(plain, label="its value")}
    return draw.draw(st.one_of(plain, junk), label="replacement")


def test_the_valid_data_is_valid() -> None:
    for parse, data in PARSERS.values():
        parse(data)


@pytest.mark.parametrize("name", sorted(PARSERS))
@given(data=st.data())
def test_bad_data_raises_only_custmgmt_errors(name: str, data: st.DataObject) -> None:
    parse, valid = PARSERS[name]
    with contextlib.suppress(CustMgmtError):
        parse(splice(valid, data))


def nested(kind: str, depth: int) -> str:
    if kind == "list":
        return "[" * depth + "]" * depth
    rule = json.dumps(RULE.to_dict())
    return '{"type": "not", "rule": ' * depth + rule + "}" * depth


@pytest.mark.parametrize("name", sorted(JSON_PARSERS))
@given(
    kind=st.sampled_from(["list", "not"]),
    depth=st.sampled_from([1, 99, 100, 101, 5_000, 100_000]),
    text=st.text(max_size=40),
)
def test_bad_json_raises_only_custmgmt_errors(name: str, kind: str, depth: int, text: str) -> None:
    parse = JSON_PARSERS[name]
    for candidate in (nested(kind, depth), text):
        with contextlib.suppress(CustMgmtError):
            parse(candidate)


# -- Workflow.fire ----------------------------------------------------------------------
FIRE_ARGUMENTS = ["actor", "reason", "assignee", "solution", "merged_into", "priority", "score"]


@given(data=st.data(), event=st.sampled_from(TicketEvent))
def test_fire_with_bad_arguments_raises_only_custmgmt_errors(
    data: st.DataObject, event: TicketEvent
) -> None:
    ticket = DEFAULT_WORKFLOW.fire(
        EXAMPLES["Ticket"], "assign", at=T0 + timedelta(minutes=1), actor="lead",
        assignee="agent-1",
    )
    kwargs: dict[str, Any] = {"actor": "agent-1"}
    for name in data.draw(st.lists(st.sampled_from(FIRE_ARGUMENTS), max_size=3, unique=True)):
        kwargs[name] = data.draw(junk, label=name)
    at = data.draw(st.one_of(st.just(T0 + timedelta(hours=1)), junk), label="at")
    with contextlib.suppress(CustMgmtError):
        DEFAULT_WORKFLOW.fire(ticket, event, at=at, **kwargs)


# -- BusinessCalendar's arguments -------------------------------------------------------
@given(tz=st.one_of(st.text(max_size=30), junk), day=junk)
def test_calendar_arguments_raise_only_custmgmt_errors(tz: Any, day: Any) -> None:
    with contextlib.suppress(CustMgmtError):
        BusinessCalendar(tz=tz, hours={0: [(time(9), time(12))]})
    calendar = EXAMPLES["BusinessCalendar"]
    if isinstance(day, datetime | type(T0.date())) and not 1900 < day.year < 2100:
        return  # year 1 / 9999 arithmetic is the calendar's own issue, tested there
    with contextlib.suppress(CustMgmtError):
        calendar.day_hours(day)
    with contextlib.suppress(CustMgmtError):
        calendar.working_intervals(day)
