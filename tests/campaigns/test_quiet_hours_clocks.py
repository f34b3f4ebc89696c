"""Quiet hours on the customer's own clock: across midnight, across daylight-saving
changes, and only in whole minutes."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custmgmt.adapters.memory import MemoryStore
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.campaigns import (
    MemoryNotifier,
    SendReason,
    create_campaign,
    preview_audience,
    run_campaign,
)
from custmgmt.campaigns.campaign import FrequencyCap, QuietHours
from custmgmt.campaigns.records import SendDecision
from custmgmt.errors import ValidationError
from custmgmt.segmentation import Columns
from custmgmt.testing import make_customer
from custmgmt.testing.campaign_contract import make_campaign, make_offer

BERLIN = ZoneInfo("Europe/Berlin")
T0 = datetime(2026, 1, 1, tzinfo=UTC)
# Zones and the days (2026) their clocks change on, early in the morning.
CHANGES = [("Europe/Berlin", datetime(2026, 3, 29)), ("Europe/Berlin", datetime(2026, 10, 25)),
           ("America/New_York", datetime(2026, 3, 8)), ("America/New_York", datetime(2026, 11, 1)),
           ("Australia/Sydney", datetime(2026, 4, 5)), ("Australia/Sydney", datetime(2026, 10, 4)),
           ("Asia/Shanghai", datetime(2026, 10, 25))]


def _store(kind: str, request: pytest.FixtureRequest | None = None) -> Any:
    if kind == "postgres":
        assert request is not None
        store = request.getfixturevalue("postgres_store")
    else:
        store = MemoryStore() if kind == "memory" else SQLiteStore(":memory:")
    registered = datetime(2025, 1, 1, tzinfo=UTC)
    store.customers.add(
        make_customer(id="n", registered_at=registered).with_consent("sms", True, at=registered)
    )
    return store


def _campaign(zone: str = "Europe/Berlin", quiet: QuietHours | None = None) -> Any:
    return make_campaign(
        timezone=zone, holdout_share=0.0, starts_at=T0, ends_at=T0 + timedelta(days=365),
        created_at=T0 - timedelta(days=1),
        offers=(make_offer(valid_from=T0, valid_until=T0 + timedelta(days=400)),),
        quiet_hours=quiet or QuietHours(start=time(21), end=time(9)),
    )


@pytest.mark.parametrize("kind", ["memory", "sqlite", "postgres"])
@pytest.mark.parametrize(
    ("late", "morning"),
    [
        # Clocks go back at 03:00 on 25 October: 09:00 is 08:00 UTC, not 07:00.
        (datetime(2026, 10, 24, 22, 0, tzinfo=BERLIN), datetime(2026, 10, 25, 8, 0, tzinfo=UTC)),
        # Clocks go forward at 02:00 on 29 March: 09:00 is 07:00 UTC, not 08:00.
        (datetime(2026, 3, 28, 22, 0, tzinfo=BERLIN), datetime(2026, 3, 29, 7, 0, tzinfo=UTC)),
        # After midnight, already on the new clock: no change in the window.
        (datetime(2026, 10, 25, 4, 0, tzinfo=BERLIN), datetime(2026, 10, 25, 8, 0, tzinfo=UTC)),
    ],
)
def test_a_message_held_across_a_clock_change_goes_at_the_local_end_of_quiet_hours(
    kind: str, late: datetime, morning: datetime, request: pytest.FixtureRequest
) -> None:
    store = _store(kind, request)
    try:
        create_campaign(store, _campaign())
        notifier = MemoryNotifier()
        run = run_campaign(store, "C-1", Columns(["n"], {"stars": [5]}), notifier, at=late)
        assert run.counts[SendReason.QUIET_HOURS] == 1
        (decision,) = store.campaigns.decisions("C-1")
        assert decision.send_at == morning
        assert decision.send_at.astimezone(BERLIN).time() == time(9)
        assert notifier.outbox[0].not_before == morning
    finally:
        store.close()


@settings(max_examples=60, deadline=None)
@given(
    change=st.sampled_from(CHANGES),
    minutes=st.integers(-12 * 60, 6 * 60),
    start=st.integers(0, 1439),
    end=st.integers(0, 1439),
)
def test_a_held_message_goes_when_the_window_ends_on_the_local_clock(
    change: tuple[str, datetime], minutes: int, start: int, end: int
) -> None:
    zone, night = change
    if start == end:
        return
    tz = ZoneInfo(zone)
    at = (night + timedelta(minutes=minutes)).replace(tzinfo=tz).astimezone(UTC)
    quiet = QuietHours(start=time(start // 60, start % 60), end=time(end // 60, end % 60))
    store = MemoryStore()
    registered = datetime(2025, 1, 1, tzinfo=UTC)
    store.customers.add(
        make_customer(id="n", registered_at=registered).with_consent("sms", True, at=registered)
    )
    create_campaign(store, _campaign(zone, quiet))
    preview = preview_audience(store, "C-1", Columns(["n"], {"stars": [5]}), at=at)
    if preview.reason_of("n") is not SendReason.QUIET_HOURS:
        return
    send_at = datetime.fromtimestamp(int(preview.decisions.send_at_us[0]) / 1e6, UTC)
    assert at < send_at <= at + timedelta(hours=25)
    local = send_at.astimezone(tz)
    wall = datetime.combine(local.date(), quiet.end, tzinfo=tz)
    exists = wall.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == wall.replace(
        tzinfo=None
    )
    if exists:
        assert local.time() == quiet.end
    else:  # the end falls in the hour skipped: the first minutes after it
        assert local.replace(tzinfo=None) > wall.replace(tzinfo=None)
        assert local.replace(tzinfo=None) - wall.replace(tzinfo=None) <= timedelta(hours=1)


def test_quiet_hours_start_and_end_in_different_minutes() -> None:
    # 21:00:30-21:00 was accepted, stored, then refused at every run ("quiet_end_min").
    for start, end in [(time(21, 0, 30), time(21, 0)), (time(9), time(9, 0, 0, 1))]:
        with pytest.raises(ValidationError, match=r"QuietHours\.end.*another minute"):
            QuietHours(start=start, end=end)
    # Seconds elsewhere are kept (stored campaigns still read back) and dropped when run.
    assert QuietHours(start=time(21, 0, 30), end=time(9, 0, 30)).minutes == (1260, 540)


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_a_message_that_would_be_held_past_the_calendar_is_refused_naming_at(kind: str) -> None:
    cst = ZoneInfo("Asia/Shanghai")
    start, end = datetime(9999, 12, 30, tzinfo=cst), datetime(9999, 12, 31, 23, 59, tzinfo=cst)
    store = _store(kind)
    try:
        create_campaign(store, make_campaign(
            timezone="Asia/Shanghai", holdout_share=0.0, starts_at=start, ends_at=end,
            created_at=start - timedelta(days=1),
            offers=(make_offer(valid_from=start - timedelta(days=1), valid_until=end),),
        ))
        late = datetime(9999, 12, 31, 22, 0, tzinfo=cst)  # quiet until 09:00 in year 10000
        table = Columns(["n"], {"stars": [5]})
        for attempt in (
            lambda: preview_audience(store, "C-1", table, at=late),
            lambda: run_campaign(store, "C-1", table, MemoryNotifier(), at=late),
        ):
            with pytest.raises(ValidationError) as raised:
                attempt()
            assert raised.value.field == "at"  # was "micros", an internal name
            assert "Asia/Shanghai" in str(raised.value)
        assert store.campaigns.decisions("C-1") == []
        assert store.campaigns.get_campaign("C-1").ran_at is None
    finally:
        store.close()


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
@pytest.mark.parametrize(
    ("sent_local", "counted"),
    [
        # 00:30 CEST on the 25th (22:30 UTC on the 24th): the same day as the run,
        # though on the run's clock (CET) it reads 23:30 on the 24th.
        (datetime(2026, 10, 25, 0, 30, tzinfo=BERLIN), True),
        (datetime(2026, 10, 24, 23, 30, tzinfo=BERLIN), False),
    ],
)
def test_the_frequency_cap_counts_a_send_on_the_calendar_day_it_went_across_a_clock_change(
    kind: str, sent_local: datetime, counted: bool
) -> None:
    store = _store(kind)
    try:
        create_campaign(store, _campaign("Europe/Berlin"))
        earlier = attrs.evolve(_campaign("Europe/Berlin"), id="E")
        create_campaign(store, earlier)
        store.campaigns.add_decisions([SendDecision(
            campaign_id="E", customer_id="n", reason=SendReason.SENT, channel="sms",
            decided_at=sent_local, send_at=sent_local, offer_index=0, message_id="E:n",
        )])
        capped = attrs.evolve(_campaign("Europe/Berlin"), id="CAP", quiet_hours=None,
                              frequency_cap=FrequencyCap(messages=1, window_days=1))
        create_campaign(store, capped)
        run_at = datetime(2026, 10, 25, 20, 0, tzinfo=BERLIN)
        run = run_campaign(store, "CAP", Columns(["n"], {"stars": [5]}), MemoryNotifier(),
                           at=run_at)
        reason = SendReason.FREQUENCY_CAP if counted else SendReason.SENT
        assert run.counts[reason] == 1
    finally:
        store.close()


def test_past_send_offsets_are_checked_like_the_other_arrays() -> None:
    from custmgmt.campaigns.audience import decide_audience

    common: dict[str, Any] = {
        "consent": [True], "now_us": 0, "salt": "s", "past_send_codes": [0],
        "past_send_us": [0], "cap": 1, "window_days": 1,
    }
    with pytest.raises(ValidationError, match="past_send_offset_s"):
        decide_audience(["a"], past_send_offset_s=[0, 0], **common)
    with pytest.raises(ValidationError, match="past_send_offset_s"):
        decide_audience(["a"], past_send_offset_s=[86_400], **common)
    # Its own offset decides the day: 23:30 UTC yesterday is today at +01:00.
    one_day = 86_400 * 1_000_000
    common.update(now_us=one_day + 3_600_000_000, past_send_us=[one_day - 1_800_000_000])
    assert decide_audience(["a"], past_send_offset_s=[3600], **common).counts()[
        SendReason.FREQUENCY_CAP] == 1
    assert decide_audience(["a"], past_send_offset_s=[0], **common).counts()[
        SendReason.SENT] == 1
