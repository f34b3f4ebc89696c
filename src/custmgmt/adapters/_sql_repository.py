"""What the SQL repositories of tickets, prospects and the service team share: the
dialect's hooks, and SQL written once.

SQLite and PostgreSQL keep the same tables with the same columns and run the same
queries; they differ in the dialect only: the parameter placeholder (``?`` or ``%s``),
how an instant is stored (microseconds ``*_us`` or a ``timestamptz``, both with the
UTC offset in its own column, and read back as exact microseconds), how a list of ids
is matched (``IN (?, ...)`` or ``= ANY(?::text[])``), how many rows are written at
once (``executemany`` or ``COPY``), how a read sees one state of the tables (SQLite's
store lock, a PostgreSQL transaction), the row lock an update takes (PostgreSQL's
``FOR UPDATE``) and how JSON, money and flags are stored (the dialect's
:class:`~custmgmt.adapters._sql_codecs.RowCodec`).

:class:`SqlRepository` names those hooks; ``adapters/sqlite/_dialect.py`` and
``adapters/postgres/_dialect.py`` fill them in once per store, and each capability's
``_sql_<capability>.py`` holds its queries. SQL there is written with ``?``
placeholders and ``{created}`` / ``{at}`` for the stored instant columns;
:meth:`SqlRepository._q` turns it into the dialect's text and :meth:`SqlRepository._select`
names the columns a SELECT reads.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, ClassVar, TypeVar

from custmgmt.adapters._sql_codecs import RowCodec
from custmgmt.adapters._sql_queries import SqlQueries
from custmgmt.errors import Conflict, CustMgmtError, NotFound, StorageError, ValidationError

__all__ = ["DECODE_ERRORS", "Row", "SqlRepository"]

Row = tuple[Any, ...]
T = TypeVar("T")

#: What decoding a row that another program edited can raise (bad values, bad JSON,
#: wrong shapes), turned into a StorageError naming the row.
DECODE_ERRORS: tuple[type[Exception], ...] = (
    CustMgmtError, ValueError, TypeError, KeyError, IndexError, AttributeError,
)  # fmt: skip


class SqlRepository(SqlQueries):
    """A repository over one SQL store; the dialect's subclass fills in the hooks.

    Creating it applies the component's migrations. Writes go through the store's
    ``writing()``, so they join the store's transaction and commit or roll back with
    the store's other writes.
    """

    #: How values are stored (JSON, money, flags, the two columns of an instant).
    codec: ClassVar[RowCodec]
    #: Ids matched by one query (:meth:`_any`).
    ids_per_query: ClassVar[int]
    #: What decoding a row that another program edited can raise (a StorageError then).
    decode_errors: ClassVar[tuple[type[Exception], ...]]
    #: The schema component whose migrations the repository applies when made.
    component: ClassVar[str]
    #: The component's migrations, in the dialect.
    migrations: ClassVar[Sequence[Any]]

    def __init__(self, store: Any) -> None:
        super().__init__(store)
        store.apply_migrations(self.component, self.migrations)

    # -- the dialect's hooks -----------------------------------------------------------
    @abstractmethod
    def _fetch_rows(self, sql: str, params: Sequence[Any], doing: str) -> list[Row]:
        """All rows of one query (already in the dialect's text); a driver error is a
        StorageError saying what was being done."""

    @abstractmethod
    def _reading(self) -> AbstractContextManager[Any]:
        """A block whose reads see one state of the tables."""

    @abstractmethod
    def _insert_rows(self, conn: Any, table: str, columns: str, rows: Iterable[Row]) -> None:
        """Insert many rows (``columns`` in the dialect) at once inside the open write."""

    @abstractmethod
    def _instant(self, value: datetime) -> Any:
        """The stored form of an instant, as a query parameter."""

    @abstractmethod
    def _any(self, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        """A condition (with ``?`` placeholders) that ``column`` is one of ``values``
        (at most :attr:`ids_per_query`), and its parameters."""

    def _lock_row(self, conn: Any, table: str, key: str, what: str) -> None:
        """Lock the row ``key`` of ``table`` until the open write ends (NotFound: no
        such ``what``); by default nothing (SQLite's write transaction already does)."""

    def _locked(self, conn: Any, table: str, what: str, key: str, get: Callable[[str], T]) -> T:
        """``get(key)``, the stored ``what`` that an update replaces, with its row locked
        (:meth:`_lock_row`) until the open write ends."""
        self._lock_row(conn, table, key, what)
        return get(key)

    # -- SQL (written with ``?`` and ``{created}`` / ``{at}``; see SqlQueries) -------------
    def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return self._fetch_rows(sql, params, "reading")

    def _insert_sql(self, table: str, columns: str) -> str:
        """``INSERT`` of every column of ``columns`` into ``table``, in the dialect."""
        marks = ", ".join("?" * (columns.count(",") + 1))
        return self._q(f"INSERT INTO {table} ({columns}) VALUES ({marks})")

    def _update_sql(self, table: str, columns: str) -> str:
        """Optimistic ``UPDATE`` of every column but the first (the id) of ``columns``,
        by id and stored version, in the dialect."""
        assignments = ", ".join(f"{c.strip()} = ?" for c in columns.split(",")[1:])
        return self._q(f"UPDATE {table} SET {assignments} WHERE id = ? AND version = ?")

    def _query(self, sql: str, params: Sequence[Any], doing: str) -> list[Row]:
        """All rows of ``sql`` (written with ``?`` and ``{created}`` / ``{at}``)."""
        return self._fetch_rows(self._q(sql), params, doing)

    def _query_keyed(self, sql: str, params: Sequence[Any], doing: str) -> list[Row]:
        """:meth:`_query` where a parameter that is not valid Unicode text (a lone
        surrogate) is a ValidationError of the ``id``: no stored key can match it."""
        try:
            return self._query(sql, params, doing)
        except UnicodeEncodeError as exc:
            raise ValidationError("id", exc.object, "valid Unicode text") from None

    def _one(self, what: str, key: Any, load: Callable[[], list[T]]) -> T:
        """The first ``what`` that ``load`` finds under ``key``: NotFound where it finds
        none, and where ``key`` is not text or not valid Unicode (no stored key is)."""
        if not isinstance(key, str):
            raise NotFound(what, key)
        try:
            found = load()
        except ValidationError:  # not valid Unicode: nothing has such a key
            found = []
        if not found:
            raise NotFound(what, key)
        return found[0]

    def _insert_one(
        self,
        table: str,
        columns: str,
        row: Callable[[], Row],
        taken: tuple[str, Any, str],
        *,
        check: Callable[[], object] | None = None,
    ) -> None:
        """Insert the one ``row()`` in a write of its own (joining the open transaction),
        after ``check()`` (that what it belongs to exists); a taken key is
        ``Conflict(*taken)``."""
        try:
            with self._store.writing() as conn:
                if check is not None:
                    check()
                conn.execute(self._insert_sql(table, columns), row())
        except Conflict as exc:
            raise Conflict(*taken) from exc

    def _decoded(self, what: str, decode: Callable[[Row], T], rows: Iterable[Row]) -> list[T]:
        """``rows`` decoded; a row that no longer decodes is a StorageError."""
        result = []
        for row in rows:
            try:
                result.append(decode(row))
            except self.decode_errors as exc:
                # The rows were valid when written: something else changed the database.
                raise StorageError(
                    f"{self.dialect}: stored {what} {row[0]!r} is not valid any more: {exc}"
                ) from exc
        return result
