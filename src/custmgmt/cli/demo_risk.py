"""Demo section: credit grades, early warnings, one restriction and its appeal.

Stores the demo scorecard (:data:`DEMO_CARD`, a table over risk features, with missing
bins for customers without recent orders or reviews), scores every customer for the
quarter of the demo's "now" (run id ``risk_demo-v1-<quarter>``: a rerun in the same
quarter scores nothing new), raises the default early-warning alerts (current alerts
are not raised twice), and walks one restriction through its appeal: the customer with
the worst grade is restricted (no cash on delivery), appeals, the appeal is reviewed
and overturned, and the restriction is lifted in the same step; every step is printed
from the audit log. Ids are fixed (``DEMO-R1``, ``DEMO-A1``), so a second run adds
nothing.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Final

from custmgmt._text import one_line
from custmgmt.cli.demo_context import DemoContext
from custmgmt.cli.risk import print_risk_overview
from custmgmt.errors import NotFound
from custmgmt.risk import (
    DEFAULT_RULES,
    Bin,
    FeatureTable,
    Scorecard,
    current_grades,
    decide_appeal,
    default_grades,
    impose_restriction,
    raise_alerts,
    rescore_quarterly,
    save_scorecard,
    start_review,
    submit_appeal,
)
from custmgmt.risk.services import appeal_calendar

__all__ = ["DEMO_APPEAL_ID", "DEMO_CARD", "DEMO_RESTRICTION_ID", "demo_section"]

DEMO_RESTRICTION_ID: Final = "DEMO-R1"
DEMO_APPEAL_ID: Final = "DEMO-A1"


def _card() -> Scorecard:
    def table(feature: str, *bins: Bin) -> FeatureTable:
        return FeatureTable(feature=feature, bins=bins)

    tables = (
        table("return_rate_90d",
              Bin(label="< 10%", upper=0.1, points=40), Bin(label="10-30%", lower=0.1,
                                                            upper=0.3, points=15),
              Bin(label=">= 30%", lower=0.3, points=-30),
              Bin(label="no recent order", missing=True, points=0)),
        table("cancellation_rate_90d",
              Bin(label="< 10%", upper=0.1, points=30), Bin(label="10-40%", lower=0.1,
                                                            upper=0.4, points=5),
              Bin(label=">= 40%", lower=0.4, points=-35),
              Bin(label="no recent order", missing=True, points=0)),
        table("dispute_count",
              Bin(label="none", upper=1, points=30), Bin(label="1-2", lower=1, upper=3,
                                                         points=0),
              Bin(label="3+", lower=3, points=-40), Bin(label="missing", missing=True,
                                                        points=0)),
        table("review_mean",
              Bin(label="< 2.5", upper=2.5, points=-25), Bin(label="2.5-4", lower=2.5,
                                                             upper=4, points=5),
              Bin(label=">= 4", lower=4, points=20),
              Bin(label="no reviews", missing=True, points=0)),
        table("orders_90d",
              Bin(label="none", upper=1, points=-10), Bin(label="1-3", lower=1, upper=4,
                                                          points=15),
              Bin(label="4+", lower=4, points=35), Bin(label="missing", missing=True,
                                                       points=0)),
    )
    low = 500 + sum(t.min_points for t in tables)
    high = 500 + sum(t.max_points for t in tables)
    return Scorecard(name="risk_demo", version=1, base_points=500, tables=tables,
                     grades=default_grades(low, high),
                     description="demo credit card over risk features")


#: The demo's scorecard, as data.
DEMO_CARD: Final = _card()


def demo_section(ctx: DemoContext) -> None:
    """Print the risk section of ``custmgmt demo`` (see the module docstring)."""

    ctx.heading("Customer quality and credit risk: grades, early warnings, appeals")
    store: Any = ctx.store
    try:
        store.risk.get_scorecard(DEMO_CARD.name, DEMO_CARD.version)
    except NotFound:
        save_scorecard(store, DEMO_CARD)
    run = rescore_quarterly(store, DEMO_CARD, as_of=ctx.as_of)
    ctx.print("scored every customer for this quarter" if run is not None
              else "this quarter's scores are already stored: nothing scored")
    alerts = raise_alerts(store, DEFAULT_RULES, as_of=ctx.as_of)
    ctx.print(f"early warnings: {len(alerts.added)} new, {alerts.duplicates} already current")
    _restriction_and_appeal(ctx, store)
    ctx.print()
    print_risk_overview(store, ctx.as_of, ctx.out, card_name=DEMO_CARD.name, limit=5)
    restriction = _find(store.risk.get_restriction, DEMO_RESTRICTION_ID)
    appeal = _find(store.risk.get_appeal, DEMO_APPEAL_ID)
    if restriction is not None:
        ctx.print(f"\naudit trail of {one_line(restriction.id)} "
                  f"({one_line(restriction.customer_id)}):")
        for e in restriction.events:
            ctx.print(f"  {e.at:%Y-%m-%d %H:%M}  {one_line(e.action):<10} by "
                      f"{one_line(e.actor)}: {one_line(e.reason)}")
    if appeal is not None:
        carried = ""
        if appeal.ticket_id is not None:
            ticket = _find(store.tickets.get, appeal.ticket_id)
            if ticket is not None:
                carried = f"; service ticket {one_line(ticket.id)}: {ticket.status.value}"
        ctx.print(f"appeal {one_line(appeal.id)}: deadline {appeal.deadline:%Y-%m-%d %H:%M} "
                  f"(16 business hours){carried}")
        for a in appeal.events:
            ctx.print(f"  {a.at:%Y-%m-%d %H:%M}  {a.event.value:<12} -> "
                      f"{a.to_status.value:<12} by {one_line(a.actor)}"
                      + (f": {one_line(a.reason)}" if a.reason else ""))


def _find(get: Any, key: str) -> Any:
    try:
        return get(key)
    except NotFound:
        return None


def _restriction_and_appeal(ctx: DemoContext, store: Any) -> None:
    if _find(store.risk.get_restriction, DEMO_RESTRICTION_ID) is not None:
        ctx.print(f"restriction {DEMO_RESTRICTION_ID} and its appeal are stored: nothing added")
        return
    grades = current_grades(store, DEMO_CARD.name)
    if not grades:
        ctx.print("no scored customers: no restriction")
        return
    order = {band.grade: i for i, band in enumerate(DEMO_CARD.grades)}
    worst = max(sorted(grades), key=lambda c: order[grades[c]])
    cal = appeal_calendar()
    start = cal.next_working_time(ctx.as_of - timedelta(days=7))
    # The whole walk or none of it: the next run looks for the restriction only, and
    # took an interrupted run's restriction (its appeal missing or still under review,
    # the restriction in force) for the finished story, "nothing added".
    with store.transaction():
        impose_restriction(store, id=DEMO_RESTRICTION_ID, customer_id=worst,
                           kind="restricted",
                           reason=f"grade {grades[worst]}: returns and cancellations",
                           actor="risk-officer", start=start,
                           blocked_methods={"cash_on_delivery"})
        submit_appeal(store, id=DEMO_APPEAL_ID, restriction_id=DEMO_RESTRICTION_ID,
                      statement="退货都是因为商品质量问题，请核实",
                      at=start + timedelta(hours=2), actor=worst, calendar=cal)
        start_review(store, DEMO_APPEAL_ID, at=start + timedelta(hours=3),
                     actor="risk-reviewer")
        decide_appeal(store, DEMO_APPEAL_ID, overturn=True, at=start + timedelta(days=1),
                      actor="risk-reviewer", reason="returns confirmed as quality defects")
    ctx.print(f"restricted {one_line(worst)} (grade {one_line(grades[worst])}), who appealed; "
              "the appeal was overturned and the restriction lifted")
