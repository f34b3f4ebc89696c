"""Campaign audience building: consent, suppression, frequency caps, holdout, quiet hours.

Times :func:`custmgmt.campaigns.decide_audience` (vectorised numpy) on synthetic
audiences of several sizes with ten past sends per customer (over the last 14 days,
from any campaign), a 3-per-7-days cap in each customer's own calendar days (four UTC
offsets), 2% of customers on the suppression list, 60% consent, a 10% salted-hash
holdout and quiet hours 21:00-09:00. Inputs are columns as a store's columnar read
gives them: candidate ids as a numpy ``str`` array, past sends as candidate codes
plus µs timestamps.

Against it, in turns (A B A B ...) and on the same inputs, a plain-Python reference
that decides one customer at a time (dict of send times per customer, ``hashlib``-free
hash in Python ints, the documented order) on the smaller sizes, checked equal.
Separate rows show the parts: the holdout hash alone, and mapping the past sends'
string customer ids to candidate codes, which the store service does before calling
the core: :func:`custmgmt.campaigns.audience.match_ids` (a vectorised hash join) and,
once at the largest size, a plain dict lookup per send for comparison.

With ``--service N`` it also times the store path once: ``run_campaign`` on an
SQLite file holding N synthetic customers (consent, suppression list, three earlier
campaigns' decisions as the cap's history), the feature table built beforehand.

Usage: ``python benchmarks/bench_campaigns.py [--quick] [--repeat N] [--service N]``.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from custmgmt.campaigns.audience import (
    SendReason,
    decide_audience,
    holdout_hash,
    holdout_hash_reference,
    match_ids,
)

DAY_US = 86_400_000_000
MIN_US = 60_000_000
NOW_US = 1_782_000_000 * 1_000_000  # a fixed "now" in 2026
OFFSETS = np.array([28_800, 0, -18_000, 19_800])  # Shanghai, London, New York, India
SUPP = {1: SendReason.RESTRICTED, 2: SendReason.BLACKLISTED, 3: SendReason.ERASED,
        4: SendReason.UNSUBSCRIBED}


def make_inputs(n: int, sends_per_customer: int, seed: int = 1) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    ids = np.char.add("C", np.arange(n).astype("U8"))
    m = n * sends_per_customer
    return {
        "ids": ids,
        "consent": rng.random(n) < 0.6,
        "suppression": np.where(rng.random(n) < 0.02, rng.integers(1, 5, n), 0).astype(np.int8),
        "utc_offset_s": OFFSETS[rng.integers(0, OFFSETS.size, n)],
        "past_send_codes": rng.integers(0, n, m).astype(np.int64),
        "past_send_us": NOW_US - rng.integers(0, 14 * DAY_US, m),
    }


def vectorised(inp: dict[str, Any]) -> Any:
    return decide_audience(
        inp["ids"], consent=inp["consent"], suppression=inp["suppression"],
        utc_offset_s=inp["utc_offset_s"], past_send_codes=inp["past_send_codes"],
        past_send_us=inp["past_send_us"], now_us=NOW_US, salt="bench-618", cap=3,
        window_days=7, holdout_share=0.1, quiet_start_min=21 * 60, quiet_end_min=9 * 60,
    )


def reference(inp: dict[str, Any]) -> list[int]:
    """One customer at a time, in plain Python."""
    ids = inp["ids"].tolist()
    consent = inp["consent"].tolist()
    supp = inp["suppression"].tolist()
    offsets = inp["utc_offset_s"].tolist()
    sends: dict[int, list[int]] = {}
    for c, t in zip(inp["past_send_codes"].tolist(), inp["past_send_us"].tolist(), strict=True):
        sends.setdefault(c, []).append(t)
    out = []
    for i, cid in enumerate(ids):
        off = offsets[i] * 1_000_000
        if not consent[i]:
            out.append(SendReason.NO_CONSENT.code)
            continue
        if supp[i]:
            out.append(SUPP[supp[i]].code)
            continue
        today = (NOW_US + off) // DAY_US
        recent = sum(1 for t in sends.get(i, ()) if (t + off) // DAY_US > today - 7)
        if recent >= 3:
            out.append(SendReason.FREQUENCY_CAP.code)
            continue
        if holdout_hash_reference(cid, "bench-618") < 0.1:
            out.append(SendReason.HOLDOUT.code)
            continue
        minute = ((NOW_US + off) % DAY_US) // MIN_US
        quiet = minute >= 21 * 60 or minute < 9 * 60
        out.append((SendReason.QUIET_HOURS if quiet else SendReason.SENT).code)
    return out


def map_ids(inp: dict[str, Any], send_ids: np.ndarray) -> np.ndarray:
    position = {cid: i for i, cid in enumerate(inp["ids"].tolist())}
    return np.array([position.get(c, -1) for c in send_ids.tolist()], dtype=np.int64)


def hash_join(inp: dict[str, Any], send_ids: np.ndarray) -> np.ndarray:
    return match_ids(inp["ids"], send_ids)


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes only")
    parser.add_argument("--repeat", type=int, default=3, help="runs per row (default 3)")
    parser.add_argument("--service", type=int, default=0, metavar="N",
                        help="also time run_campaign on an SQLite store of N customers")
    args = parser.parse_args()
    if args.service:
        service(args.service)
        return
    sizes = [10_000, 100_000] if args.quick else [10_000, 100_000, 300_000, 1_000_000]
    print(f"python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}")
    print(f"{'customers':>10} {'past sends':>11} {'row':<34} {'median s':>9} {'per customer':>13}")
    for n in sizes:
        inp = make_inputs(n, 10)
        rows: dict[str, list[float]] = {"decide_audience (vectorised)": []}
        with_reference = n <= 100_000
        if with_reference:
            rows["reference (Python, per customer)"] = []
        rows["  part: holdout hash of all ids"] = []
        for _ in range(args.repeat):
            t, fast = timed(lambda inp=inp: vectorised(inp))
            rows["decide_audience (vectorised)"].append(t)
            if with_reference:
                t, slow = timed(lambda inp=inp: reference(inp))
                rows["reference (Python, per customer)"].append(t)
                assert fast.reason.tolist() == slow, "vectorised and reference disagree"
            t, _ = timed(lambda inp=inp: holdout_hash(inp["ids"], "bench-618"))
            rows["  part: holdout hash of all ids"].append(t)
        send_ids = inp["ids"][inp["past_send_codes"]]
        rows["  send ids -> codes: match_ids"] = []
        for _ in range(args.repeat):
            t, codes = timed(lambda inp=inp, send_ids=send_ids: hash_join(inp, send_ids))
            assert (codes == inp["past_send_codes"]).all()
            rows["  send ids -> codes: match_ids"].append(t)
        if n == sizes[-1]:
            boxed = send_ids.astype(object)
            t, codes = timed(lambda inp=inp, boxed=boxed: map_ids(inp, boxed))
            assert (codes == inp["past_send_codes"]).all()
            rows["  send ids -> codes: dict, once"] = [t]
        for name, times in rows.items():
            med = statistics.median(times)
            print(f"{n:>10,} {n * 10:>11,} {name:<34} {med:>9.3f} {med / n * 1e6:>10.2f} µs")
        counts = fast.counts()
        print(f"{'':>22} decisions: " + ", ".join(
            f"{r.value} {c:,}" for r, c in counts.items() if c))


def service(n: int) -> None:
    """Time preview and run of one campaign on an SQLite file of ``n`` customers."""
    import tempfile
    from datetime import datetime, timedelta, timezone
    from pathlib import Path

    from custmgmt.adapters.sqlite import SQLiteStore
    from custmgmt.campaigns import MemoryNotifier, preview_audience, run_campaign
    from custmgmt.campaigns.records import SendDecision, Suppression
    from custmgmt.domain import Customer
    from custmgmt.segmentation import Columns
    from custmgmt.testing.campaign_contract import make_campaign

    cst = timezone(timedelta(hours=8))
    at = datetime(2026, 6, 18, 14, tzinfo=cst)
    rng = np.random.default_rng(2)
    ids = [f"C{i:07d}" for i in range(n)]
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "bench.sqlite3")
        registered = datetime(2025, 1, 1, tzinfo=cst)
        consent = rng.random(n) < 0.6
        store.customers.add_many(
            Customer(id=cid, name="王芳", registered_at=registered).with_consent(
                "sms", bool(ok), at=registered)
            for cid, ok in zip(ids, consent, strict=True)
        )
        with store.transaction():
            for i in np.flatnonzero(rng.random(n) < 0.02).tolist():
                store.campaigns.add_suppression(
                    Suppression(customer_id=ids[i], reason="blacklisted", at=registered))
        for k in range(3):
            past = make_campaign(f"P{k}", starts_at=at - timedelta(days=10))
            store.campaigns.add_campaign(past)
            when = at - timedelta(days=k + 1)
            store.campaigns.add_decisions([
                SendDecision(campaign_id=past.id, customer_id=cid, reason="sent",
                             channel="sms", decided_at=when, send_at=when, offer_index=0,
                             message_id=f"{past.id}:{cid}")
                for cid in ids if rng.random() < 0.5
            ])
        store.campaigns.add_campaign(make_campaign(quiet_hours=None))
        table = Columns(ids, {"stars": rng.integers(1, 6, n)})
        t, preview = timed(lambda: preview_audience(store, "C-1", table, at=at))
        sends = len(store.campaigns.send_log(at - timedelta(days=8)))
        print(f"service, SQLite file, {n:,} customers, {sends:,} past sends:")
        print(f"  preview_audience  {t:8.2f} s  ({len(preview.customer_ids):,} candidates)")
        t, result = timed(lambda: run_campaign(store, "C-1", table, MemoryNotifier(), at=at))
        print(f"  run_campaign      {t:8.2f} s  ({result.messages:,} messages, "
              f"{sum(result.counts.values()):,} decisions stored)")
        store.close()


if __name__ == "__main__":
    main()
