"""Interactions in PostgreSQL."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from datetime import datetime
from typing import Any

from custmgmt.adapters._checks import check_chunk_size, check_range
from custmgmt.adapters.postgres.codecs import interaction_from_row, interaction_to_row
from custmgmt.adapters.postgres.repository import _PostgresRepository
from custmgmt.adapters.postgres.schema import INTERACTION_COLUMNS, PAGE, Row, select_list
from custmgmt.domain import Interaction, InteractionKind
from custmgmt.domain._validate import coerce_enum
from custmgmt.errors import ValidationError
from custmgmt.ports import DEFAULT_CHUNK_SIZE

__all__ = ["PostgresInteractionRepository"]

_SELECT = select_list(INTERACTION_COLUMNS)


class PostgresInteractionRepository(_PostgresRepository[Interaction]):
    """Interactions in PostgreSQL (see :class:`custmgmt.ports.InteractionRepository`)."""

    entity_name = "interaction"
    entity_type = Interaction
    table = "interactions"
    columns = INTERACTION_COLUMNS

    def _encode(self, entity: Interaction) -> Row:
        return interaction_to_row(entity)

    def _by_id_sql(self) -> str:
        return f"SELECT {_SELECT} FROM interactions WHERE id = %s"

    def _query(self, sql: str, params: Sequence[Any]) -> list[Interaction]:
        return [self._decode(interaction_from_row, row) for row in self._fetch(sql, params)]

    def for_customer(
        self, customer_id: str, kinds: Collection[InteractionKind] | None = None
    ) -> list[Interaction]:
        """The customer's interactions (of ``kinds``, if given), oldest first (``at``, id).

        Raises:
            ValidationError: ``kinds`` is not a collection of InteractionKind.
        """
        filter_sql, values = _kinds_filter(kinds)
        given: object = customer_id  # hosts call this untyped too
        if not isinstance(given, str):
            return []
        return self._query(
            f"SELECT {_SELECT} FROM interactions WHERE customer_id = %s"
            f"{filter_sql} ORDER BY at, id",
            (customer_id, *values),
        )

    def between(
        self,
        start: datetime,
        end: datetime,
        kinds: Collection[InteractionKind] | None = None,
    ) -> Iterator[Interaction]:
        """Interactions at ``[start, end)`` (of ``kinds``, if given), by ``at`` then id.

        Raises:
            ValidationError: ``start`` or ``end`` is naive, ``end < start``, or ``kinds``
                is not a collection of InteractionKind.
        """
        filter_sql, values = _kinds_filter(kinds)
        check_range(start, end)
        return self._pages(start, end, PAGE, filter_sql, values, flatten=True)  # type: ignore[return-value]

    def iter_chunks(self, size: int = DEFAULT_CHUNK_SIZE) -> Iterator[Sequence[Interaction]]:
        """Every interaction by ``at`` then id, in chunks of at most ``size``.

        Raises:
            ValidationError: ``size`` is not a positive integer.
        """
        check_chunk_size(size)
        return self._pages(None, None, size, "", (), flatten=False)  # type: ignore[return-value]

    def _pages(
        self, lo: datetime | None, hi: datetime | None, size: int, filter_sql: str,
        values: tuple[str, ...], *, flatten: bool,
    ) -> Iterator[Interaction | Sequence[Interaction]]:  # fmt: skip
        window = ""
        bounds: list[Any] = []
        if lo is not None and hi is not None:
            window = " AND at >= %s AND at < %s"
            bounds = [lo, hi]
        first = f"SELECT {_SELECT} FROM interactions WHERE true{window}{filter_sql}"
        later = f"{first} AND (at, id) > (%s, %s)"
        order = " ORDER BY at, id LIMIT %s"
        after: tuple[Any, str] | None = None
        while True:
            if after is None:
                page = self._query(first + order, (*bounds, *values, size))
            else:
                page = self._query(later + order, (*bounds, *values, *after, size))
            if not page:
                return
            if flatten:
                yield from page
            else:
                yield page
            after = (page[-1].at, page[-1].id)


def _kinds_filter(kinds: Collection[InteractionKind] | None) -> tuple[str, tuple[str, ...]]:
    if kinds is None:
        return "", ()
    given: object = kinds  # hosts call this untyped too: check at run time
    if isinstance(given, str) or not isinstance(given, Collection):
        raise ValidationError("kinds", kinds, "a collection of InteractionKind or None")
    values = tuple(sorted({coerce_enum(InteractionKind, k, "kinds").value for k in given}))
    if not values:
        return " AND false", ()
    return f" AND kind IN ({', '.join(['%s'] * len(values))})", values
