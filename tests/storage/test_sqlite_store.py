"""What the SQLite store promises beyond the contract: concurrency, crashes, schema."""

from __future__ import annotations

import functools
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custmgmt.adapters.memory import MemoryStore
from custmgmt.adapters.sqlite import CORE_MIGRATIONS, SQLiteStore
from custmgmt.domain import (
    Address,
    BusinessProfile,
    Complaint,
    Consent,
    Interaction,
    Money,
    Review,
)
from custmgmt.errors import Conflict, NotFound, StorageError, ValidationError
from custmgmt.rating.ports import RATINGS
from custmgmt.testing import make_customer, make_order, make_order_line
from custmgmt.tickets.ports import TICKETS

T0 = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "store.sqlite3"


# -- concurrency -------------------------------------------------------------------------


def test_two_threads_racing_on_one_customer_get_one_winner_and_one_conflict_per_round(
    db_path: Path,
) -> None:
    SQLiteStore(db_path).close()
    with SQLiteStore(db_path) as store:
        store.customers.add(make_customer(id="c-1", name="林黛玉"))
    rounds = 15
    barrier = threading.Barrier(2)
    won: dict[str, list[str]] = {"a": [], "b": []}
    lost: dict[str, list[Conflict]] = {"a": [], "b": []}
    failures: list[BaseException] = []

    def worker(name: str) -> None:
        try:
            with SQLiteStore(db_path) as own:
                for n in range(rounds):
                    read = own.customers.get("c-1")
                    changed = read.with_tags(at=T0, add={f"{name}{n}"})
                    barrier.wait()  # both threads hold the same version now
                    try:
                        own.customers.update(changed)
                    except Conflict as exc:
                        lost[name].append(exc)
                    else:
                        won[name].append(f"{name}{n}")
                    barrier.wait()
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=worker, args=(name,)) for name in "ab"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with SQLiteStore(db_path) as store:
        final = store.customers.get("c-1")
    successes = won["a"] + won["b"]
    assert len(successes) == rounds  # exactly one winner per round
    assert len(lost["a"]) + len(lost["b"]) == rounds
    for exc in lost["a"] + lost["b"]:
        assert exc.expected_version is not None
        assert exc.actual_version == exc.expected_version + 1
    assert final.version - 1 == len(successes)
    assert final.tags == frozenset(successes)


def test_two_threads_retrying_on_conflict_lose_no_update(db_path: Path) -> None:
    with SQLiteStore(db_path) as store:
        store.customers.add(make_customer(id="c-1"))
    per_thread = 25
    conflicts: list[int] = []
    failures: list[BaseException] = []

    def worker(name: str) -> None:
        seen = 0
        try:
            with SQLiteStore(db_path) as own:
                for n in range(per_thread):
                    while True:
                        read = own.customers.get("c-1")
                        try:
                            own.customers.update(read.with_tags(at=T0, add={f"{name}{n}"}))
                            break
                        except Conflict:
                            seen += 1
        except BaseException as exc:
            failures.append(exc)
        conflicts.append(seen)

    threads = [threading.Thread(target=worker, args=(name,)) for name in "ab"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with SQLiteStore(db_path) as store:
        final = store.customers.get("c-1")
    assert final.version == 1 + 2 * per_thread
    assert final.tags == {f"{name}{n}" for name in "ab" for n in range(per_thread)}


def test_one_store_shared_by_threads_serialises_their_transactions() -> None:
    store = SQLiteStore(":memory:")
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for k in range(20):
                with store.transaction():
                    store.customers.add(make_customer(id=f"c-{n}-{k}"))
                    store.orders.add(make_order(customer_id=f"c-{n}-{k}"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert store.customers.count() == 80
    assert store.orders.count() == 80
    store.close()


# -- a killed process ----------------------------------------------------------------------

_CHILD = textwrap.dedent(
    """
    import sys, time
    from datetime import UTC, datetime, timedelta
    from custmgmt.adapters.sqlite import SQLiteStore
    from custmgmt.testing import make_order

    path, total, pause_at = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    store = SQLiteStore(path)
    # A small page cache makes SQLite spill the open transaction's pages into the
    # WAL file, so the kill lands with uncommitted work on disk.
    store.connection.execute("PRAGMA cache_size = 20")
    t0 = datetime(2025, 1, 1, tzinfo=UTC)

    def orders():
        for n in range(total):
            if n == pause_at:
                print("paused", flush=True)
                time.sleep(120)
            yield make_order(id=f"o-{n:07d}", placed_at=t0 + timedelta(seconds=n))

    store.orders.add_many(orders())
    print("done", flush=True)
    time.sleep(120)
    """
)


def _kill_child_after(db_path: Path, total: int, pause_at: int, signal_line: str) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(db_path), str(total), str(pause_at)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == signal_line
        if signal_line == "paused":
            # The batch so far is written, uncommitted, partly in the WAL file.
            assert Path(f"{db_path}-wal").stat().st_size > 0
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=60)
        assert child.stdout is not None
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
def test_a_process_killed_in_the_middle_of_add_many_leaves_none_of_the_batch(
    db_path: Path,
) -> None:
    total = 20_000
    _kill_child_after(db_path, total, pause_at=12_000, signal_line="paused")
    connection = sqlite3.connect(db_path)
    assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    connection.close()
    with SQLiteStore(db_path) as store:
        assert store.orders.count() == 0
        assert store.connection.execute("SELECT count(*) FROM order_lines").fetchone() == (0,)
        assert store.connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
def test_a_process_killed_after_add_many_returned_keeps_all_of_the_batch(db_path: Path) -> None:
    total = 5_000
    _kill_child_after(db_path, total, pause_at=-1, signal_line="done")
    with SQLiteStore(db_path) as store:
        assert store.connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert store.orders.count() == total
        assert store.orders.get("o-0004999").placed_at == T0.replace(
            year=2025, month=1, day=1, hour=0
        ) + timedelta(seconds=4999)


# -- schema and migrations -----------------------------------------------------------------


def test_the_core_schema_version_is_recorded(db_path: Path) -> None:
    with SQLiteStore(db_path) as store:
        assert store.schema_version("core") == len(CORE_MIGRATIONS)
        assert store.schema_version("never-migrated") == 0
        rows = store.connection.execute("SELECT component, version FROM custmgmt_schema")
        assert ("core", len(CORE_MIGRATIONS)) in rows.fetchall()


def test_a_file_database_uses_wal_foreign_keys_and_a_busy_timeout(db_path: Path) -> None:
    with SQLiteStore(db_path, timeout=7) as store:
        connection = store.connection
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert connection.execute("PRAGMA foreign_keys").fetchone() == (1,)
        assert connection.execute("PRAGMA busy_timeout").fetchone() == (7000,)


def test_reopening_a_file_keeps_the_data_and_runs_no_migration_twice(db_path: Path) -> None:
    calls: list[str] = []

    def first(connection: sqlite3.Connection) -> None:
        calls.append("first")
        connection.execute("CREATE TABLE notes (id TEXT PRIMARY KEY, body TEXT)")

    def second(connection: sqlite3.Connection) -> None:
        calls.append("second")
        connection.execute("ALTER TABLE notes ADD COLUMN author TEXT")

    customer = make_customer(name="贾宝玉")
    with SQLiteStore(db_path) as store:
        store.customers.add(customer)
        assert store.apply_migrations("notes", [first]) == 1
    with SQLiteStore(db_path) as store:
        assert store.customers.get(customer.id) == customer
        assert store.apply_migrations("notes", [first]) == 1
        assert calls == ["first"]
        assert store.apply_migrations("notes", [first, second]) == 2
        assert calls == ["first", "second"]
        assert store.schema_version("notes") == 2
        assert store.schema_version("core") == len(CORE_MIGRATIONS)


def test_a_failing_migration_leaves_the_schema_and_its_version_unchanged(
    db_path: Path,
) -> None:
    with SQLiteStore(db_path) as store:
        store.apply_migrations("notes", ["CREATE TABLE notes (id TEXT PRIMARY KEY)"])
        steps = [
            "CREATE TABLE notes (id TEXT PRIMARY KEY)",
            "CREATE TABLE tags (id TEXT); CREATE TABLE broken (;",
        ]
        with pytest.raises(StorageError) as raised:
            store.apply_migrations("notes", steps)
        assert isinstance(raised.value.__cause__, sqlite3.Error)
        assert store.schema_version("notes") == 1
        tables = {row[0] for row in store.connection.execute("SELECT name FROM sqlite_master")}
        assert "tags" not in tables


def test_a_database_from_a_newer_library_is_refused(db_path: Path) -> None:
    with SQLiteStore(db_path) as store:
        store.apply_migrations("notes", ["CREATE TABLE a (x)", "CREATE TABLE b (x)"])
        with pytest.raises(StorageError, match="newer"):
            store.apply_migrations("notes", ["CREATE TABLE a (x)"])


def test_sql_migrations_may_hold_several_statements_and_triggers() -> None:
    store = SQLiteStore(":memory:")
    script = """
        CREATE TABLE audit (what TEXT);
        CREATE TABLE notes (id TEXT PRIMARY KEY, body TEXT DEFAULT ';');
        CREATE TRIGGER notes_audit AFTER INSERT ON notes BEGIN
            INSERT INTO audit VALUES ('note; added');
        END;
    """
    store.apply_migrations("notes", [script])
    with store.writing() as connection:
        connection.execute("INSERT INTO notes (id) VALUES ('n1')")
    assert store.connection.execute("SELECT what FROM audit").fetchall() == [("note; added",)]
    store.close()


def test_bad_migration_arguments_are_validation_errors() -> None:
    store = SQLiteStore(":memory:")
    with pytest.raises(ValidationError):
        store.apply_migrations(" ", [])
    with pytest.raises(ValidationError):
        store.apply_migrations("x", [42])  # type: ignore[list-item]
    store.close()


# -- errors ----------------------------------------------------------------------------------


def test_a_file_that_is_not_a_database_is_a_storage_error(tmp_path: Path) -> None:
    path = tmp_path / "not-a-db.sqlite3"
    path.write_bytes(b"this is not an sqlite database" * 100)
    with pytest.raises(StorageError) as raised:
        SQLiteStore(path)
    assert isinstance(raised.value.__cause__, sqlite3.DatabaseError)


@pytest.mark.parametrize("mode", ["create", "existing", "read_only"])
def test_a_fifo_or_a_folder_is_refused_before_sqlite_touches_it(
    tmp_path: Path, mode: str
) -> None:
    # Regression: `custmgmt demo --db /dev/null` left /dev/null-journal behind (SQLite
    # writes its journal beside the "database"); a FIFO took the same path, a folder
    # gave "unable to open database file".
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    (tmp_path / "folder").mkdir()
    (tmp_path / "link").symlink_to(fifo)
    for path, kind in ((fifo, "a FIFO"), (tmp_path / "folder", "a folder"),
                       (tmp_path / "link", "a FIFO")):  # fmt: skip
        with pytest.raises(ValidationError, match=f"^database: got .*it is {kind}"):
            SQLiteStore(path, mode=mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder", "link", "pipe"]


def test_a_closed_store_raises_storage_error() -> None:
    store = SQLiteStore(":memory:")
    store.close()
    store.close()  # closing twice is harmless
    with pytest.raises(StorageError):
        store.customers.get("c")
    with pytest.raises(StorageError):
        store.orders.add(make_order())


def test_an_unusable_database_argument_is_a_validation_error() -> None:
    with pytest.raises(ValidationError):
        SQLiteStore(42)  # type: ignore[arg-type]


def test_rows_changed_behind_the_stores_back_are_storage_errors_when_reads_verify() -> None:
    store = SQLiteStore(":memory:", verify_reads=True)
    store.customers.add(make_customer(id="c-1"))
    with store.writing() as connection:
        connection.execute("UPDATE customers SET email = 'not an email' WHERE id = 'c-1'")
    with pytest.raises(StorageError, match="not valid") as raised:
        store.customers.get("c-1")
    assert isinstance(raised.value.__cause__, ValidationError)
    store.close()


def test_an_unreadable_row_is_a_storage_error_even_when_rows_are_trusted() -> None:
    store = SQLiteStore(":memory:")
    store.orders.add(make_order(id="o-1"))
    with store.writing() as connection:
        connection.execute("UPDATE orders SET status = 'lost' WHERE id = 'o-1'")
    with pytest.raises(StorageError, match="not valid"):
        store.orders.get("o-1")
    store.close()


def test_a_read_only_database_turns_write_failures_into_storage_errors(db_path: Path) -> None:
    with SQLiteStore(db_path) as store:
        store.customers.add(make_customer(id="c-1"))
    connection = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    store = SQLiteStore(connection)
    with pytest.raises(StorageError) as raised:
        store.customers.add(make_customer(id="c-2"))
    assert isinstance(raised.value.__cause__, sqlite3.Error)
    assert store.customers.get("c-1").id == "c-1"
    store.close()
    connection.close()


def test_writing_turns_unique_violations_into_conflicts_and_rolls_back() -> None:
    store = SQLiteStore(":memory:")
    store.apply_migrations("notes", ["CREATE TABLE notes (id TEXT PRIMARY KEY)"])

    def insert(*sql: str) -> None:
        with store.writing() as connection:
            for statement in sql:
                connection.execute(statement)

    with pytest.raises(Conflict):
        insert("INSERT INTO notes VALUES ('n1')", "INSERT INTO notes VALUES ('n1')")
    assert store.connection.execute("SELECT count(*) FROM notes").fetchone() == (0,)
    with pytest.raises(StorageError):
        insert("INSERT INTO missing VALUES (1)")
    store.close()


# -- transactions ------------------------------------------------------------------------------


def test_capability_writes_join_the_stores_transaction() -> None:
    store = SQLiteStore(":memory:")
    store.apply_migrations("notes", ["CREATE TABLE notes (id TEXT PRIMARY KEY)"])

    def block() -> None:
        with store.transaction():
            store.customers.add(make_customer(id="c-1"))
            with store.writing() as connection:
                connection.execute("INSERT INTO notes VALUES ('n1')")
            raise RuntimeError("undo both")

    with pytest.raises(RuntimeError):
        block()
    assert store.customers.count() == 0
    assert store.connection.execute("SELECT count(*) FROM notes").fetchone() == (0,)
    store.close()


@pytest.mark.parametrize("make", [MemoryStore, lambda: SQLiteStore(":memory:")])
def test_a_failed_nested_block_undoes_only_its_own_writes(make: type[MemoryStore]) -> None:
    store = make()

    def inner() -> None:
        with store.transaction():
            store.customers.add(make_customer(id="c-inner"))
            raise RuntimeError("inner fails")

    with store.transaction():
        store.customers.add(make_customer(id="c-outer"))
        with pytest.raises(RuntimeError):
            inner()
        store.customers.add(make_customer(id="c-after"))
    assert sorted(c.id for chunk in store.customers.iter_chunks() for c in chunk) == [
        "c-after",
        "c-outer",
    ]
    store.close()


def test_writes_join_a_transaction_the_host_opened_on_its_connection() -> None:
    connection = sqlite3.connect(":memory:")
    store = SQLiteStore(connection)
    connection.execute("CREATE TABLE host_log (line TEXT)")
    connection.execute("INSERT INTO host_log VALUES ('opened')")  # implicit BEGIN
    assert connection.in_transaction
    store.customers.add(make_customer(id="c-1"))
    connection.rollback()  # the host decides: its rollback undoes the store's write too
    assert store.customers.count() == 0
    store.customers.add(make_customer(id="c-2"))  # no host transaction: commits itself
    assert not connection.in_transaction
    store.close()
    connection.close()


# -- round trips -------------------------------------------------------------------------------


def test_zoneinfo_datetimes_come_back_equal_with_the_same_offset() -> None:
    store = SQLiteStore(":memory:")
    for zone in ("Asia/Shanghai", "America/New_York", "Asia/Kathmandu", "Australia/Adelaide"):
        placed = datetime(2025, 7, 1, 12, 34, 56, 789, tzinfo=ZoneInfo(zone))
        order = make_order(placed_at=placed)
        store.orders.add(order)
        got = store.orders.get(order.id).placed_at
        assert got == placed
        assert got.utcoffset() == placed.utcoffset()
    store.close()


@settings(max_examples=100, deadline=None)
@given(
    at=st.datetimes(
        min_value=datetime(1900, 1, 2),
        max_value=datetime(2200, 1, 1),
        timezones=st.integers(-14 * 60, 14 * 60).map(
            lambda minutes: timezone(timedelta(minutes=minutes))
        ),
    ),
    price=st.decimals(min_value=0, max_value=Decimal("1e12"), places=2, allow_nan=False),
    currency=st.sampled_from(["CNY", "USD", "JPY", "BHD"]),
)
def test_any_instant_and_price_round_trip_exactly(
    at: datetime, price: Decimal, currency: str
) -> None:
    store = SQLiteStore(":memory:")
    order = make_order(
        placed_at=at, lines=(make_order_line(unit_price=Money(price, currency)),)
    )
    store.orders.add(order)
    got = store.orders.get(order.id)
    assert got == order
    assert got.placed_at.utcoffset() == at.utcoffset()
    assert str(got.lines[0].unit_price.amount) == str(price)
    assert [o.id for o in store.orders.between(at, at + timedelta(microseconds=1))] == [order.id]
    store.close()


# -- capability repositories ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "package", "names"),
    [
        (
            functools.partial(SQLiteStore, ":memory:"),
            "custmgmt.adapters.sqlite",
            {"ratings": "SQLiteRatingRepository", "tickets": "SQLiteTicketRepository"},
        ),
        (
            MemoryStore,
            "custmgmt.adapters.memory",
            {"ratings": "MemoryRatingRepository", "tickets": "MemoryTicketRepository"},
        ),
    ],
)
def test_capability_repositories_are_made_once_and_cached(
    make: type[MemoryStore], package: str, names: dict[str, str]
) -> None:
    made: list[tuple[str, object]] = []
    factories: dict[Any, Any] = {}
    for key in (RATINGS, TICKETS):
        registered = getattr(make, "func", make)._capability_factories[key]

        def factory(arg: object, _name: str = key.name, _real: Any = registered) -> object:
            made.append((_name, arg))
            return _real(arg)

        factories[key] = factory
    store = make(capabilities=factories)
    # The memory store makes them on first use; SQLite at once, outside any transaction.
    assert len(made) == (0 if isinstance(store, MemoryStore) else 2)
    assert store.ratings is store.ratings
    assert store.tickets is store.tickets
    assert [name for name, _ in made] == ["ratings", "tickets"]
    assert type(store.ratings).__name__ == names["ratings"]
    assert type(store.tickets).__module__ == f"{package}.tickets"
    expected_arg = store.tx if isinstance(store, MemoryStore) else store
    assert all(arg is expected_arg for _, arg in made)
    store.close()


def test_the_memory_store_refuses_a_non_iterable_batch() -> None:
    with pytest.raises(ValidationError):
        MemoryStore().orders.add_many(42)  # type: ignore[arg-type]
    with SQLiteStore(":memory:") as store, pytest.raises(ValidationError):
        store.orders.add_many(42)  # type: ignore[arg-type]


def test_unknown_ids_of_other_types_are_not_found() -> None:
    store = SQLiteStore(":memory:")
    with pytest.raises(NotFound):
        store.customers.get(42)  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        store.orders.remove(None)  # type: ignore[arg-type]
    store.close()


def _store_failing_on(order_id: str) -> SQLiteStore:
    """A store whose database refuses one order id halfway through a batch."""
    store = SQLiteStore(":memory:")
    store.apply_migrations(
        "failing",
        [
            (
                "CREATE TRIGGER refuse BEFORE INSERT ON orders "
                f"WHEN NEW.id = '{order_id}' BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
        ],
    )
    return store


def test_a_backend_failure_halfway_through_add_many_stores_nothing() -> None:
    store = _store_failing_on("o-bad")
    batch = [make_order(id=f"o-{n:05d}") for n in range(5000)] + [make_order(id="o-bad")]
    with pytest.raises(StorageError) as raised:
        store.orders.add_many(batch)
    assert isinstance(raised.value.__cause__, sqlite3.Error)
    assert store.orders.count() == 0
    store.close()


def test_a_backend_failure_halfway_through_add_many_dooms_the_enclosing_transaction() -> None:
    store = _store_failing_on("o-bad")
    store.customers.add(make_customer(id="c-before"))
    batch = [make_order(id=f"o-{n:05d}") for n in range(5000)] + [make_order(id="o-bad")]

    def block() -> None:
        with store.transaction():
            store.customers.add(make_customer(id="c-in-block"))
            with pytest.raises(StorageError):
                store.orders.add_many(batch)
            # Caught, but part of the batch was written: the block may not commit.

    with pytest.raises(StorageError, match="rolled back"):
        block()
    assert store.orders.count() == 0
    assert [c.id for chunk in store.customers.iter_chunks() for c in chunk] == ["c-before"]
    # The store is usable again afterwards.
    store.orders.add(make_order(id="o-after"))
    assert store.orders.count() == 1
    store.close()


def test_trusted_and_verified_reads_rebuild_every_field_alike() -> None:
    # Trusted reads set attributes directly: a field added to a domain type later
    # must be added to the decoders too, or this (and the contract) fails.
    customer = make_customer(
        id="c-1",
        kind="business",
        phone=None,
        address=Address(country="CN", city="上海市"),
        business=BusinessProfile(
            legal_name="上海某某有限公司", employees=3, annual_revenue=Money(Decimal(1), "CNY")
        ),
        consent=Consent(sms=True, updated_at=T0),
        credit_limit=Money(Decimal("10.5"), "USD"),
    )
    order = make_order(id="o-1").pay(T0 + timedelta(days=2))
    review = make_interaction_of(Review(rating=3, text="一般"))
    complaint = make_interaction_of(Complaint(category="price", text="太贵"))
    stores = [SQLiteStore(":memory:"), SQLiteStore(":memory:", verify_reads=True)]
    for store in stores:
        store.customers.add(customer)
        store.orders.add(order)
        store.interactions.add_many([review, complaint])
    for trusted, verified in (
        (stores[0].customers.get("c-1"), stores[1].customers.get("c-1")),
        (stores[0].orders.get("o-1"), stores[1].orders.get("o-1")),
        (stores[0].interactions.get(review.id), stores[1].interactions.get(review.id)),
        (stores[0].interactions.get(complaint.id), stores[1].interactions.get(complaint.id)),
    ):
        assert attrs.asdict(trusted) == attrs.asdict(verified)
        assert trusted == verified
        assert hash(trusted) == hash(verified)
    for store in stores:
        store.close()


def make_interaction_of(details: object) -> Interaction:
    kind = type(details).__name__.lower()
    return Interaction(id=f"i-{kind}", customer_id="c-1", kind=kind, at=T0, details=details)


def test_every_read_validates_rows_changed_behind_the_stores_back() -> None:
    # Reads used to trust rows (object.__new__ without validators) unless
    # verify_reads=True; frames no longer decode entities, so every read validates.
    store = SQLiteStore(":memory:")
    assert store.verify_reads
    store.customers.add(make_customer(id="c-1"))
    store.orders.add(make_order(id="o-1"))
    with store.writing() as connection:
        connection.execute("UPDATE customers SET email = 'not an email' WHERE id = 'c-1'")
        connection.execute("UPDATE order_lines SET quantity = 0 WHERE order_id = 'o-1'")
    with pytest.raises(StorageError, match="not valid"):
        store.customers.get("c-1")
    with pytest.raises(StorageError, match="not valid"):
        store.orders.get("o-1")
    store.close()
