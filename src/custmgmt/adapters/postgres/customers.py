"""Customers in PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from custmgmt.adapters._sql_core_reads import CustomerReads
from custmgmt.adapters.postgres.codecs import customer_from_row, customer_to_row
from custmgmt.adapters.postgres.database import Connection, PostgresDatabase
from custmgmt.adapters.postgres.repository import _PostgresRepository
from custmgmt.adapters.postgres.schema import CUSTOMER_COLUMNS, Row, select_list
from custmgmt.domain import Customer
from custmgmt.errors import Conflict, NotFound

__all__ = ["Dependents", "PostgresCustomerRepository", "has_dependents"]

_SELECT = select_list(CUSTOMER_COLUMNS)

#: Counts the records that belong to a customer, by kind, inside the removal's
#: transaction (on its connection), locking what it counts against new rows.
Dependents = Callable[[Connection, str], Mapping[str, int]]


def has_dependents(customer_id: str, found: Mapping[str, int]) -> Conflict:
    """The Conflict for removing a customer that stored records still belong to."""
    return Conflict.has_dependents("customer", customer_id, found)


class PostgresCustomerRepository(CustomerReads, _PostgresRepository[Customer]):
    """Customers in PostgreSQL (see :class:`custmgmt.ports.CustomerRepository`).

    Args:
        store: the database.
        dependents: counts the records that belong to a customer, by kind; a
            customer with any is not removed (``Conflict``). The store passes its own.
    """

    entity_name = "customer"
    entity_type = Customer
    table = "customers"
    columns = CUSTOMER_COLUMNS

    def __init__(self, store: PostgresDatabase, dependents: Dependents | None = None) -> None:
        super().__init__(store)
        self._dependents = dependents

    def remove(self, entity_id: str) -> None:
        """Delete a customer that no stored record belongs to.

        One transaction: the customer's row is locked (``FOR UPDATE``), the tables
        of its dependents are locked against new rows (``SHARE`` mode: writers of
        those tables wait the few milliseconds this takes, and in-flight ones are
        waited for, so their rows are counted), the dependents are counted, and the
        row is deleted only when there are none. An order added at the same moment
        is either counted or added after the customer is gone; never left behind.

        Raises:
            NotFound: no such customer.
            Conflict: records still belong to it (the message counts them by kind);
                nothing is deleted.
            StorageError: the database failed.
        """
        entity_id = self._key(entity_id)  # NotFound for what can be no id

        def work(conn: Connection) -> dict[str, int] | None:
            if (
                conn.execute(
                    "SELECT 1 FROM customers WHERE id = %s FOR UPDATE", (entity_id,)
                ).fetchone()
                is None
            ):
                return None
            found: dict[str, int] = {}
            if self._dependents is not None:
                counted = self._dependents(conn, entity_id)
                found = {kind: int(n) for kind, n in counted.items() if n > 0}
            if not found:
                conn.execute("DELETE FROM customers WHERE id = %s", (entity_id,))
            return found

        found = self._store.run(work)
        if found is None:
            raise NotFound(self.entity_name, entity_id)
        if found:
            raise has_dependents(entity_id, found)

    def get(self, entity_id: str) -> Customer:
        """The stored customer (see :meth:`custmgmt.ports.Repository.get`).

        Inside a transaction the row is read ``FOR KEY SHARE``: until the transaction
        ends, no removal can delete the customer it has just read (a removal waits,
        then counts what this transaction added), so an order placed for a customer
        read here never outlives it. Under READ COMMITTED nothing else would stop
        that race, which the other stores rule out by serialising transactions.

        Raises:
            NotFound: nothing is stored under ``entity_id``.
            StorageError: the database failed.
        """
        entity_id = self._key(entity_id)  # NotFound for what can be no id
        sql = self._select_by_id
        if self._store.in_transaction:
            sql += " FOR KEY SHARE"
        found = self._query(sql, (entity_id,))
        if not found:
            raise NotFound(self.entity_name, entity_id)
        return found[0]

    def _encode(self, entity: Customer) -> Row:
        return customer_to_row(entity)

    def _by_id_sql(self) -> str:
        return f"SELECT {_SELECT} FROM customers WHERE id = %s"

    def _query(self, sql: str, params: Sequence[Any]) -> list[Customer]:
        return [self._decode(customer_from_row, row) for row in self._fetch(sql, params)]

    def _chunk_sql(self) -> str:
        return f"SELECT {_SELECT} FROM customers WHERE id > %s ORDER BY id LIMIT %s"
