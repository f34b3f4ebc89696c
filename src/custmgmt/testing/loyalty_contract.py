"""The contract every :class:`~custmgmt.loyalty.ports.PointsRepository` keeps, as a test suite.

A host checks its own implementation by subclassing with one method::

    from custmgmt.testing import PointsRepositoryContract

    class TestMyPoints(PointsRepositoryContract):
        def make_repository(self):
            return MyPointsRepository(...)

``close_repository(repository)`` releases what ``make_repository`` opened, and
``transaction(repository)`` returns the store's transaction scope so that the suite
can check ledger writes roll back with it. The base class is not collected by pytest
and needs no pytest import.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from custmgmt.errors import Conflict, ValidationError
from custmgmt.loyalty.ledger import Draw, EntryKind, LedgerEntry, replay
from custmgmt.loyalty.ports import PointsRepository
from custmgmt.loyalty.tiers import TierChange
from custmgmt.testing._contract import Boom, RepositoryContract, raises

__all__ = ["PointsRepositoryContract", "make_entry"]

_SHANGHAI = timezone(timedelta(hours=8))
_T0 = datetime(2025, 3, 1, 10, 0, tzinfo=_SHANGHAI)


def make_entry(
    seq: int = 1,
    *,
    customer_id: str = "C-1",
    kind: str = "earn",
    points: int = 100,
    at: datetime | None = None,
    **fields: Any,
) -> LedgerEntry:
    """A valid entry: by default an award of ``points`` expiring a year later.

    >>> make_entry(2, kind="redeem", points=-30, draws=[Draw(lot="C-1#1", points=30)]).points
    -30
    """
    when = at or _T0 + timedelta(hours=seq)
    values: dict[str, Any] = {
        "id": f"{customer_id}#{seq}", "customer_id": customer_id, "seq": seq, "kind": kind,
        "points": points, "at": when, "key": f"k-{seq}", "actor": "system",
        "reason": "首单奖励",
    }
    if kind == "earn" or (kind == "adjust" and points > 0):
        values["expires_at"] = when + timedelta(days=365)
    values.update(fields)
    return LedgerEntry(**values)


class PointsRepositoryContract(RepositoryContract[PointsRepository]):
    """Tests every points repository must pass; subclass as ``TestSomething``."""

    def test_entries_come_back_equal_in_seq_order(self) -> None:
        repo = self.repository()
        first = make_entry(1, order_id="订单-1", locked_until=_T0 + timedelta(days=7),
                           rule="order")
        second = make_entry(2, kind="redeem", points=-40, draws=[Draw(lot=first.id, points=40)])
        third = make_entry(3, kind="lock", points=0, lot=first.id)
        for entry in (first, second, third):
            repo.append(entry)
        back = repo.entries("C-1")
        assert back == [first, second, third]
        assert back[0].at.utcoffset() == timedelta(hours=8)
        assert back[0].reason == "首单奖励"
        assert repo.entries("C-1", after_seq=1) == [second, third]
        assert repo.last_seq("C-1") == 3
        assert repo.count() == 3

    def test_a_reversal_with_debt_and_write_off_round_trips(self) -> None:
        repo = self.repository()
        repo.append(make_entry(1, points=50, order_id="O-1"))
        reverse = make_entry(
            2, kind="reverse", points=-90, order_id="O-1",
            draws=[Draw(lot="C-1#1", points=50)], debt=30, written_off=10,
        )
        repo.append(reverse)
        assert repo.entries("C-1")[1] == reverse

    def test_an_unknown_customer_has_an_empty_ledger(self) -> None:
        repo = self.repository()
        assert repo.entries("nobody") == []
        assert repo.last_seq("nobody") == 0
        assert repo.by_key("nobody", "k-1") is None
        assert repo.snapshot("nobody") is None
        assert repo.tier_history("nobody") == []

    def test_a_seq_that_is_not_the_next_is_a_conflict_and_writes_nothing(self) -> None:
        repo = self.repository()
        repo.append(make_entry(1))
        for seq in (1, 3):
            with raises(Conflict):
                repo.append(make_entry(seq, key=f"other-{seq}", id=f"x-{seq}"))
        assert repo.last_seq("C-1") == 1
        assert repo.count() == 1

    def test_a_repeated_key_is_a_conflict_and_writes_nothing(self) -> None:
        repo = self.repository()
        repo.append(make_entry(1, key="order:O-1"))
        with raises(Conflict):
            repo.append(make_entry(2, key="order:O-1"))
        assert repo.last_seq("C-1") == 1
        assert repo.by_key("C-1", "order:O-1") == make_entry(1, key="order:O-1")

    def test_the_same_key_may_serve_two_customers(self) -> None:
        repo = self.repository()
        repo.append(make_entry(1, customer_id="A", key="birthday:2025"))
        repo.append(make_entry(1, customer_id="B", key="birthday:2025"))
        assert repo.customer_ids() == ["A", "B"]

    def test_a_repeated_id_is_a_conflict(self) -> None:
        repo = self.repository()
        repo.append(make_entry(1, customer_id="A", id="same"))
        with raises(Conflict):
            repo.append(make_entry(1, customer_id="B", id="same"))
        assert repo.customer_ids() == ["A"]

    def test_anything_but_an_entry_is_refused(self) -> None:
        repo = self.repository()
        with raises(ValidationError):
            repo.append({"seq": 1})  # type: ignore[arg-type]
        with raises(ValidationError):
            repo.entries("C-1", after_seq=-1)
        with raises(ValidationError):
            list(repo.iter_chunks(0))

    def test_chunks_go_by_customer_then_seq(self) -> None:
        repo = self.repository()
        for who in ("b", "a"):
            for seq in (1, 2, 3):
                repo.append(make_entry(seq, customer_id=who))
        flat = [(e.customer_id, e.seq) for chunk in repo.iter_chunks(2) for e in chunk]
        assert flat == [(c, s) for c in ("a", "b") for s in (1, 2, 3)]
        assert all(len(chunk) <= 2 for chunk in repo.iter_chunks(2))

    def test_a_snapshot_round_trips_and_an_older_one_is_refused(self) -> None:
        repo = self.repository()
        entries = [
            make_entry(1, order_id="O-1", locked_until=_T0 + timedelta(days=7)),
            make_entry(2, kind="reverse", points=-150, order_id="O-1",
                       draws=[Draw(lot="C-1#1", points=100)], debt=50),
            make_entry(3, points=80, debt=-50),
            make_entry(4, kind="lock", points=0, lot="C-1#3"),
        ]
        for entry in entries:
            repo.append(entry)
        early = replay(entries[:2])
        late = replay(entries)
        repo.save_snapshot(early)
        repo.save_snapshot(late)
        assert repo.snapshot("C-1") == late
        with raises(Conflict):
            repo.save_snapshot(early)
        with raises(ValidationError):
            repo.save_snapshot(replay([*entries, make_entry(5)]))
        assert repo.snapshot("C-1") == late

    def test_tier_history_is_appended_in_seq_order(self) -> None:
        repo = self.repository()
        first = TierChange(customer_id="C-1", seq=1, at=_T0, from_tier=None, to_tier="普通会员",
                           reason="registration")
        second = TierChange(customer_id="C-1", seq=2, at=_T0 + timedelta(days=9),
                            from_tier="普通会员", to_tier="金卡", reason="upgrade", source="C-1#1")
        repo.add_tier_change(first)
        with raises(Conflict):
            repo.add_tier_change(first)
        repo.add_tier_change(second)
        assert repo.tier_history("C-1") == [first, second]

    def test_writes_roll_back_with_the_store_transaction(self) -> None:
        repo = self.repository()
        scope = self.transaction(repo)
        if scope is None:
            return
        repo.append(make_entry(1))
        try:
            with scope:
                repo.append(make_entry(2, kind="redeem", points=-10,
                                       draws=[Draw(lot="C-1#1", points=10)]))
                repo.save_snapshot(replay(repo.entries("C-1")))
                repo.add_tier_change(TierChange(customer_id="C-1", seq=1, at=_T0,
                                                from_tier=None, to_tier="x", reason="r"))
                raise Boom
        except Boom:
            pass
        assert repo.last_seq("C-1") == 1
        assert repo.by_key("C-1", "k-2") is None
        assert repo.snapshot("C-1") is None
        assert repo.tier_history("C-1") == []
        repo.append(make_entry(2, kind=EntryKind.EXPIRE.value, points=-100,
                               draws=[Draw(lot="C-1#1", points=100)]))
        assert repo.last_seq("C-1") == 2
