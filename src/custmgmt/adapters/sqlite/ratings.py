"""Rating runs and overrides in SQLite (see :class:`custmgmt.rating.ports.RatingRepository`).

The tables belong to the component ``"ratings"`` of the store's schema
(:meth:`SQLiteStore.apply_migrations`); writes go through :meth:`SQLiteStore.writing`,
so they join the store's transaction and a failure writes nothing. Times are kept
as microseconds since the epoch plus the UTC offset in seconds, so they sort in SQL
and come back at the same instant and offset.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any, ClassVar

from custmgmt.adapters._sql_ratings import SqlRatingRepository
from custmgmt.adapters.sqlite.database import SQLiteDatabase
from custmgmt.adapters.sqlite.schema import Migration
from custmgmt.errors import StorageError

__all__ = ["RATING_MIGRATIONS", "SQLiteRatingRepository"]

_V1 = """
CREATE TABLE rating_runs (
    id TEXT PRIMARY KEY,
    as_of_us INTEGER NOT NULL,
    as_of_off INTEGER NOT NULL,
    created_us INTEGER NOT NULL,
    created_off INTEGER NOT NULL,
    policy_json TEXT NOT NULL,
    customer_count INTEGER NOT NULL,
    distribution TEXT NOT NULL
);
CREATE INDEX rating_runs_by_time ON rating_runs (as_of_us, created_us, id);
CREATE TABLE rating_results (
    run_id TEXT NOT NULL REFERENCES rating_runs (id) ON DELETE CASCADE,
    customer_id TEXT NOT NULL,
    score REAL NOT NULL,
    stars INTEGER NOT NULL,
    computed_stars INTEGER NOT NULL,
    previous_stars INTEGER NOT NULL,
    pending INTEGER NOT NULL,
    contributions TEXT NOT NULL,
    PRIMARY KEY (run_id, customer_id)
) WITHOUT ROWID;
CREATE INDEX rating_results_by_customer ON rating_results (customer_id, run_id);
CREATE TABLE rating_overrides (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    customer_id TEXT NOT NULL,
    status TEXT NOT NULL,
    requested_us INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX rating_overrides_by_customer ON rating_overrides (customer_id, requested_us, id);
"""

# Runs saved from columns (save_run_arrays) keep their results as columns too, in
# parts of PART_ROWS customers (sorted by id): the ids joined by ID_SEPARATOR, and one
# BLOB of little-endian numbers per part, a record per customer (score, stars,
# computed stars, previous stars, pending, then one float64 per criterion). The run
# names its criteria; runs saved from records (save_run) keep one row per result in
# rating_results, as version 1 did, and have no criteria.
_V2 = """
ALTER TABLE rating_runs ADD COLUMN criteria TEXT;
CREATE TABLE rating_result_parts (
    run_id TEXT NOT NULL REFERENCES rating_runs (id) ON DELETE CASCADE,
    first_id TEXT NOT NULL,
    customer_ids TEXT NOT NULL,
    numbers BLOB NOT NULL,
    PRIMARY KEY (run_id, first_id)
) WITHOUT ROWID;
"""

#: The ratings component's migrations, applied in order.
RATING_MIGRATIONS: tuple[Migration, ...] = (_V1, _V2)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class SQLiteRatingRepository(SqlRatingRepository):
    """Rating runs, results and overrides in the store's SQLite database (the queries
    are :class:`~custmgmt.adapters._sql_ratings.SqlRatingRepository`'s).

    Args:
        store: the :class:`SQLiteStore` whose connection and transaction it shares.

    Raises:
        StorageError: the tables could not be created.
    """

    dialect = "sqlite"
    stored_columns: ClassVar[dict[str, str]] = {
        "as_of": "as_of_us",
        "created": "created_us",
        "requested": "requested_us",
    }
    taken_key_error = sqlite3.IntegrityError

    def __init__(self, store: SQLiteDatabase) -> None:
        super().__init__(store)
        self._ensure()

    def _ensure(self) -> None:
        # The repository may first be made inside a transaction that later rolls
        # back, taking the new tables with it: check (one indexed read) and recreate.
        if self._store.schema_version("ratings") < len(RATING_MIGRATIONS):
            self._store.apply_migrations("ratings", RATING_MIGRATIONS)

    def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        self._ensure()
        with self._store.lock:
            try:
                return self._store.connection.execute(sql, params).fetchall()  # type: ignore[no-any-return]
            except sqlite3.Error as exc:
                raise StorageError(f"sqlite: reading ratings failed: {exc}") from exc

    def _reading(self) -> AbstractContextManager[Any]:
        return self._store.lock  # type: ignore[no-any-return]

    def _insert_rows(self, conn: Any, table: str, columns: str, rows: Iterable[Any]) -> None:
        marks = ", ".join("?" * (columns.count(",") + 1))
        conn.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)

    def _instant(self, value: datetime) -> int:
        """Microseconds since the epoch in UTC (the offset goes in its own column)."""
        delta = value - _EPOCH
        return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
