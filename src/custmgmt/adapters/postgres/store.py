"""The PostgreSQL store: the core repositories and the capabilities on one database.

How entities become rows (see :mod:`.codecs`): money is ``numeric`` (exact, scale
kept), times are ``timestamptz`` plus the original UTC offset, nested values are
``jsonb``, ids are ``text COLLATE "C"``. All tables live in one schema of the host's
choosing (``custmgmt`` by default), created and migrated when the store opens, under
an advisory lock so that processes starting together take turns.

Transactions (see :mod:`.database`): ``store.transaction()`` belongs to the thread
that opens it; other threads and processes write in parallel on their own
connections. Optimistic concurrency on ``version``; serialisation failures and
deadlocks are retried where the store owns the transaction, else a ``Conflict``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from psycopg_pool import ConnectionPool

from custmgmt.adapters._core_store import CoreStore
from custmgmt.adapters._registry import Capability, CapabilityHost
from custmgmt.adapters.postgres import frames
from custmgmt.adapters.postgres.campaigns import PostgresCampaignRepository
from custmgmt.adapters.postgres.customers import PostgresCustomerRepository
from custmgmt.adapters.postgres.database import Connection, PostgresDatabase
from custmgmt.adapters.postgres.followups import PostgresFollowUpRepository
from custmgmt.adapters.postgres.interactions import PostgresInteractionRepository
from custmgmt.adapters.postgres.loyalty import PostgresPointsRepository
from custmgmt.adapters.postgres.orders import PostgresOrderRepository
from custmgmt.adapters.postgres.privacy import PostgresPrivacyRepository
from custmgmt.adapters.postgres.prospects import PostgresProspectRepository
from custmgmt.adapters.postgres.purchase_lines import PostgresOrderLineReader
from custmgmt.adapters.postgres.ratings import PostgresRatingRepository
from custmgmt.adapters.postgres.risk import PostgresRiskRepository
from custmgmt.adapters.postgres.schema import CORE_MIGRATIONS
from custmgmt.adapters.postgres.team import PostgresAgentRepository, PostgresAssignmentRepository
from custmgmt.adapters.postgres.tickets import PostgresTicketRepository
from custmgmt.analytics.batches import OrderBatch
from custmgmt.campaigns.ports import CAMPAIGNS
from custmgmt.followup.ports import FOLLOWUPS
from custmgmt.loyalty.ports import LOYALTY
from custmgmt.ports import CapabilityKey
from custmgmt.privacy.ports import PRIVACY
from custmgmt.prospects.ports import PROSPECTS
from custmgmt.rating.ports import RATINGS
from custmgmt.recommend.ports import PURCHASE_LINES
from custmgmt.risk.ports import RISK
from custmgmt.team.ports import AGENTS, ASSIGNMENTS
from custmgmt.tickets.ports import TICKETS

__all__ = ["PostgresStore"]


class PostgresStore(
    PostgresDatabase,
    CoreStore[PostgresCustomerRepository, PostgresOrderRepository, PostgresInteractionRepository],
    CapabilityHost,
):
    """A complete store in a PostgreSQL database (see :class:`custmgmt.ports.Store`).

    Needs the ``postgres`` extra (``pip install 'custmgmt[postgres]'``: psycopg 3 and
    psycopg_pool). ``docs/postgres.md`` shows a host application with a pool,
    migrations at deploy time and backups.

    Closing (:meth:`close`, or leaving a ``with PostgresStore(...) as store:`` block)
    ends the store's life as it does for the memory and SQLite stores: every later
    repository call, transaction, frame read or bulk load raises
    :class:`~custmgmt.errors.StorageError` ("the store is closed"); see :meth:`close`
    for transactions open meanwhile.

    Args:
        target: a DSN (the store opens its own pool and closes it in :meth:`close`),
            a :class:`psycopg_pool.ConnectionPool` the host owns, or one
            :class:`psycopg.Connection` the host owns.
        schema: the schema holding the tables (default ``custmgmt``).
        pool_size: the most connections of the store's own pool.
        connect_timeout: seconds to wait for the server.
        retries: how often a serialisation failure or deadlock is retried.
        capabilities: more capability repositories for this store, as
            ``{key: factory(database)}``, read with :meth:`repository`.
        adopt: add the custmgmt tables to a schema that holds other tables.
        create: create the schema and tables when missing (default); with False an
            existing custmgmt store only (older ones are still upgraded).
        pool_timeout: the most seconds a call waits for a free connection of the
            store's own pool (default 30). A server that is gone is reported sooner,
            as a StorageError after :attr:`server_check_seconds` (about a second).

    Raises:
        StorageError: a malformed DSN, an unreachable server, a schema of another
            application, or a schema newer than this library.
        ValidationError: an argument of the wrong type or out of range.
    """

    ratings = Capability(RATINGS, PostgresRatingRepository)
    tickets = Capability(TICKETS, PostgresTicketRepository)
    prospects = Capability(PROSPECTS, PostgresProspectRepository)
    agents = Capability(AGENTS, PostgresAgentRepository)
    assignments = Capability(ASSIGNMENTS, PostgresAssignmentRepository)
    campaigns = Capability(CAMPAIGNS, PostgresCampaignRepository)
    followups = Capability(FOLLOWUPS, PostgresFollowUpRepository)
    loyalty = Capability(LOYALTY, PostgresPointsRepository)
    risk = Capability(RISK, PostgresRiskRepository)
    purchase_lines = Capability(PURCHASE_LINES, PostgresOrderLineReader)
    privacy = Capability(PRIVACY, PostgresPrivacyRepository)

    def __init__(
        self,
        target: str | ConnectionPool[Any] | Connection,
        *,
        schema: str = "custmgmt",
        pool_size: int = 8,
        connect_timeout: float = 10.0,
        retries: int = 5,
        capabilities: Mapping[CapabilityKey[Any], Callable[[PostgresDatabase], Any]] | None = None,
        adopt: bool = False,
        create: bool = True,
        pool_timeout: float = 30.0,
    ) -> None:
        super().__init__(
            target,
            schema=schema,
            pool_size=pool_size,
            connect_timeout=connect_timeout,
            retries=retries,
            adopt=adopt,
            create=create,
            pool_timeout=pool_timeout,
        )
        try:
            self._init_capabilities(capabilities, self._lock)
            self.apply_migrations("core", CORE_MIGRATIONS)
            self._customers = PostgresCustomerRepository(self, self._customer_dependents)
            self._orders = PostgresOrderRepository(self)
            self._interactions = PostgresInteractionRepository(self)
            # Capability repositories are made now: their migrations must not run
            # inside a transaction that a later failure rolls back.
            for key in sorted(self._factories, key=lambda k: k.name):
                self.repository(key)
        except BaseException:
            self.close()
            raise

    # -- the core store's hooks (see CoreStore) ---------------------------------------------
    # The columnar port reads by a server-side cursor (see :mod:`.frames`).
    _read_order_frame = staticmethod(frames.order_frame)
    _read_interaction_frame = staticmethod(frames.interaction_frame)

    def _load_batch(self, batch: OrderBatch) -> int:
        """Orders are stored by COPY."""
        return self._orders.load_batch(batch)

    def _capability_context(self) -> PostgresDatabase:
        return self

    def _customer_dependents(self, conn: Connection, customer_id: str) -> dict[str, int]:
        """What still belongs to a customer, counted in the removal's transaction with
        the tables locked against new rows: the core records and each capability's
        (every capability repository with a ``customer_dependents`` method; they are
        all made when the store opens)."""
        conn.execute("LOCK TABLE orders, interactions IN SHARE MODE")
        row = conn.execute(
            "SELECT (SELECT count(*) FROM orders WHERE customer_id = %(c)s), "
            "(SELECT count(*) FROM interactions WHERE customer_id = %(c)s), "
            "(SELECT count(*) FROM interactions WHERE referred_customer_id = %(c)s "
            "AND customer_id <> %(c)s)",
            {"c": customer_id},
        ).fetchone()
        assert row is not None
        found = {"orders": int(row[0]), "interactions": int(row[1]), "referrals": int(row[2])}
        with self._capability_lock:
            repositories = list(self._repositories.values())
        for repository in repositories:
            count = getattr(repository, "customer_dependents", None)
            if count is not None:
                for kind, n in count(customer_id).items():
                    found[kind] = found.get(kind, 0) + int(n)
        return found
