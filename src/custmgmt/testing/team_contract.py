"""The contracts of the service team's repositories: agents and assignments.

Subclass :class:`AgentRepositoryContract` or :class:`AssignmentRepositoryContract`
with one ``make_repository()``; ``close_repository`` and ``transaction`` are optional
hooks, as in the other suites. The base classes are not collected by pytest.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import attrs

from custmgmt.errors import Conflict, NotFound, ValidationError
from custmgmt.team.agents import Agent, Assignment, TrainingRecord
from custmgmt.team.ports import AgentRepository, AssignmentRepository
from custmgmt.testing._contract import Boom, RepositoryContract, raises

__all__ = ["AgentRepositoryContract", "AssignmentRepositoryContract"]

_T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone(timedelta(hours=8)))


def _agent(id: str = "a1", **fields: object) -> Agent:
    values: dict[str, object] = {"name": "王小明", "role": "agent", "teams": {"华东组"},
                                 "skills": {"logistics", "after_sales"}}
    values.update(fields)
    return Agent(id=id, **values)  # type: ignore[arg-type]


class AgentRepositoryContract(RepositoryContract[AgentRepository]):
    """Tests every agent repository must pass; subclass as ``TestSomething``."""

    def test_a_stored_agent_comes_back_equal(self) -> None:
        repo = self.repository()
        agent = _agent(name="欧阳娜娜", role="supervisor", active=False)
        repo.add(agent)
        assert repo.get("a1") == agent
        assert repo.count() == 1

    def test_taken_ids_conflict_and_unknown_ids_are_not_found(self) -> None:
        repo = self.repository()
        repo.add(_agent())
        with raises(Conflict):
            repo.add(_agent(name="别人"))
        with raises(NotFound):
            repo.get("nobody")
        with raises(ValidationError):
            repo.add("a2")  # type: ignore[arg-type]
        assert repo.get("a1").name == "王小明"

    def test_updates_check_the_version(self) -> None:
        repo = self.repository()
        agent = _agent()
        repo.add(agent)
        repo.update(agent.revised(skills={"inquiry"}))
        assert repo.get("a1").skills == frozenset(_agent(skills={"inquiry"}).skills)
        with raises(Conflict):
            repo.update(agent.revised(active=False))
        with raises(NotFound):
            repo.update(_agent("a9").revised(active=False))
        with raises(ValidationError):
            repo.update(agent.revised(active=False), expected_version=5)

    def test_find_filters_by_team_role_and_activity(self) -> None:
        repo = self.repository()
        repo.add(_agent("a2", teams={"华南组"}))
        repo.add(_agent("a1"))
        repo.add(_agent("d1", role="director", teams=set(), active=False))
        assert [a.id for a in repo.find()] == ["a1", "a2", "d1"]
        assert [a.id for a in repo.find(team="华南组")] == ["a2"]
        assert [a.id for a in repo.find(role="director")] == ["d1"]
        assert [a.id for a in repo.find(active=True)] == ["a1", "a2"]
        with raises(ValidationError):
            repo.find(role="boss")
        with raises(ValidationError):
            repo.find(active="yes")  # type: ignore[arg-type]

    def test_training_records_round_trip(self) -> None:
        repo = self.repository()
        repo.add(_agent())
        late = TrainingRecord(id="t2", agent_id="a1", at=_T0 + timedelta(days=9),
                              topic="投诉处理技巧", hours=3.5)
        early = TrainingRecord(id="t1", agent_id="a1", at=_T0, topic="产品知识")
        repo.add_training(late)
        repo.add_training(early)
        assert repo.trainings() == [early, late]
        assert repo.trainings("a1") == [early, late]
        assert repo.trainings("a2") == []
        with raises(Conflict):
            repo.add_training(early)
        with raises(NotFound):
            repo.add_training(attrs.evolve(early, id="t3", agent_id="nobody"))

    def test_writes_roll_back_with_the_store_transaction(self) -> None:
        repo = self.repository()
        scope = self.transaction(repo)
        if scope is None:
            return
        repo.add(_agent())
        try:
            with scope:
                repo.add(_agent("a2"))
                repo.update(_agent().revised(active=False))
                raise Boom
        except Boom:
            pass
        assert repo.count() == 1
        assert repo.get("a1").active


class AssignmentRepositoryContract(RepositoryContract[AssignmentRepository]):
    """Tests every assignment repository must pass; subclass as ``TestSomething``."""

    def _assignment(self, id: str, ticket: str, agent: str, category: str,
                    minutes: int = 0) -> Assignment:
        return Assignment(id=id, ticket_id=ticket, agent_id=agent, category=category,
                          method="least_loaded", at=_T0 + timedelta(minutes=minutes),
                          actor="分派规则")

    def test_assignments_come_back_in_the_order_added(self) -> None:
        repo = self.repository()
        later = self._assignment("T-2#1", "T-2", "a2", "logistics", minutes=5)
        first = self._assignment("T-1#1", "T-1", "a1", "logistics", minutes=9)
        again = self._assignment("T-1#2", "T-1", "a2", "logistics", minutes=1)
        for a in (later, first, again):
            repo.add(a)
        assert repo.find() == [later, first, again]
        assert repo.find(ticket_id="T-1") == [first, again]
        assert repo.find(agent_id="a2") == [later, again]
        assert repo.find(category="after_sales") == []
        assert repo.count() == 3

    def test_a_taken_id_conflicts_and_bad_filters_are_refused(self) -> None:
        repo = self.repository()
        a = self._assignment("T-1#1", "T-1", "a1", "logistics")
        repo.add(a)
        with raises(Conflict):
            repo.add(attrs.evolve(a, agent_id="a2"))
        with raises(ValidationError):
            repo.add("T-1#2")  # type: ignore[arg-type]
        with raises(ValidationError):
            repo.find(category="gossip")
        assert repo.find() == [a]

    def test_writes_roll_back_with_the_store_transaction(self) -> None:
        repo = self.repository()
        scope = self.transaction(repo)
        if scope is None:
            return
        try:
            with scope:
                repo.add(self._assignment("T-1#1", "T-1", "a1", "logistics"))
                raise Boom
        except Boom:
            pass
        assert repo.count() == 0
