"""The contract every :class:`~custmgmt.risk.ports.RiskRepository` keeps, as a test suite.

A host checks its own implementation by subclassing with one method::

    from custmgmt.testing.risk_contract import RiskRepositoryContract

    class TestMyRisk(RiskRepositoryContract):
        def make_repository(self):
            return MyRiskRepository(...)

Optional hooks: ``close_repository(repository)`` and ``transaction(repository)`` (the
store's transaction scope, so that the suite can check that risk writes roll back with
it). The base class is not collected by pytest and needs no pytest import.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import attrs
import numpy as np

from custmgmt.errors import Conflict, NotFound, TransitionNotAllowed, ValidationError
from custmgmt.risk.alerts import Alert, AlertFinding, AlertStatus
from custmgmt.risk.history import ScoreRun
from custmgmt.risk.ports import RiskRepository
from custmgmt.risk.restrictions import (
    APPEAL_WORKFLOW,
    Appeal,
    AppealEvent,
    AppealStatus,
    Restriction,
    RestrictionStatus,
)
from custmgmt.risk.scorecard import Bin, FeatureTable, Scorecard, default_grades
from custmgmt.testing._contract import Boom, RepositoryContract, raises

__all__ = [
    "RiskRepositoryContract",
    "make_alert",
    "make_appeal",
    "make_restriction",
    "make_scorecard",
]

_SHANGHAI = timezone(timedelta(hours=8))
_T0 = datetime(2024, 9, 23, 9, 0, tzinfo=_SHANGHAI)


def make_scorecard(name: str = "credit", version: int = 1) -> Scorecard:
    """A two-feature card with missing and special bins, scores 420..580.

    >>> make_scorecard().score_range
    (420, 580)
    """
    return Scorecard(
        name=name, version=version, base_points=500,
        tables=(
            FeatureTable(feature="return_rate_90d", bins=(
                Bin(label="低", upper=0.1, points=40),
                Bin(label="中", lower=0.1, upper=0.4, points=10),
                Bin(label="高", lower=0.4, points=-40),
                Bin(label="缺失", missing=True, points=0),
                Bin(label="无订单", special=(-1.0,), points=5),
            )),
            FeatureTable(feature="dispute_count", bins=(
                Bin(label="none", upper=1, points=40),
                Bin(label="some", lower=1, upper=3, points=0),
                Bin(label="many", lower=3, points=-40),
                Bin(label="missing", missing=True, points=-10),
            )),
        ),
        grades=default_grades(420, 580),
        description="示例评分卡",
    )


def make_restriction(id: str = "R-1", *, customer_id: str = "客户-1",
                     at: datetime = _T0) -> Restriction:
    """A blacklisting imposed at ``at`` by a risk officer."""
    return Restriction(id=id, customer_id=customer_id, kind="blacklisted",
                       reason="恶意差评：24小时内12条一星", actor="risk-officer", start=at)


def make_appeal(id: str = "A-1", *, restriction: Restriction | None = None,
                at: datetime = _T0 + timedelta(hours=1)) -> Appeal:
    """A submitted appeal against ``restriction`` (default :func:`make_restriction`)."""
    r = restriction or make_restriction()
    return APPEAL_WORKFLOW.submit(id=id, restriction_id=r.id, customer_id=r.customer_id,
                                  statement="我的评价都是真实购买后写的", at=at,
                                  deadline=at + timedelta(days=2), actor=r.customer_id)


def make_alert(id: str = "AL-1", *, customer_id: str = "客户-1", rule: str = "bad-review-run",
               at: datetime = _T0) -> Alert:
    """An open alert raised at ``at``."""
    finding = AlertFinding(customer_id=customer_id, rule=rule,
                           values=(("low_reviews_30d", 4.0),),
                           window_start=at - timedelta(days=30), window_end=at)
    return Alert.raised(finding, id=id, at=at)


def _run(card: Scorecard, run_id: str = "run-1", at: datetime = _T0) -> ScoreRun:
    columns = {"return_rate_90d": np.array([0.0, 0.2, np.nan, -1.0, 0.9]),
               "dispute_count": np.array([0, 1, 5, np.nan, 2])}
    return ScoreRun(id=run_id, card_name=card.name, card_version=card.version, as_of=at,
                    customer_ids=["c1", "c2", "客户-3", "c4", "c5"],
                    batch=card.score_columns(columns))


class RiskRepositoryContract(RepositoryContract[RiskRepository]):
    """Tests every risk repository must pass; subclass as ``TestSomething``."""

    # -- scorecards --------------------------------------------------------------------

    def test_a_stored_card_comes_back_equal_and_the_latest_version_wins(self) -> None:
        repo = self.repository()
        repo.add_scorecard(make_scorecard(version=1))
        repo.add_scorecard(make_scorecard(version=2))
        assert repo.get_scorecard("credit", 1) == make_scorecard(version=1)
        assert repo.get_scorecard("credit").version == 2
        assert [(c.name, c.version) for c in repo.scorecards()] == [("credit", 1),
                                                                     ("credit", 2)]
        assert repo.get_scorecard("credit").tables[0].bins[0].label == "低"

    def test_a_card_version_is_stored_once(self) -> None:
        repo = self.repository()
        repo.add_scorecard(make_scorecard())
        with raises(Conflict):
            repo.add_scorecard(make_scorecard())
        with raises(NotFound):
            repo.get_scorecard("credit", 9)
        with raises(NotFound):
            repo.get_scorecard("missing")
        with raises(ValidationError):
            repo.add_scorecard("credit")  # type: ignore[arg-type]

    # -- score runs --------------------------------------------------------------------

    def test_a_score_run_round_trips_and_its_scores_are_the_sum_of_stored_bins(self) -> None:
        repo = self.repository()
        card = make_scorecard()
        repo.add_scorecard(card)
        run = _run(card)
        repo.add_score_run(run)
        back = repo.get_score_run("run-1")
        assert back.customer_ids.tolist() == run.customer_ids.tolist()
        assert back.batch.scores.tolist() == run.batch.scores.tolist()
        assert back.batch.bins.tolist() == run.batch.bins.tolist()
        assert back.recomputed(card).tolist() == back.batch.scores.tolist()
        assert back.as_of == run.as_of
        assert [i.id for i in repo.score_runs()] == ["run-1"]
        assert repo.score_runs("credit")[0].grades == run.batch.distribution()
        assert repo.score_runs("other") == []

    def test_history_lists_one_customer_across_runs_in_time_order(self) -> None:
        repo = self.repository()
        card = make_scorecard()
        repo.add_scorecard(card)
        repo.add_score_run(_run(card, "q2", _T0 + timedelta(days=90)))
        repo.add_score_run(_run(card, "q1", _T0))
        history = repo.score_history("客户-3")
        assert [h.run_id for h in history] == ["q1", "q2"]
        assert history[0].score == card.explain(
            {"return_rate_90d": None, "dispute_count": 5}).score
        assert history[0].grade == card.grade_for(history[0].score).grade
        assert repo.score_history("nobody") == []

    def test_a_run_needs_its_card_and_a_fresh_id(self) -> None:
        repo = self.repository()
        card = make_scorecard()
        with raises(NotFound):
            repo.add_score_run(_run(card))
        repo.add_scorecard(card)
        repo.add_score_run(_run(card))
        with raises(Conflict):
            repo.add_score_run(_run(card))
        with raises(NotFound):
            repo.get_score_run("missing")
        other = make_scorecard(version=2)
        repo.add_scorecard(other)
        wrong = ScoreRun(id="x", card_name="credit", card_version=2, as_of=_T0,
                         customer_ids=["c1"],
                         batch=attrs.evolve(card.score_columns(
                             {"return_rate_90d": np.array([0.0]),
                              "dispute_count": np.array([0])}),
                             bins=np.array([[9, 0]], dtype=np.int16)))
        with raises(ValidationError):
            repo.add_score_run(wrong)
        assert [i.id for i in repo.score_runs()] == ["run-1"]

    # -- alerts ------------------------------------------------------------------------

    def test_an_alert_moves_and_its_log_is_kept(self) -> None:
        repo = self.repository()
        alert = make_alert()
        repo.add_alert(alert)
        assert repo.get_alert("AL-1") == alert
        acked = alert.moved("acknowledged", at=_T0 + timedelta(hours=1), actor="审核员")
        repo.update_alert(acked)
        with raises(Conflict):
            repo.update_alert(acked)  # stale: made from version 1 again
        done = acked.moved("resolved", at=_T0 + timedelta(hours=2), actor="审核员",
                           note="已核实")
        repo.update_alert(done)
        back = repo.get_alert("AL-1")
        assert back.status is AlertStatus.RESOLVED
        assert [e.status for e in back.events] == [AlertStatus.OPEN,
                                                   AlertStatus.ACKNOWLEDGED,
                                                   AlertStatus.RESOLVED]
        assert back.events[-1].note == "已核实"

    def test_alerts_are_found_by_customer_rule_and_status(self) -> None:
        repo = self.repository()
        repo.add_alert(make_alert("a2", at=_T0 + timedelta(hours=1)))
        repo.add_alert(make_alert("a1"))
        repo.add_alert(make_alert("a3", customer_id="c9", rule="review-burst"))
        assert [a.id for a in repo.find_alerts()] == ["a1", "a3", "a2"]
        assert [a.id for a in repo.find_alerts(customer_id="c9")] == ["a3"]
        assert [a.id for a in repo.find_alerts(rule="bad-review-run")] == ["a1", "a2"]
        assert repo.find_alerts(statuses=[AlertStatus.RESOLVED]) == []
        assert repo.find_alerts(statuses=[]) == []
        with raises(ValidationError):
            repo.find_alerts(statuses="open")  # type: ignore[arg-type]
        with raises(Conflict):
            repo.add_alert(make_alert("a1"))

    # -- restrictions ------------------------------------------------------------------

    def test_a_restriction_round_trips_with_its_log(self) -> None:
        repo = self.repository()
        r = make_restriction()
        repo.add_restriction(r)
        assert repo.get_restriction("R-1") == r
        step = r.logged("appealed", at=_T0 + timedelta(hours=1), actor="客户-1",
                        reason="A-1")
        repo.update_restriction(step)
        lifted = step.lifted(at=_T0 + timedelta(hours=2), actor="officer", reason="误判")
        repo.update_restriction(lifted)
        back = repo.get_restriction("R-1")
        assert back == lifted
        assert [e.action for e in back.events] == ["imposed", "appealed", "lifted"]
        assert back.status is RestrictionStatus.LIFTED
        assert repo.find_restrictions(customer_id="客户-1") == [lifted]
        assert repo.find_restrictions(customer_id="c-other") == []

    def test_a_restriction_never_loses_its_audit_trail(self) -> None:
        repo = self.repository()
        r = make_restriction()
        repo.add_restriction(r)
        step = r.logged("note", at=_T0 + timedelta(hours=1), actor="officer")
        repo.update_restriction(step)
        rewritten = attrs.evolve(step, version=3, events=step.events[:1])
        with raises(Conflict):
            repo.update_restriction(rewritten)
        reworded = attrs.evolve(r.logged("x", at=_T0, actor="o"), version=3,
                                events=(*step.events, step.events[-1]), reason="另一个理由")
        with raises(Conflict):
            repo.update_restriction(reworded)
        assert repo.get_restriction("R-1") == step
        assert not hasattr(repo, "remove_restriction")

    def test_every_update_is_a_logged_step_in_time_order(self) -> None:
        repo = self.repository()
        r = make_restriction()
        repo.add_restriction(r)
        ended = attrs.evolve(r, version=2, end=_T0 + timedelta(seconds=1))
        with raises(Conflict):
            repo.update_restriction(ended)  # released early with no trace of who or why
        backdated = attrs.evolve(r, version=2, events=(*r.events, attrs.evolve(
            r.events[0], action="note", at=_T0 - timedelta(days=1))))
        with raises(Conflict):
            repo.update_restriction(backdated)
        assert repo.get_restriction("R-1") == r
        alert = make_alert()
        repo.add_alert(alert)
        with raises(Conflict):
            repo.update_alert(attrs.evolve(alert, version=2))
        acked = alert.moved("acknowledged", at=_T0 + timedelta(hours=1), actor="审核员")
        with raises(Conflict):  # the step is logged, but the finding is rewritten
            repo.update_alert(attrs.evolve(acked, customer_id="客户-2"))
        assert repo.get_alert("AL-1") == alert
        appeal = make_appeal()
        repo.add_appeal(appeal)
        with raises(Conflict):
            repo.update_appeal(attrs.evolve(appeal, version=2, deadline=_T0 + timedelta(days=9)))
        assert repo.get_appeal("A-1") == appeal

    # -- appeals -----------------------------------------------------------------------

    def test_an_appeal_needs_its_restriction_and_a_workflow_path(self) -> None:
        repo = self.repository()
        with raises(NotFound):
            repo.add_appeal(make_appeal())
        repo.add_restriction(make_restriction())
        appeal = attrs.evolve(make_appeal(), ticket_id="工单-A-1")
        repo.add_appeal(appeal)
        assert repo.get_appeal("A-1") == appeal
        assert repo.get_appeal("A-1").statement == "我的评价都是真实购买后写的"
        assert repo.get_appeal("A-1").ticket_id == "工单-A-1"
        reviewing = APPEAL_WORKFLOW.fire(appeal, AppealEvent.START_REVIEW,
                                         at=_T0 + timedelta(hours=2), actor="officer")
        repo.update_appeal(reviewing)
        assert [a.id for a in repo.find_appeals(statuses=[AppealStatus.UNDER_REVIEW])] == [
            "A-1"]
        assert repo.find_appeals(restriction_id="R-9") == []
        skipped = attrs.evolve(reviewing, status=AppealStatus.UPHELD, version=3, events=(
            *reviewing.events, attrs.evolve(reviewing.events[-1], event=AppealEvent.UPHOLD,
                                            from_status=AppealStatus.UNDER_REVIEW,
                                            to_status=AppealStatus.UPHELD, reason="")))
        with raises(TransitionNotAllowed):
            repo.update_appeal(skipped)  # a decision without a reason is no workflow step

    def test_an_appeal_is_stored_overturned_only_once_its_restriction_is_lifted(self) -> None:
        repo = self.repository()
        r = make_restriction()
        repo.add_restriction(r)
        appeal = make_appeal()
        repo.add_appeal(appeal)
        at = _T0 + timedelta(hours=3)
        reviewing = APPEAL_WORKFLOW.fire(appeal, "start_review", at=at, actor="officer")
        repo.update_appeal(reviewing)
        overturned = APPEAL_WORKFLOW.fire(reviewing, "overturn", at=at, actor="officer",
                                          reason="购买记录属实")
        with raises(Conflict):
            repo.update_appeal(overturned)
        assert repo.get_appeal("A-1").status is AppealStatus.UNDER_REVIEW
        repo.update_restriction(r.lifted(at=at, actor="officer", reason="申诉成立"))
        repo.update_appeal(overturned)
        assert repo.get_appeal("A-1").status is AppealStatus.OVERTURNED

    # -- transactions ------------------------------------------------------------------

    def test_writes_roll_back_with_the_store_transaction(self) -> None:
        repo = self.repository()
        scope = self.transaction(repo)
        if scope is None:
            return
        r = make_restriction()
        repo.add_restriction(r)
        try:
            with scope:
                repo.update_restriction(r.lifted(at=_T0 + timedelta(hours=1), actor="o",
                                                 reason="x"))
                repo.add_alert(make_alert())
                repo.add_scorecard(make_scorecard())
                raise Boom
        except Boom:
            pass
        assert repo.get_restriction("R-1") == r
        assert repo.find_alerts() == []
        assert repo.scorecards() == []
