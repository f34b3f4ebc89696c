"""Benchmark custmgmt's lifetime models against lifetimes 0.11.3.

In one run: summarising transactions (``summarize_transactions`` against lifetimes'
``summary_data_from_transaction_data``), and fitting BG/NBD, Pareto/NBD and Gamma-Gamma
on synthetic customers; it also checks that both libraries agree (same summary, same
predictions to 4 significant figures at the same parameters, close fitted parameters).

Every measurement runs in a fresh subprocess: time is the median of ``--repeat`` runs,
peak memory the growth of the process's resident set during one run (the kernel's
high-water mark is reset just before it, ``/proc/self/clear_refs``). lifetimes needs
old numpy/pandas, so it usually lives in its own virtualenv: pass its interpreter with
``--lifetimes-python`` (or ``CUSTMGMT_LIFETIMES_PYTHON``); without one the lifetimes
column is left empty. ``benchmarks/requirements-lifetimes.txt`` pins that environment.

    python benchmarks/bench_clv.py [--quick] [--lifetimes-python PATH] [--out FILE.md]
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

FULL = {
    "transactions": 5_000_000,
    "tx_customers": 1_000_000,
    "customers": 1_000_000,
    "pareto_lifetimes": 100_000,
}
QUICK = {
    "transactions": 200_000,
    "tx_customers": 40_000,
    "customers": 50_000,
    "pareto_lifetimes": 10_000,
}
OBSERVATION_END = "2024-12-31"
AGREEMENT_ROWS = 2_000
# lifetimes runs slower than a minute are measured once.
SLOW_SECONDS = 60.0


# ------------------------------------------------------------------------ memory


def _rss_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def measure_peak(call: Any) -> tuple[Any, float]:
    """Run ``call()`` once; return its result and how far the resident set grew (MB)."""
    gc.collect()
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")  # reset the high-water mark
    before = _rss_mb("VmRSS")
    result = call()
    return result, _rss_mb("VmHWM") - before


def timed(call: Any, repeat: int) -> tuple[float, Any]:
    times = []
    result = None
    for i in range(repeat):
        start = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - start)
        if i == 0 and times[0] > SLOW_SECONDS:
            break
    return statistics.median(times), result


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


def worker(task: str, folder: Path, repeat: int, limit: int) -> dict[str, Any]:
    if task == "ours-summary":
        return _ours_summary(folder, repeat)
    if task == "lifetimes-summary":
        return _lifetimes_summary(folder, repeat)
    model = task.split("-", 1)[1]
    if task.startswith("ours-"):
        return _ours_fit(model, folder, repeat, limit)
    return _lifetimes_fit(model, folder, repeat, limit)


def _ours_summary(folder: Path, repeat: int) -> dict[str, Any]:
    from datetime import date

    from custmgmt.analytics.clv import summarize_transactions

    data = np.load(folder / "transactions.npz")
    ids, at, amount = data["ids"], data["at"], data["amount"]
    end = date.fromisoformat(OBSERVATION_END)

    def call() -> Any:
        return summarize_transactions(ids, at, amount, observation_end=end)

    summary, peak = measure_peak(call)
    seconds, _ = timed(call, repeat)
    np.savez(
        folder / "summary-ours.npz",
        ids=summary.customer_ids,
        frequency=summary.frequency,
        recency=summary.recency,
        T=summary.T,
        monetary=summary.monetary_value,
    )
    return {"seconds": seconds, "peak_mb": peak, "rows": len(summary)}


def _lifetimes_summary(folder: Path, repeat: int) -> dict[str, Any]:
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

    def call() -> Any:
        return summary_data_from_transaction_data(
            frame,
            "customer_id",
            "date",
            monetary_value_col="amount",
            observation_period_end=OBSERVATION_END,
            freq="D",
        )

    summary, peak = measure_peak(call)
    seconds, _ = timed(call, repeat)
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


def _columns(model: str, folder: Path, limit: int) -> tuple[np.ndarray, ...]:
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


def _ours_fit(model: str, folder: Path, repeat: int, limit: int) -> dict[str, Any]:
    from custmgmt.analytics.clv import BetaGeo, GammaGamma, ParetoNBD

    columns = _columns(model, folder, limit)
    cls = {"bgnbd": BetaGeo, "pareto": ParetoNBD, "gg": GammaGamma}[model]

    def call() -> Any:
        return cls().fit(*columns)

    fitted, peak = measure_peak(call)
    seconds, _ = timed(call, repeat)
    return {
        "seconds": seconds,
        "peak_mb": peak,
        "params": dict(fitted.params_),
        "customers": int(columns[0].size),
    }


def _lifetimes_fit(model: str, folder: Path, repeat: int, limit: int) -> dict[str, Any]:
    import warnings

    warnings.simplefilter("ignore")
    from lifetimes import BetaGeoFitter, GammaGammaFitter, ParetoNBDFitter

    columns = _columns(model, folder, limit)
    cls = {"bgnbd": BetaGeoFitter, "pareto": ParetoNBDFitter, "gg": GammaGammaFitter}[model]

    def call() -> Any:
        np.random.seed(0)  # ParetoNBDFitter starts from random parameters
        return cls().fit(*columns)

    fitted, peak = measure_peak(call)
    seconds, _ = timed(call, repeat)
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


def our_predictions(model: str, params: dict[str, float], folder: Path, limit: int) -> Any:
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
    model: str, ours: dict[str, float], theirs: dict[str, float], folder: Path, limit: int
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


def run_worker(python: str, task: str, folder: Path, repeat: int, limit: int) -> dict[str, Any]:
    command = [python, __file__, "--worker", task, "--folder", str(folder)]
    command += ["--repeat", str(repeat), "--limit", str(limit)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{task} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    parser.add_argument(
        "--lifetimes-python",
        default=os.environ.get("CUSTMGMT_LIFETIMES_PYTHON"),
        help="python of a virtualenv with lifetimes 0.11.3 (default: this one, if it has it)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per measurement")
    parser.add_argument("--out", help="also write the table as Markdown to this file")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        result = worker(args.worker, Path(args.folder), args.repeat, args.limit or None)
        print(json.dumps(result))
        return 0

    sizes = QUICK if args.quick else FULL
    theirs_python = args.lifetimes_python
    if theirs_python is None:
        try:
            import lifetimes  # noqa: F401

            theirs_python = sys.executable
        except ImportError:
            print("lifetimes is not importable here and --lifetimes-python was not given:")
            print("only custmgmt is measured.")
    with tempfile.TemporaryDirectory(prefix="bench-clv-") as tmp:
        folder = Path(tmp)
        print(f"generating data: {sizes}", flush=True)
        make_data(sizes, folder)
        n = sizes["customers"]
        jobs = [
            ("summary", f"summarise {sizes['transactions']:,} transactions", n, n),
            ("bgnbd", f"fit BG/NBD, {n:,} customers", n, n),
            ("pareto", f"fit Pareto/NBD, {n:,} customers", n, sizes["pareto_lifetimes"]),
            ("gg", "fit Gamma-Gamma, repeat buyers of the BG/NBD set", n, n),
        ]
        rows = []
        notes = []
        for key, label, ours_limit, theirs_limit in jobs:
            ours = run_worker(sys.executable, f"ours-{key}", folder, args.repeat, ours_limit)
            theirs = None
            same_size = None
            if theirs_python:
                theirs = run_worker(
                    theirs_python, f"lifetimes-{key}", folder, args.repeat, theirs_limit
                )
                if theirs_limit != ours_limit:
                    # Compare at the same size too: lifetimes is too slow for the full set.
                    same_size = run_worker(
                        sys.executable, f"ours-{key}", folder, args.repeat, theirs_limit
                    )
            rows.append((label, ours, theirs, same_size, theirs_limit))
            print(f"  {label}: ours {ours['seconds']:.3f} s", flush=True)
            if theirs is None:
                continue
            if key == "summary":
                notes.append(f"summary: {compare_summaries(folder)}")
            else:
                mine = our_predictions(key, theirs["params"], folder, theirs_limit)
                worst = max(max_relative(mine[k], v) for k, v in theirs["predictions"].items())
                fitted = same_size or ours
                drift = max(
                    abs(fitted["params"][k] / v - 1) for k, v in theirs["params"].items()
                )
                verdict = "agree to 4 significant figures" if worst < 5e-5 else "DISAGREE"
                ll_ours, ll_theirs = log_likelihoods(
                    key, fitted["params"], theirs["params"], folder, theirs_limit
                )
                notes.append(
                    f"{key}: predictions at lifetimes' parameters {verdict} "
                    f"(max rel. diff {worst:.1e} over {AGREEMENT_ROWS} customers); fitted "
                    f"parameters differ by at most {drift:.1e} (relative); log-likelihood "
                    f"at custmgmt's fit {ll_ours:.6f}, at lifetimes' {ll_theirs:.6f}"
                )
    table = format_table(rows)
    print()
    print(table)
    for note in notes:
        print(f"- {note}")
    if args.out:
        text = table + "\n\n" + "".join(f"- {note}\n" for note in notes)
        Path(args.out).write_text(text, encoding="utf-8")
    return 0


def format_table(rows: list[tuple[Any, ...]]) -> str:
    lines = [
        (
            "| task | custmgmt | lifetimes 0.11.3 | speed-up | custmgmt peak MB "
            "| lifetimes peak MB | memory ratio |"
        ),
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for label, ours, theirs, same_size, theirs_limit in rows:
        mine = same_size or ours
        if theirs is None:
            lines.append(
                f"| {label} | {ours['seconds']:.3f} s | – | – | {ours['peak_mb']:.0f} | – | – |"
            )
            continue
        suffix = ""
        if same_size is not None:
            suffix = (
                f" (both on {theirs_limit:,} customers; custmgmt on the full set: "
                f"{ours['seconds']:.3f} s)"
            )
        lines.append(
            f"| {label}{suffix} | {mine['seconds']:.3f} s | {theirs['seconds']:.2f} s "
            f"| {theirs['seconds'] / mine['seconds']:.0f}x | {mine['peak_mb']:.0f} "
            f"| {theirs['peak_mb']:.0f} | {mine['peak_mb'] / max(theirs['peak_mb'], 1e-9):.2f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
