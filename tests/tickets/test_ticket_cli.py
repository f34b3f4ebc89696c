"""``custmgmt tickets`` and the tickets demo section."""

from __future__ import annotations

import io
import random
from datetime import timedelta
from pathlib import Path

import pytest
from _ticket_support import PATHS, T0, new_ticket, walk

from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.cli import main
from custmgmt.cli.demo import DemoContext
from custmgmt.cli.demo_tickets import demo_section
from custmgmt.domain import Priority
from custmgmt.rating import current_stars
from custmgmt.testing import make_customer
from custmgmt.tickets import (
    DEFAULT_WORKFLOW,
    TicketEvent,
    TicketStatus,
    format_business_hours,
    open_ticket_report,
)


def fill(path: Path) -> None:
    with SQLiteStore(path) as store:
        # Monday 2024-09-23 09:00 +08:00; office hours 9-12, 13-18.
        store.tickets.add(new_ticket("T-new", priority=Priority.URGENT, subject="急"))
        store.tickets.add(walk(new_ticket("T-wait", at=T0 - timedelta(days=3)), [
            TicketEvent.ASSIGN, TicketEvent.START, TicketEvent.RESPOND,
            TicketEvent.WAIT_ON_CUSTOMER,
        ]))
        store.tickets.add(walk(new_ticket("T-done"), PATHS[TicketStatus.CLOSED]))
        store.tickets.add(new_ticket("T-late", at=T0 - timedelta(days=7), customer_id="C-2",
                                     priority=Priority.LOW))


def test_the_command_lists_open_tickets_with_their_sla_state(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "t.db"
    fill(path)
    assert main(["tickets", "--db", str(path), "--as-of", "2024-09-23T09:48"]) == 0
    out = capsys.readouterr().out
    assert "open tickets at 2024-09-23 09:48 +0800: 3" in out
    assert "T-done" not in out
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("  T-")}
    # urgent: 1 h first response, 48 min gone = 80 %: a warning with 12 min left
    assert "warning" in lines["T-new"]
    assert "first response: 0h12m left" in lines["T-new"]
    assert "breached" in lines["T-late"]
    assert "first response: late" in lines["T-late"]
    assert "paused" in lines["T-wait"]
    assert "urgent · stars -" in out
    assert out.index("urgent · stars") < out.index("low · stars")
    assert "SLA state by priority and stars" in out


def test_a_missing_database_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                        ) -> None:
    assert main(["tickets", "--db", str(tmp_path / "none.db")]) == 2
    assert "custmgmt: error: --db" in capsys.readouterr().err


def test_a_bad_time_zone_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "t.db"
    fill(path)
    assert main(["tickets", "--db", str(path), "--tz", "Mars/Olympus"]) == 2
    assert "--tz" in capsys.readouterr().err


def test_an_empty_store_lists_nothing(tmp_path: Path) -> None:
    with SQLiteStore(":memory:") as store:
        report = open_ticket_report(store, T0)
        assert report.counts == {}
        assert current_stars(store, T0) == {}
    assert report.format() == "open tickets at 2024-09-23 09:00 +0800: 0"


def test_business_time_is_shown_in_business_hours_never_in_24_hour_days() -> None:
    # Issue 11 item 13: 301.5 business hours is not "12d13h".
    assert format_business_hours(timedelta(hours=2, minutes=5)) == "2h05m"
    assert format_business_hours(timedelta(seconds=59)) == "0h00m"
    assert format_business_hours(timedelta(hours=130)) == "130h00m"
    assert format_business_hours(timedelta(hours=301, minutes=30)) == "301h30m"


def test_lateness_is_printed_in_business_hours_and_the_report_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "t.db"
    fill(path)
    # T-late: opened a week before T0, low priority (8 h first response); at T0 + 30 days
    # the lateness is far beyond a day and is still shown in business hours.
    assert main(["tickets", "--db", str(path), "--as-of", "2024-10-23T09:00"]) == 0
    out = capsys.readouterr().out
    assert "(SLA times in business hours of the calendar)" in out
    late = next(line for line in out.splitlines() if line.startswith("  T-late"))
    hours = int(late.split(": late ")[1].split("h")[0])
    # 37 calendar days from Monday 09:00 to a Wednesday 09:00: 27 working days of 8 h,
    # minus the 8 h target.
    assert hours == 27 * 8 - 8
    assert "d" not in late.split(": late ")[1]


def _demo_store(customers: int) -> SQLiteStore:
    store = SQLiteStore(":memory:")
    for i in range(customers):
        store.customers.add(make_customer(id=f"C-{i:02d}", name=f"客户{i}"))
    return store


DEMO_AS_OF = T0 + timedelta(days=30)


def _demo_output(store: SQLiteStore) -> str:
    out = io.StringIO()
    demo_section(DemoContext(store=store, as_of=DEMO_AS_OF, seed=1, out=out,
                             rng=random.Random(1)))
    return out.getvalue()


def test_the_demo_section_is_idempotent() -> None:
    with _demo_store(14) as store:

        def run() -> str:
            return _demo_output(store)

        first = run()
        assert store.tickets.count() == 13  # 12 tickets and one follow-up
        assert "opened 13 tickets" in first
        assert "survey 1/5: reopen" in first
        assert "DEMO-T10-R1" in first
        second = run()
        assert store.tickets.count() == 13
        assert "already stored: nothing added" in second
        # Both runs show the same SLA table.
        assert first[first.index("open tickets at"):] == second[second.index("open tickets at"):]
        statuses = {t.id: t.status for t in store.tickets.find()}
        assert statuses["DEMO-T06"] is TicketStatus.IN_PROGRESS
        assert statuses["DEMO-T07"] is TicketStatus.ESCALATED
        assert statuses["DEMO-T09"] is TicketStatus.CLOSED


def test_the_statistics_count_the_demo_tickets_only_on_every_run() -> None:
    # A second demo run on the same store prints the tickets section the first printed,
    # even after later sections stored more tickets for the same customers.
    with _demo_store(12) as store:
        as_of = DEMO_AS_OF

        def run() -> str:
            text = _demo_output(store)
            return text[text.index("per-customer"):]

        first = run()
        # What the service-team section does next: more (closed) tickets for C-00.
        for n in range(5):
            opened = DEFAULT_WORKFLOW.open(
                id=f"DEMO-S{n:03d}", customer_id="C-00", category="inquiry",
                priority="normal", subject="发票", at=as_of - timedelta(days=3), actor="web")
            store.tickets.add(DEFAULT_WORKFLOW.fire(
                opened, TicketEvent.CANCEL, at=opened.created_at + timedelta(hours=1),
                actor="agent", reason="重复"))
        second = run()
        assert second == first
        line = next(x for x in first.splitlines() if x.strip().startswith("C-00"))
        assert line.split()[1] == "1"
