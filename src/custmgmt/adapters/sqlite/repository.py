"""What the SQLite core repositories share: adds, updates, removes, counts, decoding."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from typing import Any, Generic

from custmgmt.adapters.sqlite.codecs import storage_error
from custmgmt.adapters.sqlite.database import SQLiteDatabase
from custmgmt.adapters.sqlite.schema import BATCH, Row, T, insert_sql, update_sql
from custmgmt.errors import Conflict, CustMgmtError, NotFound, StorageError, ValidationError

__all__ = []



class _SQLiteRepository(Generic[T]):
    """What the three core repositories share: adds, updates, removes, counts."""

    entity_name: str
    entity_type: type[T]
    table: str
    columns: str

    def __init__(self, store: SQLiteDatabase) -> None:
        self._store = store
        self._insert = insert_sql(self.table, self.columns)
        self._update = update_sql(self.table, self.columns)
        self._select_by_id = self._by_id_sql()

    # -- subclass hooks ----------------------------------------------------------------------
    def _encode(self, entity: T) -> Row:
        raise NotImplementedError

    def _write_children(self, conn: sqlite3.Connection, entities: Sequence[T]) -> None:
        """Insert rows that belong to ``entities`` in other tables (order lines)."""

    def _delete_children(self, conn: sqlite3.Connection, entity_id: str) -> None:
        """Delete rows that belong to the entity in other tables."""

    def _query(self, sql: str, params: Sequence[Any]) -> list[T]:
        raise NotImplementedError

    # -- the Repository protocol ------------------------------------------------------------
    def get(self, entity_id: str) -> T:
        """The stored entity (see :meth:`custmgmt.ports.Repository.get`).

        Raises:
            NotFound: nothing is stored under ``entity_id``.
            StorageError: the database failed.
        """
        if not isinstance(entity_id, str):
            raise NotFound(self.entity_name, entity_id)
        found = self._query(self._select_by_id, (entity_id,))
        if not found:
            raise NotFound(self.entity_name, entity_id)
        return found[0]

    def add(self, entity: T) -> None:
        """Store a new entity (see :meth:`custmgmt.ports.Repository.add`).

        Raises:
            Conflict: the id is already stored.
            StorageError: the database failed.
        """
        self.add_many((entity,))

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

    def _rows(self, batch: Sequence[T]) -> list[Row]:
        encode = self._encode
        kind = self.entity_type
        rows: list[Row] = []
        for entity in batch:
            if type(entity) is not kind and not isinstance(entity, kind):
                raise ValidationError(self.entity_name, entity, f"a {kind.__name__}")
            rows.append(encode(entity))
        return rows

    def _add_many_alone(self, source: Iterator[T]) -> int:
        ids: list[str] = []
        total = 0
        try:
            with self._store._scope():
                conn = self._store.connection
                while True:
                    batch = list(islice(source, BATCH))
                    if not batch:
                        break
                    rows = self._rows(batch)
                    ids.extend([row[0] for row in rows])
                    conn.executemany(self._insert, rows)
                    self._write_children(conn, batch)
                    total += len(batch)
        except sqlite3.IntegrityError as exc:
            raise self._conflict(ids, exc) from exc
        except sqlite3.Error as exc:
            raise storage_error(f"adding {self.entity_name}s", exc) from exc
        return total

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
                conn.executemany(self._insert, rows[start : start + BATCH])
                self._write_children(conn, entities[start : start + BATCH])
        except BaseException as exc:
            # Part of the batch may be written and no savepoint can undo it: the
            # enclosing transaction must not commit.
            self._store._doom()
            if isinstance(exc, sqlite3.Error):
                raise storage_error(f"adding {self.entity_name}s", exc) from exc
            raise
        return len(rows)

    def _insert_encoded(
        self, ids: list[str], write: Callable[[sqlite3.Connection], None]
    ) -> int:
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

    def update(self, entity: T) -> None:
        """Replace the stored entity (see :meth:`custmgmt.ports.Repository.update`).

        Raises:
            NotFound: nothing is stored under ``entity.id``.
            Conflict: the stored version is not ``entity.version - 1``; nothing is written.
            StorageError: the database failed.
        """
        if not isinstance(entity, self.entity_type):
            raise ValidationError(self.entity_name, entity, f"a {self.entity_type.__name__}")
        row: Row = self._encode(entity)
        expected = entity.version - 1
        try:
            with self._store._scope():
                conn = self._store.connection
                changed = conn.execute(self._update, (*row[1:], entity.id, expected)).rowcount
                if changed == 1:
                    self._delete_children(conn, entity.id)
                    self._write_children(conn, (entity,))
                    return
                found = conn.execute(
                    f"SELECT version FROM {self.table} WHERE id = ?", (entity.id,)
                ).fetchone()
        except sqlite3.Error as exc:
            raise storage_error(f"updating {self.entity_name} {entity.id!r}", exc) from exc
        if found is None:
            raise NotFound(self.entity_name, entity.id)
        raise Conflict(
            self.entity_name,
            entity.id,
            f"stored version is {found[0]}, but this copy was made from version {expected} "
            "(reload, change once, then update)",
            expected_version=expected,
            actual_version=int(found[0]),
        )

    def remove(self, entity_id: str) -> None:
        """Delete the entity (see :meth:`custmgmt.ports.Repository.remove`).

        Raises:
            NotFound: nothing is stored under ``entity_id``.
            StorageError: the database failed.
        """
        if not isinstance(entity_id, str):
            raise NotFound(self.entity_name, entity_id)
        try:
            with self._store._scope():
                conn = self._store.connection
                self._delete_children(conn, entity_id)
                removed = conn.execute(
                    f"DELETE FROM {self.table} WHERE id = ?", (entity_id,)
                ).rowcount
        except sqlite3.Error as exc:
            raise storage_error(f"removing {self.entity_name} {entity_id!r}", exc) from exc
        if removed == 0:
            raise NotFound(self.entity_name, entity_id)

    def count(self) -> int:
        """How many entities are stored."""
        with self._store.lock:
            try:
                found = self._store.connection.execute(
                    f"SELECT count(*) FROM {self.table}"
                ).fetchone()
            except sqlite3.Error as exc:
                raise storage_error(f"counting {self.entity_name}s", exc) from exc
        return int(found[0])

    # -- helpers -----------------------------------------------------------------------------
    def _by_id_sql(self) -> str:
        raise NotImplementedError

    def _fetch(self, sql: str, params: Sequence[Any]) -> list[Row]:
        with self._store.lock:
            try:
                return self._store.connection.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise storage_error(f"reading {self.entity_name}s", exc) from exc

    def _decode(self, decode: Callable[..., T], value: Any) -> T:
        try:
            return decode(value)
        except (CustMgmtError, ValueError, TypeError, KeyError, IndexError, OverflowError) as exc:
            # The row was valid when written: something else changed the database.
            raise StorageError(
                f"sqlite: a stored {self.entity_name} row is not valid any more: {exc}"
            ) from exc

    def _conflict(self, ids: list[str], exc: sqlite3.IntegrityError) -> CustMgmtError:
        """Name the id behind a failed add_many (after the batch was rolled back)."""
        conflict = self._find_conflict(ids)
        return storage_error(f"adding {self.entity_name}s", exc) if conflict is None else conflict

    def _find_conflict(self, ids: list[str]) -> Conflict | None:
        """The Conflict for the first id that repeats in ``ids`` or is already stored."""
        seen: set[str] = set()
        for entity_id in ids:
            if entity_id in seen:
                return Conflict(self.entity_name, entity_id, "the id repeats within the batch")
            seen.add(entity_id)
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            marks = ", ".join("?" * len(part))
            found = self._fetch(f"SELECT id FROM {self.table} WHERE id IN ({marks})", part)
            if found:
                return Conflict(self.entity_name, found[0][0], "an entity with this id exists")
        return None
