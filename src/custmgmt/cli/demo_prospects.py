"""Demo section: prospects through an approved development pipeline to customers.

Finds leads among the store's customers (browsing or cart, no order), then records
forty prospects from fairs, referrals, the website and telephone marketing, and
develops them over the eight weeks before the demo's "now": qualifying, an
investigation plan approved by the manager, the investigation with its report,
development approved by a supervisor and then the director, calls, visits and
standing arrangements (some in the summer campaign), and finally won (entered into
the system as customers) or lost with a reason. One approval by the requester
is refused on the way. Prints the funnel per stage and per source, the win rate,
the loss reasons, the time in stage, last week's development report and the
outreach effect.

Ids are fixed (``DEMO-P01`` ...), so a second run against the same database adds
nothing.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from custmgmt._text import one_line
from custmgmt.cli.prospects import print_development
from custmgmt.domain import Money
from custmgmt.errors import NotFound, PermissionDenied
from custmgmt.prospects import (
    DEFAULT_PIPELINE,
    ContactRecord,
    InvestigationReport,
    ProspectStore,
)
from custmgmt.prospects.services import (
    approval_policy_from_agents,
    convert_to_customer,
    file_report,
    find_leads,
    move_prospect,
    record_contact,
    record_prospect,
)

__all__ = ["DEMO_PROSPECTS", "demo_section"]

#: How many prospects the section records (besides the leads found in the store).
DEMO_PROSPECTS = 40

_NAMES = ("杭州恒达贸易有限公司", "苏州精工电子", "宁波海岸物流", "上海云帆科技", "南京和信商贸",
          "张伟", "李娜", "王强", "刘洋", "陈晨", "深圳前海数码", "广州白云家居", "厦门鹭岛食品",
          "福州闽江纺织", "成都天府文创", "赵敏", "孙丽", "周杰", "吴静", "郑凯")
_SOURCES = ("展会", "朋友介绍", "官网咨询", "电话营销")
_OWNERS = ("sales-01", "sales-02", "sales-03")
_LOSSES = ("预算不足", "选择了竞争对手", "暂无需求", "信用调查未通过")


def demo_section(ctx: Any) -> None:
    """Print the prospects section of ``custmgmt demo`` (see the module docstring)."""

    ctx.heading("Prospects: leads, approved development, conversion to customers")
    store = ctx.store
    if not isinstance(store, ProspectStore):
        ctx.print("this store keeps no prospects")
        return
    leads = find_leads(store, as_of=ctx.as_of, owner="sales-01")
    ctx.print(f"leads found in the store (browsing or cart, no order): {len(leads)} new")
    try:
        store.prospects.get("DEMO-P01")
        ctx.print("the demo prospects are already stored: nothing added")
    except NotFound:
        # One transaction: the check above looks at DEMO-P01 only, so a run interrupted
        # part-way kept some prospects and every later run said "already stored".
        with store.transaction():
            story = _develop(store, ctx.as_of, random.Random(ctx.seed + 23))
        for line in story:
            ctx.print(f"  {one_line(line)}")
    ctx.print()
    print_development(store, ctx.as_of, ctx.out, week_of=ctx.as_of - timedelta(days=7))


def _develop(store: Any, as_of: datetime, rng: random.Random) -> list[str]:
    agents = store.agents.find() if hasattr(store, "agents") else []
    policy = approval_policy_from_agents(agents)
    manager = sorted(policy.levels["investigation_planned"][0])[0]
    supervisor = sorted(policy.levels["development_approved"][0])[0]
    director = sorted(policy.levels["development_approved"][1])[0]
    approvers = {"investigation_planned": [manager],
                 "development_approved": [supervisor, director]}
    story: list[str] = []
    won = 0
    start = as_of - timedelta(days=56)
    main = DEFAULT_PIPELINE.funnel_stages
    for i in range(1, DEMO_PROSPECTS + 1):
        owner = _OWNERS[i % 3]
        at = start + timedelta(days=rng.randint(0, 35), hours=rng.randint(9, 17))
        name = _NAMES[i % len(_NAMES)]
        pid = f"DEMO-P{i:02d}"
        record_prospect(store, DEFAULT_PIPELINE.new_prospect(
            id=pid, name=name, kind="business" if i % len(_NAMES) < 5 or i % len(_NAMES) >= 10
            else "person", source=_SOURCES[rng.randrange(4)], owner=owner, at=at, actor=owner,
            interests=rng.sample(["耳机", "音箱", "智能手表", "充电宝"], 2),
            estimated_value=Money(Decimal(rng.randrange(20, 500) * 1000), "CNY"),
            info={"需求": "批量采购，关注售后"}))
        target = rng.choices(range(len(main)), weights=[2, 3, 2, 2, 2, 3, 6])[0]
        for stage in main[1 : target + 1]:
            at += timedelta(days=rng.randint(1, 4), hours=rng.randint(0, 6))
            if at > as_of:
                break
            if stage == "investigation_planned" and i == 3:
                try:
                    move_prospect(store, pid, stage, at=at, actor=owner, approved_by=[owner],
                                  policy=policy)
                except PermissionDenied as refused:
                    story.append(f"{pid}: refused, {refused}")
            move_prospect(store, pid, stage, at=at, actor=owner, note="",
                          approved_by=approvers.get(stage, ()), policy=policy)
            if stage == "investigated":
                file_report(store, InvestigationReport(
                    id=f"{pid}-R1", prospect_id=pid, at=at, author=owner,
                    credit=rng.choice(["good", "good", "fair", "poor"]),
                    business_situation="经营正常，近一年营收稳定", risks=["付款周期较长"],
                    recommendation="develop"))
            if stage in ("in_contact", "won") or (stage == "development_approved"
                                                  and rng.random() < 0.5):
                kind = rng.choice(["call", "visit", "visit", "standing"])
                record_contact(store, ContactRecord(
                    id=f"{pid}-{stage}", prospect_id=pid, kind=kind, at=at, actor=owner,
                    summary={"visit": "上门拜访，参观展厅", "call": "电话沟通报价",
                             "standing": "约定每月例行拜访"}[kind],
                    campaign_id="夏季推广" if rng.random() < 0.4 else None))
        p = store.prospects.get(pid)
        if p.stage == "won":
            customer = convert_to_customer(store, pid, at=p.updated_at)
            won += 1
            story.append(f"{pid} ({p.source}) won: entered as customer {customer.id}")
        elif rng.random() < 0.45 and p.updated_at + timedelta(days=3) <= as_of:
            move_prospect(store, pid, "lost", at=p.updated_at + timedelta(days=3), actor=owner,
                          note=rng.choice(_LOSSES))
    story.insert(0, f"recorded {DEMO_PROSPECTS} prospects (DEMO-P01 ...); {won} won")
    return story
