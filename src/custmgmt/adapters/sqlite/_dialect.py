"""The SQLite side of the shared SQL repositories (:mod:`custmgmt.adapters._sql_repository`):
``?`` placeholders, instants as microseconds since the epoch (``*_us``), id lists as
``IN (?, ...)``, many rows by ``executemany``, reads under the store's lock."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, ClassVar

from custmgmt.adapters._sql_codecs import RowCodec
from custmgmt.adapters._sql_repository import Row, SqlRepository
from custmgmt.adapters.sqlite.codecs import _CODEC, storage_error

__all__ = ["SQLiteDialect"]


class SQLiteDialect(SqlRepository):
    """The hooks of :class:`~custmgmt.adapters._sql_repository.SqlRepository` for an
    :class:`~custmgmt.adapters.sqlite.SQLiteDatabase`."""

    dialect = "sqlite"
    stored_columns: ClassVar[dict[str, str]] = {"created": "created_us", "at": "at_us"}
    codec: ClassVar[RowCodec] = _CODEC
    # SQLite's default limit on host parameters is 999 in old builds: stay well under.
    ids_per_query = 500

    def _fetch_rows(self, sql: str, params: Sequence[Any], doing: str) -> list[Row]:
        with self._store.lock:
            try:
                return self._store.connection.execute(sql, params).fetchall()  # type: ignore[no-any-return]
            except sqlite3.Error as exc:
                raise storage_error(doing, exc) from exc

    def _reading(self) -> AbstractContextManager[Any]:
        return self._store.lock  # type: ignore[no-any-return]

    def _insert_rows(self, conn: Any, table: str, columns: str, rows: Iterable[Row]) -> None:
        conn.executemany(self._insert_sql(table, columns), rows)

    def _instant(self, value: datetime) -> int:
        """Microseconds since the epoch in UTC (the offset goes in its own column)."""
        return self.codec.instant(value)[0]  # type: ignore[no-any-return]

    def _any(self, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        return f"{column} IN ({', '.join('?' * len(values))})", list(values)
