"""Campaign use cases on both stores: plan, preview, run, report, draws, bad input."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

import attrs
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custmgmt.adapters.memory import MemoryStore
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.campaigns import (
    MemoryNotifier,
    SendReason,
    campaign_report,
    create_campaign,
    draw_winners,
    preview_audience,
    record_draw,
    run_campaign,
    suppress,
    verify_draw,
)
from custmgmt.campaigns.records import SendDecision
from custmgmt.domain import Money
from custmgmt.errors import Conflict, NotFound, ValidationError
from custmgmt.segmentation import Columns
from custmgmt.testing import make_customer, make_order, make_order_line
from custmgmt.testing.campaign_contract import make_campaign, make_offer

CST = timezone(timedelta(hours=8))
RUN_AT = datetime(2026, 6, 18, 14, 0, tzinfo=CST)
REGISTERED = datetime(2025, 1, 1, tzinfo=CST)


def consenting(cid: str, *, sms: bool = True, name: str = "王芳") -> Any:
    c = make_customer(id=cid, name=name, registered_at=REGISTERED)
    return c.with_consent("sms", sms, at=REGISTERED + timedelta(days=1))


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest) -> Any:
    s = (MemoryStore() if request.param == "memory" else SQLiteStore(":memory:")
         if request.param == "sqlite" else request.getfixturevalue("postgres_store"))
    yield s
    s.close()


def table(ids: list[str], stars: list[int], is_new: list[int] | None = None) -> Columns:
    cols: dict[str, Any] = {"stars": stars}
    if is_new is not None:
        cols["is_new"] = is_new
    return Columns(ids, cols)


def test_a_run_decides_for_every_candidate_and_enqueues_rendered_messages(store: Any) -> None:
    ids = [f"C{i:03d}" for i in range(200)]
    for i, cid in enumerate(ids):
        store.customers.add(consenting(cid, sms=i % 10 != 0, name="李娜" if i % 2 else "张伟"))
    suppress(store, "C001", "blacklisted", at=RUN_AT - timedelta(days=3), note="刷单")
    suppress(store, "C001", "unsubscribed", at=RUN_AT - timedelta(days=2))
    create_campaign(store, make_campaign(quiet_hours=None))
    notifier = MemoryNotifier()
    t = table([*ids, "ERASED-1"], [5] * 150 + [2] * 50 + [5])
    preview = preview_audience(store, "C-1", t, at=RUN_AT)
    assert preview.reason_of("C000") is SendReason.NO_CONSENT
    assert preview.reason_of("C001") is SendReason.BLACKLISTED  # the first listed reason
    assert preview.reason_of("ERASED-1") is SendReason.ERASED
    assert store.campaigns.count_decisions() == 0  # a preview stores nothing
    run = run_campaign(store, "C-1", t, notifier, at=RUN_AT)
    decisions = store.campaigns.decisions("C-1")
    assert len(decisions) == 151 == sum(run.counts.values())
    by_id = {d.customer_id: d for d in decisions}
    assert by_id["C000"].reason is SendReason.NO_CONSENT
    assert run.counts == preview.counts()
    assert len(notifier.outbox) == run.messages == run.counts[SendReason.SENT]
    message = notifier.outbox[0]
    assert message.text.endswith("送您满199减20，2026-08-01前有效")
    assert message.text.startswith(("张伟您好", "李娜您好"))
    assert "张伟" not in repr(message)
    assert "李娜" not in repr(message)
    assert {m.customer_id for m in notifier.outbox} == {
        d.customer_id for d in decisions if d.reason is SendReason.SENT
    }
    assert not run.ratio.mismatch
    assert store.campaigns.get_campaign("C-1").ran_at == RUN_AT
    with pytest.raises(Conflict):
        run_campaign(store, "C-1", t, notifier, at=RUN_AT)


def test_new_and_returning_customers_get_their_own_offer(store: Any) -> None:
    for cid in ("new", "old"):
        store.customers.add(consenting(cid))
    offers = (make_offer(for_customers="new", description="新人专享券"),
              make_offer(for_customers="returning", description="老客回馈券"))
    create_campaign(store, make_campaign(offers=offers, holdout_share=0.0, quiet_hours=None))
    notifier = MemoryNotifier()
    run_campaign(store, "C-1", table(["new", "old"], [5, 5], [1, 0]), notifier, at=RUN_AT)
    texts = {m.customer_id: m.text for m in notifier.outbox}
    assert "新人专享券" in texts["new"]
    assert "老客回馈券" in texts["old"]


def test_quiet_hours_hold_messages_until_morning(store: Any) -> None:
    store.customers.add(consenting("night"))
    create_campaign(store, make_campaign(holdout_share=0.0,
                                         quiet_hours=attrs.evolve(make_campaign().quiet_hours)))
    late = datetime(2026, 6, 18, 22, 30, tzinfo=CST)
    notifier = MemoryNotifier()
    run = run_campaign(store, "C-1", table(["night"], [5]), notifier, at=late)
    assert run.counts[SendReason.QUIET_HOURS] == 1
    (decision,) = store.campaigns.decisions("C-1")
    assert decision.send_at == datetime(2026, 6, 19, 9, 0, tzinfo=CST)
    assert notifier.outbox[0].not_before == decision.send_at


def test_the_frequency_cap_counts_sends_of_other_campaigns_in_the_customers_days(
    store: Any,
) -> None:
    store.customers.add(consenting("busy"))
    store.customers.add(consenting("calm"))
    cap = make_campaign().frequency_cap
    earlier = [make_campaign(f"E{i}", holdout_share=0.0, quiet_hours=None,
                             starts_at=RUN_AT - timedelta(days=5)) for i in range(3)]
    for i, c in enumerate(earlier):
        create_campaign(store, c)
        run_campaign(store, c.id, table(["busy"], [5]), MemoryNotifier(),
                     at=RUN_AT - timedelta(days=2 - i, hours=1))
    create_campaign(store, make_campaign(holdout_share=0.0, quiet_hours=None, frequency_cap=cap))
    run_campaign(store, "C-1", table(["busy", "calm"], [5, 5]), MemoryNotifier(), at=RUN_AT)
    reasons = {d.customer_id: d.reason for d in store.campaigns.decisions("C-1")}
    assert reasons == {"busy": SendReason.FREQUENCY_CAP, "calm": SendReason.SENT}


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture],
          deadline=None)
@given(data=st.data())
def test_nobody_without_consent_listed_or_over_the_cap_is_ever_sent_to(data: Any) -> None:
    store = MemoryStore()
    n = data.draw(st.integers(1, 20))
    ids = [f"K{i}" for i in range(n)]
    consent = data.draw(st.lists(st.booleans(), min_size=n, max_size=n))
    for cid, ok in zip(ids, consent, strict=True):
        store.customers.add(consenting(cid, sms=ok))
    listed = data.draw(st.lists(st.tuples(st.sampled_from(ids), st.sampled_from(
        ["restricted", "blacklisted", "erased", "unsubscribed"])), unique=True, max_size=n))
    for cid, why in listed:
        suppress(store, cid, why, at=RUN_AT - timedelta(days=30))
    cap = data.draw(st.integers(1, 3))
    window = data.draw(st.integers(1, 5))
    history = data.draw(st.lists(st.tuples(st.sampled_from(ids), st.integers(0, 6)),
                                 max_size=2 * n, unique=True))
    create_campaign(store, make_campaign("H", holdout_share=0.0, quiet_hours=None,
                                         starts_at=RUN_AT - timedelta(days=10)))
    # Earlier messages, written directly: the history the cap reads.
    for j, (cid, days_ago) in enumerate(sorted(set(history))):
        create_campaign(store, make_campaign(f"H{j}", holdout_share=0.0,
                                             starts_at=RUN_AT - timedelta(days=10)))
        at = RUN_AT - timedelta(days=days_ago, minutes=5)
        store.campaigns.add_decisions([SendDecision(
            campaign_id=f"H{j}", customer_id=cid, reason="sent", channel="sms",
            decided_at=at, send_at=at, offer_index=0, message_id=f"H{j}:{cid}")])
    share = data.draw(st.sampled_from([0.0, 0.2, 0.5]))
    create_campaign(store, make_campaign(
        holdout_share=share, quiet_hours=None,
        frequency_cap=attrs.evolve(make_campaign().frequency_cap, messages=cap,
                                   window_days=window),
    ))
    notifier = MemoryNotifier()
    run_campaign(store, "C-1", table(ids, [5] * n), notifier, at=RUN_AT)
    decisions = store.campaigns.decisions("C-1")
    assert sorted(d.customer_id for d in decisions) == sorted(ids)  # one each
    sent = {m.customer_id for m in notifier.outbox}
    listed_ids = {cid for cid, _ in listed}
    today = RUN_AT.date()
    for d in decisions:
        i = ids.index(d.customer_id)
        recent = sum(1 for cid, ago in set(history) if cid == d.customer_id
                     and (today - (RUN_AT - timedelta(days=ago, minutes=5)).date()).days < window)
        if d.customer_id in sent:
            assert consent[i]
            assert d.customer_id not in listed_ids
            assert recent < cap
            assert d.reason is SendReason.SENT
        elif d.reason.dropped:
            # Exactly one reason, and it is the first rule that applies.
            expected = (SendReason.NO_CONSENT if not consent[i]
                        else "listed" if d.customer_id in listed_ids
                        else SendReason.FREQUENCY_CAP)
            if expected == "listed":
                assert d.reason.value in {w for c, w in listed if c == d.customer_id}
            else:
                assert d.reason is expected
        else:
            assert d.reason is SendReason.HOLDOUT


def test_bad_input_is_refused_and_a_failed_run_leaves_no_sends(store: Any) -> None:
    store.customers.add(consenting("a"))
    create_campaign(store, make_campaign(quiet_hours=None, holdout_share=0.0))
    with pytest.raises(ValidationError, match="empty audience"):
        run_campaign(store, "C-1", table(["a"], [1]), MemoryNotifier(), at=RUN_AT)

    class Broken:
        def enqueue(self, messages: Any) -> None:
            raise RuntimeError("the SMS gateway queue is full")

    with pytest.raises(RuntimeError):
        run_campaign(store, "C-1", table(["a"], [5]), Broken(), at=RUN_AT)
    assert store.campaigns.count_decisions() == 0
    assert store.campaigns.get_campaign("C-1").ran_at is None
    with pytest.raises(ValidationError, match="at"):
        run_campaign(store, "C-1", table(["a"], [5]), MemoryNotifier(),
                     at=RUN_AT + timedelta(days=30))
    with pytest.raises(NotFound):
        run_campaign(store, "nope", table(["a"], [5]), MemoryNotifier(), at=RUN_AT)
    assert store.campaigns.count_decisions() == 0


def test_an_expired_coupon_is_refused_when_planned_and_when_run(store: Any) -> None:
    expired = make_offer(valid_until=datetime(2026, 6, 18, 12, tzinfo=CST))
    with pytest.raises(ValidationError, match="valid_until"):
        make_campaign(offers=(make_offer(valid_until=datetime(2026, 6, 10, tzinfo=CST)),))
    store.customers.add(consenting("a"))
    create_campaign(store, make_campaign(offers=(expired,), holdout_share=0.0,
                                         starts_at=datetime(2026, 6, 18, 8, tzinfo=CST)))
    with pytest.raises(ValidationError, match=r"offers\[0\].valid_until"):
        run_campaign(store, "C-1", table(["a"], [5]), MemoryNotifier(), at=RUN_AT)
    assert store.campaigns.count_decisions() == 0


@pytest.mark.parametrize(("field", "value", "match"), [
    ("holdout_share", 0.6, "holdout_share"),
    ("holdout_share", -0.01, "holdout_share"),
    ("template", "{name}，您的积分{points}即将过期", "template"),
    ("template", "{0}您好", "template"),
    ("offers", (), "offers"),
    ("ends_at", datetime(2026, 6, 1, tzinfo=CST), "ends_at"),
    ("timezone", "Mars/Base", "timezone"),
    ("offers", (make_offer(for_customers="new"),), "returning"),
])
def test_bad_campaigns_are_refused_by_field(field: str, value: Any, match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        make_campaign(**{field: value})


def test_bad_offers_are_refused_by_field() -> None:
    with pytest.raises(ValidationError, match="percent"):
        make_offer(kind="percent_coupon", amount=None, percent=Decimal("120"))
    with pytest.raises(ValidationError, match="friend_amount"):
        make_offer(kind="referral")
    with pytest.raises(ValidationError, match="amount"):
        make_offer(amount=Money(Decimal("-1"), "CNY"))
    with pytest.raises(ValidationError, match="gift"):
        make_offer(gift="杯子")


def _shop(store: Any, n: int = 400) -> list[str]:
    ids = [f"S{i:04d}" for i in range(n)]
    for cid in ids:
        store.customers.add(consenting(cid))
    return ids


def test_the_report_measures_uplift_against_the_holdout(store: Any) -> None:
    ids = _shop(store)
    create_campaign(store, make_campaign(holdout_share=0.5, quiet_hours=None))
    run_campaign(store, "C-1", table(ids, [5] * 200 + [4] * 200), MemoryNotifier(), at=RUN_AT)
    decisions = store.campaigns.decisions("C-1")
    rng = np.random.default_rng(3)
    k = 0
    for d in decisions:
        p = 0.5 if d.reason is SendReason.SENT else 0.1
        if rng.random() < p:
            k += 1
            store.orders.add(make_order(
                id=f"O{k}", customer_id=d.customer_id, placed_at=RUN_AT + timedelta(days=2),
                lines=[make_order_line(unit_price=Money(Decimal("100.00"), "CNY"))]))
    # An order after the attribution window does not count.
    store.orders.add(make_order(id="late", customer_id=decisions[0].customer_id,
                                placed_at=RUN_AT + timedelta(days=30)))
    stars = {cid: "5" if i < 200 else "4" for i, cid in enumerate(ids)}
    report = campaign_report(store, "C-1", as_of=RUN_AT + timedelta(days=20),
                             groups={"stars": stars}, replicates=300)
    assert report.uplift is not None
    conv = report.uplift.conversion
    assert conv.treated_rate is not None
    assert conv.treated_rate.denominator == report.treated
    assert conv.low > 0.2
    assert conv.high < 0.6
    assert report.uplift.revenue_per_customer.low > 20
    assert [g.label for g in report.groups] == ["4", "5"]
    assert sum(g.conversion.n_treated for g in report.groups) == report.treated
    assert report.window_complete
    text = "\n".join(report.lines())
    assert "holdout" in text
    assert "ROI" in text
    assert "stars=5" in text


def test_a_lottery_draw_is_recorded_re_run_and_tampering_detected(store: Any) -> None:
    ids = _shop(store, 30)
    create_campaign(store, make_campaign("L", kind="lottery", holdout_share=0.0,
                                         quiet_hours=None))
    run_campaign(store, "L", table(ids, [5] * 30), MemoryNotifier(), at=RUN_AT)
    record = record_draw(store, "L", draw_id="D-1", entrants=ids[:20], winners=3,
                         seed="2026-06-20 福彩3D 7 2 9", prize="200 积分", at=RUN_AT)
    stored = store.campaigns.get_draw("D-1")
    assert stored == record
    assert verify_draw(stored).ok
    again = draw_winners("D-1", campaign_id="L", entrants=list(reversed(ids[:20])), winners=3,
                         seed=record.seed, prize=record.prize, at=record.at)
    assert again.winners == record.winners
    assert again.digest == record.digest
    swapped = attrs.evolve(stored, winners=(ids[0], *stored.winners[1:]))
    if swapped.winners != stored.winners:
        assert not verify_draw(swapped).ok
    assert not verify_draw(attrs.evolve(stored, seed="another seed")).ok
    assert not verify_draw(attrs.evolve(stored, prize="1000 积分")).digest_match
    report = campaign_report(store, "L", as_of=RUN_AT + timedelta(days=20), replicates=100)
    assert report.activity is not None
    assert report.activity.participants == 20
    assert report.uplift is None  # no holdout
    create_campaign(store, make_campaign("S", quiet_hours=None))
    with pytest.raises(ValidationError, match="lottery"):
        record_draw(store, "S", draw_id="D-2", entrants=ids, winners=1, seed="s", prize="p",
                    at=RUN_AT)


def test_the_report_needs_a_run_campaign(store: Any) -> None:
    create_campaign(store, make_campaign())
    with pytest.raises(ValidationError, match="has run"):
        campaign_report(store, "C-1", as_of=RUN_AT)
    assert time(9) == make_campaign().quiet_hours.end  # type: ignore[union-attr]


def test_referral_rewards_go_to_both_sides_once_the_friend_buys(store: Any) -> None:
    from custmgmt.campaigns import referral_rewards
    from custmgmt.domain import Referral
    from custmgmt.testing import make_interaction

    for cid in ("R1", "R2", "held"):
        store.customers.add(consenting(cid))
    referral = make_offer(kind="referral", amount=Money(Decimal("30"), "CNY"),
                          friend_amount=Money(Decimal("15"), "CNY"), description="推荐有礼")
    create_campaign(store, make_campaign(offers=(referral,), holdout_share=0.0,
                                         quiet_hours=None))
    run_campaign(store, "C-1", table(["R1", "R2"], [5, 5]), MemoryNotifier(), at=RUN_AT)
    store.customers.add(consenting("F1", name="新朋友"))
    store.customers.add(consenting("F2"))

    def refer(iid: str, who: str, friend: str, days: int) -> None:
        store.interactions.add(make_interaction(
            id=iid, customer_id=who, kind="referral", at=RUN_AT + timedelta(days=days),
            details=Referral(referred_customer_id=friend)))

    refer("I1", "R1", "F1", 1)
    refer("I2", "R2", "F1", 2)      # F1 is credited to R1 only
    refer("I3", "R2", "F2", 3)      # F2 never buys: no reward
    refer("I4", "held", "F2", 3)    # not in the campaign
    refer("I5", "R2", "ghost", 3)   # not a customer
    store.orders.add(make_order(id="OF1", customer_id="F1",
                                placed_at=RUN_AT + timedelta(days=4)))
    rewards = referral_rewards(store, "C-1", as_of=RUN_AT + timedelta(days=20))
    assert [(r.referrer_id, r.referee_id, r.order_id) for r in rewards] == [("R1", "F1", "OF1")]
    assert rewards[0].referrer_reward == Money(Decimal("30"), "CNY")
    assert rewards[0].referee_reward == Money(Decimal("15"), "CNY")
    # Before the friend's order, nothing is owed.
    assert referral_rewards(store, "C-1", as_of=RUN_AT + timedelta(days=3)) == []
