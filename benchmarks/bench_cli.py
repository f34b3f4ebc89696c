"""The whole ``custmgmt rate`` on a CSV file, against pandas doing the same work.

Run as ``python benchmarks/bench_cli.py`` (``--quick`` for small sizes, ``--sizes`` to
choose, ``--repeats`` for the number of interleaved runs, ``--markdown PATH`` to also
write the table as Markdown).

Each side is a fresh Python process started the same way, so interpreter start-up and
imports count on both sides; the runs are interleaved (custmgmt, pandas, custmgmt,
pandas, ...) and the table shows medians and the ratio of the medians.

* custmgmt: ``python -m custmgmt rate ORDERS.csv --top 10``: reads the file (exact
  decimal amounts into int64 minor units, ISO times in Asia/Shanghai, every cell
  checked with errors naming line, column and value, rows sharing an order id merged
  into one order), computes the default policy's features (net spend, order count,
  category breadth), scores, cuts five star levels at the score quantiles, prints the
  distribution and the top 10 customers with explanations.
* pandas: ``pd.read_csv`` (customer and order ids as text), ``pd.to_datetime`` with
  the ISO format, localised to Asia/Shanghai, amounts as exact integer minor units
  (``round(amount * 100)``; float parsing, so no check that a cell had at most two
  decimals), a check that order ids are unique (custmgmt merges repeated ones; this
  data has none), ``groupby(customer_id).agg(sum, size, nunique)``,
  ``rank(pct=True)``, the same weights and quantile cuts, and the same printout
  (distribution, top 10). It checks no cell and names no line on bad input.
* polars (for reference, not like for like: it uses every core): the same pipeline
  with ``pl.read_csv`` and a lazy group-by.

The stars of the three sides are checked to agree on the smallest size.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"

PANDAS = r"""
import sys
import numpy as np
import pandas as pd

path, out = sys.argv[1], sys.argv[2]
df = pd.read_csv(path, dtype={"customer_id": str, "order_id": str, "category": str})
df["placed_at"] = pd.to_datetime(df["placed_at"], format="ISO8601").dt.tz_localize(
    "Asia/Shanghai"
)
df["amount"] = (df["amount"] * 100).round().astype("int64")
if df["order_id"].duplicated().any():
    raise SystemExit("repeated order ids: not handled by this pipeline")
as_of = df["placed_at"].max()
features = df.groupby("customer_id").agg(
    spend=("amount", "sum"), frequency=("amount", "size"), breadth=("category", "nunique")
)
ranks = features.rank(method="average", pct=True)
score = 0.6 * ranks["spend"] + 0.3 * ranks["frequency"] + 0.1 * ranks["breadth"]
cuts = np.quantile(score.to_numpy(), [0.30, 0.60, 0.80, 0.95])
stars = np.searchsorted(cuts, score.to_numpy(), side="right") + 1
print(f"{len(features)} customers rated as of {as_of.isoformat()}")
for level, count in sorted(zip(*np.unique(stars, return_counts=True)), reverse=True):
    print(f"  {'*' * level:<5}  {count:>8}  {100 * count / len(stars):5.1f}%")
top = score.sort_values(ascending=False, kind="stable").head(10)
for ident, value in top.items():
    print(f"  {ident}: score {value:.3f}")
if out != "-":
    pd.DataFrame({"customer_id": features.index, "stars": stars}).to_csv(out, index=False)
"""

POLARS = r"""
import sys
import numpy as np
import polars as pl

path, out = sys.argv[1], sys.argv[2]
df = pl.read_csv(path, schema_overrides={"customer_id": pl.String, "order_id": pl.String})
df = df.with_columns(
    pl.col("placed_at").str.to_datetime().dt.replace_time_zone("Asia/Shanghai"),
    (pl.col("amount") * 100).round().cast(pl.Int64),
)
if df["order_id"].is_duplicated().any():
    raise SystemExit("repeated order ids: not handled by this pipeline")
n = pl.len()
scored = (
    df.lazy()
    .group_by("customer_id")
    .agg(
        pl.col("amount").sum().alias("spend"),
        pl.len().alias("frequency"),
        pl.col("category").n_unique().alias("breadth"),
    )
    .with_columns(
        (
            0.6 * pl.col("spend").rank("average") / n
            + 0.3 * pl.col("frequency").rank("average") / n
            + 0.1 * pl.col("breadth").rank("average") / n
        ).alias("score")
    )
    .sort("customer_id")
    .collect()
)
score = scored["score"].to_numpy()
cuts = np.quantile(score, [0.30, 0.60, 0.80, 0.95])
stars = np.searchsorted(cuts, score, side="right") + 1
print(f"{len(scored)} customers rated as of {df['placed_at'].max()}")
for level, count in sorted(zip(*np.unique(stars, return_counts=True)), reverse=True):
    print(f"  {'*' * level:<5}  {count:>8}  {100 * count / len(stars):5.1f}%")
if out != "-":
    pl.DataFrame({"customer_id": scored["customer_id"], "stars": stars}).write_csv(out)
"""


def write_orders(path: Path, n_rows: int, seed: int = 0) -> int:
    """A CSV of ``n_rows`` orders by ``n_rows / 10`` customers; returns its size."""
    rng = np.random.default_rng(seed)
    n_customers = max(1, n_rows // 10)
    weights = rng.pareto(1.5, n_customers) + 1
    customer = rng.choice(n_customers, size=n_rows, p=weights / weights.sum())
    start = np.datetime64("2023-01-01T00:00:00")
    seconds = rng.integers(0, 3 * 365 * 86_400, n_rows).astype("timedelta64[s]")
    placed = np.datetime_as_string(start + seconds)
    cents = rng.integers(100, 500_000, n_rows)
    categories = np.array(["books", "food", "toys", "tea", "garden", "服装"])
    category = categories[rng.integers(0, len(categories), n_rows)]
    with path.open("w", encoding="utf-8", newline="") as stream:
        stream.write("customer_id,placed_at,amount,category,order_id\n")
        for start_row in range(0, n_rows, 100_000):
            rows = range(start_row, min(n_rows, start_row + 100_000))
            stream.writelines(
                f"c{customer[i]:06d},{placed[i]},{cents[i] // 100}.{cents[i] % 100:02d},"
                f"{category[i]},o{i:08d}\n"
                for i in rows
            )
    return path.stat().st_size


def run(command: list[str]) -> tuple[float, str]:
    env = dict(os.environ, PYTHONPATH=str(SRC))
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{command[:4]} failed: {done.stderr[-2000:]}")
    return elapsed, done.stdout


def stars_of(path: Path) -> dict[str, int]:
    with path.open(encoding="utf-8") as stream:
        next(stream)
        pairs = (line.rstrip("\n").split(",") for line in stream)
        return {row[0]: int(row[2] if len(row) > 2 else row[1]) for row in pairs}


def check_agreement(folder: Path, orders: Path, sides: dict[str, list[str]]) -> str:
    results = {}
    for name, command in sides.items():
        out = folder / f"{name}.csv"
        run([*command[:-1], str(out)] if name != "custmgmt" else [*command, "--out", str(out)])
        results[name] = stars_of(out)
    ours = results.pop("custmgmt")
    notes = []
    for name, theirs in results.items():
        same = sum(ours[k] == theirs.get(k) for k in ours) / max(len(ours), 1)
        notes.append(f"{name} {same:.4%}")
    return "stars agree with " + ", ".join(notes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,300000,1000000", help="rows, comma-separated")
    parser.add_argument("--repeats", type=int, default=5, help="interleaved runs per side")
    parser.add_argument("--quick", action="store_true", help="small sizes, 3 repeats")
    parser.add_argument("--no-polars", action="store_true", help="leave polars out")
    parser.add_argument("--markdown", metavar="PATH", help="also write the table here")
    args = parser.parse_args()
    sizes = [20_000, 100_000] if args.quick else [int(s) for s in args.sizes.split(",")]
    repeats = 3 if args.quick else args.repeats
    python = sys.executable
    table = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        scripts = {"pandas": folder / "pandas_rate.py", "polars": folder / "polars_rate.py"}
        scripts["pandas"].write_text(PANDAS, encoding="utf-8")
        scripts["polars"].write_text(POLARS, encoding="utf-8")
        for n in sizes:
            orders = folder / f"orders_{n}.csv"
            size = write_orders(orders, n)
            sides = {
                "custmgmt": [python, "-m", "custmgmt", "rate", str(orders), "--top", "10"],
                "pandas": [python, str(scripts["pandas"]), str(orders), "-"],
            }
            if not args.no_polars:
                sides["polars"] = [python, str(scripts["polars"]), str(orders), "-"]
            note = check_agreement(folder, orders, sides) if n == sizes[0] else ""
            times: dict[str, list[float]] = {name: [] for name in sides}
            run(sides["custmgmt"])  # warm the file cache once
            for _ in range(repeats):
                for name, command in sides.items():
                    times[name].append(run(command)[0])
            medians = {name: statistics.median(values) for name, values in times.items()}
            label = f"{n:,} rows ({size / 1e6:.1f} MB)"
            for name, median in medians.items():
                ratio = "" if name == "custmgmt" else (
                    f"custmgmt {median / medians['custmgmt']:.2f}x faster"
                    if median >= medians["custmgmt"]
                    else f"custmgmt {medians['custmgmt'] / median:.2f}x slower"
                )
                per_row = 1e6 * median / n
                table.append((label, name, median, per_row, ratio))
            if note:
                table.append((label, "check", 0.0, 0.0, note))
            orders.unlink()
    lines = [
        "| input | side | median s | µs/row | comparison |",
        "|---|---|---:|---:|---|",
    ]
    for label, name, median, per_row, ratio in table:
        if name == "check":
            lines.append(f"| {label} | | | | {ratio} |")
        else:
            lines.append(f"| {label} | {name} | {median:.3f} | {per_row:.2f} | {ratio} |")
    text = "\n".join(lines)
    print(f"{repeats} interleaved runs per side, medians; {os.cpu_count()} CPUs\n")
    print(text)
    if args.markdown:
        Path(args.markdown).write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
