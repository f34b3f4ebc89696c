"""Benchmark custmgmt's lifetime models against lifetimes 0.11.3, like for like.

In one run: summarising transactions (``summarize_transactions`` against lifetimes'
``summary_data_from_transaction_data``), and fitting BG/NBD, Pareto/NBD and Gamma-Gamma
on synthetic customers; it also checks that both libraries agree (same summary, same
predictions to 4 significant figures at the same parameters, close fitted parameters).

Like for like first. custmgmt's fits compress identical rows into weights and compute
no standard errors. lifetimes is therefore timed twice:

* *like for like*: the same rows compressed into ``weights`` first (a pandas
  ``groupby``, timed) and the post-fit autograd Hessian (standard errors, 42% of its
  BG/NBD time) left out: a subclass whose ``_fit`` returns no Hessian;
* *as shipped*: ``Fitter().fit(...)`` on every row, Hessian and standard errors included.

The sides take turns (custmgmt, lifetimes like for like, lifetimes as shipped, and
again), each run in a fresh subprocess after a small warm-up fit, so machine load
lands on all of them; time is the median of ``--repeat`` turns (a run slower than
``SLOW_SECONDS`` is not repeated), peak memory the growth of the process's resident
set during the timed call (the kernel's high-water mark is reset just before it,
``/proc/self/clear_refs``), input data loaded beforehand on both sides.

lifetimes needs old numpy/pandas, so it lives in its own virtualenv: pass its
interpreter with ``--lifetimes-python`` (or ``CUSTMGMT_LIFETIMES_PYTHON``);
``benchmarks/requirements-lifetimes.txt`` pins that environment. Without one the
lifetimes columns stay empty.

    python benchmarks/bench_clv.py [--quick | --large] [--lifetimes-python PATH] [--out FILE.md]

Default sizes finish in a few minutes on a 2-core machine; ``--large`` is the
1,000,000-customer comparison (lifetimes' Pareto/NBD then takes minutes per run).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

SIZES = {
    "default": {
        "transactions": 2_000_000,
        "tx_customers": 400_000,
        "customers": 400_000,
        "pareto_lifetimes": 20_000,
    },
    "large": {
        "transactions": 5_000_000,
        "tx_customers": 1_000_000,
        "customers": 1_000_000,
        "pareto_lifetimes": 100_000,
    },
    "quick": {
        "transactions": 200_000,
        "tx_customers": 40_000,
        "customers": 50_000,
        "pareto_lifetimes": 5_000,
    },
}
OBSERVATION_END = "2024-12-31"
AGREEMENT_ROWS = 2_000
WARM_UP_ROWS = 2_000
# Runs slower than this are measured once.
SLOW_SECONDS = 30.0
VARIANTS = {
    "lfl": "lifetimes like for like (same weights, no Hessian)",
    "shipped": "lifetimes as shipped (every row, Hessian)",
}
WHAT = """\
What each side does (and does not do):
- summary: both read the same transactions (ids, times, amounts in cents) and return
  frequency, recency, T and mean spend per customer at daily resolution; lifetimes from a
  pandas DataFrame built beforehand (not timed), custmgmt from numpy arrays.
- custmgmt fits: input validation, compression of identical rows into weights, a
  Newton/trust-region fit in log space with exact gradients; no standard errors.
- lifetimes like for like: the same compression (pandas groupby, timed) passed as
  `weights`, the same fit without its post-fit autograd Hessian (no standard errors).
- lifetimes as shipped: every row, post-fit Hessian, variance matrix, standard errors
  and confidence intervals (BG/NBD and Gamma-Gamma; its Pareto/NBD computes none).
- Pareto/NBD: lifetimes uses Nelder-Mead (up to 2000 iterations, tol 1e-4); it is compared
  on the first customers of the set (see the row); custmgmt's time on the full set is
  given beside it.
"""

# ------------------------------------------------------------------------ memory


def _rss_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


# ----------------------------------------------------------------- data (ours)


def make_data(sizes: dict[str, int], folder: Path) -> None:
    """Synthetic transactions and customers, saved for the workers."""
    from custmgmt.analytics.clv import simulate_bgnbd, simulate_gamma_gamma, simulate_pareto_nbd

    rng = np.random.default_rng(2024)
    n = sizes["transactions"]
    # Customers of uneven activity: ids drawn with a skewed weight, times over two years.
    weights = rng.gamma(0.8, 1.0, sizes["tx_customers"])
    ids = rng.choice(sizes["tx_customers"], size=n, p=weights / weights.sum()) + 10_000_000
    start = np.datetime64("2023-01-01T00:00:00", "us").astype(np.int64)
    at = start + rng.integers(0, 730 * 86_400_000_000, n)
    amount = rng.integers(100, 200_000, n)  # cents
    np.savez(folder / "transactions.npz", ids=ids, at=at, amount=amount)

    m = sizes["customers"]
    ages = rng.integers(30, 730, m).astype(np.float64)
    bg = simulate_bgnbd(m, r=0.8, alpha=20.0, a=0.6, b=3.0, T=ages, seed=1, discrete=True)
    pa = simulate_pareto_nbd(
        m, r=0.8, alpha=20.0, s=0.7, beta=200.0, T=ages, seed=2, discrete=True
    )
    spend = simulate_gamma_gamma(bg.frequency, p=6.0, q=4.0, v=15.0, seed=3)
    np.savez(
        folder / "customers.npz",
        bg_x=bg.frequency.astype(np.float64),
        bg_tx=bg.recency,
        bg_T=bg.T,
        pa_x=pa.frequency.astype(np.float64),
        pa_tx=pa.recency,
        pa_T=pa.T,
        spend=spend,
    )


# ------------------------------------------------------------------------ workers


def worker(task: str, folder: Path, limit: int | None, variant: str) -> dict[str, Any]:
    if task == "ours-summary":
        return _ours_summary(folder)
    if task == "lifetimes-summary":
        return _lifetimes_summary(folder)
    model = task.split("-", 1)[1]
    if task.startswith("ours-"):
        return _ours_fit(model, folder, limit)
    return _lifetimes_fit(model, folder, limit, variant)


def _measure(call: Any, warm_up: Any) -> tuple[Any, float, float]:
    """Warm up, then one timed call: its result, seconds and peak memory growth (MB)."""
    warm_up()
    gc.collect()
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")  # reset the high-water mark
    before = _rss_mb("VmRSS")
    start = time.perf_counter()
    result = call()
    seconds = time.perf_counter() - start
    return result, seconds, _rss_mb("VmHWM") - before


def _ours_summary(folder: Path) -> dict[str, Any]:
    from datetime import date

    from custmgmt.analytics.clv import summarize_transactions

    data = np.load(folder / "transactions.npz")
    ids, at, amount = data["ids"], data["at"], data["amount"]
    end = date.fromisoformat(OBSERVATION_END)

    def call(rows: slice = slice(None)) -> Any:
        return summarize_transactions(ids[rows], at[rows], amount[rows], observation_end=end)

    summary, seconds, peak = _measure(call, lambda: call(slice(WARM_UP_ROWS)))
    np.savez(
        folder / "summary-ours.npz",
        ids=summary.customer_ids,
        frequency=summary.frequency,
        recency=summary.recency,
        T=summary.T,
        monetary=summary.monetary_value,
    )
    return {"seconds": seconds, "peak_mb": peak, "rows": len(summary)}


def _lifetimes_summary(folder: Path) -> dict[str, Any]:
    import pandas as pd
    from lifetimes.utils import summary_data_from_transaction_data

    data = np.load(folder / "transactions.npz")
    frame = pd.DataFrame(
        {
            "customer_id": data["ids"],
            "date": data["at"].astype("datetime64[us]").astype("datetime64[ns]"),
            "amount": data["amount"],
        }
    )
    del data

    def call(rows: slice = slice(None)) -> Any:
        return summary_data_from_transaction_data(
            frame.iloc[rows],
            "customer_id",
            "date",
            monetary_value_col="amount",
            observation_period_end=OBSERVATION_END,
            freq="D",
        )

    summary, seconds, peak = _measure(call, lambda: call(slice(WARM_UP_ROWS)))
    summary = summary.sort_index()
    np.savez(
        folder / "summary-lifetimes.npz",
        ids=summary.index.to_numpy(),
        frequency=summary["frequency"].to_numpy(),
        recency=summary["recency"].to_numpy(),
        T=summary["T"].to_numpy(),
        monetary=summary["monetary_value"].to_numpy(),
    )
    return {"seconds": seconds, "peak_mb": peak, "rows": len(summary)}


def _columns(model: str, folder: Path, limit: int | None) -> tuple[np.ndarray, ...]:
    data = np.load(folder / "customers.npz")
    if model == "gg":
        x, m = data["bg_x"], data["spend"]
        keep = x > 0
        return x[keep][:limit], m[keep][:limit]
    prefix = "bg" if model == "bgnbd" else "pa"
    return tuple(data[f"{prefix}_{c}"][:limit] for c in ("x", "tx", "T"))


def _sample(columns: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
    step = max(columns[0].size // AGREEMENT_ROWS, 1)
    return tuple(c[::step][:AGREEMENT_ROWS] for c in columns)


def _ours_fit(model: str, folder: Path, limit: int | None) -> dict[str, Any]:
    from custmgmt.analytics.clv import BetaGeo, GammaGamma, ParetoNBD

    columns = _columns(model, folder, limit)
    cls = {"bgnbd": BetaGeo, "pareto": ParetoNBD, "gg": GammaGamma}[model]

    def call(rows: slice = slice(None)) -> Any:
        return cls().fit(*(c[rows] for c in columns))

    fitted, seconds, peak = _measure(call, lambda: call(slice(WARM_UP_ROWS)))
    return {
        "seconds": seconds,
        "peak_mb": peak,
        "params": dict(fitted.params_),
        "customers": int(columns[0].size),
    }


def _without_hessian(cls: Any) -> Any:
    """A lifetimes fitter that skips the post-fit Hessian and what is computed from it."""
    from autograd import value_and_grad
    from scipy.optimize import minimize

    class NoHessian(cls):  # type: ignore[misc, valid-type]
        def _fit(self, args: Any, initial: Any, size: int, disp: Any, tol: float = 1e-7,
                 bounds: Any = None, **kwargs: Any) -> Any:
            # lifetimes' BaseFitter._fit, less the autograd Hessian after the fit.
            options = {"disp": disp, **kwargs}
            start = 0.1 * np.ones(size) if initial is None else initial
            output = minimize(value_and_grad(self._negative_log_likelihood), jac=True,
                              method=None, tol=tol, x0=start, args=args, options=options,
                              bounds=bounds)
            if not output.success:
                raise RuntimeError(f"lifetimes did not converge: {output.message}")
            return output.x, output.fun, None

        def _compute_variance_matrix(self) -> None:
            return None

        def _compute_standard_errors(self) -> None:
            return None

        def _compute_confidence_intervals(self) -> None:
            return None

    return NoHessian


def _compressed(columns: tuple[np.ndarray, ...]) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
    """Identical rows merged, as custmgmt's fits do: the distinct rows and their counts."""
    import pandas as pd

    names = [f"c{i}" for i in range(len(columns))]
    counts = pd.DataFrame(dict(zip(names, columns, strict=True))).groupby(
        names, sort=False
    ).size()
    rows = counts.index.to_frame(index=False)
    return tuple(rows[n].to_numpy() for n in names), counts.to_numpy()


def _lifetimes_fit(model: str, folder: Path, limit: int | None, variant: str) -> dict[str, Any]:
    import warnings

    warnings.simplefilter("ignore")
    from lifetimes import BetaGeoFitter, GammaGammaFitter, ParetoNBDFitter

    columns = _columns(model, folder, limit)
    shipped = {"bgnbd": BetaGeoFitter, "pareto": ParetoNBDFitter, "gg": GammaGammaFitter}[model]
    # lifetimes' Pareto/NBD (Nelder-Mead) computes no Hessian in either variant.
    no_hessian = variant == "shipped" or model == "pareto"
    cls = shipped if no_hessian else _without_hessian(shipped)

    def call(rows: slice = slice(None)) -> Any:
        np.random.seed(0)  # ParetoNBDFitter starts from random parameters
        given = tuple(c[rows] for c in columns)
        if variant == "shipped":
            return cls().fit(*given)
        distinct, weights = _compressed(given)
        return cls().fit(*distinct, weights=weights)

    fitted, seconds, peak = _measure(call, lambda: call(slice(WARM_UP_ROWS)))
    params = {k: float(v) for k, v in fitted.params_.items()}
    # Predictions at lifetimes' own parameters, for the agreement check.
    sample = _sample(columns)
    if model == "gg":
        predictions = {
            "profit": fitted.conditional_expected_average_profit(*sample).tolist(),
        }
    else:
        x, tx, T = sample
        predictions = {
            "purchases_30": np.asarray(
                fitted.conditional_expected_number_of_purchases_up_to_time(30.0, x, tx, T)
            ).tolist(),
            "alive": np.asarray(fitted.conditional_probability_alive(x, tx, T)).tolist(),
        }
    return {
        "seconds": seconds,
        "peak_mb": peak,
        "params": params,
        "customers": int(columns[0].size),
        "predictions": predictions,
    }


# ---------------------------------------------------------------------- agreement


def our_predictions(
    model: str, params: dict[str, float], folder: Path, limit: int | None
) -> Any:
    """Our predictions on the same sample at lifetimes' parameters."""
    from types import MappingProxyType

    from custmgmt.analytics.clv import BetaGeo, GammaGamma, ParetoNBD

    sample = _sample(_columns(model, folder, limit))
    cls = {"bgnbd": BetaGeo, "pareto": ParetoNBD, "gg": GammaGamma}[model]
    fitted = cls()
    fitted.params_ = MappingProxyType(dict(params))  # the same parameters, on purpose
    if model == "gg":
        return {"profit": fitted.conditional_expected_average_profit(*sample)}
    return {
        "purchases_30": fitted.predict_purchases(30.0, *sample),
        "alive": fitted.probability_alive(*sample),
    }


def log_likelihoods(
    model: str,
    ours: dict[str, float],
    theirs: dict[str, float],
    folder: Path,
    limit: int | None,
) -> tuple[float, float]:
    """Our log-likelihood of the same data at our and at lifetimes' fitted parameters."""
    from custmgmt.analytics.clv import BetaGeo, GammaGamma, ParetoNBD

    columns = _columns(model, folder, limit)
    cls = {"bgnbd": BetaGeo, "pareto": ParetoNBD, "gg": GammaGamma}[model]
    weights = np.ones(columns[0].size)
    data = cls()._prepare(*columns, weights)
    # A benchmark may peek at the private likelihood: it is the quantity both fits maximise.
    values = []
    for params in (ours, theirs):
        vector = np.array([params[k] for k in cls._param_names])
        values.append(float(cls()._loglik(vector, data, 0)[0]))
    return values[0], values[1]


def max_relative(a: Any, b: Any) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    scale = np.maximum(np.abs(a), np.abs(b))
    diff = np.abs(a - b) / np.where(scale > 1e-12, scale, 1.0)
    return float(np.max(diff)) if diff.size else 0.0


def compare_summaries(folder: Path) -> str:
    ours = np.load(folder / "summary-ours.npz")
    theirs = np.load(folder / "summary-lifetimes.npz")
    if not np.array_equal(ours["ids"], theirs["ids"]):
        return "customers differ"
    worst = max(
        max_relative(ours[c], theirs[c]) for c in ("frequency", "recency", "T", "monetary")
    )
    return f"identical (max rel. diff {worst:.1e})"


# ---------------------------------------------------------------------------- main


def run_worker(
    python: str, task: str, folder: Path, limit: int | None, variant: str = ""
) -> dict[str, Any]:
    command = [python, __file__, "--worker", task, "--folder", str(folder)]
    command += ["--limit", str(limit or 0), "--variant", variant]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{task} {variant} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def interleaved(
    sides: dict[str, tuple[str, str, int | None, str]], folder: Path, repeat: int
) -> dict[str, dict[str, Any]]:
    """Run the sides in turns (A B C A B C ...); medians of time and peak memory per side."""
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in sides}
    for turn in range(repeat):
        for name, (python, task, limit, variant) in sides.items():
            if turn and runs[name][0]["seconds"] > SLOW_SECONDS:
                continue  # slow: measured once
            runs[name].append(run_worker(python, task, folder, limit, variant))
    result = {}
    for name, done in runs.items():
        summary = dict(done[-1])
        summary["seconds"] = statistics.median(r["seconds"] for r in done)
        summary["peak_mb"] = statistics.median(r["peak_mb"] for r in done)
        summary["runs"] = len(done)
        result[name] = summary
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    size.add_argument("--large", action="store_true",
                      help="1,000,000 customers, 5,000,000 transactions (takes long)")
    parser.add_argument(
        "--lifetimes-python",
        default=os.environ.get("CUSTMGMT_LIFETIMES_PYTHON"),
        help="python of a virtualenv with lifetimes 0.11.3 (default: this one, if it has it)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="turns per measurement (median)")
    parser.add_argument("--out", help="also write the table as Markdown to this file")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--variant", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        result = worker(args.worker, Path(args.folder), args.limit or None, args.variant)
        print(json.dumps(result))
        return 0

    sizes = SIZES["quick" if args.quick else "large" if args.large else "default"]
    theirs_python = args.lifetimes_python
    if theirs_python is None:
        try:
            import lifetimes  # noqa: F401

            theirs_python = sys.executable
        except ImportError:
            print("lifetimes is not importable here and --lifetimes-python was not given:")
            print("only custmgmt is measured.")
    print(WHAT)
    with tempfile.TemporaryDirectory(prefix="bench-clv-") as tmp:
        folder = Path(tmp)
        print(f"generating data: {sizes}", flush=True)
        make_data(sizes, folder)
        n = sizes["customers"]
        small = sizes["pareto_lifetimes"]
        jobs = [
            ("summary", f"summarise {sizes['transactions']:,} transactions", None),
            ("bgnbd", f"fit BG/NBD, {n:,} customers", None),
            ("pareto", f"fit Pareto/NBD, {small:,} customers", small),
            ("gg", "fit Gamma-Gamma, repeat buyers of the BG/NBD set", None),
        ]
        rows = []
        notes = []
        for key, label, limit in jobs:
            sides: dict[str, tuple[str, str, int | None, str]] = {
                "ours": (sys.executable, f"ours-{key}", limit, ""),
            }
            if theirs_python:
                sides["lfl"] = (theirs_python, f"lifetimes-{key}", limit, "lfl")
                if key != "summary":
                    sides["shipped"] = (theirs_python, f"lifetimes-{key}", limit, "shipped")
            done = interleaved(sides, folder, args.repeat)
            extra = None
            if limit is not None:
                extra = interleaved({"ours": (sys.executable, f"ours-{key}", None, "")},
                                    folder, args.repeat)["ours"]
            rows.append((key, label, done, extra, n))
            line = ", ".join(f"{k} {v['seconds']:.3f} s" for k, v in done.items())
            print(f"  {label}: {line}", flush=True)
            if "lfl" not in done:
                continue
            if key == "summary":
                notes.append(f"summary: {compare_summaries(folder)}")
                continue
            theirs = done["lfl"]
            mine = our_predictions(key, theirs["params"], folder, limit)
            worst = max(max_relative(mine[k], v) for k, v in theirs["predictions"].items())
            drift = max(
                abs(done["ours"]["params"][k] / v - 1) for k, v in theirs["params"].items()
            )
            shipped_drift = max(
                abs(done["shipped"]["params"][k] / v - 1) for k, v in theirs["params"].items()
            )
            verdict = "agree to 4 significant figures" if worst < 5e-5 else "DISAGREE"
            ll_ours, ll_theirs = log_likelihoods(
                key, done["ours"]["params"], theirs["params"], folder, limit
            )
            notes.append(
                f"{key}: predictions at lifetimes' parameters {verdict} "
                f"(max rel. diff {worst:.1e} over {AGREEMENT_ROWS} customers); fitted "
                f"parameters differ by at most {drift:.1e} (relative; lifetimes with and "
                f"without weights: {shipped_drift:.1e}); log-likelihood at custmgmt's fit "
                f"{ll_ours:.6f}, at lifetimes' {ll_theirs:.6f}"
            )
    table = format_table(rows)
    print()
    print(table)
    for note in notes:
        print(f"- {note}")
    if args.out:
        text = WHAT + "\n" + table + "\n\n" + "".join(f"- {note}\n" for note in notes)
        Path(args.out).write_text(text, encoding="utf-8")
    return 0


def format_table(rows: list[tuple[Any, ...]]) -> str:
    lines = [
        (
            "| task | custmgmt | lifetimes like for like | speed-up, like for like "
            "| lifetimes as shipped | speed-up vs shipped | custmgmt peak MB "
            "| lifetimes peak MB (like for like) | runs |"
        ),
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for key, label, done, extra, n in rows:
        ours = done["ours"]
        if extra is not None:
            label += f" (custmgmt on all {n:,}: {extra['seconds']:.3f} s)"
        cells = [label, f"{ours['seconds']:.3f} s"]
        runs = [str(ours["runs"])]
        for variant in ("lfl", "shipped"):
            theirs = done.get(variant)
            if theirs is None:
                same = variant == "shipped" and key == "summary" and "lfl" in done
                cells += ["same", "same"] if same else ["–", "–"]
                continue
            cells += [f"{theirs['seconds']:.2f} s", f"{theirs['seconds'] / ours['seconds']:.1f}x"]
            runs.append(str(theirs["runs"]))
        peak_theirs = done["lfl"]["peak_mb"] if "lfl" in done else None
        cells.append(f"{ours['peak_mb']:.0f}")
        cells.append("–" if peak_theirs is None else f"{peak_theirs:.0f}")
        cells.append("/".join(runs))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
