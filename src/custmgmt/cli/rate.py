"""``custmgmt rate``: star ratings for analysts, from a CSV of orders or a store.

The CSV has a header row with the columns ``customer_id``, ``placed_at`` (ISO date or
datetime; naive values are in ``--tz``) and ``amount`` (major units, e.g. ``199.90``);
optional ``order_id``, ``currency``, ``category``, ``status``, ``returned_amount``,
``channel``. The command prints the star distribution and the top customers with
their explanations, and with ``--out`` writes one row per customer (id, score,
stars, each criterion's contribution) by the ``--out`` rules of
:mod:`custmgmt.cli._inputs` (``-`` for standard output, then the report goes to
standard error; files replaced atomically; devices written through; formulas
neutralised). A malformed row is an error naming its line, column and value; nothing
is written then. With ``--scheduler`` or ``--workers`` the rating runs on a Dask
cluster (Parquet orders); ``--db STORE --save`` then keeps the cluster's run in that
store, written in chunks, as ``--db STORE --save`` keeps a run rated from the store.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from custmgmt.analytics.features import ENGINES
from custmgmt.cli._cluster import add_cluster_arguments, on_cluster, rate_on_cluster
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
from custmgmt.domain import SystemClock
from custmgmt.errors import ValidationError
from custmgmt.rating import Rating, RatingPolicy, format_rating, rate_frames, rate_store

__all__ = ["print_rating", "register", "run", "write_stars_csv"]


def register(subparsers: Any) -> None:
    """Add the ``rate`` command."""
    parser = subparsers.add_parser(
        "rate",
        help="rate customers with stars from a CSV of orders (or a store with --db)",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    add_order_source_arguments(
        parser,
        as_of_help="rate as of this ISO date (its end) or datetime; naive values are in --tz "
        "(default: the last order in the file; with --db: now)",
    )
    parser.add_argument("--policy", metavar="POLICY.json", help="a rating policy as JSON")
    parser.add_argument(
        "--out", metavar="STARS.csv", help=f"write one row per customer here: {OUT_HELP}"
    )
    parser.add_argument("--top", type=int, default=10, help="how many top customers to show")
    parser.add_argument(
        "--save",
        action="store_true",
        help="with --db: keep the run in the store's ratings (with --scheduler/--workers "
        "the orders come from the Parquet ORDERS and --db only names the store the run "
        "is saved into)",
    )
    parser.add_argument(
        "--engine",
        choices=ENGINES,
        default="numpy",
        help="the feature engine: numpy (default, the reference) or polars (needs "
        "custmgmt[polars]; the same features and stars)",
    )
    add_interactions_argument(parser)
    add_cluster_arguments(parser)
    parser.set_defaults(func=run)


def _policy(path: str | None) -> RatingPolicy:
    if path is None:
        return RatingPolicy.default()
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError("--policy", path, f"a readable UTF-8 JSON file ({exc})") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        # Named by its path: the content (a customer list given by mistake) is not shown.
        raise ValidationError("--policy", path, f"a rating policy in JSON ({exc})") from None
    except RecursionError:
        raise ValidationError("--policy", path, "JSON nested under 1,000 levels") from None
    return RatingPolicy.from_dict(data)


def run(args: argparse.Namespace) -> int:
    """Rate, print, and write ``--out`` when asked."""
    tz = zone(args.tz)
    check_output(args.out, inputs_of(args))
    report = sys.stderr if args.out == "-" else sys.stdout  # keep a piped CSV clean
    policy = _policy(args.policy)
    check_top(args)
    refuse_interactions_with_db(args)
    if on_cluster(args):
        if args.engine != "numpy":
            raise ValidationError("--engine", args.engine, "numpy with a cluster")
        rating = rate_on_cluster(args, policy, tz)
    elif args.db is not None:
        if args.orders is not None:
            raise ValidationError("ORDERS.csv", args.orders, "no CSV file together with --db")
        rating = _rate_db(args, policy, tz, report)
    else:
        if args.save:
            raise ValidationError("--save", True, "--save only with --db")
        frame, as_of = orders_from_csv(args, tz)
        interactions = interactions_from_args(args, frame)
        rating = rate_frames(policy, frame, interactions, as_of=as_of, engine=args.engine)
    if args.out is not None:
        write_stars_csv(rating, args.out, inputs=inputs_of(args))
    print_rating(rating, report, top=args.top)
    if args.out is not None and args.out != "-":
        print(f"wrote {len(rating)} customers to {args.out}", file=report)
    return 0


def _rate_db(
    args: argparse.Namespace, policy: RatingPolicy, tz: ZoneInfo, report: TextIO
) -> Rating:
    clock = SystemClock(tz)
    as_of = as_of_or_now(args, tz)
    store = open_existing_store(args.db, writable=args.save)
    try:
        rating, run = rate_store(
            store,
            policy,
            as_of=as_of,
            currency=args.currency,
            created_at=clock.now(),
            save=args.save,
            engine=args.engine,
        )
    finally:
        store.close()
    if run is not None:
        print(f"saved run {run.id} (as of {run.as_of.isoformat()}; a run of the same policy "
              "and as_of is kept once)", file=report)
    return rating


def print_rating(rating: Rating, out: TextIO, *, top: int = 10) -> None:
    """Print :func:`custmgmt.rating.format_rating`."""
    out.write(format_rating(rating, top=top) + "\n")


def write_stars_csv(
    rating: Rating, path: str | os.PathLike[str], *, inputs: Sequence[tuple[str, str]] = ()
) -> None:
    """Write one row per customer (id, score, stars, contributions).

    By the ``--out`` rules (:func:`custmgmt.cli._inputs.write_csv`): a regular file is
    replaced atomically, so a failure leaves no partial file (and an older file
    untouched); ``-`` is standard output; ids are neutralised against formulas.

    Raises:
        ValidationError: ``path`` is refused (a directory, one of ``inputs``) or
            cannot be written.
    """
    names = list(rating.contributions)
    columns = [rating.contributions[n].tolist() for n in names]
    rows = (
        [ident, f"{score:.6f}", stars, *(f"{c[i]:.6f}" for c in columns)]
        for i, (ident, score, stars) in enumerate(
            zip(
                rating.customer_ids.tolist(),
                rating.score.tolist(),
                rating.stars.tolist(),
                strict=True,
            )
        )
    )
    write_csv(path, ["customer_id", "score", "stars", *names], rows, inputs=inputs)
