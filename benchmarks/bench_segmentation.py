"""Segmentation and churn speed: rules, schemes, RFM, k-means and the churn engine.

Run as ``python benchmarks/bench_segmentation.py`` (``--quick`` for small sizes).
Prints one table: median wall time of a few repeats per step, and, for the rule
engine, the ratio to the floor (the same comparisons written by hand in numpy).
Everything is single-threaded numpy.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from custmgmt.segmentation import RFM, Columns, KMeans, quality_tiers, value_tiers
from custmgmt.segmentation.clustering import standardise


def timed(fn: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def synthetic_table(n: int, seed: int = 0) -> Columns:
    rng = np.random.default_rng(seed)
    frequency = rng.negative_binomial(1, 0.2, n)
    recency = np.where(frequency > 0, rng.exponential(120, n), np.nan)
    spend = frequency * rng.lognormal(5, 1, n)
    reviews = np.where(rng.random(n) < 0.6, rng.uniform(1, 5, n), np.nan)
    return Columns(
        np.arange(n, dtype=np.int64),
        {
            "frequency": frequency,
            "recency": recency,
            "tenure": recency + rng.exponential(300, n),
            "total_spend": spend,
            "annual_spend": spend * 0.6,
            "review_mean": reviews,
            "disputes": rng.poisson(0.1, n),
        },
    )


def bench_tables(n: int, repeats: int) -> list[tuple[str, int, float, str]]:
    table = synthetic_table(n)
    scheme = quality_tiers()
    t_scheme = timed(lambda: scheme.assign(table), repeats)

    def floor() -> np.ndarray:
        s, r, d = table["annual_spend"], table["review_mean"], table["disputes"]
        core = (s > 50_000) & (r >= 4.5) & (d == 0)
        potential = ((s > 10_000) | (r >= 4.0)) & (d == 0) & ~core
        return np.where(core, 0, np.where(potential, 1, 2))

    t_floor = timed(floor, repeats)
    tiers = value_tiers()
    X = standardise(
        np.column_stack([table["frequency"], table["recency"], table["total_spend"]]).astype(float)
    )
    model = KMeans(5, n_init=3, random_state=0)
    t_km = timed(lambda: model.fit(X), 1)
    t_km1 = timed(lambda: KMeans(5, n_init=1, random_state=0).fit(X), 1)
    return [
        (
            "quality tiers (3 segments, 6 predicates)",
            n,
            t_scheme,
            f"{t_scheme / t_floor:.1f}x floor",
        ),
        ("value tiers (2 quantile cuts)", n, timed(lambda: tiers.assign(table), repeats), ""),
        ("RFM quintile scores + map", n, timed(lambda: RFM().score(table), repeats), ""),
        (f"k-means k=5, 3 restarts ({model.n_iter_} iterations kept)", n, t_km, ""),
        ("k-means k=5, 1 run", n, t_km1, ""),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes")
    args = parser.parse_args()
    sizes = [100_000] if args.quick else [1_000_000]
    repeats = 5
    rows: list[tuple[str, int, float, str]] = []
    for n in sizes:
        rows.extend(bench_tables(n, repeats))
    try:
        from custmgmt.analytics.frames import InteractionFrame, OrderFrame
        from custmgmt.churn import ChurnEngine
        from custmgmt.datasets import DEFAULT_AS_OF, make_arrays
        from custmgmt.segmentation import segment_features

        n_customers = 10_000 if args.quick else 100_000
        data = make_arrays(n_customers, seed=1)
        orders = OrderFrame.from_arrays(
            customer_id=data.orders.customer_id,
            placed_at=data.orders.placed_at,
            amount=data.orders.amount,
            returned_amount=data.orders.returned_amount,
            currency="CNY",
            category=[data.orders.categories[c] for c in data.orders.category],
            status=data.orders.status.astype(np.int64),
        )
        inter = data.interactions
        assert inter is not None
        interactions = InteractionFrame.from_arrays(
            customer_id=inter.customer_id,
            at=inter.at,
            kind=inter.kind.astype(np.int64),
            rating=inter.rating,
            complaint_category=inter.complaint_category,
            resolved=inter.resolved,
            customer_index=orders,
        )
        engine = ChurnEngine()
        features = segment_features(
            orders, interactions, as_of=DEFAULT_AS_OF, extra=sorted(engine.required_features())
        )
        t_feat = timed(lambda: segment_features(orders, interactions, as_of=DEFAULT_AS_OF), 1)
        rows.append(
            (
                f"segment_features ({len(orders):,} orders, {len(interactions):,} events)",
                n_customers,
                t_feat,
                "features engine",
            )
        )
        t_churn = timed(
            lambda: engine.evaluate(orders, interactions, as_of=DEFAULT_AS_OF, features=features),
            repeats,
        )
        rows.append(
            ("churn engine, 5 default rules + reasons", n_customers, t_churn, "features given")
        )
    except ImportError as exc:  # pragma: no cover - a partial install
        print(f"(churn benchmark skipped: {exc})")
    print(f"{'step':<62} {'customers':>10} {'median ms':>10}  note")
    for name, n, seconds, note in rows:
        print(f"{name:<62} {n:>10,} {seconds * 1e3:>10.1f}  {note}")


if __name__ == "__main__":
    main()
