"""Demo section: star ratings with explanations, and an override with its approval.

Rates the customers with a counted order (:func:`custmgmt.rating.rate_frames`:
prospects and customers whose orders were all cancelled stay unrated) with
:meth:`RatingPolicy.default` at the scheduled run in effect when the demo's campaign
ran (:func:`~custmgmt.cli.demo_context.campaign_run_at`: its report groups customers
by those stars) and at the demo's "now" (so the change since that run shows; the
first continues from the store's own earlier run, if any), keeps both runs in
``store.ratings`` (fixed run ids: a second demo run finds them and stores nothing
new), prints the star distribution and the top customers with the contributions
that explain their stars, then walks one manual override through request, a refused
self-approval and a second person's approval.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from custmgmt._text import one_line
from custmgmt.analytics.frames import OrderFrame
from custmgmt.analytics.loading import store_frames
from custmgmt.cli.demo_context import campaign_run_at
from custmgmt.cli.rate import print_rating
from custmgmt.errors import NotFound, PermissionDenied
from custmgmt.rating import (
    OverridePolicy,
    OverrideStatus,
    PreviousStars,
    Rating,
    RatingPolicy,
    approve_override,
    effective_stars,
    load_previous,
    rate_frames,
    request_override,
    save_rating,
)

if TYPE_CHECKING:
    from custmgmt.cli.demo_context import DemoContext

__all__ = ["DEMO_OVERRIDE_ID", "demo_section"]

#: The id of the demo's sample override (fixed, so reruns find it).
DEMO_OVERRIDE_ID = "DEMO-OV1"


def _rate(
    ctx: DemoContext, orders: OrderFrame, as_of: datetime, previous: Rating | None, run_id: str
) -> Rating:
    policy = RatingPolicy.default()
    # The first run continues from the store's own earlier run, if any (a demo run
    # again with a later --as-of), as rate_store does: not from nothing.
    earlier: Rating | PreviousStars | None = previous
    if earlier is None:
        earlier = load_previous(ctx.store.ratings, before=as_of, policy=policy)
    rating = rate_frames(policy, orders, as_of=as_of, previous=earlier)
    try:
        ctx.store.ratings.get_run(run_id)
    except NotFound:
        with ctx.store.transaction():
            save_rating(ctx.store.ratings, rating, created_at=ctx.as_of, run_id=run_id)
    return rating


def demo_section(ctx: DemoContext) -> None:
    """Rate, explain, and show an override being approved."""
    # Every customer of the store: those with no counted order are left unrated.
    orders, _ = store_frames(ctx.store, as_of=ctx.as_of, currency="CNY", interactions=False)
    if len(orders) == 0:
        return
    policy = RatingPolicy.default()
    # The scheduled run in effect when the engagement section's campaign ran: its
    # report groups customers by the stars they had then (current_stars at its run).
    earlier = policy.previous_run_time(campaign_run_at(ctx.as_of))
    ctx.heading("Star ratings (default policy: spend 60%, frequency 30%, categories 10%)")
    previous = None
    if earlier is not None:
        previous = _rate(ctx, orders, earlier, None, f"demo-{earlier:%Y-%m-%d}")
    rating = _rate(ctx, orders, ctx.as_of, previous, f"demo-{ctx.as_of:%Y-%m-%d}")
    ctx.shared["rating"] = rating
    if earlier is not None:
        ctx.print(f"(the previous run rated {earlier:%Y-%m-%d})")
    print_rating(rating, ctx.out, top=5)

    # A manual override: requested by one person, approved only by a reviewer the
    # override policy names (here by role).
    reviewers = OverridePolicy(approver_roles={"运营经理"})
    ratings = ctx.store.ratings
    ctx.print("\nmanual override with review")
    # The request with its review, or nothing: the next run looks for the override
    # only, and an interrupted run's request stayed pending for good (computed 3★,
    # effective 3★, printed as the demo's approved override).
    with ctx.store.transaction():
        try:
            override = ratings.get_override(DEMO_OVERRIDE_ID)
        except NotFound:
            middle = [e for e in rating.top(len(rating)) if e.stars == 3]
            target = middle[0] if middle else rating.top(1)[0]
            override = request_override(
                ctx.store,
                customer_id=str(target.customer_id),
                stars=5,
                reason="签约年度大客户，合同约定五星服务",
                expires_at=ctx.as_of + timedelta(days=90),
                requested_by="客服主管-王",
                at=ctx.as_of - timedelta(hours=3),
                override_id=DEMO_OVERRIDE_ID,
            )
        if override.status is OverrideStatus.PENDING:  # an older interrupted run's too
            try:
                approve_override(ctx.store, DEMO_OVERRIDE_ID, by="客服主管-王",
                                 at=ctx.as_of - timedelta(hours=2), policy=reviewers,
                                 roles=("客服主管",))
            except PermissionDenied as exc:
                ctx.print(f"  self-approval refused: {exc}")
            override = approve_override(ctx.store, DEMO_OVERRIDE_ID, by="运营经理-李",
                                        at=ctx.as_of - timedelta(hours=1), policy=reviewers,
                                        roles=("运营经理",), reason="已核对合同")
    # A reopened store's override may hold anything: each value printed on one line.
    for event in override.history:
        why = f": {one_line(event.reason)}" if event.reason else ""
        role = f" ({one_line(event.role)})" if event.role else ""
        ctx.print(
            f"  {event.at:%Y-%m-%d %H:%M} {event.action.value:<8} by {one_line(event.actor)}"
            f"{role}{why}"
        )
    i = rating.index_of(override.customer_id)
    effective = effective_stars(rating, [override], at=ctx.as_of)
    ctx.print(
        f"  customer {one_line(override.customer_id)}: computed {int(rating.rated_stars[i])}★, "
        f"effective {int(effective[i])}★ until {override.expires_at:%Y-%m-%d}"
    )
