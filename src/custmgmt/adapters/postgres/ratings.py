"""Rating runs and overrides in PostgreSQL (see :class:`custmgmt.rating.ports.RatingRepository`).

The tables belong to the component ``"ratings"`` of the store's schema
(:meth:`PostgresStore.apply_migrations`); writes go through :meth:`PostgresStore.writing`,
so they join the store's transaction and a failure writes nothing. Times are kept
as ``timestamptz`` plus the UTC offset in seconds, so they sort in SQL and come back
at the same instant and offset; columnar results are ``bytea`` parts.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from typing import Any, ClassVar

import psycopg.errors

from custmgmt.adapters._sql_ratings import SqlRatingRepository
from custmgmt.adapters.postgres.database import PostgresDatabase
from custmgmt.adapters.postgres.repository import copy_rows
from custmgmt.adapters.postgres.schema import Migration, micros

__all__ = ["RATING_MIGRATIONS", "PostgresRatingRepository"]

_V1 = """
CREATE TABLE rating_runs (
    id text COLLATE "C" PRIMARY KEY,
    as_of_at timestamptz NOT NULL,
    as_of_off integer NOT NULL,
    created_at timestamptz NOT NULL,
    created_off integer NOT NULL,
    policy_json text NOT NULL,
    customer_count bigint NOT NULL,
    distribution text NOT NULL,
    criteria text
);
CREATE INDEX rating_runs_by_time ON rating_runs (as_of_at, created_at, id);
CREATE TABLE rating_results (
    run_id text COLLATE "C" NOT NULL REFERENCES rating_runs (id) ON DELETE CASCADE,
    customer_id text COLLATE "C" NOT NULL,
    score double precision NOT NULL,
    stars integer NOT NULL,
    computed_stars integer NOT NULL,
    previous_stars integer NOT NULL,
    pending integer NOT NULL,
    contributions text NOT NULL,
    PRIMARY KEY (run_id, customer_id)
);
CREATE INDEX rating_results_by_customer ON rating_results (customer_id, run_id);
CREATE TABLE rating_overrides (
    id text COLLATE "C" PRIMARY KEY,
    version bigint NOT NULL,
    customer_id text COLLATE "C" NOT NULL,
    status text NOT NULL,
    requested_at timestamptz NOT NULL,
    body text NOT NULL
);
CREATE INDEX rating_overrides_by_customer ON rating_overrides (customer_id, requested_at, id);
"""

# Runs saved from columns (save_run_arrays) keep their results as columns, in parts of
# PART_ROWS customers (sorted by id): the ids joined by ID_SEPARATOR, and one bytea of
# little-endian numbers per part, a record per customer (score, stars, computed stars,
# previous stars, pending, then one float64 per criterion). The run names its
# criteria; runs saved from records (save_run) keep one row per result in
# rating_results and have no criteria.
_V2 = """
CREATE TABLE rating_result_parts (
    run_id text COLLATE "C" NOT NULL REFERENCES rating_runs (id) ON DELETE CASCADE,
    first_id text COLLATE "C" NOT NULL,
    customer_ids text NOT NULL,
    numbers bytea NOT NULL,
    PRIMARY KEY (run_id, first_id)
);
"""

#: The ratings component's migrations, applied in order.
RATING_MIGRATIONS: tuple[Migration, ...] = (_V1, _V2)


class PostgresRatingRepository(SqlRatingRepository):
    """Rating runs, results and overrides in the store's PostgreSQL database (the
    queries are :class:`~custmgmt.adapters._sql_ratings.SqlRatingRepository`'s).

    Args:
        store: the :class:`PostgresStore` whose connections and transactions it shares.

    Raises:
        StorageError: the tables could not be created.
    """

    dialect = "postgres"
    placeholder = "%s"
    stored_columns: ClassVar[dict[str, str]] = {
        "as_of": "as_of_at",
        "created": "created_at",
        "requested": "requested_at",
    }
    taken_key_error = psycopg.errors.UniqueViolation
    for_update = " FOR UPDATE"

    def __init__(self, store: PostgresDatabase) -> None:
        super().__init__(store)
        store.apply_migrations("ratings", RATING_MIGRATIONS)

    def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return self._store.fetch(sql, params, doing="reading ratings")  # type: ignore[no-any-return]

    def _reading(self) -> AbstractContextManager[Any]:
        return self._store.snapshot()  # type: ignore[no-any-return]

    def _insert_rows(self, conn: Any, table: str, columns: str, rows: Iterable[Any]) -> None:
        copy_rows(conn, table, columns, rows)

    def _instant(self, value: datetime) -> datetime:
        return value  # a timestamptz; the offset goes in its own column

    def _read_instant(self, column: str) -> str:
        return micros(column)

    @contextmanager
    def _dependents_guard(self) -> Iterator[None]:
        # Inside a transaction (a customer's removal) the tables stay locked against
        # new rows until it ends.
        with self._store.writing() as conn:
            conn.execute(
                "LOCK TABLE rating_runs, rating_results, rating_result_parts, "
                "rating_overrides IN SHARE MODE"
            )
            yield
