"""The vectorised replay equals the slow per-customer replay on random ledgers."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest
from _loyalty_support import T0, add_customer, paid_order
from hypothesis import given, settings
from hypothesis import strategies as st

from custmgmt.adapters.memory import MemoryStore
from custmgmt.domain import Money
from custmgmt.errors import Conflict, ValidationError
from custmgmt.loyalty import (
    DEFAULT_PROGRAM,
    Expiry,
    Program,
    ReturnPolicy,
    adjust_points,
    earn_for_order,
    earn_points,
    expire_points,
    hold_lot,
    redeem_points,
    release_lot,
    replay,
    reverse_for_order,
)
from custmgmt.loyalty.balances import LedgerColumns, balances
from custmgmt.testing.loyalty_contract import make_entry


def _random_store(seed: int, policy: ReturnPolicy) -> tuple[MemoryStore, Program]:
    rng = random.Random(seed)
    program = Program(rules=DEFAULT_PROGRAM.rules, tiers=None, returns=policy,
                      expiry=Expiry(mode="days", amount=rng.choice([20, 60, 365])))
    store = MemoryStore()
    customers = [f"客户-{i}" for i in range(rng.randint(1, 5))]
    for cid in customers:
        add_customer(store, cid)
    now = T0
    for n in range(rng.randint(0, 40)):
        now += timedelta(days=rng.randint(0, 9), hours=rng.randint(0, 23))
        cid = rng.choice(customers)
        op = rng.random()
        try:
            if op < 0.35:
                lot = earn_points(store, cid, rule="lottery", key=f"e{n}", at=now,
                                  points=rng.randint(1, 500), program=program,
                                  locked_until=now + timedelta(days=rng.choice([0, 7, 14])))
                if lot is not None and rng.random() < 0.2:
                    hold_lot(store, cid, lot.id, at=now, actor="风控", reason="核查")
            elif op < 0.6:
                redeem_points(store, cid, rng.randint(1, 400), key=f"r{n}", at=now,
                              program=program)
            elif op < 0.75:
                adjust_points(store, cid, rng.choice([-1, 1]) * rng.randint(1, 300), key=f"a{n}",
                              at=now, actor="agent", reason="调整", program=program)
            elif op < 0.8:
                expire_points(store, as_of=now, program=program)
            elif op < 0.88:
                order = paid_order(f"O-{n}", f"{rng.randint(1, 900)}.00", now, customer_id=cid)
                store.orders.add(order)
                earn_for_order(store, order.id, program=program)
            elif op < 0.95:
                orders = [o for chunk in store.orders.iter_chunks() for o in chunk
                          if o.customer_id == cid and o.refunded != o.total]
                if orders:
                    order = rng.choice(orders)
                    part = (order.total - order.refunded) * Decimal(rng.choice(["0.3", "1"]))
                    refund = Money(part.amount.quantize(Decimal("0.01")), "CNY")
                    store.orders.update(order.record_return(refund, now))
                    reverse_for_order(store, order.id, program=program)
            else:
                held = [e.lot for e in store.loyalty.entries(cid) if e.kind.value == "lock"]
                if held:
                    release_lot(store, cid, held[0] or "", at=now, actor="风控", reason="ok")
        except (Conflict, ValidationError):
            pass
    return store, program


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10**9), negative=st.booleans(), offsets=st.lists(
    st.integers(-5, 400), min_size=1, max_size=4))
def test_vectorised_balances_equal_the_per_customer_replay(
    seed: int, negative: bool, offsets: list[int]
) -> None:
    policy = ReturnPolicy(mode="negative_balance", negative_limit=100)
    if not negative:
        policy = ReturnPolicy()
    store, _ = _random_store(seed, policy)
    ledger = LedgerColumns.from_entries(store.loyalty.iter_chunks(7))
    assert len(ledger) == store.loyalty.count()
    for days in offsets:
        as_of = T0 + timedelta(days=days)
        table = balances(ledger, as_of=as_of, debt_in_balance=policy.debt_in_balance)
        for code, cid in enumerate(table.customer_ids):
            entries = [e for e in store.loyalty.entries(cid) if e.at <= as_of]
            slow = replay(entries, customer_id=cid, debt_in_balance=policy.debt_in_balance)
            assert table.balance[code] == slow.balance(as_of)
            assert table.locked[code] == slow.locked(as_of)
            assert table.debt[code] == slow.debt
            assert table.of(cid) == slow.balance(as_of)
    assert table.of("nobody") == 0


def test_columns_naming_a_lot_that_no_entry_opened_are_refused() -> None:
    with pytest.raises(ValidationError, match="lot"):
        LedgerColumns.from_entries([make_entry(1, kind="lock", points=0, lot="C-1#9")])
    good = LedgerColumns.from_entries([make_entry(1)])
    arrays = {name: getattr(good, name) for name in (
        "customer_ids", "customer", "kind", "points", "debt", "at", "expires_at",
        "locked_until", "lot", "draw_entry", "draw_lot", "draw_points")}
    with pytest.raises(ValidationError, match="draw_lot"):
        LedgerColumns.from_arrays(**{**arrays, "draw_entry": [0], "draw_lot": [5],
                                     "draw_points": [1]})
    with pytest.raises(ValidationError, match="columns"):
        LedgerColumns.from_arrays(customer=np.zeros(1))


def test_a_naive_as_of_is_refused() -> None:
    from datetime import datetime

    ledger = LedgerColumns.from_entries([make_entry(1)])
    with pytest.raises(ValidationError, match="as_of"):
        balances(ledger, as_of=datetime(2025, 1, 1))
