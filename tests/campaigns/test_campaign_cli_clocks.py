"""``custmgmt campaign`` across a daylight-saving change, and its offer options."""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.cli import main
from custmgmt.datasets import load_into, make_dataset

CST = timezone(timedelta(hours=8))
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("clocks") / "shop.sqlite3"
    with SQLiteStore(path) as store:
        load_into(store, make_dataset(n_customers=60, seed=5,
                                      as_of=datetime(2026, 6, 30, 23, 59, tzinfo=CST)))
    return path


def test_a_run_the_night_clocks_go_back_holds_messages_until_nine_local(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["campaign", "--db", str(db), "--tz", "Europe/Berlin"]
    everyone = json.dumps({"type": "compare", "feature": "frequency", "op": ">=", "value": 0})
    assert main([*base, "plan", "DST", "--name", "夜间", "--coupon", "5", "--audience", everyone,
                 "--starts",
                 "2026-10-24", "--days", "3", "--quiet", "21:00-09:00", "--holdout", "0"]) == 0
    assert main([*base, "run", "DST", "--as-of", "2026-10-24T22:00"]) == 0
    capsys.readouterr()
    with SQLiteStore(db) as store:
        held = [d.send_at for d in store.campaigns.decisions("DST") if d.send_at is not None]
    assert held
    # 09:00 CET is 08:00 UTC; it was 08:00 local (07:00 UTC), inside the quiet hours.
    assert {t.astimezone(BERLIN).time() for t in held} == {time(9)}
    assert {t.astimezone(BERLIN).date().isoformat() for t in held} == {"2026-10-25"}


@pytest.mark.parametrize("amount", ["-5", "0"])
def test_a_coupon_that_is_not_positive_is_refused_naming_coupon(
    db: Path, capsys: pytest.CaptureFixture[str], amount: str
) -> None:
    assert main(["campaign", "--db", str(db), "plan", "NEG", "--name", "x",
                 "--coupon", amount]) == 2
    err = capsys.readouterr().err
    assert "--coupon" in err  # was "Offer.unit_cost", an option never given
    assert "unit_cost" not in err
