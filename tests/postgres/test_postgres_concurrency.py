"""Truly concurrent writers on a real server: processes, not threads, each with its own
PostgresStore; no lost update, every stale write a Conflict, no raw driver error."""

from __future__ import annotations

import itertools
import multiprocessing
import random
import threading
import traceback
from datetime import UTC, datetime
from typing import Any

import pytest
from _pg_support import OnPostgres, drop_schema, new_schema

from custmgmt.adapters.postgres import PostgresStore
from custmgmt.errors import Conflict, CustMgmtError
from custmgmt.testing import make_customer

T0 = datetime(2026, 1, 1, tzinfo=UTC)
CUSTOMERS = [f"c{k:02d}" for k in range(10)]
# fork: the children inherit the test's modules; the parent holds no connection then.
FORK = multiprocessing.get_context("fork")


def _read_modify_write(dsn: str, schema: str, worker: int, updates: int, out: Any) -> None:
    """``updates`` successful updates, each adding one tag to a random customer;
    a Conflict means a stale copy: count it, reload and try again."""
    done = conflicts = 0
    other: list[str] = []
    rng = random.Random(worker)
    try:
        with PostgresStore(dsn, schema=schema, pool_size=1) as store:
            while done < updates:
                customer = store.customers.get(rng.choice(CUSTOMERS))
                changed = customer.with_tags(at=T0, add={f"w{worker}-{done}"})
                try:
                    store.customers.update(changed)
                except Conflict as exc:
                    # A stale write: the conflict names the versions involved.
                    stale = exc.actual_version or 0
                    if exc.expected_version != customer.version or stale <= customer.version:
                        raise
                    conflicts += 1
                else:
                    done += 1
    except BaseException:
        other.append(traceback.format_exc())
    out.put((worker, done, conflicts, other))


def _insert(dsn: str, schema: str, worker: int, out: Any) -> None:
    """Adds of its own customers, and of ids every worker tries (one wins each)."""
    added = conflicts = 0
    batch_stored = False
    other: list[str] = []
    try:
        with PostgresStore(dsn, schema=schema, pool_size=1) as store:
            for k in range(40):
                store.customers.add(make_customer(id=f"own-{worker}-{k}", name="李娜"))
                added += 1
                try:
                    store.customers.add(make_customer(id=f"shared-{k}", name="王芳"))
                    added += 1
                except Conflict:
                    conflicts += 1
            try:  # a batch that overlaps the other workers' batches: all or nothing
                store.customers.add_many(
                    make_customer(id=f"batch-{k}", name="张伟") for k in range(worker, worker + 20)
                )
                added += 20
                batch_stored = True
            except Conflict:
                conflicts += 1
    except BaseException:
        other.append(traceback.format_exc())
    out.put((worker, added, conflicts, other, batch_stored))


def _results(processes: list[Any], out: Any) -> list[tuple[Any, ...]]:
    results = [out.get(timeout=240) for _ in processes]
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    return sorted(results)


@pytest.mark.slow
class TestConcurrentProcesses(OnPostgres):
    def test_four_processes_of_read_modify_write_lose_no_update(self) -> None:
        schema = new_schema()
        with PostgresStore(self.dsn, schema=schema) as store:
            store.customers.add_many(make_customer(id=c, name="王芳") for c in CUSTOMERS)
        out = FORK.Queue()
        processes = [
            FORK.Process(target=_read_modify_write, args=(self.dsn, schema, w, 500, out))
            for w in range(4)
        ]
        for process in processes:
            process.start()
        try:
            results = _results(processes, out)
        finally:
            for process in processes:
                process.kill()
        assert [r[3] for r in results] == [[]] * 4  # no error but Conflict, anywhere
        assert [r[1] for r in results] == [500] * 4
        with PostgresStore(self.dsn, schema=schema) as store:
            finals = [store.customers.get(c) for c in CUSTOMERS]
        drop_schema(self.dsn, schema)
        tags = [tag for customer in finals for tag in customer.tags]
        # Every successful update is in the final state (none lost, none doubled) ...
        assert sorted(tags) == sorted(f"w{w}-{n}" for w in range(4) for n in range(500))
        # ... and each customer's version counts exactly its updates.
        assert all(c.version == 1 + len(c.tags) for c in finals)
        assert sum(r[2] for r in results) > 0  # the writers really did collide

    def test_eight_processes_inserting_at_once_get_only_library_errors(self) -> None:
        schema = new_schema()
        PostgresStore(self.dsn, schema=schema).close()
        out = FORK.Queue()
        processes = [FORK.Process(target=_insert, args=(self.dsn, schema, w, out))
                     for w in range(8)]  # fmt: skip
        for process in processes:
            process.start()
        try:
            results = _results(processes, out)
        finally:
            for process in processes:
                process.kill()
        assert [r[3] for r in results] == [[]] * 8
        with PostgresStore(self.dsn, schema=schema) as store:
            stored = {c.id for chunk in store.customers.iter_chunks() for c in chunk}
        drop_schema(self.dsn, schema)
        assert {f"own-{w}-{k}" for w in range(8) for k in range(40)} <= stored
        assert {f"shared-{k}" for k in range(40)} <= stored
        # Each shared id was added once and refused seven times.
        assert sum(r[2] for r in results) >= 7 * 40
        assert sum(r[1] for r in results) == len(stored)
        # Whole batches only: exactly the ranges of the workers told they were stored,
        # which cannot overlap.
        winners = [r[0] for r in results if r[4]]
        assert winners
        assert all(b - a >= 20 for a, b in itertools.pairwise(winners))
        assert {i for i in stored if i.startswith("batch-")} == {
            f"batch-{k}" for w in winners for k in range(w, w + 20)
        }


class TestDeadlocksAndSerialisationFailures(OnPostgres):
    def _two_customers(self, **options: Any) -> PostgresStore:
        self.schema = new_schema()
        store = PostgresStore(self.dsn, schema=self.schema, **options)
        store.customers.add_many(make_customer(id=c, name="王芳") for c in ("x", "y"))
        return store

    def _cross_updates(self, store: PostgresStore) -> tuple[list[Any], dict[str, int]]:
        """Two threads update x then y, and y then x, meeting in the middle: a deadlock."""
        barrier = threading.Barrier(2, timeout=10)
        attempts = {"a": 0, "b": 0}
        outcomes: list[Any] = []
        finished = {"a": threading.Event(), "b": threading.Event()}

        def work(name: str, first: str, second: str) -> None:
            attempts[name] += 1
            if attempts[name] > 1:
                # The deadlock's loser runs again once the winner has committed: were it
                # to read before that commit, its update would be stale (a Conflict,
                # rightly, but not the deadlock retry this test is about).
                finished["b" if name == "a" else "a"].wait(10)
            one = store.customers.get(first)
            store.customers.update(one.with_tags(at=T0, add={f"{name}{attempts[name]}"}))
            if attempts[name] == 1:
                barrier.wait()
            two = store.customers.get(second)
            store.customers.update(two.with_tags(at=T0, add={f"{name}{attempts[name]}"}))

        def run(name: str, first: str, second: str) -> None:
            try:
                store.retrying(lambda: work(name, first, second))
                outcomes.append("ok")
            except CustMgmtError as exc:
                outcomes.append(exc)
            except BaseException as exc:  # pragma: no cover - reported by the assertion
                outcomes.append(("raw", exc))
            finally:
                finished[name].set()

        threads = [
            threading.Thread(target=run, args=("a", "x", "y")),
            threading.Thread(target=run, args=("b", "y", "x")),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        return outcomes, attempts

    def test_a_deadlock_is_retried_and_both_transactions_take_effect(self) -> None:
        store = self._two_customers()
        try:
            outcomes, attempts = self._cross_updates(store)
            assert outcomes == ["ok", "ok"]
            assert sorted(attempts.values()) == [1, 2]  # the loser ran once more
            assert store.customers.get("x").version == 3
            assert store.customers.get("y").version == 3
        finally:
            store.close()
            drop_schema(self.dsn, self.schema)

    def test_without_retries_the_deadlock_is_a_conflict_and_nothing_of_it_stays(self) -> None:
        store = self._two_customers(retries=0)
        try:
            outcomes, _ = self._cross_updates(store)
            assert outcomes.count("ok") == 1
            [lost] = [o for o in outcomes if o != "ok"]
            assert isinstance(lost, Conflict)
            assert "deadlock" in str(lost)
            assert isinstance(lost.__cause__, Exception)  # raise ... from the driver's
            # The winner's two updates only.
            assert store.customers.get("x").version == 2
            assert store.customers.get("y").version == 2
        finally:
            store.close()
            drop_schema(self.dsn, self.schema)
