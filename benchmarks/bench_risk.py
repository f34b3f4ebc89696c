"""Credit-risk speed: vectorised scoring, fitting the learnt card, alert rules.

Run as ``python benchmarks/bench_risk.py`` (``--quick`` for small sizes; ``--repeat N``
turns per engine). Goals on this kind of machine: scoring 1M customers under 0.5 s,
fitting the learnt card on 1M labelled rows x 20 features under 10 s.

Three tables, each at several sizes, engines taking turns (A B A B ...) and figures
the medians of their turns:

* **scoring**: ``Scorecard.score_columns`` on N customers x 6 features with missing
  and special bins, returning scores, grades and the bin matrix; against the
  *floor*: per feature the bin by counting comparisons with the cut points and one
  points lookup, summed (no missing or special bins, no grades, no bin matrix).
* **fit**: ``ScorecardFitter.fit`` on N rows x 20 features (quantile bins, monotone
  merging, WoE, IV, numpy IRLS, points), and the regression alone against
  scikit-learn's ``LogisticRegression(C=1)`` (lbfgs) on the same WoE matrix (when
  installed); both fit the same penalised model.
* **alerts**: ``evaluate_rules(DEFAULT_RULES)`` over N orders of N/10 customers and
  N/5 interactions (features for five rules, windows, the review-burst sort), the
  frames built beforehand (not timed).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np

from custmgmt.analytics.frames import InteractionFrame, OrderFrame
from custmgmt.risk import (
    DEFAULT_RULES,
    Bin,
    FeatureTable,
    Scorecard,
    ScorecardFitter,
    default_grades,
    evaluate_rules,
    fit_logistic,
)

AS_OF = datetime(2026, 1, 1, tzinfo=UTC)
DAY = 86_400_000_000


def median_times(engines: dict[str, Callable[[], Any]], repeat: int) -> dict[str, float]:
    times: dict[str, list[float]] = {k: [] for k in engines}
    for _ in range(repeat):
        for name, fn in engines.items():
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    return {k: statistics.median(v) for k, v in times.items()}


def make_card(k: int = 6) -> Scorecard:
    tables = []
    for j in range(k):
        cuts = [-1.0, -0.3, 0.3, 1.0]
        edges: list[float | None] = [None, *cuts, None]
        bins = [Bin(label=f"r{i}", lower=edges[i], upper=edges[i + 1], points=10 * (2 - i))
                for i in range(5)]
        bins += [Bin(label="missing", missing=True, points=0),
                 Bin(label="n/a", special=(-9.0,), points=5)]
        tables.append(FeatureTable(feature=f"f{j}", bins=tuple(bins)))
    lo = 500 + sum(t.min_points for t in tables)
    hi = 500 + sum(t.max_points for t in tables)
    return Scorecard(name="bench", version=1, base_points=500, tables=tuple(tables),
                     grades=default_grades(lo, hi))


def bench_scoring(sizes: list[int], repeat: int) -> None:
    card = make_card()
    print("\nscoring: N customers x 6 features (median seconds)")
    print(f"{'N':>10} {'custmgmt':>10} {'floor':>10} {'ratio':>7} {'ns/customer':>12}")
    rng = np.random.default_rng(0)
    for n in sizes:
        _scoring_one(card, n, rng, repeat)


def _scoring_one(card: Scorecard, n: int, rng: Any, repeat: int) -> None:
    cols = {f"f{j}": rng.normal(size=n) for j in range(6)}
    for x in cols.values():
        x[rng.random(n) < 0.05] = np.nan
        x[rng.random(n) < 0.02] = -9.0
    edges = np.array([-1.0, -0.3, 0.3, 1.0])
    pts = np.array([20, 10, 0, -10, -20])

    def floor() -> Any:
        total = np.full(n, 500, dtype=np.int64)
        for x in cols.values():
            idx = np.zeros(n, dtype=np.int16)
            for e in edges:
                idx += x >= e
            total += pts[idx]
        return total

    t = median_times({"custmgmt": lambda: card.score_columns(cols), "floor": floor},
                     repeat)
    print(f"{n:>10,} {t['custmgmt']:>10.3f} {t['floor']:>10.3f} "
          f"{t['custmgmt'] / t['floor']:>7.2f} {1e9 * t['custmgmt'] / n:>12.0f}")


def bench_fit(sizes: list[int], repeat: int) -> None:
    try:
        from sklearn.linear_model import LogisticRegression
    except ImportError:
        LogisticRegression = None
    print("\nfit: N labelled rows x 20 features (median seconds)")
    print(f"{'N':>10} {'fit card':>9} {'IRLS':>7} {'sklearn':>8} {'AUC card':>9} "
          f"{'AUC skl':>8}")
    rng = np.random.default_rng(1)
    beta = rng.normal(scale=0.4, size=20)
    for n in sizes:
        _fit_one(n, rng, beta, repeat, LogisticRegression)


def _fit_one(n: int, rng: Any, beta: Any, repeat: int, LogisticRegression: Any) -> None:
    x = rng.normal(size=(n, 20))
    x[rng.random((n, 20)) < 0.03] = np.nan
    eta = -2 + np.nan_to_num(x) @ beta
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(np.int8)
    cols = {f"f{j}": x[:, j] for j in range(20)}
    fitter = ScorecardFitter(n_bins=10)
    fitter.fit(cols, y)
    woe = np.column_stack([fitter.binnings_[f].woe_of(cols[f]) for f in cols])
    engines: dict[str, Callable[[], Any]] = {
        "card": lambda: ScorecardFitter(n_bins=10).fit(cols, y),
        "irls": lambda: fit_logistic(woe, y, l2=1.0),
    }
    if LogisticRegression is not None:
        engines["sklearn"] = lambda: LogisticRegression(C=1.0, max_iter=1000).fit(woe, y)
    t = median_times(engines, repeat)
    from custmgmt.risk import auc

    card_auc = auc(y, fitter.card.score_columns(cols).scores)
    skl = "-"
    skl_auc = "-"
    if LogisticRegression is not None:
        skl = f"{t['sklearn']:.2f}"
        model = LogisticRegression(C=1.0, max_iter=1000).fit(woe, y)
        skl_auc = f"{auc(y, -model.decision_function(woe)):.4f}"
    print(f"{n:>10,} {t['card']:>9.2f} {t['irls']:>7.2f} {skl:>8} {card_auc:>9.4f} "
          f"{skl_auc:>8}")


def make_frames(n_orders: int, seed: int = 2) -> tuple[OrderFrame, InteractionFrame]:
    rng = np.random.default_rng(seed)
    n_c = max(n_orders // 10, 1)
    limit = int(AS_OF.timestamp() * 1_000_000)
    cust = rng.integers(0, n_c, size=n_orders)
    placed = limit - rng.integers(0, 400 * DAY, size=n_orders)
    status = rng.choice(np.array([1, 3, 4, 5], dtype=np.int8), size=n_orders,
                        p=[0.2, 0.7, 0.05, 0.05])
    amount = rng.integers(100, 100_000, size=n_orders)
    orders = OrderFrame.from_arrays(customer_id=cust, placed_at=placed, amount=amount,
                                    status=status, currency="CNY")
    n_i = n_orders // 5
    kinds = np.full(n_i, 6, dtype=np.int8)  # reviews
    kinds[rng.random(n_i) < 0.2] = 8  # complaints
    rating = np.where(kinds == 6, rng.integers(1, 6, size=n_i), 0)
    inter = InteractionFrame.from_arrays(
        customer_id=rng.integers(0, n_c, size=n_i), at=limit - rng.integers(0, 400 * DAY,
                                                                          size=n_i),
        kind=kinds, rating=rating, customer_index=orders)
    return orders, inter


def bench_alerts(sizes: list[int], repeat: int) -> None:
    print("\nalerts: DEFAULT_RULES over N orders, N/10 customers, N/5 interactions "
          "(median seconds)")
    print(f"{'N orders':>10} {'custmgmt':>10} {'ns/order':>9} {'alerts':>8}")
    for n in sizes:
        _alerts_one(n, repeat)


def _alerts_one(n: int, repeat: int) -> None:
    orders, inter = make_frames(n)
    found: list[Any] = []

    def run() -> None:
        found[:] = evaluate_rules(DEFAULT_RULES, orders, inter, as_of=AS_OF)

    t = median_times({"custmgmt": run}, repeat)
    print(f"{n:>10,} {t['custmgmt']:>10.2f} {1e9 * t['custmgmt'] / n:>9.0f} "
          f"{len(found):>8,}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes only")
    parser.add_argument("--repeat", type=int, default=5, help="turns per engine")
    parser.add_argument("--only", choices=("scoring", "fit", "alerts"), help="one table")
    args = parser.parse_args(argv)
    print(f"numpy {np.__version__}, python {sys.version.split()[0]}; single-threaded numpy "
          "(BLAS may use more threads for the IRLS and scikit-learn matrix products)")
    if args.only in (None, "scoring"):
        bench_scoring([10_000, 100_000] if args.quick else [100_000, 300_000, 1_000_000],
                      args.repeat)
    if args.only in (None, "fit"):
        bench_fit([20_000] if args.quick else [100_000, 300_000, 1_000_000],
                  max(1, args.repeat // 2))
    if args.only in (None, "alerts"):
        bench_alerts([100_000] if args.quick else [1_000_000, 3_000_000, 10_000_000],
                     max(1, args.repeat // 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
