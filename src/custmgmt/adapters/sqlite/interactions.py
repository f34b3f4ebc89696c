"""Interactions in SQLite."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from custmgmt.adapters._sql_core_reads import InteractionReads, Window, keyset_pages
from custmgmt.adapters.sqlite.codecs import interaction_from_row, interaction_to_row
from custmgmt.adapters.sqlite.repository import _SQLiteRepository
from custmgmt.adapters.sqlite.schema import INTERACTION_COLUMNS, MAX_US, MIN_US, PAGE, Row
from custmgmt.domain import Interaction
from custmgmt.domain.time import to_epoch_micros as _micros

__all__ = ["SQLiteInteractionRepository"]


class SQLiteInteractionRepository(InteractionReads, _SQLiteRepository[Interaction]):
    """Interactions in SQLite (see :class:`custmgmt.ports.InteractionRepository`)."""

    entity_name = "interaction"
    entity_type = Interaction
    table = "interactions"
    columns = INTERACTION_COLUMNS
    page_size = PAGE
    placeholder = "?"
    false_sql = "0"

    def _encode(self, entity: Interaction) -> Row:
        return interaction_to_row(entity)

    def _by_id_sql(self) -> str:
        return f"SELECT {INTERACTION_COLUMNS} FROM interactions WHERE id = ?"

    def _query(self, sql: str, params: Sequence[Any]) -> list[Interaction]:
        return [self._decode(interaction_from_row, row) for row in self._fetch(sql, params)]

    def _customer_sql(self, filter_sql: str) -> str:
        return (
            f"SELECT {INTERACTION_COLUMNS} FROM interactions WHERE customer_id = ?"
            f"{filter_sql} ORDER BY at_us, id"
        )

    def _pages(
        self, window: Window, size: int, filter_sql: str, values: tuple[str, ...]
    ) -> Iterator[list[Interaction]]:
        lo, hi = (MIN_US, MAX_US) if window is None else (_micros(window[0]), _micros(window[1]))
        sql = (
            f"SELECT {INTERACTION_COLUMNS} FROM interactions "
            f"WHERE (at_us, id) > (?, ?) AND at_us < ?{filter_sql} ORDER BY at_us, id LIMIT ?"
        )
        return keyset_pages(
            lambda after: self._query(sql, (*after, hi, *values, size)),
            lambda last: (_micros(last.at), last.id),
            (lo, ""),
        )
