"""Random sequences of earns, redemptions, returns, expiries and adjustments keep the ledger sound.

After every step: the balance equals the sum of the unexpired, unredeemed, unlocked lot
remainders (computed by a slow reference straight from the entries, less the debt under
the negative-balance policy); replaying the ledger from the first entry, from a snapshot
and through a statement gives the same balances; retried operations never award twice;
the balance never goes below what the policy allows; a refused operation writes nothing.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from _loyalty_support import T0, add_customer, paid_order, reference_available, reference_lots
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custmgmt.adapters.memory import MemoryStore
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.domain import Money
from custmgmt.errors import ValidationError
from custmgmt.loyalty import (
    EntryKind,
    InsufficientPoints,
    Program,
    ReturnPolicy,
    account,
    adjust_points,
    check_snapshot,
    earn_for_order,
    earn_points,
    expire_points,
    redeem_points,
    replay,
    reverse_for_order,
    statement,
    take_snapshot,
)
from custmgmt.loyalty.ports import LoyaltyStore
from custmgmt.loyalty.rules import DEFAULT_PROGRAM, Expiry

POLICIES = {
    "debt_lot": ReturnPolicy(mode="debt_lot"),
    "negative_balance": ReturnPolicy(mode="negative_balance", negative_limit=300),
    "no_negative": ReturnPolicy(mode="negative_balance", negative_limit=0),
}

steps = st.lists(
    st.one_of(
        st.tuples(st.just("order"), st.integers(1, 3000)),
        st.tuples(st.just("review"), st.integers(0, 1)),
        st.tuples(st.just("redeem"), st.integers(-5, 4000)),
        st.tuples(st.just("return"), st.integers(1, 100)),
        st.tuples(st.just("expire"), st.integers(0, 1)),
        st.tuples(st.just("adjust"), st.integers(-800, 800)),
        st.tuples(st.just("wait"), st.integers(1, 200)),
        st.tuples(st.just("snapshot"), st.integers(0, 1)),
    ),
    min_size=1,
    max_size=30,
)


def _program(policy: str, expiry_days: int) -> Program:
    return Program(
        rules=DEFAULT_PROGRAM.rules, expiry=Expiry(mode="days", amount=expiry_days),
        return_window_days=7, returns=POLICIES[policy], tiers=None,
    )


def _check(store: LoyaltyStore, program: Program, now: object) -> None:
    assert isinstance(now, type(T0))
    entries = store.loyalty.entries("C-1")
    full = replay(entries, customer_id="C-1", debt_in_balance=program.returns.debt_in_balance)
    _, debt = reference_lots(entries)
    assert debt == full.debt
    expected = reference_available(entries, now) - (debt if program.returns.debt_in_balance else 0)
    assert full.balance(now) == expected
    assert account(store, "C-1", program=program) == full  # from the snapshot, if any
    assert statement(store, "C-1", as_of=now, program=program).balance == expected
    limit = program.returns.debt_limit
    assert full.balance(now) >= -(limit or 0)
    if limit is not None:
        assert full.debt <= limit
    # Conservation: every point awarded is still in a lot, was taken, owed or written off.
    assert sum(e.points + e.written_off for e in entries) == sum(
        lot.remaining for lot in full.lots
    ) - full.debt
    assert all(lot.remaining >= 0 for lot in full.lots)
    earned_orders = [e.order_id for e in entries if e.kind is EntryKind.EARN and e.order_id]
    assert len(earned_orders) == len(set(earned_orders))


def _run(store: LoyaltyStore, policy: str, expiry_days: int, plan: list[tuple[str, int]]) -> None:
    program = _program(policy, expiry_days)
    add_customer(store)
    now = T0 + timedelta(days=1)
    orders: list[str] = []
    for n, (op, value) in enumerate(plan):
        before = store.loyalty.entries("C-1")
        if op == "order":
            order = paid_order(f"O-{n}", f"{value}.50", now)
            store.orders.add(order)
            first = earn_for_order(store, order.id, program=program)
            again = earn_for_order(store, order.id, program=program)  # a retry
            assert again == first
            assert len(store.loyalty.entries("C-1")) == len(before) + 1
            orders.append(order.id)
        elif op == "review":
            key = "review:1" if value else f"review:{n}"
            earn_points(store, "C-1", rule="review", key=key, at=now, program=program)
            earn_points(store, "C-1", rule="review", key=key, at=now, program=program)
            assert len(store.loyalty.entries("C-1")) - len(before) <= 1
        elif op == "redeem":
            try:
                redeem_points(store, "C-1", value, key=f"r-{n}", at=now, program=program)
            except (InsufficientPoints, ValidationError):
                assert store.loyalty.entries("C-1") == before
                assert value <= 0 or value > account(store, "C-1", program=program).balance(now)
        elif op == "return" and orders:
            order = store.orders.get(orders[value % len(orders)])
            left = order.total - order.refunded
            if not left.is_zero:
                refund = Money((left.amount * value / 100).quantize(Decimal("0.01")), "CNY")
                if refund.amount > 0:
                    store.orders.update(order.record_return(refund, max(now, order.placed_at)))
                    first_rev = reverse_for_order(store, order.id, program=program)
                    assert reverse_for_order(store, order.id, program=program) in (None, first_rev)
        elif op == "expire":
            expire_points(store, as_of=now, program=program)
            assert expire_points(store, as_of=now, program=program) == []
        elif op == "adjust" and value:
            try:
                adjust_points(store, "C-1", value, key=f"a-{n}", at=now, actor="agent-李",
                              reason="补偿", program=program)
            except InsufficientPoints:
                assert store.loyalty.entries("C-1") == before
        elif op == "wait":
            now += timedelta(days=value)
        elif op == "snapshot":
            take_snapshot(store, "C-1", program=program)
            check_snapshot(store, "C-1", program=program)
        _check(store, program, now)
        _check(store, program, now + timedelta(days=400))


@pytest.mark.parametrize("policy", sorted(POLICIES))
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan=steps, expiry_days=st.sampled_from([30, 365]))
def test_random_ledger_histories_keep_every_invariant_in_memory(
    policy: str, expiry_days: int, plan: list[tuple[str, int]]
) -> None:
    _run(MemoryStore(), policy, expiry_days, plan)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan=steps, policy=st.sampled_from(sorted(POLICIES)))
def test_random_ledger_histories_keep_every_invariant_in_sqlite(
    policy: str, plan: list[tuple[str, int]]
) -> None:
    with SQLiteStore(":memory:") as store:
        _run(store, policy, 30, plan)
