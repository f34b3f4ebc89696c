"""What the PostgreSQL core repositories share: adds (by COPY), updates, removes, counts."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from itertools import islice
from typing import Any, Generic, TypeVar

import psycopg

from custmgmt.adapters.postgres.database import Connection, PostgresDatabase, storage_error
from custmgmt.adapters.postgres.schema import BATCH, Row, insert_sql, update_sql
from custmgmt.domain import Customer, Interaction, Order
from custmgmt.errors import Conflict, CustMgmtError, NotFound, StorageError, ValidationError

__all__ = ["copy_rows"]

T = TypeVar("T", Customer, Order, Interaction)


def copy_rows(conn: Connection, table: str, columns: str, rows: Iterable[Row]) -> None:
    """Write ``rows`` into ``table`` with one ``COPY ... FROM STDIN``."""
    with conn.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


class _PostgresRepository(Generic[T]):
    """What the three core repositories share: adds, updates, removes, counts."""

    entity_name: str
    entity_type: type[T]
    table: str
    columns: str

    def __init__(self, store: PostgresDatabase) -> None:
        self._store = store
        self._insert = insert_sql(self.table, self.columns)
        self._update = update_sql(self.table, self.columns)
        self._select_by_id = self._by_id_sql()

    # -- subclass hooks ----------------------------------------------------------------------
    def _encode(self, entity: T) -> Row:
        raise NotImplementedError

    def _write_children(self, conn: Connection, entities: Sequence[T]) -> None:
        """Insert rows that belong to ``entities`` in other tables (order lines)."""

    def _delete_children(self, conn: Connection, entity_id: str) -> None:
        """Delete rows that belong to the entity in other tables."""

    def _query(self, sql: str, params: Sequence[Any]) -> list[T]:
        raise NotImplementedError

    def _by_id_sql(self) -> str:
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
        """Store new entities atomically with ``COPY ... FROM STDIN``; returns the count.

        The input is consumed in batches (one COPY each) inside one transaction, or
        inside a savepoint of the open one, so a generator of millions of entities
        needs memory for one batch only, and a failure writes nothing.

        Raises:
            Conflict: an id is already stored or repeats within the batch; nothing
                is stored.
            ValidationError: an item is not of the repository's entity type.
            StorageError: the database failed; nothing is stored.
        """
        try:
            source = iter(entities)
        except TypeError:
            raise ValidationError(
                "entities", entities, f"an iterable of {self.entity_type.__name__}"
            ) from None
        ids: list[str] = []
        total = 0
        try:
            with self._store.writing() as conn:
                while True:
                    batch = list(islice(source, BATCH))
                    if not batch:
                        break
                    rows = self._rows(batch)
                    ids.extend([row[0] for row in rows])
                    copy_rows(conn, self.table, self.columns, rows)
                    self._write_children(conn, batch)
                    total += len(batch)
        except Conflict as exc:
            raise self._conflict(ids, exc) from exc
        return total

    def _rows(self, batch: Sequence[T]) -> list[Row]:
        encode = self._encode
        kind = self.entity_type
        rows: list[Row] = []
        for entity in batch:
            if type(entity) is not kind and not isinstance(entity, kind):
                raise ValidationError(self.entity_name, entity, f"a {kind.__name__}")
            rows.append(encode(entity))
        return rows

    def _insert_encoded(self, ids: list[str], write: Callable[[Connection], None]) -> int:
        """Run ``write`` (the inserts of rows already encoded, whose ids are ``ids``)
        all or nothing, naming the conflicting id if a key is taken."""
        try:
            with self._store.writing() as conn:
                write(conn)
        except Conflict as exc:
            raise self._conflict(ids, exc) from exc
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

        def work(conn: Connection) -> Any:
            changed = conn.execute(self._update, (*row[1:], entity.id, expected)).rowcount
            if changed == 1:
                self._delete_children(conn, entity.id)
                self._write_children(conn, (entity,))
                return True
            return conn.execute(
                f"SELECT version FROM {self.table} WHERE id = %s", (entity.id,)
            ).fetchone()

        try:
            found = self._store.run(work)
        except psycopg.Error as exc:
            raise storage_error(f"updating {self.entity_name} {entity.id!r}", exc) from exc
        if found is True:
            return
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

        def work(conn: Connection) -> int:
            self._delete_children(conn, entity_id)
            return conn.execute(f"DELETE FROM {self.table} WHERE id = %s", (entity_id,)).rowcount

        if self._store.run(work) == 0:
            raise NotFound(self.entity_name, entity_id)

    def count(self) -> int:
        """How many entities are stored."""
        found = self._store.fetch(
            f"SELECT count(*) FROM {self.table}", doing=f"counting {self.entity_name}s"
        )
        return int(found[0][0])

    # -- helpers -----------------------------------------------------------------------------
    def _fetch(self, sql: str, params: Sequence[Any]) -> list[Row]:
        return self._store.fetch(sql, params, doing=f"reading {self.entity_name}s")

    def _decode(self, decode: Callable[..., T], value: Any) -> T:
        try:
            return decode(value)
        except (CustMgmtError, ValueError, TypeError, KeyError, IndexError, OverflowError) as exc:
            # The row was valid when written: something else changed the database.
            raise StorageError(
                f"postgres: a stored {self.entity_name} row is not valid any more: {exc}"
            ) from exc

    def _conflict(self, ids: list[str], exc: Conflict) -> CustMgmtError:
        """Name the id behind a failed add (after the batch was rolled back)."""
        conflict = self._find_conflict(ids)
        return exc if conflict is None else conflict

    def _find_conflict(self, ids: list[str]) -> Conflict | None:
        """The Conflict for the first id that repeats in ``ids`` or is already stored."""
        seen: set[str] = set()
        for entity_id in ids:
            if entity_id in seen:
                return Conflict(self.entity_name, entity_id, "the id repeats within the batch")
            seen.add(entity_id)
        for start in range(0, len(ids), 10_000):
            part = ids[start : start + 10_000]
            found = self._fetch(
                f"SELECT id FROM {self.table} WHERE id = ANY(%s) ORDER BY id LIMIT 1", (part,)
            )
            if found:
                return Conflict(self.entity_name, found[0][0], "an entity with this id exists")
        return None

