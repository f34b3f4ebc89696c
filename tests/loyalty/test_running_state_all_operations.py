"""Every loyalty service answers from the running ledger state exactly as computed afresh.

Redeeming, reversing, expiring, adjusting, holding and releasing, statements and
``account`` used to read, decode and replay the customer's whole ledger on every call
(quadratic over a long membership). They now read the entries after the running
state's last one (``loyalty/_running.py``) and keep the full replay as the fallback.
These tests hold every result to the afresh path (``running`` yielding None) on random
mixed histories, including writes rolled back with a failing transaction, a second
store writing to the same SQLite file, snapshots, redaction and a programme whose
clawback policy differs from the one the state was built with.
"""

from __future__ import annotations

import random
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
from _loyalty_support import T0, add_customer, computed_afresh, paid_order
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custmgmt.adapters.memory import MemoryStore
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.domain import Money
from custmgmt.errors import CustMgmtError
from custmgmt.loyalty import (
    Draw,
    EarnRule,
    Expiry,
    LedgerEntry,
    Program,
    ReturnPolicy,
    Statement,
    Tier,
    TierScheme,
    account,
    adjust_points,
    earn_for_order,
    expire_points,
    hold_lot,
    redeem_points,
    release_lot,
    reverse_for_order,
    statement,
    take_snapshot,
)
from custmgmt.loyalty.ports import LoyaltyStore

MIDNIGHT = T0.replace(hour=0)


def make_program(downgrade: str, clawback: str, window: int, expiry_days: int,
                 limit: int) -> Program:
    """Short expiries and low thresholds, so a short history expires lots and moves tiers."""
    return Program(
        rules=(EarnRule(name="order", trigger="order", per_unit=Decimal(1), currency="CNY"),),
        expiry=Expiry(mode="days", amount=expiry_days),
        return_window_days=window,
        returns=ReturnPolicy(mode=clawback, negative_limit=limit),  # type: ignore[arg-type]
        tiers=TierScheme(
            tiers=(Tier(name="普通", threshold=0),
                   Tier(name="银", threshold=150, multiplier=Decimal("1.5")),
                   Tier(name="金", threshold=500, multiplier=Decimal(2))),
            window_days=20, downgrade=downgrade, period_days=9, grace_days=2,  # type: ignore[arg-type]
        ),
    )


programs = st.builds(
    make_program,
    downgrade=st.sampled_from(["none", "automatic", "periodic"]),
    clawback=st.sampled_from(["debt_lot", "negative_balance"]),
    window=st.integers(0, 4),
    expiry_days=st.integers(2, 30),
    limit=st.integers(0, 200),
)


def _other(program: Program) -> Program:
    """The same programme with the other clawback policy (debt in or out of the balance)."""
    mode = "debt_lot" if program.returns.debt_in_balance else "negative_balance"
    return Program(rules=program.rules, expiry=program.expiry,
                   return_window_days=program.return_window_days,
                   returns=ReturnPolicy(mode=mode, negative_limit=50),  # type: ignore[arg-type]
                   tiers=program.tiers)


# (operation, gap in half days, a number, another number)
_simple = st.one_of(
    st.tuples(st.just("order"), st.integers(0, 6), st.integers(1, 400), st.integers(0, 3)),
    st.tuples(st.just("order"), st.integers(0, 6), st.integers(1, 400), st.integers(0, 3)),
    st.tuples(st.just("return"), st.integers(0, 6), st.integers(0, 20), st.integers(10, 100)),
    st.tuples(st.just("redeem"), st.integers(0, 6), st.integers(1, 300), st.just(0)),
    st.tuples(st.just("redeem-other"), st.integers(0, 6), st.integers(1, 300), st.just(0)),
    st.tuples(st.just("adjust"), st.integers(0, 6), st.integers(-150, 150), st.integers(0, 9)),
    st.tuples(st.just("expire"), st.integers(0, 6), st.integers(0, 40), st.just(0)),
    st.tuples(st.just("hold"), st.integers(0, 6), st.integers(0, 20), st.just(0)),
    st.tuples(st.just("release"), st.integers(0, 6), st.integers(0, 20), st.just(0)),
    st.tuples(st.just("statement"), st.integers(0, 6), st.integers(-30, 30), st.just(0)),
    st.tuples(st.just("snapshot"), st.just(0), st.just(0), st.just(0)),
)
operations = st.lists(
    st.one_of(
        _simple, _simple, _simple,
        # Operations inside a transaction that fails at its end: all rolled back.
        st.tuples(st.just("rollback"), st.lists(_simple, min_size=1, max_size=4)),
        # An operation through a second store on the same SQLite file (memory: a writer
        # on the same store that keeps no running state).
        st.tuples(st.just("second"), _simple),
    ),
    min_size=6,
    max_size=40,
)


class _Boom(Exception):
    """Ends a transaction with an error, so it rolls back."""


class Player:
    """Runs operations on one store (and a second one on its file), recording outcomes."""

    def __init__(self, store: LoyaltyStore, second: LoyaltyStore | None, program: Program,
                 check: bool) -> None:
        self.store, self.second, self.program, self.check = store, second, program, check
        self.at = MIDNIGHT
        self.orders: list[str] = []
        self.outcomes: list[Any] = []
        self.n = 0

    def lots(self) -> list[str]:
        return [e.id for e in self.store.loyalty.entries("C-1") if e.opens_lot]

    def run(self, store: LoyaltyStore, op: tuple[Any, ...]) -> Any:
        kind, gap, a, b = op
        self.n += 1
        i, program = self.n, self.program
        self.at += timedelta(hours=12 * gap)
        at = self.at
        if kind == "order":
            order_id = f"O-{i}"
            store.orders.add(paid_order(order_id, f"{a}.00", at,
                                        delivered_after=timedelta(days=b)))
            self.orders.append(order_id)
            return earn_for_order(store, order_id, program=program, reverse_refunds=False)
        if kind == "return":
            if not self.orders:
                return None
            order = store.orders.get(self.orders[a % len(self.orders)])
            left = order.total - order.refunded
            amount = (left.amount * b / 100).quantize(Decimal("0.01"))
            if amount > 0:
                store.orders.update(order.record_return(Money(amount, "CNY"),
                                                        max(at, order.placed_at)))
            return reverse_for_order(store, order.id, program=program)
        if kind in ("redeem", "redeem-other"):
            used = program if kind == "redeem" else _other(program)
            return redeem_points(store, "C-1", a, key=f"redeem:{i}", at=at, program=used)
        if kind == "adjust":
            expires = None if b == 0 else at + timedelta(days=b)
            return adjust_points(store, "C-1", a or 1, key=f"adjust:{i}", at=at, actor="agent",
                                 reason="fix", program=program, expires_at=expires)
        if kind == "expire":
            return expire_points(store, as_of=at + timedelta(days=a), program=program)
        if kind in ("hold", "release"):
            lots = self.lots()
            if not lots:
                return None
            do = hold_lot if kind == "hold" else release_lot
            return do(store, "C-1", lots[a % len(lots)], at=at, actor="agent", reason="check",
                      program=program)
        if kind == "statement":
            return statement(store, "C-1", as_of=at + timedelta(hours=a), program=program)
        assert kind == "snapshot"
        return take_snapshot(store, "C-1", program=program)

    def attempt(self, store: LoyaltyStore, op: tuple[Any, ...]) -> None:
        try:
            self.outcomes.append(self.run(store, op))
        except CustMgmtError as exc:
            self.outcomes.append((type(exc).__name__, str(exc)))
        if self.check:
            self.compare_with_afresh()

    def play(self, ops: list[tuple[Any, ...]]) -> list[Any]:
        for op in ops:
            if op[0] == "rollback":
                try:
                    with self.store.transaction():
                        for inner in op[1]:
                            self.attempt(self.store, inner)
                        raise _Boom
                except _Boom:
                    self.outcomes.append("rolled back")
                orders = {o.id for o in self.store.orders.for_customer("C-1")}
                self.orders = [o for o in self.orders if o in orders]
            elif op[0] == "second" and self.second is not None:
                self.attempt(self.second, op[1])
            elif op[0] == "second":
                # Memory: a writer that keeps no state of this store (as another process
                # would), so entries replaced after a rollback reach the state unseen.
                with computed_afresh():
                    self.attempt(self.store, op[1])
            else:
                self.attempt(self.store, op)
        self.outcomes.append(self.store.loyalty.entries("C-1"))
        self.outcomes.append(account(self.store, "C-1", program=self.program))
        self.outcomes.append(account(self.store, "C-1", program=_other(self.program)))
        self.outcomes.append(statement(self.store, "C-1", as_of=self.at, program=self.program))
        return self.outcomes

    def compare_with_afresh(self) -> None:
        """The same store read both ways agrees, after every operation."""
        for program in (self.program, _other(self.program)):
            fast = account(self.store, "C-1", program=program)
            fast_statement = statement(self.store, "C-1", as_of=self.at, program=program)
            with computed_afresh():
                assert fast == account(self.store, "C-1", program=program)
                assert fast_statement == statement(self.store, "C-1", as_of=self.at,
                                                   program=program)


def _memory() -> MemoryStore:
    store = MemoryStore()
    add_customer(store, at=MIDNIGHT)
    return store


@contextmanager
def _sqlite_pair() -> Iterator[tuple[SQLiteStore, SQLiteStore]]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "points.db"
        first = SQLiteStore(path)
        add_customer(first, at=MIDNIGHT)
        second = SQLiteStore(path)
        try:
            yield first, second
        finally:
            second.close()
            first.close()


# ``check``: also read the store both ways after every operation. Those reads bring the
# state up to date, so without them a stale state meets the next write unseen.
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program=programs, ops=operations, check=st.booleans())
def test_every_operation_on_memory_gives_the_same_results_as_computed_afresh(
    program: Program, ops: list[tuple[Any, ...]], check: bool
) -> None:
    fast = Player(_memory(), None, program, check=check).play(ops)
    with computed_afresh():
        slow = Player(_memory(), None, program, check=False).play(ops)
    assert fast == slow


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program=programs, ops=operations, check=st.booleans())
def test_every_operation_on_sqlite_with_a_second_writer_gives_the_same_results_as_afresh(
    program: Program, ops: list[tuple[Any, ...]], check: bool
) -> None:
    with _sqlite_pair() as (first, second):
        fast = Player(first, second, program, check=check).play(ops)
    with computed_afresh(), _sqlite_pair() as (first, second):
        slow = Player(first, second, program, check=False).play(ops)
    assert fast == slow


def _random_history(rng: random.Random, size: int) -> list[tuple[Any, ...]]:
    """A long membership: mostly orders, with every other operation mixed in."""
    def simple() -> tuple[Any, ...]:
        kind = rng.choice(["order"] * 5 + ["return", "redeem", "redeem", "redeem-other",
                                           "adjust", "expire", "hold", "release",
                                           "statement", "snapshot"])
        gap = rng.randint(0, 6)
        if kind == "order":
            return (kind, gap, rng.randint(1, 400), rng.randint(0, 3))
        if kind == "return":
            return (kind, gap, rng.randint(0, 20), rng.randint(10, 100))
        if kind == "adjust":
            return (kind, gap, rng.choice([-1, 1]) * rng.randint(1, 150), rng.randint(0, 9))
        if kind == "statement":
            return (kind, gap, rng.randint(-30, 30), 0)
        return (kind, gap, rng.randint(0, 300), 0)

    ops: list[tuple[Any, ...]] = []
    for _ in range(size):
        roll = rng.random()
        if roll < 0.05:
            ops.append(("rollback", [simple() for _ in range(rng.randint(1, 4))]))
        elif roll < 0.1:
            ops.append(("second", simple()))
        else:
            ops.append(simple())
    return ops


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_long_mixed_histories_give_the_same_results_both_ways(kind: str, seed: int) -> None:
    check = seed % 2 == 0
    rng = random.Random(f"{kind}-{seed}")
    program = make_program(rng.choice(["none", "automatic", "periodic"]),
                           rng.choice(["debt_lot", "negative_balance"]), rng.randint(0, 4),
                           rng.randint(5, 60), rng.randint(0, 200))
    ops = _random_history(rng, 300)
    if kind == "memory":
        fast = Player(_memory(), None, program, check=check).play(ops)
        with computed_afresh():
            slow = Player(_memory(), None, program, check=False).play(ops)
    else:
        with _sqlite_pair() as (first, second):
            fast = Player(first, second, program, check=check).play(ops)
        with computed_afresh(), _sqlite_pair() as (first, second):
            slow = Player(first, second, program, check=False).play(ops)
    assert len(fast[-4]) > 60  # a long ledger
    assert fast == slow


def test_lots_that_expire_together_are_expired_in_id_order_both_ways() -> None:
    """The expiry job takes expired lots by (expiry, id), not by award time: ``C-1#10``
    before ``C-1#9`` when both expire at one moment, as computed afresh."""
    def play() -> list[Any]:
        store = _memory()
        ends = MIDNIGHT + timedelta(days=30)
        written = [adjust_points(store, "C-1", 10 + n, key=f"a{n}",
                                 at=MIDNIGHT + timedelta(hours=n), actor="agent", reason="fix",
                                 expires_at=ends)
                   for n in range(10)]
        account(store, "C-1")
        return [written, expire_points(store, as_of=ends), store.loyalty.entries("C-1")]

    fast = play()
    with computed_afresh():
        slow = play()
    assert [e.draws[0].lot for e in fast[1]][:2] == ["C-1#1", "C-1#10"]
    assert fast == slow


@pytest.mark.parametrize("make", ["memory", "sqlite"])
def test_a_rolled_back_suffix_rewritten_with_the_same_last_entry_is_read_again(
    make: str, tmp_path: Path
) -> None:
    """The state checks only its last entry, so one read inside a transaction that then
    rolls back must not be kept: a retry may write a different earlier entry and the
    same last one (it kept a lot of 100 points that was rolled back)."""
    store: LoyaltyStore = _memory()
    if make == "sqlite":
        store = SQLiteStore(tmp_path / "points.sqlite3")
        add_customer(store, at=MIDNIGHT)
    ends = MIDNIGHT + timedelta(days=5)
    adjust_points(store, "C-1", 100, key="k0", at=MIDNIGHT, actor="a", reason="r",
                  expires_at=ends)
    def fail() -> None:
        with store.transaction():
            adjust_points(store, "C-1", 100, key="a", at=MIDNIGHT, actor="a", reason="r")
            redeem_points(store, "C-1", 10, key="r", at=MIDNIGHT)
            account(store, "C-1")  # the state now holds both entries
            raise _Boom

    with pytest.raises(_Boom):
        fail()
    with computed_afresh():  # another process retries with a corrected amount
        adjust_points(store, "C-1", 50, key="a", at=MIDNIGHT, actor="a", reason="r")
        redeem_points(store, "C-1", 10, key="r", at=MIDNIGHT)  # the same entry as before
    fast = account(store, "C-1")
    with computed_afresh():
        assert fast == account(store, "C-1")


def test_a_statement_replays_afresh_when_the_kept_state_cannot_fold_a_new_entry() -> None:
    """A snapshot that disagrees with the ledger breaks the state's fold (it starts from
    the snapshot) but not a statement's full replay: the statement must not fail."""
    def play() -> Statement:
        store = _memory()
        adjust_points(store, "C-1", 100, key="k0", at=MIDNIGHT, actor="a", reason="r")
        wrong = account(store, "C-1")
        store.loyalty.save_snapshot(
            attrs.evolve(wrong, lots=(attrs.evolve(wrong.lots[0], remaining=0),))
        )
        account(store, "C-1")
        hold_lot(store, "C-1", "C-1#1", at=MIDNIGHT, actor="a", reason="r")  # keeps a state
        store.loyalty.append(LedgerEntry(
            id="C-1#3", customer_id="C-1", seq=3, kind="redeem", points=-5, at=MIDNIGHT,
            key="host", actor="host", reason="r", draws=(Draw(lot="C-1#1", points=5),),
        ))
        return statement(store, "C-1", as_of=MIDNIGHT + timedelta(days=1))

    with computed_afresh():
        slow = play()
    assert play() == slow
    assert slow.lots[0].remaining == 95
