"""Risk data in SQLite (see :class:`custmgmt.risk.ports.RiskRepository`).

Tables owned by the component ``"risk"``: ``risk_scorecards`` (one JSON document per
card version), ``risk_score_runs`` and ``risk_scores`` (one row per customer and run:
score, grade code and the feature bins as a little int16 blob, so a stored score can
be re-explained), ``risk_alerts`` and ``risk_appeals`` (indexed columns plus the
document), ``risk_restrictions`` and ``risk_restriction_events``: a restriction's
log is one row per entry, and triggers refuse to delete or change a log row, so the
audit trail survives even a careless hand-written query. The queries are
:class:`~custmgmt.adapters._sql_risk.SqlRiskRepository`'s.

>>> from custmgmt.adapters.sqlite import SQLiteStore
>>> store = SQLiteStore(":memory:")
>>> store.risk.find_restrictions()
[]
>>> store.close()
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, ClassVar, Final

from custmgmt.adapters._sql_risk import Row, SqlRiskRepository
from custmgmt.adapters.sqlite.database import SQLiteDatabase
from custmgmt.adapters.sqlite.schema import Migration
from custmgmt.domain.time import to_epoch_micros
from custmgmt.errors import StorageError

__all__ = ["RISK_MIGRATIONS", "SQLiteRiskRepository"]

_V1 = """
CREATE TABLE risk_scorecards (
    name TEXT NOT NULL, version INTEGER NOT NULL, doc TEXT NOT NULL,
    PRIMARY KEY (name, version)
);
CREATE TABLE risk_score_runs (
    id TEXT PRIMARY KEY, card_name TEXT NOT NULL, card_version INTEGER NOT NULL,
    as_of TEXT NOT NULL, as_of_us INTEGER NOT NULL, customers INTEGER NOT NULL
);
CREATE TABLE risk_scores (
    run_id TEXT NOT NULL REFERENCES risk_score_runs (id), seq INTEGER NOT NULL,
    customer_id TEXT NOT NULL, score INTEGER NOT NULL, grade INTEGER NOT NULL,
    bins BLOB NOT NULL, PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
CREATE INDEX risk_scores_by_customer ON risk_scores (customer_id);
CREATE TABLE risk_alerts (
    id TEXT PRIMARY KEY, customer_id TEXT NOT NULL, rule TEXT NOT NULL,
    status TEXT NOT NULL, raised_us INTEGER NOT NULL, version INTEGER NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX risk_alerts_by_customer ON risk_alerts (customer_id, rule);
CREATE TABLE risk_restrictions (
    id TEXT PRIMARY KEY, customer_id TEXT NOT NULL, start_us INTEGER NOT NULL,
    version INTEGER NOT NULL, doc TEXT NOT NULL
);
CREATE INDEX risk_restrictions_by_customer ON risk_restrictions (customer_id);
CREATE TABLE risk_restriction_events (
    restriction_id TEXT NOT NULL REFERENCES risk_restrictions (id), seq INTEGER NOT NULL,
    doc TEXT NOT NULL, PRIMARY KEY (restriction_id, seq)
) WITHOUT ROWID;
CREATE TRIGGER risk_restriction_events_keep BEFORE DELETE ON risk_restriction_events
BEGIN SELECT RAISE(ABORT, 'a restriction audit trail is append-only'); END;
CREATE TRIGGER risk_restriction_events_fixed BEFORE UPDATE ON risk_restriction_events
BEGIN SELECT RAISE(ABORT, 'a restriction audit trail is append-only'); END;
CREATE TRIGGER risk_restrictions_keep BEFORE DELETE ON risk_restrictions
BEGIN SELECT RAISE(ABORT, 'a restriction audit trail is append-only'); END;
CREATE TABLE risk_appeals (
    id TEXT PRIMARY KEY, restriction_id TEXT NOT NULL REFERENCES risk_restrictions (id),
    status TEXT NOT NULL, submitted_us INTEGER NOT NULL, version INTEGER NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX risk_appeals_by_restriction ON risk_appeals (restriction_id);
"""

#: The risk schema's migrations, applied in order under the component ``"risk"``.
RISK_MIGRATIONS: Final[tuple[Migration, ...]] = (_V1,)


class SQLiteRiskRepository(SqlRiskRepository):
    """Risk data in an :class:`~custmgmt.adapters.sqlite.SQLiteStore`, in its transactions.

    Args:
        db: the store's database (``store.risk`` makes one on first use).

    Raises:
        StorageError: the schema cannot be created.
    """

    dialect = "sqlite"
    stored_columns: ClassVar[dict[str, str]] = {
        "run_time": "as_of_us",
        "raised": "raised_us",
        "start": "start_us",
        "submitted": "submitted_us",
        "as_of_columns": "as_of, as_of_us",
    }
    # A document that no longer decodes leaves with the decoder's own error.
    decode_errors: ClassVar[tuple[type[Exception], ...]] = ()

    def __init__(self, db: SQLiteDatabase) -> None:
        super().__init__(db)
        self._db = db
        db.apply_migrations("risk", RISK_MIGRATIONS)

    def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        try:
            with self._db.lock:
                return self._db.connection.execute(sql, tuple(params)).fetchall()
        except sqlite3.Error as exc:
            raise StorageError(f"sqlite: reading risk data failed: {exc}") from exc

    def _reading(self) -> AbstractContextManager[Any]:
        return self._db.lock

    def _copy_rows(self, conn: Any, table: str, columns: str, rows: Iterable[Row]) -> None:
        marks = ", ".join("?" * (columns.count(",") + 1))
        conn.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)

    def _execute_many(self, conn: Any, sql: str, rows: Sequence[Row]) -> None:
        conn.executemany(sql, rows)

    def _instant(self, value: datetime) -> int:
        return to_epoch_micros(value)

    def _as_of_values(self, as_of: datetime) -> tuple[str, int]:
        # The ISO text keeps the offset; the microseconds sort.
        return as_of.isoformat(), to_epoch_micros(as_of)

    def _as_of_select(self, prefix: str = "") -> str:
        return f"{prefix}as_of"

    def _as_of(self, values: Sequence[Any]) -> datetime:
        return datetime.fromisoformat(values[0])

    def _status_in(self, column: str, values: list[str]) -> tuple[str, list[Any]]:
        return f"{column} IN ({', '.join('?' * len(values))})", list(values)
