"""The demo's risk section: grades, alerts, one restriction and its appeal; reruns add nothing."""

from __future__ import annotations

import io
import random
from pathlib import Path

from _risk_support import AS_OF, fill

from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.cli.demo_context import DemoContext
from custmgmt.cli.demo_risk import DEMO_APPEAL_ID, DEMO_CARD, DEMO_RESTRICTION_ID, demo_section
from custmgmt.risk import AppealStatus, RestrictionStatus


def run_section(store: SQLiteStore) -> str:
    out = io.StringIO()
    demo_section(DemoContext(store=store, as_of=AS_OF, seed=1, out=out, rng=random.Random(1)))
    return out.getvalue()


def test_the_section_tells_the_story_once_and_a_rerun_adds_nothing(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "demo.sqlite3")
    fill(store)
    first = run_section(store)
    assert "scored every customer for this quarter" in first
    assert f"grades of run {DEMO_CARD.name}-v1-2025Q2" in first
    assert "current alerts:" in first
    restriction = store.risk.get_restriction(DEMO_RESTRICTION_ID)
    assert restriction.status is RestrictionStatus.LIFTED
    assert [e.action for e in restriction.events] == ["imposed", "appealed", "lifted"]
    assert store.risk.get_appeal(DEMO_APPEAL_ID).status is AppealStatus.OVERTURNED
    assert "overturn     -> overturned" in first
    assert f"service ticket {DEMO_APPEAL_ID}-T: closed" in first
    counts = (len(store.risk.score_runs()), len(store.risk.find_alerts()),
              len(store.risk.find_restrictions()), len(store.risk.find_appeals()))
    second = run_section(store)
    assert "already stored: nothing scored" in second
    assert "nothing added" in second
    assert (len(store.risk.score_runs()), len(store.risk.find_alerts()),
            len(store.risk.find_restrictions()), len(store.risk.find_appeals())) == counts
    store.close()
