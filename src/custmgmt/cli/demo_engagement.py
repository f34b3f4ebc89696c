"""Demo section: follow-up plans with an approval, what is due, and a campaign's uplift.

Plans a monthly follow-up for a key (high-spending) customer, which waits for the
approver the policy names and is then approved, and a weekly one for an ordinary
customer; records a contact; lists the follow-ups due on the demo's day and the
overdue ones. Then plans an SMS campaign for active customers 45 days before the
demo's day with a 30% holdout, previews the audience with the reason for every
dropped customer, runs it against the in-memory notifier and reports its uplift with
intervals, per star level by the stars customers had when it ran (as ``custmgmt
campaign report`` does). The synthetic data holds no response to the campaign, so
this is an A/A check: the intervals should cover zero. Fixed ids: a second run finds
everything and stores nothing new; a run interrupted part-way is completed by the
next.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

import numpy as np

from custmgmt._text import one_line
from custmgmt.campaigns import (
    Campaign,
    FrequencyCap,
    MemoryNotifier,
    Offer,
    QuietHours,
    audience_table,
    campaign_report,
    create_campaign,
    preview_audience,
    run_campaign,
)
from custmgmt.cli.campaign import star_groups_at_run
from custmgmt.cli.demo_context import DemoContext, campaign_run_at
from custmgmt.domain import Money
from custmgmt.errors import NotFound, ValidationError
from custmgmt.followup import (
    ApprovalPolicy,
    ContactRecord,
    FollowUpPlan,
    approve_plan,
    create_plan,
    due_followups,
    overdue_followups,
    record_contact,
)
from custmgmt.segmentation import feature

__all__ = ["DEMO_CAMPAIGN_ID", "DEMO_PLAN_IDS", "demo_section"]

#: The demo campaign's id (fixed, so reruns find it).
DEMO_CAMPAIGN_ID = "DEMO-CAMP-1"
#: The demo follow-up plans' ids.
DEMO_PLAN_IDS = ("DEMO-FU-KEY", "DEMO-FU-1")


def _followups(ctx: DemoContext, table: Any) -> None:


    store: Any = ctx.store
    ctx.heading("Follow-ups: plans, approval, what is due")
    policy = ApprovalPolicy(approvers={"运营经理-李"}, key_segments={"value tiers=high"})
    ids = np.asarray(table.customer_ids)
    high = ids[np.asarray(table["value tiers=high"]) > 0]
    other = ids[np.asarray(table["value tiers=high"]) == 0]
    if not high.size or not other.size:
        ctx.print("not enough customers for the follow-up demo")
        return
    start = datetime.combine((ctx.as_of - timedelta(days=35)).date(), time(0),
                             tzinfo=ctx.as_of.tzinfo)
    # Each plan with its approval or first contact, or nothing: the next run looks for
    # the plan only, and an interrupted run left the key plan unapproved (the next run
    # then failed) or the other plan without its contact for good.
    with store.transaction():
        try:
            key_plan = store.followups.get_plan(DEMO_PLAN_IDS[0])
        except NotFound:
            key_plan = create_plan(store, FollowUpPlan(
                id=DEMO_PLAN_IDS[0], customer_id=str(high[0]),
                cadence="FREQ=MONTHLY;BYMONTHDAY=30;BYHOUR=10", timezone="Asia/Shanghai",
                starts_at=start, channel="visit", owner="客户经理-陈", goal="年度合同续约",
                content="上门拜访，了解明年采购计划", created_at=start,
                created_by="客户经理-陈", approver="运营经理-李",
            ), policy=policy, segments={"value tiers=high"})
            ctx.print(f"key customer {one_line(key_plan.customer_id)}: plan "
                      f"{one_line(key_plan.id)} {key_plan.status.value} "
                      f"(approver {one_line(key_plan.approver)})")
        if key_plan.approval is None:  # also a plan an older interrupted run left waiting
            key_plan = approve_plan(store, key_plan.id, by="运营经理-李",
                                    at=start + timedelta(hours=2), note="同意，请带上新品资料")
    assert key_plan.approval is not None
    ctx.print(f"plan {one_line(key_plan.id)} for {one_line(key_plan.customer_id)}: "
              f"{key_plan.status.value}, approved "
              f"by {one_line(key_plan.approval.by)} on {key_plan.approval.at:%Y-%m-%d}")
    with store.transaction():
        try:
            plan = store.followups.get_plan(DEMO_PLAN_IDS[1])
        except NotFound:
            plan = create_plan(store, FollowUpPlan(
                id=DEMO_PLAN_IDS[1], customer_id=str(other[0]),
                cadence="FREQ=WEEKLY;BYDAY=TU;BYHOUR=15", timezone="Asia/Shanghai",
                starts_at=start, channel="phone", owner="客服-王", goal="复购提醒",
                content="回访上次购买的商品使用情况", created_at=start, created_by="客服-王",
            ), policy=policy)
            first = plan.occurrences(start, ctx.as_of)[0]
            record_contact(store, ContactRecord(
                id="DEMO-CONTACT-1", customer_id=plan.customer_id or "", plan_id=plan.id,
                at=first + timedelta(minutes=20), channel="phone", staff="客服-王",
                outcome="reached", notes="客户很满意，下周再联系", satisfaction=5,
            ))
    ctx.print(f"plan {one_line(plan.id)} for {one_line(plan.customer_id)}: every Tuesday "
              f"15:00, owner {one_line(plan.owner)}")
    day = ctx.as_of.date()
    due = due_followups(store, day)
    ctx.print(f"due on {day}: {len(due)}")
    for item in due[:5]:
        ctx.print(f"  {one_line(item)}")
    overdue = overdue_followups(store, as_of=ctx.as_of, lookback_days=35)
    ctx.print(f"overdue in the last 35 days: {len(overdue)}")
    for item in overdue[:5]:
        ctx.print(f"  {one_line(item)}")


def demo_section(ctx: DemoContext) -> None:
    """Plan, approve and list follow-ups; run a campaign with a holdout; print its uplift."""

    store: Any = ctx.store
    if store.orders.count() == 0:
        return
    run_at = campaign_run_at(ctx.as_of)
    table_now = audience_table(store, as_of=ctx.as_of)
    _followups(ctx, table_now)

    ctx.heading("Campaign with consent, caps, a 30% holdout and measured uplift")
    try:
        campaign = store.campaigns.get_campaign(DEMO_CAMPAIGN_ID)
    except NotFound:
        coupon = Money(Decimal("20.00"), "CNY")
        campaign = create_campaign(store, Campaign(
            id=DEMO_CAMPAIGN_ID, name="夏季回馈", channel="sms",
            audience=feature("activity=active").eq(1) | feature("activity=dormant").eq(1),
            offers=(Offer(kind="amount_coupon", amount=coupon, unit_cost=Money(
                        Decimal("8.00"), "CNY"), valid_from=run_at,
                        valid_until=run_at + timedelta(days=30), description="满199减20"),),
            template="{name}您好，{campaign}：送您{offer}优惠券，{valid_until}前有效。",
            starts_at=run_at, ends_at=run_at + timedelta(days=7),
            created_at=run_at - timedelta(days=2), attribution_days=30, holdout_share=0.3,
            frequency_cap=FrequencyCap(messages=2, window_days=7),
            quiet_hours=QuietHours(start=time(21), end=time(9)), created_by="市场部-周",
        ))
    if campaign.ran_at is None:
        table = audience_table(store, as_of=run_at)
        try:
            preview = preview_audience(store, campaign.id, table, at=run_at)
        except ValidationError as exc:
            if exc.field != "audience":
                raise
            # A small store (demo --customers 1) had no one active or dormant then: the
            # demo stopped here with an error, on every run, the later sections unshown.
            ctx.print(f"no customer was active or dormant on {run_at:%Y-%m-%d}: "
                      "the campaign is not run")
            return
        for line in preview.lines()[1:]:
            ctx.print(one_line(line))
        notifier = MemoryNotifier()
        result = run_campaign(store, campaign.id, table, notifier, at=run_at)
        ctx.print(f"{result.messages:,} messages handed to the in-memory notifier "
                  "(the library sends nothing)")
    else:
        ctx.print(f"campaign {one_line(campaign.id)} ran on {campaign.ran_at:%Y-%m-%d}: "
                  f"{store.campaigns.count_decisions(campaign.id):,} decisions stored")
    # By the stars customers had when the campaign ran, as `custmgmt campaign report`
    # groups them: stars rated at --as-of depend on what the campaign made them buy.
    groups = star_groups_at_run(store, campaign.id, ctx.as_of)
    report = campaign_report(store, campaign.id, as_of=ctx.as_of, groups=groups,
                             replicates=1000, seed=ctx.seed)
    ctx.print("(synthetic data without a campaign response: an A/A check, the intervals "
              "should cover zero)")
    for line in report.lines():
        ctx.print(one_line(line))
