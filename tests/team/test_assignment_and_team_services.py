"""Assignment by skill (least loaded, round robin, manual) and the team services."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custmgmt.adapters.memory import MemoryStore
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.errors import NotFound, ValidationError
from custmgmt.team import Agent, TeamPolicy, TrainingRecord, choose_agent
from custmgmt.team.services import (
    add_agent,
    assign_ticket,
    open_loads,
    performance,
    record_training,
    training_comparison,
    update_agent,
)
from custmgmt.tickets import DEFAULT_WORKFLOW, TicketCategory

T0 = datetime(2026, 3, 2, 9, tzinfo=timezone(timedelta(hours=8)))
CATEGORIES = [c.value for c in TicketCategory]

skill_sets = st.frozensets(st.sampled_from(CATEGORIES), min_size=0, max_size=3)


@st.composite
def teams(draw: st.DrawFn) -> list[Agent]:
    n = draw(st.integers(1, 6))
    return [Agent(id=f"a{i}", name=f"agent {i}", role="agent", skills=draw(skill_sets),
                  active=draw(st.booleans()) or i == 0)
            for i in range(n)]


@settings(max_examples=150)
@given(teams(), st.lists(st.sampled_from(CATEGORIES), max_size=60))
def test_least_loaded_respects_skills_and_picks_a_least_loaded_agent(
    agents: list[Agent], stream: list[str]
) -> None:
    loads: Counter[str] = Counter()
    for category in stream:
        skilled = [a for a in agents if a.active and category in {s.value for s in a.skills}]
        if not skilled:
            with pytest.raises(NotFound):
                choose_agent(agents, category, "least_loaded", loads=loads)
            continue
        chosen = choose_agent(agents, category, "least_loaded", loads=loads)
        assert chosen in skilled
        assert loads[chosen.id] == min(loads[a.id] for a in skilled)
        loads[chosen.id] += 1


@settings(max_examples=150)
@given(st.integers(1, 8), st.lists(st.sampled_from(CATEGORIES), max_size=80),
       st.lists(st.integers(0, 7), max_size=30))
def test_least_loaded_keeps_loads_within_one_ticket_on_random_streams(
    n: int, stream: list[str], closings: list[int]
) -> None:
    agents = [Agent(id=f"a{i}", name="x", role="agent", skills=CATEGORIES) for i in range(n)]
    loads: Counter[str] = Counter()
    for step, category in enumerate(stream):
        chosen = choose_agent(agents, category, "least_loaded", loads=loads)
        loads[chosen.id] += 1
        assert max(loads[a.id] for a in agents) - min(loads[a.id] for a in agents) <= 1
        del step


@given(st.integers(1, 6), st.integers(1, 40))
def test_round_robin_cycles_through_the_skilled_agents(n: int, tickets: int) -> None:
    agents = [Agent(id=f"a{i}", name="x", role="agent", skills={"logistics"}) for i in range(n)]
    last = None
    given_to = []
    for _ in range(tickets):
        last = choose_agent(agents, "logistics", "round_robin", last=last).id
        given_to.append(last)
    assert given_to == [f"a{i % n}" for i in range(tickets)]


def test_manual_assignment_refuses_an_agent_without_the_skill() -> None:
    agents = [Agent(id="a1", name="x", role="agent", skills={"inquiry"})]
    with pytest.raises(ValidationError, match="agent_id"):
        choose_agent(agents, "logistics", "manual", agent_id="a1")
    with pytest.raises(NotFound):
        choose_agent(agents, "logistics", "manual", agent_id="a9")
    with pytest.raises(ValidationError, match="method"):
        choose_agent(agents, "logistics", "by mood")
    with pytest.raises(ValidationError, match="loads"):
        choose_agent(agents, "inquiry", "least_loaded", loads={"a1": -1})


def _store_with_tickets(store: MemoryStore | SQLiteStore, n: int = 4) -> None:
    for i in range(n):
        store.tickets.add(DEFAULT_WORKFLOW.open(
            id=f"T-{i}", customer_id="C-1", category="logistics" if i % 2 == 0 else "after_sales",
            priority="normal", subject="快递没到", at=T0, actor="web"))


@pytest.mark.parametrize("make", [MemoryStore, lambda: SQLiteStore(":memory:")])
def test_assign_ticket_updates_the_ticket_and_records_the_assignment(make: object) -> None:
    store = make()  # type: ignore[operator]
    _store_with_tickets(store)
    add_agent(store, Agent(id="a1", name="甲", role="agent", teams={"east"},
                           skills={"logistics", "after_sales"}))
    add_agent(store, Agent(id="a2", name="乙", role="agent", teams={"east"},
                           skills={"logistics"}))
    first = assign_ticket(store, "T-0", method="least_loaded", at=T0, actor="rule")
    second = assign_ticket(store, "T-2", method="least_loaded", at=T0, actor="rule")
    third = assign_ticket(store, "T-1", method="least_loaded", at=T0, actor="rule")
    assert (first.agent_id, second.agent_id, third.agent_id) == ("a1", "a2", "a1")
    assert store.tickets.get("T-2").assignee == "a2"
    assert open_loads(store) == Counter({"a1": 2, "a2": 1})
    again = assign_ticket(store, "T-0", method="manual", agent_id="a2", at=T0, actor="lead")
    assert again.id == "T-0#2"
    assert [a.agent_id for a in store.assignments.find(ticket_id="T-0")] == ["a1", "a2"]


def test_a_failed_assignment_stores_nothing() -> None:
    store = MemoryStore()
    _store_with_tickets(store)
    add_agent(store, Agent(id="a1", name="甲", role="agent", skills={"inquiry"}))
    with pytest.raises(NotFound):
        assign_ticket(store, "T-0", method="least_loaded", at=T0, actor="rule")
    with pytest.raises(ValidationError):
        assign_ticket(store, "T-0", method="manual", agent_id="a1", at=T0, actor="rule")
    assert store.tickets.get("T-0").assignee is None
    assert store.assignments.count() == 0


def test_an_agent_in_two_teams_is_refused_where_the_policy_forbids_it() -> None:
    store = MemoryStore()
    both = Agent(id="a1", name="甲", role="agent", teams={"east", "west"})
    with pytest.raises(ValidationError, match=r"Agent\.teams"):
        add_agent(store, both)
    assert store.agents.count() == 0
    add_agent(store, both, policy=TeamPolicy(one_team_per_agent=False))
    with pytest.raises(ValidationError, match=r"Agent\.teams"):
        update_agent(store, both.revised(name="甲甲"))
    assert store.agents.get("a1").version == 1


def test_performance_and_training_from_a_store() -> None:
    from custmgmt.tickets import default_calendar

    store = MemoryStore()
    add_agent(store, Agent(id="a1", name="甲", role="agent", skills=CATEGORIES))
    add_agent(store, Agent(id="idle", name="乙", role="agent", skills=["inquiry"]))
    wf = DEFAULT_WORKFLOW
    for i in range(4):
        at = T0 + timedelta(days=i)
        t = wf.open(id=f"T-{i}", customer_id="C-1", category="logistics", priority="normal",
                    subject="x", at=at, actor="web")
        store.tickets.add(t)
        assign_ticket(store, t.id, method="least_loaded", at=at, actor="rule")
        t = store.tickets.get(t.id)
        t = wf.fire(t, "start", at=at, actor="a1")
        t = wf.fire(t, "respond", at=at + timedelta(minutes=30 if i < 2 else 10), actor="a1")
        t = wf.fire(t, "resolve", at=at + timedelta(hours=1), actor="a1", solution="补发")
        t = wf.fire(t, "rate", at=at + timedelta(hours=2), actor="customer", score=5 - i)
        store.tickets.update(t, expected_version=t.version - 4)
    record_training(store, TrainingRecord(id="tr1", agent_id="a1", at=T0 + timedelta(days=2),
                                          topic="沟通"))
    perf = performance(store, start=T0, end=T0 + timedelta(days=7),
                       calendar=default_calendar())
    row = perf.row("a1")
    assert (row.handled, row.rated, row.complaints) == (4, 4, 1)
    assert row.satisfaction == pytest.approx(3.5)
    assert not perf.row("idle").measurable
    effect = training_comparison(store, "tr1", calendar=default_calendar(),
                                 window=timedelta(days=2))
    assert effect.before.first_response_median == timedelta(minutes=30)
    assert effect.after.first_response_median == timedelta(minutes=10)
    with pytest.raises(ValidationError, match="end"):
        performance(store, start=T0, end=T0 - timedelta(days=1), calendar=default_calendar())


@settings(max_examples=30)
@given(teams(), st.lists(st.tuples(st.sampled_from(CATEGORIES), st.booleans()), max_size=25))
def test_the_service_assigns_least_loaded_by_skill_on_random_streams(
    agents: list[Agent], stream: list[tuple[str, bool]]
) -> None:
    """Tickets arrive (and some get resolved) at random; every assignment goes to a
    skilled active agent whose open load was the smallest among the skilled."""
    store = MemoryStore()
    for agent in agents:
        store.agents.add(agent)
    wf = DEFAULT_WORKFLOW
    for i, (category, resolve_one) in enumerate(stream):
        at = T0 + timedelta(minutes=i)
        store.tickets.add(wf.open(id=f"T-{i}", customer_id="C-1", category=category,
                                  priority="normal", subject="x", at=at, actor="web"))
        skilled = [a.id for a in agents if a.active and category in {s.value for s in a.skills}]
        before = open_loads(store)
        if not skilled:
            with pytest.raises(NotFound):
                assign_ticket(store, f"T-{i}", method="least_loaded", at=at, actor="rule")
            assert store.tickets.get(f"T-{i}").assignee is None
            continue
        chosen = assign_ticket(store, f"T-{i}", method="least_loaded", at=at, actor="rule")
        assert chosen.agent_id in skilled
        assert before[chosen.agent_id] == min(before[a] for a in skilled)
        if resolve_one:  # the oldest open ticket of this agent is solved and closed
            t = store.tickets.find(statuses={"assigned"})[0]
            done = wf.fire(wf.fire(wf.fire(t, "start", at=at, actor="a"), "resolve", at=at,
                                   actor="a", solution="ok"), "close", at=at, actor="a")
            store.tickets.update(done, expected_version=t.version)


def test_equally_loaded_agents_take_turns_by_how_long_they_waited() -> None:
    agents = [Agent(id=f"a{i}", name="x", role="agent", skills={"logistics"}) for i in range(3)]
    loads = {"a0": 1, "a1": 1, "a2": 1}
    waited = {"a0": T0, "a1": T0 - timedelta(hours=2), "a2": T0 - timedelta(hours=1)}
    assert choose_agent(agents, "logistics", "least_loaded", loads=loads,
                        last_assigned=waited).id == "a1"
    assert choose_agent(agents, "logistics", "least_loaded", loads=loads,
                        last_assigned={"a0": T0}).id == "a1"  # never assigned first
    assert choose_agent(agents, "logistics", "least_loaded", loads={**loads, "a0": 0},
                        last_assigned=waited).id == "a0"  # the load decides first
    with pytest.raises(ValidationError, match="last_assigned"):
        choose_agent(agents, "logistics", "least_loaded",
                     last_assigned={"a0": datetime(2026, 1, 1)})


@settings(max_examples=100)
@given(teams(), st.sampled_from(CATEGORIES), st.dictionaries(
    st.sampled_from([f"a{i}" for i in range(6)]), st.integers(0, 3)),
    st.dictionaries(st.sampled_from([f"a{i}" for i in range(6)]),
                    st.integers(0, 10).map(lambda h: T0 - timedelta(hours=h))))
def test_the_tie_break_never_overrides_skill_or_load(
    agents: list[Agent], category: str, loads: dict[str, int], waited: dict[str, datetime]
) -> None:
    skilled = [a for a in agents if a.can_handle(category)]
    if not skilled:
        return
    chosen = choose_agent(agents, category, "least_loaded", loads=loads, last_assigned=waited)
    assert chosen in skilled
    assert loads.get(chosen.id, 0) == min(loads.get(a.id, 0) for a in skilled)
