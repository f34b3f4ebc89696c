"""Care reminders (stale profiles, birthdays, holidays, repurchase) and follow-up effects."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from custmgmt.domain import Money
from custmgmt.errors import ValidationError
from custmgmt.followup import (
    CarePolicy,
    ReminderKind,
    birthday_on,
    birthday_reminders,
    evaluate_followup_effect,
    holiday_reminders,
    profile_reminders,
    repurchase_reminders,
)
from custmgmt.followup.effect import spend_bands
from custmgmt.testing import make_customer, make_order, make_order_line

CST = timezone(timedelta(hours=8))
REG = datetime(2020, 1, 1, tzinfo=CST)


@given(st.dates(min_value=date(1904, 1, 1), max_value=date(2020, 12, 31)),
       st.integers(1901, 2200), st.sampled_from(["feb28", "mar1"]))
def test_every_birthday_falls_once_a_year_in_its_month_or_the_documented_day(
    birth: date, year: int, rule: str
) -> None:
    day = birthday_on(birth, year, rule)
    assert day.year == year
    if (birth.month, birth.day) == (2, 29):
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        assert day == (date(year, 2, 29) if leap
                       else date(year, 2, 28) if rule == "feb28" else date(year, 3, 1))
    else:
        assert (day.month, day.day) == (birth.month, birth.day)


def test_birthdays_are_found_in_the_customers_own_time_zone() -> None:
    leapling = make_customer(id="leap", birth_date=date(2000, 2, 29), registered_at=REG)
    ny = make_customer(id="ny", birth_date=date(1990, 2, 27), registered_at=REG)
    # 2027-02-28 02:00 in Shanghai is still 27 February in New York.
    at = datetime(2027, 2, 28, 2, tzinfo=CST)
    zones = {"ny": "America/New_York"}
    found = birthday_reminders([leapling, ny], as_of=at, policy=CarePolicy(), timezones=zones)
    assert [(r.customer_id, r.on) for r in found] == [("leap", date(2027, 2, 28)),
                                                       ("ny", date(2027, 2, 27))]
    march = birthday_reminders([leapling], as_of=datetime(2027, 3, 1, 9, tzinfo=CST),
                               policy=CarePolicy(feb29_in_common_years="mar1"))
    assert [r.on for r in march] == [date(2027, 3, 1)]


def test_stale_or_incomplete_profiles_get_an_update_reminder() -> None:
    fresh = make_customer(id="fresh", registered_at=REG, phone="13812345678",
                          updated_at=datetime(2026, 5, 1, tzinfo=CST))
    stale = make_customer(id="stale", registered_at=REG, phone="13812345678")
    bare = make_customer(id="bare", registered_at=REG, phone=None,
                         updated_at=datetime(2026, 5, 1, tzinfo=CST))
    policy = CarePolicy(stale_after_months=12, required_fields={"phone", "birth_date"})
    found = profile_reminders([fresh, stale, bare], as_of=datetime(2026, 6, 1, tzinfo=CST),
                              policy=policy)
    reasons = {r.customer_id: r.reason for r in found}
    assert set(reasons) == {"fresh", "stale", "bare"}
    assert reasons["fresh"] == "missing birth_date"
    assert reasons["stale"].startswith("profile unchanged since 2020-01-01")
    assert reasons["bare"] == "missing birth_date, phone"
    with pytest.raises(ValidationError, match="required_fields"):
        CarePolicy(required_fields={"shoe_size"})


def test_holidays_from_a_calendar_remind_about_everyone() -> None:
    customers = [make_customer(id=f"h{i}", registered_at=REG) for i in range(3)]
    found = holiday_reminders(customers, as_of=datetime(2026, 10, 1, 8, tzinfo=CST),
                              holidays={date(2026, 10, 1): "国庆节"}, policy=CarePolicy())
    assert [(r.customer_id, r.reason, r.kind) for r in found] == [
        (f"h{i}", "国庆节", ReminderKind.HOLIDAY) for i in range(3)
    ]
    assert holiday_reminders(customers, as_of=datetime(2026, 10, 2, tzinfo=CST),
                             holidays=[date(2026, 10, 1)], policy=CarePolicy()) == []


def test_repurchase_reminders_follow_the_products_typical_interval() -> None:
    as_of = datetime(2026, 6, 30, tzinfo=CST)
    orders = []
    k = 0

    def buy(cid: str, sku: str, days_ago: int) -> None:
        nonlocal k
        k += 1
        orders.append(make_order(
            id=f"O{k}", customer_id=cid, placed_at=as_of - timedelta(days=days_ago),
            lines=[make_order_line(sku=sku, unit_price=Money(Decimal("59.00"), "CNY"))]))

    # Water filters: rebought every 30 days by those who rebuy.
    for i in range(6):
        buy(f"f{i}", "FILTER", 70)
        buy(f"f{i}", "FILTER", 40)
    buy("due", "FILTER", 35)           # 35 days since: due 5 days ago
    buy("early", "FILTER", 10)         # not yet
    buy("lapsed", "FILTER", 200)       # due long ago: left to win-back
    # A product with too few buyers gets no reminders.
    buy("x1", "RARE", 60)
    buy("x1", "RARE", 31)
    found = repurchase_reminders(orders, as_of=as_of, policy=CarePolicy(min_buyers=5,
                                                                        window_days=90))
    ids = {r.customer_id for r in found}
    assert "due" in ids
    assert "early" not in ids
    assert "lapsed" not in ids
    assert "x1" not in ids
    assert {r.sku for r in found} == {"FILTER"}
    due = next(r for r in found if r.customer_id == "due")
    assert due.on == (as_of - timedelta(days=5)).date()
    assert "typically rebought after 30 days" in due.reason


def _population(seed: int, effect: float) -> dict:
    """Customers whose follow-up depends on stars and spend (confounded), with a
    planted effect on purchases and spend for those followed up."""
    rng = np.random.default_rng(seed)
    n = 3000
    segment = rng.choice(np.array(["core", "new", "sleeping"]), n)
    stars = rng.integers(1, 6, n)
    prior = np.round(rng.gamma(2, 300, n) * stars)
    # Staff follow up high-star customers far more often.
    followed = rng.random(n) < 0.05 + 0.12 * stars
    trend = 0.3 * stars  # high-star customers grow anyway: a naive comparison is biased
    before = rng.poisson(1 + 0.2 * stars, n).astype(float)
    after = before + rng.normal(trend, 1.0, n) + effect * followed
    spend_b = before * 100
    spend_a = after * 100
    sat_b = np.where(rng.random(n) < 0.5, rng.integers(3, 6, n), np.nan)
    sat_a = sat_b + 0.0
    return {"followed": followed, "segment": segment, "stars": stars, "prior_spend": prior,
                "before": {"purchases": before, "spend": spend_b, "satisfaction": sat_b},
                "after": {"purchases": after, "spend": spend_a, "satisfaction": sat_a}}


@pytest.mark.parametrize("seed", range(3))
def test_the_matched_evaluation_recovers_a_planted_followup_effect(seed: int) -> None:
    data = _population(seed, effect=0.8)
    result = evaluate_followup_effect(**data, replicates=300, seed=seed)
    assert result.purchases is not None
    assert result.spend is not None
    assert result.purchases.covers(0.8)
    assert result.purchases.low > 0
    assert result.spend.covers(80.0)
    assert result.matched + result.unmatched == result.followed
    # The naive difference of changes is biased upwards by the star trend.
    f = data["followed"]
    change = data["after"]["purchases"] - data["before"]["purchases"]
    naive = change[f].mean() - change[~f].mean()
    assert naive > 0.8 + 0.2
    assert abs(result.purchases.estimate - 0.8) < abs(naive - 0.8)


@pytest.mark.parametrize("seed", range(3, 6))
def test_the_matched_evaluation_reports_no_effect_where_none_was_planted(seed: int) -> None:
    result = evaluate_followup_effect(**_population(seed, effect=0.0), replicates=300, seed=seed)
    assert result.purchases is not None
    assert result.purchases.covers(0.0)
    assert result.satisfaction is not None
    assert result.satisfaction.covers(0.0)
    assert "followed up" in result.lines()[0]


def test_the_effect_needs_followed_customers_and_aligned_arrays() -> None:
    data = _population(0, 0.0)
    with pytest.raises(ValidationError, match="followed"):
        evaluate_followup_effect(**{**data, "followed": np.zeros(3000, bool)})
    with pytest.raises(ValidationError, match="stars"):
        evaluate_followup_effect(**{**data, "stars": np.ones(5)})


def test_spend_bands_agree_with_a_sorted_reference() -> None:
    rng = np.random.default_rng(2)
    x = np.where(rng.random(1001) < 0.2, 0, rng.integers(1, 10_000, 1001))
    got = spend_bands(x, 5)
    spenders = np.sort(x[x > 0])
    cuts = [spenders[round(q * (spenders.size - 1))] for q in (0.2, 0.4, 0.6, 0.8)]
    want = [0 if v == 0 else 1 + sum(v >= c for c in cuts) for v in x.tolist()]
    assert got.tolist() == want
