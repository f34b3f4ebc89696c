"""What the SQL repositories of customers, orders and interactions share, in both dialects.

SQLite and PostgreSQL keep the core entities in the same tables and check them the
same way: ``get`` by id, ``update`` with the optimistic version check, ``remove``,
``count``, encoding a batch and naming the id behind a failed add. They differ in
the dialect only, and :class:`SqlCoreRepository` names those differences as hooks:
the parameter placeholder (``?`` or ``%s``), how a write runs in the store's
transaction and which driver errors it translates (:meth:`~SqlCoreRepository._write`),
how many rows are inserted at once (``executemany`` or ``COPY``), how many ids one
query may match, and how a read reaches the database. ``adapters/sqlite/repository.py``
and ``adapters/postgres/repository.py`` fill them in; how ``add_many`` runs (SQLite's
in-transaction path without a savepoint, PostgreSQL's COPY in a savepoint) stays there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from typing import Any, ClassVar, Generic, TypeVar

from custmgmt.adapters._checks import check_entity, first_taken_id, stale_copy, stored_key
from custmgmt.adapters._sql_repository import Row
from custmgmt.domain import Customer, Interaction, Order
from custmgmt.errors import Conflict, CustMgmtError, NotFound, StorageError

__all__ = ["SqlCoreRepository"]

T = TypeVar("T", Customer, Order, Interaction)
R = TypeVar("R")


class SqlCoreRepository(Generic[T]):
    """What the three core repositories share: gets, adds, updates, removes, counts.

    A subclass names the entity (``entity_name``, ``entity_type``), its ``table`` and
    ``columns``; the dialect's subclass fills in the hooks below.
    """

    entity_name: str
    entity_type: type[T]
    table: str
    columns: str
    #: The dialect, first word of a StorageError about a stored row.
    dialect: ClassVar[str]
    #: The placeholder of one query parameter (``?`` or ``%s``).
    placeholder: ClassVar[str]
    #: Entities encoded and inserted at once by :meth:`_insert_batches`.
    batch_size: ClassVar[int]
    #: Ids matched by one query (one placeholder each) when :meth:`_find_conflict`
    #: looks for stored ones.
    ids_per_query: ClassVar[int]

    def __init__(self, store: Any) -> None:
        self._store = store
        self._insert = self._insert_sql(self.table, self.columns)
        self._update = self._update_sql(self.table, self.columns)
        self._select_by_id = self._by_id_sql()

    # -- the entity's hooks -------------------------------------------------------------
    def _encode(self, entity: T) -> Row:
        raise NotImplementedError

    def _write_children(self, conn: Any, entities: Sequence[T]) -> None:
        """Insert rows that belong to ``entities`` in other tables (order lines)."""

    def _delete_children(self, conn: Any, entity_id: str) -> None:
        """Delete rows that belong to the entity in other tables."""

    def _query(self, sql: str, params: Sequence[Any]) -> list[T]:
        raise NotImplementedError

    def _by_id_sql(self) -> str:
        raise NotImplementedError

    # -- the dialect's hooks ------------------------------------------------------------
    @staticmethod
    def _insert_sql(table: str, columns: str) -> str:
        """``INSERT`` of every column of ``columns`` into ``table``, in the dialect."""
        raise NotImplementedError

    @staticmethod
    def _update_sql(table: str, columns: str) -> str:
        """Optimistic ``UPDATE`` of ``table`` by id and stored version, in the dialect."""
        raise NotImplementedError

    def _write(self, work: Callable[[Any], R], doing: str) -> R:
        """``work(connection)`` in a write of the store's transaction (its own or a
        savepoint of the open one); a driver error is a StorageError saying ``doing``."""
        raise NotImplementedError

    def _fetch_rows(self, sql: str, params: Sequence[Any], doing: str) -> list[Row]:
        """All rows of one query; a driver error is a StorageError saying ``doing``."""
        raise NotImplementedError

    def _insert_rows(self, conn: Any, rows: Sequence[Row]) -> None:
        """Insert ``rows`` (encoded entities) at once inside the open write."""
        raise NotImplementedError

    # -- the Repository protocol --------------------------------------------------------
    def get(self, entity_id: str) -> T:
        """The stored entity (see :meth:`custmgmt.ports.Repository.get`).

        Raises:
            NotFound: nothing is stored under ``entity_id``.
            StorageError: the database failed.
        """
        found = self._query(self._select_by_id, (self._key(entity_id),))
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
        """Store new entities atomically; returns the count (the dialect says how)."""
        raise NotImplementedError

    def update(self, entity: T) -> None:
        """Replace the stored entity (see :meth:`custmgmt.ports.Repository.update`).

        Raises:
            NotFound: nothing is stored under ``entity.id``.
            Conflict: the stored version is not ``entity.version - 1``; nothing is written.
            StorageError: the database failed.
        """
        check_entity(self.entity_name, entity, self.entity_type)
        row: Row = self._encode(entity)
        expected = entity.version - 1

        def replace(conn: Any) -> Any:
            """True once replaced, else the stored version's row (None: no such id)."""
            changed = conn.execute(self._update, (*row[1:], entity.id, expected)).rowcount
            if changed == 1:
                self._delete_children(conn, entity.id)
                self._write_children(conn, (entity,))
                return True
            return conn.execute(
                f"SELECT version FROM {self.table} WHERE id = {self.placeholder}", (entity.id,)
            ).fetchone()

        found = self._write(replace, f"updating {self.entity_name} {entity.id!r}")
        if found is True:
            return
        if found is None:
            raise NotFound(self.entity_name, entity.id)
        stored_version = int(found[0])
        unchanged: bool | None = False
        if stored_version == entity.version:
            # Only then can the copy be the stored entity itself: read it to say so.
            try:
                unchanged = self.get(entity.id) == entity
            except NotFound:
                unchanged = None  # removed since: say nothing about it
        raise stale_copy(self.entity_name, entity.id, stored_version, entity.version,
                         unchanged=unchanged)

    def remove(self, entity_id: str) -> None:
        """Delete the entity (see :meth:`custmgmt.ports.Repository.remove`).

        Raises:
            NotFound: nothing is stored under ``entity_id``.
            StorageError: the database failed.
        """
        self._key(entity_id)

        def delete(conn: Any) -> int:
            self._delete_children(conn, entity_id)
            sql = f"DELETE FROM {self.table} WHERE id = {self.placeholder}"
            return int(conn.execute(sql, (entity_id,)).rowcount)

        if self._write(delete, f"removing {self.entity_name} {entity_id!r}") == 0:
            raise NotFound(self.entity_name, entity_id)

    def count(self) -> int:
        """How many entities are stored."""
        found = self._fetch_rows(
            f"SELECT count(*) FROM {self.table}", (), f"counting {self.entity_name}s"
        )
        return int(found[0][0])

    # -- helpers ------------------------------------------------------------------------
    def _key(self, entity_id: Any) -> str:
        """``entity_id`` when it could be an id; anything else (not text, a lone
        surrogate the driver cannot encode, a NUL PostgreSQL refuses) is stored under
        no key: NotFound, as in the memory store, without asking the database."""
        return stored_key(self.entity_name, entity_id)

    def _fetch(self, sql: str, params: Sequence[Any]) -> list[Row]:
        return self._fetch_rows(sql, params, f"reading {self.entity_name}s")

    def _rows(self, batch: Sequence[T]) -> list[Row]:
        """``batch`` encoded; an item of another type is a ValidationError."""
        encode = self._encode
        kind = self.entity_type
        rows: list[Row] = []
        for entity in batch:
            if type(entity) is not kind:
                check_entity(self.entity_name, entity, kind)
            rows.append(encode(entity))
        return rows

    def _insert_batches(self, conn: Any, source: Iterator[T], ids: list[str]) -> int:
        """Encode and insert ``source`` inside the open write, :attr:`batch_size` at a
        time, so a generator of millions needs memory for one batch only; returns the
        count. ``ids`` gets each batch's ids before it is written, so that a failed add
        can name the id behind it (:meth:`_find_conflict`)."""
        total = 0
        while True:
            batch = list(islice(source, self.batch_size))
            if not batch:
                return total
            rows = self._rows(batch)
            ids.extend([row[0] for row in rows])
            self._insert_rows(conn, rows)
            self._write_children(conn, batch)
            total += len(batch)

    def _decode(self, decode: Callable[..., T], value: Any) -> T:
        try:
            return decode(value)
        except (CustMgmtError, ValueError, TypeError, KeyError, IndexError, OverflowError) as exc:
            # The row was valid when written: something else changed the database.
            raise StorageError(
                f"{self.dialect}: a stored {self.entity_name} row is not valid any more: {exc}"
            ) from exc

    def _stored_among(self, ids: Sequence[str]) -> set[str]:
        """Those of ``ids`` (at most :attr:`ids_per_query`) that are stored."""
        marks = ", ".join([self.placeholder] * len(ids))
        sql = f"SELECT id FROM {self.table} WHERE id IN ({marks})"
        return {str(row[0]) for row in self._fetch(sql, ids)}

    def _find_conflict(self, ids: list[str]) -> Conflict | None:
        """The Conflict for the first id of ``ids``, in their order, that is already
        stored or repeats an earlier one, worded as every adapter words it."""
        seen: set[str] = set()
        for start in range(0, len(ids), self.ids_per_query):
            part = ids[start : start + self.ids_per_query]
            found = first_taken_id(self.entity_name, part, self._stored_among(part), seen)
            if found is not None:
                return found
        return None
