"""What the PostgreSQL core repositories share: adds by ``COPY``, and the dialect's
hooks of :class:`~custmgmt.adapters._sql_core_repository.SqlCoreRepository`."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import psycopg

from custmgmt.adapters._sql_core_repository import SqlCoreRepository
from custmgmt.adapters.postgres.database import Connection, PostgresDatabase, storage_error
from custmgmt.adapters.postgres.schema import BATCH, Row, insert_sql, update_sql
from custmgmt.domain import Customer, Interaction, Order
from custmgmt.errors import Conflict, CustMgmtError, ValidationError

__all__ = ["copy_rows"]

T = TypeVar("T", Customer, Order, Interaction)
R = TypeVar("R")


def copy_rows(conn: Connection, table: str, columns: str, rows: Iterable[Row]) -> None:
    """Write ``rows`` into ``table`` with one ``COPY ... FROM STDIN``."""
    with conn.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


class _PostgresRepository(SqlCoreRepository[T]):
    """What the three core repositories share in PostgreSQL (see :class:`SqlCoreRepository`)."""

    dialect = "postgres"
    placeholder = "%s"
    batch_size = BATCH
    ids_per_query = 10_000
    _store: PostgresDatabase
    _insert_sql = staticmethod(insert_sql)
    _update_sql = staticmethod(update_sql)

    def __init__(self, store: PostgresDatabase) -> None:
        super().__init__(store)

    # -- the dialect's hooks ----------------------------------------------------------------
    def _write(self, work: Callable[[Connection], R], doing: str) -> R:
        # The store's transaction retries serialisation failures and deadlocks.
        try:
            return self._store.run(work)
        except psycopg.Error as exc:
            raise storage_error(doing, exc) from exc

    def _fetch_rows(self, sql: str, params: Sequence[Any], doing: str) -> list[Row]:
        return self._store.fetch(sql, params, doing=doing)

    def _insert_rows(self, conn: Connection, rows: Sequence[Row]) -> None:
        copy_rows(conn, self.table, self.columns, rows)

    def _stored_among(self, ids: Sequence[str]) -> set[str]:
        # One array parameter, however many ids.
        found = self._fetch(f"SELECT id FROM {self.table} WHERE id = ANY(%s)", (list(ids),))
        return {str(row[0]) for row in found}

    # -- adds -------------------------------------------------------------------------------
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
        try:
            with self._store.writing() as conn:
                return self._insert_batches(conn, source, ids)
        except Conflict as exc:
            raise self._conflict(ids, exc) from exc

    def _insert_encoded(self, ids: list[str], write: Callable[[Connection], None]) -> int:
        """Run ``write`` (the inserts of rows already encoded, whose ids are ``ids``)
        all or nothing, naming the conflicting id if a key is taken."""
        try:
            with self._store.writing() as conn:
                write(conn)
        except Conflict as exc:
            raise self._conflict(ids, exc) from exc
        return len(ids)

    def _conflict(self, ids: list[str], exc: Conflict) -> CustMgmtError:
        """Name the id behind a failed add (after the batch was rolled back)."""
        conflict = self._find_conflict(ids)
        return exc if conflict is None else conflict
