"""The risk services on memory and SQLite stores: scoring, alerts, restrictions, appeals."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import numpy as np
import pytest
from _risk_support import AS_OF, fill
from hypothesis import given, settings
from hypothesis import strategies as st

from custmgmt.adapters.memory import MemoryStore
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.errors import Conflict, NotFound, TransitionNotAllowed, ValidationError
from custmgmt.risk import (
    DEFAULT_RULES,
    AlertStatus,
    AppealStatus,
    RestrictionKind,
    RestrictionStatus,
    acknowledge_alert,
    current_grades,
    customer_terms,
    decide_appeal,
    escalate_overdue,
    impose_restriction,
    lift_restriction,
    raise_alerts,
    rescore_quarterly,
    resolve_alert,
    restricted_customers,
    risk_features,
    run_stability,
    save_scorecard,
    score_customers,
    start_review,
    submit_appeal,
)
from custmgmt.risk.services import appeal_calendar, quarter_label, quarter_starts
from custmgmt.testing import make_customer
from custmgmt.testing.risk_contract import make_scorecard

MONDAY_10 = datetime(2025, 6, 30, 10, tzinfo=appeal_calendar().tzinfo)


@pytest.fixture(params=["memory", "sqlite"])
def store(request: Any) -> Iterator[Any]:
    made = MemoryStore() if request.param == "memory" else SQLiteStore(":memory:")
    fill(made)
    yield made
    made.close()


def test_stored_scores_equal_the_vectorised_and_single_customer_paths(store: Any) -> None:
    card = make_scorecard()
    save_scorecard(store, card)
    run = score_customers(store, card, as_of=AS_OF)
    orders = store.order_frame(currency="CNY", as_of=AS_OF)
    inter = store.interaction_frame(as_of=AS_OF, customer_index=orders)
    features = risk_features(orders, inter, as_of=AS_OF, features=card.features)
    back = store.risk.get_score_run(run.id)
    assert back.batch.scores.tolist() == card.score_columns(features.columns).scores.tolist()
    for i, cid in enumerate(back.customer_ids.tolist()):
        row = {f: float(features[f][features.index_of(cid)]) for f in card.features}
        assert card.explain(row).score == back.batch.scores[i]
        assert store.risk.score_history(cid)[-1].score == back.batch.scores[i]
    assert back.recomputed(card).tolist() == back.batch.scores.tolist()
    assert current_grades(store, "credit")["c01"] == card.explain(
        {"return_rate_90d": 1.0, "dispute_count": 0}).grade


def test_a_card_with_an_unknown_feature_is_refused_and_nothing_is_stored(store: Any) -> None:
    card = make_scorecard()
    table = attrs.evolve(card.tables[0], feature="credit_karma")
    bad = attrs.evolve(card, tables=(table, card.tables[1]))
    with pytest.raises(ValidationError, match="credit_karma"):
        save_scorecard(store, bad)
    assert store.risk.scorecards() == []
    save_scorecard(store, bad, extra_features={"credit_karma"})  # a host's own feature
    assert len(store.risk.scorecards()) == 1
    with pytest.raises(NotFound):
        score_customers(store, make_scorecard(version=7), as_of=AS_OF)


def test_quarterly_rescoring_runs_once_a_quarter_and_keeps_history(store: Any) -> None:
    card = make_scorecard()
    save_scorecard(store, card)
    starts = quarter_starts(datetime(2025, 2, 10, tzinfo=UTC), datetime(2025, 12, 31,
                                                                         tzinfo=UTC))
    assert [quarter_label(s) for s in starts] == ["2025Q2", "2025Q3", "2025Q4"]
    first = rescore_quarterly(store, card, as_of=AS_OF)
    assert first is not None
    assert first.id == "credit-v1-2025Q2"
    assert rescore_quarterly(store, card, as_of=AS_OF + timedelta(hours=1)) is None
    assert rescore_quarterly(store, card, as_of=AS_OF + timedelta(days=10)) is not None
    assert [h.run_id for h in store.risk.score_history("c00")] == [
        "credit-v1-2025Q2", "credit-v1-2025Q3"]
    report = run_stability(store, "credit")
    assert report is not None
    assert report.score_verdict in ("stable", "watch", "shift")
    assert [f for f, _, _ in report.features] == list(card.features)
    assert run_stability(store, "nothing") is None


def test_alerts_are_raised_once_then_acknowledged_and_resolved(store: Any) -> None:
    run = raise_alerts(store, DEFAULT_RULES, as_of=AS_OF)
    fired = {(a.rule, a.customer_id) for a in run.added}
    assert ("review-burst", "c02") in fired
    assert ("frequent-returns", "c01") in fired
    assert not any(c in ("c00", "c04", "c05") for _, c in fired)
    again = raise_alerts(store, DEFAULT_RULES, as_of=AS_OF + timedelta(days=1))
    assert again.added == ()
    assert again.duplicates == len(run.added)
    alert = run.added[0]
    acknowledge_alert(store, alert.id, at=AS_OF + timedelta(days=1), actor="分析员")
    resolve_alert(store, alert.id, at=AS_OF + timedelta(days=2), actor="分析员", note="已处理")
    assert store.risk.get_alert(alert.id).status is AlertStatus.RESOLVED
    third = raise_alerts(store, DEFAULT_RULES, as_of=AS_OF + timedelta(days=2))
    assert [(a.rule, a.customer_id) for a in third.added] == [(alert.rule, alert.customer_id)]
    with pytest.raises(TransitionNotAllowed):
        acknowledge_alert(store, alert.id, at=AS_OF + timedelta(days=3), actor="x")


def test_an_overturned_appeal_lifts_its_restriction_and_both_logs_say_so(store: Any) -> None:
    r = impose_restriction(store, id="R-1", customer_id="c02", kind="blacklisted",
                           reason="恶意差评", actor="officer", start=MONDAY_10)
    assert restricted_customers(store, MONDAY_10 + timedelta(hours=1)) == {"c02"}
    appeal = submit_appeal(store, id="A-1", restriction_id=r.id, statement="我是真实买家",
                           at=MONDAY_10 + timedelta(hours=1), actor="c02")
    # sixteen business hours from Monday 11:00 (office 9-12, 13-18): Wednesday 11:00
    assert appeal.deadline == MONDAY_10 + timedelta(days=2, hours=1)
    with pytest.raises(Conflict):
        submit_appeal(store, id="A-2", restriction_id=r.id, statement="again",
                      at=MONDAY_10 + timedelta(hours=2), actor="c02")
    start_review(store, "A-1", at=MONDAY_10 + timedelta(hours=2), actor="officer")
    with pytest.raises(TransitionNotAllowed, match="reason"):
        decide_appeal(store, "A-1", overturn=True, at=MONDAY_10 + timedelta(hours=3),
                      actor="officer", reason=" ")
    decide_appeal(store, "A-1", overturn=True, at=MONDAY_10 + timedelta(hours=3),
                  actor="officer", reason="核实订单后误判")
    lifted = store.risk.get_restriction("R-1")
    assert lifted.status is RestrictionStatus.LIFTED
    assert [e.action for e in lifted.events] == ["imposed", "appealed", "lifted"]
    assert store.risk.get_appeal("A-1").status is AppealStatus.OVERTURNED
    assert restricted_customers(store, MONDAY_10 + timedelta(hours=4)) == frozenset()
    with pytest.raises(TransitionNotAllowed):
        submit_appeal(store, id="A-3", restriction_id="R-1", statement="x",
                      at=MONDAY_10 + timedelta(hours=5), actor="c02")


def test_an_appeal_past_its_deadline_escalates_and_an_upheld_one_keeps_the_restriction(
        store: Any) -> None:
    impose_restriction(store, id="R-1", customer_id="c01", kind="restricted",
                       reason="频繁退货", actor="officer", start=MONDAY_10,
                       blocked_methods={"cash_on_delivery"})
    submit_appeal(store, id="A-1", restriction_id="R-1", statement="质量问题才退的",
                  at=MONDAY_10, actor="c01")
    assert escalate_overdue(store, at=MONDAY_10 + timedelta(days=1)) == []
    late = escalate_overdue(store, at=MONDAY_10 + timedelta(days=3))
    assert [a.id for a in late] == ["A-1"]
    assert store.risk.get_appeal("A-1").status is AppealStatus.ESCALATED
    assert escalate_overdue(store, at=MONDAY_10 + timedelta(days=4)) == []
    decide_appeal(store, "A-1", overturn=False, at=MONDAY_10 + timedelta(days=4),
                  actor="manager", reason="退货记录属实")
    kept = store.risk.get_restriction("R-1")
    assert kept.status is RestrictionStatus.ACTIVE
    assert kept.events[-1].action == "appeal upheld"
    terms = customer_terms(store, "c01", at=MONDAY_10 + timedelta(days=5), card_name="credit")
    assert "cash_on_delivery" not in terms.payment_methods
    assert restricted_customers(store, MONDAY_10 + timedelta(days=5),
                                kinds={RestrictionKind.BLACKLISTED}) == frozenset()


def test_a_restriction_needs_a_stored_customer_and_a_reason(store: Any) -> None:
    with pytest.raises(NotFound):
        impose_restriction(store, id="R-1", customer_id="ghost", kind="restricted",
                           reason="x", actor="o", start=AS_OF)
    with pytest.raises(ValidationError, match="reason"):
        impose_restriction(store, id="R-1", customer_id="c01", kind="restricted",
                           reason=" ", actor="o", start=AS_OF)
    with pytest.raises(ValidationError, match="kind"):
        impose_restriction(store, id="R-1", customer_id="c01", kind="jail", reason="x",
                           actor="o", start=AS_OF)
    assert store.risk.find_restrictions() == []


ops = st.lists(st.sampled_from(["submit", "review", "escalate", "uphold", "overturn",
                                "lift", "impose"]), max_size=25)


@settings(max_examples=40, deadline=None)
@given(ops)
def test_random_operations_never_leave_an_overturned_appeal_with_its_restriction_in_force(
        steps: list[str]) -> None:
    store = MemoryStore()
    store.customers.add(make_customer(id="c1"))
    at = MONDAY_10
    logs: dict[str, int] = {}
    n = 0
    for step in steps:
        at += timedelta(hours=7)
        try:
            if step == "impose":
                n += 1
                impose_restriction(store, id=f"R{n}", customer_id="c1", kind="restricted",
                                   reason="r", actor="o", start=at)
            elif step == "lift" and n:
                lift_restriction(store, f"R{n}", at=at, actor="o", reason="ok")
            elif step == "submit" and n:
                submit_appeal(store, id=f"A{len(store.risk.find_appeals())}",
                              restriction_id=f"R{n}", statement="s", at=at, actor="c1")
            elif step == "escalate":
                escalate_overdue(store, at=at)
            elif store.risk.find_appeals():
                last = store.risk.find_appeals()[-1].id
                if step == "review":
                    start_review(store, last, at=at, actor="o")
                else:
                    decide_appeal(store, last, overturn=step == "overturn", at=at,
                                  actor="o", reason="because")
        except (TransitionNotAllowed, Conflict):
            pass
        for r in store.risk.find_restrictions():
            assert len(r.events) >= logs.get(r.id, 0)  # the audit trail only grows
            logs[r.id] = len(r.events)
        for a in store.risk.find_appeals():
            if a.status is AppealStatus.OVERTURNED:
                assert store.risk.get_restriction(a.restriction_id).status is (
                    RestrictionStatus.LIFTED)


def test_scores_are_not_written_twice_for_one_run_id(store: Any) -> None:
    card = make_scorecard()
    save_scorecard(store, card)
    score_customers(store, card, as_of=AS_OF, run_id="r1")
    with pytest.raises(Conflict):
        score_customers(store, card, as_of=AS_OF, run_id="r1")
    assert len(store.risk.score_runs()) == 1
    assert np.all(store.risk.get_score_run("r1").batch.scores >= card.score_range[0])


def test_the_review_is_carried_by_a_service_ticket_that_follows_the_appeal(store: Any) -> None:
    impose_restriction(store, id="R-1", customer_id="c02", kind="blacklisted",
                       reason="恶意差评", actor="officer", start=MONDAY_10)
    appeal = submit_appeal(store, id="A-1", restriction_id="R-1", statement="我是真实买家",
                           at=MONDAY_10 + timedelta(hours=1), actor="c02")
    assert appeal.ticket_id == "A-1-T"
    ticket = store.tickets.get("A-1-T")
    assert (ticket.status.value, ticket.customer_id, ticket.channel) == ("new", "c02", "appeal")
    start_review(store, "A-1", at=MONDAY_10 + timedelta(hours=2), actor="officer")
    assert store.tickets.get("A-1-T").status.value == "in_progress"
    assert store.tickets.get("A-1-T").assignee == "officer"
    escalate_overdue(store, at=MONDAY_10 + timedelta(days=3))
    assert store.tickets.get("A-1-T").status.value == "escalated"
    decide_appeal(store, "A-1", overturn=True, at=MONDAY_10 + timedelta(days=3, hours=1),
                  actor="manager", reason="核实无误")
    closed = store.tickets.get("A-1-T")
    assert closed.status.value == "closed"
    assert closed.solution == "overturned: 核实无误"
    assert store.risk.get_appeal("A-1").ticket_id == "A-1-T"


def test_an_appeal_without_a_ticket_when_asked_or_when_the_store_has_none(store: Any) -> None:
    impose_restriction(store, id="R-1", customer_id="c02", kind="restricted", reason="r",
                       actor="o", start=MONDAY_10)
    plain = submit_appeal(store, id="A-1", restriction_id="R-1", statement="s",
                          at=MONDAY_10, actor="c02", open_ticket=False)
    assert plain.ticket_id is None
    assert store.tickets.find(customer_id="c02") == []
    changed = attrs.evolve(plain, version=2, ticket_id="T-9")
    with pytest.raises(Conflict, match="ticket_id"):
        store.risk.update_appeal(changed)


def test_stability_between_two_runs_reads_the_stored_bins(store: Any) -> None:
    card = make_scorecard()
    save_scorecard(store, card)
    score_customers(store, card, as_of=AS_OF, run_id="a")
    assert run_stability(store, "credit") is None
    score_customers(store, card, as_of=AS_OF, run_id="b")
    same = run_stability(store, "credit")
    assert same is not None
    assert same.score_psi == pytest.approx(0.0)
    assert {v for _, _, v in same.features} == {"stable"}
