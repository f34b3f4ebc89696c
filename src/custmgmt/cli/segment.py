"""``custmgmt segment``: segments, RFM and the churn list, from a CSV of orders or a store.

The CSV is the one ``custmgmt rate`` reads: a header row with ``customer_id``,
``placed_at`` (ISO date or datetime; naive values are in ``--tz``) and ``amount`` (major
units); optional ``order_id``, ``currency``, ``category``, ``status``,
``returned_amount``, ``channel``. With ``--db PATH`` the orders and interactions of an
SQLite store are read instead. The command prints the segment sizes under each shipped
scheme (schemes that need interactions -- reviews, complaints, browsing -- are skipped
for a CSV), the RFM table, and the churn list with reasons and win-back actions. With
``--out`` it writes one row per customer (each scheme's segment, R, F, M, the RFM
segment, churn risk, the rules that fired, the reason and the action) by the ``--out``
rules of :mod:`custmgmt.cli._inputs` (``-`` for standard output, then the report goes
to standard error; files replaced atomically; devices written through; formulas
neutralised).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TextIO

import attrs
import numpy as np

from custmgmt.cli._inputs import (
    OUT_HELP,
    add_order_source_arguments,
    check_output,
    check_top,
    frames_from_store,
    inputs_of,
    orders_from_csv,
    write_csv,
    zone,
)

__all__ = ["SegmentRun", "analyse", "print_report", "register", "run", "write_segments_csv"]


def register(subparsers: Any) -> None:
    """Add the ``segment`` command."""
    parser = subparsers.add_parser(
        "segment",
        help="segment customers, score RFM and list churn risks from a CSV of orders "
        "(or a store with --db)",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    add_order_source_arguments(
        parser,
        as_of_help="evaluate as of this ISO date (its end) or datetime; naive values are in "
        "--tz (default: the last order in the file; with --db: now)",
    )
    parser.add_argument(
        "--out", metavar="SEGMENTS.csv", help=f"write one row per customer here: {OUT_HELP}"
    )
    parser.add_argument(
        "--top", type=int, default=10, help="how many churn-list customers to show (default: 10)"
    )
    parser.set_defaults(func=run)


@attrs.frozen(kw_only=True, eq=False)
class SegmentRun:
    """Everything the command computes.

    Attributes:
        as_of: the moment of evaluation.
        features: the segmentation feature table.
        segmentations: per shipped scheme name, its segmentation.
        skipped: names of schemes that could not run (missing interactions).
        rfm: the RFM scores.
        churn: the churn report.
    """

    as_of: datetime
    features: Any
    segmentations: dict[str, Any]
    skipped: tuple[str, ...]
    rfm: Any
    churn: Any


def analyse(orders: Any, interactions: Any = None, *, as_of: datetime) -> SegmentRun:
    """Run the shipped schemes, RFM and the default churn engine on frames.

    Raises:
        ValidationError: a naive ``as_of`` or bad frames.
    """
    from custmgmt.churn import ChurnEngine
    from custmgmt.segmentation import RFM, segment_features, shipped_schemes

    engine = ChurnEngine()
    needed = sorted(engine.required_features(interactions=interactions is not None))
    features = segment_features(orders, interactions, as_of=as_of, extra=needed)
    available = set(features.names)
    segmentations = {}
    skipped = []
    for scheme in shipped_schemes():
        if scheme.features() <= available:
            segmentations[scheme.name] = scheme.assign(features)
        else:
            skipped.append(scheme.name)
    rfm = RFM().score(features)
    churn = engine.evaluate(orders, interactions, as_of=as_of, features=features)
    return SegmentRun(
        as_of=as_of,
        features=features,
        segmentations=segmentations,
        skipped=tuple(skipped),
        rfm=rfm,
        churn=churn,
    )


def print_report(result: SegmentRun, out: TextIO, *, top: int = 10) -> None:
    """Print segment sizes, the RFM table and the churn list."""
    n = len(result.features)
    total = max(n, 1)
    out.write(f"{n} customers as of {result.as_of.isoformat()}\n")
    for name, segmentation in result.segmentations.items():
        sizes = ", ".join(
            f"{segment} {count} ({count / total:.0%})"
            for segment, count in segmentation.sizes().items()
        )
        out.write(f"  {name}: {sizes}\n")
    for name in result.skipped:
        out.write(f"  {name}: skipped (needs interactions: reviews, complaints, browsing)\n")
    out.write("\nRFM segments:\n")
    out.write(result.rfm.format_table() + "\n")
    churn = result.churn
    flagged = int(churn.flagged.sum())
    risks = ", ".join(f"{k} {v}" for k, v in churn.risk_counts().items() if k != "none")
    out.write(f"\nchurn: {flagged} customers flagged ({risks})\n")
    if flagged:
        reasons = ", ".join(f"{k} {v}" for k, v in churn.reason_counts().items() if v)
        out.write(f"  likely reasons: {reasons}\n")
        actions = {
            reason.value: churn.playbook.action_for(reason).code
            for reason in churn.playbook.actions
        }
        out.write(
            "  win-back actions: " + ", ".join(f"{k} -> {v}" for k, v in actions.items()) + "\n"
        )
    if churn.skipped:
        out.write(f"  rules skipped (no interactions): {', '.join(churn.skipped)}\n")
    if top and flagged:
        out.write(f"top {min(top, flagged)} at risk:\n")
        for explanation in churn.explanations(limit=top):
            out.write(f"  {explanation}\n")


def write_segments_csv(
    result: SegmentRun, path: str | os.PathLike[str], *, inputs: Sequence[tuple[str, str]] = ()
) -> None:
    """Write one row per customer by the ``--out`` rules
    (:func:`custmgmt.cli._inputs.write_csv`: atomic for files, formulas neutralised).

    Columns: ``customer_id``, one per scheme run, ``rfm_r``, ``rfm_f``, ``rfm_m``,
    ``rfm_segment``, ``churn_risk``, ``churn_score``, ``churn_rules`` (names of the rules
    that fired, ``;``-separated), ``churn_reason`` and ``winback_action`` (empty when
    nothing fired).

    Raises:
        ValidationError: ``path`` is refused (a directory, one of ``inputs``) or
            cannot be written.
    """
    from custmgmt.churn import Reason, RiskLevel

    churn = result.churn
    n = len(result.features)
    rules = np.full(n, "", dtype=object)
    for j, rule in enumerate(churn.rules):
        joined = np.where(rules == "", rule.name, rules + ";" + rule.name)
        rules = np.where(churn.fired[:, j], joined, rules)
    risk_names = np.asarray([level.label for level in RiskLevel], dtype=object)
    reason_names = np.asarray([r.value for r in Reason], dtype=object)
    flagged = churn.flagged
    columns: list[list[Any]] = [
        result.features.customer_ids.tolist(),
        *(s.labels.tolist() for s in result.segmentations.values()),
        result.rfm.r.tolist(),
        result.rfm.f.tolist(),
        result.rfm.m.tolist(),
        result.rfm.labels.tolist(),
        risk_names[churn.risk].tolist(),
        churn.score.tolist(),
        rules.tolist(),
        np.where(flagged, reason_names[churn.reason], "").tolist(),
        churn.action_codes().tolist(),
    ]
    header = [
        "customer_id",
        *(name.replace(" ", "_") for name in result.segmentations),
        "rfm_r",
        "rfm_f",
        "rfm_m",
        "rfm_segment",
        "churn_risk",
        "churn_score",
        "churn_rules",
        "churn_reason",
        "winback_action",
    ]
    write_csv(path, header, zip(*columns, strict=True), inputs=inputs)


def run(args: argparse.Namespace) -> int:
    """Segment, print, and write ``--out`` when asked."""
    import sys

    tz = zone(args.tz)
    check_output(args.out, inputs_of(args))
    check_top(args)
    if args.db is not None:
        orders, interactions, as_of = frames_from_store(args, tz, interactions=True)
    else:
        orders, as_of = orders_from_csv(args, tz)
        interactions = None
    result = analyse(orders, interactions, as_of=as_of)
    if args.out is not None:
        write_segments_csv(result, args.out, inputs=inputs_of(args))
    report = sys.stderr if args.out == "-" else sys.stdout  # keep a piped CSV clean
    print_report(result, report, top=args.top)
    if args.out is not None and args.out != "-":
        print(f"wrote {len(result.features)} customers to {args.out}", file=report)
    return 0
