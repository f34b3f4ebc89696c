"""Round 35e: Chinese ticket, customer and agent ids keep the printed columns aligned.

Before, ``open_ticket_report().format()`` and ``custmgmt team`` padded ids by
characters, so a CJK id (two terminal columns per character) pushed its line's
columns right of the others.
"""

from __future__ import annotations

import io
import unicodedata
from datetime import datetime, timedelta, timezone

from custmgmt.adapters.memory import MemoryStore
from custmgmt.cli.team import print_team
from custmgmt.team.agents import Agent
from custmgmt.team.services import add_agent, assign_ticket
from custmgmt.testing import make_customer
from custmgmt.tickets import default_calendar, open_ticket_report
from custmgmt.tickets.services import open_ticket

AT = datetime(2026, 3, 2, 9, tzinfo=timezone(timedelta(hours=8)))


def _columns(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _where(line: str, word: str) -> int:
    return _columns(line[: line.index(word)])


def _store() -> MemoryStore:
    store = MemoryStore()
    for cid in ("C-1", "客户甲"):
        store.customers.add(make_customer(id=cid))
    for agent_id in ("a1", "客服甲"):
        add_agent(store, Agent(id=agent_id, name="张三", role="agent", teams={"华东组"},
                               skills={"logistics"}))
    for tid, cid, agent in (("T-1", "C-1", "a1"), ("工单一", "客户甲", "客服甲")):
        open_ticket(store, id=tid, customer_id=cid, category="logistics", priority="high",
                    subject="快递没有更新", at=AT, actor="web")
        assign_ticket(store, tid, method="manual", agent_id=agent, at=AT, actor="lead")
    return store


def test_open_ticket_report_columns() -> None:
    text = open_ticket_report(_store(), AT + timedelta(hours=1),
                              calendar=default_calendar("Asia/Shanghai")).format()
    lines = [ln for ln in text.splitlines() if "logistics" in ln]
    assert len(lines) == 2
    assert len({_where(ln, "logistics") for ln in lines}) == 1


def test_team_table_columns() -> None:
    out = io.StringIO()
    print_team(_store(), AT, AT + timedelta(days=1), out)
    lines = [ln for ln in out.getvalue().splitlines() if "华东组" in ln and "medians" not in ln]
    assert len(lines) >= 2
    assert len({_where(ln, "华东组") for ln in lines}) == 1
