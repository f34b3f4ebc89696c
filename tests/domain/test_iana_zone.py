"""Every reader of a time-zone name (schedules, campaigns, follow-ups, CSV and Parquet
times) takes only IANA names that mean the same zone on every machine: one rule,
``custmgmt.domain.time.iana_zone``."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from custmgmt.analytics.frames import OrderFrame
from custmgmt.campaigns._zones import zone as campaign_zone
from custmgmt.domain.time import iana_zone
from custmgmt.errors import ValidationError
from custmgmt.followup import FollowUpPlan

HOST_ONLY = ["localtime", "posixrules", "posix/Asia/Shanghai", "right/UTC", "", "utc",
             "/etc/localtime", "../zoneinfo/UTC", "Asia/Shanghai ", 8, None]  # fmt: skip


@pytest.mark.parametrize("name", HOST_ONLY)
def test_host_dependent_or_malformed_names_are_refused(name: object) -> None:
    with pytest.raises(ValidationError) as caught:
        iana_zone(name, "quiet_zone")
    assert caught.value.field == "quiet_zone"
    assert caught.value.value == name


@pytest.mark.parametrize("name", ["Asia/Shanghai", "UTC", "Etc/GMT+5", "America/New_York"])
def test_iana_names_load(name: str) -> None:
    assert str(iana_zone(name)) == name


@pytest.mark.parametrize("name", ["localtime", "posix/Asia/Shanghai"])
def test_campaign_and_follow_up_zones_refuse_the_hosts_zone(name: str) -> None:
    # Before, campaigns and follow-ups opened the host's /etc/localtime as a zone.
    with pytest.raises(ValidationError) as caught:
        campaign_zone(name)
    assert caught.value.field == "timezone"
    cst = iana_zone("Asia/Shanghai")
    with pytest.raises(ValidationError) as plan_error:
        FollowUpPlan(id="P-1", customer_id="C-1", cadence="FREQ=WEEKLY;BYHOUR=10",
                     timezone=name, starts_at=datetime(2026, 6, 1, tzinfo=cst),
                     channel="phone", owner="客服-王", goal="复购", content="回访",
                     created_at=datetime(2026, 5, 30, tzinfo=cst),
                     created_by="客服-王")  # fmt: skip
    assert plan_error.value.value == name


def test_csv_times_refuse_the_hosts_zone(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text("customer_id,placed_at,amount\nc1,2026-01-01,10.00\n", encoding="utf-8")
    with pytest.raises(ValidationError) as caught:
        OrderFrame.from_csv(path, currency="CNY", tz="localtime")
    assert (caught.value.field, caught.value.value) == ("tz", "localtime")
    frame = OrderFrame.from_csv(path, currency="CNY", tz="UTC")
    assert len(frame) == 1


def test_the_command_lines_tz_refuses_the_hosts_zone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from custmgmt.cli import main

    path = tmp_path / "orders.csv"
    path.write_text("customer_id,placed_at,amount\nc1,2026-01-01,10.00\n", encoding="utf-8")
    assert main(["rate", str(path), "--tz", "localtime"]) == 2
    assert "--tz: got 'localtime'" in capsys.readouterr().err
