"""The development pipeline: the table refuses every illegal move; approvals by policy."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custmgmt.errors import PermissionDenied, TransitionNotAllowed, ValidationError
from custmgmt.prospects import (
    DEFAULT_PIPELINE,
    ApprovalPolicy,
    Move,
    Pipeline,
    Prospect,
    Stage,
    StageChange,
)

T0 = datetime(2026, 3, 2, 9, tzinfo=timezone(timedelta(hours=8)))
POLICY = ApprovalPolicy(levels={"investigation_planned": [["m1", "m2"]],
                                "development_approved": [["sup1"], ["dir1"]]})
APPROVERS = {"investigation_planned": ["m1"], "development_approved": ["sup1", "dir1"]}


def in_stage(stage: str, pipeline: Pipeline = DEFAULT_PIPELINE) -> Prospect:
    """A prospect whose history puts it in ``stage`` (built directly, to try every move)."""
    p = pipeline.new_prospect(id="P-1", name="王芳", source="web", owner="s1", at=T0, actor="s1")
    if stage == pipeline.initial:
        return p
    return p.moved(StageChange(at=T0, from_stage=pipeline.initial, to_stage=stage, actor="s1"))


@given(st.sampled_from(DEFAULT_PIPELINE.stage_names), st.sampled_from(DEFAULT_PIPELINE.stage_names))
def test_every_move_outside_the_table_is_refused(source: str, target: str) -> None:
    p = in_stage(source)
    row = DEFAULT_PIPELINE.move_row(source, target)
    kwargs: dict[str, Any] = {"at": T0, "actor": "s1", "note": "原因", "policy": POLICY,
                              "approved_by": APPROVERS.get(target, ())}
    if row is None:
        with pytest.raises(TransitionNotAllowed) as caught:
            DEFAULT_PIPELINE.move(p, target, **kwargs)
        assert (caught.value.state, caught.value.event) == (source, target)
    else:
        moved = DEFAULT_PIPELINE.move(p, target, **kwargs)
        assert moved.stage == target
        assert moved.history[-1].actor == "s1"
        assert moved.history[-1].note == "原因"
        assert moved.version == p.version + 1


@st.composite
def tables(draw: st.DrawFn) -> tuple[list[Stage], list[Move]]:
    names = draw(st.lists(st.sampled_from(["a", "b", "c", "d", "e", "f"]), min_size=1,
                          max_size=6, unique=True))
    finals = draw(st.sets(st.sampled_from(names)))
    stages = [Stage(name=n, initial=i == 0, final=n in finals) for i, n in enumerate(names)]
    moves = []
    for a in names:
        for b in names:
            if a != b and draw(st.booleans()):
                moves.append(Move(source=a, target=b))
    return stages, moves


@settings(max_examples=200)
@given(tables())
def test_random_tables_either_fail_at_build_time_or_refuse_every_move_they_lack(
    table: tuple[list[Stage], list[Move]],
) -> None:
    stages, moves = table
    try:
        pipe = Pipeline(stages=stages, moves=moves)
    except ValidationError as error:
        field = error.field
        pipe = None
    if pipe is None:
        assert field.startswith("Pipeline.")
        return
    allowed = {(m.source, m.target) for m in moves}
    for source in pipe.stage_names:
        p = in_stage(source, pipe)
        for target in pipe.stage_names:
            if (source, target) in allowed:
                assert pipe.move(p, target, at=T0, actor="s1").stage == target
            else:
                with pytest.raises(TransitionNotAllowed):
                    pipe.move(p, target, at=T0, actor="s1")


def test_a_pipeline_with_an_unreachable_stage_is_refused() -> None:
    with pytest.raises(ValidationError, match="unreachable") as caught:
        Pipeline(stages=[Stage(name="lead", initial=True), Stage(name="won", final=True),
                         Stage(name="orphan", final=True)],
                 moves=[Move(source="lead", target="won")])
    assert caught.value.value == "'orphan'"


def test_a_move_naming_a_stage_not_in_the_table_is_refused() -> None:
    with pytest.raises(ValidationError, match="'wonn' is not a stage"):
        Pipeline(stages=[Stage(name="lead", initial=True), Stage(name="won", final=True)],
                 moves=[Move(source="lead", target="wonn")])
    with pytest.raises(ValidationError, match="to"):
        DEFAULT_PIPELINE.move(in_stage("lead"), "wonn", at=T0, actor="s1")


@pytest.mark.parametrize(("stages", "moves", "words"), [
    ([Stage(name="a"), Stage(name="b", final=True)], [Move(source="a", target="b")],
     "exactly one initial"),
    ([Stage(name="a", initial=True), Stage(name="a")], [], "declared once"),
    ([Stage(name="a", initial=True), Stage(name="b")], [Move(source="a", target="b")],
     "dead end"),
    ([Stage(name="a", initial=True), Stage(name="b", final=True)],
     [Move(source="a", target="b"), Move(source="b", target="a")], "final"),
    ([Stage(name="a", initial=True), Stage(name="b", outcome="won")],
     [Move(source="a", target="b"), Move(source="b", target="a")], "final"),
    ([Stage(name="a", initial=True), Stage(name="b", final=True)],
     [Move(source="a", target="b"), Move(source="a", target="b")], "twice"),
])
def test_broken_tables_name_their_problem(stages: list[Stage], moves: list[Move],
                                          words: str) -> None:
    with pytest.raises(ValidationError, match=words):
        Pipeline(stages=stages, moves=moves)


@pytest.mark.parametrize("bad", ["Lead", "", "1st", "with space", "线索", 7])
def test_stage_names_are_checked(bad: Any) -> None:
    with pytest.raises(ValidationError, match=r"Stage\.name"):
        Stage(name=bad)


def test_approval_by_the_requester_is_refused() -> None:
    p = in_stage("qualified")
    with pytest.raises(PermissionDenied, match="requested the move"):
        DEFAULT_PIPELINE.move(p, "investigation_planned", at=T0, actor="m1",
                              approved_by=["m1"], policy=POLICY)


def test_approval_by_someone_the_policy_does_not_name_is_refused() -> None:
    p = in_stage("investigated")
    for approvers in (["dir1", "sup1"], ["sup1", "m1"], ["sup1"], ["sup1", "sup1"], []):
        with pytest.raises(PermissionDenied):
            DEFAULT_PIPELINE.move(p, "development_approved", at=T0, actor="s1",
                                  approved_by=approvers, policy=POLICY)
    with pytest.raises(ValidationError, match="policy"):
        DEFAULT_PIPELINE.move(p, "development_approved", at=T0, actor="s1",
                              approved_by=["sup1", "dir1"])
    ok = DEFAULT_PIPELINE.move(p, "development_approved", at=T0, actor="s1",
                               approved_by=["sup1", "dir1"], policy=POLICY)
    assert ok.history[-1].approved_by == ("sup1", "dir1")


@given(st.lists(st.sampled_from(["s1", "m1", "m2", "sup1", "dir1", "x"]), max_size=3),
       st.sampled_from(["s1", "m1", "sup1", "dir1"]))
def test_approvals_pass_exactly_when_the_policy_allows_them(approvers: list[str],
                                                            requester: str) -> None:
    p = in_stage("investigated")
    allowed = (len(approvers) == 2 and approvers[0] == "sup1" and approvers[1] == "dir1"
               and requester not in approvers)
    try:
        DEFAULT_PIPELINE.move(p, "development_approved", at=T0, actor=requester,
                              approved_by=approvers, policy=POLICY)
    except (PermissionDenied, ValidationError):
        assert not allowed
    else:
        assert allowed


def test_approvers_on_a_move_that_needs_none_are_refused() -> None:
    with pytest.raises(ValidationError, match="approved_by"):
        DEFAULT_PIPELINE.move(in_stage("lead"), "qualified", at=T0, actor="s1",
                              approved_by=["m1"])


def test_losing_needs_a_reason_which_is_kept() -> None:
    with pytest.raises(TransitionNotAllowed, match="note"):
        DEFAULT_PIPELINE.move(in_stage("qualified"), "lost", at=T0, actor="s1")
    lost = DEFAULT_PIPELINE.move(in_stage("qualified"), "lost", at=T0, actor="s1",
                                 note="已选竞争对手")
    assert lost.lost_reason == "已选竞争对手"


def test_a_move_back_in_time_is_refused() -> None:
    with pytest.raises(ValidationError, match="at"):
        DEFAULT_PIPELINE.move(in_stage("lead"), "qualified", at=T0 - timedelta(seconds=1),
                              actor="s1")


def test_the_default_funnel_follows_the_main_line() -> None:
    assert DEFAULT_PIPELINE.funnel_stages == (
        "lead", "qualified", "investigation_planned", "investigated", "development_approved",
        "in_contact", "won")
    assert DEFAULT_PIPELINE.won == {"won"}
    assert DEFAULT_PIPELINE.lost == {"lost"}


def test_policy_from_roles_names_the_role_holders() -> None:
    policy = ApprovalPolicy.from_roles([("m1", "manager"), ("d1", "director"),
                                        ("s1", "supervisor")],
                                       {"development_approved": ["supervisor", "director"]})
    assert policy.levels["development_approved"] == (frozenset({"s1"}), frozenset({"d1"}))
    with pytest.raises(ValidationError, match="somebody holds"):
        ApprovalPolicy.from_roles([("m1", "manager")], {"x": ["director"]})
