"""Customers in PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from custmgmt.adapters._checks import check_chunk_size
from custmgmt.adapters.postgres.codecs import customer_from_row, customer_to_row
from custmgmt.adapters.postgres.repository import _PostgresRepository
from custmgmt.adapters.postgres.schema import CUSTOMER_COLUMNS, Row, select_list
from custmgmt.domain import Customer
from custmgmt.ports import DEFAULT_CHUNK_SIZE

__all__ = ["PostgresCustomerRepository"]

_SELECT = select_list(CUSTOMER_COLUMNS)


class PostgresCustomerRepository(_PostgresRepository[Customer]):
    """Customers in PostgreSQL (see :class:`custmgmt.ports.CustomerRepository`)."""

    entity_name = "customer"
    entity_type = Customer
    table = "customers"
    columns = CUSTOMER_COLUMNS

    def _encode(self, entity: Customer) -> Row:
        return customer_to_row(entity)

    def _by_id_sql(self) -> str:
        return f"SELECT {_SELECT} FROM customers WHERE id = %s"

    def _query(self, sql: str, params: Sequence[Any]) -> list[Customer]:
        return [self._decode(customer_from_row, row) for row in self._fetch(sql, params)]

    def iter_chunks(self, size: int = DEFAULT_CHUNK_SIZE) -> Iterator[Sequence[Customer]]:
        """Every customer by id, in chunks of at most ``size`` (one query per chunk).

        Raises:
            ValidationError: ``size`` is not a positive integer.
        """
        check_chunk_size(size)
        return self._chunks(size)

    def _chunks(self, size: int) -> Iterator[Sequence[Customer]]:
        sql = f"SELECT {_SELECT} FROM customers WHERE id > %s ORDER BY id LIMIT %s"
        after = ""
        while True:
            chunk = self._query(sql, (after, size))
            if not chunk:
                return
            yield chunk
            after = chunk[-1].id
