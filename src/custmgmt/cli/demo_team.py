"""Demo section: the service team, tickets assigned by skill and load, performance.

Registers a small service team (a director, a manager, two supervisors and nine
agents in two teams, one of them on leave), opens 160 tickets over the eight weeks
before the demo's "now" for the store's first customers, assigns them (least
loaded, some round robin, one by hand) by skill, and walks each through answers,
resolution (a few reopened or escalated on the way), a survey and closing, with
each agent's own pace and quality. Records a training for one agent, then prints
the team's performance table over the last eight weeks, each agent against the
team's targets, and that agent's figures before and after the training.

Ids are fixed (agents ``a01`` ..., tickets ``DEMO-S001`` ...), so a second run
against the same database adds nothing.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from custmgmt._text import one_line
from custmgmt.cli.team import TeamReportStore, print_team
from custmgmt.errors import NotFound
from custmgmt.rating import current_stars, response_time_factors
from custmgmt.team import Agent, TeamTargets, TrainingRecord, compare_with_targets
from custmgmt.team.services import (
    add_agent,
    assign_ticket,
    performance,
    record_training,
    training_comparison,
)
from custmgmt.tickets import (
    DEFAULT_WORKFLOW,
    Ticket,
    default_calendar,
    default_sla_policy,
    format_business_hours,
)

__all__ = ["DEMO_AGENTS", "DEMO_TARGETS", "DEMO_TEAM_TICKETS", "demo_section"]

#: How many tickets the team section opens.
DEMO_TEAM_TICKETS = 160

_ALL = ("product_quality", "logistics", "after_sales", "inquiry", "other")

#: The demo's service team: id, name, role, team, skills, active.
DEMO_AGENTS: tuple[tuple[str, str, str, str | None, tuple[str, ...], bool], ...] = (
    ("d01", "赵总", "director", None, (), True),
    ("m01", "钱经理", "manager", None, (), True),
    ("s01", "孙主管", "supervisor", "华东组", _ALL, True),
    ("s02", "李主管", "supervisor", "华南组", _ALL, True),
    ("a01", "周敏", "agent", "华东组", ("product_quality", "after_sales", "inquiry"), True),
    ("a02", "吴磊", "agent", "华东组", ("logistics", "inquiry", "other"), True),
    ("a03", "郑爽", "agent", "华东组", ("logistics", "after_sales"), True),
    ("a04", "王芳", "agent", "华东组", _ALL, True),
    ("a05", "冯刚", "agent", "华南组", ("product_quality", "logistics"), True),
    ("a06", "陈静", "agent", "华南组", ("after_sales", "inquiry", "other"), True),
    ("a07", "褚亮", "agent", "华南组", ("logistics", "after_sales", "inquiry"), True),
    ("a08", "卫兰", "agent", "华南组", _ALL, True),
    ("a09", "蒋涛", "agent", "华南组", ("logistics",), False),
)

_SOLUTIONS = {
    "product_quality": "补发新品，旧品无需退回", "logistics": "已联系快递加急派送",
    "after_sales": "已办理退款", "inquiry": "已说明操作步骤", "other": "已记录并答复",
}
H = timedelta(hours=1)


def demo_section(ctx: Any) -> None:
    """Print the service team section of ``custmgmt demo`` (see the module docstring)."""

    ctx.heading("Service team: assignment by skill and load, performance in business time")
    store = ctx.store
    if not isinstance(store, TeamReportStore):
        ctx.print("this store keeps no service team")
        return
    customers = [c.id for c in next(iter(store.customers.iter_chunks(size=12)), [])]
    if not customers:
        ctx.print("no customers: no tickets")
        return
    added = _agents(store)
    # All the tickets or none: the next run looks for the first one only, and took an
    # interrupted run's few tickets for the whole team's, "nothing added".
    with store.transaction():
        opened = _tickets(store, customers, ctx.as_of, random.Random(ctx.seed + 22))
    trained = ctx.as_of - timedelta(days=21)
    if not store.agents.trainings("a03"):
        record_training(store, TrainingRecord(id="DEMO-TR1", agent_id="a03", at=trained,
                                              topic="投诉安抚与首次响应", hours=6))
    if added or opened:
        ctx.print(f"registered {added} team members, opened and assigned {opened} tickets "
                  "(DEMO-S001 ...)")
    else:
        ctx.print("the demo team and its tickets are already stored: nothing added")
    counts: dict[str, int] = {}
    for a in store.assignments.find():
        if a.ticket_id.startswith("DEMO-S"):
            counts[a.method.value] = counts.get(a.method.value, 0) + 1
    ctx.print("assignments by method: "
              + ", ".join(f"{one_line(k)} {v}" for k, v in sorted(counts.items())))
    ctx.print()
    print_team(store, ctx.as_of - timedelta(days=56), ctx.as_of, ctx.out)
    _print_targets(store, ctx)
    effect = training_comparison(store, "DEMO-TR1", calendar=default_calendar(),
                                 window=timedelta(days=21), as_of=ctx.as_of)
    ctx.print(f"\ntraining of {one_line(effect.agent_id)} on {effect.at:%Y-%m-%d} "
              "(21 days each side):")
    for label, row in (("before", effect.before), ("after", effect.after)):
        fr = row.first_response_median
        sat = "-" if row.satisfaction is None else f"{row.satisfaction:.1f}"
        ctx.print(f"  {label:<6} tickets {row.handled:>3}, median first response "
                  f"{'-' if fr is None else format_business_hours(fr)}, satisfaction {sat}")


#: The demo teams' targets.
DEMO_TARGETS = TeamTargets(first_response=timedelta(hours=1), sla_attainment=0.9,
                           satisfaction=3.5, reopen_rate=0.1)


def _print_targets(store: Any, ctx: Any) -> None:

    # The same star-scaled targets as the team table above (and `custmgmt tickets`).
    stars = current_stars(store, ctx.as_of)
    perf = performance(store, start=ctx.as_of - timedelta(days=56), end=ctx.as_of,
                       calendar=default_calendar(), policy=default_sla_policy(),
                       stars=stars, factors=response_time_factors(stars))
    found = compare_with_targets(perf, DEMO_TARGETS)
    ctx.print("\nagainst the targets (first response <= 1h median, SLA met >= 90 %,")
    ctx.print("satisfaction >= 3.5, reopened <= 10 %; uncertain: too few tickets to tell):")
    by_agent: dict[str, list[str]] = {}
    for c in found:
        if c.verdict not in ("not measurable", "no target"):
            by_agent.setdefault(c.agent_id, []).append(f"{c.metric} {c.verdict}")
    for agent_id, verdicts in by_agent.items():
        ctx.print(f"  {one_line(agent_id)}: " + ", ".join(verdicts))


def _agents(store: Any) -> int:
    added = 0
    for agent_id, name, role, team, skills, active in DEMO_AGENTS:
        try:
            store.agents.get(agent_id)
            continue
        except NotFound:
            pass
        add_agent(store, Agent(id=agent_id, name=name, role=role,
                               teams=() if team is None else (team,), skills=skills,
                               active=active))
        added += 1
    return added


def _office_time(rng: random.Random, day: datetime) -> datetime:
    return day.replace(hour=rng.choice([9, 10, 11, 13, 14, 15, 16]), minute=rng.randrange(60),
                       second=0, microsecond=0)


def _tickets(store: Any, customers: list[str], as_of: datetime, rng: random.Random) -> int:
    try:
        store.tickets.get("DEMO-S001")
        return 0
    except NotFound:
        pass
    wf = DEFAULT_WORKFLOW
    first_day = (as_of - timedelta(days=63)).replace(hour=0, minute=0, second=0, microsecond=0)
    # Each agent's pace (minutes to the first answer) and quality (survey scores).
    pace = {f"a0{i}": 20 + 25 * (i % 4) for i in range(1, 10)}
    quality = {f"a0{i}": [5, 5, 4, 4, 3, 2, 1][i % 3:] for i in range(1, 10)}
    opened = 0
    day = first_day
    while opened < DEMO_TEAM_TICKETS:
        if day.weekday() < 5:
            batch = []
            for _ in range(min(rng.randint(2, 6), DEMO_TEAM_TICKETS - opened)):
                opened += 1
                category = rng.choice(_ALL)
                t = wf.open(id=f"DEMO-S{opened:03d}", customer_id=rng.choice(customers),
                            category=category, priority=rng.choice(["normal", "normal", "high"]),
                            subject={"logistics": "物流迟迟没有更新"}.get(category, "商品问题咨询"),
                            at=_office_time(rng, day), actor="web")
                store.tickets.add(t)
                batch.append(t)
            for i, t in enumerate(sorted(batch, key=lambda x: x.created_at)):
                method = "round_robin" if i % 4 == 3 else "least_loaded"
                if opened == 7:
                    assign_ticket(store, t.id, method="manual", agent_id="a04",
                                  at=t.created_at, actor="s01")
                else:
                    assign_ticket(store, t.id, method=method, at=t.created_at, actor="分派规则")
            for t in batch:
                _walk(store, store.tickets.get(t.id), rng, pace, quality)
        day += timedelta(days=1)
    return opened


def _walk(store: Any, t: Ticket, rng: random.Random, pace: dict[str, int],
          quality: dict[str, list[int]]) -> None:
    wf = DEFAULT_WORKFLOW
    agent = t.assignee or "a01"
    read = t.version
    at = t.updated_at + timedelta(minutes=rng.randint(1, 10))
    t = wf.fire(t, "start", at=at, actor=agent)
    at += timedelta(minutes=rng.randint(pace.get(agent, 30) // 2, pace.get(agent, 30) * 2))
    t = wf.fire(t, "respond", at=at, actor=agent, reason="已收到，正在处理")
    if rng.random() < 0.08:
        at += H
        t = wf.fire(t, "escalate", at=at, actor=agent, reason="需要主管处理")
        at += H
        t = wf.fire(t, "start", at=at, actor=agent)
    at += timedelta(hours=rng.randint(1, 20))
    t = wf.fire(t, "resolve", at=at, actor=agent, solution=_SOLUTIONS[t.category.value])
    if rng.random() < 0.07:
        at += timedelta(hours=rng.randint(2, 30))
        t = wf.fire(t, "reopen", at=at, actor="customer", reason="问题没有解决")
        at += timedelta(hours=rng.randint(1, 8))
        t = wf.fire(t, "resolve", at=at, actor=agent, solution="重新处理完毕")
    if rng.random() < 0.8:
        at += timedelta(days=1)
        scores = quality.get(agent, [5, 4, 4, 3])
        t = wf.fire(t, "rate", at=at, actor="customer", score=rng.choice(scores))
    at += timedelta(days=2)
    t = wf.fire(t, "close", at=at, actor="system")
    store.tickets.update(t, expected_version=read)
