"""Round 35e: a cancelled or merged ticket's clocks stop, as in the SLA engine.

Before, ``team_performance`` ran a never-resolved ticket's clocks until ``as_of``, so
a ticket the customer withdrew twenty minutes after opening (answered in ten) was an
SLA miss for its agent a day later, while ``sla_status`` called it cancelled.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from custmgmt.adapters.memory import MemoryStore
from custmgmt.errors import ValidationError
from custmgmt.team.agents import Agent
from custmgmt.team.performance import NO_TIME, PerformanceFrame
from custmgmt.team.services import add_agent, assign_ticket, performance
from custmgmt.testing import make_customer
from custmgmt.tickets import SLAState, default_calendar, default_sla_policy, sla_status
from custmgmt.tickets.services import fire_ticket, open_ticket

TZ = timezone(timedelta(hours=8))
AT = datetime(2026, 3, 2, 9, tzinfo=TZ)  # a Monday, office open
CAL = default_calendar("Asia/Shanghai")


def _store(events: list[tuple[str, timedelta, dict[str, str]]]) -> MemoryStore:
    store = MemoryStore()
    store.customers.add(make_customer(id="C-1"))
    add_agent(store, Agent(id="a1", name="张三", role="agent", teams={"华东组"},
                           skills={"logistics"}))
    open_ticket(store, id="T-0", customer_id="C-1", category="logistics", priority="high",
                subject="原工单", at=AT, actor="web")
    open_ticket(store, id="T-1", customer_id="C-1", category="logistics", priority="high",
                subject="重复工单", at=AT, actor="web")
    assign_ticket(store, "T-1", method="manual", agent_id="a1", at=AT, actor="lead")
    for event, after, data in events:
        fire_ticket(store, "T-1", event, at=AT + after, actor="a1", **data)
    return store


@pytest.mark.parametrize(("event", "data"), [
    ("cancel", {"reason": "客户撤回"}),
    ("merge", {"merged_into": "T-0"}),
])
def test_a_ticket_dropped_early_is_no_sla_miss(event: str, data: dict[str, str]) -> None:
    store = _store([("respond", timedelta(minutes=10), {}),
                    (event, timedelta(minutes=20), data)])
    end = AT + timedelta(days=30)
    engine = sla_status(store.tickets.get("T-1"), default_sla_policy(), CAL, end)
    assert engine.resolution is not None
    assert engine.resolution.state is SLAState.CANCELLED
    row = performance(store, start=AT, end=end, calendar=CAL,
                      policy=default_sla_policy()).row("a1")
    assert row.handled == 1
    assert row.sla_attainment is None  # undecided, as the engine's CANCELLED


def test_a_ticket_dropped_after_its_deadline_is_still_a_miss() -> None:
    # High priority resolves in 8 business hours; cancelled two business days later.
    store = _store([("respond", timedelta(minutes=10), {}),
                    ("cancel", timedelta(days=2), {"reason": "太晚了"})])
    end = AT + timedelta(days=30)
    engine = sla_status(store.tickets.get("T-1"), default_sla_policy(), CAL, end)
    assert engine.resolution is not None
    assert engine.resolution.state is SLAState.BREACHED
    rate = performance(store, start=AT, end=end, calendar=CAL,
                       policy=default_sla_policy()).row("a1").sla_attainment
    assert rate is not None
    assert (rate.successes, rate.trials) == (0, 1)


def test_dropped_column_from_arrays() -> None:
    us = 1_000_000
    frame = PerformanceFrame.from_arrays(agent_ids=["a"], as_of=AT, agent=[0, 0],
                                         created=[0, 0], dropped=[5 * us, NO_TIME])
    assert frame.dropped.tolist() == [5 * us, NO_TIME]
    assert PerformanceFrame.from_arrays(agent_ids=["a"], as_of=AT, agent=[0],
                                        created=[0]).dropped.tolist() == [NO_TIME]
    with pytest.raises(ValidationError, match="dropped"):
        PerformanceFrame.from_arrays(agent_ids=["a"], as_of=AT, agent=[0],
                                     created=[10 * us], dropped=[us])
