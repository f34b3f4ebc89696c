"""The contract every :class:`~custmgmt.rating.ports.RatingRepository` keeps, as a test suite.

A host checks its own implementation by subclassing with one method::

    from custmgmt.testing import RatingRepositoryContract

    class TestMyRatings(RatingRepositoryContract):
        def make_repository(self):
            return MyRatingRepository(...)

Define :meth:`~RatingRepositoryContract.transaction` as well (the store's transaction
scope) and the suite also checks that a run and an override saved in a failed
transaction are rolled back; :meth:`~RatingRepositoryContract.close_repository`
releases what ``make_repository`` opened. pytest never collects the base class (its
name does not start with ``Test``), and it needs no pytest import.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

import attrs

from custmgmt.errors import Conflict, NotFound, ValidationError
from custmgmt.rating.overrides import Override, OverrideStatus
from custmgmt.rating.ports import RatingRepository
from custmgmt.rating.records import CustomerRating, RatingRun
from custmgmt.rating.result_columns import RatingResults
from custmgmt.testing._contract import Boom, RepositoryContract, raises

__all__ = ["RatingRepositoryContract", "make_rating_columns", "make_rating_run", "split_columns"]

_SHANGHAI = timezone(timedelta(hours=8))
_T0 = datetime(2026, 1, 1, tzinfo=_SHANGHAI)


def make_rating_run(
    run_id: str = "run-1",
    *,
    as_of: datetime = _T0,
    customers: dict[str, int] | None = None,
    created_at: datetime | None = None,
) -> tuple[RatingRun, list[CustomerRating]]:
    """A run and its results: ``customers`` maps customer id to stars.

    >>> run, results = make_rating_run(customers={"客户-1": 4})
    >>> run.customer_count, results[0].stars
    (1, 4)
    """
    customers = {"c-1": 5, "c-2": 3, "客户-3": 1} if customers is None else customers
    run = RatingRun(
        id=run_id,
        as_of=as_of,
        created_at=created_at or as_of + timedelta(minutes=5),
        policy_json='{"name": "测试"}',
        customer_count=len(customers),
        distribution=tuple(sum(1 for s in customers.values() if s == k) for k in range(1, 6)),
    )
    results = [
        CustomerRating(
            run_id=run_id,
            customer_id=cid,
            score=stars / 5 - 0.05,
            stars=stars,
            computed_stars=stars,
            previous_stars=max(0, stars - 1),
            pending=0,
            contributions=(("spend", 0.6 * stars / 5), ("frequency", 0.4 * stars / 5 - 0.05)),
        )
        for cid, stars in customers.items()
    ]
    return run, results


def make_rating_columns(run_id: str = "run-cols") -> tuple[RatingRun, RatingResults]:
    """A run of four customers (Chinese and emoji ids, given unsorted) as columns.

    >>> run, columns = make_rating_columns()
    >>> columns.customer_ids.tolist(), columns.criteria
    (['c-1', 'c-2', '客户-3', '😀'], ('spend', 'frequency'))
    """
    run, _ = make_rating_run(run_id, customers={"c-1": 5, "c-2": 2, "客户-3": 1, "😀": 4})
    columns = RatingResults.from_arrays(
        run_id=run_id,
        customer_ids=["😀", "c-2", "客户-3", "c-1"],
        score=[0.75, 0.3, 0.125, 1.0],
        stars=[4, 2, 1, 5],
        computed_stars=[4, 3, 1, 5],
        previous_stars=[0, 2, 2, 4],
        pending=[0, 1, 0, 0],
        criteria=("spend", "frequency"),
        contributions=[[0.5, 0.25], [0.2, 0.1], [0.25, -0.125], [0.6, 0.4]],
    )
    return run, columns


def split_columns(columns: RatingResults, bounds: Sequence[int]) -> list[RatingResults]:
    """``columns`` cut at the row ``bounds`` into consecutive chunks (for
    ``save_run_chunks``).

    >>> _, columns = make_rating_columns()
    >>> [len(c) for c in split_columns(columns, [1, 1, 3])]
    [1, 0, 2, 1]
    """
    edges = [0, *bounds, len(columns)]
    return [
        RatingResults(
            run_id=columns.run_id,
            customer_ids=columns.customer_ids[a:b],
            score=columns.score[a:b],
            stars=columns.stars[a:b],
            computed_stars=columns.computed_stars[a:b],
            previous_stars=columns.previous_stars[a:b],
            pending=columns.pending[a:b],
            criteria=columns.criteria,
            contributions=columns.contributions[a:b],
        )
        for a, b in itertools.pairwise(edges)
    ]


def _assert_same_results(got: RatingResults, want: RatingResults) -> None:
    assert got.run_id == want.run_id
    assert got.criteria == want.criteria
    assert got.customer_ids.tolist() == want.customer_ids.tolist()
    for name in ("score", "stars", "computed_stars", "previous_stars", "pending"):
        mine, theirs = getattr(got, name), getattr(want, name)
        assert mine.dtype == theirs.dtype, name
        assert mine.tolist() == theirs.tolist(), name
    assert got.contributions.shape == want.contributions.shape
    assert got.contributions.tobytes() == want.contributions.tobytes()  # NaN included


def _override(override_id: str = "ov-1", customer_id: str = "c-1", **kw: Any) -> Override:
    fields: dict[str, Any] = {
        "id": override_id, "customer_id": customer_id, "stars": 5, "reason": "大客户，合同约定",
        "expires_at": _T0 + timedelta(days=90), "requested_by": "alice", "at": _T0,
    }
    fields.update(kw)
    return Override.request(**fields)


class RatingRepositoryContract(RepositoryContract[RatingRepository]):
    """Tests every rating repository must pass; subclass as ``TestSomething``."""

    # -- runs -----------------------------------------------------------------------
    def test_a_saved_run_comes_back_equal_with_its_results(self) -> None:
        repo = self.repository()
        run, results = make_rating_run()
        assert repo.save_run(run, results) == 3
        assert repo.get_run(run.id) == run
        assert repo.results(run.id) == sorted(results, key=lambda r: r.customer_id)
        assert repo.result(run.id, "客户-3") == results[2]

    def test_times_keep_their_instant_and_offset(self) -> None:
        repo = self.repository()
        run, results = make_rating_run()
        repo.save_run(run, results)
        back = repo.get_run(run.id)
        assert back.as_of == run.as_of
        assert back.as_of.utcoffset() == timedelta(hours=8)

    def test_a_repeated_run_id_is_a_conflict_and_changes_nothing(self) -> None:
        repo = self.repository()
        run, results = make_rating_run()
        repo.save_run(run, results)
        other, other_results = make_rating_run(customers={"c-9": 2})
        with raises(Conflict):
            repo.save_run(other, other_results)
        assert repo.results(run.id) == sorted(results, key=lambda r: r.customer_id)
        assert repo.star_history("c-9") == []

    def test_invalid_results_store_nothing(self) -> None:
        repo = self.repository()
        run, results = make_rating_run()
        with raises(ValidationError):
            repo.save_run(run, [*results, results[0]])
        with raises(ValidationError):
            repo.save_run(run, results[:2])
        wrong, _ = make_rating_run("run-2")
        with raises(ValidationError):
            repo.save_run(wrong, results)
        assert repo.list_runs() == []

    def test_results_that_fail_while_streaming_store_nothing(self) -> None:
        repo = self.repository()
        run, results = make_rating_run()

        def failing() -> Iterator[CustomerRating]:
            yield results[0]
            raise Boom("the source failed half way")

        with raises(Boom):
            repo.save_run(run, failing())
        assert repo.list_runs() == []
        with raises(NotFound):
            repo.get_run(run.id)

    def test_unknown_runs_and_results_are_not_found(self) -> None:
        repo = self.repository()
        with raises(NotFound) as caught:
            repo.get_run("nope")
        assert caught.value.entity == "rating run"
        with raises(NotFound):
            repo.results("nope")
        run, results = make_rating_run()
        repo.save_run(run, results)
        with raises(NotFound) as caught:
            repo.result(run.id, "nobody")
        assert caught.value.entity == "rating result"

    def test_runs_are_listed_oldest_first_and_latest_respects_at(self) -> None:
        repo = self.repository()
        later, later_results = make_rating_run("run-b", as_of=_T0 + timedelta(days=31))
        first, first_results = make_rating_run("run-a", as_of=_T0)
        repo.save_run(later, later_results)
        repo.save_run(first, first_results)
        assert [r.id for r in repo.list_runs()] == ["run-a", "run-b"]
        assert repo.latest_run() == later
        assert repo.latest_run(_T0 + timedelta(days=1)) == first
        assert repo.latest_run(_T0 - timedelta(days=1)) is None
        with raises(ValidationError):
            repo.latest_run(datetime(2026, 1, 1))

    def test_star_history_lists_every_run_that_rated_the_customer(self) -> None:
        repo = self.repository()
        for k, stars in enumerate((3, 4, 2)):
            run, results = make_rating_run(
                f"run-{k}", as_of=_T0 + timedelta(days=30 * k), customers={"c-1": stars, "c-2": 1}
            )
            repo.save_run(run, results)
        only, only_results = make_rating_run("run-x", as_of=_T0, customers={"c-2": 5})
        repo.save_run(only, only_results)
        history = repo.star_history("c-1")
        assert [(h.run_id, h.stars) for h in history] == [("run-0", 3), ("run-1", 4), ("run-2", 2)]
        assert history[1].as_of == _T0 + timedelta(days=30)
        assert repo.star_history("unknown") == []

    def test_removing_a_run_removes_its_results_and_history(self) -> None:
        repo = self.repository()
        run, results = make_rating_run()
        repo.save_run(run, results)
        repo.remove_run(run.id)
        assert repo.list_runs() == []
        assert repo.star_history("c-1") == []
        with raises(NotFound):
            repo.remove_run(run.id)

    def test_a_run_saved_in_a_failed_transaction_is_rolled_back(self) -> None:
        repo = self.repository()
        scope = self.transaction(repo)
        if scope is None:
            return
        run, results = make_rating_run()
        with raises(Boom), scope:
            repo.save_run(run, results)
            repo.add_override(_override())
            raise Boom("failure after the save")
        assert repo.list_runs() == []
        assert repo.star_history("c-1") == []
        assert repo.list_overrides() == []

    # -- runs as columns -----------------------------------------------------------
    def test_a_run_saved_from_columns_comes_back_as_columns_and_records(self) -> None:
        repo = self.repository()
        run, columns = make_rating_columns()
        assert repo.save_run_arrays(run, columns) == 4
        assert repo.get_run(run.id) == run
        _assert_same_results(repo.results_arrays(run.id), columns)
        records = list(columns.to_records())
        assert [r.customer_id for r in records] == ["c-1", "c-2", "客户-3", "😀"]
        assert repo.results(run.id) == records
        assert repo.result(run.id, "客户-3") == records[2]
        assert records[2].contributions == (("spend", 0.25), ("frequency", -0.125))
        assert [(h.run_id, h.stars) for h in repo.star_history("c-2")] == [(run.id, 2)]

    def test_a_run_saved_from_records_comes_back_as_columns(self) -> None:
        repo = self.repository()
        run, results = make_rating_run()
        repo.save_run(run, results)
        _assert_same_results(
            repo.results_arrays(run.id), RatingResults.from_records(run.id, results)
        )

    def test_records_that_name_different_criteria_give_nan_columns(self) -> None:
        repo = self.repository()
        run, results = make_rating_run(customers={"c-1": 3, "c-2": 4})
        odd = attrs.evolve(results[1], contributions=(("spend", 0.5), ("tenure", 0.25)))
        repo.save_run(run, [results[0], odd])
        columns = repo.results_arrays(run.id)
        assert columns.criteria == ("spend", "frequency", "tenure")
        assert math.isnan(columns.contributions[0, 2])
        assert math.isnan(columns.contributions[1, 1])
        assert repo.results(run.id) == [results[0], odd]

    def test_a_repeated_run_id_from_columns_is_a_conflict_and_changes_nothing(self) -> None:
        repo = self.repository()
        run, columns = make_rating_columns()
        repo.save_run_arrays(run, columns)
        other, _ = make_rating_run(run.id, customers={"c-9": 2})
        other_columns = RatingResults.from_arrays(
            run_id=run.id, customer_ids=["c-9"], score=[0.5], stars=[2], computed_stars=[2]
        )
        with raises(Conflict):
            repo.save_run_arrays(other, other_columns)
        _assert_same_results(repo.results_arrays(run.id), columns)
        assert repo.star_history("c-9") == []

    def test_columns_of_another_run_or_size_store_nothing(self) -> None:
        repo = self.repository()
        run, columns = make_rating_columns()
        wrong, _ = make_rating_run("run-2", customers={"a": 1, "b": 1, "c": 1, "d": 1})
        with raises(ValidationError):
            repo.save_run_arrays(wrong, columns)
        short, _ = make_rating_run(run.id, customers={"a": 1})
        with raises(ValidationError):
            repo.save_run_arrays(short, columns)
        with raises(ValidationError):
            repo.save_run_arrays(run, list(columns.to_records()))  # type: ignore[arg-type]
        assert repo.list_runs() == []
        with raises(NotFound):
            repo.results_arrays(run.id)

    def test_a_run_saved_from_columns_in_a_failed_transaction_is_rolled_back(self) -> None:
        repo = self.repository()
        scope = self.transaction(repo)
        if scope is None:
            return
        run, columns = make_rating_columns()
        with raises(Boom), scope:
            repo.save_run_arrays(run, columns)
            raise Boom("failure after the save")
        assert repo.list_runs() == []
        assert repo.star_history("c-1") == []

    def test_a_run_saved_in_chunks_reads_back_as_one_saved_from_columns(self) -> None:
        repo = self.repository()
        run, columns = make_rating_columns()
        chunks = split_columns(columns, [1, 1, 3])
        seen: list[int] = []

        def lazily() -> Iterator[RatingResults]:
            for k, chunk in enumerate(chunks):
                seen.append(k)
                yield chunk

        assert repo.save_run_chunks(run, lazily()) == 4
        assert seen == [0, 1, 2, 3]
        assert repo.get_run(run.id) == run
        _assert_same_results(repo.results_arrays(run.id), columns)
        records = list(columns.to_records())
        assert repo.results(run.id) == records
        for record in records:
            assert repo.result(run.id, record.customer_id) == record
        with raises(NotFound):
            repo.result(run.id, "c-15")
        assert [(h.run_id, h.stars) for h in repo.star_history("😀")] == [(run.id, 4)]
        assert repo.latest_run() == run

    def test_a_run_whose_chunks_fail_part_way_leaves_nothing(self) -> None:
        repo = self.repository()
        run, columns = make_rating_columns()
        chunks = split_columns(columns, [2])

        def failing() -> Iterator[RatingResults]:
            yield chunks[0]
            raise Boom("the cluster lost a worker")

        with raises(Boom):
            repo.save_run_chunks(run, failing())
        assert repo.list_runs() == []
        assert repo.star_history("c-1") == []
        with raises(NotFound):
            repo.results_arrays(run.id)
        # Nothing half-written blocks saving the run again.
        assert repo.save_run_chunks(run, iter(chunks)) == 4
        _assert_same_results(repo.results_arrays(run.id), columns)

    def test_chunks_out_of_order_or_of_another_shape_store_nothing(self) -> None:
        repo = self.repository()
        run, columns = make_rating_columns()
        first, second = split_columns(columns, [2])
        other = RatingResults.from_arrays(
            run_id=run.id, customer_ids=["zz"], score=[0.5], stars=[2], computed_stars=[2],
            criteria=("spend",), contributions=[[0.5]],
        )  # fmt: skip
        _, foreign = make_rating_columns("run-other")
        bad: list[list[Any]] = [
            [second, first],  # customers not in order
            [first, first],  # a customer twice
            [first, other],  # other criteria
            [first, split_columns(foreign, [2])[1]],  # another run's results
            [first],  # fewer than run.customer_count
            [first, second, other],  # more
            [],  # no chunk at all
            [first, list(second.to_records())],  # not columns
        ]
        for chunks in bad:
            with raises(ValidationError):
                repo.save_run_chunks(run, iter(chunks))
            assert repo.list_runs() == []
            assert repo.star_history("c-1") == []

    def test_an_empty_run_is_one_empty_chunk(self) -> None:
        repo = self.repository()
        run, _ = make_rating_run("run-empty", customers={})
        empty = RatingResults.from_arrays(
            run_id=run.id, customer_ids=[], score=[], stars=[], computed_stars=[]
        )
        assert repo.save_run_chunks(run, [empty]) == 0
        assert len(repo.results_arrays(run.id)) == 0
        assert repo.results(run.id) == []

    def test_a_run_id_taken_is_a_conflict_for_chunks_too(self) -> None:
        repo = self.repository()
        run, columns = make_rating_columns()
        repo.save_run_arrays(run, columns)
        with raises(Conflict):
            repo.save_run_chunks(run, split_columns(columns, [2]))
        _assert_same_results(repo.results_arrays(run.id), columns)

    def test_a_run_saved_in_chunks_in_a_failed_transaction_is_rolled_back(self) -> None:
        repo = self.repository()
        scope = self.transaction(repo)
        if scope is None:
            return
        run, columns = make_rating_columns()
        with raises(Boom), scope:
            repo.save_run_chunks(run, split_columns(columns, [1, 3]))
            raise Boom("failure after the save")
        assert repo.list_runs() == []
        assert repo.star_history("c-1") == []

    # -- overrides ------------------------------------------------------------------
    def test_an_override_comes_back_equal_with_its_history(self) -> None:
        repo = self.repository()
        pending = _override()
        repo.add_override(pending)
        approved = pending.approve(by="bob", at=_T0 + timedelta(hours=1), reason="核实")
        repo.update_override(approved)
        back = repo.get_override(pending.id)
        assert back == approved
        assert back.approved_by == "bob"
        assert [e.action.value for e in back.history] == ["request", "approve"]

    def test_a_repeated_override_id_is_a_conflict(self) -> None:
        repo = self.repository()
        repo.add_override(_override())
        with raises(Conflict):
            repo.add_override(_override())

    def test_a_stale_override_update_is_a_conflict_and_changes_nothing(self) -> None:
        repo = self.repository()
        pending = _override()
        repo.add_override(pending)
        approved = pending.approve(by="bob", at=_T0 + timedelta(hours=1))
        repo.update_override(approved)
        rejected = pending.reject(by="carol", at=_T0 + timedelta(hours=2), reason="不符合")
        with raises(Conflict) as caught:
            repo.update_override(rejected)
        assert caught.value.actual_version == 2
        assert repo.get_override(pending.id) == approved

    def test_unknown_overrides_are_not_found(self) -> None:
        repo = self.repository()
        with raises(NotFound):
            repo.get_override("nope")
        with raises(NotFound):
            repo.update_override(_override().approve(by="bob", at=_T0))

    def test_overrides_are_listed_by_customer_and_status(self) -> None:
        repo = self.repository()
        a = _override("ov-a", "c-1", at=_T0 + timedelta(hours=2))
        b = _override("ov-b", "c-1", at=_T0)
        c = _override("ov-c", "c-2")
        for o in (a, b, c):
            repo.add_override(o)
        repo.update_override(c.approve(by="bob", at=_T0 + timedelta(hours=3)))
        assert [o.id for o in repo.overrides_for("c-1")] == ["ov-b", "ov-a"]
        assert repo.overrides_for("nobody") == []
        assert [o.id for o in repo.list_overrides(OverrideStatus.APPROVED)] == ["ov-c"]
        assert [o.id for o in repo.list_overrides()] == ["ov-b", "ov-c", "ov-a"]

    def test_anything_but_records_is_refused(self) -> None:
        repo = self.repository()
        with raises(ValidationError):
            repo.add_override("not an override")  # type: ignore[arg-type]
        run, _ = make_rating_run()
        with raises(ValidationError):
            repo.save_run(run, ["not a result"])  # type: ignore[list-item]
