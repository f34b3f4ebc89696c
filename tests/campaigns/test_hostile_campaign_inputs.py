"""Hostile input found by hand: windows past the calendar, reports before the run."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from custmgmt.adapters.memory import MemoryStore
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.campaigns import (
    MAX_DAYS,
    FrequencyCap,
    MemoryNotifier,
    campaign_report,
    create_campaign,
    preview_audience,
    run_campaign,
)
from custmgmt.cli import main
from custmgmt.errors import ValidationError
from custmgmt.segmentation import Columns
from custmgmt.testing import make_customer
from custmgmt.testing.campaign_contract import make_campaign

CST = timezone(timedelta(hours=8))
RUN_AT = datetime(2026, 6, 18, 14, 0, tzinfo=CST)
REGISTERED = datetime(2025, 1, 1, tzinfo=CST)


def _store(n: int = 20) -> tuple[Any, Columns]:
    store = MemoryStore()
    ids = [f"H{i:03d}" for i in range(n)]
    for cid in ids:
        c = make_customer(id=cid, name="王芳", registered_at=REGISTERED)
        store.customers.add(c.with_consent("sms", True, at=REGISTERED + timedelta(days=1)))
    return store, Columns(ids, {"stars": [5] * n})


@pytest.mark.parametrize("days", [MAX_DAYS + 1, 99_999_999, 2**62])
def test_a_window_longer_than_a_century_is_refused_when_planned(days: int) -> None:
    with pytest.raises(ValidationError, match="attribution_days"):
        make_campaign(attribution_days=days)
    with pytest.raises(ValidationError, match="window_days"):
        FrequencyCap(messages=3, window_days=days)


def test_the_longest_windows_run_and_report_without_overflow() -> None:
    store, table = _store()
    create_campaign(store, make_campaign(
        holdout_share=0.5, quiet_hours=None, attribution_days=MAX_DAYS,
        frequency_cap=FrequencyCap(messages=3, window_days=MAX_DAYS)))
    assert sum(preview_audience(store, "C-1", table, at=RUN_AT).counts().values()) == 20
    run_campaign(store, "C-1", table, MemoryNotifier(), at=RUN_AT)
    report = campaign_report(store, "C-1", as_of=RUN_AT + timedelta(days=1), replicates=100)
    assert not report.window_complete


def test_a_report_as_of_before_the_run_is_refused_not_a_100_percent_loss() -> None:
    store, table = _store()
    create_campaign(store, make_campaign(holdout_share=0.5, quiet_hours=None))
    run_campaign(store, "C-1", table, MemoryNotifier(), at=RUN_AT)
    with pytest.raises(ValidationError, match="as_of"):
        campaign_report(store, "C-1", as_of=RUN_AT - timedelta(days=365), replicates=100)
    # The moment of the run itself is a (still empty) report.
    assert campaign_report(store, "C-1", as_of=RUN_AT, replicates=100).treated > 0


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "shop.sqlite3"
    with SQLiteStore(path) as store:
        store.customers.add(make_customer(id="H000", name="王芳", registered_at=REGISTERED))
    return path


@pytest.mark.parametrize(("extra", "option"), [
    (["--valid-days", "99999999"], "--valid-days"),
    (["--days", "99999999"], "--days"),
    (["--days", "0"], "--days"),
    (["--valid-days", "-5"], "--valid-days"),
    (["--attribution-days", "99999999999"], "--attribution-days"),
    (["--cap", "3/99999999"], "--cap"),
])
def test_plan_refuses_days_past_the_calendar_with_a_clear_error(
    db: Path, capsys: pytest.CaptureFixture[str], extra: list[str], option: str
) -> None:
    args = ["campaign", "--db", str(db), "plan", "BIG", "--name", "x", "--points", "10"]
    assert main(args + extra) == 2
    err = capsys.readouterr().err
    assert option in err
    assert "Traceback" not in err
    with SQLiteStore(db) as store:
        assert store.campaigns.list_campaigns() == []


@pytest.mark.parametrize("count", [2.7, "3", True, float("nan"), None])
def test_a_rate_refuses_counts_that_are_not_whole_numbers_rather_than_truncating(
    count: Any,
) -> None:
    from custmgmt.campaigns import Rate

    with pytest.raises(ValidationError, match=r"Rate\.numerator"):
        Rate(count, 5)
    with pytest.raises(ValidationError, match=r"Rate\.denominator"):
        Rate(0, count)


def test_a_rate_takes_numpy_counts_as_ints() -> None:
    import numpy as np

    from custmgmt.campaigns import Rate

    rate = Rate(np.int64(3), np.int32(5))
    assert (rate.numerator, rate.denominator) == (3, 5)
    assert type(rate.numerator) is int
    assert str(rate) == "60.0% (3 of 5)"


@pytest.mark.parametrize(("field", "kwargs"), [
    ("utc_offset_s", {"utc_offset_s": 10**15}),  # wrapped around int64 silently
    ("utc_offset_s", {"utc_offset_s": [0, 86_400]}),
    ("now_us", {"now_us": float("nan")}),
    ("now_us", {"now_us": 2**70}),
    ("past_send_us", {"past_send_codes": [0], "past_send_us": None}),
    ("past_send_codes", {"past_send_codes": [0.5], "past_send_us": [1]}),
])
def test_decide_audience_refuses_bad_clocks_and_logs_by_field(
    field: str, kwargs: dict[str, Any]
) -> None:
    import numpy as np

    from custmgmt.campaigns import decide_audience

    args: dict[str, Any] = {"now_us": 0, "salt": "s", "consent": np.array([True, True])}
    args.update(kwargs)
    with pytest.raises(ValidationError, match=field):
        decide_audience(np.array(["a", "b"]), **args)


def test_previewing_a_run_campaign_does_not_count_its_own_messages_against_the_cap() -> None:
    store, table = _store(40)
    create_campaign(store, make_campaign(
        holdout_share=0.25, quiet_hours=None, frequency_cap=FrequencyCap(messages=1,
                                                                         window_days=7)))
    # Another campaign's message to one customer still counts.
    create_campaign(store, make_campaign("C-0", holdout_share=0.0, quiet_hours=None,
                                         frequency_cap=None))
    run_campaign(store, "C-0", Columns(["H000"], {"stars": [5]}), MemoryNotifier(),
                 at=RUN_AT - timedelta(hours=1))
    ran = run_campaign(store, "C-1", table, MemoryNotifier(), at=RUN_AT)
    preview = preview_audience(store, "C-1", table, at=RUN_AT)
    assert preview.counts() == ran.counts
    assert not preview.ratio.mismatch
    from custmgmt.campaigns import SendReason

    assert ran.counts[SendReason.FREQUENCY_CAP] == 1


@pytest.mark.parametrize("seed", ["\ud800", "种子\udc80"])
def test_a_draw_seed_with_a_lone_surrogate_is_a_validation_error(seed: str) -> None:
    from custmgmt.campaigns import draw_winners

    with pytest.raises(ValidationError, match="seed"):
        draw_winners("D-1", campaign_id="L", entrants=["a", "b"], winners=1, seed=seed,
                     prize="p", at=RUN_AT)


def test_window_revenue_is_exact_in_minor_units_past_float_precision() -> None:
    import numpy as np

    from custmgmt.analytics.frames import OrderFrame
    from custmgmt.campaigns.effect import window_outcomes

    big = 9_999_999_999_999_999  # 99,999,999,999,999.99 CNY in fen: above 2**53
    frame = OrderFrame.from_arrays(customer_id=["a", "a", "b", "a"], placed_at=[10, 20, 10, 500],
                                   amount=[big, 2, 3, 7], currency="CNY")
    orders, revenue = window_outcomes(frame, np.array(["a", "b", "c"], dtype=object),
                                      np.array([0, 0, 0]), np.array([100, 100, 100]))
    assert orders.tolist() == [2, 1, 0]
    assert revenue.tolist() == [big + 2, 3, 0]
    assert revenue.dtype == np.int64


@pytest.mark.parametrize(("field", "amount"), [
    ("amount", "0.001"), ("amount", "10.005"), ("unit_cost", "0.001"),
])
def test_an_offer_finer_than_a_fen_is_refused_when_planned_not_when_reported(
    field: str, amount: str
) -> None:
    from decimal import Decimal

    from custmgmt.domain import Money
    from custmgmt.testing.campaign_contract import make_offer

    money = Money(Decimal(amount), "CNY")
    fields: dict[str, Any] = {field: money}
    if field == "unit_cost":
        fields["amount"] = Money(Decimal("5"), "CNY")
    with pytest.raises(ValidationError, match=f"Offer.{field}"):
        make_offer(**fields)


def test_a_sub_fen_coupon_is_a_clear_error_from_the_command_line(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["campaign", "--db", str(db), "plan", "FEN", "--name", "x", "--coupon", "0.001"]
    assert main(args) == 2
    assert "Offer.amount" in capsys.readouterr().err
    with SQLiteStore(db) as store:
        assert store.campaigns.list_campaigns() == []


@pytest.mark.parametrize("replicates", [10**12, 1_000_001])
def test_a_bootstrap_refuses_more_replicates_than_memory_holds(replicates: int) -> None:
    import numpy as np

    from custmgmt.campaigns import mean_uplift

    with pytest.raises(ValidationError, match="replicates"):  # was a numpy MemoryError
        mean_uplift(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0]), replicates=replicates)


def test_a_message_held_past_its_coupons_expiry_is_refused_not_sent_expired() -> None:
    from decimal import Decimal

    from custmgmt.domain import Money
    from custmgmt.testing.campaign_contract import make_offer

    store, table = _store()
    late = datetime(2026, 6, 18, 22, 0, tzinfo=CST)  # quiet hours: held until 09:00
    offer = make_offer(valid_until=datetime(2026, 6, 18, 23, 30, tzinfo=CST),
                       amount=Money(Decimal("20.00"), "CNY"))
    create_campaign(store, make_campaign(offers=(offer,), holdout_share=0.0))
    notifier = MemoryNotifier()
    with pytest.raises(ValidationError, match="valid_until"):
        run_campaign(store, "C-1", table, notifier, at=late)
    assert notifier.outbox == []
    assert store.campaigns.decisions("C-1") == []
    # Before quiet hours the same coupon goes out at once.
    run_campaign(store, "C-1", table, notifier, at=datetime(2026, 6, 18, 20, 0, tzinfo=CST))
    assert len(notifier.outbox) == 20
