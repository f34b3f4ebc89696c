"""The SQLite store: the core repositories and the capabilities on one database.

How entities become rows:

* Money is Decimal text (``"88.00"``) plus a currency code: exact for every amount
  the domain accepts, scale included (``Decimal("88.00")`` comes back as written).
* A datetime is two integers: microseconds since the epoch in UTC (``*_us``, sortable
  and indexable) and the original UTC offset in seconds (``*_off``). Reading gives
  an equal datetime with the same ``utcoffset()`` (the tzinfo itself becomes a fixed
  ``datetime.timezone``).
* Text is stored as SQLite TEXT (UTF-8), so Chinese names and reviews round-trip.
* Order lines live in their own table, ``order_lines``, keyed by order id and line
  number; nested values (an address, a business profile, tags) are JSON text.

Transactions are explicit: every write runs inside ``BEGIN IMMEDIATE`` ... ``COMMIT``
(or inside a savepoint when it joins an open transaction), so concurrent writers on
other connections queue on SQLite's lock (``busy_timeout``) instead of failing, and
the optimistic check ``UPDATE ... WHERE id = ? AND version = ?`` is race-free across
connections and processes. One store holds one connection, shared by its threads
under a re-entrant lock.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Mapping
from typing import Any

from custmgmt.adapters._core_store import CoreStore
from custmgmt.adapters._registry import Capability, CapabilityHost
from custmgmt.adapters.sqlite import frames
from custmgmt.adapters.sqlite.campaigns import SQLiteCampaignRepository
from custmgmt.adapters.sqlite.codecs import storage_error
from custmgmt.adapters.sqlite.customers import SQLiteCustomerRepository
from custmgmt.adapters.sqlite.database import SQLiteDatabase
from custmgmt.adapters.sqlite.followups import SQLiteFollowUpRepository
from custmgmt.adapters.sqlite.interactions import SQLiteInteractionRepository
from custmgmt.adapters.sqlite.loyalty import SQLitePointsRepository
from custmgmt.adapters.sqlite.orders import SQLiteOrderRepository
from custmgmt.adapters.sqlite.privacy import SQLitePrivacyRepository
from custmgmt.adapters.sqlite.prospects import SQLiteProspectRepository
from custmgmt.adapters.sqlite.purchase_lines import SQLiteOrderLineReader
from custmgmt.adapters.sqlite.ratings import SQLiteRatingRepository
from custmgmt.adapters.sqlite.risk import SQLiteRiskRepository
from custmgmt.adapters.sqlite.schema import CORE_MIGRATIONS
from custmgmt.adapters.sqlite.team import SQLiteAgentRepository, SQLiteAssignmentRepository
from custmgmt.adapters.sqlite.tickets import SQLiteTicketRepository
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

__all__ = ["SQLiteStore"]


class SQLiteStore(
    SQLiteDatabase,
    CoreStore[SQLiteCustomerRepository, SQLiteOrderRepository, SQLiteInteractionRepository],
    CapabilityHost,
):
    """A complete store in an SQLite database (see :class:`custmgmt.ports.Store`).

    >>> from custmgmt.testing import make_customer
    >>> store = SQLiteStore(":memory:")
    >>> store.customers.add(make_customer(id="c1", name="李娜"))
    >>> store.customers.get("c1").name
    '李娜'
    >>> store.schema_version("core")
    2
    >>> store.close()

    File databases use WAL journaling (readers never block the writer) with
    ``synchronous=NORMAL``; every connection waits up to ``timeout`` seconds for
    another connection's write to finish. One store is safe to share between threads
    (they take turns on its connection); for parallel writers give each thread or
    process its own store on the same file.

    A connection the host passes in stays the host's: the store never closes it and
    never changes its settings (so its thread rules and timeout are the host's). If
    the host has a transaction open on it, the store's writes join that transaction
    (the host commits).

    Capability repositories (``store.ratings``, ``store.tickets``) are registered
    below, one ``Capability(...)`` line each; they create their tables with
    :meth:`apply_migrations` and write through :meth:`writing`.

    Closing (:meth:`close`, or leaving a ``with SQLiteStore(...) as store:`` block)
    ends the store's life as it does for the memory and PostgreSQL stores: every later
    repository call, transaction, frame read or bulk load raises
    :class:`~custmgmt.errors.StorageError` ("the store is closed"); see :meth:`close`
    for a store closed inside a transaction.

    Args:
        database: a path (``str`` or ``Path``), ``":memory:"``, or an open
            :class:`sqlite3.Connection` owned by the host.
        timeout: seconds to wait for another connection's lock before failing.
        verify_reads: accepted for compatibility and without effect: every entity
            read is rebuilt through its validating constructor (analytics read the
            columnar port, so no bulk path decodes entities any more).
        capabilities: more capability repositories for this store, as
            ``{key: factory(database)}``, read with :meth:`repository`.
        mode: for a path, ``"create"`` (default: open, or make a store in a new or
            empty file), ``"existing"`` (an existing custmgmt store only) or
            ``"read_only"`` (an existing custmgmt store, nothing written: readable on
            a read-only file or file system).
        adopt: with ``mode="create"``, add the custmgmt tables to a database that
            holds other tables; without it such a file is refused, untouched, as
            "not a custmgmt store".

    Raises:
        StorageError: the database cannot be opened or its schema created, or it is
            not a custmgmt store (see ``mode`` and ``adopt``).
        ValidationError: ``database`` is none of the accepted types.
    """

    loyalty = Capability(LOYALTY, SQLitePointsRepository)
    privacy = Capability(PRIVACY, SQLitePrivacyRepository)
    campaigns = Capability(CAMPAIGNS, SQLiteCampaignRepository)
    followups = Capability(FOLLOWUPS, SQLiteFollowUpRepository)
    purchase_lines = Capability(PURCHASE_LINES, SQLiteOrderLineReader)
    ratings = Capability(RATINGS, SQLiteRatingRepository)
    risk = Capability(RISK, SQLiteRiskRepository)
    tickets = Capability(TICKETS, SQLiteTicketRepository)
    prospects = Capability(PROSPECTS, SQLiteProspectRepository)
    agents = Capability(AGENTS, SQLiteAgentRepository)
    assignments = Capability(ASSIGNMENTS, SQLiteAssignmentRepository)

    def __init__(
        self,
        database: str | os.PathLike[str] | sqlite3.Connection,
        *,
        timeout: float = 30.0,
        verify_reads: bool = False,
        capabilities: Mapping[CapabilityKey[Any], Callable[[SQLiteDatabase], Any]] | None = None,
        mode: str = "create",
        adopt: bool = False,
    ) -> None:
        super().__init__(
            database, timeout=timeout, verify_reads=verify_reads, mode=mode, adopt=adopt
        )
        self._init_capabilities(capabilities, self._lock)
        try:
            self.apply_migrations("core", CORE_MIGRATIONS)
        except BaseException:
            if self._owns_connection:
                self._conn.close()
            raise
        self._customers = SQLiteCustomerRepository(self, self._customer_dependents)
        self._orders = SQLiteOrderRepository(self)
        self._interactions = SQLiteInteractionRepository(self)
        # Capability repositories are made now, not on first use: their migrations
        # must not run inside a transaction that a later failure rolls back.
        for key in sorted(self._factories, key=lambda k: k.name):
            self.repository(key)

    # -- the core store's hooks (see CoreStore) ---------------------------------------------
    # The columnar port reads by SQL straight into the frame's arrays (see :mod:`.frames`).
    _read_order_frame = staticmethod(frames.order_frame)
    _read_interaction_frame = staticmethod(frames.interaction_frame)

    def _load_batch(self, batch: OrderBatch) -> int:
        """Orders are stored by ``executemany`` (see :meth:`SQLiteOrderRepository.load_batch`)."""
        return self._orders.load_batch(batch)

    def _capability_context(self) -> SQLiteDatabase:
        return self

    def _customer_dependents(self, customer_id: str) -> dict[str, int]:
        """What still belongs to a customer: the core records and each capability's."""
        sql = (
            "SELECT (SELECT count(*) FROM orders WHERE customer_id = ?),"
            " (SELECT count(*) FROM interactions WHERE customer_id = ?),"
            " (SELECT count(*) FROM interactions WHERE referred_customer_id = ?"
            " AND customer_id <> ?)"
        )
        with self.lock:
            try:
                row = self.connection.execute(sql, (customer_id,) * 4).fetchone()
            except sqlite3.Error as exc:
                doing = f"counting the records of customer {customer_id!r}"
                raise storage_error(doing, exc) from exc
        found = {"orders": int(row[0]), "interactions": int(row[1]), "referrals": int(row[2])}
        found.update(self._capability_dependents(customer_id))
        return found
