"""PostgresStore passes the same contract suites as MemoryStore and SQLiteStore, against
a real server, opened from a DSN, on a host's pool and on a host's connection."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

import psycopg
from _pg_support import OnPostgres, drop_schema, new_schema
from psycopg_pool import ConnectionPool

from custmgmt.adapters.postgres import PostgresStore
from custmgmt.campaigns.ports import CampaignRepository
from custmgmt.followup.ports import FollowUpRepository
from custmgmt.ports import ColumnarStore, Store
from custmgmt.prospects.ports import ProspectRepository
from custmgmt.rating.ports import RatingRepository
from custmgmt.team.ports import AgentRepository, AssignmentRepository
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
from custmgmt.tickets.ports import TicketRepository


class _Stores(OnPostgres):
    """Each store in a schema of its own, dropped when the store is released."""

    def open_store(self) -> PostgresStore:
        schema = new_schema()
        store = PostgresStore(self.dsn, schema=schema, pool_size=2)
        self.schemas = {**getattr(self, "schemas", {}), id(store): schema}
        return store

    def release(self, store: Any) -> None:
        store.close()
        drop_schema(self.dsn, self.schemas.pop(id(store)))


class TestPostgresStoreFromADsn(_Stores, StoreContract):
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


class TestPostgresStoreFrames(_Stores, ColumnarStoreContract):
    max_examples = 15

    def make_store(self) -> ColumnarStore:
        return self.open_store()

    def close_store(self, store: ColumnarStore) -> None:
        self.release(store)


class TestPostgresRatingRepository(_Stores, RatingRepositoryContract):
    def make_repository(self) -> RatingRepository:
        store = self.open_store()
        repo: RatingRepository = store.ratings
        self.stores = {**getattr(self, "stores", {}), id(repo): store}
        return repo

    def close_repository(self, repository: RatingRepository) -> None:
        self.release(self.stores.pop(id(repository)))

    def transaction(self, repository: RatingRepository) -> AbstractContextManager[None]:
        return self.stores[id(repository)].transaction()


class TestPostgresTickets(_Stores, TicketRepositoryContract):
    def make_repository(self) -> TicketRepository:
        store = self.open_store()
        repo: TicketRepository = store.tickets
        self.stores = {**getattr(self, "stores", {}), id(repo): store}
        return repo

    def close_repository(self, repository: TicketRepository) -> None:
        self.release(self.stores.pop(id(repository)))

    def transaction(self, repository: TicketRepository) -> AbstractContextManager[None]:
        return self.stores[id(repository)].transaction()


class TestPostgresProspects(_Stores, ProspectRepositoryContract):
    def make_repository(self) -> ProspectRepository:
        store = self.open_store()
        repo: ProspectRepository = store.prospects
        self.stores = {**getattr(self, "stores", {}), id(repo): store}
        return repo

    def close_repository(self, repository: ProspectRepository) -> None:
        self.release(self.stores.pop(id(repository)))

    def transaction(self, repository: ProspectRepository) -> AbstractContextManager[None]:
        return self.stores[id(repository)].transaction()


class TestPostgresAgents(_Stores, AgentRepositoryContract):
    def make_repository(self) -> AgentRepository:
        store = self.open_store()
        repo: AgentRepository = store.agents
        self.stores = {**getattr(self, "stores", {}), id(repo): store}
        return repo

    def close_repository(self, repository: AgentRepository) -> None:
        self.release(self.stores.pop(id(repository)))

    def transaction(self, repository: AgentRepository) -> AbstractContextManager[None]:
        return self.stores[id(repository)].transaction()


class TestPostgresAssignments(_Stores, AssignmentRepositoryContract):
    def make_repository(self) -> AssignmentRepository:
        store = self.open_store()
        repo: AssignmentRepository = store.assignments
        self.stores = {**getattr(self, "stores", {}), id(repo): store}
        return repo

    def close_repository(self, repository: AssignmentRepository) -> None:
        self.release(self.stores.pop(id(repository)))

    def transaction(self, repository: AssignmentRepository) -> AbstractContextManager[None]:
        return self.stores[id(repository)].transaction()


class TestPostgresCampaigns(_Stores, CampaignRepositoryContract):
    def make_repository(self) -> CampaignRepository:
        store = self.open_store()
        repo: CampaignRepository = store.campaigns
        self.stores = {**getattr(self, "stores", {}), id(repo): store}
        return repo

    def close_repository(self, repository: CampaignRepository) -> None:
        self.release(self.stores.pop(id(repository)))

    def transaction(self, repository: CampaignRepository) -> AbstractContextManager[None]:
        return self.stores[id(repository)].transaction()


class TestPostgresFollowUps(_Stores, FollowUpRepositoryContract):
    def make_repository(self) -> FollowUpRepository:
        store = self.open_store()
        repo: FollowUpRepository = store.followups
        self.stores = {**getattr(self, "stores", {}), id(repo): store}
        return repo

    def close_repository(self, repository: FollowUpRepository) -> None:
        self.release(self.stores.pop(id(repository)))

    def transaction(self, repository: FollowUpRepository) -> AbstractContextManager[None]:
        return self.stores[id(repository)].transaction()
