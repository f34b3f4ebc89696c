"""The demo's campaign report groups customers by the stars they had when the campaign
ran, as ``custmgmt campaign report`` does.

It grouped them by the stars rated at the demo's ``--as-of``, 45 days after the
campaign: those depend on what the campaign made customers buy (a treated buyer moved
up a level), so the per-star uplifts compared unlike customers, and differed from what
``campaign report`` printed for the same campaign on the same store.
"""

from __future__ import annotations

import io
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.cli import demo_engagement, demo_rating, main
from custmgmt.cli.demo_context import DemoContext
from custmgmt.cli.demo_engagement import DEMO_CAMPAIGN_ID
from custmgmt.datasets import load_into, make_dataset
from custmgmt.rating import current_stars

CST = timezone(timedelta(hours=8))
AS_OF = datetime(2026, 6, 30, 23, 59, tzinfo=CST)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("stars") / "shop.sqlite3"
    out = io.StringIO()
    with SQLiteStore(path) as store:
        load_into(store, make_dataset(n_customers=300, seed=3, as_of=AS_OF))
        ctx = DemoContext(store=store, as_of=AS_OF, seed=7, out=out, rng=random.Random(7))
        demo_rating.demo_section(ctx)
        demo_engagement.demo_section(ctx)
    return path, out.getvalue()


def _star_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("stars=")]


def test_the_demo_groups_the_campaign_by_the_stars_at_its_run(
    demo_db: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, _ = demo_db
    seen: list[Any] = []
    real = demo_engagement.campaign_report

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs.get("groups"))
        return real(*args, **kwargs)

    monkeypatch.setattr(demo_engagement, "campaign_report", spy)
    with SQLiteStore(path) as store:
        ran_at = store.campaigns.get_campaign(DEMO_CAMPAIGN_ID).ran_at
        assert ran_at is not None
        then = current_stars(store, ran_at)
        now = current_stars(store, AS_OF)
        demo_engagement.demo_section(DemoContext(
            store=store, as_of=AS_OF, seed=7, out=io.StringIO(), rng=random.Random(7)))
    assert then, "the rating section rates at the run in effect when the campaign ran"
    assert then != now  # else this test could not tell the two apart
    (groups,) = seen
    assert groups["stars"] == {cid: str(s) for cid, s in then.items()}


def test_the_demo_and_campaign_report_print_the_same_star_breakdown(
    demo_db: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    path, text = demo_db
    assert main(["campaign", "--db", str(path), "report", DEMO_CAMPAIGN_ID,
                 "--as-of", AS_OF.isoformat(), "--replicates", "1000", "--seed", "7",
                 "--by-segment", "none"]) == 0
    printed = _star_lines(capsys.readouterr().out)
    assert printed
    assert _star_lines(text) == printed
