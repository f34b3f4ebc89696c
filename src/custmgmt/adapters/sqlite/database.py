"""The SQLite database under a store: one connection, its lock, transactions, migrations.

:class:`SQLiteDatabase` is what every SQLite repository, core or capability, is given:
it runs writes atomically (:meth:`SQLiteDatabase.writing`), nests transactions as
savepoints, and brings each component's tables up to date
(:meth:`SQLiteDatabase.apply_migrations`). :class:`~custmgmt.adapters.sqlite.SQLiteStore`
is a database with the repositories on top.

Transactions are explicit: every write runs inside ``BEGIN IMMEDIATE`` ... ``COMMIT``
(or inside a savepoint when it joins an open transaction), so concurrent writers on
other connections queue on SQLite's lock (``busy_timeout``) instead of failing, and
the optimistic check ``UPDATE ... WHERE id = ? AND version = ?`` is race-free across
connections and processes. One store holds one connection, shared by its threads
under a re-entrant lock.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import urllib.parse
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from typing import Self

from custmgmt.adapters._core_store import closed_in_transaction_error, closed_store_error
from custmgmt.adapters._sql_migrations import checked_steps, run_missing_steps
from custmgmt.adapters.sqlite._files import (
    MIN_DATABASE_SIZE,
    is_foreign_file,
    special_file_kind,
)
from custmgmt.adapters.sqlite.codecs import storage_error
from custmgmt.adapters.sqlite.schema import SCHEMA_TABLE, Migration, split_sql
from custmgmt.domain._validate import is_finite_number
from custmgmt.errors import Conflict, StorageError, ValidationError

__all__ = ["OPEN_MODES", "SQLiteDatabase"]

# SQLite's busy timeout is a 32-bit count of milliseconds: about 24 days at most.
_MAX_TIMEOUT = 2_000_000
#: How a database file may be opened (the ``mode`` argument).
OPEN_MODES = ("create", "existing", "read_only")


class SQLiteDatabase:
    """An SQLite connection shared by repositories, with transactions and migrations.

    File databases use WAL journaling (readers never block the writer) with
    ``synchronous=NORMAL``; every connection waits up to ``timeout`` seconds for
    another connection's write to finish. A connection the host passes in stays the
    host's: it is never closed and its settings are never changed.

    A database file is never taken over by accident: before anything is changed (its
    journal mode included), a file that holds tables but no ``custmgmt_schema`` table
    is refused as "not a custmgmt store" unless ``adopt=True``.

    Args:
        database: a path (``str`` or ``Path``), ``":memory:"``, or an open
            :class:`sqlite3.Connection` owned by the host.
        timeout: seconds to wait for another connection's lock before failing (a
            finite number of seconds, up to about 24 days).
        verify_reads: accepted for compatibility; every entity read is rebuilt
            through its validating constructor.
        mode: for a path, ``"create"`` (the default: open a store, or make one in a
            new or empty file), ``"existing"`` (an existing custmgmt store only; its
            schema is upgraded if older) or ``"read_only"`` (an existing custmgmt
            store, opened read-only: nothing is written, not even the journal mode,
            so a read-only file or file system can be read; writes fail with
            :class:`~custmgmt.errors.StorageError`).
        adopt: with ``mode="create"``, add the custmgmt tables to a database that
            already holds other tables (and switch it to WAL journaling).

    Raises:
        StorageError: the database cannot be opened, or is not a custmgmt store
            (see ``mode`` and ``adopt``).
        ValidationError: ``database`` is none of the accepted types or a path with a
            NUL character, ``timeout`` is not a number of seconds in range, or
            ``mode`` is not one of :data:`OPEN_MODES` (only ``"create"`` for
            ``":memory:"``).
    """

    def __init__(
        self,
        database: str | os.PathLike[str] | sqlite3.Connection,
        *,
        timeout: float = 30.0,
        verify_reads: bool = False,
        mode: str = "create",
        adopt: bool = False,
    ) -> None:
        if not is_finite_number(timeout) or not 0 <= timeout <= _MAX_TIMEOUT:
            raise ValidationError(
                "timeout", timeout, f"a number of seconds from 0 to {_MAX_TIMEOUT:,}"
            )
        if mode not in OPEN_MODES:
            raise ValidationError("mode", mode, f"one of {list(OPEN_MODES)}")
        self._read_only = mode == "read_only"
        del verify_reads  # every read validates (see the property)
        self._lock = threading.RLock()
        self._depth = 0
        self._owner: int | None = None
        self._doomed = False
        self._closed = False
        if isinstance(database, sqlite3.Connection):
            self._conn = database
            self._owns_connection = False
        elif isinstance(database, str | os.PathLike):
            target: str | bytes = os.fspath(database)  # a PathLike may give bytes
            if ("\x00" if isinstance(target, str) else b"\x00") in target:  # type: ignore[operator]
                raise ValidationError("database", database, "a path without NUL characters")
            self._conn = self._open(database, timeout, mode, bool(adopt))
            self._owns_connection = True
        else:
            raise ValidationError(
                "database", database, "a path, ':memory:' or an sqlite3.Connection"
            )

    @property
    def verify_reads(self) -> bool:
        """Whether rows are rebuilt through the validating constructors when read:
        always (analytics read columns, not entities, so nothing needs trusted
        decoding any more)."""
        return True

    @property
    def read_only(self) -> bool:
        """Whether the database was opened with ``mode="read_only"``."""
        return self._read_only

    @staticmethod
    def _connect(target: str, timeout: float, query: str = "") -> sqlite3.Connection:
        try:
            # isolation_level=None: no implicit transactions; the store issues BEGIN
            # IMMEDIATE itself so a write never upgrades a read lock (which in WAL
            # mode fails at once instead of waiting).
            return sqlite3.connect(
                f"file:{urllib.parse.quote(os.path.abspath(target))}?{query}" if query else target,
                timeout=timeout,
                isolation_level=None,
                check_same_thread=False,
                uri=bool(query),
            )
        except sqlite3.Error as exc:
            raise storage_error(f"opening {target!r}", exc) from exc

    @classmethod
    def _open(
        cls, path: str | os.PathLike[str], timeout: float, mode: str, adopt: bool
    ) -> sqlite3.Connection:
        target = os.fspath(path)
        in_memory = target == ":memory:" or target == ""
        if in_memory and mode != "create":
            raise ValidationError("mode", mode, "'create' for an in-memory database")
        kind = None if in_memory else special_file_kind(target)
        if kind is not None:
            raise ValidationError("database", target, f"a database file (it is {kind})")
        if not in_memory and is_foreign_file(target):
            # Checked before SQLite opens it: SQLite writes a new database over a file
            # of one byte (it refuses larger files that are no database by itself).
            raise StorageError(
                f"sqlite: {target!r} is not an SQLite database (it holds fewer bytes "
                f"than the smallest one, {MIN_DATABASE_SIZE}); nothing was changed"
            )
        query = {"create": "", "existing": "mode=rw", "read_only": "mode=ro"}[mode]
        conn = cls._connect(target, timeout, query)
        try:
            try:
                tables = _tables(conn)
            except sqlite3.OperationalError:
                if mode != "read_only":
                    raise
                # A WAL database on a read-only file system cannot make its shared
                # memory file: read it as immutable (nobody can change it there).
                conn.close()
                conn = cls._connect(target, timeout, "mode=ro&immutable=1")
                tables = _tables(conn)
            if (
                "custmgmt_schema" not in tables
                and (tables or mode != "create")
                and not (adopt and mode == "create")
            ):
                found = f"its tables are {sorted(tables)}" if tables else "it is empty"
                hint = (
                    "; SQLiteStore(..., adopt=True) adds the custmgmt tables to it"
                    if tables
                    else ""
                )
                raise StorageError(
                    f"sqlite: {target!r} is not a custmgmt store ({found}, with no "
                    f"custmgmt_schema table){hint}"
                )
            conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            conn.execute("PRAGMA foreign_keys = ON")
            if not in_memory and mode != "read_only":
                conn.execute("PRAGMA journal_mode = WAL")
                # In WAL mode NORMAL never corrupts the database; a power cut may lose
                # the last commits, a killed process loses nothing committed.
                conn.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.Error as exc:
            conn.close()
            raise storage_error(f"configuring {target!r}", exc) from exc
        except BaseException:
            conn.close()
            raise
        return conn

    def transaction(self) -> AbstractContextManager[None]:
        """All-or-nothing scope for writes (see :meth:`custmgmt.ports.Store.transaction`).

        The outermost block runs ``BEGIN IMMEDIATE`` ... ``COMMIT`` and holds the
        store's lock, so other threads using this store wait for it; a nested block
        is a savepoint: its failure undoes its own writes, and the outer block decides
        about the rest.

        Raises:
            StorageError: the transaction could not begin or commit.
        """
        return self._scope()

    @property
    def in_transaction(self) -> bool:
        """Whether what this thread writes now may still be undone: it has a
        :meth:`transaction` block open, or the host's connection the store was given
        has a transaction of the host's open."""
        if self._depth > 0:
            return self._owner == threading.get_ident()
        return not self._closed and self._conn.in_transaction

    def close(self) -> None:
        """Close the store: every later use raises StorageError ("the store is closed").

        The connection is closed if the store opened it (a host's stays open). Closing
        again does nothing. A transaction another thread has open is waited for (it
        holds the store's lock). Closed inside this thread's own :meth:`transaction`
        block, the store refuses every call at once, and the block ends with
        StorageError when it ends: its writes are rolled back (on a host's connection,
        to where the store's block began) and only then is the connection closed.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._depth == 0:
                self._release()

    def _check_open(self) -> None:
        if self._closed:
            raise closed_store_error("sqlite")

    def _release(self) -> None:
        """Close the store's own connection (a host's stays open)."""
        if self._owns_connection:
            try:
                self._conn.close()
            except sqlite3.Error as exc:
                raise storage_error("closing", exc) from exc

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- hooks for capability repositories ---------------------------------------------------
    @property
    def connection(self) -> sqlite3.Connection:
        """The store's connection, for capability repositories' own queries.

        Hold :attr:`lock` around its use (``with store.lock:``) when the store is
        shared between threads; write through :meth:`writing`.

        Raises:
            StorageError: the store was closed.
        """
        if self._closed:
            raise closed_store_error("sqlite")
        return self._conn

    @property
    def lock(self) -> threading.RLock:
        """The re-entrant lock that serialises use of :attr:`connection`."""
        return self._lock

    @contextmanager
    def writing(self) -> Iterator[sqlite3.Connection]:
        """Run writes atomically inside the store's transaction, yielding the connection.

        Joins the transaction that is open (as a savepoint, so a failure here undoes
        only this block's writes) or runs its own ``BEGIN IMMEDIATE`` ... ``COMMIT``.
        An exception rolls the block back and propagates; raw :class:`sqlite3.Error`
        leaving the block becomes :class:`~custmgmt.errors.StorageError` (a UNIQUE
        violation becomes :class:`~custmgmt.errors.Conflict`).

        >>> store = SQLiteDatabase(":memory:")
        >>> with store.writing() as conn:
        ...     _ = conn.execute("CREATE TABLE notes (id TEXT PRIMARY KEY, text TEXT)")
        ...     _ = conn.execute("INSERT INTO notes VALUES ('n1', '回访')")
        >>> store.connection.execute("SELECT text FROM notes").fetchone()
        ('回访',)
        >>> store.close()
        """
        with self._scope():
            try:
                yield self._conn
            except sqlite3.IntegrityError as exc:
                if "UNIQUE" in str(exc) or "PRIMARY KEY" in str(exc):
                    raise Conflict("row", None, f"a row with this key exists ({exc})") from exc
                raise storage_error("writing", exc) from exc
            except sqlite3.Error as exc:
                raise storage_error("writing", exc) from exc

    def apply_migrations(self, component: str, migrations: Sequence[Migration]) -> int:
        """Bring ``component``'s schema up to ``len(migrations)``; returns that version.

        ``custmgmt_schema`` records each component's version: migration ``k`` (from 1)
        runs only when the recorded version is below ``k``. The missing migrations and
        the new version are written in one transaction, so a failing migration leaves
        the schema and its recorded version as they were. A migration is SQL text (one
        or more statements) or a function taking the connection; do not commit in it.

        Call it outside :meth:`transaction` where possible: inside one, the new tables
        disappear again if the transaction rolls back.

        >>> store = SQLiteDatabase(":memory:")
        >>> store.apply_migrations("notes", ["CREATE TABLE notes (id TEXT PRIMARY KEY)"])
        1
        >>> store.apply_migrations("notes", ["CREATE TABLE notes (id TEXT PRIMARY KEY)"])
        1
        >>> store.close()

        Raises:
            ValidationError: ``component`` is blank or a migration is neither str nor callable.
            StorageError: a migration failed, or the database records a newer version
                than ``migrations`` knows.
        """
        steps = checked_steps(component, migrations)
        if self._read_only:
            return self._check_version(component, len(steps))
        if self._recorded_version(component) == len(steps):
            # The common case, a read only: opening a store takes no write lock, so it
            # never waits for (or fails on) another connection's open transaction.
            return len(steps)
        with self._scope():
            conn = self.connection
            try:
                conn.execute(SCHEMA_TABLE)

                run_missing_steps(
                    conn,
                    component,
                    steps,
                    placeholder="?",
                    statements=split_sql,
                    newer=lambda current: (
                        f"sqlite: schema of {component!r} is at version {current}, newer than "
                        f"the {len(steps)} migrations this library knows"
                    ),
                )
            except sqlite3.Error as exc:
                raise storage_error(f"migrating {component!r}", exc) from exc
        return len(steps)

    def schema_version(self, component: str) -> int:
        """The recorded schema version of ``component`` (0 when it has none)."""
        with self._lock:
            try:
                found = self.connection.execute(
                    "SELECT version FROM custmgmt_schema WHERE component = ?", (component,)
                ).fetchone()
            except sqlite3.Error as exc:
                raise storage_error("reading the schema version", exc) from exc
        return 0 if found is None else int(found[0])

    def _recorded_version(self, component: str) -> int | None:
        """The recorded schema version of ``component``; None without a schema table."""
        with self._lock:
            try:
                conn = self.connection
                if not conn.execute(
                    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                    ("custmgmt_schema",),
                ).fetchone():
                    return None
                found = conn.execute(
                    "SELECT version FROM custmgmt_schema WHERE component = ?", (component,)
                ).fetchone()
            except sqlite3.Error as exc:
                raise storage_error("reading the schema version", exc) from exc
        return None if found is None else int(found[0])

    def _check_version(self, component: str, needed: int) -> int:
        """In a read-only database: the recorded version, if this library can read it.

        A component the store never had (version 0) is no error here: its tables are
        missing, and reading them fails with a StorageError naming the table.
        """
        current = self.schema_version(component)
        if current == 0 and component != "core":
            return 0
        if current != needed:
            raise StorageError(
                f"sqlite: the schema of {component!r} is at version {current} and this "
                f"library reads version {needed}; open the store writable once "
                f"(mode='existing') to upgrade it"
                if current < needed
                else f"sqlite: schema of {component!r} is at version {current}, newer than "
                f"the {needed} migrations this library knows"
            )
        return current

    # -- internals -------------------------------------------------------------------------
    @contextmanager
    def _scope(self) -> Iterator[None]:
        """Hold the lock; BEGIN IMMEDIATE ... COMMIT, or a savepoint inside an open one."""
        with self._lock:
            conn = self.connection
            if self._depth > 0 or conn.in_transaction:
                name = f"custmgmt_{self._depth}"
                self._run(conn, f"SAVEPOINT {name}", "opening a savepoint")
                if self._depth == 0:
                    self._owner = threading.get_ident()
                self._depth += 1
                try:
                    yield
                    if self._closed:
                        raise closed_in_transaction_error("sqlite")
                except BaseException:
                    self._quietly(conn, f"ROLLBACK TO {name}")
                    self._quietly(conn, f"RELEASE {name}")
                    raise
                else:
                    self._run(conn, f"RELEASE {name}", "releasing a savepoint")
                finally:
                    self._depth -= 1
                    if self._closed and self._depth == 0:
                        self._release()
            else:
                self._run(conn, "BEGIN IMMEDIATE", "beginning a transaction")
                self._owner = threading.get_ident()
                self._depth += 1
                try:
                    yield
                    if self._closed:
                        raise closed_in_transaction_error("sqlite")
                except BaseException:
                    self._quietly(conn, "ROLLBACK")
                    raise
                else:
                    if self._doomed:
                        self._quietly(conn, "ROLLBACK")
                        raise StorageError(
                            "sqlite: the transaction was rolled back: a write inside it "
                            "failed halfway"
                        )
                    try:
                        conn.execute("COMMIT")
                    except sqlite3.Error as exc:
                        self._quietly(conn, "ROLLBACK")
                        raise storage_error("committing", exc) from exc
                finally:
                    self._depth -= 1
                    self._doomed = False
                    if self._closed:
                        self._release()

    def _doom(self) -> None:
        """Make the open transaction roll back at its end, whatever happens in between."""
        self._doomed = True

    @staticmethod
    def _run(conn: sqlite3.Connection, sql: str, doing: str) -> None:
        try:
            conn.execute(sql)
        except sqlite3.Error as exc:
            raise storage_error(doing, exc) from exc

    @staticmethod
    def _quietly(conn: sqlite3.Connection, sql: str) -> None:
        # Rolling back after a failure: SQLite may already have rolled back by itself
        # (disk full, interrupted), and the original error is the one to report.
        if conn.in_transaction:
            with suppress(sqlite3.Error):
                conn.execute(sql)


def _tables(conn: sqlite3.Connection) -> set[str]:
    """The user tables and views of the database (SQLite's own ``sqlite_*`` left out)."""
    rows = conn.execute(
        "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
        "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
    ).fetchall()
    return {str(name) for (name,) in rows}
