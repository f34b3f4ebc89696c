"""Campaign reports show money at the currency's minor-unit digits: 3 for KWD, 0 for
JPY, 2 for CNY. Before, uplift, ROI cost, incremental revenue, per-group revenue and an
activity's sales were printed with two decimals whatever the currency (a 1.001 KWD
cost printed ``on cost 1.00``, a JPY revenue uplift ``+500.00``).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custmgmt.adapters.memory import MemoryStore
from custmgmt.campaigns import (
    MemoryNotifier,
    SendReason,
    analyse_uplift,
    campaign_report,
    create_campaign,
    mean_uplift,
    record_draw,
    run_campaign,
)
from custmgmt.campaigns.effect import GroupUplift, RoiEstimate, uplift_by_group
from custmgmt.campaigns.services import ActivitySummary
from custmgmt.campaigns.stats import Rate, Uplift, rate_uplift
from custmgmt.domain import Money
from custmgmt.errors import ValidationError
from custmgmt.segmentation import Columns
from custmgmt.testing import make_customer, make_order, make_order_line
from custmgmt.testing.campaign_contract import make_campaign, make_offer

CST = timezone(timedelta(hours=8))
RUN_AT = datetime(2026, 6, 18, 14, 0, tzinfo=CST)
REGISTERED = datetime(2025, 1, 1, tzinfo=CST)
DIGITS = {"KWD": 3, "JPY": 0, "CNY": 2}


def _report(digits: int, cost_minor: int, scale: int) -> Any:
    # treated: two buyers of 2 and 1 units; control: one buyer of 1 unit
    t_orders, c_orders = np.array([1, 1, 0]), np.array([1, 0, 0])
    t_rev = np.array([2, 1, 0]) * scale
    c_rev = np.array([1, 0, 0]) * scale
    return analyse_uplift(t_orders, t_rev, c_orders, c_rev, cost_minor=cost_minor,
                          digits=digits, replicates=100, seed=1)


def test_the_roi_cost_shows_the_kwd_fils() -> None:
    # The repro: 1.001 KWD printed "on cost 1.00".
    report = _report(3, 1_001, 1_000)
    assert report.digits == 3
    assert report.roi.digits == 3
    assert " on cost 1.001 (incremental revenue 2.000)" in str(report.roi)


@pytest.mark.parametrize(
    ("digits", "scale", "rpc", "aov", "roi"),
    [(3, 1_000, "treated 1.000 (n=3) vs control 0.333 (n=3); uplift +0.667",
      "treated 1.500 (n=2) vs control 1.000 (n=1); uplift +0.500",
      "on cost 0.500 (incremental revenue 2.000)"),
     (0, 1, "treated 1 (n=3) vs control 0 (n=3); uplift +1",
      "treated 2 (n=2) vs control 1 (n=1); uplift +0",
      "on cost 500 (incremental revenue 2)"),
     (2, 100, "treated 1.00 (n=3) vs control 0.33 (n=3); uplift +0.67",
      "treated 1.50 (n=2) vs control 1.00 (n=1); uplift +0.50",
      "on cost 5.00 (incremental revenue 2.00)")],
)  # fmt: skip
def test_every_money_line_of_the_uplift_report_has_the_currency_digits(
    digits: int, scale: int, rpc: str, aov: str, roi: str
) -> None:
    report = _report(digits, 500, scale)
    conversion, revenue, order_value, return_on_cost = report.lines()
    assert "66.7% (2 of 3) vs control 33.3% (1 of 3)" in conversion  # a rate: as before
    assert revenue.startswith(f"revenue per customer: {rpc} [")
    assert order_value.startswith(f"average order value: {aov} [")
    assert return_on_cost.endswith(roi)
    interval = re.search(r"uplift \S+ \[(\S+), (\S+)\]", revenue)
    assert interval is not None
    for end in interval.groups():  # the interval's ends too
        assert re.fullmatch(r"[+-][\d,]+" + (rf"\.\d{{{digits}}}" if digits else ""), end)
    assert rpc in report.summary()  # the notebook summary shows the same lines


@settings(max_examples=60, deadline=None)
@given(cost_minor=st.integers(min_value=1, max_value=10**13),
       currency=st.sampled_from(sorted(DIGITS)))
def test_the_roi_prints_back_the_exact_cost(cost_minor: int, currency: str) -> None:
    digits = DIGITS[currency]
    report = _report(digits, cost_minor, 10**digits)
    exact = f"{Decimal(cost_minor).scaleb(-digits):,.{digits}f}"
    assert f" on cost {exact} (" in str(report.roi)


def test_without_a_cost_the_incremental_revenue_has_the_currency_digits() -> None:
    roi = _report(3, 0, 1_000).roi
    assert str(roi) == "ROI: n/a (no cost); incremental revenue 2.000"
    assert str(RoiEstimate(value=None, low=None, high=None, incremental_revenue=2.0,
                           cost=0.0)) == "ROI: n/a (no cost); incremental revenue 2.00"


def test_the_revenue_uplift_per_group_has_the_currency_digits() -> None:
    t_ids, c_ids = np.array(["a", "b"]), np.array(["c", "d"])
    treated = (np.array([1, 1]), np.array([1_234, 2_001]))
    control = (np.array([1, 0]), np.array([1_000, 0]))
    labels = {"a": "5", "b": "5", "c": "5", "d": "5"}
    (group,) = uplift_by_group("stars", labels, t_ids, treated, c_ids, control, digits=3,
                               replicates=100)
    assert group.digits == 3
    r = group.revenue_per_customer
    assert r is not None
    assert str(r).startswith("revenue per customer: treated 1.617 (n=2) vs control 0.500")
    assert f"revenue/customer +1.117 [{r.low:+,.3f}, {r.high:+,.3f}]" in str(group)
    (yen,) = uplift_by_group("stars", labels, t_ids, treated, c_ids, control, digits=0,
                             replicates=100)
    assert "revenue/customer +1,118 [" in str(yen)  # 1617.5 - 500 = 1117.5: to even


def test_a_group_uplift_made_by_hand_keeps_two_decimals() -> None:
    conversion = rate_uplift(Rate(1, 2), Rate(0, 2))
    rpc = mean_uplift(np.array([1.5, 0.0]), np.array([0.0, 0.0]), replicates=100)
    group = GroupUplift(by="stars", label="5", conversion=conversion, revenue_per_customer=rpc)
    assert "revenue/customer +0.75 [" in str(group)
    assert "treated 0.75 (n=2)" in str(rpc)


def test_an_activity_s_sales_have_the_currency_digits() -> None:
    def summary(digits: int) -> str:
        return str(ActivitySummary(participants=3, winners=1, sales=1234.5, buyers=Rate(2, 3),
                                   feedback=1, mean_rating=4.0, digits=digits))

    assert "sales 1,234.500, 1 reviews/feedback" in summary(3)
    assert "sales 1,234, 1 reviews/feedback" in summary(0)  # 1234.5: to even
    assert "sales 1,234.50, 1 reviews/feedback" in summary(2)


@pytest.mark.parametrize("bad", [-1, 5, 2.5, True, "3", None])
def test_bad_digits_are_refused_naming_the_field(bad: Any) -> None:
    with pytest.raises(ValidationError, match="digits") as caught:
        analyse_uplift(np.array([1]), np.array([1]), np.array([1]), np.array([1]),
                       cost_minor=1, digits=bad, replicates=100)
    assert caught.value.field == "digits"
    with pytest.raises(ValidationError, match=r"Uplift\.digits"):
        Uplift(metric="m", treated=1.0, control=0.0, estimate=1.0, low=0.0, high=2.0,
               confidence=0.95, p_value=0.5, method="normal", n_treated=1, n_control=1,
               digits=bad)
    with pytest.raises(ValidationError, match=r"ActivitySummary\.digits"):
        ActivitySummary(participants=1, winners=0, sales=0.0, buyers=Rate(0, 1), feedback=0,
                        mean_rating=None, digits=bad)


# -- the campaign report from a store -------------------------------------------------------
def _kwd_shop(store: MemoryStore) -> None:
    ids = [f"S{i:03d}" for i in range(40)]
    for cid in ids:
        customer = make_customer(id=cid, name="王芳", registered_at=REGISTERED)
        store.customers.add(customer.with_consent("sms", True, at=REGISTERED + timedelta(days=1)))
    fils = Money(Decimal("1.001"), "KWD")
    offer = make_offer(amount=fils, unit_cost=fils, description="1.001 KWD off")
    create_campaign(store, make_campaign(holdout_share=0.5, quiet_hours=None, offers=(offer,)))
    run_campaign(store, "C-1", Columns(ids, {"stars": [5] * 40}), MemoryNotifier(), at=RUN_AT)
    for k, d in enumerate(store.campaigns.decisions("C-1")):
        if d.reason is SendReason.SENT or k % 4 == 0:
            line = make_order_line(unit_price=Money(Decimal("12.345"), "KWD"))
            store.orders.add(make_order(id=f"O{k}", customer_id=d.customer_id,
                                        placed_at=RUN_AT + timedelta(days=2), lines=[line]))


def test_a_kwd_campaign_report_prints_fils() -> None:
    store = MemoryStore()
    _kwd_shop(store)
    report = campaign_report(store, "C-1", as_of=RUN_AT + timedelta(days=20), replicates=100,
                             groups={"stars": {f"S{i:03d}": "5" for i in range(40)}})
    assert report.uplift is not None
    treated = report.treated
    text = "\n".join(report.lines())
    cost = f"{Decimal('1.001') * treated:,.3f}"
    assert f" on cost {cost} (incremental revenue " in text
    assert re.search(r"revenue per customer: treated 12\.345 \(n=\d+\) vs control \d+\.\d{3} ",
                     text)
    assert "average order value: treated 12.345 " in text
    assert re.search(r"stars=5: .*revenue/customer [+-]\d+\.\d{3} \[", text)


def test_a_kwd_lottery_s_sales_print_fils() -> None:
    store = MemoryStore()
    ids = [f"S{i:03d}" for i in range(4)]
    for cid in ids:
        customer = make_customer(id=cid, name="王芳", registered_at=REGISTERED)
        store.customers.add(customer.with_consent("sms", True, at=REGISTERED + timedelta(days=1)))
    fils = Money(Decimal("0.500"), "KWD")
    offer = make_offer(amount=fils, unit_cost=fils, description="0.5 KWD off")
    create_campaign(store, make_campaign("L", kind="lottery", holdout_share=0.0,
                                         quiet_hours=None, offers=(offer,)))
    run_campaign(store, "L", Columns(ids, {"stars": [5] * 4}), MemoryNotifier(), at=RUN_AT)
    record_draw(store, "L", draw_id="D-1", entrants=ids, winners=1, seed="s", prize="p",
                at=RUN_AT)
    line = make_order_line(unit_price=Money(Decimal("1234.567"), "KWD"))
    store.orders.add(make_order(id="O1", customer_id=ids[0],
                                placed_at=RUN_AT + timedelta(days=2), lines=[line]))
    report = campaign_report(store, "L", as_of=RUN_AT + timedelta(days=20), replicates=100)
    assert report.activity is not None
    assert "sales 1,234.567, " in str(report.activity)
