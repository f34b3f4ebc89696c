"""The loyalty services: earning, redeeming, reversing, expiring, holds, statements, bad input."""

from __future__ import annotations

import multiprocessing
import threading
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import attrs
import pytest
from _loyalty_support import T0, add_customer, paid_order

from custmgmt.adapters.memory import MemoryStore
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.domain import Interaction, Money, Referral
from custmgmt.errors import Conflict, NotFound, ValidationError
from custmgmt.loyalty import (
    DEFAULT_PROGRAM,
    Draw,
    EarnRule,
    EntryKind,
    Expiry,
    InsufficientPoints,
    LedgerEntry,
    Program,
    ReturnPolicy,
    adjust_points,
    earn_for_order,
    earn_points,
    expire_points,
    hold_lot,
    record_interaction_with_points,
    record_order_with_points,
    redeem_points,
    release_lot,
    reverse_for_order,
    statement,
)
from custmgmt.testing import make_customer

NO_TIERS = Program(rules=DEFAULT_PROGRAM.rules, tiers=None)


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def earn(store, points: int, at: datetime, key: str = "k") -> LedgerEntry:  # type: ignore[no-untyped-def]
    entry = earn_points(store, "C-1", rule="lottery", key=key, at=at, points=points,
                        program=NO_TIERS)
    assert entry is not None
    return entry


def test_order_points_round_down_and_stay_locked_through_the_return_window(store) -> None:  # type: ignore[no-untyped-def]
    store.orders.add(paid_order("O-1", "99.99", day(1)))  # delivered on day 3
    entry = earn_for_order(store, "O-1", program=NO_TIERS)
    assert entry is not None
    assert entry.points == 99
    assert entry.locked_until == day(10)
    assert entry.expires_at == day(1) + timedelta(days=365)
    locked = statement(store, "C-1", as_of=day(9), program=NO_TIERS)
    assert (locked.balance, locked.locked) == (0, 99)
    with pytest.raises(InsufficientPoints):
        redeem_points(store, "C-1", 1, key="r", at=day(9), program=NO_TIERS)
    assert statement(store, "C-1", as_of=day(10), program=NO_TIERS).balance == 99


def test_unpaid_and_cancelled_orders_earn_nothing(store) -> None:  # type: ignore[no-untyped-def]
    from custmgmt.testing import make_order

    store.orders.add(make_order(id="O-9", customer_id="C-1", placed_at=day(1)))
    assert earn_for_order(store, "O-9", program=NO_TIERS) is None
    assert store.loyalty.entries("C-1") == []


def test_recording_an_order_with_points_earns_once(store) -> None:  # type: ignore[no-untyped-def]
    order = paid_order("O-1", "300.00", day(1))
    first = record_order_with_points(store, order, program=NO_TIERS)
    assert first is not None
    assert first.points == 300
    with pytest.raises(Conflict):
        record_order_with_points(store, order, program=NO_TIERS)
    assert earn_for_order(store, "O-1", program=NO_TIERS) == first
    assert [e.key for e in store.loyalty.entries("C-1")] == ["order:O-1"]


def test_a_redemption_names_its_lots_soonest_expiry_first(store) -> None:  # type: ignore[no-untyped-def]
    program = Program(
        rules=DEFAULT_PROGRAM.rules, tiers=None, expiry=Expiry(mode="days", amount=90)
    )
    late = adjust_points(store, "C-1", 100, key="a-1", at=day(1), actor="agent", reason="补偿",
                         expires_at=day(300), program=program)
    soon = earn_points(store, "C-1", rule="lottery", key="l-1", at=day(2), points=50,
                       program=program)
    assert soon is not None
    spent = redeem_points(store, "C-1", 120, key="r-1", at=day(3), program=program)
    assert [(d.lot, d.points) for d in spent.draws] == [(soon.id, 50), (late.id, 70)]
    assert statement(store, "C-1", as_of=day(3), program=program).balance == 30


def test_caps_limit_an_activity_per_calendar_period(store) -> None:  # type: ignore[no-untyped-def]
    awarded = [
        earn_points(store, "C-1", rule="review", key=f"rev-{i}", at=day(1 + i), program=NO_TIERS)
        for i in range(7)
    ]
    assert [e.points if e else 0 for e in awarded] == [20, 20, 20, 20, 20, 0, 0]
    february = earn_points(store, "C-1", rule="review", key="rev-feb", at=day(31),
                           program=NO_TIERS)
    assert february is not None
    assert february.points == 20


def test_a_referral_earns_for_both_sides_once(store) -> None:  # type: ignore[no-untyped-def]
    store.customers.add(make_customer(id="C-2", registered_at=T0))
    referral = Interaction(id="I-1", customer_id="C-1", kind="referral", at=day(2),
                           details=Referral(referred_customer_id="C-2"))
    awarded = record_interaction_with_points(store, referral, program=NO_TIERS)
    assert [(e.customer_id, e.points) for e in awarded] == [("C-1", 200), ("C-2", 100)]
    from custmgmt.loyalty import earn_for_interaction

    assert earn_for_interaction(store, "I-1", program=NO_TIERS) == awarded
    assert store.loyalty.count() == 2


def test_a_partial_return_reverses_pro_rata_and_a_retry_takes_nothing_more(store) -> None:  # type: ignore[no-untyped-def]
    store.orders.add(paid_order("O-1", "1000.00", day(1)))
    earn_for_order(store, "O-1", program=NO_TIERS)
    order = store.orders.get("O-1")
    store.orders.update(order.record_return(Money(Decimal("250.00"), "CNY"), day(4)))
    first = reverse_for_order(store, "O-1", program=NO_TIERS)
    assert first is not None
    assert first.points == -250
    assert reverse_for_order(store, "O-1", program=NO_TIERS) is None
    order = store.orders.get("O-1")
    store.orders.update(order.record_return(Money(Decimal("750.00"), "CNY"), day(5)))
    second = reverse_for_order(store, "O-1", program=NO_TIERS)
    assert second is not None
    assert second.points == -750
    assert statement(store, "C-1", as_of=day(30), program=NO_TIERS).balance == 0


@pytest.mark.parametrize(
    ("policy", "balance", "debt", "written_off"),
    [
        (ReturnPolicy(mode="debt_lot"), 0, 600, 0),
        (ReturnPolicy(mode="negative_balance", negative_limit=200), -200, 200, 400),
    ],
)
def test_spent_points_of_a_returned_order_follow_the_policy(  # type: ignore[no-untyped-def]
    store, policy: ReturnPolicy, balance: int, debt: int, written_off: int
) -> None:
    program = Program(rules=DEFAULT_PROGRAM.rules, tiers=None, returns=policy)
    store.orders.add(paid_order("O-1", "1000.00", day(1)))
    earn_for_order(store, "O-1", program=program)
    redeem_points(store, "C-1", 600, key="r-1", at=day(11), program=program)
    order = store.orders.get("O-1")
    store.orders.update(order.record_return(Money(Decimal("1000.00"), "CNY"), day(12)))
    reversal = reverse_for_order(store, "O-1", program=program)
    assert reversal is not None
    assert (reversal.debt, reversal.written_off) == (debt, written_off)
    now = statement(store, "C-1", as_of=day(12), program=program)
    assert (now.balance, now.debt) == (balance, debt)
    # The next award settles the debt before it counts.
    award = earn(store, 500, day(13))
    assert award.debt == -min(500, debt)
    later = statement(store, "C-1", as_of=day(13), program=program)
    assert later.debt == max(0, debt - 500)
    assert later.balance == 500 - min(500, debt) - (later.debt if policy.debt_in_balance else 0)


def test_the_expiry_job_records_each_expired_lot_once(store) -> None:  # type: ignore[no-untyped-def]
    program = Program(rules=DEFAULT_PROGRAM.rules, tiers=None,
                      expiry=Expiry(mode="end_of_month", amount=1))
    lot = earn_points(store, "C-1", rule="lottery", key="l-1", at=day(5), points=80,
                      program=program)
    assert lot is not None
    assert lot.expires_at == datetime(2025, 3, 1, tzinfo=T0.tzinfo)
    redeem_points(store, "C-1", 30, key="r-1", at=day(6), program=program)
    assert expire_points(store, as_of=day(58), program=program) == []
    written = expire_points(store, as_of=day(59), program=program)
    assert [(e.kind, e.points, e.draws[0].lot) for e in written] == [
        (EntryKind.EXPIRE, -50, lot.id)
    ]
    assert expire_points(store, as_of=day(400), program=program) == []
    assert statement(store, "C-1", as_of=day(400), program=program).balance == 0


def test_a_held_lot_stops_counting_until_released(store) -> None:  # type: ignore[no-untyped-def]
    lot = earn(store, 100, day(1))
    hold_lot(store, "C-1", lot.id, at=day(2), actor="风控", reason="可疑订单")
    assert statement(store, "C-1", as_of=day(2), program=NO_TIERS).balance == 0
    with pytest.raises(ValidationError, match="lot"):
        hold_lot(store, "C-1", lot.id, at=day(2), actor="风控", reason="again")
    release_lot(store, "C-1", lot.id, at=day(3), actor="风控", reason="核实无误")
    assert statement(store, "C-1", as_of=day(3), program=NO_TIERS).balance == 100


# -- bad input: clear errors, ledger unchanged ------------------------------------------
def test_bad_input_is_refused_and_leaves_the_ledger_unchanged(store) -> None:  # type: ignore[no-untyped-def]
    earn(store, 100, day(1))
    before = store.loyalty.entries("C-1")
    with pytest.raises(InsufficientPoints) as too_much:
        redeem_points(store, "C-1", 101, key="r-1", at=day(2), program=NO_TIERS)
    assert isinstance(too_much.value, Conflict)
    assert (too_much.value.requested, too_much.value.available) == (101, 100)
    for bad in (0, -5, 1.5, True, "10"):
        with pytest.raises(ValidationError) as caught:
            redeem_points(store, "C-1", bad, key="r-2", at=day(2), program=NO_TIERS)  # type: ignore[arg-type]
        assert caught.value.field == "points"
    with pytest.raises(ValidationError) as rule:
        earn_points(store, "C-1", rule="抽奖大转盘", key="x", at=day(2), program=NO_TIERS)
    assert rule.value.field == "rule"
    assert rule.value.value == "抽奖大转盘"
    with pytest.raises(ValidationError) as expiry:
        adjust_points(store, "C-1", 50, key="a", at=day(2), actor="a", reason="r",
                      expires_at=day(1), program=NO_TIERS)
    assert expiry.value.field == "expires_at"
    with pytest.raises(ValidationError, match="expires_at"):
        LedgerEntry(id="x", customer_id="C-1", seq=2, kind="earn", points=5, at=day(2), key="x",
                    actor="a", reason="r", expires_at=day(2))
    with pytest.raises(ValidationError, match="at"):
        earn(store, 10, day(0.5), key="late")
    with pytest.raises(ValidationError, match="at"):
        redeem_points(store, "C-1", 5, key="r-3", at=datetime(2025, 3, 1), program=NO_TIERS)
    with pytest.raises(NotFound):
        redeem_points(store, "nobody", 5, key="r-4", at=day(2), program=NO_TIERS)
    with pytest.raises(ValidationError):
        adjust_points(store, "C-1", 0, key="a0", at=day(2), actor="a", reason="r", program=NO_TIERS)
    assert store.loyalty.entries("C-1") == before


@pytest.mark.parametrize(
    ("fields", "name"),
    [
        ({"trigger": "order"}, "EarnRule.per_unit"),
        ({"trigger": "order", "per_unit": Decimal(1), "currency": "XXX1"}, None),
        ({"trigger": "review"}, "EarnRule.points"),
        ({"trigger": "review", "points": 5, "cap": 10}, "EarnRule.cap_period"),
        ({"trigger": "review", "points": 5, "cap": 10, "cap_period": "fortnight"},
         "EarnRule.cap_period"),
        ({"trigger": "dance", "points": 5}, "EarnRule.trigger"),
        ({"trigger": "order", "per_unit": Decimal(1), "currency": "CNY", "rounding": "up"},
         "EarnRule.rounding"),
    ],
)
def test_bad_earn_rules_are_refused(fields: dict[str, object], name: str | None) -> None:
    with pytest.raises(ValidationError) as caught:
        EarnRule(name="r", **fields)  # type: ignore[arg-type]
    if name is not None:
        assert caught.value.field == name


def test_two_rules_with_one_name_are_refused() -> None:
    rule = EarnRule(name="r", trigger="review", points=5)
    with pytest.raises(ValidationError, match="unique"):
        Program(rules=[rule, rule])


# -- concurrency ------------------------------------------------------------------------
def test_threads_redeeming_one_balance_never_overdraw() -> None:
    store = MemoryStore()
    add_customer(store)
    earn(store, 1000, day(1))
    outcomes: list[str] = []

    def spend(n: int) -> None:
        try:
            redeem_points(store, "C-1", 300, key=f"t-{n}", at=day(2), program=NO_TIERS)
            outcomes.append("ok")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=spend, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict"] * 5 + ["ok"] * 3
    assert statement(store, "C-1", as_of=day(2), program=NO_TIERS).balance == 100


def _redeem_in_process(path: str, key: str, barrier: object, results: object) -> None:
    with SQLiteStore(path) as store:
        barrier.wait()  # type: ignore[attr-defined]
        try:
            redeem_points(store, "C-1", 700, key=key, at=day(2), program=NO_TIERS)
            results.put("ok")  # type: ignore[attr-defined]
        except Conflict:
            results.put("conflict")  # type: ignore[attr-defined]


@pytest.mark.slow
def test_two_processes_redeeming_one_balance_through_sqlite_never_overdraw(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "points.sqlite3")
    with SQLiteStore(path) as store:
        add_customer(store)
        earn(store, 1000, day(1))
    ctx = multiprocessing.get_context("spawn")
    for round_ in range(2):
        barrier, results = ctx.Barrier(2), ctx.Queue()
        procs = [
            ctx.Process(target=_redeem_in_process, args=(path, f"p{round_}-{n}", barrier, results))
            for n in range(2)
        ]
        for p in procs:
            p.start()
        for p in procs:
            p.join(60)
        outcomes = sorted(results.get(timeout=5) for _ in procs)
        if round_ == 0:
            assert outcomes == ["conflict", "ok"]
        else:
            assert outcomes == ["conflict", "conflict"]
    with SQLiteStore(path) as store:
        final = statement(store, "C-1", as_of=day(2), program=NO_TIERS)
        assert final.balance == 300
        assert [e.kind for e in final.entries] == [EntryKind.EARN, EntryKind.REDEEM]


def test_a_stale_writer_is_refused_by_the_next_seq_check(tmp_path: Path) -> None:
    path = tmp_path / "points.sqlite3"
    with SQLiteStore(path) as a, SQLiteStore(path) as b:
        add_customer(a)
        lot = earn(a, 100, day(1))
        stale = LedgerEntry(id="C-1#2", customer_id="C-1", seq=2, kind="redeem", points=-100,
                            at=day(2), key="x", actor="a", reason="r",
                            draws=[Draw(lot=lot.id, points=100)])
        b.loyalty.append(stale)
        with pytest.raises(Conflict) as caught:
            a.loyalty.append(attrs.evolve(stale, id="C-1#2b", key="y"))
        assert caught.value.actual_version == 2
        assert a.loyalty.last_seq("C-1") == 2


def test_the_birthday_job_awards_once_a_year_and_on_28_february_for_leap_day_births(
    store,  # type: ignore[no-untyped-def]
) -> None:
    from datetime import date

    from custmgmt.loyalty import award_birthdays

    store.customers.add(make_customer(id="B-1", registered_at=T0, birth_date=date(1990, 3, 5)))
    store.customers.add(make_customer(id="B-2", registered_at=T0, birth_date=date(2000, 2, 29)))
    on_fifth = datetime(2025, 3, 5, 12, tzinfo=T0.tzinfo)
    assert [e.customer_id for e in award_birthdays(store, as_of=on_fifth, program=NO_TIERS)] == [
        "B-1"
    ]
    assert award_birthdays(store, as_of=on_fifth + timedelta(hours=1), program=NO_TIERS) == []
    feb_28 = datetime(2025, 2, 28, 12, tzinfo=T0.tzinfo)
    assert [e.customer_id for e in award_birthdays(store, as_of=feb_28, program=NO_TIERS)] == [
        "B-2"
    ]
    assert store.loyalty.by_key("B-1", "birthday:2025").points == 100  # type: ignore[union-attr]
