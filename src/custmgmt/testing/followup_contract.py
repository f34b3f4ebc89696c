"""The contract every :class:`~custmgmt.followup.ports.FollowUpRepository` keeps, as a suite.

Subclass it with one ``make_repository()`` (and optionally ``close_repository`` and
``transaction``), as the other repository contracts. Not collected by pytest itself.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import attrs

from custmgmt.errors import Conflict, NotFound, ValidationError
from custmgmt.followup.plan import ContactRecord, FollowUpPlan, PlanStatus
from custmgmt.followup.ports import FollowUpRepository
from custmgmt.testing._contract import Boom, RepositoryContract, raises

__all__ = ["FollowUpRepositoryContract", "make_contact", "make_plan"]

_CST = timezone(timedelta(hours=8))
_T0 = datetime(2026, 6, 1, 9, 0, tzinfo=_CST)


def make_plan(id: str = "P-1", **fields: Any) -> FollowUpPlan:
    """A valid weekly plan for customer ``C-1`` (override any field).

    >>> make_plan().status.value
    'active'
    """
    base: dict[str, Any] = {
        "id": id, "customer_id": "C-1", "cadence": "FREQ=WEEKLY;BYDAY=MO;BYHOUR=10;BYMINUTE=0",
        "timezone": "Asia/Shanghai", "starts_at": _T0, "channel": "phone", "owner": "客服-王",
        "goal": "了解使用体验", "content": "询问净水器滤芯更换情况", "created_at": _T0,
        "created_by": "客服-王",
    }
    base.update(fields)
    return FollowUpPlan(**base)


def make_contact(id: str = "K-1", **fields: Any) -> ContactRecord:
    """A valid contact record with customer ``C-1`` (override any field)."""
    base: dict[str, Any] = {
        "id": id, "customer_id": "C-1", "at": _T0 + timedelta(days=7, hours=1),
        "channel": "phone", "staff": "客服-王", "outcome": "reached",
        "notes": "客户表示满意，下月再联系", "satisfaction": 5,
    }
    base.update(fields)
    return ContactRecord(**base)


class FollowUpRepositoryContract(RepositoryContract[FollowUpRepository]):
    """Tests every follow-up repository must pass; subclass as ``TestSomething``."""

    def test_a_plan_round_trips_with_its_approval(self) -> None:
        repo = self.repository()
        plan = make_plan(requires_approval=True, approver="经理-李",
                         status=PlanStatus.PENDING_APPROVAL, ends_at=_T0 + timedelta(days=90))
        repo.add_plan(plan)
        assert repo.get_plan("P-1") == plan
        approved = plan.approved("经理-李", _T0 + timedelta(hours=2), "同意")
        repo.update_plan(approved)
        back = repo.get_plan("P-1")
        assert back == approved
        assert back.approval is not None
        assert back.approval.note == "同意"

    def test_a_segment_plan_round_trips(self) -> None:
        repo = self.repository()
        plan = make_plan(customer_id=None, segment="高价值流失风险",
                         cadence="FREQ=MONTHLY;BYMONTHDAY=1;BYHOUR=9", timezone="Europe/Berlin")
        repo.add_plan(plan)
        assert repo.get_plan("P-1") == plan

    def test_duplicates_stale_updates_and_unknown_ids_are_refused(self) -> None:
        repo = self.repository()
        plan = make_plan()
        repo.add_plan(plan)
        with raises(Conflict):
            repo.add_plan(make_plan(goal="另一个"))
        paused = plan.with_status(PlanStatus.PAUSED)
        repo.update_plan(paused)
        with raises(Conflict):
            repo.update_plan(plan.with_status(PlanStatus.ENDED))
        assert repo.get_plan("P-1") == paused
        with raises(NotFound):
            repo.get_plan("P-404")
        with raises(NotFound):
            repo.update_plan(make_plan("P-404").with_status(PlanStatus.PAUSED))
        with raises(ValidationError):
            repo.add_plan("P-2")  # type: ignore[arg-type]

    def test_a_stale_plans_conflict_says_only_what_is_true_of_it(self) -> None:
        repo = self.repository()
        plan = make_plan()
        repo.add_plan(plan)
        theirs = plan.with_status(PlanStatus.PAUSED)
        mine = plan.with_status(PlanStatus.ENDED)
        # (copy, stored version, the library's wording); ``theirs`` is stored before
        # the third case.
        cases: list[tuple[FollowUpPlan, int, str]] = [
            (make_plan(goal="另一个"), 1,
             ("stored version is 1, but this copy is version 1, never changed: update takes "
              "the stored version changed once (get it, change it, then update)")),
            (plan, 1,
             ("stored version is 1 and this copy is that version, unchanged: there is "
              "nothing to update (change it, then update)")),
            (mine, 2,
             ("stored version is 2 and this copy is version 2 too, but differs from it: "
              "another version 2 was stored first (reload, change once, then update)")),
            (theirs.with_status(PlanStatus.ACTIVE).with_status(PlanStatus.ENDED), 2,
             ("stored version is 2, but this copy is version 4, 2 changes ahead: an update "
              "stores one change (update after each change, or reload, change once, then "
              "update)")),
        ]  # fmt: skip
        for n, (copy, stored_version, said) in enumerate(cases):
            if n == 2:
                repo.update_plan(theirs)
            with raises(Conflict) as raised:
                repo.update_plan(copy)
            error = raised.value
            assert (error.key, error.actual_version) == ("P-1", stored_version)
            assert error.expected_version == copy.version - 1
            if type(repo).__module__.startswith("custmgmt.adapters."):
                assert str(error) == f"follow-up plan 'P-1': {said}"
            assert repo.get_plan("P-1").version == stored_version

    def test_plans_filter_by_customer_and_status(self) -> None:
        repo = self.repository()
        repo.add_plan(make_plan("B", created_at=_T0 + timedelta(hours=1)))
        repo.add_plan(make_plan("A", created_at=_T0 + timedelta(hours=1), customer_id="C-2"))
        repo.add_plan(make_plan("C", status=PlanStatus.PAUSED))
        assert [p.id for p in repo.plans()] == ["C", "A", "B"]
        assert [p.id for p in repo.plans(customer_id="C-1")] == ["C", "B"]
        assert [p.id for p in repo.plans(status=PlanStatus.ACTIVE)] == ["A", "B"]

    def test_contacts_round_trip_and_filter(self) -> None:
        repo = self.repository()
        repo.add_plan(make_plan())
        first = make_contact("K-1", plan_id="P-1")
        second = make_contact("K-2", at=_T0 + timedelta(days=1), outcome="no_answer",
                              satisfaction=None, notes="")
        other = make_contact("K-3", customer_id="C-2", at=_T0 + timedelta(days=3))
        for record in (first, second, other):
            repo.add_contact(record)
        assert repo.contacts() == [second, other, first]
        assert repo.contacts(customer_id="C-1") == [second, first]
        assert repo.contacts(plan_id="P-1") == [first]
        assert repo.contacts(since=_T0 + timedelta(days=2), until=_T0 + timedelta(days=7)) == [
            other
        ]
        with raises(Conflict):
            repo.add_contact(first)
        with raises(NotFound):
            repo.add_contact(make_contact("K-9", plan_id="P-404"))
        with raises(ValidationError):
            repo.contacts(since=datetime(2026, 1, 1))

    def test_followup_writes_roll_back_with_the_store_transaction(self) -> None:
        repo = self.repository()
        scope = self.transaction(repo)
        if scope is None:
            return
        plan = make_plan()
        repo.add_plan(plan)
        with raises(Boom), scope:
            repo.update_plan(plan.with_status(PlanStatus.PAUSED))
            repo.add_contact(make_contact())
            repo.add_plan(attrs.evolve(plan, id="P-2"))
            raise Boom("roll back")
        assert repo.get_plan("P-1") == plan
        assert repo.contacts() == []
        assert [p.id for p in repo.plans()] == ["P-1"]
