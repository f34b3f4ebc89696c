"""The PostgreSQL side of the shared SQL repositories
(:mod:`custmgmt.adapters._sql_repository`): ``%s`` placeholders, instants as
``timestamptz`` read back as exact microseconds, id lists as ``= ANY(%s::text[])``,
many rows by ``COPY``, reads in one transaction, updates under ``FOR UPDATE``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, ClassVar

from custmgmt.adapters._sql_codecs import RowCodec
from custmgmt.adapters._sql_repository import Row, SqlRepository
from custmgmt.adapters.postgres.codecs import _CODEC
from custmgmt.adapters.postgres.repository import copy_rows
from custmgmt.adapters.postgres.schema import micros
from custmgmt.errors import NotFound

__all__ = ["PostgresDialect"]


class PostgresDialect(SqlRepository):
    """The hooks of :class:`~custmgmt.adapters._sql_repository.SqlRepository` for a
    :class:`~custmgmt.adapters.postgres.PostgresDatabase`."""

    dialect = "postgres"
    placeholder = "%s"
    stored_columns: ClassVar[dict[str, str]] = {"created": "created_at", "at": "at"}
    codec: ClassVar[RowCodec] = _CODEC
    ids_per_query = 10_000

    def _fetch_rows(self, sql: str, params: Sequence[Any], doing: str) -> list[Row]:
        return self._store.fetch(sql, params, doing=doing)  # type: ignore[no-any-return]

    def _reading(self) -> AbstractContextManager[Any]:
        return self._store.snapshot()  # type: ignore[no-any-return]

    def _insert_rows(self, conn: Any, table: str, columns: str, rows: Iterable[Row]) -> None:
        copy_rows(conn, table, columns, rows)

    def _instant(self, value: datetime) -> datetime:
        return value  # a timestamptz; the offset goes in its own column

    def _read_instant(self, column: str) -> str:
        return micros(column)

    def _any(self, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        return f"{column} = ANY(?::text[])", [list(values)]

    def _lock_row(self, conn: Any, table: str, key: str, what: str) -> None:
        locked = conn.execute(
            self._q(f"SELECT 1 FROM {table} WHERE id = ? FOR UPDATE"), (key,)
        ).fetchone()
        if locked is None:
            raise NotFound(what, key)
