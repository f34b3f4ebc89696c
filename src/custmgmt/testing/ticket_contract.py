"""The contract every :class:`~custmgmt.tickets.ports.TicketRepository` keeps, as a test suite.

A host checks its own implementation by subclassing with one method::

    from custmgmt.testing import TicketRepositoryContract

    class TestMyTickets(TicketRepositoryContract):
        def make_repository(self):
            return MyTicketRepository(...)

Two hooks are optional: ``close_repository(repository)`` releases what
``make_repository`` opened, and ``transaction(repository)`` returns the store's
transaction scope, so that the suite can check ticket writes roll back with it. The
base class is not collected by pytest (its name does not start with ``Test``) and
needs no pytest import.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import attrs

from custmgmt.domain import Priority
from custmgmt.errors import Conflict, NotFound, ValidationError
from custmgmt.testing._contract import Boom, RepositoryContract, raises
from custmgmt.tickets.ports import TicketRepository
from custmgmt.tickets.ticket import Ticket, TicketEvent, TicketStatus
from custmgmt.tickets.workflow import DEFAULT_WORKFLOW

__all__ = ["TicketRepositoryContract", "make_ticket"]

_SHANGHAI = timezone(timedelta(hours=8))
_T0 = datetime(2024, 9, 23, 9, 0, tzinfo=_SHANGHAI)


def make_ticket(
    id: str = "T-1",
    *,
    customer_id: str = "C-1",
    at: datetime = _T0,
    steps: int = 0,
    **fields: Any,
) -> Ticket:
    """A ticket opened at ``at`` and walked ``steps`` transitions along the happy path.

    The path is assign, start, respond, wait on customer, customer replied, resolve,
    close; with ``steps`` above 7 the extra steps are agent replies before resolving
    (useful for long logs). ``fields`` override the opening arguments.

    >>> make_ticket(steps=3).status.value
    'in_progress'
    """
    wf = DEFAULT_WORKFLOW
    opening: dict[str, Any] = {
        "category": "product_quality", "priority": Priority.HIGH,
        "subject": "收到的杯子有裂缝", "description": "订单 O-1 的杯子碎了，请换货。",
        "channel": "微信", "actor": "客服机器人", "reason": "5 stars: high",
    }
    opening.update(fields)
    ticket = wf.open(id=id, customer_id=customer_id, at=at, **opening)
    path: list[tuple[TicketEvent, dict[str, Any]]] = [
        (TicketEvent.ASSIGN, {"assignee": "agent-王"}),
        (TicketEvent.START, {}),
        (TicketEvent.RESPOND, {"reason": "已联系仓库"}),
        (TicketEvent.WAIT_ON_CUSTOMER, {"reason": "需要照片"}),
        (TicketEvent.CUSTOMER_REPLIED, {}),
    ]
    extra = max(0, steps - 7)
    path += [(TicketEvent.RESPOND, {"reason": f"进展 {i}"}) for i in range(extra)]
    path += [
        (TicketEvent.RESOLVE, {"solution": "补发新杯子，旧杯无需退回"}),
        (TicketEvent.CLOSE, {}),
    ]
    for i, (event, data) in enumerate(path[: max(0, steps)]):
        actor = "customer" if event is TicketEvent.CUSTOMER_REPLIED else "agent-王"
        ticket = wf.fire(ticket, event, at=at + timedelta(minutes=10 * (i + 1)), actor=actor,
                         **data)
    return ticket


class TicketRepositoryContract(RepositoryContract[TicketRepository]):
    """Tests every ticket repository must pass; subclass as ``TestSomething``."""

    # -- round trip -----------------------------------------------------------------

    def test_a_stored_ticket_comes_back_equal_with_its_whole_log(self) -> None:
        repo = self.repository()
        ticket = make_ticket(steps=7)
        repo.add(ticket)
        back = repo.get(ticket.id)
        assert back == ticket
        assert back.events == ticket.events
        assert back.created_at.utcoffset() == timedelta(hours=8)

    def test_chinese_text_round_trips_in_every_text_field(self) -> None:
        repo = self.repository()
        subject = "发票抬头写错了：请改为“上海某某有限公司”"
        ticket = make_ticket("工单-1", customer_id="客户-张三", subject=subject, steps=6)
        repo.add(ticket)
        back = repo.get("工单-1")
        assert back.subject == ticket.subject
        assert back.description == ticket.description
        assert back.channel == "微信"
        assert back.solution == ticket.solution
        assert [e.reason for e in back.events] == [e.reason for e in ticket.events]
        assert [e.actor for e in back.events] == [e.actor for e in ticket.events]

    def test_entries_at_the_same_instant_keep_their_order(self) -> None:
        repo = self.repository()
        wf = DEFAULT_WORKFLOW
        ticket = make_ticket()
        steps: list[tuple[TicketEvent, dict[str, Any]]] = [
            (TicketEvent.ASSIGN, {"assignee": "a1"}), (TicketEvent.START, {}),
            (TicketEvent.RESPOND, {}), (TicketEvent.WAIT_ON_CUSTOMER, {}),
        ]
        for event, data in steps:
            ticket = wf.fire(ticket, event, at=_T0, actor="a1", **data)
        repo.add(ticket)
        assert [e.event for e in repo.get(ticket.id).events] == [e.event for e in ticket.events]

    def test_a_long_log_round_trips(self) -> None:
        repo = self.repository()
        ticket = make_ticket(steps=250)
        repo.add(ticket)
        assert repo.get(ticket.id) == ticket
        assert len(repo.get(ticket.id).events) == 251

    def test_an_unknown_id_is_not_found(self) -> None:
        repo = self.repository()
        with raises(NotFound) as box:
            repo.get("missing")
        assert isinstance(box.value, NotFound)
        assert box.value.key == "missing"

    def test_anything_but_a_ticket_is_refused(self) -> None:
        repo = self.repository()
        with raises(ValidationError):
            repo.add("T-1")  # type: ignore[arg-type]
        assert repo.count() == 0

    # -- adds -----------------------------------------------------------------------

    def test_adding_an_existing_id_is_a_conflict_and_keeps_the_stored_ticket(self) -> None:
        repo = self.repository()
        first = make_ticket()
        repo.add(first)
        with raises(Conflict) as box:
            repo.add(make_ticket(subject="另一个"))
        assert isinstance(box.value, Conflict)
        assert box.value.key == "T-1"
        assert repo.get("T-1") == first
        assert repo.count() == 1

    # -- updates --------------------------------------------------------------------

    def test_an_update_appends_the_new_entries(self) -> None:
        repo = self.repository()
        ticket = make_ticket(steps=2)
        repo.add(ticket)
        later = DEFAULT_WORKFLOW.fire(ticket, "respond", at=_T0 + timedelta(hours=2),
                                      actor="agent-王", reason="正在处理")
        repo.update(later)
        assert repo.get(ticket.id) == later
        assert repo.get(ticket.id).version == ticket.version + 1

    def test_several_transitions_save_at_once_with_the_version_read(self) -> None:
        repo = self.repository()
        ticket = make_ticket()
        repo.add(ticket)
        later = make_ticket(steps=6)
        repo.update(later, expected_version=ticket.version)
        assert repo.get(ticket.id) == later

    def test_a_stale_update_is_a_conflict_and_writes_nothing(self) -> None:
        repo = self.repository()
        ticket = make_ticket(steps=2)
        repo.add(ticket)
        wf = DEFAULT_WORKFLOW
        mine = wf.fire(ticket, "respond", at=_T0 + timedelta(hours=1), actor="a")
        theirs = wf.fire(ticket, "wait_on_customer", at=_T0 + timedelta(hours=1), actor="b")
        repo.update(theirs)
        with raises(Conflict) as box:
            repo.update(mine)
        caught = box.value
        assert isinstance(caught, Conflict)
        assert (caught.expected_version, caught.actual_version) == (ticket.version,
                                                                     theirs.version)
        assert repo.get(ticket.id) == theirs

    def test_an_update_may_not_rewrite_the_stored_log(self) -> None:
        repo = self.repository()
        ticket = make_ticket(steps=3)
        repo.add(ticket)
        # Same version step, but an earlier entry is changed: the log is append-only.
        changed = attrs.evolve(ticket.events[1], reason="改写历史")
        forged = attrs.evolve(
            ticket, events=(ticket.events[0], changed, *ticket.events[2:]),
            version=ticket.version + 1,
        )
        with raises(Conflict):
            repo.update(forged)
        assert repo.get(ticket.id) == ticket

    def test_updating_an_unknown_ticket_is_not_found(self) -> None:
        repo = self.repository()
        with raises(NotFound):
            repo.update(make_ticket(steps=1))

    def test_a_bad_expected_version_is_refused(self) -> None:
        repo = self.repository()
        ticket = make_ticket(steps=1)
        repo.add(make_ticket())
        with raises(ValidationError):
            repo.update(ticket, expected_version=ticket.version)

    # -- removal, counting, queries ---------------------------------------------------

    def test_a_removed_ticket_is_gone_with_its_log(self) -> None:
        repo = self.repository()
        repo.add(make_ticket(steps=4))
        repo.remove("T-1")
        assert repo.count() == 0
        with raises(NotFound):
            repo.get("T-1")
        with raises(NotFound):
            repo.remove("T-1")
        # The id can be used again, with a fresh log.
        repo.add(make_ticket())
        assert len(repo.get("T-1").events) == 1

    def test_find_filters_by_customer_and_status_oldest_first(self) -> None:
        repo = self.repository()
        utc = _T0.astimezone(UTC)
        tickets = [
            make_ticket("B", customer_id="C-1", at=_T0 + timedelta(hours=1)),
            make_ticket("A", customer_id="C-1", at=_T0 + timedelta(hours=1)),
            make_ticket("C", customer_id="C-2", at=utc - timedelta(minutes=1), steps=3),
            make_ticket("D", customer_id="C-1", at=_T0, steps=7),
        ]
        for ticket in tickets:
            repo.add(ticket)
        assert [t.id for t in repo.find()] == ["C", "D", "A", "B"]
        assert [t.id for t in repo.find(customer_id="C-1")] == ["D", "A", "B"]
        open_ = repo.find(statuses={TicketStatus.NEW, TicketStatus.IN_PROGRESS})
        assert [t.id for t in open_] == ["C", "A", "B"]
        assert [t.id for t in repo.find(customer_id="C-1", statuses={TicketStatus.CLOSED})] == ["D"]
        assert repo.find(statuses=set()) == []
        assert repo.find(customer_id="nobody") == []
        with raises(ValidationError):
            repo.find(statuses={"sleeping"})  # type: ignore[arg-type]

    def test_iter_chunks_streams_everything_in_order(self) -> None:
        repo = self.repository()
        for i in range(7):
            repo.add(make_ticket(f"T-{i}", at=_T0 + timedelta(minutes=7 - i), steps=i))
        chunks = list(repo.iter_chunks(3))
        assert [len(c) for c in chunks] == [3, 3, 1]
        assert [t.id for c in chunks for t in c] == [f"T-{i}" for i in reversed(range(7))]
        assert chunks[0][0] == repo.get("T-6")
        with raises(ValidationError):
            repo.iter_chunks(0)

    def test_ticket_writes_roll_back_with_the_store_transaction(self) -> None:
        repo = self.repository()
        scope = self.transaction(repo)
        if scope is None:
            return
        kept = make_ticket("kept")
        repo.add(kept)
        with raises(Boom), scope:
            repo.add(make_ticket("gone"))
            repo.update(make_ticket("kept", steps=1))
            raise Boom("roll back")
        assert repo.count() == 1
        assert repo.get("kept") == kept
