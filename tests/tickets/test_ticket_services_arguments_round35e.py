"""Round 35e: the ticket services refuse bad arguments with a library error.

Before, ``fire_ticket(..., foo=1)`` raised a bare TypeError from ``Workflow.fire`` and
a ``workflow`` that is no Workflow an AttributeError.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from custmgmt.adapters.memory import MemoryStore
from custmgmt.errors import ValidationError
from custmgmt.testing import make_customer
from custmgmt.tickets.services import fire_ticket, open_ticket

AT = datetime(2026, 3, 2, 9, tzinfo=timezone(timedelta(hours=8)))


def _store() -> MemoryStore:
    store = MemoryStore()
    store.customers.add(make_customer(id="C-1"))
    open_ticket(store, id="T-1", customer_id="C-1", category="logistics", priority="high",
                subject="快递没有更新", at=AT, actor="web")
    return store


def test_an_unknown_keyword_is_a_validation_error_naming_it() -> None:
    store = _store()
    with pytest.raises(ValidationError) as caught:
        fire_ticket(store, "T-1", "assign", at=AT, actor="lead", assignee="a1", asignee="a2")
    assert caught.value.field == "asignee"
    assert caught.value.value == "a2"
    assert store.tickets.get("T-1").version == 1  # nothing saved


@pytest.mark.parametrize("workflow", [None, "default", object()])
def test_a_workflow_that_is_none_is_refused(workflow: object) -> None:
    store = _store()
    with pytest.raises(ValidationError) as caught:
        fire_ticket(store, "T-1", "assign", at=AT, actor="lead", assignee="a1",
                    workflow=workflow)  # type: ignore[arg-type]
    assert caught.value.field == "workflow"
    with pytest.raises(ValidationError) as opened:
        open_ticket(store, id="T-2", customer_id="C-1", category="logistics",
                    priority="high", subject="x", at=AT, actor="web",
                    workflow=workflow)  # type: ignore[arg-type]
    assert opened.value.field == "workflow"
    assert store.tickets.count() == 1
