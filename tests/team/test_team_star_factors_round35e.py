"""Round 35e: the team's SLA attainment uses the targets ``custmgmt tickets`` shows.

``custmgmt tickets`` halves a 5★ customer's targets (the service level's response-time
factor); ``custmgmt team`` measured the same tickets against the plain targets, so a
5★ ticket answered in 1h30 (target 1h) was breached in one report and met in the other.
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

import pytest

from custmgmt.adapters.memory import MemoryStore
from custmgmt.cli import team as team_cli
from custmgmt.errors import ValidationError
from custmgmt.rating import response_time_factors
from custmgmt.team.agents import Agent
from custmgmt.team.services import add_agent, assign_ticket, performance
from custmgmt.testing import make_customer
from custmgmt.tickets import SLAState, default_calendar, default_sla_policy, sla_status
from custmgmt.tickets.services import fire_ticket, open_ticket

AT = datetime(2026, 3, 2, 9, tzinfo=timezone(timedelta(hours=8)))  # Monday 09:00
CAL = default_calendar("Asia/Shanghai")
STARS = {"C-1": 5}


def _store() -> MemoryStore:
    store = MemoryStore()
    store.customers.add(make_customer(id="C-1"))
    add_agent(store, Agent(id="a1", name="张三", role="agent", teams={"华东组"},
                           skills={"logistics"}))
    open_ticket(store, id="T-1", customer_id="C-1", category="logistics", priority="high",
                subject="快递没有更新", at=AT, actor="web")
    assign_ticket(store, "T-1", method="manual", agent_id="a1", at=AT, actor="lead")
    fire_ticket(store, "T-1", "start", at=AT, actor="a1")
    fire_ticket(store, "T-1", "respond", at=AT + timedelta(minutes=90), actor="a1")
    fire_ticket(store, "T-1", "resolve", at=AT + timedelta(hours=2), actor="a1",
                solution="已补发")
    return store


def test_a_five_star_ticket_late_by_its_own_targets_is_a_miss() -> None:
    store = _store()
    end = AT + timedelta(days=7)
    factors = response_time_factors(STARS)
    engine = sla_status(store.tickets.get("T-1"), default_sla_policy(), CAL, end,
                        factor=factors["C-1"])
    assert engine.first_response is not None
    assert engine.first_response.state is SLAState.BREACHED
    rate = performance(store, start=AT, end=end, calendar=CAL, policy=default_sla_policy(),
                       stars=STARS, factors=factors).row("a1").sla_attainment
    assert rate is not None
    assert (rate.successes, rate.trials) == (0, 1)
    # Without factors the plain targets apply (2h to answer): met.
    plain = performance(store, start=AT, end=end, calendar=CAL, policy=default_sla_policy(),
                        stars=STARS).row("a1").sla_attainment
    assert plain is not None
    assert (plain.successes, plain.trials) == (1, 1)


def test_the_team_command_scales_by_stars(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(team_cli, "current_stars", lambda store, at: dict(STARS))
    out = io.StringIO()
    team_cli.print_team(_store(), AT, AT + timedelta(days=7), out)
    line = next(ln for ln in out.getvalue().splitlines() if ln.strip().startswith("a1"))
    assert "0% [" in line
    assert "100%" not in line


@pytest.mark.parametrize(("factors", "field"), [
    ([0.5], "factors"),
    ({"C-1": 0}, "factors['C-1']"),
    ({"C-1": "0.5"}, "factors['C-1']"),
])
def test_bad_factors_are_named(factors: object, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        performance(_store(), start=AT, end=AT + timedelta(days=1), calendar=CAL,
                    policy=default_sla_policy(), factors=factors)  # type: ignore[arg-type]
    assert caught.value.field == field
