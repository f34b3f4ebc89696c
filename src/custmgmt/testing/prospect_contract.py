"""The contract every :class:`~custmgmt.prospects.ports.ProspectRepository` keeps.

A host checks its own implementation by subclassing with one method::

    from custmgmt.testing.prospect_contract import ProspectRepositoryContract

    class TestMyProspects(ProspectRepositoryContract):
        def make_repository(self):
            return MyProspectRepository(...)

``close_repository(repository)`` and ``transaction(repository)`` are optional hooks,
as in the other suites. The base class is not collected by pytest and needs no
pytest import.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import attrs

from custmgmt.domain.money import Money
from custmgmt.errors import Conflict, NotFound, TransitionNotAllowed, ValidationError
from custmgmt.prospects.pipeline import DEFAULT_PIPELINE, ApprovalPolicy
from custmgmt.prospects.ports import ProspectRepository
from custmgmt.prospects.prospect import (
    ContactRecord,
    InvestigationReport,
    Prospect,
    StageChange,
)
from custmgmt.testing._contract import Boom, RepositoryContract, raises

__all__ = ["ProspectRepositoryContract", "make_prospect"]

_SHANGHAI = timezone(timedelta(hours=8))
_T0 = datetime(2026, 3, 2, 9, 0, tzinfo=_SHANGHAI)
_POLICY = ApprovalPolicy(levels={"investigation_planned": [["经理-1"]],
                                 "development_approved": [["主管-1"], ["总监-1"]]})
_PATH = ("qualified", "investigation_planned", "investigated", "development_approved",
         "in_contact", "won")


def make_prospect(
    id: str = "P-1", *, at: datetime = _T0, steps: int = 0, **fields: Any
) -> Prospect:
    """A prospect recorded at ``at`` and moved ``steps`` stages along the default pipeline.

    Approvals come from the suite's policy (managers ``经理-1``; supervisor ``主管-1``
    then director ``总监-1``).

    >>> make_prospect(steps=6).stage
    'won'
    """
    opening: dict[str, Any] = {
        "name": "上海某某电子有限公司", "kind": "business", "source": "展会",
        "owner": "销售-1", "actor": "销售-1", "interests": {"耳机", "音箱"},
        "estimated_value": Money(Decimal("120000.50"), "CNY"),
        "info": {"规模": "员工约 200 人", "联系人": "王经理"},
    }
    opening.update(fields)
    p = DEFAULT_PIPELINE.new_prospect(id=id, at=at, **opening)
    approvers = {"investigation_planned": ["经理-1"],
                 "development_approved": ["主管-1", "总监-1"]}
    for i, stage in enumerate(_PATH[: max(0, steps)]):
        p = DEFAULT_PIPELINE.move(p, stage, at=at + timedelta(days=i + 1), actor="销售-1",
                                  note=f"第 {i + 1} 步", approved_by=approvers.get(stage, ()),
                                  policy=_POLICY)
    return p


class ProspectRepositoryContract(RepositoryContract[ProspectRepository]):
    """Tests every prospect repository must pass; subclass as ``TestSomething``."""

    def test_a_stored_prospect_comes_back_equal_with_its_history(self) -> None:
        repo = self.repository()
        p = make_prospect(steps=6)
        repo.add(p)
        back = repo.get(p.id)
        assert back == p
        assert back.created_at.utcoffset() == timedelta(hours=8)
        assert back.history[4].approved_by == ("主管-1", "总监-1")
        assert back.estimated_value == Money(Decimal("120000.50"), "CNY")

    def test_chinese_text_round_trips_in_every_field(self) -> None:
        repo = self.repository()
        p = make_prospect("潜客-1", name="张三", source="朋友介绍", owner="销售-王",
                          actor="销售-王", info={"备注": "喜欢“蓝色”，周末有空"})
        repo.add(p)
        back = repo.get("潜客-1")
        assert (back.name, back.source, back.owner, back.info) == (p.name, p.source, p.owner,
                                                                   p.info)
        assert back.interests == p.interests

    def test_a_person_without_optional_data_round_trips(self) -> None:
        repo = self.repository()
        p = DEFAULT_PIPELINE.new_prospect(id="P-x", name="Li Lei", source="web",
                                          owner="s1", at=_T0.astimezone(UTC), actor="s1")
        repo.add(p)
        assert repo.get("P-x") == p

    def test_unknown_ids_are_not_found(self) -> None:
        repo = self.repository()
        with raises(NotFound):
            repo.get("missing")
        with raises(NotFound):
            repo.get(42)  # type: ignore[arg-type]
        with raises(NotFound):
            repo.get("\ud800")

    def test_adding_a_taken_id_is_a_conflict_and_keeps_the_first(self) -> None:
        repo = self.repository()
        repo.add(make_prospect())
        with raises(Conflict):
            repo.add(make_prospect(name="另一个"))
        assert repo.get("P-1").name == "上海某某电子有限公司"
        assert repo.count() == 1

    def test_a_history_that_is_not_a_path_of_the_pipeline_is_refused(self) -> None:
        repo = self.repository()
        p = make_prospect()
        jump = StageChange(at=_T0, from_stage="lead", to_stage="won", actor="销售-1")
        with raises(TransitionNotAllowed):
            repo.add(p.moved(jump))
        later = Prospect.new(id="P-2", name="x", source="web", owner="s1", stage="qualified",
                             at=_T0, actor="s1")
        with raises(TransitionNotAllowed):
            repo.add(later)
        assert repo.count() == 0

    def test_an_approval_step_without_approvers_is_refused_on_update(self) -> None:
        repo = self.repository()
        p = make_prospect(steps=1)
        repo.add(p)
        unapproved = p.moved(StageChange(at=_T0 + timedelta(days=3), from_stage="qualified",
                                         to_stage="investigation_planned", actor="销售-1"))
        with raises(Exception) as caught:
            repo.update(unapproved)
        assert type(caught.value).__name__ in ("PermissionDenied", "TransitionNotAllowed")
        assert repo.get("P-1") == p

    def test_updates_append_stage_changes(self) -> None:
        repo = self.repository()
        p = make_prospect(steps=1)
        repo.add(p)
        moved = make_prospect(steps=4)
        repo.update(moved, expected_version=p.version)
        assert repo.get("P-1") == moved
        won = make_prospect(steps=6)
        repo.update(won, expected_version=moved.version)
        assert repo.get("P-1").stage == "won"

    def test_a_stale_copy_is_a_conflict(self) -> None:
        repo = self.repository()
        p = make_prospect()
        repo.add(p)
        first = p.revised(owner="销售-2")
        repo.update(first)
        with raises(Conflict) as caught:
            repo.update(p.revised(owner="销售-3"))
        assert caught.value.actual_version == 2
        assert repo.get("P-1").owner == "销售-2"

    def test_rewriting_the_history_is_a_conflict(self) -> None:
        repo = self.repository()
        repo.add(make_prospect(steps=2))
        other = make_prospect(steps=1)
        rewritten = DEFAULT_PIPELINE.move(other, "lost", at=_T0 + timedelta(days=5),
                                          actor="销售-1", note="预算不足")
        rewritten = attrs.evolve(rewritten, version=4)
        with raises(Conflict):
            repo.update(rewritten, expected_version=3)
        assert repo.get("P-1").stage == "investigation_planned"

    def test_updating_an_unknown_prospect_is_not_found(self) -> None:
        repo = self.repository()
        with raises(NotFound):
            repo.update(make_prospect(steps=1))

    def test_bad_arguments_are_validation_errors(self) -> None:
        repo = self.repository()
        with raises(ValidationError):
            repo.add("P-1")  # type: ignore[arg-type]
        repo.add(make_prospect())
        with raises(ValidationError):
            repo.update(make_prospect(steps=1), expected_version=0)
        with raises(ValidationError):
            repo.find(stage=3)  # type: ignore[arg-type]
        with raises(ValidationError):
            repo.contacts(since=datetime(2026, 1, 1))

    def test_find_filters_and_orders_by_creation_time(self) -> None:
        repo = self.repository()
        repo.add(make_prospect("P-b", at=_T0 + timedelta(hours=1), owner="s2", actor="s2"))
        repo.add(make_prospect("P-a", at=_T0 + timedelta(hours=1), steps=1))
        repo.add(make_prospect("P-c", at=_T0, source="web"))
        assert [p.id for p in repo.find()] == ["P-c", "P-a", "P-b"]
        assert [p.id for p in repo.find(stage="qualified")] == ["P-a"]
        assert [p.id for p in repo.find(owner="s2")] == ["P-b"]
        assert [p.id for p in repo.find(source="web")] == ["P-c"]
        assert repo.find(stage="won") == []

    def test_contact_records_round_trip_and_filter_by_period(self) -> None:
        repo = self.repository()
        repo.add(make_prospect())
        repo.add(make_prospect("P-2"))
        visit = ContactRecord(id="V-1", prospect_id="P-1", kind="visit",
                              at=_T0 + timedelta(days=2), actor="销售-1",
                              summary="拜访工厂，参观产线", outcome="同意试单",
                              next_step="下周报价", campaign_id="春季推广")
        call = ContactRecord(id="C-1", prospect_id="P-2", kind="call", at=_T0, actor="销售-1",
                             summary="电话介绍产品")
        repo.add_contact(visit)
        repo.add_contact(call)
        assert repo.contacts() == [call, visit]
        assert repo.contacts(prospect_id="P-1") == [visit]
        assert repo.contacts(since=_T0 + timedelta(days=1)) == [visit]
        assert repo.contacts(until=_T0 + timedelta(days=1)) == [call]
        with raises(Conflict):
            repo.add_contact(visit)
        with raises(NotFound):
            repo.add_contact(attrs.evolve(call, id="C-2", prospect_id="nobody"))
        assert len(repo.contacts()) == 2

    def test_investigation_reports_round_trip(self) -> None:
        repo = self.repository()
        repo.add(make_prospect())
        report = InvestigationReport(
            id="R-1", prospect_id="P-1", at=_T0 + timedelta(days=3), author="销售-1",
            credit="good", business_situation="经营稳定，回款及时",
            annual_revenue=Money(Decimal("8000000"), "CNY"), employees=210,
            risks=["依赖单一大客户"], recommendation="develop",
        )
        repo.add_report(report)
        assert repo.reports("P-1") == [report]
        assert repo.reports("P-2") == []
        with raises(Conflict):
            repo.add_report(report)
        with raises(NotFound):
            repo.add_report(attrs.evolve(report, id="R-2", prospect_id="nobody"))

    def test_writes_roll_back_with_the_store_transaction(self) -> None:
        repo = self.repository()
        scope = self.transaction(repo)
        if scope is None:
            return
        repo.add(make_prospect())
        try:
            with scope:
                repo.update(make_prospect(steps=1))
                repo.add(make_prospect("P-2"))
                repo.add_contact(ContactRecord(id="V-1", prospect_id="P-1", kind="call",
                                               at=_T0, actor="s1", summary="x"))
                raise Boom
        except Boom:
            pass
        assert repo.get("P-1").stage == "lead"
        assert repo.count() == 1
        assert repo.contacts() == []
