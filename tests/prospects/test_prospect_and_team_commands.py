"""The demo sections and the ``prospects`` and ``team`` commands."""

from __future__ import annotations

import io
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.cli import main
from custmgmt.cli.demo_context import DemoContext
from custmgmt.cli.demo_prospects import DEMO_PROSPECTS
from custmgmt.cli.demo_prospects import demo_section as prospects_section
from custmgmt.cli.demo_team import DEMO_AGENTS, DEMO_TEAM_TICKETS
from custmgmt.cli.demo_team import demo_section as team_section
from custmgmt.testing import make_customer, make_interaction

AS_OF = datetime(2026, 6, 30, 23, 59, tzinfo=timezone(timedelta(hours=8)))


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    path = tmp_path_factory.mktemp("demo") / "demo.sqlite3"
    outputs = []
    with SQLiteStore(path) as store:
        for i in range(20):
            store.customers.add(make_customer(id=f"C-{i:02d}", name=f"客户{i}",
                                              registered_at=AS_OF - timedelta(days=400)))
        for i in range(5):
            store.interactions.add(make_interaction(id=f"I-{i}", customer_id=f"C-{i:02d}",
                                                    kind="cart" if i % 2 else "browse",
                                                    at=AS_OF - timedelta(days=9)))
        for _ in range(2):
            out = io.StringIO()
            ctx = DemoContext(store=store, as_of=AS_OF, seed=7, out=out, rng=random.Random(7))
            team_section(ctx)
            prospects_section(ctx)
            outputs.append(out.getvalue())
        counts = (store.tickets.count(), store.agents.count(), store.assignments.count(),
                  store.prospects.count(), store.customers.count(),
                  len(store.prospects.contacts()))
        assert counts[:3] == (DEMO_TEAM_TICKETS, len(DEMO_AGENTS), DEMO_TEAM_TICKETS)
        assert counts[3] == DEMO_PROSPECTS + 5
    return path, outputs


def test_the_demo_sections_run_twice_without_duplicating(
    demo_db: tuple[Path, list[str]],
) -> None:
    first, second = demo_db[1]
    assert "opened and assigned 160 tickets" in first
    assert "already stored: nothing added" in second
    assert "leads found in the store (browsing or cart, no order): 5 new" in first
    assert "leads found in the store (browsing or cart, no order): 0 new" in second
    assert "requested the move and cannot approve it" in first
    # Everything after the story is printed from the store: the same both times.
    assert first[first.index("funnel of"):] == second[second.index("funnel of"):]
    assert first[first.index("service team, tickets"):first.index("Prospects:")] == \
        second[second.index("service team, tickets"):second.index("Prospects:")]


def test_the_demo_prints_the_funnel_the_team_table_and_no_names(
    demo_db: tuple[Path, list[str]],
) -> None:
    first = demo_db[1][0]
    assert "not measurable (no ticket in the period)" in first
    assert "a09" in first  # on leave: shown, not measurable
    assert "won" in first
    assert "win rate" in first
    assert "weekly development report" in first
    for _, name, *_ in DEMO_AGENTS:
        assert name not in first
    assert "杭州恒达贸易有限公司" not in first


def test_the_commands_read_the_store(demo_db: tuple[Path, list[str]],
                                     capsys: pytest.CaptureFixture[str]) -> None:
    path = str(demo_db[0])
    assert main(["team", "--db", path, "--from", "2026-05-01", "--to", "2026-06-30"]) == 0
    out = capsys.readouterr().out
    assert "a01" in out
    assert "not measurable" in out
    assert main(["prospects", "--db", path, "--as-of", "2026-06-30", "--week",
                 "2026-06-10"]) == 0
    out = capsys.readouterr().out
    assert "funnel of 45 prospects" in out
    assert "week of 2026-06-08" in out


def test_the_commands_refuse_a_period_ending_before_it_starts(
    demo_db: tuple[Path, list[str]], capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["team", "--db", str(demo_db[0]), "--from", "2026-06-30",
                 "--to", "2026-06-01"]) == 2
    assert "--to" in capsys.readouterr().err


def test_the_commands_on_a_store_without_prospects_or_team(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "plain.sqlite3"
    with SQLiteStore(path) as store:
        store.customers.add(make_customer(id="C-1"))
    assert main(["prospects", "--db", str(path)]) == 0
    assert main(["team", "--db", str(path)]) == 0
    out = capsys.readouterr().out
    assert "no prospects stored" in out
    assert "no service team stored" in out
