"""Prospects in SQLite (see :class:`custmgmt.prospects.ports.ProspectRepository`).

Four tables, owned by the component ``"prospects"``: ``prospects`` (one row per
prospect, with its version), ``prospect_history`` (one row per stage change, keyed by
prospect and sequence number, appended only), ``prospect_contacts`` and
``prospect_reports``; the queries are
:class:`~custmgmt.adapters._sql_prospects.SqlProspectRepository`'s. Instants are stored
as microseconds since the epoch plus the UTC offset, money as exact decimal text and its
currency, lists as JSON text in any script.

>>> from datetime import datetime, timezone
>>> from custmgmt.adapters.sqlite import SQLiteStore
>>> from custmgmt.prospects import DEFAULT_PIPELINE
>>> store = SQLiteStore(":memory:")
>>> store.prospects.add(DEFAULT_PIPELINE.new_prospect(id="P-1", name="李雷",
...     source="展会", owner="s1", actor="s1",
...     at=datetime(2026, 3, 2, 9, tzinfo=timezone.utc)))
>>> store.prospects.get("P-1").name
'李雷'
>>> store.close()
"""

from __future__ import annotations

from typing import ClassVar, Final

from custmgmt.adapters._sql_prospects import SqlProspectRepository
from custmgmt.adapters.sqlite._dialect import SQLiteDialect
from custmgmt.adapters.sqlite.database import SQLiteDatabase
from custmgmt.adapters.sqlite.schema import Migration
from custmgmt.errors import CustMgmtError
from custmgmt.prospects.pipeline import DEFAULT_PIPELINE, Pipeline

__all__ = ["PROSPECT_MIGRATIONS", "SQLiteProspectRepository"]

_V1 = """
CREATE TABLE prospects (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    source TEXT NOT NULL,
    owner TEXT NOT NULL,
    interests TEXT NOT NULL,
    value_amount TEXT,
    value_currency TEXT,
    info TEXT NOT NULL,
    stage TEXT NOT NULL,
    created_us INTEGER NOT NULL,
    created_off INTEGER NOT NULL,
    lost_reason TEXT,
    customer_id TEXT
);
CREATE INDEX prospects_by_time ON prospects (created_us, id);
CREATE INDEX prospects_by_stage ON prospects (stage);
CREATE INDEX prospects_by_owner ON prospects (owner);
CREATE TABLE prospect_history (
    prospect_id TEXT NOT NULL REFERENCES prospects (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    at_us INTEGER NOT NULL,
    at_off INTEGER NOT NULL,
    from_stage TEXT,
    to_stage TEXT NOT NULL,
    actor TEXT NOT NULL,
    note TEXT NOT NULL,
    approved_by TEXT NOT NULL,
    PRIMARY KEY (prospect_id, seq)
) WITHOUT ROWID;
CREATE TABLE prospect_contacts (
    id TEXT PRIMARY KEY,
    prospect_id TEXT NOT NULL REFERENCES prospects (id),
    kind TEXT NOT NULL,
    at_us INTEGER NOT NULL,
    at_off INTEGER NOT NULL,
    actor TEXT NOT NULL,
    summary TEXT NOT NULL,
    outcome TEXT NOT NULL,
    next_step TEXT NOT NULL,
    campaign_id TEXT
);
CREATE INDEX prospect_contacts_by_time ON prospect_contacts (at_us, id);
CREATE INDEX prospect_contacts_by_prospect ON prospect_contacts (prospect_id, at_us, id);
CREATE TABLE prospect_reports (
    id TEXT PRIMARY KEY,
    prospect_id TEXT NOT NULL REFERENCES prospects (id),
    at_us INTEGER NOT NULL,
    at_off INTEGER NOT NULL,
    author TEXT NOT NULL,
    credit TEXT NOT NULL,
    business_situation TEXT NOT NULL,
    revenue_amount TEXT,
    revenue_currency TEXT,
    employees INTEGER,
    risks TEXT NOT NULL,
    recommendation TEXT NOT NULL
);
CREATE INDEX prospect_reports_by_prospect ON prospect_reports (prospect_id, at_us, id);
"""

#: The prospect schema's migrations, applied in order under the component ``"prospects"``.
PROSPECT_MIGRATIONS: Final[tuple[Migration, ...]] = (_V1,)


class SQLiteProspectRepository(SQLiteDialect, SqlProspectRepository):
    """Prospects in an :class:`~custmgmt.adapters.sqlite.SQLiteStore`, in its transactions.

    Args:
        store: the SQLite database (``store.prospects`` makes one on first use).
        pipeline: the pipeline every saved prospect's history must follow.

    Raises:
        StorageError: the schema cannot be created.
        ValidationError: ``pipeline`` is not a Pipeline.
    """

    migrations = PROSPECT_MIGRATIONS
    # As this adapter always had them: an AttributeError from a row edited elsewhere
    # is not turned into a StorageError here (the PostgreSQL adapter's is).
    decode_errors: ClassVar[tuple[type[Exception], ...]] = (
        CustMgmtError, ValueError, TypeError, KeyError, IndexError, ArithmeticError,
    )  # fmt: skip

    def __init__(self, store: SQLiteDatabase, *, pipeline: Pipeline = DEFAULT_PIPELINE) -> None:
        super().__init__(store, pipeline=pipeline)
