"""Round 35e: the team services refuse bad arguments with a library error.

Before, ``performance(..., policy="x")`` raised AttributeError, ``stars`` as a list
AttributeError and a star count "5" was silently converted (``"x"`` a ValueError);
``assign_ticket(..., workflow=None)`` raised AttributeError.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from custmgmt.adapters.memory import MemoryStore
from custmgmt.errors import ValidationError
from custmgmt.team.agents import Agent
from custmgmt.team.services import add_agent, assign_ticket, performance
from custmgmt.testing import make_customer
from custmgmt.tickets import default_calendar, default_sla_policy
from custmgmt.tickets.services import open_ticket

AT = datetime(2026, 3, 2, 9, tzinfo=timezone(timedelta(hours=8)))
CAL = default_calendar("Asia/Shanghai")


def _store() -> MemoryStore:
    store = MemoryStore()
    store.customers.add(make_customer(id="C-1"))
    add_agent(store, Agent(id="a1", name="张三", role="agent", teams={"华东组"},
                           skills={"logistics"}))
    open_ticket(store, id="T-1", customer_id="C-1", category="logistics", priority="high",
                subject="快递没有更新", at=AT, actor="web")
    return store


def _perform(store: MemoryStore, **kwargs: Any) -> Any:
    return performance(store, start=AT, end=AT + timedelta(days=1), calendar=CAL, **kwargs)


@pytest.mark.parametrize("policy", ["x", 5, default_sla_policy().targets_for("high", "logistics")])
def test_a_policy_that_is_no_sla_policy(policy: object) -> None:
    with pytest.raises(ValidationError) as caught:
        _perform(_store(), policy=policy)
    assert caught.value.field == "policy"


@pytest.mark.parametrize(("stars", "field"), [
    (["C-1"], "stars"),
    ({"C-1": "5"}, "stars['C-1']"),
    ({"C-1": "x"}, "stars['C-1']"),
    ({"C-1": 4.5}, "stars['C-1']"),
    ({"C-1": True}, "stars['C-1']"),
])
def test_stars_that_are_no_whole_numbers(stars: object, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        _perform(_store(), stars=stars)
    assert caught.value.field == field


def test_good_stars_still_count() -> None:
    row = _perform(_store(), stars={"C-1": 5}).row("a1")
    assert row.sla_by_stars == {} or isinstance(row.sla_by_stars, dict)


def test_assign_with_a_workflow_that_is_none() -> None:
    store = _store()
    with pytest.raises(ValidationError) as caught:
        assign_ticket(store, "T-1", method="manual", agent_id="a1", at=AT, actor="lead",
                      workflow=None)  # type: ignore[arg-type]
    assert caught.value.field == "workflow"
    assert store.tickets.get("T-1").assignee is None
    assert store.assignments.find(ticket_id="T-1") == []
