"""``custmgmt recommend``: products for a customer from purchase history, or an evaluation.

``custmgmt recommend --db PATH|DSN CUSTOMER`` lists the top items for one customer from
item-to-item co-purchase (cosine by default; ``--similarity lift``), leaving out what
they bought, with where each came from (their history or the popularity fill).
``--item SKU`` lists what customers who bought that product also bought.
``--evaluate`` scores item-item cosine, lift and the popularity baseline with a global
time cutoff ``--holdout-days`` before ``--as-of`` (or ``--split last``: leave-last-out,
which leaks the future and is shown for comparison). The store is opened read-only.
"""

from __future__ import annotations

import argparse
from typing import Any

from custmgmt._text import one_line
from custmgmt.cli._inputs import as_of_or_now, open_existing_store, options_named, zone
from custmgmt.errors import ValidationError
from custmgmt.recommend import also_bought, evaluate_store, recommend_for

__all__ = ["register", "run"]

#: The library's parameter names -> this command's options, for its error messages
#: (``--item 不存在`` said ``item_id: got '不存在'``, a name the user never typed).
_OPTIONS = {
    "item_id": "--item", "customer_id": "CUSTOMER", "k": "--k", "similarity": "--similarity",
    "split": "--split", "currency": "--currency", "holdout_days": "--holdout-days",
}


def register(subparsers: Any) -> None:
    """Add the ``recommend`` command."""
    parser = subparsers.add_parser(
        "recommend",
        help="products for a customer from purchase history (item-to-item), or --evaluate",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    parser.add_argument("customer", metavar="CUSTOMER", nargs="?", help="the customer id")
    parser.add_argument("--db", metavar="PATH|DSN", required=True,
                        help="the store: an SQLite file or a postgresql:// DSN")
    parser.add_argument("--item", metavar="SKU", help="customers who bought SKU also bought")
    parser.add_argument("--evaluate", action="store_true", help="evaluate against popularity")
    parser.add_argument("--k", type=int, default=10, help="list length (default: 10)")
    parser.add_argument("--similarity", choices=("cosine", "lift"), default="cosine")
    parser.add_argument("--split", choices=("time", "last"), default="time",
                        help="evaluation split (default: time)")
    parser.add_argument("--holdout-days", type=int, default=90,
                        help="days before --as-of held out by the time split (default: 90)")
    parser.add_argument("--currency", default="CNY", help="the store's currency (default: CNY)")
    parser.add_argument(
        "--as-of", metavar="DATE",
        help="purchases up to this ISO date (its end) or datetime, naive in --tz "
        "(default: now)",
    )
    parser.add_argument("--tz", default="Asia/Shanghai", help="time zone (default: Asia/Shanghai)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Recommend or evaluate; returns the exit code."""

    for flag, value in (("CUSTOMER", args.customer), ("--item", args.item)):
        if value is not None and not value.strip():
            raise ValidationError(flag, value, "a non-blank id")
    chosen = [args.customer is not None, args.item is not None, bool(args.evaluate)]
    if sum(chosen) != 1:
        raise ValidationError(
            "CUSTOMER", args.customer, "exactly one of CUSTOMER, --item SKU or --evaluate"
        )
    if args.k < 1:
        raise ValidationError("--k", args.k, "a positive number of items")
    if args.holdout_days < 1:
        raise ValidationError("--holdout-days", args.holdout_days, "a positive number of days")
    as_of = as_of_or_now(args, zone(args.tz))
    store = open_existing_store(args.db)
    try:
        with options_named(_OPTIONS):
            if args.evaluate:
                report = evaluate_store(store, as_of=as_of, holdout_days=args.holdout_days,
                                        k=args.k, split=args.split, currency=args.currency)
                print(report.format_table())
            elif args.item:
                found = also_bought(store, args.item, as_of=as_of, k=args.k,
                                    similarity=args.similarity, currency=args.currency)
                print(f"customers who bought {one_line(args.item)} also bought "
                      f"({args.similarity}):")
                for sku, score in found:
                    print(f"  {one_line(sku):<16} {score:.3f}")
            else:
                result = recommend_for(store, args.customer, as_of=as_of, k=args.k,
                                       similarity=args.similarity, currency=args.currency)
                print(f"recommended for {one_line(args.customer)} "
                      f"({args.similarity}, {as_of:%Y-%m-%d}):")
                for rank, (item, score, mine) in enumerate(zip(
                    result.items[0], result.scores[0], result.from_history[0], strict=True
                ), start=1):
                    if item is None:
                        continue
                    source = f"history {score:.3f}" if mine else "popular"
                    print(f"  {rank:>2}. {one_line(item):<16} {source}")
    finally:
        store.close()
    return 0
