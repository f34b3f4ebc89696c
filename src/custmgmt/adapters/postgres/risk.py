"""Risk data in PostgreSQL (see :class:`custmgmt.risk.ports.RiskRepository`).

Tables owned by the component ``"risk"``, the same as the SQLite store's:
``risk_scorecards`` (one document per card version), ``risk_score_runs`` and
``risk_scores`` (one row per customer and run: score, grade code and the feature bins
as a little-endian int16 ``bytea``, so a stored score can be re-explained),
``risk_alerts`` and ``risk_appeals`` (indexed columns plus the document),
``risk_restrictions`` and ``risk_restriction_events``: a restriction's log is one row
per entry. Documents are JSON text written as the SQLite store writes it (``text``,
not ``jsonb``: an alert value may be NaN or a float ``jsonb`` would reformat), so
every value comes back exactly; instants are ``timestamptz`` plus the original UTC
offset.

The audit trail is append-only in the database itself: triggers refuse to change or
delete a log row and to delete a restriction (``TRUNCATE`` too), whoever sends the
statement. Updates lock the row they change (``SELECT ... FOR UPDATE``) and check the
version and that the new log extends the stored one; storing an appeal locks its
restriction (``FOR SHARE``) while it checks that an overturned appeal's restriction
is lifted, so that check cannot race a concurrent change of the restriction. The
queries are :class:`~custmgmt.adapters._sql_risk.SqlRiskRepository`'s.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, ClassVar, Final

from custmgmt.adapters._sql_risk import Row, SqlRiskRepository
from custmgmt.adapters.postgres.codecs import datetime_of, when
from custmgmt.adapters.postgres.database import PostgresDatabase
from custmgmt.adapters.postgres.repository import copy_rows
from custmgmt.adapters.postgres.schema import Migration, micros
from custmgmt.errors import NotFound, ValidationError

__all__ = ["RISK_MIGRATIONS", "PostgresRiskRepository"]

_V1 = """
CREATE TABLE risk_scorecards (
    name text COLLATE "C" NOT NULL, version integer NOT NULL, doc text NOT NULL,
    PRIMARY KEY (name, version)
);
CREATE TABLE risk_score_runs (
    id text COLLATE "C" PRIMARY KEY, card_name text COLLATE "C" NOT NULL,
    card_version integer NOT NULL, as_of timestamptz NOT NULL, as_of_off integer NOT NULL,
    customers bigint NOT NULL
);
CREATE TABLE risk_scores (
    run_id text COLLATE "C" NOT NULL REFERENCES risk_score_runs (id), seq integer NOT NULL,
    customer_id text COLLATE "C" NOT NULL, score bigint NOT NULL, grade smallint NOT NULL,
    bins bytea NOT NULL, PRIMARY KEY (run_id, seq)
);
CREATE INDEX risk_scores_by_customer ON risk_scores (customer_id);
CREATE TABLE risk_alerts (
    id text COLLATE "C" PRIMARY KEY, customer_id text COLLATE "C" NOT NULL,
    rule text COLLATE "C" NOT NULL, status text NOT NULL, raised_at timestamptz NOT NULL,
    version bigint NOT NULL, doc text NOT NULL
);
CREATE INDEX risk_alerts_by_customer ON risk_alerts (customer_id, rule);
CREATE TABLE risk_restrictions (
    id text COLLATE "C" PRIMARY KEY, customer_id text COLLATE "C" NOT NULL,
    start_at timestamptz NOT NULL, version bigint NOT NULL, doc text NOT NULL
);
CREATE INDEX risk_restrictions_by_customer ON risk_restrictions (customer_id);
CREATE TABLE risk_restriction_events (
    restriction_id text COLLATE "C" NOT NULL REFERENCES risk_restrictions (id),
    seq integer NOT NULL, doc text NOT NULL, PRIMARY KEY (restriction_id, seq)
);
CREATE FUNCTION risk_audit_trail_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'a restriction audit trail is append-only (% on %)', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END $$;
CREATE TRIGGER risk_restriction_events_keep BEFORE UPDATE OR DELETE ON risk_restriction_events
    FOR EACH ROW EXECUTE FUNCTION risk_audit_trail_is_append_only();
CREATE TRIGGER risk_restriction_events_no_truncate BEFORE TRUNCATE ON risk_restriction_events
    FOR EACH STATEMENT EXECUTE FUNCTION risk_audit_trail_is_append_only();
CREATE TRIGGER risk_restrictions_keep BEFORE DELETE ON risk_restrictions
    FOR EACH ROW EXECUTE FUNCTION risk_audit_trail_is_append_only();
CREATE TRIGGER risk_restrictions_no_truncate BEFORE TRUNCATE ON risk_restrictions
    FOR EACH STATEMENT EXECUTE FUNCTION risk_audit_trail_is_append_only();
CREATE TABLE risk_appeals (
    id text COLLATE "C" PRIMARY KEY,
    restriction_id text COLLATE "C" NOT NULL REFERENCES risk_restrictions (id),
    status text NOT NULL, submitted_at timestamptz NOT NULL, version bigint NOT NULL,
    doc text NOT NULL
);
CREATE INDEX risk_appeals_by_restriction ON risk_appeals (restriction_id);
"""

#: The risk schema's migrations, applied in order under the component ``"risk"``.
RISK_MIGRATIONS: Final[tuple[Migration, ...]] = (_V1,)


class PostgresRiskRepository(SqlRiskRepository):
    """Risk data in a :class:`~custmgmt.adapters.postgres.PostgresStore`, in its transactions.

    Creating it applies the risk migrations. Writes go through
    :meth:`PostgresStore.writing`, so they join the store's transaction and commit or
    roll back with the store's other writes.

    Args:
        db: the store's database (``store.risk``).

    Raises:
        StorageError: the schema cannot be created.
    """

    dialect = "postgres"
    placeholder = "%s"
    stored_columns: ClassVar[dict[str, str]] = {
        "run_time": "as_of",
        "raised": "raised_at",
        "start": "start_at",
        "submitted": "submitted_at",
        "as_of_columns": "as_of, as_of_off",
    }
    version_range = (-(2**31), 2**31)  # card_version is an integer column
    # The customer's appeals, locked in id order while they are rewritten.
    appeal_lock = " ORDER BY a.id FOR UPDATE OF a"
    # The customer's alerts, locked in id order while they are rewritten.
    alert_lock = " ORDER BY id FOR UPDATE"

    def __init__(self, db: PostgresDatabase) -> None:
        super().__init__(db)
        self._db = db
        db.apply_migrations("risk", RISK_MIGRATIONS)

    def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        try:
            return self._db.fetch(sql, params, doing="reading risk data")
        except UnicodeEncodeError as exc:  # a lone surrogate: no stored id has one
            raise ValidationError("id", exc.object, "valid Unicode text") from None

    def _reading(self) -> AbstractContextManager[Any]:
        return self._db.snapshot()

    def _copy_rows(self, conn: Any, table: str, columns: str, rows: Iterable[Row]) -> None:
        copy_rows(conn, table, columns, rows)

    def _execute_many(self, conn: Any, sql: str, rows: Sequence[Row]) -> None:
        with conn.cursor() as cursor:
            cursor.executemany(sql, rows)

    def _instant(self, value: datetime) -> datetime:
        return value  # a timestamptz

    def _as_of_values(self, as_of: datetime) -> tuple[datetime, int]:
        return when(as_of)

    def _as_of_select(self, prefix: str = "") -> str:
        return f"{micros(prefix + 'as_of')}, {prefix}as_of_off"

    def _as_of(self, values: Sequence[Any]) -> datetime:
        return datetime_of(values[0], values[1])

    def _status_in(self, column: str, values: list[str]) -> tuple[str, list[Any]]:
        return f"{column} = ANY(?)", [values]

    def _stored_doc(self, conn: Any, table: str, key: str, entity: str, lock: str) -> Any:
        row = conn.execute(f"SELECT doc FROM {table} WHERE id = %s FOR {lock}", (key,)).fetchone()
        if row is None:
            raise NotFound(entity, key)
        return row[0]
