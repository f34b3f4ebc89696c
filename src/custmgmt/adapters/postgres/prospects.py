"""Prospects in PostgreSQL (see :class:`custmgmt.prospects.ports.ProspectRepository`).

Four tables, owned by the component ``"prospects"`` through
:meth:`PostgresStore.apply_migrations <custmgmt.adapters.postgres.PostgresStore.apply_migrations>`:
``prospects`` (one row per prospect, with its version), ``prospect_history`` (one row
per stage change, keyed by prospect and sequence number, appended only),
``prospect_contacts`` and ``prospect_reports``; the queries are
:class:`~custmgmt.adapters._sql_prospects.SqlProspectRepository`'s. An update locks the
prospect's row (``SELECT ... FOR UPDATE``), checks the version and that the new history
extends the stored one, then appends only the new stage changes. Instants are
``timestamptz`` plus the original UTC offset, money ``numeric`` (exact, scale kept) and
its currency, lists ``jsonb``; text is stored as it is, in any script.
"""

from __future__ import annotations

from typing import Final

from custmgmt.adapters._sql_prospects import SqlProspectRepository
from custmgmt.adapters.postgres._dialect import PostgresDialect
from custmgmt.adapters.postgres.database import PostgresDatabase
from custmgmt.adapters.postgres.schema import Migration
from custmgmt.prospects.pipeline import DEFAULT_PIPELINE, Pipeline

__all__ = ["PROSPECT_MIGRATIONS", "PostgresProspectRepository"]

_V1 = """
CREATE TABLE prospects (
    id text COLLATE "C" PRIMARY KEY,
    version bigint NOT NULL,
    kind text NOT NULL,
    name text NOT NULL,
    source text NOT NULL,
    owner text NOT NULL,
    interests jsonb NOT NULL,
    value_amount numeric,
    value_currency text,
    info jsonb NOT NULL,
    stage text NOT NULL,
    created_at timestamptz NOT NULL,
    created_off integer NOT NULL,
    lost_reason text,
    customer_id text COLLATE "C"
);
CREATE INDEX prospects_by_time ON prospects (created_at, id);
CREATE INDEX prospects_by_stage ON prospects (stage);
CREATE INDEX prospects_by_owner ON prospects (owner);
CREATE TABLE prospect_history (
    prospect_id text COLLATE "C" NOT NULL REFERENCES prospects (id) ON DELETE CASCADE,
    seq integer NOT NULL,
    at timestamptz NOT NULL,
    at_off integer NOT NULL,
    from_stage text,
    to_stage text NOT NULL,
    actor text NOT NULL,
    note text NOT NULL,
    approved_by jsonb NOT NULL,
    PRIMARY KEY (prospect_id, seq)
);
CREATE TABLE prospect_contacts (
    id text COLLATE "C" PRIMARY KEY,
    prospect_id text COLLATE "C" NOT NULL REFERENCES prospects (id),
    kind text NOT NULL,
    at timestamptz NOT NULL,
    at_off integer NOT NULL,
    actor text NOT NULL,
    summary text NOT NULL,
    outcome text NOT NULL,
    next_step text NOT NULL,
    campaign_id text
);
CREATE INDEX prospect_contacts_by_time ON prospect_contacts (at, id);
CREATE INDEX prospect_contacts_by_prospect ON prospect_contacts (prospect_id, at, id);
CREATE TABLE prospect_reports (
    id text COLLATE "C" PRIMARY KEY,
    prospect_id text COLLATE "C" NOT NULL REFERENCES prospects (id),
    at timestamptz NOT NULL,
    at_off integer NOT NULL,
    author text NOT NULL,
    credit text NOT NULL,
    business_situation text NOT NULL,
    revenue_amount numeric,
    revenue_currency text,
    employees bigint,
    risks jsonb NOT NULL,
    recommendation text NOT NULL
);
CREATE INDEX prospect_reports_by_prospect ON prospect_reports (prospect_id, at, id);
"""

#: The prospect schema's migrations, applied in order under the component ``"prospects"``.
PROSPECT_MIGRATIONS: Final[tuple[Migration, ...]] = (_V1,)


class PostgresProspectRepository(PostgresDialect, SqlProspectRepository):
    """Prospects in a :class:`~custmgmt.adapters.postgres.PostgresStore`, in its transactions.

    Creating it applies the prospect migrations. Writes go through
    :meth:`PostgresStore.writing`, so they join the store's transaction and commit or
    roll back with the store's other writes.

    Args:
        store: the PostgreSQL store (``store.prospects`` makes one on first use).
        pipeline: the pipeline every saved prospect's history must follow.

    Raises:
        StorageError: the schema cannot be created.
        ValidationError: ``pipeline`` is not a Pipeline.
    """

    migrations = PROSPECT_MIGRATIONS
    redact_lock = " FOR UPDATE"

    def __init__(self, store: PostgresDatabase, *, pipeline: Pipeline = DEFAULT_PIPELINE) -> None:
        super().__init__(store, pipeline=pipeline)
