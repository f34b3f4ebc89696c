"""Interactions in PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from custmgmt.adapters._sql_core_reads import InteractionReads, Window, keyset_pages
from custmgmt.adapters.postgres.codecs import interaction_from_row, interaction_to_row
from custmgmt.adapters.postgres.repository import _PostgresRepository
from custmgmt.adapters.postgres.schema import INTERACTION_COLUMNS, PAGE, Row, select_list
from custmgmt.domain import Interaction

__all__ = ["PostgresInteractionRepository"]

_SELECT = select_list(INTERACTION_COLUMNS)


class PostgresInteractionRepository(InteractionReads, _PostgresRepository[Interaction]):
    """Interactions in PostgreSQL (see :class:`custmgmt.ports.InteractionRepository`)."""

    entity_name = "interaction"
    entity_type = Interaction
    table = "interactions"
    columns = INTERACTION_COLUMNS
    page_size = PAGE
    placeholder = "%s"
    false_sql = "false"

    def _encode(self, entity: Interaction) -> Row:
        return interaction_to_row(entity)

    def _by_id_sql(self) -> str:
        return f"SELECT {_SELECT} FROM interactions WHERE id = %s"

    def _query(self, sql: str, params: Sequence[Any]) -> list[Interaction]:
        return [self._decode(interaction_from_row, row) for row in self._fetch(sql, params)]

    def _customer_sql(self, filter_sql: str) -> str:
        return (
            f"SELECT {_SELECT} FROM interactions WHERE customer_id = %s{filter_sql} ORDER BY at, id"
        )

    def _pages(
        self, window: Window, size: int, filter_sql: str, values: tuple[str, ...]
    ) -> Iterator[list[Interaction]]:
        time_sql = ""
        bounds: tuple[datetime, ...] = ()
        if window is not None:
            time_sql = " AND at >= %s AND at < %s"
            bounds = window
        first = f"SELECT {_SELECT} FROM interactions WHERE true{time_sql}{filter_sql}"
        later = f"{first} AND (at, id) > (%s, %s)"
        order = " ORDER BY at, id LIMIT %s"

        def page_after(after: tuple[datetime, str] | None) -> list[Interaction]:
            if after is None:
                return self._query(first + order, (*bounds, *values, size))
            return self._query(later + order, (*bounds, *values, *after, size))

        return keyset_pages(page_after, lambda last: (last.at, last.id), None)
