"""Round 4 of hostile testing: skipped stages in the funnel, the last week of the
calendar, and the weekly report's week taken in the office's zone."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.cli import main
from custmgmt.prospects import DEFAULT_PIPELINE, funnel, weekly_report
from custmgmt.prospects.pipeline import Move, Pipeline, Stage
from custmgmt.prospects.services import record_prospect

AT = datetime(2026, 3, 2, 9, tzinfo=UTC)

#: lead -> qualified -> won, with a shortcut lead -> won and a way back qualified -> lead.
SKIPPING = Pipeline(
    stages=[Stage(name="lead", initial=True), Stage(name="qualified"),
            Stage(name="won", final=True, outcome="won"),
            Stage(name="lost", final=True, outcome="lost")],
    moves=[Move(source="lead", target="qualified"), Move(source="qualified", target="won"),
           Move(source="lead", target="won"), Move(source="qualified", target="lead"),
           Move(source="lead", target="lost", needs_note=True),
           Move(source="qualified", target="lost", needs_note=True)],
)


def _walk(i: int, path: list[str]) -> object:
    p = SKIPPING.new_prospect(id=f"P-{i}", name="王芳", source=f"渠道{i % 2}", owner="s1",
                              at=AT, actor="s1")
    for k, stage in enumerate(path):
        p = SKIPPING.move(p, stage, at=AT + timedelta(hours=k + 1), actor="s1",
                          note="预算不足" if stage == "lost" else "")
    return p


def test_a_skipped_stage_never_makes_a_conversion_above_100_percent() -> None:
    # Three prospects won straight from lead, one qualified: "won" was reached by 3
    # and "qualified" by 1; the old funnel reported 3/1 = 300 % with a NaN interval.
    prospects = [_walk(i, ["won"]) for i in range(3)] + [_walk(9, ["qualified"])]
    steps = {s.stage: s for s in funnel(prospects, SKIPPING).steps}
    won = steps["won"]
    assert won.reached == 3
    assert won.conversion is not None
    assert (won.conversion.successes, won.conversion.trials) == (0, 1)
    assert 0.0 <= won.conversion.low <= won.conversion.value <= won.conversion.high <= 1.0


_PATHS = st.lists(st.sampled_from(["qualified", "won", "lead", "lost"]), max_size=6)


def _legal(path: list[str]) -> list[str]:
    stage, kept = "lead", []
    for target in path:
        if SKIPPING.move_row(stage, target) is not None:
            kept.append(target)
            stage = target
            if target in SKIPPING.final:
                break
    return kept


@settings(max_examples=60, deadline=None)
@given(st.lists(_PATHS, min_size=1, max_size=12))
def test_every_conversion_is_a_proportion_with_an_honest_interval(
    paths: list[list[str]],
) -> None:
    prospects = [_walk(i, _legal(path)) for i, path in enumerate(paths)]
    result = funnel(prospects, SKIPPING)
    for steps in (result.steps, *result.by_source.values()):
        for before, step in itertools.pairwise(steps):
            rate = step.conversion
            if before.reached == 0:
                assert rate is None
                continue
            assert rate is not None
            assert rate.trials == before.reached
            assert 0 <= rate.successes <= min(rate.trials, step.reached)
            assert 0.0 <= rate.low <= rate.value <= rate.high <= 1.0


def test_the_default_pipeline_funnel_is_unchanged_by_the_fix() -> None:
    pipe = DEFAULT_PIPELINE
    p = pipe.new_prospect(id="P-1", name="n", source="s", owner="s1", at=AT, actor="s1")
    q = pipe.move(p, "qualified", at=AT, actor="s1")
    steps = funnel([p, q], pipe).steps
    assert steps[1].conversion is not None
    assert (steps[1].conversion.successes, steps[1].conversion.trials) == (1, 2)


def test_the_weekly_report_of_the_calendars_last_week_does_not_overflow() -> None:
    # week_start + 7 days is past year 9999: was a bare OverflowError.
    end = datetime(9999, 12, 31, 12, tzinfo=UTC)
    p = DEFAULT_PIPELINE.new_prospect(id="P-1", name="n", source="s", owner="s1",
                                      at=end, actor="s1")
    rows = weekly_report([p], [], DEFAULT_PIPELINE,
                         week_start=datetime(9999, 12, 27, tzinfo=UTC))
    assert [(r.owner, r.new_leads) for r in rows] == [("s1", 1)]


def test_the_weekly_report_takes_the_week_in_the_offices_zone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    # Sunday 2026-03-08 20:00 UTC is Monday 2026-03-09 04:00 in Shanghai: the office's
    # week is the one starting 2026-03-09, not the UTC week of 2026-03-02.
    path = tmp_path / "week.sqlite3"
    shanghai = timezone(timedelta(hours=8))
    with SQLiteStore(path) as store:
        record_prospect(store, DEFAULT_PIPELINE.new_prospect(
            id="P-1", name="王芳", source="展会", owner="销售-1",
            at=datetime(2026, 3, 9, 10, tzinfo=shanghai), actor="销售-1"))
    assert main(["prospects", "--db", str(path), "--tz", "Asia/Shanghai",
                 "--as-of", "2026-03-10", "--week", "2026-03-08T20:00:00+00:00"]) == 0
    out = capsys.readouterr().out
    assert "week of 2026-03-09" in out
    assert "(nothing this week)" not in out
