"""Round 35e: ``open_ticket_report`` refuses bad factors, calendars and policies.

Before, ``factors=[1]`` and ``calendar="x"`` raised AttributeError, and a bad factor
was named ``factors[0]`` (its position in an internal list) rather than by customer.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from custmgmt.adapters.memory import MemoryStore
from custmgmt.errors import ValidationError
from custmgmt.testing import make_customer
from custmgmt.tickets import SLAState, default_calendar, open_ticket_report
from custmgmt.tickets.services import open_ticket

AT = datetime(2026, 3, 2, 9, tzinfo=timezone(timedelta(hours=8)))


def _store(*, tickets: bool = True) -> MemoryStore:
    store = MemoryStore()
    store.customers.add(make_customer(id="C-1"))
    if tickets:
        open_ticket(store, id="T-1", customer_id="C-1", category="logistics",
                    priority="high", subject="快递没有更新", at=AT, actor="web")
    return store


@pytest.mark.parametrize("tickets", [True, False])
@pytest.mark.parametrize(("kwargs", "field"), [
    ({"factors": [1.0]}, "factors"),
    ({"factors": {"C-1": -1}}, "factors['C-1']"),
    ({"factors": {"C-1": float("nan")}}, "factors['C-1']"),
    ({"factors": {"C-1": "0.5"}}, "factors['C-1']"),
    ({"calendar": "Asia/Shanghai"}, "calendar"),
    ({"policy": "default"}, "policy"),
])
def test_bad_arguments_are_named(kwargs: dict[str, object], field: str, tickets: bool) -> None:
    with pytest.raises(ValidationError) as caught:
        open_ticket_report(_store(tickets=tickets), AT + timedelta(hours=1),
                           **kwargs)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_good_factors_still_scale() -> None:
    as_of = AT + timedelta(hours=1, minutes=30)  # high: 2 business hours to answer
    cal = default_calendar("Asia/Shanghai")
    plain = open_ticket_report(_store(), as_of, calendar=cal)
    halved = open_ticket_report(_store(), as_of, calendar=cal, factors={"C-1": 0.5})
    assert plain.lines[0].state is SLAState.OK
    assert halved.lines[0].state is SLAState.BREACHED
