"""Customers in SQLite."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from custmgmt.adapters._sql_core_reads import CustomerReads
from custmgmt.adapters.sqlite.codecs import customer_from_row, customer_to_row
from custmgmt.adapters.sqlite.database import SQLiteDatabase
from custmgmt.adapters.sqlite.repository import _SQLiteRepository
from custmgmt.adapters.sqlite.schema import CUSTOMER_COLUMNS, Row
from custmgmt.domain import Customer
from custmgmt.errors import Conflict

__all__ = ["SQLiteCustomerRepository"]


class SQLiteCustomerRepository(CustomerReads, _SQLiteRepository[Customer]):
    """Customers in SQLite (see :class:`custmgmt.ports.CustomerRepository`).

    Args:
        store: the database.
        dependents: counts the records that belong to a customer, by kind; a
            customer with any is not removed (``Conflict``). The store passes its own.
    """

    entity_name = "customer"
    entity_type = Customer
    table = "customers"
    columns = CUSTOMER_COLUMNS

    def __init__(
        self,
        store: SQLiteDatabase,
        dependents: Callable[[str], Mapping[str, int]] | None = None,
    ) -> None:
        super().__init__(store)
        self._dependents = dependents

    def _encode(self, entity: Customer) -> Row:
        return customer_to_row(entity)

    def remove(self, entity_id: str) -> None:
        """Delete a customer that no stored record belongs to.

        The count of dependents and the delete run in one write transaction
        (``BEGIN IMMEDIATE``), so no other connection can add an order in between.

        Raises:
            NotFound: no such customer.
            Conflict: records still belong to it (``dependents`` counts them by kind);
                nothing is deleted.
            StorageError: the database failed.
        """
        entity_id = self._key(entity_id)  # NotFound for what can be no id
        with self._store._scope():
            self.get(entity_id)
            if self._dependents is not None:
                found = {k: n for k, n in self._dependents(entity_id).items() if n > 0}
                if found:
                    raise Conflict.has_dependents(self.entity_name, entity_id, found)
            super().remove(entity_id)

    def _by_id_sql(self) -> str:
        return f"SELECT {CUSTOMER_COLUMNS} FROM customers WHERE id = ?"

    def _query(self, sql: str, params: Sequence[Any]) -> list[Customer]:
        return [self._decode(customer_from_row, row) for row in self._fetch(sql, params)]

    def _chunk_sql(self) -> str:
        return f"SELECT {CUSTOMER_COLUMNS} FROM customers WHERE id > ? ORDER BY id LIMIT ?"
