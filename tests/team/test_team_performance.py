"""Per-agent performance: numpy figures equal a slow reference on generated histories."""

from __future__ import annotations

import math
import statistics
from datetime import UTC, datetime, time, timedelta, timezone
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custmgmt.calendars import BusinessCalendar
from custmgmt.domain.time import from_epoch_micros
from custmgmt.errors import ValidationError
from custmgmt.team import (
    NO_TIME,
    PerformanceFrame,
    TeamTargets,
    compare_with_targets,
    team_performance,
    training_effect,
    wilson_interval,
)

TZ = timezone(timedelta(hours=8))
T0 = datetime(2026, 3, 2, 0, 0, tzinfo=TZ)  # a Monday
H = 3_600_000_000
OFFICE = ((time(9), time(12)), (time(13), time(18)))
CAL = BusinessCalendar(tz="Asia/Shanghai", hours=dict.fromkeys(range(5), OFFICE))


def us(d: datetime) -> int:
    return (d - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


@st.composite
def histories(draw: Any) -> tuple[PerformanceFrame, datetime, datetime]:
    n_agents = draw(st.integers(1, 4))
    n = draw(st.integers(0, 30))
    base = us(T0)
    created = [base + draw(st.integers(0, 10 * 24 * H)) for _ in range(n)]

    def later(c: int) -> int:
        return draw(st.sampled_from([NO_TIME, c + draw(st.integers(0, 72 * H))]))

    frame = PerformanceFrame.from_arrays(
        agent_ids=[f"a{i}" for i in range(n_agents)],
        teams=[draw(st.sampled_from(["east", "west", None])) for _ in range(n_agents)],
        as_of=T0 + timedelta(days=draw(st.integers(11, 15))),
        agent=[draw(st.integers(-1, n_agents - 1)) for _ in range(n)],
        created=created,
        first_response=[later(c) for c in created],
        resolved=[later(c) for c in created],
        first_response_target=[draw(st.sampled_from([-1, H, 4 * H])) for _ in range(n)],
        resolution_target=[draw(st.sampled_from([-1, 8 * H, 24 * H])) for _ in range(n)],
        stars=[draw(st.integers(0, 5)) for _ in range(n)],
        satisfaction=[draw(st.integers(0, 5)) for _ in range(n)],
        reopened=[draw(st.booleans()) for _ in range(n)],
        escalated=[draw(st.booleans()) for _ in range(n)],
    )
    start = T0 + timedelta(days=draw(st.integers(0, 5)), hours=draw(st.integers(0, 23)))
    end = start + timedelta(days=draw(st.integers(1, 8)))
    return frame, start, end


def reference(frame: PerformanceFrame, start: datetime, end: datetime) -> dict[str, Any]:
    """One agent at a time, in plain Python, with the calendar's own walk."""
    s, e = us(start), us(end)
    out: dict[str, Any] = {}

    def bt(a: int, b: int) -> int:
        return CAL.business_time_between(from_epoch_micros(a), from_epoch_micros(b)) \
            // timedelta(microseconds=1)

    for code, agent in enumerate(frame.agent_ids):
        rows = [i for i in range(len(frame)) if frame.agent[i] == code
                and s <= frame.created[i] < e]
        fr, res, decided, attained, scores = [], [], 0, 0, []
        by_stars = {k: [0, 0] for k in range(1, 6)}
        for i in rows:
            c = int(frame.created[i])
            elapsed = bt(c, max(us(frame.as_of), c))
            missed_any, undecided = False, False
            measured = False
            for at, target, sink in ((frame.first_response[i], frame.first_response_target[i], fr),
                                     (frame.resolved[i], frame.resolution_target[i], res)):
                taken = None if at == NO_TIME else bt(c, int(at))
                if taken is not None:
                    sink.append(taken)
                if target > 0:
                    measured = True
                    if taken is not None:
                        missed_any |= taken > target
                    elif elapsed > target:
                        missed_any = True
                    else:
                        undecided = True
            if measured and (missed_any or not undecided):
                decided += 1
                attained += not missed_any
                if frame.stars[i] > 0:
                    by_stars[int(frame.stars[i])][0] += 1
                    by_stars[int(frame.stars[i])][1] += not missed_any
            if frame.satisfaction[i] > 0:
                scores.append(int(frame.satisfaction[i]))
        out[agent] = {
            "handled": len(rows),
            "fr_mean": statistics.mean(fr) / 1e6 if fr else None,
            "fr_median": statistics.median(fr) / 1e6 if fr else None,
            "res_mean": statistics.mean(res) / 1e6 if res else None,
            "res_median": statistics.median(res) / 1e6 if res else None,
            "decided": decided, "attained": attained, "by_stars": by_stars,
            "satisfaction": statistics.mean(scores) if scores else None,
            "complaints": sum(1 for x in scores if x <= 2),
            "reopened": sum(bool(frame.reopened[i]) for i in rows),
            "escalated": sum(bool(frame.escalated[i]) for i in rows),
        }
    return out


def close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)


@settings(max_examples=60)
@given(histories())
def test_figures_match_the_slow_reference(
    case: tuple[PerformanceFrame, datetime, datetime],
) -> None:
    frame, start, end = case
    perf = team_performance(frame, start=start, end=end, calendar=CAL)
    expected = reference(frame, start, end)
    for row in perf.rows():
        ref = expected[row.agent_id]
        assert row.handled == ref["handled"]
        assert row.measurable is (ref["handled"] > 0)

        def secs(d: timedelta | None) -> float | None:
            return None if d is None else d.total_seconds()

        assert close(secs(row.first_response_mean), ref["fr_mean"])
        assert close(secs(row.first_response_median), ref["fr_median"])
        assert close(secs(row.resolution_mean), ref["res_mean"])
        assert close(secs(row.resolution_median), ref["res_median"])
        if ref["decided"]:
            assert row.sla_attainment is not None
            assert (row.sla_attainment.successes, row.sla_attainment.trials) == (
                ref["attained"], ref["decided"])
        else:
            assert row.sla_attainment is None
        for stars, (n, k) in ref["by_stars"].items():
            if n:
                assert (row.sla_by_stars[stars].trials, row.sla_by_stars[stars].successes) == (n, k)
            else:
                assert stars not in row.sla_by_stars
        assert close(row.satisfaction, ref["satisfaction"])
        if ref["handled"]:
            assert row.complaints == ref["complaints"]
            assert row.reopen_rate is not None
            assert row.reopen_rate.successes == ref["reopened"]
            assert row.escalation_rate is not None
            assert row.escalation_rate.successes == ref["escalated"]
        else:
            assert row.complaints is None
            assert row.reopen_rate is None


@settings(max_examples=40)
@given(histories())
def test_not_measurable_is_never_zero_or_nan(
    case: tuple[PerformanceFrame, datetime, datetime],
) -> None:
    frame, start, end = case
    perf = team_performance(frame, start=start, end=end, calendar=CAL)
    for name in ("first_response_mean", "first_response_median", "resolution_mean",
                 "resolution_median", "sla_attainment", "satisfaction", "reopen_rate",
                 "escalation_rate"):
        column = getattr(perf, name)
        assert not np.isnan(column.data).any()
        assert np.ma.getmaskarray(column)[~perf.measurable].all()
    for row in perf.rows():
        if not row.measurable:
            assert row.handled == 0
            assert all(getattr(row, f) is None for f in (
                "first_response_mean", "resolution_median", "sla_attainment", "satisfaction",
                "reopen_rate", "escalation_rate", "complaints"))


def test_an_agent_without_tickets_is_not_measurable() -> None:
    frame = PerformanceFrame.from_arrays(
        agent_ids=["a1", "idle"], as_of=T0 + timedelta(days=3), agent=[0],
        created=[us(T0 + timedelta(hours=10))], first_response=[us(T0 + timedelta(hours=11))],
        satisfaction=[4])
    perf = team_performance(frame, start=T0, end=T0 + timedelta(days=1), calendar=CAL)
    idle = perf.row("idle")
    assert (idle.measurable, idle.handled, idle.satisfaction, idle.first_response_mean) == (
        False, 0, None, None)
    assert perf.row("a1").first_response_mean == timedelta(hours=1)
    assert str(perf.satisfaction) == "[4.0 --]"


def test_a_period_that_ends_before_it_starts_is_refused() -> None:
    frame = PerformanceFrame.from_arrays(agent_ids=["a1"], as_of=T0, agent=[], created=[])
    with pytest.raises(ValidationError, match="end"):
        team_performance(frame, start=T0, end=T0 - timedelta(days=1), calendar=CAL)
    with pytest.raises(ValidationError, match="end"):
        team_performance(frame, start=T0, end=T0, calendar=CAL)
    with pytest.raises(ValidationError, match="start"):
        team_performance(frame, start=datetime(2026, 1, 1), end=T0, calendar=CAL)


@pytest.mark.parametrize("bad", [
    {"agent": [3]}, {"agent": [0], "created": [1, 2]}, {"agent": [0.5]},
    {"agent": [0], "stars": [6]}, {"agent": [0], "first_response": [-5]},
    {"agent": [0], "resolution_target": [0]},
])
def test_bad_frames_are_refused_by_field(bad: dict[str, Any]) -> None:
    columns: dict[str, Any] = {"created": [0] * len(bad["agent"]), **bad}
    with pytest.raises(ValidationError):
        PerformanceFrame.from_arrays(agent_ids=["a1"], as_of=T0, **columns)


def test_unsorted_agent_ids_are_refused() -> None:
    with pytest.raises(ValidationError, match="agent_ids"):
        PerformanceFrame.from_arrays(agent_ids=["b", "a"], as_of=T0, agent=[], created=[])


def test_wilson_interval_matches_the_formula() -> None:
    lo, hi = wilson_interval(np.array([0, 5, 10]), np.array([10, 10, 10]))
    for k, low, high in zip([0, 5, 10], lo, hi, strict=True):
        p, n, z = k / 10, 10, 1.959963984540054
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        assert math.isclose(low, max(0.0, centre - half), abs_tol=1e-12)
        assert math.isclose(high, min(1.0, centre + half), abs_tol=1e-12)


def _frame_for_targets() -> PerformanceFrame:
    created = [us(T0 + timedelta(hours=9))] * 30 + [us(T0 + timedelta(hours=9))] * 2
    return PerformanceFrame.from_arrays(
        agent_ids=["a1", "a2", "a3"], teams=["east", "east", "east"],
        as_of=T0 + timedelta(days=20), agent=[0] * 30 + [1] * 2, created=created,
        first_response=[c + H // 2 for c in created], resolved=[c + 2 * H for c in created],
        first_response_target=[H] * 32, resolution_target=[8 * H] * 32,
        reopened=[False] * 29 + [True] + [True, True])


def test_targets_are_judged_on_intervals_and_the_team_median() -> None:
    perf = team_performance(_frame_for_targets(), start=T0, end=T0 + timedelta(days=1),
                            calendar=CAL)
    targets = TeamTargets(first_response=timedelta(hours=1), sla_attainment=0.8,
                          reopen_rate=0.2)
    found = {(c.agent_id, c.metric): c for c in compare_with_targets(perf, {"east": targets})}
    assert found[("a1", "first_response")].verdict == "met"
    assert found[("a1", "sla_attainment")].verdict == "met"
    assert found[("a1", "reopen_rate")].verdict == "met"
    # Two tickets, both reopened: the interval still reaches below 20 %? No: missed.
    assert found[("a2", "reopen_rate")].verdict in ("missed", "uncertain")
    assert found[("a2", "first_response")].verdict == "uncertain"  # 2 answers < min_count
    assert found[("a2", "sla_attainment")].verdict == "uncertain"
    assert found[("a3", "sla_attainment")].verdict == "not measurable"
    assert found[("a1", "satisfaction")].verdict == "not measurable"
    assert found[("a1", "first_response")].team_median == pytest.approx(1800.0)
    with pytest.raises(ValidationError):
        compare_with_targets(perf, {"east": "fast"})  # type: ignore[dict-item]


def test_training_effect_compares_the_windows_around_the_date() -> None:
    day = timedelta(days=1)
    created = [us(T0 + i * day + timedelta(hours=10)) for i in range(14)]
    answer = [c + (2 * H if i < 7 else H // 4) for i, c in enumerate(created)]
    frame = PerformanceFrame.from_arrays(agent_ids=["a1"], as_of=T0 + 30 * day,
                                         agent=[0] * 14, created=created, first_response=answer)
    effect = training_effect(frame, "a1", T0 + 7 * day, calendar=CAL, window=7 * day)
    assert effect.before.handled == 7
    assert effect.after.handled == 7
    assert effect.before.first_response_median == timedelta(hours=2)
    assert effect.after.first_response_median == timedelta(minutes=15)


def test_tickets_opened_after_the_frame_was_taken_run_no_clock() -> None:
    frame = PerformanceFrame.from_arrays(
        agent_ids=["a1"], as_of=T0, agent=[0], created=[us(T0 + timedelta(days=1, hours=10))],
        first_response_target=[H])
    perf = team_performance(frame, start=T0, end=T0 + timedelta(days=3), calendar=CAL)
    row = perf.row("a1")
    assert row.handled == 1
    assert row.sla_attainment is None  # undecided: nothing ran yet


@settings(max_examples=40)
@given(histories())
def test_team_figures_pool_the_tickets_of_the_team_members(
    case: tuple[PerformanceFrame, datetime, datetime],
) -> None:
    frame, start, end = case
    names = sorted({t for t in frame.teams if t is not None})
    pooled = PerformanceFrame.from_arrays(
        agent_ids=names, teams=names, as_of=frame.as_of,
        agent=[names.index(frame.teams[c]) if c >= 0 and frame.teams[c] is not None else -1
               for c in frame.agent.tolist()],
        created=frame.created, first_response=frame.first_response, resolved=frame.resolved,
        first_response_target=frame.first_response_target,
        resolution_target=frame.resolution_target, stars=frame.stars,
        satisfaction=frame.satisfaction, reopened=frame.reopened, escalated=frame.escalated)
    by_team = team_performance(frame.by_team(), start=start, end=end, calendar=CAL)
    expected = reference(pooled, start, end)
    agents = team_performance(frame, start=start, end=end, calendar=CAL)
    for row in by_team.rows():
        ref = expected[row.agent_id]
        assert row.handled == ref["handled"]
        assert row.handled == sum(int(agents.handled[i]) for i, t in enumerate(agents.teams)
                                  if t == row.agent_id)
        median = row.first_response_median
        assert close(None if median is None else median.total_seconds(), ref["fr_median"])
        assert close(row.satisfaction, ref["satisfaction"])
