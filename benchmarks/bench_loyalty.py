"""Loyalty and recommendation speed: vectorised ledger replay and the item-item model.

1. **Balances** (:func:`custmgmt.loyalty.balances.balances`): every customer's
   balance, locked points and debt at one moment, from a ledger in columns. The
   ledger is synthetic: per customer about two thirds awards (lots with expiry and a
   return-window lock) and one third redemptions, each naming the lot it draws, plus
   a few holds. Sizes up to 1M customers / 20M entries (goal: under 3 s). For scale,
   the per-customer Python replay (:func:`custmgmt.loyalty.replay` plus
   ``Account.balance``) is timed on a sample of customers and reported per customer:
   it does the same work (same entries, same outputs: balance, locked, debt).
2. **Item-item model** (:class:`custmgmt.recommend.ItemItemModel`, cosine, top-20
   neighbours): fitting from purchase lines (synthetic, planted co-purchase groups,
   ~10 lines per customer), up to 1e7 lines (goal: under 5 s). When ``implicit`` is
   installed its ``CosineRecommender`` (item-item cosine on the same customer x item
   matrix, K=20) is timed on the same data, including building the sparse matrix;
   scipy/implicit use compiled code and, for implicit, several threads.
3. **Earning** (:func:`custmgmt.loyalty.earn_for_order`) for every order of one
   customer, in time order, under ``DEFAULT_PROGRAM`` (tiers on), in memory and in
   SQLite, at several ledger lengths: the time per award should stay flat as the
   customer's ledger grows (each award folds in only the entries after the last one).
4. **Redeeming** (``--part redeem``): one customer whose ledger of ``n`` entries mixes
   order awards and redemptions (one redemption per three awards); then one
   :func:`~custmgmt.loyalty.redeem_points` call at a time is timed at the ledger's end.
5. **Mixed operations** (``--part mixed``): one customer with a realistic history of
   ``n`` entries, one day apart: order awards, redemptions, partial refunds reversed,
   the expiry job, manual adjustments, holds and releases. At the end each operation
   (redeem, adjust, hold, release, reverse, expire, statement, account, earn) is timed
   one call at a time.

   Parts 4 and 5 time each call twice, interleaved: once as the library runs it (the
   customer's running ledger state, ``loyalty/_running.py``: only the entries after
   the last one seen are read) and once computed afresh (``running`` replaced by one
   that yields None: the whole ledger read, decoded and replayed, as before the
   running state). Both make the same call on the same store with the same outputs.

Runs are interleaved (A B A B ...) and medians are reported; the machine is shared, so
compare rows of one run, not numbers across runs.

Usage: ``python benchmarks/bench_loyalty.py [--quick] [--repeat N] [--part PART]``.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import numpy as np

from custmgmt.adapters.memory import MemoryStore
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.domain import Money
from custmgmt.loyalty import (
    Draw,
    LedgerEntry,
    account,
    adjust_points,
    earn_for_order,
    expire_points,
    hold_lot,
    redeem_points,
    release_lot,
    replay,
    reverse_for_order,
    statement,
)
from custmgmt.loyalty import services as loyalty_services
from custmgmt.loyalty.balances import KIND_CODES, LedgerColumns, balances
from custmgmt.loyalty.ledger import EntryKind
from custmgmt.recommend import ItemItemModel, synthetic_purchases
from custmgmt.testing import make_customer, make_order, make_order_line

AS_OF = datetime(2026, 1, 1, tzinfo=UTC)
_US = 1_000_000
_DAY = 86_400 * _US


def synthetic_ledger(customers: int, entries: int, seed: int = 0) -> LedgerColumns:
    """About 2/3 awards and 1/3 redemptions drawing one lot each, ~1% holds."""
    rng = np.random.default_rng(seed)
    lots = entries * 2 // 3
    redeems = entries - lots
    start = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp()) * _US
    lot_customer = np.sort(rng.integers(0, customers, lots))
    lot_at = start + rng.integers(0, 700 * _DAY, lots)
    lot_points = rng.integers(1, 2000, lots)
    drawn_lot = rng.choice(lots, redeems, replace=False)
    draw_points = np.maximum(1, (lot_points[drawn_lot] * rng.random(redeems)).astype(np.int64))
    held = rng.choice(lots, lots // 100, replace=False)
    n = lots + redeems + len(held)
    kind = np.full(n, KIND_CODES[EntryKind.EARN], dtype=np.int8)
    kind[lots : lots + redeems] = KIND_CODES[EntryKind.REDEEM]
    kind[lots + redeems :] = KIND_CODES[EntryKind.LOCK]
    customer = np.concatenate([lot_customer, lot_customer[drawn_lot], lot_customer[held]])
    points = np.concatenate([lot_points, -draw_points, np.zeros(len(held), np.int64)])
    at = np.concatenate([lot_at, lot_at[drawn_lot] + 10 * _DAY, lot_at[held] + _DAY])
    never = np.iinfo(np.int64).max
    expires = np.concatenate([lot_at + 365 * _DAY, np.full(n - lots, never)])
    locked = np.concatenate([lot_at + 7 * _DAY, np.full(n - lots, np.iinfo(np.int64).min)])
    lot = np.concatenate([np.full(lots + redeems, -1), held])
    ids = np.empty(customers, dtype=object)
    ids[:] = [f"C{i:07d}" for i in range(customers)]
    return LedgerColumns.from_arrays(
        customer_ids=ids, customer=customer, kind=kind, points=points,
        debt=np.zeros(n, np.int64), at=at, expires_at=expires, locked_until=locked, lot=lot,
        draw_entry=np.arange(lots, lots + redeems), draw_lot=drawn_lot, draw_points=draw_points,
    )


def entries_of(ledger: LedgerColumns, codes: list[int]) -> list[list[LedgerEntry]]:
    """Some customers' entries as objects (for the per-customer Python replay)."""
    wanted = np.isin(ledger.customer, codes)
    rows_all = np.flatnonzero(wanted)
    draw_of = {int(e): (int(lot), int(p)) for e, lot, p in zip(
        ledger.draw_entry, ledger.draw_lot, ledger.draw_points, strict=True) if wanted[e]}
    kinds = list(EntryKind)

    def when(us: int) -> datetime:
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(us))

    result = []
    for code in codes:
        rows = rows_all[ledger.customer[rows_all] == code]
        rows = rows[np.argsort(ledger.at[rows], kind="stable")]
        cid = str(ledger.customer_ids[code])
        out: list[LedgerEntry] = []
        for seq, r in enumerate(rows.tolist(), start=1):
            kind = kinds[int(ledger.kind[r])]
            fields: dict[str, Any] = {}
            if kind is EntryKind.EARN:
                fields = {"expires_at": when(ledger.expires_at[r]),
                          "locked_until": when(ledger.locked_until[r])}
            elif kind is EntryKind.REDEEM:
                lot, p = draw_of[r]
                fields = {"draws": (Draw(lot=f"e{lot}", points=p),)}
            else:
                fields = {"lot": f"e{int(ledger.lot[r])}"}
            out.append(LedgerEntry(id=f"e{r}", customer_id=cid, seq=seq, kind=kind,
                                   points=int(ledger.points[r]), at=when(ledger.at[r]),
                                   key=f"k{r}", actor="bench", reason="bench", **fields))
        result.append(out)
    return result


def timed(fn: Callable[[], Any]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def bench_balances(sizes: list[tuple[int, int]], repeat: int) -> None:
    print("\n## Balances from a ledger in columns (vectorised replay)\n")
    print("| customers | entries | balances() median s | ns per entry | "
          "Python replay per customer (ms) | Python replay, all customers (s, est.) |")
    print("|---:|---:|---:|---:|---:|---:|")
    for customers, entries in sizes:
        ledger = synthetic_ledger(customers, entries)
        sample = list(range(0, customers, max(1, customers // 200)))[:200]
        objects = entries_of(ledger, sample)
        fast: list[float] = []
        slow: list[float] = []
        for _ in range(repeat):  # interleaved: A B A B ...
            fast.append(timed(lambda ledger=ledger: balances(ledger, as_of=AS_OF)))
            slow.append(timed(lambda objects=objects: [replay(e).balance(AS_OF)
                                                       for e in objects]))
        table = balances(ledger, as_of=AS_OF)
        for code, items in zip(sample[:20], objects[:20], strict=True):
            assert table.balance[code] == replay(items).balance(AS_OF)
        f = statistics.median(fast)
        per_customer = statistics.median(slow) / len(objects)
        print(f"| {customers:,} | {len(ledger):,} | {f:.2f} | {f / len(ledger) * 1e9:.0f} | "
              f"{per_customer * 1e3:.3f} | {per_customer * customers:,.0f} |")


def bench_item_item(sizes: list[int], items: int, repeat: int) -> None:
    try:
        import implicit  # noqa: F401
        from implicit.nearest_neighbours import CosineRecommender
        from scipy import sparse
    except ImportError:
        CosineRecommender = None
    print(f"\n## Item-item model fit (cosine, top-20 neighbours, {items:,} items)\n")
    extra = " implicit CosineRecommender median s |" if CosineRecommender else ""
    print(f"| lines | customers | fit median s | fit CPU median s | ns per line |{extra}")
    print("|---:|---:|---:|---:|---:|" + ("---:|" if CosineRecommender else ""))
    for lines in sizes:
        p = synthetic_purchases(customers=lines // 10, items=items, lines=lines, seed=1)
        ours: list[float] = []
        ours_cpu: list[float] = []
        theirs: list[float] = []
        for _ in range(repeat):
            # CPU time too: on a shared machine it moves far less with the load.
            cpu = time.process_time()
            ours.append(timed(lambda p=p: ItemItemModel(top_k=20).fit(p)))
            ours_cpu.append(time.process_time() - cpu)
            if CosineRecommender is not None:
                def fit_implicit(p: Any = p) -> None:
                    matrix = sparse.csr_matrix(
                        (np.ones(len(p)), (p.customer, p.item)),
                        shape=(p.n_customers, p.n_items),
                    )
                    matrix.data[:] = 1.0  # duplicates summed: count customers, not units
                    CosineRecommender(K=20).fit(matrix, show_progress=False)
                theirs.append(timed(fit_implicit))
        o = statistics.median(ours)
        row = (f"| {lines:,} | {p.n_customers:,} | {o:.2f} | {statistics.median(ours_cpu):.2f}"
               f" | {o / lines * 1e9:.0f} |")
        if CosineRecommender is not None:
            row += f" {statistics.median(theirs):.2f} |"
        print(row)
    if CosineRecommender is None:
        print("\n(implicit is not installed: no comparison)")


def _delivered_orders(kind: str, orders: int) -> tuple[Any, list[str]]:
    """A store with one customer and ``orders`` delivered orders, 7 hours apart."""
    store: Any = MemoryStore() if kind == "memory" else SQLiteStore(":memory:")
    start = datetime(2020, 1, 1, 9, tzinfo=timezone(timedelta(hours=8)))
    ids = []
    with store.transaction():
        store.customers.add(make_customer(id="C-1", registered_at=start))
        for i in range(orders):
            at = start + timedelta(hours=7 * i)
            price = Money(Decimal(50 + (i * 37) % 400), "CNY")
            order = make_order(id=f"O-{i:05d}", customer_id="C-1", placed_at=at,
                               lines=[make_order_line(unit_price=price)])
            store.orders.add(order.pay(at).ship(at + timedelta(hours=1))
                             .deliver(at + timedelta(days=2)))
            ids.append(order.id)
    return store, ids


def bench_earning(sizes: list[int], repeat: int) -> None:
    print("\n## Earning: every order of one customer, in time order (DEFAULT_PROGRAM)")
    print(f"{'orders':>7} {'store':>7} {'seconds':>8} {'ms per award':>13} {'points':>9}")
    for n in sizes:
        for kind in ("memory", "sqlite"):
            times, points = [], 0
            for _ in range(repeat):
                store, ids = _delivered_orders(kind, n)
                started = time.perf_counter()
                earned = [earn_for_order(store, order_id) for order_id in ids]
                times.append(time.perf_counter() - started)
                points = sum(e.points for e in earned if e is not None)
                store.close()
            took = statistics.median(times)
            print(f"{n:>7,} {kind:>7} {took:>8.2f} {took / n * 1e3:>13.3f} {points:>9,}")


@contextmanager
def _no_running_state(store: Any, customer_id: str, account: Any) -> Iterator[None]:
    yield None


@contextmanager
def afresh() -> Iterator[None]:
    """Every service computes from the whole ledger (the running state yields None)."""
    saved = loyalty_services.running
    loyalty_services.running = _no_running_state  # type: ignore[assignment]
    try:
        yield
    finally:
        loyalty_services.running = saved  # type: ignore[assignment]


class _History:
    """One customer's ledger built through the services, one day per step."""

    def __init__(self, kind: str) -> None:
        self.store: Any = MemoryStore() if kind == "memory" else SQLiteStore(":memory:")
        self.start = datetime(2020, 1, 1, 9, tzinfo=timezone(timedelta(hours=8)))
        self.now = self.start
        self.orders = 0
        self.calls = 0
        self.store.customers.add(make_customer(id="C-1", registered_at=self.start))

    def entries(self) -> int:
        return int(self.store.loyalty.last_seq("C-1"))

    def tick(self, delta: timedelta = timedelta(minutes=1)) -> datetime:
        self.now += delta
        return self.now

    def key(self, prefix: str) -> str:
        self.calls += 1
        return f"{prefix}-{self.calls}"

    def order(self) -> str:
        """A new delivered order at ``now`` (earning is left to the caller)."""
        i = self.orders
        self.orders += 1
        price = Money(Decimal(50 + (i * 37) % 400), "CNY")
        order = make_order(id=f"O-{i:05d}", customer_id="C-1", placed_at=self.now,
                           lines=[make_order_line(unit_price=price)])
        self.store.orders.add(order.pay(self.now).ship(self.now + timedelta(hours=1))
                              .deliver(self.now + timedelta(hours=2)))
        return order.id

    def earn(self) -> None:
        earn_for_order(self.store, self.order())

    def redeem(self, points: int = 0) -> None:
        balance = account(self.store, "C-1").balance(self.now)
        want = points or balance // 3
        if 0 < want <= balance:
            redeem_points(self.store, "C-1", want, key=self.key("r"), at=self.tick())

    def refund(self, back: int) -> str | None:
        """Refund half of the order ``back`` orders ago (the reversal is the caller's)."""
        if self.orders <= back:
            return None
        order = self.store.orders.get(f"O-{self.orders - 1 - back:05d}")
        if not order.refunded.is_zero:
            return None
        half = Money((order.total.amount / 2).quantize(Decimal("0.01")), "CNY")
        self.store.orders.update(order.record_return(half, max(self.tick(), order.placed_at)))
        return str(order.id)

    def open_lot(self) -> str | None:
        lots = account(self.store, "C-1").available_lots(self.now)
        return lots[-1].id if lots else None

    def step(self, i: int, mixed: bool) -> None:
        self.now = self.start + timedelta(days=i)
        self.earn()
        if not mixed:
            if i % 2 == 1:
                self.redeem()
            return
        if i % 4 == 1:
            self.redeem()
        if i % 10 == 3:
            refunded = self.refund(5)
            if refunded is not None:
                reverse_for_order(self.store, refunded)
        if i % 25 == 7:
            expire_points(self.store, as_of=self.tick(), customer_ids=["C-1"])
        if i % 50 == 11:
            adjust_points(self.store, "C-1", 30, key=self.key("a"), at=self.tick(),
                          actor="agent", reason="goodwill")
        if i % 40 == 13 and (lot := self.open_lot()) is not None:
            hold_lot(self.store, "C-1", lot, at=self.tick(), actor="agent", reason="check")
            release_lot(self.store, "C-1", lot, at=self.tick(), actor="agent", reason="ok")

    def grow(self, entries: int, mixed: bool) -> None:
        i = 0
        while self.entries() < entries:
            self.step(i, mixed)
            i += 1
        self.now += timedelta(days=1)


def _operations(h: _History) -> dict[str, Callable[[], Any]]:
    """One call of each operation at the ledger's end (each appends at most a few entries)."""
    lot = h.open_lot()
    assert lot is not None

    def hold_release() -> None:
        hold_lot(h.store, "C-1", lot, at=h.tick(), actor="agent", reason="check")
        release_lot(h.store, "C-1", lot, at=h.tick(), actor="agent", reason="ok")

    def reverse() -> None:
        order_id = h.order()
        earn_for_order(h.store, order_id)  # timed too (earning is flat, about 0.5 ms)
        h.refund(0)
        reverse_for_order(h.store, order_id)

    return {
        "redeem": lambda: redeem_points(h.store, "C-1", 1, key=h.key("r"), at=h.tick()),
        "adjust": lambda: adjust_points(h.store, "C-1", -1, key=h.key("a"), at=h.tick(),
                                        actor="agent", reason="fix"),
        "hold+release (2 calls)": hold_release,
        "earn+refund+reverse": reverse,
        "expire": lambda: expire_points(h.store, as_of=h.tick(timedelta(days=1)),
                                        customer_ids=["C-1"]),
        "statement": lambda: statement(h.store, "C-1", as_of=h.tick()),
        "account": lambda: account(h.store, "C-1"),
        "earn": h.earn,
    }


def bench_operations(sizes: list[int], repeat: int, mixed: bool) -> None:
    title = ("Mixed operations at the end of a mixed history" if mixed
             else "Redeeming at the end of an earn/redeem history")
    print(f"\n## {title} (DEFAULT_PROGRAM, one customer)\n")
    print("Per call, median of interleaved calls: running state, then computed afresh.\n")
    print("| entries | store | operation | running ms | afresh ms | afresh / running |")
    print("|---:|---|---|---:|---:|---:|")
    for n in sizes:
        for kind in ("memory", "sqlite"):
            h = _History(kind)
            h.grow(n, mixed)
            ops = _operations(h)
            if not mixed:
                ops = {"redeem": ops["redeem"]}
            for name, op in ops.items():
                op()  # warm: the running state is built once
                fast: list[float] = []
                slow: list[float] = []
                for _ in range(repeat):
                    fast.append(timed(op))
                    with afresh():
                        slow.append(timed(op))
                f, s = statistics.median(fast), statistics.median(slow)
                print(f"| {n:,} | {kind} | {name} | {f * 1e3:.3f} | {s * 1e3:.3f} | "
                      f"{s / f:.1f} |")
            h.store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes only")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--items", type=int, default=20_000, help="catalogue size")
    parser.add_argument(
        "--part", choices=("all", "balances", "item-item", "earning", "redeem", "mixed"),
        default="all",
    )
    args = parser.parse_args()
    print(f"# bench_loyalty on {platform.processor() or platform.machine()}, "
          f"numpy {np.__version__}, Python {platform.python_version()}")
    if args.part in ("all", "balances"):
        sizes = ([(10_000, 200_000), (100_000, 2_000_000)] if args.quick else
                 [(100_000, 2_000_000), (300_000, 6_000_000), (1_000_000, 20_000_000)])
        bench_balances(sizes, args.repeat)
    if args.part in ("all", "item-item"):
        lines = [100_000, 1_000_000] if args.quick else [1_000_000, 3_000_000, 10_000_000]
        bench_item_item(lines, args.items, args.repeat)
    if args.part in ("all", "earning"):
        bench_earning([200, 500] if args.quick else [200, 500, 1500], args.repeat)
    histories = [200, 500] if args.quick else [200, 500, 1500]
    if args.part in ("all", "redeem"):
        bench_operations(histories, max(args.repeat, 15), mixed=False)
    if args.part in ("all", "mixed"):
        bench_operations(histories, max(args.repeat, 15), mixed=True)


if __name__ == "__main__":
    main()
