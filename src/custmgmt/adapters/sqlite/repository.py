"""What the SQLite core repositories share: adds by ``executemany``, and the dialect's
hooks of :class:`~custmgmt.adapters._sql_core_repository.SqlCoreRepository`."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

from custmgmt.adapters._sql_core_repository import SqlCoreRepository
from custmgmt.adapters.sqlite.codecs import storage_error
from custmgmt.adapters.sqlite.database import SQLiteDatabase
from custmgmt.adapters.sqlite.schema import BATCH, Row, T, insert_sql, update_sql
from custmgmt.errors import CustMgmtError, ValidationError

__all__ = []

R = TypeVar("R")


class _SQLiteRepository(SqlCoreRepository[T]):
    """What the three core repositories share in SQLite (see :class:`SqlCoreRepository`)."""

    dialect = "sqlite"
    placeholder = "?"
    batch_size = BATCH
    ids_per_query = 500
    _store: SQLiteDatabase
    _insert_sql = staticmethod(insert_sql)
    _update_sql = staticmethod(update_sql)

    def __init__(self, store: SQLiteDatabase) -> None:
        super().__init__(store)

    # -- the dialect's hooks ----------------------------------------------------------------
    def _write(self, work: Callable[[sqlite3.Connection], R], doing: str) -> R:
        try:
            with self._store._scope():
                return work(self._store.connection)
        except sqlite3.Error as exc:
            raise storage_error(doing, exc) from exc

    def _fetch_rows(self, sql: str, params: Sequence[Any], doing: str) -> list[Row]:
        with self._store.lock:
            try:
                return self._store.connection.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise storage_error(doing, exc) from exc

    def _insert_rows(self, conn: sqlite3.Connection, rows: Sequence[Row]) -> None:
        conn.executemany(self._insert, rows)

    # -- adds -------------------------------------------------------------------------------
    def add_many(self, entities: Iterable[T]) -> int:
        """Store new entities atomically with ``executemany``; returns the count.

        Outside :meth:`SQLiteDatabase.transaction` the input is consumed in batches
        inside one transaction of its own, so a generator of millions of entities
        needs memory for one batch only. Inside one, the whole input is read and
        checked for duplicate ids first and then written without a savepoint (a
        savepoint would copy every page the load touches into a sub-journal).

        Raises:
            Conflict: an id is already stored or repeats within the batch; nothing
                is stored.
            ValidationError: an item is not of the repository's entity type.
            StorageError: the database failed; nothing is stored (inside
                ``transaction()``, the whole transaction then rolls back).
        """
        try:
            source = iter(entities)
        except TypeError:
            raise ValidationError(
                "entities", entities, f"an iterable of {self.entity_type.__name__}"
            ) from None
        with self._store.lock:
            if self._store._depth > 0:
                return self._add_many_in_transaction(list(source))
            return self._add_many_alone(source)

    def _add_many_alone(self, source: Iterator[T]) -> int:
        ids: list[str] = []
        try:
            with self._store._scope():
                return self._insert_batches(self._store.connection, source, ids)
        except sqlite3.IntegrityError as exc:
            raise self._conflict(ids, exc) from exc
        except sqlite3.Error as exc:
            raise storage_error(f"adding {self.entity_name}s", exc) from exc

    def _add_many_in_transaction(self, entities: list[T]) -> int:
        # Every check happens before the first write, so a Conflict or a
        # ValidationError leaves the enclosing transaction untouched.
        rows = self._rows(entities)
        conflict = self._find_conflict([row[0] for row in rows])
        if conflict is not None:
            raise conflict
        conn = self._store.connection
        try:
            for start in range(0, len(rows), BATCH):
                self._insert_rows(conn, rows[start : start + BATCH])
                self._write_children(conn, entities[start : start + BATCH])
        except BaseException as exc:
            # Part of the batch may be written and no savepoint can undo it: the
            # enclosing transaction must not commit.
            self._store._doom()
            if isinstance(exc, sqlite3.Error):
                raise storage_error(f"adding {self.entity_name}s", exc) from exc
            raise
        return len(rows)

    def _insert_encoded(self, ids: list[str], write: Callable[[sqlite3.Connection], None]) -> int:
        """Run ``write`` (the inserts of rows already encoded, whose ids are ``ids``)
        all or nothing, with the semantics of :meth:`add_many`: its own transaction
        (a repeated id found after the rollback), or inside the open one after
        checking every id first (a failure half way dooms that transaction)."""
        with self._store.lock:
            if self._store._depth > 0:
                conflict = self._find_conflict(ids)
                if conflict is not None:
                    raise conflict
                try:
                    write(self._store.connection)
                except BaseException as exc:
                    self._store._doom()
                    if isinstance(exc, sqlite3.Error):
                        raise storage_error(f"adding {self.entity_name}s", exc) from exc
                    raise
                return len(ids)
            try:
                with self._store._scope():
                    write(self._store.connection)
            except sqlite3.IntegrityError as exc:
                raise self._conflict(ids, exc) from exc
            except sqlite3.Error as exc:
                raise storage_error(f"adding {self.entity_name}s", exc) from exc
        return len(ids)

    def _conflict(self, ids: list[str], exc: sqlite3.IntegrityError) -> CustMgmtError:
        """Name the id behind a failed add_many (after the batch was rolled back)."""
        conflict = self._find_conflict(ids)
        return storage_error(f"adding {self.entity_name}s", exc) if conflict is None else conflict
