"""Slow, obviously-correct KPI references: plain Python over lists of row dicts."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

Row = dict[str, Any]


def in_period(t: int, start: int, end: int) -> bool:
    return start <= t < end


def counted(row: Row) -> bool:
    return row["status"] != "cancelled"


def buyer_counts(orders: list[Row], start: int, end: int) -> dict[Any, int]:
    counts: dict[Any, int] = defaultdict(int)
    for o in orders:
        if counted(o) and in_period(o["t"], start, end):
            counts[o["c"]] += 1
    return dict(counts)


def spend(orders: list[Row], start: int, end: int) -> dict[Any, int]:
    total: dict[Any, int] = defaultdict(int)
    for o in orders:
        if counted(o) and in_period(o["t"], start, end):
            total[o["c"]] += o["amount"] - o["returned"]
    return dict(total)


def repeat(orders: list[Row], start: int, end: int) -> tuple[int, int]:
    counts = buyer_counts(orders, start, end)
    return sum(1 for v in counts.values() if v >= 2), len(counts)


def repurchase(orders: list[Row], start: int, end: int) -> tuple[int, int]:
    counts = buyer_counts(orders, start, end)
    before = {o["c"] for o in orders if counted(o) and o["t"] < start}
    return sum(1 for c in counts if c in before), len(counts)


def retention(orders: list[Row], b: tuple[int, int], c: tuple[int, int]) -> tuple[int, int]:
    base = set(buyer_counts(orders, *b))
    cur = set(buyer_counts(orders, *c))
    return len(base & cur), len(base)


def buyers_who(orders: list[Row], inter: list[Row], kind: str, start: int, end: int
               ) -> tuple[int, int]:
    buyers = set(buyer_counts(orders, start, end))
    did = {i["c"] for i in inter if i["kind"] == kind and in_period(i["t"], start, end)}
    return len(buyers & did), len(buyers)


def returns(orders: list[Row], start: int, end: int) -> tuple[int, int]:
    rows = [o for o in orders if counted(o) and in_period(o["t"], start, end)]
    # A refund, or a returned status even without a refunded amount.
    return sum(1 for o in rows if o["returned"] > 0
               or o["status"] in ("returned", "partially_returned")), len(rows)


def cancellations(orders: list[Row], start: int, end: int) -> tuple[int, int]:
    rows = [o for o in orders if in_period(o["t"], start, end)]
    return sum(1 for o in rows if o["status"] == "cancelled"), len(rows)


def net_total(orders: list[Row], start: int, end: int) -> tuple[int, int]:
    rows = [o for o in orders if counted(o) and in_period(o["t"], start, end)]
    return sum(o["amount"] - o["returned"] for o in rows), len(rows)


def high_value(orders: list[Row], start: int, end: int, threshold: int) -> tuple[int, int]:
    s = spend(orders, start, end)
    return sum(1 for v in s.values() if v >= threshold), len(s)


def quantile_spend(orders: list[Row], start: int, end: int, q: float) -> int | None:
    values = sorted(spend(orders, start, end).values())
    if not values:
        return None
    return values[max(0, math.ceil(q * len(values)) - 1)]


def scores(inter: list[Row], start: int, end: int) -> list[int]:
    return [i["rating"] for i in inter
            if i["kind"] == "review" and i["rating"] and in_period(i["t"], start, end)]


def month_of(t: int) -> tuple[int, int]:
    d = datetime.fromtimestamp(t / 1e6, UTC)
    return d.year, d.month


def month_index(t: int) -> int:
    y, m = month_of(t)
    return y * 12 + m - 1


def cohorts(orders: list[Row], as_of: int, months: int) -> tuple[list[int], list[list[int]],
                                                               list[list[int]]]:
    end = month_index(as_of)
    start = end - months + 1
    months_of: dict[Any, set[int]] = defaultdict(set)
    for o in orders:
        if counted(o) and o["t"] <= as_of:
            months_of[o["c"]].add(month_index(o["t"]))
    sizes = [0] * months
    returned = [[0] * months for _ in range(months)]
    active = [[0] * months for _ in range(months)]
    for ms in months_of.values():
        first, last = min(ms), max(ms)
        c = first - start
        if c < 0:
            continue
        sizes[c] += 1
        for k in range(months - c):
            if first + k in ms:
                returned[c][k] += 1
            if last >= first + k:
                active[c][k] += 1
    for c in range(months):
        for k in range(months - c, months):
            returned[c][k] = active[c][k] = -1
    return sizes, returned, active
