"""PostgresStore passes the same contract suites as MemoryStore and SQLiteStore, against
a real server, opened from a DSN, on a host's pool and on a host's connection."""

from __future__ import annotations

from typing import Any

import psycopg
from _pg_stores import PostgresRepositories, SchemaStores
from _pg_support import OnPostgres, drop_schema, new_schema
from psycopg_pool import ConnectionPool

from custmgmt.adapters.postgres import PostgresStore
from custmgmt.ports import ColumnarStore, Store
from custmgmt.testing import (
    CampaignRepositoryContract,
    ColumnarStoreContract,
    FollowUpRepositoryContract,
    RatingRepositoryContract,
    StoreContract,
    TicketRepositoryContract,
)
from custmgmt.testing.prospect_contract import ProspectRepositoryContract
from custmgmt.testing.team_contract import AgentRepositoryContract, AssignmentRepositoryContract


class TestPostgresStoreFromADsn(SchemaStores, StoreContract):
    def make_store(self) -> Store:
        return self.open_store()

    def close_store(self, store: Store) -> None:
        self.release(store)


class TestPostgresStoreOnAHostOwnedPool(OnPostgres, StoreContract):
    def make_store(self) -> Store:
        self.pool: ConnectionPool[Any] = ConnectionPool(self.dsn, min_size=1, max_size=4, open=True)
        self.schema = new_schema()
        return PostgresStore(self.pool, schema=self.schema)

    def close_store(self, store: Store) -> None:
        store.close()
        # The store left the host's pool open and usable.
        with self.pool.connection() as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        self.pool.close()
        drop_schema(self.dsn, self.schema)


class TestPostgresStoreOnAHostOwnedConnection(OnPostgres, StoreContract):
    def make_store(self) -> Store:
        # The driver's default: not autocommit (implicit transactions).
        self.connection: psycopg.Connection[Any] = self.connect()
        self.schema = new_schema()
        return PostgresStore(self.connection, schema=self.schema)

    def close_store(self, store: Store) -> None:
        store.close()
        assert self.connection.execute("SELECT 1").fetchone() == (1,)
        self.connection.close()
        drop_schema(self.dsn, self.schema)


class TestPostgresStoreFrames(SchemaStores, ColumnarStoreContract):
    max_examples = 15

    def make_store(self) -> ColumnarStore:
        return self.open_store()

    def close_store(self, store: ColumnarStore) -> None:
        self.release(store)


class TestPostgresRatingRepository(PostgresRepositories, RatingRepositoryContract):
    repository_attribute = "ratings"


class TestPostgresTickets(PostgresRepositories, TicketRepositoryContract):
    repository_attribute = "tickets"


class TestPostgresProspects(PostgresRepositories, ProspectRepositoryContract):
    repository_attribute = "prospects"


class TestPostgresAgents(PostgresRepositories, AgentRepositoryContract):
    repository_attribute = "agents"


class TestPostgresAssignments(PostgresRepositories, AssignmentRepositoryContract):
    repository_attribute = "assignments"


class TestPostgresCampaigns(PostgresRepositories, CampaignRepositoryContract):
    repository_attribute = "campaigns"


class TestPostgresFollowUps(PostgresRepositories, FollowUpRepositoryContract):
    repository_attribute = "followups"
