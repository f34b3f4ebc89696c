"""Risk features against a slow per-customer reference; alert rules on planted patterns."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custmgmt.analytics.frames import MISSING_TIME, InteractionFrame, OrderFrame
from custmgmt.errors import TransitionNotAllowed, ValidationError
from custmgmt.risk import (
    DEFAULT_RULES,
    Alert,
    AlertStatus,
    BaselineRule,
    ReviewBurstRule,
    ThresholdRule,
    evaluate_rules,
    risk_features,
)

AS_OF = datetime(2024, 6, 30, 12, tzinfo=UTC)
AS_OF_US = int(AS_OF.timestamp() * 1_000_000)
DAY = 86_400_000_000
HOUR = 3_600_000_000
STATUSES = ["placed", "paid", "delivered", "cancelled", "returned", "partially_returned"]


def in_window(t: int, days: int) -> bool:
    return AS_OF_US - days * DAY < t <= AS_OF_US


def reference(orders: list[dict[str, Any]], reviews: list[dict[str, Any]],
              complaints: list[dict[str, Any]], cid: int) -> dict[str, float]:
    """Each feature, one customer, the long way round."""
    mine = [o for o in orders if o["c"] == cid and o["t"] <= AS_OF_US]
    out: dict[str, float] = {}
    w = [o for o in mine if in_window(o["t"], 90)]
    counted = [o for o in w if o["s"] != "cancelled"]
    ret = [o for o in counted if o["r"] > 0 or o["s"] in ("returned", "partially_returned")]
    out["return_rate_90d"] = len(ret) / len(counted) if counted else math.nan
    canc = [o for o in w if o["s"] == "cancelled"]
    out["cancelled_90d"] = len(canc)
    out["cancellation_rate_90d"] = len(canc) / len(w) if w else math.nan
    old = [o for o in mine if o["t"] <= AS_OF_US - 3 * DAY and o["s"] != "cancelled"]
    out["unpaid_count"] = sum(1 for o in old if o["p"] is None or o["p"] > AS_OF_US)
    paid = [o for o in mine if o["p"] is not None and o["p"] <= AS_OF_US]
    out["late_payment_rate"] = (sum(1 for o in paid if o["p"] - o["t"] > DAY) / len(paid)
                                if paid else math.nan)
    out["payment_lag_mean"] = (sum((o["p"] - o["t"]) / DAY for o in paid) / len(paid)
                               if paid else math.nan)
    revs = [r for r in reviews if r["c"] == cid and r["t"] <= AS_OF_US]
    out["low_reviews_30d"] = sum(1 for r in revs if 1 <= r["rating"] <= 2
                                 and in_window(r["t"], 30))
    out["review_burst"] = max((sum(1 for q in revs if r["t"] - 24 * HOUR <= q["t"] <= r["t"])
                               for r in revs), default=0)
    out["dispute_count"] = sum(1 for c in complaints if c["c"] == cid and c["t"] <= AS_OF_US)
    return out


@st.composite
def histories(draw: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]],
                                  list[dict[str, Any]]]:
    n_c = draw(st.integers(1, 4))
    times = st.integers(AS_OF_US - 120 * DAY, AS_OF_US + 5 * DAY)
    orders = []
    for _ in range(draw(st.integers(1, 15))):
        s = draw(st.sampled_from(STATUSES))
        t = draw(times)
        paid = None if s in ("placed", "cancelled") or draw(st.booleans()) else t + draw(
            st.integers(0, 3 * DAY))
        orders.append({"c": draw(st.integers(0, n_c - 1)), "t": t, "s": s,
                       "r": draw(st.sampled_from([0, 0, 100])) if s != "cancelled" else 0,
                       "p": paid})
    orders[0]["c"] = 0
    reviews = [{"c": draw(st.integers(0, n_c - 1)), "t": draw(times),
                "rating": draw(st.integers(1, 5))} for _ in range(draw(st.integers(0, 12)))]
    complaints = [{"c": draw(st.integers(0, n_c - 1)), "t": draw(times)}
                  for _ in range(draw(st.integers(0, 5)))]
    return orders, reviews, complaints


def frames(orders: list[dict[str, Any]], reviews: list[dict[str, Any]],
           complaints: list[dict[str, Any]]) -> tuple[OrderFrame, InteractionFrame, Any]:
    of = OrderFrame.from_arrays(
        customer_id=np.array([o["c"] for o in orders]),
        placed_at=np.array([o["t"] for o in orders]),
        amount=np.full(len(orders), 1000), returned_amount=np.array([o["r"] for o in orders]),
        status=[o["s"] for o in orders], currency="CNY")
    rows = [(r["c"], r["t"], "review", r["rating"]) for r in reviews] + [
        (c["c"], c["t"], "complaint", 0) for c in complaints]
    inter = InteractionFrame.from_arrays(
        customer_id=np.array([r[0] for r in rows], dtype=np.int64),
        at=np.array([r[1] for r in rows], dtype=np.int64), kind=[r[2] for r in rows],
        rating=np.array([r[3] for r in rows], dtype=np.int64), customer_index=of)
    paid_at = np.array([MISSING_TIME if o["p"] is None else o["p"] for o in orders])
    return of, inter, paid_at


NAMES = ["return_rate_90d", "cancelled_90d", "cancellation_rate_90d", "unpaid_count",
         "late_payment_rate", "payment_lag_mean", "low_reviews_30d", "review_burst",
         "dispute_count"]


@settings(max_examples=80, deadline=None)
@given(histories())
def test_risk_features_match_the_slow_reference(data: Any) -> None:
    orders, reviews, complaints = data
    of, inter, paid_at = frames(orders, reviews, complaints)
    f = risk_features(of, inter, as_of=AS_OF, features=NAMES, paid_at=paid_at)
    for i, cid in enumerate(f.customer_ids.tolist()):
        ref = reference(orders, reviews, complaints, cid)
        for name in NAMES:
            got, want = float(f[name][i]), ref[name]
            if math.isnan(want):
                assert math.isnan(got), (name, cid)
            else:
                assert got == pytest.approx(want), (name, cid)


def test_unknown_features_and_missing_frames_are_refused() -> None:
    of, inter, _ = frames([{"c": 0, "t": AS_OF_US, "s": "paid", "r": 0, "p": None}], [], [])
    with pytest.raises(ValidationError, match="a known feature"):
        risk_features(of, inter, as_of=AS_OF, features=["credit_karma"])
    with pytest.raises(ValidationError, match="InteractionFrame"):
        risk_features(of, None, as_of=AS_OF, features=["review_burst"])
    with pytest.raises(ValidationError, match="paid_at"):
        risk_features(of, inter, as_of=AS_OF, features=["late_payment_rate"],
                      paid_at=np.zeros(5, dtype=np.int64))
    nan = risk_features(of, inter, as_of=AS_OF, features=["late_payment_rate"])
    assert math.isnan(nan["late_payment_rate"][0])


# -- alerts on planted patterns -------------------------------------------------------


class World:
    """Synthetic customers: clean ones, and one planted pattern per rule."""

    def __init__(self, seed: int = 5) -> None:
        rng = np.random.default_rng(seed)
        self.orders: list[tuple[str, int, str, int]] = []
        self.inter: list[tuple[str, int, str, int]] = []
        for k in range(200):  # clean: a few orders spread over a year, good reviews
            cid = f"clean-{k}"
            for _ in range(rng.integers(2, 8)):
                t = AS_OF_US - int(rng.integers(1, 360)) * DAY
                self.orders.append((cid, t, "delivered", 0))
                if rng.random() < 0.5:
                    self.inter.append((cid, t + 3 * DAY, "review", int(rng.integers(4, 6))))
        self.orders[0] = ("clean-0", AS_OF_US - 5 * DAY, "returned", 1000)  # one return
        for d in (80, 60, 40, 20, 10):  # frequent returns
            self.orders.append(("returner", AS_OF_US - d * DAY, "returned", 1000))
        self.orders.append(("returner", AS_OF_US - 30 * DAY, "delivered", 0))
        for d in range(1, 5):  # a run of bad reviews over a month, on orders of their own
            self.orders.append(("grumpy", AS_OF_US - (d * 7 + 2) * DAY, "delivered", 0))
            self.inter.append(("grumpy", AS_OF_US - d * 7 * DAY, "review", 1))
        for d in range(30, 210, 30):  # usual: one cancellation a month ...
            self.orders.append(("canceller", AS_OF_US - (d + 31) * DAY, "cancelled", 0))
        for d in (2, 5, 9, 14, 20):  # ... then five in thirty days
            self.orders.append(("canceller", AS_OF_US - d * DAY, "cancelled", 0))
        for d in range(5, 215, 10):  # steady: cancels often, but always did (no spike)
            self.orders.append(("steady", AS_OF_US - d * DAY, "cancelled", 0))
            self.orders.append(("steady", AS_OF_US - d * DAY - HOUR, "delivered", 0))
        for d in (4, 9, 15):  # orders left unpaid past the grace period
            self.orders.append(("nonpayer", AS_OF_US - d * DAY, "placed", 0))
        self.orders.append(("nonpayer", AS_OF_US - DAY, "placed", 0))  # still in grace
        self.orders.append(("troll", AS_OF_US - 200 * DAY, "delivered", 0))
        for h in range(8):  # eight one-star reviews within six hours, one order
            self.inter.append(("troll", AS_OF_US - 3 * DAY + h * 45 * 60_000_000, "review", 1))
        for d in range(25):  # an honest heavy reviewer: buys what they review, mixed stars
            t = AS_OF_US - (d + 1) * DAY
            self.orders.append(("reviewer", t - HOUR, "delivered", 0))
            self.inter.append(("reviewer", t, "review", [1, 2, 4, 5, 3][d % 5]))
        for h in range(6):  # heavy reviewer who also had a bad afternoon with their orders
            self.orders.append(("reviewer", AS_OF_US - 2 * DAY - (h + 1) * HOUR, "delivered", 0))
            self.inter.append(("reviewer", AS_OF_US - 2 * DAY + h * HOUR, "review", 1))

    def frames(self) -> tuple[OrderFrame, InteractionFrame]:
        of = OrderFrame.from_arrays(
            customer_id=np.array([o[0] for o in self.orders], dtype=object),
            placed_at=np.array([o[1] for o in self.orders]),
            amount=np.full(len(self.orders), 1000),
            returned_amount=np.array([o[3] for o in self.orders]),
            status=[o[2] for o in self.orders], currency="CNY")
        inter = InteractionFrame.from_arrays(
            customer_id=np.array([i[0] for i in self.inter], dtype=object),
            at=np.array([i[1] for i in self.inter]), kind=[i[2] for i in self.inter],
            rating=np.array([i[3] for i in self.inter]), customer_index=of)
        return of, inter


def test_each_rule_fires_on_its_planted_pattern_and_stays_silent_on_clean_customers() -> None:
    of, inter = World().frames()
    found = evaluate_rules(DEFAULT_RULES, of, inter, as_of=AS_OF)
    fired = {(f.rule, f.customer_id) for f in found}
    # A run of bad reviews is a run whoever writes it: the troll's burst and the heavy
    # reviewer's sixteen low reviews this month count too. Only the burst rule tells
    # malice from honesty, and it flags the troll alone.
    assert fired == {("frequent-returns", "returner"), ("bad-review-run", "grumpy"),
                     ("bad-review-run", "troll"), ("bad-review-run", "reviewer"),
                     ("cancellation-spike", "canceller"), ("review-burst", "troll"),
                     ("unpaid-orders", "nonpayer")}
    assert {r.name for r in DEFAULT_RULES} == {rule for rule, _ in fired}  # each rule fired
    unpaid = next(f for f in found if f.rule == "unpaid-orders")
    assert dict(unpaid.values) == {"unpaid_count": 3.0}
    assert not any(c.startswith("clean-") for _, c in fired)
    burst = next(f for f in found if f.rule == "review-burst")
    assert dict(burst.values)["low_reviews_burst"] == 8
    assert burst.window_end == AS_OF
    assert burst.window_start == AS_OF - timedelta(days=30)
    spike = next(f for f in found if f.rule == "cancellation-spike")
    assert dict(spike.values) == {"cancellations_30d": 5.0,
                                  "baseline_30d": pytest.approx(5 * 30 / 180)}
    assert "frequent-returns: return_rate_90d=0.833" in next(
        f for f in found if f.rule == "frequent-returns").describe()


def test_the_burst_rule_flags_a_new_account_even_when_it_bought_something() -> None:
    world = World()
    for h in range(5):
        world.orders.append(("newbie", AS_OF_US - 10 * DAY - h * HOUR, "delivered", 0))
        world.inter.append(("newbie", AS_OF_US - DAY + h * HOUR, "review", 2))
    of, inter = world.frames()
    rule = ReviewBurstRule(name="burst", at_least=5)
    assert {f.customer_id for f in evaluate_rules([rule], of, inter, as_of=AS_OF)} == {"troll"}
    registered = {"newbie": AS_OF - timedelta(days=12), "troll": AS_OF - timedelta(days=900)}
    flagged = evaluate_rules([rule], of, inter, as_of=AS_OF, registered_at=registered)
    assert {f.customer_id for f in flagged} == {"troll", "newbie"}


def test_rules_are_checked_when_built() -> None:
    with pytest.raises(ValidationError, match="a known feature"):
        ThresholdRule(name="x", feature="nonsense_90d")
    with pytest.raises(ValidationError, match=r"ThresholdRule\.op"):
        ThresholdRule(name="x", feature="unpaid_count", op="=>")
    with pytest.raises(ValidationError, match=r"BaselineRule\.event"):
        BaselineRule(name="x", event="refunds")
    with pytest.raises(ValidationError, match="window_hours"):
        ReviewBurstRule(name="x", window_hours=0)
    of, inter = World().frames()
    with pytest.raises(ValidationError, match="distinct names"):
        evaluate_rules([DEFAULT_RULES[0], DEFAULT_RULES[0]], of, inter, as_of=AS_OF)


def test_an_alert_moves_open_acknowledged_resolved_and_never_back() -> None:
    of, inter = World().frames()
    finding = evaluate_rules(DEFAULT_RULES, of, inter, as_of=AS_OF)[0]
    alert = Alert.raised(finding, id="a", at=AS_OF)
    acked = alert.moved("acknowledged", at=AS_OF, actor="analyst")
    done = acked.moved(AlertStatus.RESOLVED, at=AS_OF + timedelta(hours=1), actor="analyst")
    assert [e.status.value for e in done.events] == ["open", "acknowledged", "resolved"]
    assert done.version == 3
    with pytest.raises(TransitionNotAllowed):
        done.moved("open", at=AS_OF + timedelta(hours=2), actor="analyst")
    with pytest.raises(TransitionNotAllowed):
        acked.moved("acknowledged", at=AS_OF, actor="analyst")
    with pytest.raises(ValidationError, match="at or after"):
        acked.moved("resolved", at=AS_OF - timedelta(hours=1), actor="analyst")
