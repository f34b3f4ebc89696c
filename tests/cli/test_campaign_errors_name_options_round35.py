"""``custmgmt campaign`` errors name the command's options and show what was typed.

They named the library's fields and parameters instead: ``Campaign.holdout_share:
got 0.9``, ``Offer.unit_cost: got Money(amount=Decimal('-1'), ...)``,
``FrequencyCap.messages: got 0`` (for ``--cap 0/7``), ``rule.type: got None``,
``replicates: got 5``, ``seed: got -1`` and, for a ``report --as-of`` before the run,
``as_of: got datetime.datetime(2026, 5, 1, 23, 59, ... ZoneInfo(ke...`` cut off
mid-zone.
"""

from __future__ import annotations

import io
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.cli import demo_engagement, main
from custmgmt.cli.demo_context import DemoContext
from custmgmt.cli.demo_engagement import DEMO_CAMPAIGN_ID
from custmgmt.datasets import load_into, make_dataset

CST = timezone(timedelta(hours=8))
AS_OF = datetime(2026, 6, 30, 23, 59, tzinfo=CST)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("campaign-errors") / "shop.sqlite3"
    with SQLiteStore(path) as store:
        load_into(store, make_dataset(n_customers=120, seed=3, as_of=AS_OF))
        demo_engagement.demo_section(DemoContext(store=store, as_of=AS_OF, seed=7,
                                                 out=io.StringIO(), rng=random.Random(7)))
    return path


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--coupon", "5", "--holdout", "0.9"], "--holdout: got 0.9, expected a share"),
        (["--coupon", "5", "--template", "{nope}"], "--template: got '{nope}', expected"),
        (["--coupon", "5", "--attribution-days", "0"], "--attribution-days: got 0, expected"),
        (["--percent", "150"], "--percent: got '150', expected"),
        (["--points", "-5"], "--points: got -5, expected"),
        (["--coupon", "5", "--cost", "-1"], "--cost: got '-1', expected"),
        (["--coupon", "5", "--cap", "0/7"], "--cap: got '0/7', expected"),
        (["--coupon", "5", "--cap", "3/0"], "--cap: got '3/0', expected"),
        (["--coupon", "5", "--audience", "{}"], "--audience: got '{}', expected rule.type"),
    ],
)
def test_plan_errors_name_the_option_and_what_was_typed(
    db: Path, capsys: pytest.CaptureFixture[str], options: list[str], expected: str
) -> None:
    assert main(["campaign", "--db", str(db), "plan", "BAD", "--name", "x", *options]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(f"custmgmt: error: {expected}")
    assert captured.err.count("\n") == 1
    with SQLiteStore(db, mode="read_only") as store:
        assert [c.id for c in store.campaigns.list_campaigns()] == [DEMO_CAMPAIGN_ID]


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--as-of", "2026-05-01"],
         "--as-of: got '2026-05-01T23:59:59.999999+08:00', expected a moment after"),
        (["--as-of", "2026-06-30", "--replicates", "5"], "--replicates: got 5, expected"),
        (["--as-of", "2026-06-30", "--seed", "-1"], "--seed: got -1, expected"),
    ],
)
def test_report_errors_name_the_option(
    db: Path, capsys: pytest.CaptureFixture[str], options: list[str], expected: str
) -> None:
    assert main(["campaign", "--db", str(db), "report", DEMO_CAMPAIGN_ID, *options]) == 2
    assert capsys.readouterr().err.startswith(f"custmgmt: error: {expected}")
