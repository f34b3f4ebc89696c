"""Demo section: star ratings with explanations, and an override with its approval.

Rates every customer with :meth:`RatingPolicy.default` at the previous monthly run and
at the demo's "now" (so the change since the previous run shows), keeps both runs in
``store.ratings`` (fixed run ids: a second demo run finds them and stores nothing
new), prints the star distribution and the top customers with the contributions
that explain their stars, then walks one manual override through request, a refused
self-approval and a second person's approval.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from custmgmt.errors import NotFound, PermissionDenied
from custmgmt.rating import rate

if TYPE_CHECKING:
    from custmgmt.cli.demo_context import DemoContext

__all__ = ["DEMO_OVERRIDE_ID", "demo_section"]

#: The id of the demo's sample override (fixed, so reruns find it).
DEMO_OVERRIDE_ID = "DEMO-OV1"


def _rate(ctx: DemoContext, orders: Any, as_of: Any, previous: Any, run_id: str) -> Any:
    from custmgmt.analytics.features import customer_features
    from custmgmt.rating import RatingPolicy, save_rating

    policy = RatingPolicy.default()
    features = customer_features(orders, as_of=as_of, features=list(policy.features))
    rating = rate(policy, features, previous, as_of=as_of)
    try:
        ctx.store.ratings.get_run(run_id)  # type: ignore[attr-defined]
    except NotFound:
        with ctx.store.transaction():
            save_rating(ctx.store.ratings, rating, created_at=ctx.as_of,  # type: ignore[attr-defined]
                        run_id=run_id)
    return rating


def demo_section(ctx: DemoContext) -> None:
    """Rate, explain, and show an override being approved."""
    from custmgmt.analytics.frames import OrderFrame
    from custmgmt.cli.rate import print_rating
    from custmgmt.rating import RatingPolicy, effective_stars

    orders = ctx.shared.get("order_frame")
    if orders is None:
        orders = OrderFrame.from_store(ctx.store, currency="CNY", as_of=ctx.as_of)
        ctx.shared["order_frame"] = orders
    if len(orders) == 0:
        return
    policy = RatingPolicy.default()
    earlier = policy.previous_run_time(ctx.as_of - timedelta(days=28))
    ctx.heading("Star ratings (default policy: spend 60%, frequency 30%, categories 10%)")
    previous = None
    if earlier is not None:
        previous = _rate(ctx, orders, earlier, None, f"demo-{earlier:%Y-%m-%d}")
    rating = _rate(ctx, orders, ctx.as_of, previous, f"demo-{ctx.as_of:%Y-%m-%d}")
    ctx.shared["rating"] = rating
    print_rating(rating, ctx.out, top=5)
    moved = rating.change[rating.previous_stars > 0]
    ctx.print(
        f"since the run of {earlier:%Y-%m-%d}: {int((moved > 0).sum())} customers gained "
        f"stars, {int((moved < 0).sum())} lost stars" if earlier else ""
    )

    # A manual override: requested by one person, approved only by a reviewer the
    # override policy names (here by role).
    from custmgmt.rating import OverridePolicy, approve_override, request_override

    reviewers = OverridePolicy(approver_roles={"运营经理"})

    ratings: Any = ctx.store.ratings  # type: ignore[attr-defined]
    ctx.print("\nmanual override with review")
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
        try:
            approve_override(ctx.store, DEMO_OVERRIDE_ID, by="客服主管-王",
                             at=ctx.as_of - timedelta(hours=2), policy=reviewers,
                             roles=("客服主管",))
        except PermissionDenied as exc:
            ctx.print(f"  self-approval refused: {exc}")
        override = approve_override(ctx.store, DEMO_OVERRIDE_ID, by="运营经理-李",
                                    at=ctx.as_of - timedelta(hours=1), policy=reviewers,
                                    roles=("运营经理",), reason="已核对合同")
    for event in override.history:
        why = f": {event.reason}" if event.reason else ""
        role = f" ({event.role})" if event.role else ""
        ctx.print(
            f"  {event.at:%Y-%m-%d %H:%M} {event.action.value:<8} by {event.actor}{role}{why}"
        )
    i = rating.index_of(override.customer_id)
    effective = effective_stars(rating, [override], at=ctx.as_of)
    ctx.print(
        f"  customer {override.customer_id}: computed {int(rating.rated_stars[i])}★, "
        f"effective {int(effective[i])}★ until {override.expires_at:%Y-%m-%d}"
    )
