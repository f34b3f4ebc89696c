"""``custmgmt risk``: credit grades, current alerts and restrictions; ``risk fit`` learns a card.

``custmgmt risk --db PATH|DSN`` prints the grade distribution of the latest score run (of
``--card``, or of the most recently scored card), the current (open or acknowledged)
early-warning alerts by rule, and the restrictions with their appeals.

``custmgmt risk fit TABLE.csv --label COLUMN`` learns a scorecard from a labelled
table (one row per case: numeric feature columns, empty cells missing, and a 0/1
label where 1 is bad), prints each feature's bins with points, WoE and information
value, and the card's AUC, KS and Gini with bootstrap intervals.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from collections import Counter
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from custmgmt._text import one_line
from custmgmt.cli._inputs import as_of_or_now, open_existing_store, schema_version, zone
from custmgmt.errors import ValidationError
from custmgmt.risk import AlertStatus, PDOScaling, ScorecardFitter, evaluate, run_stability
from custmgmt.risk.learn import check_labels
from custmgmt.risk.ports import RiskStore

__all__ = ["print_risk_overview", "read_labelled_table", "register", "run"]


def register(subparsers: Any) -> None:
    """Add the ``risk`` command (and its ``fit`` action)."""
    parser = subparsers.add_parser(
        "risk",
        help="credit grades, current alerts and restrictions; 'risk fit' learns a scorecard",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    parser.add_argument("--db", metavar="PATH|DSN",
                        help="the store: an SQLite file or a postgresql:// DSN")
    parser.add_argument("--card", metavar="NAME", help="the scorecard (default: latest run's)")
    parser.add_argument("--as-of", metavar="DATE",
                        help="restrictions in force at this ISO date or datetime "
                        "(default: now)")
    parser.add_argument("--tz", default="Asia/Shanghai", help="default: Asia/Shanghai")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    fit = actions.add_parser("fit", help="learn a scorecard from a labelled CSV table")
    fit.add_argument("table", type=Path, help="CSV with feature columns and a label column")
    fit.add_argument("--label", required=True, help="the 0/1 label column (1 = bad)")
    fit.add_argument("--id", dest="id_column", help="an id column to leave out")
    fit.add_argument("--bins", type=int, default=10, help="quantile bins per feature")
    fit.add_argument("--l2", type=float, default=_DEFAULT_L2, help="L2 penalty (default 1.0)")
    fit.add_argument("--base-score", type=float, default=600.0)
    fit.add_argument("--base-odds", type=float, default=50.0)
    fit.add_argument("--pdo", type=float, default=20.0)
    fit.add_argument("--name", default="learnt", help="the card's name")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the overview or fit a card; returns the exit code."""

    if getattr(args, "action", None) == "fit":
        return _fit(args, sys.stdout)
    if not args.db:
        raise ValidationError("--db", None, "the store to report on (or: risk fit ...)")

    at = as_of_or_now(args, zone(args.tz))
    store = open_existing_store(args.db)
    try:
        # A store made before the risk capability, opened read-only, has no risk tables
        # (and must not be asked to create them).
        if schema_version(store, "risk") == 0 or not isinstance(store, RiskStore):
            print("no risk data in this store yet (no scores, alerts or restrictions)")
            return 0
        try:
            print_risk_overview(store, at, sys.stdout, card_name=args.card)
        except ValidationError as exc:
            if exc.field != "card_name":
                raise
            raise ValidationError("--card", exc.value, exc.expected) from None
    finally:
        store.close()
    return 0


def print_risk_overview(store: RiskStore, at: Any, out: TextIO, *, card_name: str | None = None,
                        limit: int = 10) -> None:
    """Grade distribution, current alerts and restrictions of ``store`` at ``at``."""

    def p(*parts: object) -> None:
        print(*parts, file=out)

    runs = store.risk.score_runs(card_name)
    if not runs:
        p("no score runs" + (f" for card {card_name!r}" if card_name else ""))
    else:
        info = runs[-1]
        total = max(info.customers, 1)
        card = store.risk.get_scorecard(info.card_name, info.card_version)
        p(f"grades of run {one_line(info.id)} (card {one_line(info.card_name)} "
          f"v{info.card_version}, "
          f"as of {_day(info.as_of)}, {info.customers} customers)")
        for band in card.grades:
            n = info.grades.get(band.grade, 0)
            p(f"  {one_line(band.grade)}  {band.lower:>5}-{band.upper:<5} "
              f"{one_line(band.value_tier):<5} {one_line(band.segment):<9} {n:>7}  "
              f"{100 * n / total:5.1f}%  "
              f"{'#' * round(40 * n / total)}")

        report = run_stability(store, info.card_name)
        if report is not None:
            shifted = [f"{one_line(f)} {v:.2f} ({verdict})" for f, v, verdict in report.features
                       if verdict != "stable"]
            p(f"  stability against the previous run: score PSI {report.score_psi:.3f} "
              f"({report.score_verdict})" + ("; " + ", ".join(shifted) if shifted else ""))
    current = store.risk.find_alerts(statuses=(AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED))
    by_rule = Counter(a.rule for a in current)
    p(f"\ncurrent alerts: {len(current)}" + ("" if not by_rule else " (" + ", ".join(
        f"{one_line(r)} {n}" for r, n in sorted(by_rule.items())) + ")"))
    for alert in current[:limit]:
        shown = ", ".join(f"{one_line(k)}={_num(x)}" for k, x in alert.values)
        p(f"  {alert.status.value:<12} {one_line(alert.customer_id):<14} "
          f"{one_line(alert.rule)}: {shown}")
    if len(current) > limit:
        p(f"  ... {len(current) - limit} more")
    restrictions = store.risk.find_restrictions()
    in_force = [r for r in restrictions if r.in_force(at)]
    p(f"\nrestrictions: {len(in_force)} in force, {len(restrictions)} recorded")
    # Those in force first: a long history of lifted ones must not hide them.
    for r in sorted(restrictions, key=lambda r: not r.in_force(at))[:limit]:
        state = "in force" if r.in_force(at) else r.status.value
        end = "open-ended" if r.end is None else f"until {_day(r.end)}"
        p(f"  {one_line(r.id):<12} {one_line(r.customer_id):<14} {r.kind.value:<11} "
          f"{state:<9} since {_day(r.start)} {end} by {one_line(r.actor)}: "
          f"{one_line(r.reason)}")
        for a in store.risk.find_appeals(restriction_id=r.id):
            p(f"      appeal {one_line(a.id)}: {a.status.value}, "
              f"deadline {_day(a.deadline)} {a.deadline:%H:%M}")
    if len(restrictions) > limit:
        p(f"  ... {len(restrictions) - limit} more")


def _day(moment: Any) -> str:
    """``0001-01-01``: ``%Y`` leaves years before 1000 unpadded (``1-01-01``)."""
    return str(moment.date().isoformat())


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.3g}"


def read_labelled_table(path: Path, label: str, id_column: str | None = None
                        ) -> tuple[dict[str, Any], Any]:
    """Feature columns (float, NaN for empty cells) and the label column of a CSV.

    Raises:
        ValidationError: no such file or label column, a non-numeric cell, no features.
    """


    if id_column is not None and id_column == label:
        raise ValidationError("--id", id_column, "a column other than the --label column")
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise ValidationError("table", str(path), f"a readable CSV file ({exc.strerror})") from None
    with handle:
        reader = csv.reader(handle)
        try:
            header = next(reader, None)
            if not header:
                raise ValidationError("table", str(path), "a CSV with a header row")
            if label not in header:
                raise ValidationError("--label", label, f"a column of the table {header}")
            if id_column is not None and id_column not in header:
                raise ValidationError("--id", id_column, f"a column of the table {header}")
            repeated = sorted({h for h in header if header.count(h) > 1})
            if repeated:
                raise ValidationError("table", repeated, "column names given once each")
            rows = list(reader)
        except UnicodeDecodeError as exc:
            raise ValidationError("table", str(path), f"a UTF-8 CSV file ({exc.reason} at "
                                  f"byte {exc.start})") from None
        except csv.Error as exc:
            raise ValidationError("table", str(path),
                                  f"a well-formed CSV file (line {reader.line_num}: {exc})"
                                  ) from None
        except OSError as exc:
            raise ValidationError("table", str(path),
                                  f"a readable CSV file ({exc.strerror})") from None
    for i, row in enumerate(rows):
        if len(row) > len(header):
            raise ValidationError(f"table (row {i + 2})", len(row),
                                  f"at most {len(header)} cells, one per column")
    if id_column is not None:
        _check_unique_ids(rows, header.index(id_column), id_column)
    names = [h for h in header if h not in (label, id_column)]
    if not names:
        raise ValidationError("table", header, "at least one feature column besides the label")
    columns: dict[str, Any] = {}
    for j, name in enumerate(header):
        if name == id_column:
            continue
        values = np.empty(len(rows))
        for i, row in enumerate(rows):
            cell = row[j].strip() if j < len(row) else ""
            if cell == "":
                values[i] = math.nan
                continue
            try:
                values[i] = float(cell)
            except ValueError:
                raise ValidationError(f"{name} (row {i + 2})", cell, "a number or an empty "
                                      "cell") from None
            if math.isinf(values[i]):
                # "1e999" reads as inf, which the fit refuses without saying where.
                raise ValidationError(f"{name} (row {i + 2})", cell,
                                      "a finite number or an empty cell")
        columns[name] = values
    y = columns.pop(label)
    return columns, y


def _check_unique_ids(rows: list[list[str]], j: int, id_column: str) -> None:
    """One row per case: an id given twice would count its case twice in the fit.

    Raises:
        ValidationError: an id on two rows (naming the column, both rows and the id).
    """
    seen: dict[str, int] = {}
    for i, row in enumerate(rows):
        key = row[j].strip() if j < len(row) else ""
        if key == "":
            continue
        if key in seen:
            raise ValidationError(f"{id_column} (row {i + 2})", key,
                                  f"ids given once each (row {seen[key]} has it too)")
        seen[key] = i + 2


def _fit(args: argparse.Namespace, out: TextIO) -> int:

    columns, y = read_labelled_table(args.table, args.label, args.id_column)
    y = _labels(y, args.label)
    try:
        scaling = PDOScaling(base_score=args.base_score, base_odds=args.base_odds,
                             pdo=args.pdo)
        fitter = ScorecardFitter(name=args.name, n_bins=args.bins, l2=args.l2,
                                 scaling=scaling).fit(columns, y)
    except ValidationError as exc:
        option = _OPTIONS.get(exc.field)
        if option is None:
            raise
        expected = exc.expected
        if exc.field == "scaling.pdo" and args.l2 > _DEFAULT_L2:
            # A strong penalty shrinks every coefficient towards zero, so the bins round
            # to the same points at the default PDO: name the option actually given.
            expected += (f"; or a smaller --l2 (got {args.l2:g}), which shrinks the model's "
                         "log-odds towards zero")
        raise ValidationError(option, exc.value, expected) from None
    card = fitter.card
    scores = card.score_columns(columns).scores
    ev = evaluate(y, scores, scaling=scaling, n_boot=100)

    def p(*parts: object) -> None:
        print(*parts, file=out)

    p(f"learnt card {card.name!r}: {len(y)} rows, bad rate {ev.bad_rate:.3f}, "
      f"base points {card.base_points} ({card.description})")
    for name, iv in fitter.information_values().items():
        p(f"\n{one_line(name)}  (IV {iv:.3f})")
        table = card.table(name)
        for b, s in zip(table.bins, fitter.binnings_[name].bins, strict=True):
            p(f"  {one_line(b.label):<28} {b.points:>6} pts   woe {s.woe:+.3f}   good {s.good:>7} "
              f"bad {s.bad:>6}")
    p(f"\nAUC  {ev.auc.value:.4f}  [{ev.auc.low:.4f}, {ev.auc.high:.4f}]")
    p(f"KS   {ev.ks.value:.4f}  [{ev.ks.low:.4f}, {ev.ks.high:.4f}]")
    p(f"Gini {ev.gini.value:.4f}  [{ev.gini.low:.4f}, {ev.gini.high:.4f}]")
    p("\ngrades: " + ", ".join(f"{one_line(g)}={n}" for g, n in card.score_columns(columns)
                                .distribution().items()))
    return 0


#: ``risk fit --l2``'s default.
_DEFAULT_L2 = 1.0

#: The library's names of what ``risk fit`` options set, for errors that name the option.
_OPTIONS = {
    "PDOScaling.pdo": "--pdo", "scaling.pdo": "--pdo", "PDOScaling.base_odds": "--base-odds",
    "PDOScaling.base_score": "--base-score", "n_bins": "--bins", "Scorecard.name": "--name",
    "l2": "--l2",
    # the three options make the scaling together: a refused one names all three
    "scaling": "--pdo/--base-odds/--base-score",
}


def _labels(y: Any, column: str) -> Any:
    """The label column as 0/1 (checked again by the evaluation).

    Raises:
        ValidationError: naming the row of the first cell that is not 0 or 1 (an
            empty label cell was "--label: got nan", without saying where).
    """
    wrong = np.flatnonzero(~np.isin(y, (0, 1)))
    if len(wrong):
        i = int(wrong[0])
        shown = "" if math.isnan(y[i]) else float(y[i])
        raise ValidationError("--label", shown, f"a binary label: 0 (good) or 1 (bad) in "
                              f"every row (row {i + 2} of column {column!r})")
    return check_labels(y, "--label")
