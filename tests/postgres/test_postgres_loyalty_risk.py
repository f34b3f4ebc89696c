"""Loyalty, risk and the order-line reader on PostgreSQL: the same contract suites as
memory and SQLite, real processes redeeming from one balance, an audit trail the
database itself keeps append-only, and the services giving what SQLite gives."""

from __future__ import annotations

import multiprocessing
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import psycopg
import pytest
from _pg_stores import PostgresRepositories
from _pg_support import drop_schema, new_schema

from custmgmt.adapters.postgres import PostgresStore
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.domain import Money
from custmgmt.domain.interaction import Review
from custmgmt.errors import Conflict, StorageError
from custmgmt.loyalty import (
    DEFAULT_PROGRAM,
    EntryKind,
    InsufficientPoints,
    Program,
    earn_points,
    redeem_points,
    replay,
    statement,
)
from custmgmt.privacy import ERASED_TEXT, SubjectRedaction
from custmgmt.recommend import Purchases
from custmgmt.recommend.purchases import lines_from_orders
from custmgmt.risk import (
    APPEAL_WORKFLOW,
    Appeal,
    AppealStatus,
    Restriction,
    RestrictionStatus,
    decide_appeal,
    impose_restriction,
    save_scorecard,
    score_customers,
    start_review,
    submit_appeal,
)
from custmgmt.risk.services import appeal_calendar
from custmgmt.testing import (
    PointsRepositoryContract,
    make_customer,
    make_interaction,
    make_order,
    make_order_line,
)
from custmgmt.testing.loyalty_contract import make_entry
from custmgmt.testing.risk_contract import (
    RiskRepositoryContract,
    make_appeal,
    make_restriction,
    make_scorecard,
)

T0 = datetime(2025, 1, 1, 9, 0, tzinfo=appeal_calendar().tzinfo)
NO_TIERS = Program(rules=DEFAULT_PROGRAM.rules, tiers=None)
# fork: the children inherit the test's modules; the parent holds no connection then.
FORK = multiprocessing.get_context("fork")


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


class TestPostgresPoints(PostgresRepositories, PointsRepositoryContract):
    repository_attribute = "loyalty"


class TestPostgresRisk(PostgresRepositories, RiskRepositoryContract):
    repository_attribute = "risk"


@pytest.fixture
def schema(postgres_dsn: str) -> Any:
    name = new_schema()
    yield name
    drop_schema(postgres_dsn, name)


@contextmanager
def _two_stores(dsn: str, schema: str) -> Iterator[tuple[PostgresStore, PostgresStore]]:
    """Two stores on one schema, each on connections of its own (``a`` creates the
    schema): what two processes of a host see."""
    with (
        PostgresStore(dsn, schema=schema) as a,
        PostgresStore(dsn, schema=schema, create=False) as b,
    ):
        yield a, b


class _Undo(Exception):
    """Rolls a test transaction back."""


def _redacted_on_both(
    pg: PostgresStore, lite: SQLiteStore, repository: str, subject: str, *, rows: int
) -> None:
    """The PostgreSQL ``repository`` redacts subjects, and both stores redact ``rows``
    rows of ``subject``."""
    assert isinstance(getattr(pg, repository), SubjectRedaction)
    assert getattr(pg, repository).redact_subject(subject, "匿名-1") == rows
    assert getattr(lite, repository).redact_subject(subject, "匿名-1") == rows


def _redaction_is_once_and_transactional(
    pg: PostgresStore, repository: str, done: str, *, other: str, rows: int
) -> None:
    """Redacting ``done`` again, or an unknown subject, redacts nothing; redacting
    ``other`` (``rows`` rows) in a transaction that then fails is undone with it."""
    assert getattr(pg, repository).redact_subject(done, "匿名-1") == 0
    assert getattr(pg, repository).redact_subject("nobody", "匿名-9") == 0

    def redact_then_fail() -> None:
        with pg.transaction():
            assert getattr(pg, repository).redact_subject(other, "匿名-2") == rows
            raise _Undo

    with pytest.raises(_Undo):  # the redaction rolls back with its transaction
        redact_then_fail()


# -- loyalty: concurrent redemptions from real processes ------------------------------------


def _redeem_in_process(
    dsn: str, schema: str, key: str, points: int, retry: bool, barrier: Any, out: Any
) -> None:
    """Redeem ``points`` once; with ``retry``, again after a lost race for the next seq
    (a plain Conflict), never after InsufficientPoints. Reports the outcome."""
    try:
        with PostgresStore(dsn, schema=schema, pool_size=1) as store:
            barrier.wait()
            races = 0
            while True:
                try:
                    redeem_points(store, "C-1", points, key=key, at=day(2), program=NO_TIERS)
                    out.put(("ok", races))
                    return
                except InsufficientPoints:
                    out.put(("insufficient", races))
                    return
                except Conflict:
                    if not retry:
                        out.put(("conflict", races))
                        return
                    races += 1
    except BaseException:
        out.put(("error", traceback.format_exc()))


def _race(dsn: str, schema: str, jobs: list[tuple[str, int, bool]]) -> list[tuple[str, Any]]:
    barrier, out = FORK.Barrier(len(jobs)), FORK.Queue()
    procs = [
        FORK.Process(target=_redeem_in_process, args=(dsn, schema, key, points, retry, barrier,
                                                       out))
        for key, points, retry in jobs
    ]
    for p in procs:
        p.start()
    results = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(60)
    assert not [r for r in results if r[0] == "error"], results
    return results


def _fill_balance(dsn: str, schema: str, points: int) -> None:
    with PostgresStore(dsn, schema=schema) as store:
        store.customers.add(make_customer(id="C-1", registered_at=T0))
        earn_points(store, "C-1", rule="lottery", key="k", at=day(1), points=points,
                    program=NO_TIERS)


@pytest.mark.slow
def test_two_processes_redeeming_more_than_the_balance_never_overdraw(
    postgres_dsn: str, schema: str
) -> None:
    _fill_balance(postgres_dsn, schema, 1000)
    for round_ in range(3):
        results = _race(postgres_dsn, schema, [(f"p{round_}-{n}", 700, False) for n in range(2)])
        outcomes = sorted(kind for kind, _ in results)
        # The loser is refused either by the next-seq check (it read the ledger before
        # the winner appended) or, having read after, by the balance: a Conflict both.
        assert outcomes in (["conflict", "ok"], ["insufficient", "ok"]) if round_ == 0 else (
            outcomes in (["conflict", "insufficient"], ["insufficient", "insufficient"])), (
            round_, outcomes)
    with PostgresStore(postgres_dsn, schema=schema, create=False) as store:
        final = statement(store, "C-1", as_of=day(2), program=NO_TIERS)
        assert final.balance == 300
        assert [e.kind for e in final.entries] == [EntryKind.EARN, EntryKind.REDEEM]
        assert final.entries[1].points == -700
        assert replay(store.loyalty.entries("C-1")).balance(day(2)) == 300


@pytest.mark.slow
def test_four_processes_retrying_lost_races_spend_exactly_what_the_balance_allows(
    postgres_dsn: str, schema: str
) -> None:
    _fill_balance(postgres_dsn, schema, 1000)
    results = _race(postgres_dsn, schema, [(f"w{n}", 300, True) for n in range(4)])
    # 1000 covers three redemptions of 300 and not a fourth, whatever the interleaving.
    assert sorted(kind for kind, _ in results) == ["insufficient", "ok", "ok", "ok"]
    with PostgresStore(postgres_dsn, schema=schema, create=False) as store:
        entries = store.loyalty.entries("C-1")
        assert [e.seq for e in entries] == [1, 2, 3, 4]
        assert sum(e.points for e in entries) == 100
        assert statement(store, "C-1", as_of=day(2), program=NO_TIERS).balance == 100
        # Each redemption drew points nobody else drew.
        drawn = sum(d.points for e in entries for d in e.draws)
        assert drawn == 900


def test_a_stale_writer_in_another_connection_gets_a_conflict_and_writes_nothing(
    postgres_dsn: str, schema: str
) -> None:
    with _two_stores(postgres_dsn, schema) as (a, b):
        a.loyalty.append(make_entry(1))
        outcome: list[str] = []

        def stale() -> None:
            try:
                b.loyalty.append(make_entry(2, key="k-b", id="C-1#2b"))
                outcome.append("stored")
            except Conflict:
                outcome.append("conflict")

        with a.transaction():
            a.loyalty.append(make_entry(2, key="k-a"))
            writer = threading.Thread(target=stale)
            writer.start()
            writer.join(1.0)
            assert writer.is_alive()  # b waits for a's lock on the customer ...
        writer.join(30)
        assert outcome == ["conflict"]  # ... then finds seq 2 taken
        assert [e.key for e in b.loyalty.entries("C-1")] == ["k-1", "k-a"]


def test_snapshots_are_the_documents_sqlite_writes(postgres_dsn: str, schema: str) -> None:
    entries = [
        make_entry(1, points=500, at=day(1)),
        make_entry(2, kind="lock", points=0, lot="C-1#1", at=day(2)),
        make_entry(3, points=40, at=day(3), locked_until=day(10), order_id="订单-1"),
    ]
    with PostgresStore(postgres_dsn, schema=schema) as pg, SQLiteStore(":memory:") as lite:
        for entry in entries:
            pg.loyalty.append(entry)
            lite.loyalty.append(entry)
        account = replay(entries)
        pg.loyalty.save_snapshot(account)
        lite.loyalty.save_snapshot(account)
        assert pg.loyalty.snapshot("C-1") == lite.loyalty.snapshot("C-1") == account
        with psycopg.connect(postgres_dsn) as conn:
            conn.execute(f"UPDATE {schema}.points_snapshots SET body = '{{\"seq\": 1}}'")
        with pytest.raises(StorageError, match="C-1"):
            pg.loyalty.snapshot("C-1")


def test_loyalty_redact_subject_erases_what_sqlite_erases_once_and_only_for_that_customer(
    postgres_dsn: str, schema: str
) -> None:
    with PostgresStore(postgres_dsn, schema=schema) as pg, SQLiteStore(":memory:") as lite:
        for store in (pg, lite):
            for cid in ("C-1", "C-2"):
                store.loyalty.append(make_entry(1, customer_id=cid, reason=f"{cid} 生日礼"))
                store.loyalty.append(make_entry(2, customer_id=cid, points=50,
                                                reason=f"{cid} 补偿"))
        _redacted_on_both(pg, lite, "loyalty", "C-1", rows=2)
        assert pg.loyalty.entries("C-1") == lite.loyalty.entries("C-1")
        assert [(e.reason, e.points) for e in pg.loyalty.entries("C-1")] == [
            (ERASED_TEXT, 100), (ERASED_TEXT, 50)]
        assert [e.reason for e in pg.loyalty.entries("C-2")] == ["C-2 生日礼", "C-2 补偿"]
        _redaction_is_once_and_transactional(pg, "loyalty", "C-1", other="C-2", rows=2)
        assert [e.reason for e in pg.loyalty.entries("C-2")] == ["C-2 生日礼", "C-2 补偿"]


def test_a_loyalty_redaction_waits_for_a_concurrent_append_and_redacts_it_too(
    postgres_dsn: str, schema: str
) -> None:
    """The redaction takes the customer's advisory lock, as the ledger's writers do: an
    entry being appended meanwhile is committed first and then redacted with the rest,
    not left with its reason."""
    with _two_stores(postgres_dsn, schema) as (a, b):
        a.loyalty.append(make_entry(1, reason="王芳 生日礼"))
        appending, release = threading.Event(), threading.Event()
        changed: list[int] = []

        def append() -> None:
            with a.transaction():
                a.loyalty.append(make_entry(2, points=50, reason="王芳 补偿"))
                appending.set()
                release.wait(30)

        appender = threading.Thread(target=append)
        appender.start()
        assert appending.wait(30)
        redactor = threading.Thread(
            target=lambda: changed.append(b.loyalty.redact_subject("C-1", "匿名-1")))
        redactor.start()
        redactor.join(1.0)
        assert redactor.is_alive()  # waiting for the appending transaction
        release.set()
        appender.join(30)
        redactor.join(30)
        assert changed == [2]
        assert [e.reason for e in b.loyalty.entries("C-1")] == [ERASED_TEXT, ERASED_TEXT]


# -- risk: the audit trail, appeals, scores --------------------------------------------------


def test_the_audit_trail_refuses_hand_written_updates_and_deletes(
    postgres_dsn: str, schema: str
) -> None:
    with PostgresStore(postgres_dsn, schema=schema) as store:
        store.risk.add_restriction(make_restriction())
    for sql in (
        "UPDATE {s}.risk_restriction_events SET doc = '{{}}'",
        "DELETE FROM {s}.risk_restriction_events",
        "TRUNCATE {s}.risk_restriction_events",
        "DELETE FROM {s}.risk_restrictions",
        "TRUNCATE {s}.risk_restrictions CASCADE",
    ):
        with psycopg.connect(postgres_dsn) as conn, pytest.raises(
            psycopg.errors.RestrictViolation, match="append-only"
        ):
            conn.execute(sql.format(s=schema))
    with PostgresStore(postgres_dsn, schema=schema, create=False) as store:
        assert [e.action for e in store.risk.get_restriction("R-1").events] == ["imposed"]


def test_an_overturned_appeal_lifts_its_restriction_on_postgres(
    postgres_dsn: str, schema: str
) -> None:
    monday_10 = datetime(2025, 6, 30, 10, tzinfo=appeal_calendar().tzinfo)
    with PostgresStore(postgres_dsn, schema=schema) as store:
        store.customers.add(make_customer(id="c02"))
        impose_restriction(store, id="R-1", customer_id="c02", kind="blacklisted",
                           reason="恶意差评", actor="officer", start=monday_10)
        submit_appeal(store, id="A-1", restriction_id="R-1", statement="我是真实买家",
                      at=monday_10 + timedelta(hours=1), actor="c02")
        start_review(store, "A-1", at=monday_10 + timedelta(hours=2), actor="officer")
        decide_appeal(store, "A-1", overturn=True, at=monday_10 + timedelta(hours=3),
                      actor="officer", reason="核实订单后误判")
    with PostgresStore(postgres_dsn, schema=schema, create=False) as store:
        lifted = store.risk.get_restriction("R-1")
        assert lifted.status is RestrictionStatus.LIFTED
        assert [e.action for e in lifted.events] == ["imposed", "appealed", "lifted"]
        assert store.risk.get_appeal("A-1").status is AppealStatus.OVERTURNED


@pytest.mark.parametrize("lift_commits", [False, True])
def test_an_overturn_waits_for_a_concurrent_lift_and_sees_only_what_was_committed(
    postgres_dsn: str, schema: str, lift_commits: bool
) -> None:
    """The overturn check reads the restriction under a share lock: while another
    connection's transaction is lifting it, storing the overturned appeal waits, then
    succeeds only if the lift was committed."""
    with _two_stores(postgres_dsn, schema) as (a, b):
        r, appeal = _restriction_with_appeal(a)
        at = r.start + timedelta(hours=3)
        reviewing = APPEAL_WORKFLOW.fire(appeal, "start_review", at=at, actor="officer")
        a.risk.update_appeal(reviewing)
        overturned = APPEAL_WORKFLOW.fire(reviewing, "overturn", at=at, actor="officer",
                                          reason="购买记录属实")
        lifting, release = threading.Event(), threading.Event()
        outcome: list[str] = []

        def lift() -> None:
            try:
                with a.transaction():
                    a.risk.update_restriction(r.lifted(at=at, actor="officer",
                                                       reason="申诉成立"))
                    lifting.set()
                    release.wait(30)
                    if not lift_commits:
                        raise _Undo
            except _Undo:
                pass

        def overturn() -> None:
            try:
                b.risk.update_appeal(overturned)
                outcome.append("stored")
            except Conflict:
                outcome.append("conflict")

        lifter = threading.Thread(target=lift)
        lifter.start()
        assert lifting.wait(30)
        deciding = threading.Thread(target=overturn)
        deciding.start()
        deciding.join(1.0)
        assert deciding.is_alive()  # waiting for the lifting transaction
        release.set()
        lifter.join(30)
        deciding.join(30)
        assert outcome == (["stored"] if lift_commits else ["conflict"])
        status = b.risk.get_appeal("A-1").status
        lifted = b.risk.get_restriction("R-1").status is RestrictionStatus.LIFTED
        assert lifted is lift_commits
        assert (status is AppealStatus.OVERTURNED) is lift_commits
        # Never an overturned appeal beside a restriction in force.
        assert status is not AppealStatus.OVERTURNED or lifted


def _restriction_with_appeal(store: PostgresStore) -> tuple[Restriction, Appeal]:
    """The contract suite's restriction and an appeal of it, stored."""
    r = make_restriction()
    store.risk.add_restriction(r)
    appeal = make_appeal()
    store.risk.add_appeal(appeal)
    return r, appeal


def _appeals_under_review(store: Any) -> None:
    for cid in ("客户-1", "客户-2"):
        r = make_restriction(f"R-{cid}", customer_id=cid)
        store.risk.add_restriction(r)
        appeal = make_appeal(f"A-{cid}", restriction=r)
        store.risk.add_appeal(appeal)
        store.risk.update_appeal(APPEAL_WORKFLOW.fire(
            appeal, "start_review", at=r.start + timedelta(hours=2), actor="officer"))


def test_risk_redact_subject_erases_what_sqlite_erases_once_and_only_for_that_customer(
    postgres_dsn: str, schema: str
) -> None:
    with PostgresStore(postgres_dsn, schema=schema) as pg, SQLiteStore(":memory:") as lite:
        for store in (pg, lite):
            _appeals_under_review(store)
        _redacted_on_both(pg, lite, "risk", "客户-1", rows=1)
        assert pg.risk.find_appeals() == lite.risk.find_appeals()
        erased = pg.risk.get_appeal("A-客户-1")
        assert (erased.statement, erased.status, erased.version) == (
            ERASED_TEXT, AppealStatus.UNDER_REVIEW, 2)
        assert pg.risk.get_appeal("A-客户-2").statement == make_appeal().statement
        _redaction_is_once_and_transactional(pg, "risk", "客户-1", other="客户-2", rows=1)
        assert pg.risk.get_appeal("A-客户-2").statement == make_appeal().statement


def test_a_risk_redaction_waits_for_a_concurrent_appeal_update_and_keeps_it(
    postgres_dsn: str, schema: str
) -> None:
    """The appeals are read ``FOR UPDATE``: a redaction racing an update of the appeal
    waits for it and redacts the updated document, instead of writing the statement's
    erasure over the update (a lost update)."""
    with _two_stores(postgres_dsn, schema) as (a, b):
        r, appeal = _restriction_with_appeal(a)
        reviewing = APPEAL_WORKFLOW.fire(appeal, "start_review",
                                         at=r.start + timedelta(hours=2), actor="officer")
        updating, release = threading.Event(), threading.Event()
        changed: list[int] = []

        def update() -> None:
            with a.transaction():
                a.risk.update_appeal(reviewing)
                updating.set()
                release.wait(30)

        updater = threading.Thread(target=update)
        updater.start()
        assert updating.wait(30)
        redactor = threading.Thread(
            target=lambda: changed.append(b.risk.redact_subject(r.customer_id, "匿名-1")))
        redactor.start()
        redactor.join(1.0)
        assert redactor.is_alive()  # waiting for the updating transaction
        release.set()
        updater.join(30)
        redactor.join(30)
        assert changed == [1]
        stored = b.risk.get_appeal(appeal.id)
        assert (stored.status, stored.version) == (AppealStatus.UNDER_REVIEW, 2)
        assert stored.statement == ERASED_TEXT


def test_stored_scores_on_postgres_equal_sqlite(postgres_dsn: str, schema: str) -> None:
    card = make_scorecard()
    as_of = datetime(2025, 6, 30, 12, tzinfo=T0.tzinfo)
    with PostgresStore(postgres_dsn, schema=schema) as pg, SQLiteStore(":memory:") as lite:
        runs = []
        for store in (pg, lite):
            fill_risk_story(store, as_of)
            save_scorecard(store, card)
            runs.append(score_customers(store, card, as_of=as_of, run_id="r1"))
        a, b = (s.risk.get_score_run("r1") for s in (pg, lite))
        assert a.customer_ids.tolist() == b.customer_ids.tolist()
        assert a.batch.scores.tolist() == b.batch.scores.tolist()
        assert np.array_equal(a.batch.bins, b.batch.bins)
        assert a.as_of == b.as_of == as_of
        assert a.as_of.utcoffset() == as_of.utcoffset()
        assert pg.risk.score_runs() == lite.risk.score_runs()
        cid = a.customer_ids[0]
        assert pg.risk.score_history(cid) == lite.risk.score_history(cid)


def fill_risk_story(store: Any, as_of: datetime) -> None:
    """Twelve customers with one to four paid orders; one returns often, one reviews
    in a burst."""
    for k in range(12):
        store.customers.add(make_customer(id=f"c{k:02d}", name="张伟"))
        for d in range(1 + k % 4):
            placed = as_of - timedelta(days=20 + 30 * d)
            store.orders.add(make_order(id=f"o{k:02d}-{d}", customer_id=f"c{k:02d}",
                                        placed_at=placed).pay(at=placed + timedelta(minutes=5)))
    for d in (10, 20, 30, 40):
        placed = as_of - timedelta(days=d)
        order = make_order(id=f"r{d}", customer_id="c01", placed_at=placed)
        order = order.pay(at=placed + timedelta(hours=1))
        store.orders.add(order.record_return(Money(Decimal("88.00"), "CNY"),
                                             at=placed + timedelta(days=3)))
    for h in range(6):
        store.interactions.add(make_interaction(
            id=f"i{h}", customer_id="c02", at=as_of - timedelta(days=1, hours=h),
            details=Review(rating=1, text="差评")))


# -- recommend: the order-line reader ---------------------------------------------------------


def _orders(store: Any) -> None:
    rng = np.random.default_rng(5)
    for o in range(60):
        lines = [make_order_line(sku=f"SKU-{int(rng.integers(15)):02d}",
                                 quantity=int(rng.integers(1, 4)))
                 for _ in range(int(rng.integers(1, 4)))]
        order = make_order(id=f"订单-{o:03d}" if o % 3 else f"O-{o:03d}",
                           customer_id=f"客户{int(rng.integers(8)):02d}",
                           placed_at=T0 + timedelta(days=int(rng.integers(300))), lines=lines)
        if o % 7 == 0:
            order = order.cancel(order.placed_at)
        store.orders.add(order)


@pytest.mark.parametrize("window", [(None, None), (day(30), day(200))])
def test_the_line_reader_equals_the_lines_of_the_entities_and_sqlite(
    postgres_dsn: str, schema: str, window: tuple[datetime | None, datetime | None]
) -> None:
    since, as_of = window
    with PostgresStore(postgres_dsn, schema=schema) as pg, SQLiteStore(":memory:") as lite:
        _orders(pg)
        _orders(lite)
        fast = pg.purchase_lines.line_columns(since=since, as_of=as_of)
        slow = lines_from_orders(
            o for chunk in pg.orders.iter_chunks() for o in chunk
            if (since is None or since <= o.placed_at) and (as_of is None or o.placed_at <= as_of)
        )
        lite_lines = lite.purchase_lines.line_columns(since=since, as_of=as_of)
        for name in ("order_id", "sku", "quantity"):
            assert getattr(fast, name).tolist() == getattr(slow, name).tolist(), name
            assert getattr(fast, name).tolist() == getattr(lite_lines, name).tolist(), name
        a = Purchases.from_store(pg, as_of=day(400), since=since)
        b = Purchases.from_store(lite, as_of=day(400), since=since)
        for name in ("customer", "item", "at", "customer_ids", "item_ids"):
            assert np.array_equal(getattr(a, name), getattr(b, name)), name


def test_a_dateutil_zone_round_trips_in_both_stores(postgres_dsn: str, schema: str) -> None:
    """The business calendars hand out dateutil zones, which are not hashable: the row
    codecs once failed on them with a raw TypeError."""
    moment = datetime(2025, 6, 30, 10, 0, tzinfo=appeal_calendar().tzinfo)
    with PostgresStore(postgres_dsn, schema=schema) as pg, SQLiteStore(":memory:") as lite:
        for store in (pg, lite):
            store.customers.add(make_customer(id="c-tz", registered_at=moment))
            back = store.customers.get("c-tz").registered_at
            assert back == moment
            assert back.utcoffset() == timedelta(hours=8)
