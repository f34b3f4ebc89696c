"""``custmgmt segment``: segments, RFM and the churn list, from a CSV of orders or a store.

The CSV is the one ``custmgmt rate`` reads: a header row with ``customer_id``,
``placed_at`` (ISO date or datetime; naive values are in ``--tz``) and ``amount`` (major
units); optional ``order_id``, ``currency``, ``category``, ``status``,
``returned_amount``, ``channel``. With ``--db PATH`` the orders and interactions of an
SQLite store are read instead, for every customer registered by ``--as-of`` (those
with no order and no interaction are prospects). The command prints
:func:`custmgmt.segmentation.report.segment_report`: the segment sizes under each
shipped scheme (schemes that need interactions -- reviews, complaints, browsing -- are
skipped for a CSV), the RFM table, and the churn list with reasons and win-back
actions, most at risk first (churn score, then net spend). With ``--out`` it writes one
row per customer (each scheme's segment, recency, frequency, monetary, R, F, M, the RFM
segment, churn risk, the rules that fired, the reason and the action) by the ``--out``
rules of :mod:`custmgmt.cli._inputs` (``-`` for standard output, then the report goes
to standard error; files replaced atomically; devices written through; formulas
neutralised). With ``--clusters K`` it also clusters the customers into K behavioural
clusters (:func:`custmgmt.segmentation.clustering.cluster_customers`: seeded k-means on
standardised recency, frequency and net spend) and prints each cluster's size, share,
feature means and share of revenue; with ``--workers`` / ``--scheduler`` the clusters
are computed on the cluster (:func:`custmgmt.distributed.cluster`), equal to one
machine's.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Sequence
from typing import Any

from custmgmt._text import one_line
from custmgmt.cli._cluster import (
    add_cluster_arguments,
    cluster_session,
    clusters_on_cluster,
    on_cluster,
    segment_on_cluster,
)
from custmgmt.cli._inputs import (
    OUT_HELP,
    add_interactions_argument,
    add_order_source_arguments,
    as_of_or_now,
    check_output,
    check_top,
    inputs_of,
    interactions_from_args,
    open_existing_store,
    orders_from_csv,
    refuse_interactions_with_db,
    write_csv,
    zone,
)
from custmgmt.domain.money import currency_digits, format_money
from custmgmt.errors import ValidationError
from custmgmt.segmentation.clustering import Clustering, cluster_customers
from custmgmt.segmentation.report import SegmentReport, segment_report, segment_store
from custmgmt.segmentation.rules import MAJOR_MONEY_FEATURES

__all__ = ["format_clusters", "register", "run", "write_segments_csv"]


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
    parser.add_argument(
        "--clusters",
        type=int,
        metavar="K",
        help="also cluster the customers into K behavioural clusters (seeded k-means on "
        "standardised recency, frequency and net spend) and print each cluster's size, "
        "share, feature means and revenue share",
    )
    add_interactions_argument(parser)
    add_cluster_arguments(parser)
    parser.set_defaults(func=run)


def write_segments_csv(
    result: SegmentReport,
    path: str | os.PathLike[str],
    *,
    inputs: Sequence[tuple[str, str]] = (),
) -> None:
    """Write :meth:`SegmentReport.rows` by the ``--out`` rules
    (:func:`custmgmt.cli._inputs.write_csv`: atomic for files, formulas neutralised).

    Columns: ``customer_id``, one per scheme run, ``recency_days``, ``frequency``,
    ``monetary`` (net spend in major units, written at the currency's minor-unit digits:
    ``100.518`` KWD, ``10050`` JPY, ``100.50`` CNY), ``rfm_r``, ``rfm_f``, ``rfm_m``,
    ``rfm_segment``, ``churn_risk``, ``churn_score``, ``churn_rules`` (names of the
    rules that fired, ``;``-separated), ``churn_reason`` and ``winback_action`` (empty
    when nothing fired). Recency and monetary are empty for customers without orders.

    Raises:
        ValidationError: ``path`` is refused (a directory, one of ``inputs``) or
            cannot be written.
    """
    rows = result.rows()
    header = list(rows[0]) if rows else _empty_header(result)
    digits = currency_digits(result.features.currency or "CNY")

    def cell(name: str, value: Any) -> Any:
        if value is None:
            return ""
        if name == "monetary":  # not the float's repr: JPY 10050.0, CNY 100.5
            return f"{value:.{digits}f}"
        return value

    cells = ([cell(k, v) for k, v in row.items()] for row in rows)
    write_csv(path, header, cells, inputs=inputs)


def _empty_header(result: SegmentReport) -> list[str]:
    return [
        "customer_id",
        *(name.replace(" ", "_") for name in result.segmentations),
        "recency_days", "frequency", "monetary", "rfm_r", "rfm_f", "rfm_m", "rfm_segment",
        "churn_risk", "churn_score", "churn_rules", "churn_reason", "winback_action",
    ]


def format_clusters(clustering: Clustering, *, currency: str | None = None) -> str:
    """The cluster profiles as an aligned table: one line per cluster with its
    customers, share, share of revenue and the mean of each feature clustered (``-``
    where no customer of the cluster has a value). Aggregates only: no customer's data.

    Means of money in major units (:data:`~custmgmt.segmentation.rules.MAJOR_MONEY_FEATURES`,
    e.g. ``total_spend``) show the currency's minor-unit digits (KWD ``1018.361``,
    JPY ``101825``); ``currency`` defaults to the clustering's own (two digits when
    neither is known); other means two decimals.

    Raises:
        ValidationError: ``currency`` is not an ISO 4217 code.
    """
    currency = currency if currency is not None else clustering.currency
    if currency is not None:
        currency_digits(currency)
    names = clustering.features

    def mean(name: str, value: float) -> str:
        if math.isnan(value):
            return "-"
        if name in MAJOR_MONEY_FEATURES:
            # the table's style: no thousands separators, the currency's digits
            return format_money(value, currency or "CNY").replace(",", "")
        return f"{value:.2f}"

    header = ["cluster", "customers", "share", "revenue", *(f"mean {n}" for n in names)]
    rows = [
        [
            str(p.cluster),
            str(p.size),
            f"{p.share:.1%}",
            f"{p.revenue_share:.1%}",
            *(mean(n, p.means[n]) for n in names),
        ]
        for p in clustering.profiles
    ]
    widths = [max(len(r[j]) for r in [header, *rows]) for j in range(len(header))]
    title = (
        f"{len(clustering.profiles)} behavioural clusters of {len(clustering.labels)} customers "
        f"(k-means on standardised {', '.join(names)}):"
    )
    table = ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in [header, *rows]]
    return "\n".join([title, *table])


def _check_clusters(args: argparse.Namespace) -> None:
    if args.clusters is not None and args.clusters < 1:
        raise ValidationError("--clusters", args.clusters, "a positive number of clusters")


def _clusters(result: SegmentReport, k: int) -> Clustering:
    customers = len(result.features)
    if customers < k:
        raise ValidationError("--clusters", k, f"at most the number of customers ({customers})")
    return cluster_customers(result.features, k=k)


def run(args: argparse.Namespace) -> int:
    """Segment, print, and write ``--out`` when asked."""
    tz = zone(args.tz)
    check_output(args.out, inputs_of(args))
    check_top(args)
    _check_clusters(args)
    clustering: Clustering | None = None
    refuse_interactions_with_db(args)
    if on_cluster(args):
        if args.clusters is not None and getattr(args, "interactions", None) is not None:
            # One machine clusters the report's customers, those with interactions
            # only included; the cluster's k-means reads orders only (for now).
            raise ValidationError(
                "--clusters", args.clusters, "no --interactions with a cluster (orders only)"
            )
        with cluster_session(args):
            result = segment_on_cluster(args, tz)
            if args.clusters is not None:
                clustering = clusters_on_cluster(args, tz, args.clusters)
    elif args.db is not None:
        if args.orders is not None:
            raise ValidationError("ORDERS.csv", args.orders, "no CSV file together with --db")
        as_of = as_of_or_now(args, tz)
        store = open_existing_store(args.db)
        try:
            result = segment_store(store, as_of=as_of, currency=args.currency)
        finally:
            store.close()
    else:
        orders, as_of = orders_from_csv(args, tz)
        interactions = interactions_from_args(args, orders)
        result = segment_report(orders, interactions, as_of=as_of)
    if args.clusters is not None and clustering is None:
        clustering = _clusters(result, args.clusters)
    if args.out is not None:
        write_segments_csv(result, args.out, inputs=inputs_of(args))
    report = sys.stderr if args.out == "-" else sys.stdout  # keep a piped CSV clean
    print(result.format(top=args.top), file=report)
    if clustering is not None:
        currency = result.features.currency
        print(f"\n{format_clusters(clustering, currency=currency)}", file=report)
    if args.out is not None and args.out != "-":
        print(f"wrote {len(result.features)} customers to {one_line(args.out)}", file=report)
    return 0
