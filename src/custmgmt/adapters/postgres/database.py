"""The PostgreSQL database under a store: connections, transactions, retries, migrations.

:class:`PostgresDatabase` is what every PostgreSQL repository, core or capability, is
given. It takes connections from a :class:`psycopg_pool.ConnectionPool` (its own, made
from a DSN, or one the host owns) or uses the one connection the host passes in; runs
each write atomically (:meth:`PostgresDatabase.writing`), nests transactions as
savepoints, retries work that failed on a serialisation failure or a deadlock, and
brings each component's tables up to date under an advisory lock
(:meth:`PostgresDatabase.apply_migrations`).

A transaction belongs to the thread that opened it: inside ``store.transaction()``
every repository call of that thread runs on the transaction's connection; other
threads (and other processes) use other connections, so their writes run in parallel
and meet in PostgreSQL's row locks. The optimistic check ``UPDATE ... WHERE id = %s
AND version = %s`` is race-free there: a second writer waits for the first one's row
lock, then finds the version changed and updates nothing (a :class:`Conflict`).

Every driver error leaves as a library error (``raise ... from``): a unique violation
is a :class:`~custmgmt.errors.Conflict`; a serialisation failure or deadlock (SQLSTATE
40001, 40P01) is retried up to ``retries`` times where the store owns the whole
transaction, and is a :class:`~custmgmt.errors.Conflict` after that or inside the
caller's transaction; anything else, a lost connection included, is a
:class:`~custmgmt.errors.StorageError`. A pool replaces a broken connection, so the
next call works again once the server is back.

A call waiting for a connection of the store's own pool looks every
:data:`SERVER_CHECK_SECONDS` whether the server is still there (one direct connection
at a time for the whole store, however many threads wait), so a stopped or lost server
is a StorageError within about a second (or ``connect_timeout``, for a server that
does not answer at all), not after the pool's whole wait (``pool_timeout``, 30 s by
default), which is left to calls that wait for a busy pool.

The driver reports what it runs into besides its exceptions on the ``psycopg``
loggers: the pool's background threads (a connection refused, a server gone, on
``psycopg.pool``), a rollback that failed after the error the store raises. The store
reports those failures as its own errors, so this module gives the ``psycopg`` logger a
:class:`logging.NullHandler`: an application that configured no logging gets no
warnings on stderr from the driver (Python's "last resort" handler), and one that did
still receives every record through its own handlers.
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Self, TypeVar

import psycopg
import psycopg.conninfo
import psycopg.errors
from psycopg_pool import ConnectionPool, PoolClosed, PoolTimeout

from custmgmt._text import mask_dsn, one_line
from custmgmt.adapters._core_store import closed_in_transaction_error, closed_store_error
from custmgmt.adapters._sql_migrations import checked_steps, run_missing_steps
from custmgmt.adapters.postgres.schema import SCHEMA_TABLE, Migration
from custmgmt.domain._validate import is_finite_number
from custmgmt.errors import Conflict, CustMgmtError, StorageError, ValidationError

__all__ = ["PostgresDatabase", "storage_error"]

T = TypeVar("T")
Connection = psycopg.Connection[Any]

#: SQLSTATEs that mean "run the transaction again": serialisation failure, deadlock.
RETRY_STATES = frozenset({"40001", "40P01"})
#: Seconds a call waits for a connection of the store's own pool before it checks that
#: the server is still there (and between checks while it goes on waiting).
SERVER_CHECK_SECONDS = 1.0
#: The most seconds :attr:`PostgresDatabase.pool_timeout` may be.
_MAX_WAIT = 3600
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")

# The driver's warnings duplicate the store's own errors: none on stderr by default.
logging.getLogger("psycopg").addHandler(logging.NullHandler())


class _Retryable(Conflict):
    """A serialisation failure or deadlock: a Conflict that the store may run again."""


def _scrubbed(text: str, dsn: str) -> str:
    """``text`` (a driver's message about ``dsn``) with every form of the DSN's
    password masked: libpq quotes the DSN, or the token it could not read (a bad
    percent escape), back in some errors."""
    found = re.findall(r"(?i)password\s*=\s*('(?:[^'\\]|\\.|'')*'?|[^\s&]+)", dsn)
    found += re.findall(r"(?i)postgres(?:ql)?://[^:/@]*:(.*)@", dsn)
    secrets = {form for s in found for form in (s, s.strip("'"), urllib.parse.unquote(s))}
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, "***")
    return mask_dsn(text)


_URI_SCHEME = re.compile(r"postgres(?:ql)?://", re.IGNORECASE)


def _scheme_lowered(dsn: str) -> str:
    """``dsn`` with a ``postgresql://`` or ``postgres://`` scheme in lower case: URI
    schemes are case-insensitive (RFC 3986), but libpq takes ``PostgreSQL://...``
    for a malformed ``key=value`` string."""
    found = _URI_SCHEME.match(dsn)
    return dsn if found is None else found.group().lower() + dsn[found.end() :]


def _words(text: str) -> str:
    """A driver's message on one line: libpq puts its hint on a line of its own."""
    return one_line(" ".join(text.split()))


def _full(exc: psycopg.Error) -> bool:
    """Whether a refused connection means a server that is there but full (too many
    clients, SQLSTATE 53300), which a busy pool may still wait for."""
    text = str(exc)
    return getattr(exc, "sqlstate", None) == "53300" or (
        "too many clients" in text or "connection slots are reserved" in text
    )


def storage_error(doing: str, exc: BaseException) -> CustMgmtError:
    """The library error for a driver error raised while ``doing`` something."""
    state = getattr(exc, "sqlstate", None)
    if state in RETRY_STATES:
        kind = "deadlock" if state == "40P01" else "serialisation failure"
        return _Retryable(
            "transaction", None, f"postgres: {doing} failed ({kind}); run it again ({exc})"
        )
    if state == "23505":
        return Conflict("row", None, f"a row with this key exists ({exc})")
    if (isinstance(exc, psycopg.OperationalError) and state is None) or (
        state is not None and state.startswith(("08", "57P"))
    ):
        return StorageError(f"postgres: {doing} failed: the connection was lost ({exc})")
    return StorageError(f"postgres: {doing} failed: {exc}")


class PostgresDatabase:
    """Connections to a PostgreSQL database shared by repositories, with transactions,
    retries and migrations in one schema.

    Args:
        target: a DSN (``"postgresql://user@host/db"`` or ``"dbname=... host=..."``):
            the store opens and owns a pool of connections; a
            :class:`psycopg_pool.ConnectionPool` owned by the host (never closed by
            the store); or one :class:`psycopg.Connection` owned by the host (never
            closed; threads take turns on it, and if the host has a transaction open
            on it, the store's writes join it as savepoints).
        schema: the PostgreSQL schema holding the tables (created if missing).
        pool_size: the most connections the store's own pool opens (a DSN only).
        connect_timeout: seconds to wait for the server when connecting.
        retries: how many times work that failed on a serialisation failure or
            deadlock is run again before it is a :class:`Conflict`.
        pool_timeout: the most seconds a call waits for a connection of the store's
            own pool while all are busy (a DSN only; a host's pool waits as the host
            set it up). A server that is gone is reported sooner: see
            :attr:`server_check_seconds`.
        adopt: use a schema that already holds other tables (without it such a
            schema is refused, untouched, as "not a custmgmt schema").
        create: create the schema and tables when missing (default); with False, a
            database without a custmgmt store in ``schema`` is refused, untouched.

    Raises:
        StorageError: a malformed DSN, an unreachable server, a schema that belongs
            to something else, or a schema newer than this library.
        ValidationError: ``target`` is none of the accepted types, ``schema`` is not a
            lower-case identifier, or a number is out of range.
    """

    def __init__(
        self,
        target: str | ConnectionPool[Any] | Connection,
        *,
        schema: str = "custmgmt",
        pool_size: int = 8,
        connect_timeout: float = 10.0,
        retries: int = 5,
        adopt: bool = False,
        create: bool = True,
        pool_timeout: float = 30.0,
    ) -> None:
        if (
            not isinstance(schema, str)
            or not _SCHEMA_NAME.fullmatch(schema)
            or (schema.startswith("pg_") or schema == "information_schema")
        ):
            raise ValidationError(
                "schema", schema, "a lower-case identifier such as 'custmgmt' (not pg_*)"
            )
        if not isinstance(pool_size, int) or isinstance(pool_size, bool) or pool_size < 1:
            raise ValidationError("pool_size", pool_size, "a positive number of connections")
        if not is_finite_number(connect_timeout) or not 0 < connect_timeout <= 3600:
            raise ValidationError("connect_timeout", connect_timeout, "seconds from 0 to 3600")
        if not isinstance(retries, int) or isinstance(retries, bool) or not 0 <= retries <= 100:
            raise ValidationError("retries", retries, "a number of retries from 0 to 100")
        if not is_finite_number(pool_timeout) or not 0 < pool_timeout <= _MAX_WAIT:
            raise ValidationError("pool_timeout", pool_timeout, f"seconds from 0 to {_MAX_WAIT}")
        self.schema = schema
        self._pool_timeout = float(pool_timeout)
        # One server check at a time; _alive_at: when the last one found the server.
        self._server_check = threading.Lock()
        self._alive_at = -float("inf")
        self._retries = retries
        self._connect_timeout = max(1, round(connect_timeout))
        self._adopt = bool(adopt)
        self._create = bool(create)
        self._described = mask_dsn(target) if isinstance(target, str) else type(target).__name__
        self._local = threading.local()
        self._closed = False
        # close() refuses new work at once (_closing), waits for the transactions other
        # threads have open (_active, counted under _settled), then closes (_closed).
        self._closing = False
        self._active = 0
        self._settled = threading.Condition()
        self._lock = threading.RLock()
        self._pool: ConnectionPool[Any] | None = None
        self._conn: Connection | None = None
        self._owns = False
        if isinstance(target, str):
            self._pool = self._open_pool(target, pool_size, connect_timeout)
            self._owns = True
        elif isinstance(target, ConnectionPool):
            self._pool = target
        elif isinstance(target, psycopg.Connection):
            self._conn = target
        else:
            raise ValidationError(
                "database", target, "a DSN, a psycopg_pool.ConnectionPool or a psycopg.Connection"
            )

    # -- opening -------------------------------------------------------------------------
    def _open_pool(self, dsn: str, size: int, timeout: float) -> ConnectionPool[Any]:
        if "\x00" in dsn:
            # libpq would read the DSN up to the NUL only: another database, silently.
            raise StorageError(
                f"postgres: {mask_dsn(dsn)!r} is not a valid DSN (it holds a NUL character)"
            )
        dsn = _scheme_lowered(dsn)
        try:
            psycopg.conninfo.conninfo_to_dict(dsn)  # refuses a malformed DSN, connecting to nothing
        except psycopg.Error as exc:
            raise StorageError(
                f"postgres: {mask_dsn(dsn)!r} is not a valid DSN (expected "
                f"'postgresql://user@host:port/database' or 'dbname=... host=...'): "
                f"{_scrubbed(str(exc), dsn)}"
            ) from exc
        try:
            # One direct connection first: the server's own words when it cannot be
            # reached (a pool would only time out).
            psycopg.connect(dsn, connect_timeout=max(1, round(timeout))).close()
        except psycopg.Error as exc:
            raise StorageError(
                f"postgres: cannot connect to {mask_dsn(dsn)!r}; expected a running "
                f"PostgreSQL server that accepts this DSN: {_scrubbed(str(exc), dsn)}"
            ) from exc
        pool: ConnectionPool[Any] = ConnectionPool(
            dsn,
            min_size=1,
            max_size=size,
            kwargs={"autocommit": True, "connect_timeout": max(1, round(timeout))},
            configure=self._configure,
            check=ConnectionPool.check_connection,
            open=False,
            name=f"custmgmt-{self.schema}",
            timeout=self._pool_timeout,  # what any wait without its own timeout takes
        )  # fmt: skip
        try:
            pool.open(wait=True, timeout=timeout)
        except PoolTimeout as exc:
            pool.close()
            raise StorageError(
                f"postgres: cannot connect to {mask_dsn(dsn)!r}: {_scrubbed(str(exc), dsn)}"
            ) from exc
        return pool

    def _configure(self, conn: Connection) -> None:
        """The store's settings on each new connection of its pool, set after the DSN's
        ``options`` (which stay in force otherwise): set in SQL rather than appended to
        ``options``, whose quoting a DSN could otherwise break (a trailing backslash)."""
        conn.execute(
            "SELECT set_config('search_path', %s, false), set_config('TimeZone', 'UTC', false)",
            (self.schema,),
        )

    @property
    def owns_connections(self) -> bool:
        """Whether the store opened its pool itself (from a DSN)."""
        return self._owns

    @property
    def pool_timeout(self) -> float:
        """The most seconds a call waits for a free connection of the store's own pool."""
        return self._pool_timeout

    @property
    def server_check_seconds(self) -> float:
        """How long a call waits for a connection of the store's own pool before it
        checks that the server is still there: a server found gone (stopped, or
        refusing connections) is a StorageError then, after at most this wait plus
        ``connect_timeout`` for the check itself (a stopped server refuses it at once)."""
        return min(SERVER_CHECK_SECONDS, self._pool_timeout)

    # -- transactions ----------------------------------------------------------------------
    def transaction(self) -> AbstractContextManager[None]:
        """All-or-nothing scope for writes (see :meth:`custmgmt.ports.Store.transaction`).

        The outermost block takes a connection and runs ``BEGIN`` ... ``COMMIT`` on it;
        every repository call of this thread inside joins it. A nested block is a
        savepoint: its failure undoes its own writes, and the outer block decides
        about the rest. A block cannot be run again by the store: a serialisation
        failure or deadlock inside it is a :class:`Conflict` (use :meth:`retrying`
        for work that should be retried).

        Raises:
            StorageError: the transaction could not begin or commit.
            Conflict: a serialisation failure or deadlock.
        """
        return self._scope_none()

    def snapshot(self) -> AbstractContextManager[None]:
        """A block whose reads all see one committed state of the database.

        Outside a transaction it opens one at REPEATABLE READ: every query in it reads
        the snapshot its first query took, whatever other connections commit meanwhile
        (under PostgreSQL's default, READ COMMITTED, each statement takes a new one).
        Such reads never wait for writers and never fail on them. Inside this thread's
        open transaction it joins it (a savepoint), whose isolation the caller chose.

        Raises:
            StorageError: the transaction could not begin.
        """
        return self._scope_none(snapshot=True)

    @contextmanager
    def _scope_none(self, *, snapshot: bool = False) -> Iterator[None]:
        with self._scope(snapshot=snapshot):
            yield

    def retrying(self, work: Callable[[], T]) -> T:
        """Run ``work()`` in a transaction, again (up to ``retries`` times, after a short
        random pause) when it fails on a serialisation failure or deadlock.

        Inside an open transaction it runs once, in a savepoint: only the outermost
        transaction can be run again.

        Raises:
            Conflict: it failed on a serialisation failure or deadlock every time.
        """
        return self.run(lambda _conn: work())

    def run(self, work: Callable[[Connection], T]) -> T:
        """Run ``work(connection)`` in a transaction, retried as :meth:`retrying` says."""
        if self.in_transaction:
            with self._scope() as conn:
                return work(conn)
        for attempt in range(self._retries + 1):
            try:
                with self._scope() as conn:
                    return work(conn)
            except _Retryable:
                if attempt == self._retries:
                    raise
                time.sleep(random.uniform(0, 0.002 * 2**attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    @property
    def in_transaction(self) -> bool:
        """Whether this thread has one of the store's transactions open."""
        return getattr(self._local, "conn", None) is not None

    @property
    def in_host_transaction(self) -> bool:
        """Whether the host's connection the store was given has a transaction of the
        host's open, which may still undo what the store writes on it."""
        return (
            self._conn is not None
            and self._conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE
        )

    @contextmanager
    def _scope(self, *, snapshot: bool = False) -> Iterator[Connection]:
        """This thread's transaction (a savepoint in it), or a new one on a connection
        of its own; driver errors become library errors."""
        local = self._local
        conn: Connection | None = getattr(local, "conn", None)
        if conn is not None:
            if self._closed:
                raise closed_store_error("postgres")
            try:
                with conn.transaction():
                    yield conn
                    if self._closed:
                        raise closed_in_transaction_error("postgres")
            except psycopg.Error as exc:
                raise storage_error("a write", exc) from exc
            return
        with self._settled:
            if self._closing:
                raise closed_store_error("postgres")
            self._active += 1
        try:
            with self._outermost(snapshot) as conn:
                yield conn
        finally:
            with self._settled:
                self._active -= 1
                self._settled.notify_all()

    @contextmanager
    def _outermost(self, snapshot: bool) -> Iterator[Connection]:
        """A new transaction on a connection of the store's (see :meth:`_scope`)."""
        local = self._local
        with self._connection() as conn:
            # A host's connection may be inside the host's own transaction: the block
            # is a savepoint there, where the isolation can no longer be chosen.
            idle = conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
            try:
                with conn.transaction():
                    if snapshot and idle:
                        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                    if not self._owns:
                        conn.execute(
                            "SELECT set_config('search_path', %s, true), "
                            "set_config('TimeZone', 'UTC', true)",
                            (self.schema,),
                        )
                    local.conn = conn
                    try:
                        yield conn
                        if self._closed:
                            raise closed_in_transaction_error("postgres")
                    finally:
                        local.conn = None
            except psycopg.Error as exc:
                raise storage_error("a transaction", exc) from exc

    @contextmanager
    def _connection(self) -> Iterator[Connection]:
        if self._closing:
            raise closed_store_error("postgres")
        if self._pool is not None:
            pool = self._pool
            try:
                conn = self._pool_connection(pool)
                try:
                    with conn:  # as pool.connection() does: commit, or roll back
                        yield conn
                finally:
                    pool.putconn(conn)
            except PoolTimeout as exc:
                raise self._no_connection(exc) from exc
            except PoolClosed as exc:
                # Only a host's pool can be closed under an open store.
                raise StorageError(
                    f"postgres: the host's connection pool is closed ({exc}); open "
                    "the store on an open pool"
                ) from exc
            except psycopg.Error as exc:
                raise storage_error("connecting", exc) from exc
        else:
            assert self._conn is not None
            with self._lock:
                if self._conn.closed:
                    raise StorageError("postgres: the host's connection is closed")
                yield self._conn

    def _pool_connection(self, pool: ConnectionPool[Any]) -> Connection:
        """A connection of ``pool`` (to be put back). The store's own pool is waited
        for :attr:`server_check_seconds` at a time, checking the server in between: a
        server that is gone is a StorageError then, not a PoolTimeout after the whole
        :attr:`pool_timeout`. A host's pool waits as the host set it up.

        Raises:
            StorageError: the server is gone.
            PoolTimeout: no connection became free in time.
        """
        if not self._owns:
            conn: Connection = pool.getconn()
            return conn
        deadline = time.monotonic() + self._pool_timeout
        while True:
            left = deadline - time.monotonic()
            try:
                conn = pool.getconn(timeout=max(0.001, min(self.server_check_seconds, left)))
                return conn
            except PoolTimeout:
                if time.monotonic() >= deadline:
                    raise
                lost = self._lost_server(pool)
                if lost is not None:
                    raise lost from lost.__cause__  # the driver's error of the check

    def _lost_server(self, pool: ConnectionPool[Any]) -> StorageError | None:
        """The error saying the server is gone, or None when it takes a connection (or
        refuses one only for being full). One check at a time, and none within
        :attr:`server_check_seconds` of one that found the server: threads that wait
        together do not each open a connection to a busy server."""
        with self._server_check:
            if time.monotonic() - self._alive_at < self.server_check_seconds:
                return None
            dsn = str(pool.conninfo)
            try:
                psycopg.connect(dsn, connect_timeout=self._connect_timeout).close()
            except psycopg.Error as down:
                if not _full(down):
                    return self._lost(dsn, down)
            self._alive_at = time.monotonic()
            return None

    def _lost(self, dsn: str, down: psycopg.Error) -> StorageError:
        """The error of a server gone, with the server's own words (the driver's error
        as its ``__cause__``)."""
        error = StorageError(
            f"postgres: lost the server of {mask_dsn(dsn)!r}; expected a running "
            f"PostgreSQL server that accepts this DSN: {_words(_scrubbed(str(down), dsn))}"
        )
        error.__cause__ = down
        error.__suppress_context__ = True
        return error

    def _no_connection(self, exc: PoolTimeout) -> StorageError:
        """Why the pool gave no connection in time: the server's own words when the
        store's pool cannot reach it any more (the pool only says it waited), else a
        pool whose connections all stayed busy."""
        if self._owns and self._pool is not None:
            dsn = str(self._pool.conninfo)
            try:
                psycopg.connect(dsn, connect_timeout=self._connect_timeout).close()
            except psycopg.Error as down:
                if not _full(down):
                    return self._lost(dsn, down)
        return StorageError(f"postgres: no connection to the server became free: {exc}")

    # -- hooks for repositories ----------------------------------------------------------
    @contextmanager
    def writing(self) -> Iterator[Connection]:
        """Run writes atomically inside the store's transaction, yielding the connection.

        Joins this thread's open transaction (as a savepoint, so a failure here undoes
        only this block's writes) or runs its own ``BEGIN`` ... ``COMMIT``. Driver
        errors leave as library errors (a unique violation as :class:`Conflict`).
        """
        with self._scope() as conn:
            yield conn

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A connection for reads: this thread's transaction if one is open, else a
        connection of the store's own (autocommit: no transaction needed for one query)
        or a transaction on the host's. Driver errors become StorageError."""
        if self.in_transaction or not self._owns:
            with self._scope() as conn:
                yield conn
            return
        with self._connection() as conn:
            try:
                yield conn
            except psycopg.Error as exc:
                raise storage_error("reading", exc) from exc

    def fetch(self, sql: str, params: Sequence[Any] = (), *, doing: str = "reading") -> list[Any]:
        """All rows of one query."""
        with self.reading() as conn:
            try:
                return conn.execute(sql, params).fetchall()
            except psycopg.Error as exc:
                raise storage_error(doing, exc) from exc

    # -- migrations ------------------------------------------------------------------------
    def apply_migrations(self, component: str, migrations: Sequence[Migration]) -> int:
        """Bring ``component``'s schema up to ``len(migrations)``; returns that version.

        ``custmgmt_schema`` records each component's version: migration ``k`` (from 1)
        runs only when the recorded version is below ``k``. The migrations run in one
        transaction holding an advisory lock on the schema, so processes that start
        at once take turns and each finds the work done by the first. A migration is
        SQL text or a function taking the connection; do not commit in it.

        Raises:
            ValidationError: ``component`` is blank or a migration is neither str nor callable.
            StorageError: a migration failed, the schema records a newer version than
                ``migrations`` knows, or the schema belongs to something else.
        """
        steps = checked_steps(component, migrations)
        if self.schema_version(component) == len(steps):
            return len(steps)  # the common case: one indexed read, no lock
        if not self._create and not self._has_schema_table():
            raise StorageError(
                f"postgres: {self._described!r} holds no custmgmt store in schema "
                f"{self.schema!r} (no {self.schema}.custmgmt_schema table); create one "
                "first (e.g. custmgmt demo --db DSN, or PostgresStore(DSN))"
            )
        try:
            with self._scope() as conn:
                conn.execute(
                    "SELECT pg_advisory_xact_lock(hashtext(%s))", (f"custmgmt:{self.schema}",)
                )
                self._check_schema(conn)
                conn.execute(f"CREATE SCHEMA IF NOT EXISTS {self.schema}")
                conn.execute(SCHEMA_TABLE)
                run_missing_steps(
                    conn,
                    component,
                    steps,
                    placeholder="%s",
                    statements=lambda sql: (sql,),
                    newer=lambda current: (
                        f"postgres: schema {self.schema!r}: {component!r} is at version "
                        f"{current}, newer than the {len(steps)} migrations this library "
                        "knows (upgrade custmgmt)"
                    ),
                )
        except psycopg.Error as exc:
            raise storage_error(f"migrating {component!r}", exc) from exc
        return len(steps)

    def _check_schema(self, conn: Connection) -> None:
        """Refuse a schema that holds tables but no ``custmgmt_schema`` (unless adopted)."""
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                (self.schema,),
            ).fetchall()
        ]
        if tables and "custmgmt_schema" not in tables and not self._adopt:
            raise StorageError(
                f"postgres: schema {self.schema!r} is not a custmgmt schema (it holds "
                f"{sorted(tables)[:10]}, with no custmgmt_schema table); choose another "
                "schema (schema=...) or pass adopt=True to add the custmgmt tables to it"
            )

    def _has_schema_table(self) -> bool:
        rows = self.fetch(
            "SELECT to_regclass(%s) IS NOT NULL",
            (f"{self.schema}.custmgmt_schema",),
            doing="reading the schema version",
        )
        return bool(rows[0][0])

    def schema_version(self, component: str) -> int:
        """The recorded schema version of ``component`` (0 when it has none)."""
        if not self._has_schema_table():
            return 0
        found = self.fetch(
            "SELECT version FROM custmgmt_schema WHERE component = %s",
            (component,),
            doing="reading the schema version",
        )
        return 0 if not found else int(found[0][0])

    # -- closing ---------------------------------------------------------------------------
    def close(self) -> None:
        """Close the store: every later use raises StorageError ("the store is closed").

        The store's own pool is closed (a host's pool or connection stays open).
        Closing again does nothing. New work is refused at once; transactions other
        threads have open are waited for and end as they would have (as in the memory
        and SQLite stores, whose transactions hold the store's lock).

        Closed inside this thread's own :meth:`transaction` block, the store refuses
        every call at once, and the block ends with StorageError: its writes are
        rolled back (on a host's connection, to where the store's block began). It
        waits for nobody then (another thread may be waiting for this one's row
        locks): other threads' open transactions end the same way.
        """
        with self._settled:
            if self._closing:
                return
            self._closing = True
            if not self.in_transaction:
                self._settled.wait_for(lambda: self._active == 0)
            self._closed = True
        if self._owns and self._pool is not None:
            self._pool.close()

    def _check_open(self) -> None:
        if self._closed:
            raise closed_store_error("postgres")

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
