"""``custmgmt campaign`` and ``custmgmt followups`` on a demo store, and the demo section."""

from __future__ import annotations

import io
import json
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.cli import main
from custmgmt.cli.demo import DemoContext
from custmgmt.cli.demo_engagement import DEMO_CAMPAIGN_ID, demo_section
from custmgmt.datasets import load_into, make_dataset

CST = timezone(timedelta(hours=8))
AS_OF = datetime(2026, 6, 30, 23, 59, tzinfo=CST)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("eng") / "shop.sqlite3"
    with SQLiteStore(path) as store:
        load_into(store, make_dataset(n_customers=150, seed=3, as_of=AS_OF))
    return path


def test_the_demo_section_plans_approves_runs_and_reports_once(db: Path) -> None:
    with SQLiteStore(db) as store:
        out = io.StringIO()
        demo_section(DemoContext(store=store, as_of=AS_OF, seed=7, out=out,
                                 rng=random.Random(7)))
        text = out.getvalue()
        assert "pending_approval (approver 运营经理-李)" in text
        assert "approved by 运营经理-李" in text
        assert "no_consent" in text
        assert "messages handed to the in-memory notifier" in text
        assert "conversion: treated" in text
        assert "holdout" in text
        decisions = store.campaigns.count_decisions(DEMO_CAMPAIGN_ID)
        plans = len(store.followups.plans())
        again = io.StringIO()
        demo_section(DemoContext(store=store, as_of=AS_OF, seed=7, out=again,
                                 rng=random.Random(7)))
        assert store.campaigns.count_decisions(DEMO_CAMPAIGN_ID) == decisions
        assert len(store.followups.plans()) == plans
        assert "ran on" in again.getvalue()
        # The same report both times: the analysis is seeded.
        tail = [line for line in text.splitlines() if line.startswith("conversion:")]
        assert tail
        assert tail[0] in again.getvalue()


def test_plan_preview_run_report_and_list_from_the_command_line(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rule = json.dumps({"type": "compare", "feature": "activity=active", "op": "==", "value": 1})
    assert main(["campaign", "--db", str(db), "plan", "CLI-1", "--name", "周末闪购",
                 "--audience", rule, "--coupon", "15", "--holdout", "0.5",
                 "--starts", "2026-05-01T10:00", "--quiet", "none"]) == 0
    assert "CLI-1  周末闪购" in capsys.readouterr().out
    assert main(["campaign", "--db", str(db), "preview", "CLI-1",
                 "--as-of", "2026-05-01T10:30"]) == 0
    preview = capsys.readouterr().out
    assert "candidates selected" in preview
    assert "frequency_cap" in preview
    assert main(["campaign", "--db", str(db), "run", "CLI-1", "--as-of", "2026-05-01T10:30"]) == 0
    assert "messages handed to the in-memory notifier" in capsys.readouterr().out
    assert main(["campaign", "--db", str(db), "report", "CLI-1", "--as-of", "2026-06-30",
                 "--replicates", "200"]) == 0
    report = capsys.readouterr().out
    assert "revenue per customer" in report
    assert "ROI" in report
    assert "value tiers=" in report
    assert main(["campaign", "--db", str(db), "report", "CLI-1", "--as-of", "2026-06-30",
                 "--replicates", "200", "--by-segment", "shoe sizes"]) == 2
    assert "--by-segment" in capsys.readouterr().err
    assert main(["campaign", "--db", str(db), "list"]) == 0
    assert "ran 2026-05-01" in capsys.readouterr().out


def test_bad_campaign_options_are_clear_errors(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["campaign", "--db", str(db), "plan", "BAD", "--name", "x", "--coupon", "5"]
    for extra, words in ((["--holdout", "0.7"], "--holdout"), (["--cap", "3"], "--cap"),
                         (["--quiet", "9-5"], "--quiet"),
                         (["--template", "{name}{shoe}"], "template"),
                         (["--audience", "{"], "rule")):
        assert main(base + extra) == 2
        assert words in capsys.readouterr().err
    assert main(["campaign", "--db", str(db), "run", "NOPE"]) == 2
    assert "not found" in capsys.readouterr().err
    assert main(["campaign", "--db", str(db) + ".missing", "list"]) == 2


def test_followups_lists_due_overdue_and_care(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["followups", "--db", str(db), "--due", "2026-06-30", "--care",
                 "--holiday", "2026-06-30=测试节"]) == 0
    out = capsys.readouterr().out
    assert "follow-ups due on 2026-06-30" in out
    assert "overdue" in out
    assert "测试节" in out
    assert main(["followups", "--db", str(db), "--due", "30/06/2026"]) == 2
    assert "--due" in capsys.readouterr().err
