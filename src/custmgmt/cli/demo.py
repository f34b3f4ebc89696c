"""``custmgmt demo``: the library's main job on its embedded default, SQLite.

Creates (or reopens) an SQLite database, fills it with a seeded synthetic store when
it is empty, prints a summary of what is stored and then runs each capability's demo
section in :data:`SECTIONS`. Reopening a filled database neither fails nor duplicates
data: every section is idempotent.

A section is a function ``demo_section(ctx)`` taking a
:class:`~custmgmt.cli.demo_context.DemoContext`, in a module of its own under
:mod:`custmgmt.cli`; adding a capability to the demo is importing its module here and
adding its ``demo_section`` to :data:`SECTIONS`.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from custmgmt import datasets
from custmgmt._text import mask_dsn, one_line
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.cli import (
    demo_clv,
    demo_engagement,
    demo_loyalty,
    demo_overview,
    demo_privacy,
    demo_prospects,
    demo_rating,
    demo_recommend,
    demo_report,
    demo_risk,
    demo_segments,
    demo_team,
    demo_tickets,
)
from custmgmt.cli._inputs import check_db_path, is_postgres_dsn, open_postgres
from custmgmt.cli.demo_context import DemoContext
from custmgmt.domain.money import currency_digits
from custmgmt.errors import ValidationError
from custmgmt.ports import Store

__all__ = [
    "DEFAULT_AS_OF",
    "DEFAULT_DB",
    "SECTIONS",
    "SECTION_NEEDS",
    "DemoContext",
    "register",
    "run",
]

#: Where the demo keeps its database unless ``--db`` says otherwise.
DEFAULT_DB = Path("custmgmt-demo.sqlite3")
#: The demo's "today": fixed, so every run of the demo tells the same story.
DEFAULT_AS_OF = datetime(2026, 6, 30, 23, 59, tzinfo=timezone(timedelta(hours=8)))

#: The capability sections, in the order they print.
SECTIONS: tuple[Callable[[DemoContext], None], ...] = (
    demo_overview.demo_section,
    demo_segments.demo_section,
    demo_clv.demo_section,
    demo_rating.demo_section,
    demo_tickets.demo_section,
    demo_team.demo_section,
    demo_prospects.demo_section,
    demo_engagement.demo_section,
    demo_risk.demo_section,
    demo_loyalty.demo_section,
    demo_recommend.demo_section,
    demo_report.demo_section,
    demo_privacy.demo_section,
)

#: The capabilities a section reads beyond the core records, ratings and tickets. A
#: store that does not keep them (a host's own store may offer fewer capabilities than
#: the bundled memory, SQLite and PostgreSQL stores, which keep all) skips the section
#: and says so.
SECTION_NEEDS: dict[Callable[[DemoContext], None], tuple[str, ...]] = {
    demo_team.demo_section: ("agents", "assignments"),
    demo_prospects.demo_section: ("agents", "prospects"),
    demo_engagement.demo_section: ("campaigns", "followups"),
    demo_risk.demo_section: ("risk",),
    demo_loyalty.demo_section: ("loyalty",),
    demo_privacy.demo_section: ("privacy",),
}


def register(subparsers: Any) -> None:
    """Add the ``demo`` command."""
    parser = subparsers.add_parser(
        "demo",
        help="create (or reopen) a demo store (SQLite, or PostgreSQL with --db "
        "postgresql://...) with synthetic customers and show what custmgmt does with it",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    parser.add_argument(
        "--db",
        default=str(DEFAULT_DB),
        metavar="PATH|DSN",
        help=f"SQLite database path, or a postgresql://... DSN (schema custmgmt) "
        f"(default: {DEFAULT_DB})",
    )
    parser.add_argument(
        "--customers",
        type=int,
        default=2000,
        help="customers to generate when empty (default: 2000)",
    )
    parser.add_argument("--seed", type=int, default=7, help="random seed (default: 7)")
    parser.add_argument(
        "--as-of",
        type=_parse_as_of,
        default=DEFAULT_AS_OF,
        help="the demo's 'now', ISO date or datetime (default: 2026-06-30 23:59 +08:00)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the demo; returns the exit code."""
    if args.customers < 1:
        raise ValidationError("--customers", args.customers, "a positive number of customers")
    if args.seed < 0:  # before the store is made: the generator refused it after, as "seed"
        raise ValidationError("--seed", args.seed, "a non-negative integer")
    out = sys.stdout
    store: Store
    if is_postgres_dsn(args.db):
        store = open_postgres(args.db, create=True)
    else:
        check_db_path(args.db)  # named as the option here; the store would say "database"
        store = SQLiteStore(Path(args.db))
    try:
        ctx = DemoContext(
            store=store,
            as_of=args.as_of,
            seed=args.seed,
            out=out,
            rng=random.Random(args.seed),
            db_path=None if is_postgres_dsn(args.db) else Path(args.db),
        )
        ctx.print(f"custmgmt demo: database {one_line(_shown(args.db))}")
        if store.customers.count() == 0:
            _fill(ctx, args.customers)
        else:
            ctx.print("reopened an existing store: nothing generated, nothing duplicated")
        _summary(ctx)
        offered = set(getattr(store, "capabilities", ()))
        for section in SECTIONS:
            missing = [name for name in SECTION_NEEDS.get(section, ()) if name not in offered]
            if missing:
                ctx.print(
                    f"\n({section.__module__.rpartition('.')[2]} skipped: this store does "
                    f"not keep {', '.join(missing)} yet)"
                )
                continue
            section(ctx)
    finally:
        store.close()
    return 0


def _shown(db: str) -> str:
    """``--db`` as printed: a DSN's password replaced by ``***``."""
    return mask_dsn(db) if is_postgres_dsn(db) else db


def _fill(ctx: DemoContext, customers: int) -> None:
    ctx.print(f"empty store: generating {customers:,} synthetic customers (seed {ctx.seed}) ...")
    progress = _terminal_progress(ctx.out) if ctx.out.isatty() else None
    data = datasets.make_dataset(n_customers=customers, seed=ctx.seed, as_of=ctx.as_of)
    # One transaction around the chunks: an interrupted fill (Ctrl-C, a full disk) kept
    # the chunks before it, and the next run took the half-filled store (customers, no
    # orders) for a finished one: "reopened an existing store: nothing generated".
    with ctx.store.transaction():
        report = datasets.load_into(ctx.store, data, progress=progress)
    if progress is not None:
        ctx.out.write("\n")
    ctx.print(
        f"stored {report.customers:,} customers, {report.orders:,} orders, "
        f"{report.interactions:,} interactions"
    )


def _terminal_progress(out: TextIO) -> Callable[[int, int], None]:
    def show(done: int, total: int) -> None:
        share = done / total if total else 1.0
        bar = "#" * int(share * 30)
        out.write(f"\r  loading [{bar:<30}] {share:6.1%} ({done:,}/{total:,})")
        out.flush()

    return show


def _summary(ctx: DemoContext) -> None:
    store = ctx.store
    ctx.heading("What is stored")
    ctx.print(
        f"{store.customers.count():,} customers, {store.orders.count():,} orders, "
        f"{store.interactions.count():,} interactions"
    )
    statuses: Counter[str] = Counter()
    revenue: dict[str, Decimal] = {}
    regions: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    for chunk in store.orders.iter_chunks():
        for order in chunk:
            statuses[order.status.value] += 1
            if order.placed_at <= ctx.as_of:
                net = order.net_total
                revenue[net.currency] = revenue.get(net.currency, Decimal(0)) + net.amount
    for customers in store.customers.iter_chunks():
        for customer in customers:
            regions[customer.region or "-"] += 1
    for interactions in store.interactions.iter_chunks():
        for interaction in interactions:
            kinds[interaction.kind.value] += 1
    for currency, amount in sorted(revenue.items()):
        digits = currency_digits(currency)  # KWD 1,234.567, JPY 1,234, CNY 1,234.50
        ctx.print(f"net revenue to {ctx.as_of:%Y-%m-%d}: {amount:,.{digits}f} "
                  f"{one_line(currency)}")
    ctx.print("orders by status: "
              + ", ".join(f"{one_line(k)} {v:,}" for k, v in statuses.most_common()))
    ctx.print("customers by region: "
              + ", ".join(f"{one_line(k)} {v:,}" for k, v in regions.most_common(6)))
    ctx.print("interactions: "
              + ", ".join(f"{one_line(k)} {v:,}" for k, v in kinds.most_common()))
    first = next(iter(store.customers.iter_chunks(size=3)), [])
    for customer in first:
        where = customer.address.city if customer.address and customer.address.city else "-"
        since = f"{customer.registered_at:%Y-%m-%d}"
        # A person's name is personal data: printed masked (Customer.display_name).
        ctx.print(f"  e.g. {one_line(customer.id)}: {one_line(customer.display_name)} "
                  f"({one_line(where)}), registered {since}")


#: The years a demo's "now" may fall in: those its synthetic data can be made for
#: (:func:`custmgmt.datasets.make_dataset`).
DEMO_FIRST_YEAR, DEMO_LAST_YEAR = 1980, 2200


def _parse_as_of(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date or datetime: {text!r}") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    # The synthetic data's range, checked before any store is opened: a new store was
    # created and then left empty when the generator refused the date.
    if not DEMO_FIRST_YEAR <= value.year <= DEMO_LAST_YEAR:
        raise argparse.ArgumentTypeError(
            f"not a day in the years {DEMO_FIRST_YEAR} to {DEMO_LAST_YEAR} "
            f"(the demo's synthetic data): {text!r}"
        )
    return value
