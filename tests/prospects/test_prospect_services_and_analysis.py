"""Prospect services (moves, conversion, leads) and the development analysis."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custmgmt.adapters.memory import MemoryStore
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.errors import PermissionDenied, TransitionNotAllowed, ValidationError
from custmgmt.prospects import (
    DEFAULT_PIPELINE,
    ApprovalPolicy,
    ContactRecord,
    Prospect,
    funnel,
    loss_reasons,
    outreach_effect,
    time_in_stage,
    weekly_report,
    win_rate,
)
from custmgmt.prospects.services import (
    approval_policy_from_agents,
    convert_to_customer,
    find_leads,
    move_prospect,
    record_contact,
    record_prospect,
)
from custmgmt.team import Agent
from custmgmt.testing import make_customer, make_interaction, make_order
from custmgmt.testing.prospect_contract import make_prospect

T0 = datetime(2026, 3, 2, 9, tzinfo=timezone(timedelta(hours=8)))
POLICY = ApprovalPolicy(levels={"investigation_planned": [["经理-1"]],
                                "development_approved": [["主管-1"], ["总监-1"]]})
MAIN = DEFAULT_PIPELINE.funnel_stages


def stores() -> list[Any]:
    return [MemoryStore(), SQLiteStore(":memory:")]


@pytest.mark.parametrize("store", stores(), ids=["memory", "sqlite"])
def test_converting_a_won_prospect_twice_creates_one_customer(store: Any) -> None:
    store.prospects.add(make_prospect(steps=6))
    first = convert_to_customer(store, "P-1", at=T0 + timedelta(days=9))
    second = convert_to_customer(store, "P-1", at=T0 + timedelta(days=10))
    assert first == second
    assert store.customers.count() == 1
    assert first.name == "上海某某电子有限公司"
    assert first.kind.value == "business"
    assert "prospect:P-1" in first.tags
    linked = store.prospects.get("P-1")
    assert linked.customer_id == first.id
    assert len(linked.history) == 7
    assert store.prospects.find(customer_id=first.id) == [linked]


@pytest.mark.parametrize("store", stores(), ids=["memory", "sqlite"])
def test_only_a_won_prospect_is_converted(store: Any) -> None:
    store.prospects.add(make_prospect(steps=5))
    with pytest.raises(TransitionNotAllowed, match="won"):
        convert_to_customer(store, "P-1", at=T0)
    assert store.customers.count() == 0


@pytest.mark.parametrize("store", stores(), ids=["memory", "sqlite"])
def test_a_refused_move_stores_nothing(store: Any) -> None:
    store.prospects.add(make_prospect(steps=1))
    for kwargs in ({"approved_by": ["销售-1"]}, {"approved_by": ["别人"]}, {}):
        with pytest.raises(PermissionDenied):
            move_prospect(store, "P-1", "investigation_planned", at=T0 + timedelta(days=3),
                          actor="销售-1", policy=POLICY, **kwargs)
    with pytest.raises(TransitionNotAllowed):
        move_prospect(store, "P-1", "won", at=T0 + timedelta(days=3), actor="销售-1")
    with pytest.raises(ValidationError, match="to"):
        move_prospect(store, "P-1", "no_such_stage", at=T0 + timedelta(days=3), actor="销售-1")
    assert store.prospects.get("P-1") == make_prospect(steps=1)
    moved = move_prospect(store, "P-1", "investigation_planned", at=T0 + timedelta(days=3),
                          actor="销售-1", approved_by=["经理-1"], policy=POLICY)
    assert store.prospects.get("P-1") == moved


@pytest.mark.parametrize("store", stores(), ids=["memory", "sqlite"])
def test_leads_are_customers_who_browsed_or_carted_without_ordering(store: Any) -> None:
    for cid in ("c-browse", "c-cart", "c-buyer", "c-silent"):
        store.customers.add(make_customer(id=cid, name=f"客户{cid}"))
    store.interactions.add(make_interaction(id="i1", customer_id="c-browse", kind="browse"))
    store.interactions.add(make_interaction(id="i2", customer_id="c-cart", kind="cart"))
    store.interactions.add(make_interaction(id="i3", customer_id="c-cart", kind="browse"))
    store.interactions.add(make_interaction(id="i4", customer_id="c-buyer", kind="cart"))
    store.orders.add(make_order(id="o1", customer_id="c-buyer"))
    as_of = datetime(2030, 1, 1, tzinfo=UTC)
    found = find_leads(store, as_of=as_of, owner="销售-1")
    assert [(p.id, p.source, p.customer_id) for p in found] == [
        ("lead-c-browse", "store:browse", "c-browse"), ("lead-c-cart", "store:cart", "c-cart")]
    assert find_leads(store, as_of=as_of, owner="销售-1") == []
    assert store.prospects.count() == 2


def test_a_lead_from_the_store_converts_to_its_existing_customer() -> None:
    store = MemoryStore()
    store.customers.add(make_customer(id="c1", name="李雷"))
    store.interactions.add(make_interaction(id="i1", customer_id="c1", kind="cart"))
    find_leads(store, as_of=datetime(2030, 1, 1, tzinfo=UTC), owner="s1")
    p = store.prospects.get("lead-c1")
    at = datetime(2030, 1, 2, tzinfo=UTC)
    for stage in MAIN[1:]:
        p = DEFAULT_PIPELINE.move(p, stage, at=at, actor="s1", policy=POLICY,
                                  approved_by={"investigation_planned": ["经理-1"],
                                               "development_approved": ["主管-1", "总监-1"]
                                               }.get(stage, ()))
    store.prospects.update(p, expected_version=1)
    assert convert_to_customer(store, "lead-c1", at=at).id == "c1"
    assert store.customers.count() == 1


def test_approval_policy_from_agents_uses_roles_of_active_agents() -> None:
    agents = [Agent(id="m1", name="x", role="manager"), Agent(id="s1", name="x", role="supervisor"),
              Agent(id="d1", name="x", role="director"),
              Agent(id="d2", name="x", role="director", active=False)]
    policy = approval_policy_from_agents(agents)
    assert policy.levels["development_approved"] == (frozenset({"s1"}), frozenset({"d1"}))
    assert policy.levels["investigation_planned"] == (frozenset({"m1"}),)


# -- analysis against slow references ---------------------------------------------------

SOURCES = ["展会", "referral", "web"]


@st.composite
def histories(draw: st.DrawFn) -> list[Prospect]:
    out = []
    for i in range(draw(st.integers(0, 25))):
        at = T0 + timedelta(hours=draw(st.integers(0, 24 * 20)))
        owner = draw(st.sampled_from(["s1", "s2"]))
        p = DEFAULT_PIPELINE.new_prospect(id=f"P-{i}", name="x", owner=owner, actor=owner,
                                          source=draw(st.sampled_from(SOURCES)), at=at)
        steps = draw(st.integers(0, len(MAIN) - 1))
        for stage in MAIN[1 : steps + 1]:
            at += timedelta(hours=draw(st.integers(0, 100)))
            p = DEFAULT_PIPELINE.move(p, stage, at=at, actor=owner, policy=POLICY,
                                      approved_by={"investigation_planned": ["经理-1"],
                                                   "development_approved": ["主管-1", "总监-1"]
                                                   }.get(stage, ()))
        if p.stage != "won" and draw(st.booleans()):
            at += timedelta(hours=draw(st.integers(0, 100)))
            p = DEFAULT_PIPELINE.move(p, "lost", at=at, actor=owner,
                                      note=draw(st.sampled_from(["预算不足", "选了别家"])))
        out.append(p)
    return out


def reference_reached(prospects: list[Prospect], stage: str, source: str | None) -> int:
    return sum(1 for p in prospects if (source is None or p.source == source)
               and any(e.to_stage == stage for e in p.history))


@settings(max_examples=80)
@given(histories())
def test_funnel_matches_the_slow_reference(prospects: list[Prospect]) -> None:
    result = funnel(prospects, DEFAULT_PIPELINE)
    assert result.total == len(prospects)
    assert result.won == sum(p.stage == "won" for p in prospects)
    for i, step in enumerate(result.steps):
        assert step.reached == reference_reached(prospects, step.stage, None)
        if i and result.steps[i - 1].reached:
            assert step.conversion is not None
            assert step.conversion.trials == result.steps[i - 1].reached
            assert step.conversion.low <= step.conversion.value <= step.conversion.high
        elif i:
            assert step.conversion is None
    assert set(result.by_source) == {p.source for p in prospects}
    for source, steps in result.by_source.items():
        assert [s.reached for s in steps] == [
            reference_reached(prospects, stage, source) for stage in MAIN]


@settings(max_examples=60)
@given(histories())
def test_win_rate_losses_and_time_in_stage_match_references(prospects: list[Prospect]) -> None:
    won = sum(p.stage == "won" for p in prospects)
    lost = [p for p in prospects if p.stage == "lost"]
    rate = win_rate(prospects, DEFAULT_PIPELINE)
    if won + len(lost):
        assert rate is not None
        assert (rate.successes, rate.trials) == (won, won + len(lost))
    else:
        assert rate is None
    assert dict(loss_reasons(prospects, DEFAULT_PIPELINE)) == dict(
        Counter(p.lost_reason for p in lost))
    as_of = T0 + timedelta(days=60)
    stays: dict[str, list[timedelta]] = {}
    for p in prospects:
        for i, e in enumerate(p.history):
            if e.to_stage not in ("won", "lost"):
                end = p.history[i + 1].at if i + 1 < len(p.history) else as_of
                stays.setdefault(e.to_stage, []).append(end - e.at)
    times = time_in_stage(prospects, DEFAULT_PIPELINE, as_of=as_of)
    assert {t.stage: t.count for t in times} == {k: len(v) for k, v in stays.items()}
    for t in times:
        values = sorted(stays[t.stage])
        assert t.mean == sum(values, timedelta(0)) / len(values)
        assert t.median == (values[(len(values) - 1) // 2] + values[len(values) // 2]) / 2


@settings(max_examples=60)
@given(histories(), st.integers(0, 20))
def test_weekly_report_matches_a_count_by_hand(prospects: list[Prospect], day: int) -> None:
    start = T0 + timedelta(days=day)
    end = start + timedelta(days=7)
    contacts = [ContactRecord(id=f"c{i}", prospect_id=p.id, kind=("visit", "call")[i % 2],
                              at=p.created_at + timedelta(days=i % 9), actor=p.owner,
                              summary="跟进")
                for i, p in enumerate(prospects)]
    rows = {r.owner: r for r in weekly_report(prospects, contacts, DEFAULT_PIPELINE,
                                              week_start=start)}
    for owner in ("s1", "s2"):
        mine = [p for p in prospects if p.owner == owner]
        expected = (
            sum(start <= p.created_at < end for p in mine),
            sum(start <= c.at < end for c in contacts if c.actor == owner),
            sum(start <= c.at < end and c.kind.value == "visit" for c in contacts
                if c.actor == owner),
            sum(start <= e.at < end for p in mine for e in p.history[1:]),
            sum(start <= e.at < end and e.to_stage == "won" for p in mine for e in p.history),
        )
        row = rows.get(owner)
        got = (0, 0, 0, 0, 0) if row is None else (row.new_leads, row.contacts, row.visits,
                                                   row.stage_moves, row.wins)
        assert got == expected


def test_outreach_effect_compares_contacted_and_not() -> None:
    won = make_prospect("P-won", steps=6)
    lost = DEFAULT_PIPELINE.move(make_prospect("P-lost"), "lost", at=T0 + timedelta(days=1),
                                 actor="销售-1", note="没预算")
    quiet = DEFAULT_PIPELINE.move(make_prospect("P-quiet"), "lost", at=T0 + timedelta(days=1),
                                  actor="销售-1", note="没回应")
    open_one = make_prospect("P-open", steps=2)
    contacts = [
        ContactRecord(id="c1", prospect_id="P-won", kind="visit", at=T0, actor="销售-1",
                      summary="拜访", campaign_id="春季"),
        ContactRecord(id="c2", prospect_id="P-lost", kind="call", at=T0, actor="销售-1",
                      summary="电话", campaign_id="春季"),
        ContactRecord(id="c3", prospect_id="P-open", kind="call", at=T0, actor="销售-1",
                      summary="电话"),
    ]
    effect = outreach_effect([won, lost, quiet, open_one], contacts, DEFAULT_PIPELINE)
    assert effect.contacted is not None
    assert (effect.contacted.successes,
                                             effect.contacted.trials) == (1, 2)
    assert effect.not_contacted is not None
    assert effect.not_contacted.trials == 1
    assert effect.by_kind["visit"].value == 1.0
    assert effect.by_kind["call"].value == 0.0
    assert effect.by_campaign["春季"].trials == 2


def test_analysis_refuses_bad_input() -> None:
    with pytest.raises(ValidationError):
        funnel(["P-1"], DEFAULT_PIPELINE)  # type: ignore[list-item]
    with pytest.raises(ValidationError):
        funnel([], "default")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        time_in_stage([], DEFAULT_PIPELINE, as_of=datetime(2026, 1, 1))
    with pytest.raises(ValidationError):
        weekly_report([], ["x"], DEFAULT_PIPELINE, week_start=T0)  # type: ignore[list-item]


def test_record_services_store_contacts() -> None:
    store = MemoryStore()
    record_prospect(store, make_prospect())
    record_contact(store, ContactRecord(id="v1", prospect_id="P-1", kind="standing", at=T0,
                                        actor="销售-1", summary="每月一次例行拜访"))
    assert [c.kind.value for c in store.prospects.contacts()] == ["standing"]
    assert make_prospect().estimated_value is not None
    assert make_prospect().estimated_value.amount == Decimal("120000.50")


def test_an_interaction_of_an_unknown_customer_makes_no_lead() -> None:
    store = MemoryStore()
    store.customers.add(make_customer(id="c1", name="李雷"))
    store.interactions.add(make_interaction(id="i1", customer_id="c1", kind="browse"))
    store.interactions.add(make_interaction(id="i2", customer_id="ghost", kind="cart"))
    found = find_leads(store, as_of=datetime(2030, 1, 1, tzinfo=UTC), owner="s1")
    assert [p.id for p in found] == ["lead-c1"]
