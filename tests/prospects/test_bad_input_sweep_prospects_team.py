"""Random bad input to the prospect and team value types ends in a custmgmt error.

Starting from valid instances, some fields are replaced by junk; construction either
succeeds or raises a ``CustMgmtError`` (never a TypeError, an AttributeError or an
overflow). The same for the pipeline's ``move``, ``PerformanceFrame.from_arrays`` and
the repositories' ``add`` (where nothing may be stored on an error).
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from custmgmt.adapters.memory import MemoryStore
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.domain import Money
from custmgmt.errors import CustMgmtError
from custmgmt.prospects import (
    DEFAULT_PIPELINE,
    ContactRecord,
    InvestigationReport,
    Move,
    Prospect,
    Stage,
    StageChange,
)
from custmgmt.team import Agent, Assignment, PerformanceFrame, TeamTargets, TrainingRecord

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)

junk = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True), st.decimals(allow_nan=True),
    st.text(max_size=12),
    st.sampled_from(["", " ", "\x00", "张", "lead", "won", "Lead", "logistics", "manager"]),
    st.datetimes(), st.timedeltas(), st.dates(),
    st.lists(st.text(max_size=3), max_size=3), st.lists(st.integers(-2, 2), max_size=3),
    st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=2),
    st.dictionaries(st.integers(), st.integers(), max_size=2),
    st.sampled_from([2**63, 10**400, Decimal("1e1000000")]),
    st.text(alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1),
    st.just(object()),
)

EXAMPLES: dict[str, Any] = {
    "Prospect": DEFAULT_PIPELINE.new_prospect(
        id="P-1", name="王芳", source="展会", owner="s1", at=T0, actor="s1",
        interests={"耳机"}, estimated_value=Money(Decimal("10"), "CNY"), info={"a": "b"}),
    "StageChange": StageChange(at=T0, from_stage="lead", to_stage="qualified", actor="s1",
                               approved_by=["m1"]),
    "ContactRecord": ContactRecord(id="c1", prospect_id="P-1", kind="visit", at=T0,
                                   actor="s1", summary="拜访"),
    "InvestigationReport": InvestigationReport(
        id="r1", prospect_id="P-1", at=T0, author="s1", credit="good",
        business_situation="稳定", employees=3, risks=["x"], recommendation="develop"),
    "Stage": Stage(name="lead", initial=True),
    "Move": Move(source="lead", target="won", approval=True),
    "Agent": Agent(id="a1", name="周敏", role="agent", teams={"东"}, skills={"logistics"}),
    "TrainingRecord": TrainingRecord(id="t1", agent_id="a1", at=T0, topic="x", hours=2.5),
    "Assignment": Assignment(id="T-1#1", ticket_id="T-1", agent_id="a1", category="logistics",
                             method="manual", at=T0, actor="lead"),
    "TeamTargets": TeamTargets(first_response=timedelta(hours=1), sla_attainment=0.9,
                               satisfaction=4.0),
}


def init_kwargs(instance: Any) -> dict[str, Any]:
    return {(f.alias or f.name): getattr(instance, f.name)
            for f in attrs.fields(type(instance)) if f.init}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_rebuilding_a_valid_instance_from_its_fields_works(name: str) -> None:
    instance = EXAMPLES[name]
    assert type(instance)(**init_kwargs(instance)) == instance


@pytest.mark.parametrize("name", sorted(EXAMPLES))
@given(data=st.data())
def test_bad_fields_raise_only_custmgmt_errors(name: str, data: st.DataObject) -> None:
    instance = EXAMPLES[name]
    kwargs = init_kwargs(instance)
    for field in data.draw(st.lists(st.sampled_from(sorted(kwargs)), min_size=1, max_size=2,
                                    unique=True)):
        kwargs[field] = data.draw(junk, label=field)
    with contextlib.suppress(CustMgmtError):
        type(instance)(**kwargs)


@given(to=junk, at=junk, actor=junk, note=junk, approved_by=junk, policy=junk)
def test_bad_move_arguments_raise_only_custmgmt_errors(**kwargs: Any) -> None:
    with contextlib.suppress(CustMgmtError):
        DEFAULT_PIPELINE.move(EXAMPLES["Prospect"], **kwargs)


@given(column=st.sampled_from(["agent", "created", "first_response", "stars", "satisfaction",
                               "reopened", "resolution_target"]), value=junk)
def test_bad_frame_columns_raise_only_custmgmt_errors(column: str, value: Any) -> None:
    columns: dict[str, Any] = {"agent": [0], "created": [0], column: value}
    with contextlib.suppress(CustMgmtError):
        PerformanceFrame.from_arrays(agent_ids=["a1"], as_of=T0, **columns)


@pytest.mark.parametrize("make", [MemoryStore, lambda: SQLiteStore(":memory:")],
                         ids=["memory", "sqlite"])
@given(data=st.data())
def test_repositories_refuse_junk_and_store_nothing(make: Any, data: st.DataObject) -> None:
    store = make()
    try:
        for method in (store.prospects.add, store.prospects.add_contact,
                       store.prospects.add_report, store.agents.add, store.assignments.add,
                       store.agents.add_training):
            with contextlib.suppress(CustMgmtError):
                method(data.draw(junk))
        with contextlib.suppress(CustMgmtError):
            store.prospects.find(stage=data.draw(junk), owner=data.draw(junk))
        with contextlib.suppress(CustMgmtError):
            store.agents.find(role=data.draw(junk), active=data.draw(junk))
        for get in (store.prospects.get, store.agents.get, store.prospects.reports,
                    store.agents.trainings):
            with contextlib.suppress(CustMgmtError):
                get(data.draw(junk))
        assert (store.prospects.count(), store.agents.count(), store.assignments.count()) == (
            0, 0, 0)
    finally:
        store.close()


def test_a_prospect_repr_masks_the_name_and_information() -> None:
    shown = repr(EXAMPLES["Prospect"])
    assert "王芳" not in shown
    assert "'a'" not in shown
    assert "周敏" not in repr(EXAMPLES["Agent"])
    assert isinstance(EXAMPLES["Prospect"], Prospect)
